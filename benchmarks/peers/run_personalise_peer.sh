#!/bin/bash
# The engine's personalisation against PyTorch 1.13: time per epoch and peak RSS, one run.
#
#   benchmarks/peers/run_personalise_peer.sh [--repeats 3] [--threads 1] [--epochs 10]
#       [--models "fmnist_resnet mobilenet_v2"] [--fmnist-images 1000] [--mobilenet-images 64]
#       [--budget 64M|none] [--caches "recompute disk"]
#       [--peer-flags "--fold-bn --channels-last"]
#
# Builds `bazel build -c opt //benchmarks:personalise` and copies the binary to a temporary
# directory (so another build cannot swap it mid-run). Per model:
#   1. one untimed engine run with --dump-dir writes the setup (backbone model file, images,
#      labels, initial heads, setup.json): fmnist_resnet on the first 1000 Fashion-MNIST test
#      images, mobilenet_v2 (224x224) on 64 synthetic images (so its PyTorch side, which
#      recomputes the backbone every epoch, takes about a minute and a half per run on one
#      thread); holdout 0 (every image trains), batch 32, 4 exits, 10 epochs;
#   2. --repeats times, alternating the order: the engine (memory budget 8G, so the batch is not
#      constrained; the planner picks the cache and the backbone batch, the images per backbone
#      pass while the cache fills, which may be smaller than the heads' batch), the engine with each cache of --caches forced
#      (recompute: the backbone runs every epoch, as in PyTorch, which shows how much of the
#      speed-up is the feature cache; disk: the features in an unlinked file, served by the
#      page cache, which is not counted in RSS), and torch_personalise.py on the same dump, all
#      at the same thread count and reading the same images (the engine's from disk as needed);
#   3. unless --budget none: the engine under --memory-budget (default 64M, the engine's own
#      default for a phone), whose planner may pick a smaller batch and another cache, and the
#      PyTorch peer at that same batch.
# Each process reports its own peak RSS (VmHWM, which exec resets). Prints per model the
# medians over the repeats of each side's median epoch time, of its time per epoch over the
# whole run (total / epochs, so the engine's one-off feature-cache fill is included), of its
# peak RSS, and the medians of the per-repeat ratios, with the targets. The engine's rows show
# "batch B/BB": the heads' batch and the backbone batch: the engine at least 3x
# faster per epoch over 10 epochs and at most 1/4 of PyTorch's peak RSS.
set -euo pipefail

repeats=3
threads=1
epochs=10
models="fmnist_resnet mobilenet_v2"
fmnist_images=1000
mobilenet_images=64
budget=64M
caches="recompute disk"
peer_flags=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --repeats) repeats=$2 ;;
    --threads) threads=$2 ;;
    --epochs) epochs=$2 ;;
    --models) models=$2 ;;
    --fmnist-images) fmnist_images=$2 ;;
    --mobilenet-images) mobilenet_images=$2 ;;
    --budget) budget=$2 ;;
    --caches) caches=$2 ;;
    --peer-flags) peer_flags=$2 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "run_personalise_peer: unknown argument '$1' (see --help)" >&2
      exit 2
      ;;
  esac
  [[ $# -ge 2 ]] || { echo "run_personalise_peer: $1 needs a value" >&2; exit 2; }
  shift 2
done

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=/usr/bin/python3
work=$(mktemp -d /tmp/personalise_peer.XXXXXX)
trap 'rm -rf "$work"' EXIT
results=$work/results.txt
: >"$results"

cd "$repo"
bazel build -c opt //benchmarks:personalise
cp "$(bazel info -c opt bazel-bin)/benchmarks/personalise" "$work/personalise"

# run LABEL MODEL REPEAT COMMAND...: runs COMMAND, keeps its "result" line, shows its summary.
run() {
  local label=$1 model=$2 rep=$3 out
  shift 3
  if ! out=$("$@" 2>&1); then
    printf '%s\n' "$out" >&2
    echo "run_personalise_peer: $* failed" >&2
    exit 1
  fi
  local line
  line=$(grep '^result ' <<<"$out") || { printf '%s\n' "$out" >&2; exit 1; }
  echo "$model $label $rep $line" >>"$results"
  printf '  %-26s #%s  %s\n' "$label" "$rep" \
    "$(grep -E '^(time per epoch|peak RSS)' <<<"$out" | sed 's/ over [0-9]* epochs.*//' |
      paste -sd ';')"
  last_batch=$(sed -n 's/^result .* batch=\([0-9]*\) .*/\1/p' <<<"$out")
}

for model in $models; do
  case "$model" in
    fmnist_resnet) n=$fmnist_images ;;
    mobilenet_v2) n=$mobilenet_images ;;
    *) echo "run_personalise_peer: unknown model '$model'" >&2; exit 2 ;;
  esac
  dump=$work/$model
  echo "== $model: $n images, $epochs epochs, $threads thread(s); setup in $dump"
  "$work/personalise" --model "$model" --images "$n" --epochs "$epochs" --threads "$threads" \
    --dump-dir "$dump" | grep -E '^(personalise|  exit|planner)'
  engine=("$work/personalise" --model "$model" --images-idx "$dump/images.idx"
    --labels-idx "$dump/labels.idx" --epochs "$epochs" --threads "$threads")
  # shellcheck disable=SC2206  # peer_flags is a list of flags
  peer=("$python" "$here/torch_personalise.py" "$dump" --threads "$threads" $peer_flags)
  for ((rep = 1; rep <= repeats; ++rep)); do
    ((rep % 2)) || run torch "$model" "$rep" "${peer[@]}"
    run engine "$model" "$rep" "${engine[@]}"
    for cache in $caches; do
      run "engine-$cache" "$model" "$rep" "${engine[@]}" --cache "$cache"
    done
    ((rep % 2 == 0)) || run torch "$model" "$rep" "${peer[@]}"
    if [[ "$budget" != none ]]; then
      run "engine-budget-$budget" "$model" "$rep" "${engine[@]}" --memory-budget "$budget"
      run "torch-budget-$budget" "$model" "$rep" "${peer[@]}" --batch "$last_batch"
    fi
  done
