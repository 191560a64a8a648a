#!/usr/bin/env bash
# Installs everything persephonee needs on a Debian 12 machine, idempotently:
#   1. Debian packages for the host build (Bazel, compilers, XNNPACK & co., qemu, PyTorch, data).
#   2. An arm64 sysroot of the few libraries the aarch64 build links against, made by
#      `apt-get download` + `dpkg -x` into third_party/sysroot/aarch64 (ignored by git).
# When everything is already there it only checks, which takes about a second.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sysroot="$root/third_party/sysroot/aarch64"

host_packages=(
  bazel-bootstrap g++ libxnnpack-dev libcpuinfo-dev libpthreadpool-dev libgtest-dev
  libbenchmark-dev zlib1g-dev libopenblas-dev g++-aarch64-linux-gnu binutils-aarch64-linux-gnu
  qemu-user python3 python3-torch python3-numpy python3-pytest dataset-fashion-mnist clang-format
  llvm libdnnl-dev
)
# arm64 packages unpacked into the sysroot: the libraries and headers the aarch64 build links.
arm64_packages=(
  libxnnpack0 libxnnpack-dev libcpuinfo0 libcpuinfo-dev libpthreadpool0 libpthreadpool-dev
  libgtest-dev libbenchmark1debian libbenchmark-dev zlib1g zlib1g-dev
  libopenblas0-pthread libopenblas-pthread-dev libgfortran5
)

say() { printf 'setup: %s\n' "$*" >&2; }

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

apt_updated=0
apt_update_once() {
  if [ "$apt_updated" -eq 0 ]; then
    say "apt-get update"
    "${sudo_cmd[@]}" apt-get update -qq
    apt_updated=1
  fi
}

# --- 1. host packages --------------------------------------------------------------------------
missing=()
for p in "${host_packages[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt_update_once
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# --- 2. arm64 sysroot --------------------------------------------------------------------------
# The stamp records the exact package versions unpacked; a mismatch rebuilds the sysroot.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  say "enabling the arm64 architecture for apt (downloads only; nothing arm64 is installed)"
  "${sudo_cmd[@]}" dpkg --add-architecture arm64
  apt_updated=0
fi
want_stamp() {
  for p in "${arm64_packages[@]}"; do
    printf '%s %s\n' "$p" "$(apt-cache policy "$p:arm64" 2>/dev/null | awk '/Candidate:/{print $2}')"
  done
}
stamp="$sysroot/.persephonee-sysroot"
want="$(want_stamp)"
if grep -q ' (none)$\| $' <<<"$want"; then
  apt_update_once
  want="$(want_stamp)"
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "building the arm64 sysroot in ${sysroot#"$root"/}"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && apt-get download -qq "${arm64_packages[@]/%/:arm64}")
  staging="$sysroot.tmp.$$"
  rm -rf "$staging"
  mkdir -p "$staging"
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$staging"; done
  printf '%s\n' "$want" >"$staging/.persephonee-sysroot"
  # Replace atomically-ish: a half-unpacked sysroot never carries a valid stamp.
  rm -rf "$sysroot"
  mkdir -p "$(dirname "$sysroot")"
  mv "$staging" "$sysroot"
fi
say "ready"
