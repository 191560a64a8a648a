#!/usr/bin/env bash
# The main job. Installs what it needs (tools/setup.sh), builds the persephonee program
# optimised, and runs it. Arguments are passed to the program.
#
# Until `persephonee demo` exists, the most useful real thing is `persephonee cpu`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tools/setup.sh
bazel build -c opt //tools:persephonee
if [ "$#" -eq 0 ]; then set -- cpu; fi
exec bazel-bin/tools/persephonee "$@"
