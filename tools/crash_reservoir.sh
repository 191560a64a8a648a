#!/usr/bin/env bash
# Kills `persephonee personalise --reservoir DIR` at every rename, unlink, fsync and mkdir it
# makes (strace fault injection, as the hostile-user campaign of issue 14 did), then runs
# personalise once more on DIR and counts the runs that fail. A crash-safe reservoir makes that
# count 0: every kill leaves the old reservoir or the new one.
# Usage: tools/crash_reservoir.sh PERSEPHONEE_BINARY [WORKDIR]
# With BASE_BIN=OTHER_BINARY the reservoir killed is first made by OTHER_BINARY (for instance a
# build from before generations, to check the migration of a version 1 reservoir).
set -euo pipefail
bin="$(realpath "$1")"
base_bin="$(realpath "${BASE_BIN:-$1}")"
work="${2:-$(mktemp -d)}"
mkdir -p "$work"
cd "$work"
"$bin" zoo fmnist_resnet --out model.psm >/dev/null
python3 - <<'PY'
import gzip, struct
def idx(path, dims, data):
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + data)
images = gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").read()[16:]
labels = gzip.open("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz").read()[8:]
for b in range(2):
    idx(f"images{b}.idx", [30, 28, 28], images[b * 30 * 784:(b + 1) * 30 * 784])
    idx(f"labels{b}.idx", [30], labels[b * 30:(b + 1) * 30])
PY
run() {  # run BATCH RESERVOIR [strace args...]
  local batch="$1" dir="$2"
  shift 2
  "$@" "${use_bin:-$bin}" personalise --model model.psm --images "images$batch.idx" --labels \
    "labels$batch.idx" --exits 2 --epochs 1 --memory-budget 1G --out "p$batch.pers" \
    --reservoir "$dir" --reservoir-size 40
}
use_bin="$base_bin" run 0 base >/dev/null
grep -o '"version": [0-9]*' base/reservoir.json
syscalls=rename,unlink,unlinkat,fsync,mkdir
strace -f -qq -o trace.txt -e trace="$syscalls" "$bin" personalise --model model.psm \
  --images images1.idx --labels labels1.idx --exits 2 --epochs 1 --memory-budget 1G \
  --out p1.pers --reservoir "$(cp -a base counted && echo counted)" --reservoir-size 40 \
  >/dev/null
kills=0
broken=0
for sc in ${syscalls//,/ }; do
  n=$(grep -c "^[0-9]* *$sc(" trace.txt || true)
  for ((i = 1; i <= n; i++)); do
    rm -rf r && cp -a base r
    run 1 r strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc:signal=SIGKILL:when=$i" \
      >/dev/null 2>&1 || true
    kills=$((kills + 1))
    if ! out=$(run 0 r 2>&1 >/dev/null); then
      broken=$((broken + 1))
      echo "killed at $sc #$i: the next run fails: ${out:0:160}"
    fi
  done
done
echo "$kills kills, $broken left a reservoir the next run cannot use"