done

"$python" - "$results" "$budget" <<'EOF'
import collections
import statistics
import sys

path, budget = sys.argv[1], sys.argv[2]
runs = collections.defaultdict(dict)  # (model, label) -> repeat -> fields
for line in open(path):
    model, label, rep, _, *pairs = line.split()
    runs[(model, label)][int(rep)] = dict(p.split("=", 1) for p in pairs)


def med(model, label, key):
    return statistics.median(float(r[key]) for r in runs[(model, label)].values())


def ratio(model, num, den, key):
    a, b = runs[(model, num)], runs[(model, den)]
    return statistics.median(float(a[r][key]) / float(b[r][key]) for r in a if r in b)


print("\n== summary: medians over the repeats (ratios: median of the per-repeat ratios)")
for model in dict.fromkeys(m for m, _ in runs):
    labels = [l for m, l in runs if m == model]
    pairs = [(l, "torch") for l in labels if l.startswith("engine") and "budget" not in l]
    if budget != "none":
        pairs.append((f"engine-budget-{budget}", f"torch-budget-{budget}"))
    first = runs[(model, "torch")][1]
    print(f"\n{model}: {first['images']} images, {first['epochs']} epochs, "
          f"{first['threads']} thread(s), {len(runs[(model, 'torch')])} repeats")
    for label in dict.fromkeys(l for p in pairs for l in p):
        r = next(iter(runs[(model, label)].values()))
        cache = f", cache {r['cache']}" if "cache" in r else ""
        batch = r["batch"] + (f"/{r['backbone_batch']}" if "backbone_batch" in r else "")
        print(f"  {label:<24} batch {batch:>5}{cache:<19} epoch median "
              f"{med(model, label, 'epoch_median_s'):8.4f} s  per epoch over the run "
              f"{med(model, label, 'per_epoch_total_s'):8.4f} s  peak RSS "
              f"{med(model, label, 'peak_rss_mib'):7.1f} MiB  loss {r['loss_first'][:6]} -> "
              f"{r['loss_last'][:6]}")
    for eng, tor in pairs:
        batches = {r["batch"] for label in (eng, tor) for r in runs[(model, label)].values()}
        if len(batches) != 1:
            print(f"  WARNING: {eng} and {tor} ran at different batch sizes {sorted(batches)}")
        speed_epoch = ratio(model, tor, eng, "epoch_median_s")
        speed_run = ratio(model, tor, eng, "per_epoch_total_s")
        rss = ratio(model, eng, tor, "peak_rss_mib")
        judged = eng == "engine" or "budget" in eng  # the targets: the engine as it runs
        speed_target = f" [target >= 3: {'met' if speed_run >= 3 else 'NOT met'}]"
        rss_target = f" [target <= 0.25: {'met' if rss <= 0.25 else 'NOT met'}]"
        print(f"  {tor}/{eng}: time per epoch x{speed_epoch:.2f} (median epoch), "
              f"x{speed_run:.2f} (over the run){speed_target if judged else ''}; "
              f"peak RSS {eng}/{tor} {rss:.3f}{rss_target if judged else ''}")
EOF
