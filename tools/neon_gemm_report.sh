#!/usr/bin/env bash
# Regenerates the static figures of kernels/gemm/NEON_GEMM.md for the NEON GEMM micro-kernel:
# builds the -c opt aarch64 object with Bazel, disassembles the micro-kernel, finds its inner
# loop (the backward branch whose body holds the most vector floating-point arithmetic), counts
# instructions, fmla, arithmetic and loads in it, and runs llvm-mca on the loop for Cortex-A55
# (and, for comparison, Cortex-A76).
#
#   tools/neon_gemm_report.sh [SYMBOL_SUBSTRING]   (default: f32_gemm_ukernel_8x8__neon)
#   tools/neon_gemm_report.sh --target //kernels/winograd:neon SYMBOL_SUBSTRING
#       any other NEON library's object (mangled names, e.g. InputILm6EE for the F(4x4,3x3)
#       input transform)
#   tools/neon_gemm_report.sh --winograd
#       the Winograd transformed-domain product (T² GEMMs, [tiles x Cin] x [Cin x Cout], run on
#       the GEMM micro-kernel gemm_config() picks: on aarch64 f32_gemm_ukernel_8x8__neon), then
#       the four NEON transforms, each with its arithmetic per load.
set -euo pipefail
cd "$(dirname "$0")/.."

target="//kernels/gemm:neon"
if [ "${1:-}" = "--winograd" ]; then
  self="$0"
  echo "== Winograd transformed-domain product: the NEON GEMM micro-kernel (kernels/winograd/config.cc"
  echo "   takes gemm_config()'s micro-kernel; on aarch64 that is f32_gemm_ukernel_8x8__neon)"
  "$self" f32_gemm_ukernel_8x8__neon
  # The public transforms tail-call Input<T> / Output<T> (T = 4: F(2x2,3x3), 6: F(4x4,3x3)),
  # named here by their mangled forms (InputILm4EE = Input<4ul>).
  for t in InputILm4EE OutputILm4EE InputILm6EE OutputILm6EE; do
    echo
    echo "== Winograd transform $t (kernels/winograd/neon.cc; ILm4EE: T = 4, F(2x2,3x3); ILm6EE: T = 6, F(4x4,3x3))"
    "$self" --target //kernels/winograd:neon "$t"
  done
  exit 0
fi
if [ "${1:-}" = "--target" ]; then
  target="${2:?--target needs a Bazel label}"
  shift 2
fi
symbol="${1:-f32_gemm_ukernel_8x8__neon}"
objdump="$(command -v aarch64-linux-gnu-objdump || true)"
mca="$(command -v llvm-mca || command -v llvm-mca-14 || true)"
if [ -z "$objdump" ] || [ -z "$mca" ]; then
  echo "neon_gemm_report.sh: needs aarch64-linux-gnu-objdump (binutils-aarch64-linux-gnu) and" \
    "llvm-mca (llvm)" >&2
  exit 2
fi

bazel build -c opt --config=aarch64 "$target" >&2
bin="$(bazel info -c opt --config=aarch64 bazel-bin 2>/dev/null)"
package="${target#//}"
package="${package%%:*}"
name="${target##*:}"
obj="$bin/$package/_objs/$name/$name.o"
[ -f "$obj" ] || obj="$bin/$package/_objs/$name/$name.pic.o"

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

def is_arith(mn, ops):
    # Vector floating-point arithmetic: the transforms are fadd/fsub/fmul (and fmla/fmls once
    # contracted), the GEMM is fmla.
    return mn in ("fmla", "fmls", "fadd", "fsub", "fmul", "fmax", "fmin") and "v" in ops

has_fmla = any(is_fmla(x[1]) for x in insns)
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
    # The loop with the most fmla (a GEMM), or with the most arithmetic when the function has
    # no fmla (a transform); the first such loop, so an outer loop around it is not taken.
    score = sum(is_fmla(x[1]) for x in body) if has_fmla else sum(is_arith(x[1], x[2]) for x in body)
    if best is None or score > best[0]:
        best = (score, body)
if best is None or best[0] == 0:
    sys.exit("no loop with vector arithmetic found in %s" % symbol)
body = best[1]
arith = sum(is_arith(x[1], x[2]) for x in body)
fmla = sum(is_fmla(x[1]) for x in body)
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
print("fmla: %d; vector FP arithmetic (fmla/fmls/fadd/fsub/fmul/fmax/fmin): %d" % (fmla, arith))
print("load instructions: %d (%d vector registers loaded)" % (len(loads), vector_regs))
if loads and fmla:
    print("fmla per load instruction: %.2f; fmla per loaded register: %.2f" % (fmla / len(loads), fmla / vector_regs))
    print("instructions per fmla: %.3f" % (len(body) / fmla))
if loads:
    print("arithmetic per load instruction: %.2f; per loaded register: %.2f" % (arith / len(loads), arith / vector_regs))
print("instructions per arithmetic instruction: %.3f" % (len(body) / arith))
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
