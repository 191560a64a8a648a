#!/usr/bin/env bash
# The main job. Installs what it needs (tools/setup.sh), builds the persephonee program
# optimised, and runs it. With arguments, they are passed to the program.
#
# Until `persephonee demo` (pretraining on Fashion-MNIST, simulated users, the paper's table)
# exists, the main job shows what is real today: this machine's CPU, the memory planner and the
# inference engine's speed on the zoo models, then the personalisation mechanics end to end
# (exits placed, heads trained within the memory budget, thresholds calibrated, early-exit
# evaluation) on Fashion-MNIST images. The zoo backbone there is untrained (seeded random
# weights), so its accuracy figures are not meaningful yet; the FLOPs, memory and speed are.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tools/setup.sh
bazel build -c opt //tools:persephonee
bin="$(bazel info -c opt bazel-bin 2>/dev/null)/tools/persephonee"
if [ "$#" -gt 0 ]; then exec "$bin" "$@"; fi

step() { printf '\n== %s\n' "$*"; }
step "persephonee cpu"
"$bin" cpu
for model in fmnist_resnet mobilenet_v2 resnet18; do
  step "persephonee plan zoo:$model"
  "$bin" plan "zoo:$model"
  step "persephonee bench zoo:$model --iterations 20"
  "$bin" bench "zoo:$model" --iterations 20
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
step "user data: 500 Fashion-MNIST test images, every 10th labelled"
/usr/bin/python3 - "$work" <<'PY'
import gzip, struct, sys
d = sys.argv[1]
img = gzip.open('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz').read()[16:]
lab = gzip.open('/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz').read()[8:]
n = 500
open(f'{d}/images.idx', 'wb').write(struct.pack('>IIII', 0x803, n, 28, 28) + img[:n * 784])
open(f'{d}/labels.idx', 'wb').write(struct.pack('>II', 0x801, n) + lab[:n])
some = bytes(l if i % 10 == 0 else 255 for i, l in enumerate(lab[:n]))
open(f'{d}/some-labels.idx', 'wb').write(struct.pack('>II', 0x801, n) + some)
PY
"$bin" zoo fmnist_resnet --out "$work/fmnist_resnet.psm"
step "persephonee personalise (untrained backbone: mechanics, not accuracy)"
"$bin" personalise --model "$work/fmnist_resnet.psm" --images "$work/images.idx" \
  --labels "$work/some-labels.idx" --epochs 5 --out "$work/user.pers"
step "persephonee evaluate: original model, then with the personalised exits"
"$bin" evaluate --model "$work/fmnist_resnet.psm" --images "$work/images.idx" \
  --labels "$work/labels.idx"
"$bin" evaluate --model "$work/fmnist_resnet.psm" --exits "$work/user.pers" \
  --images "$work/images.idx" --labels "$work/labels.idx"
