#!/usr/bin/env bash
# Regenerates the static figures of kernels/gemm/NEON_GEMM.md for the NEON GEMM micro-kernel:
# builds the -c opt aarch64 object with Bazel, disassembles the micro-kernel, finds its inner
# loop (the backward branch whose body holds the most fmla), counts instructions, fmla and
# loads in it, and runs llvm-mca on the loop for Cortex-A55 (and, for comparison, Cortex-A76).
#
#   tools/neon_gemm_report.sh [SYMBOL_SUBSTRING]   (default: f32_gemm_ukernel_8x8__neon)
set -euo pipefail
cd "$(dirname "$0")/.."

symbol="${1:-f32_gemm_ukernel_8x8__neon}"
objdump="$(command -v aarch64-linux-gnu-objdump || true)"
mca="$(command -v llvm-mca || command -v llvm-mca-14 || true)"
if [ -z "$objdump" ] || [ -z "$mca" ]; then
  echo "neon_gemm_report.sh: needs aarch64-linux-gnu-objdump (binutils-aarch64-linux-gnu) and" \
    "llvm-mca (llvm)" >&2
  exit 2
fi

bazel build -c opt --config=aarch64 //kernels/gemm:neon >&2
bin="$(bazel info -c opt --config=aarch64 bazel-bin 2>/dev/null)"
obj="$bin/kernels/gemm/_objs/neon/neon.o"
[ -f "$obj" ] || obj="$bin/kernels/gemm/_objs/neon/neon.pic.o"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$objdump" -d --no-show-raw-insn "$obj" >"$work/disassembly.txt"

# Extract the loop and write it as llvm-mca input; print the counts.
/usr/bin/python3 - "$work/disassembly.txt" "$symbol" "$work/loop.s" <<'PY'
import re
import sys

path, symbol, out_path = sys.argv[1:4]
lines = open(path).read().splitlines()
start = next((i for i, l in enumerate(lines) if re.match(r"^[0-9a-f]+ <.*%s.*>:$" % re.escape(symbol), l)), None)
if start is None:
    sys.exit("symbol %s not found in the object" % symbol)
insns = []  # (address, mnemonic, operands)
for l in lines[start + 1:]:
    if not l.strip():
        break
    m = re.match(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$", l)
    if m:
        operands = m.group(3).split("//")[0].strip()
        insns.append((int(m.group(1), 16), m.group(2), operands))

def is_fmla(mn):
    return mn.startswith("fmla")

def is_load(mn):
    return mn.startswith("ld")

best = None
for idx, (addr, mn, ops) in enumerate(insns):
    if not (mn.startswith("b") or mn.startswith("cb") or mn.startswith("tb")) or mn in ("bic", "bif", "bit", "bsl", "bfi", "bfxil"):
        continue
    target = re.match(r"^(?:\w+,\s*)*(?:#\d+,\s*)?([0-9a-f]+)\s+<", ops)
    if not target:
        continue
    t = int(target.group(1), 16)
    if t >= addr:
        continue
    body = [x for x in insns if t <= x[0] <= addr]
    fmla = sum(is_fmla(x[1]) for x in body)
    if best is None or fmla > best[0]:
        best = (fmla, body)
if best is None or best[0] == 0:
    sys.exit("no loop with fmla found in %s" % symbol)
fmla, body = best
loads = [x for x in body if is_load(x[1])]
# Registers loaded: ldp loads two, ld1 {..} as many as listed, ldr one.
def regs_loaded(x):
    if x[1] == "ldp":
        return 2
    if x[1].startswith("ld1") or x[1].startswith("ld2") or x[1].startswith("ld4"):
        return len(re.findall(r"v\d+", x[2].split("}")[0]))
    return 1
vector_regs = sum(regs_loaded(x) for x in loads)
print("symbol: %s" % symbol)
print("inner loop: 0x%x..0x%x, %d instructions" % (body[0][0], body[-1][0], len(body)))
for addr, mn, ops in body:
    print("  %6x:  %-6s %s" % (addr, mn, ops))
print("fmla: %d" % fmla)
print("load instructions: %d (%d vector registers loaded)" % (len(loads), vector_regs))
print("fmla per load instruction: %.2f; fmla per loaded register: %.2f" % (fmla / len(loads), fmla / vector_regs))
print("instructions per fmla: %.3f" % (len(body) / fmla))
with open(out_path, "w") as f:
    f.write(".Lloop:\n")
    first = body[0][0]
    for addr, mn, ops in body:
        ops = re.sub(r"\b%x\s+<[^>]*>" % first, ".Lloop", ops)
        f.write("  %s %s\n" % (mn, ops))
PY

iterations=1000
for cpu in cortex-a55 cortex-a76; do
  "$mca" -mtriple=aarch64 -mcpu="$cpu" -iterations="$iterations" "$work/loop.s" >"$work/mca-$cpu.txt"
  total="$(awk '/^Total Cycles:/ {print $3}' "$work/mca-$cpu.txt")"
  rthroughput="$(awk '/^Block RThroughput:/ {print $3}' "$work/mca-$cpu.txt")"
  per_iter="$(/usr/bin/python3 -c "print('%.2f' % ($total / $iterations))")"
  echo "llvm-mca $cpu: ${per_iter} cycles per iteration (Total Cycles $total over $iterations" \
    "iterations; Block RThroughput $rthroughput)"
done
echo
echo "llvm-mca cortex-a55 resource pressure per iteration:"
awk '/^Resource pressure per iteration:/ {p = 1} p && /^$/ && n++ > 0 {exit} p' \
  "$work/mca-cortex-a55.txt"
