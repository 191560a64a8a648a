#!/usr/bin/env bash
# Checks that README.md's embedding example is api/example.c, word for word (the file
# //tests/api:example_test compiles and runs).
# Usage: readme_example_test.sh README.md api/example.c
set -euo pipefail
shown="$(awk '/^```c$/ { on = 1; next } /^```$/ { on = 0 } on' "$1")"
if [ "$shown" != "$(cat "$2")" ]; then
  echo "README.md's C example differs from api/example.c:"
  diff <(echo "$shown") "$2" || true
  exit 1
fi
echo "README.md shows api/example.c"
