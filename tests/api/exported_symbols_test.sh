#!/usr/bin/env bash
# Checks that libpersephonee.so exports exactly the functions persephonee.h declares.
# Usage: exported_symbols_test.sh EXPORTED_SYMBOLS.txt persephonee.h
set -euo pipefail
exported="$(sort -u "$1")"
declared="$(grep -o '\bpsp_[a-z0-9_]*(' "$2" | tr -d '(' | sort -u)"
if [ "$exported" != "$declared" ]; then
  echo "exported and declared differ (< exported, > declared):"
  diff <(echo "$exported") <(echo "$declared") || true
  exit 1
fi
echo "libpersephonee.so exports the $(echo "$exported" | wc -l) functions of persephonee.h"
