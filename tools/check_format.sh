#!/usr/bin/env bash
# Checks that every C and C++ source of the project is formatted with .clang-format (Google style).
# Usage: tools/check_format.sh [--fix]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.cc' '*.c' '*.h' | grep -v '^third_party/' || true)
if [ "${#files[@]}" -eq 0 ]; then echo "check_format: no files"; exit 0; fi
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "check_format: $f is not formatted (run tools/check_format.sh --fix)"
    bad=1
  fi
done
[ "$bad" -eq 0 ] && echo "check_format: ${#files[@]} files formatted"
exit "$bad"
