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

# The Python binding (api/python, ctypes over the host's libpersephonee.so), with Debian's pytest.
echo "== python: pytest tests/api/python"
pylogs="$(mktemp -d)"
if bazel build "${bazel_flags[@]}" --config=host //api:libpersephonee.so //tests/api:test_models; then
  bin="$(bazel info --config=host bazel-bin 2>/dev/null)"
  if ! PERSEPHONEE_LIB="$bin/api/libpersephonee.so" PERSEPHONEE_MODELS="$bin/tests/api" \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider --junitxml="$pylogs/test.xml" \
    tests/api/python; then
    status=1
  fi
else
  status=1
fi
python3 tools/test_summary.py python "$pylogs" >>"$summary"
rm -rf "$pylogs"

run aarch64 --config=aarch64 "$@"

echo "== format: tools/check_format.sh"
if tools/check_format.sh; then fmt=0; else fmt=1; status=1; fi

echo
echo "== summary"
cat "$summary"
python3 tools/test_summary.py --total "$summary" "$fmt"
exit "$status"
