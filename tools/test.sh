#!/usr/bin/env bash
# Runs every test: host (x86-64), then aarch64 cross-built and run under qemu-aarch64, then the
# formatting check. Installs what it needs first (tools/setup.sh, idempotent).
# Usage: tools/test.sh [extra bazel test flags...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tools/setup.sh

bazel_flags=()
if [ "${CI:-}" = "true" ]; then
  # No progress chatter in CI logs; keep going to report every failure at once.
  bazel_flags+=(--noshow_progress --keep_going)
fi

status=0
# run NAME CONFIG_FLAG [extra flags...]
run() {
  local name="$1" config="$2"
  shift 2
  echo "== $name: bazel test $config $* //..."
  if ! bazel test "${bazel_flags[@]}" "$config" "$@" //...; then status=1; fi
  python3 tools/test_summary.py "$name" "$(bazel info "$config" bazel-testlogs 2>/dev/null)" \
    >>"$summary"
}
summary="$(mktemp)"
trap 'rm -f "$summary"' EXIT

run host --config=host "$@"
run aarch64 --config=aarch64 "$@"

echo "== format: tools/check_format.sh"
if tools/check_format.sh; then fmt=0; else fmt=1; status=1; fi

echo
echo "== summary"
cat "$summary"
python3 tools/test_summary.py --total "$summary" "$fmt"
exit "$status"
