"""Compiler options for project code, and the per-ISA options kernels are built with.

ruy's build_defs.bzl is the model: one place says which flags each instruction set needs, and
`select()` on the target CPU picks the kernel sources that use them.
"""

# Warnings are errors on project code (never on third_party).
PERSEPHONEE_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
]

# x86-64 kernels that use AVX2 + FMA; they run only after cpuinfo says the CPU has both.
AVX2_COPTS = ["-mavx2", "-mfma", "-mf16c"]

# x86-64 kernels that use AVX-512F; they run only after cpuinfo says the CPU has it.
AVX512_COPTS = ["-mavx512f", "-mavx2", "-mfma", "-mf16c"]

# aarch64 always has NEON (Advanced SIMD) and fused multiply-add; nothing extra is needed.
NEON_COPTS = []

def select_isa(aarch64 = [], x86_64 = [], default = []):
    """Returns a select() on the target CPU; use it for srcs, deps and copts of kernels."""
    return select({
        "//third_party:aarch64": aarch64,
        "//third_party:x86_64": x86_64,
        "//conditions:default": default,
    })
