#!/usr/bin/env bash
# Runs an aarch64 binary under qemu-aarch64, for `bazel test --config=aarch64` (--run_under).
# binfmt_misc is not available on these machines, so qemu must be called explicitly. The
# dynamic loader, libc and libstdc++ come from Debian's cross packages in /usr/aarch64-linux-gnu;
# the binary finds its other shared libraries through the rpath Bazel gives it.
set -euo pipefail
if [ "$#" -lt 1 ]; then
  echo "usage: qemu_aarch64.sh BINARY [ARGS...]" >&2
  exit 2
fi
qemu="$(command -v qemu-aarch64 || command -v qemu-aarch64-static || true)"
if [ -z "$qemu" ]; then
  echo "qemu_aarch64.sh: qemu-aarch64 not found (run tools/setup.sh)" >&2
  exit 2
fi
# The binary must really be aarch64: a host binary here means the cross config was not applied,
# and running it natively would let the aarch64 test run pass without testing aarch64 code.
if ! head -c 20 "$1" | od -An -tx1 | tr -d ' \n' | grep -q '^7f454c46020101.\{22\}b700'; then
  echo "qemu_aarch64.sh: $1 is not an aarch64 ELF executable" >&2
  exit 2
fi
exec "$qemu" -L /usr/aarch64-linux-gnu "$@"
