#!/usr/bin/env bash
# The main job: installs what it needs (tools/setup.sh), builds the persephonee program optimised
# and runs `persephonee demo`: early exits personalised for 20 simulated Fashion-MNIST users at
# 0%, 10% and 100% labels, against the original model and whole-network / classifier
# fine-tuning, set beside the PersEPhonEE paper's claims. The report (index.html with plots,
# results.json) goes to ./demo-report unless --report is given.
#
# Arguments are passed to `persephonee demo` (e.g. `tools/demo.sh --users 4` for a quicker look;
# `tools/demo.sh --help` for all). With a first argument that is another subcommand
# (`tools/demo.sh bench zoo:resnet18`), that subcommand runs instead.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tools/setup.sh
bazel build -c opt //tools:persephonee
bin="$(bazel info -c opt bazel-bin 2>/dev/null)/tools/persephonee"
if [ "$#" -gt 0 ] && [ "${1#-}" = "$1" ]; then exec "$bin" "$@"; fi
report=(--report "$root/demo-report")
for arg in "$@"; do
  if [ "$arg" = "--report" ]; then report=(); fi
done
exec "$bin" demo --backbone "$root/models/fmnist_resnet.psm" "${report[@]}" "$@"
