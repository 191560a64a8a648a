// GEMM internals: the micro-kernel and packing contracts, the blocked driver, and the
// implementations built on them. Callers use f32_gemm (gemm.h); tests use these directly.
//
// Packed layouts (Goto / BLIS style):
//  - A is packed in panels of `mr` rows: panel r holds, for p = 0..kc-1, the `mr` values
//    op(A)[r*mr + i][p], i = 0..mr-1, contiguously (kc*mr floats). Rows past m are zero.
//  - B is packed in panels of `nr` columns: panel c holds, for p = 0..kc-1, the `nr` values
//    op(B)[p][c*nr + j], j = 0..nr-1, contiguously (kc*nr floats). Columns past n are zero.
// A micro-kernel multiplies mr rows of A by one B panel and writes (or adds to) an mr x nr tile
// of C, of which only the first `m` rows and `n` columns are stored. It reads A through two
// strides, so it takes a packed panel (row stride 1, step stride mr) or, for kernels that
// broadcast A one value at a time, A in place (row stride lda and step stride 1, or the reverse
// when A is stored transposed); such kernels never read rows past `m`.
#ifndef PERSEPHONEE_KERNELS_GEMM_UKERNEL_H_
#define PERSEPHONEE_KERNELS_GEMM_UKERNEL_H_

#include <pthreadpool.h>

#include <cstddef>

#include "kernels/gemm/gemm.h"

namespace persephonee {

/// C[0..m)[0..n) (+)= A · b_panel over kc steps; m <= MR, n <= NR of the kernel, kc >= 1.
/// A's value (i, p) is a[i * a_row_stride + p * a_step_stride]. `c` has row stride `ldc`
/// (elements). With `accumulate` false, C is only written, never read.
using GemmUkernelFn = void (*)(size_t m, size_t n, size_t kc, const float* __restrict a,
                               size_t a_row_stride, size_t a_step_stride,
                               const float* __restrict b_panel, float* __restrict c, size_t ldc,
                               bool accumulate);

/// Packs op(A)[0..m)[0..k) into ceil(m / mr) panels of k x mr (see the layout above).
/// `a` points at op(A)[0][0] as stored: with `trans`, A is stored k x m with row stride lda.
using GemmPackAFn = void (*)(size_t mr, size_t m, size_t k, const float* a, size_t lda, bool trans,
                             float* __restrict packed);

/// Packs op(B)[0..k)[0..n) into ceil(n / nr) panels of k x nr (see the layout above).
/// `b` points at op(B)[0][0] as stored: with `trans`, B is stored n x k with row stride ldb.
using GemmPackBFn = void (*)(size_t nr, size_t k, size_t n, const float* b, size_t ldb, bool trans,
                             float* __restrict packed);

/// Cache blocking of the driver: kc (reduction depth per pass; keeps a kc x nr B panel in L1),
/// mc (rows of A packed at once; the mc x kc block stays in L2), nc (columns of B packed at once).
struct GemmBlocking {
  size_t kc = 256;
  size_t mc = 144;
  size_t nc = 4096;
};

/// Everything the blocked driver needs from one implementation.
struct GemmKernel {
  GemmUkernelFn ukernel = nullptr;
  /// Null for kernels that read A in place (any strides); then A is never packed.
  GemmPackAFn pack_a = nullptr;
  GemmPackBFn pack_b = nullptr;
  size_t mr = 0;
  size_t nr = 0;
  GemmBlocking blocking;
};

/// The blocked driver: packs B (kc x nc blocks) and A (mc x kc blocks) and runs the micro-kernel
/// over every mr x nr tile of C. Work is split on `pool` over output tiles only; the reduction
/// is always split at the same kc boundaries, so any thread count gives bitwise equal results.
void f32_gemm_blocked(const GemmArgs& args, const GemmKernel& kernel, pthreadpool_t pool);

/// Blocking for an mr x nr micro-kernel from the cache sizes cpuinfo reports (defaults when it
/// reports none): kc fills half of L1 with a B panel, mc half of L2 with an A block.
GemmBlocking gemm_blocking_from_caches(size_t mr, size_t nr);

// Portable packing, any mr / nr.
void f32_gemm_pack_a__scalar(size_t mr, size_t m, size_t k, const float* a, size_t lda, bool trans,
                             float* __restrict packed);
void f32_gemm_pack_b__scalar(size_t nr, size_t k, size_t n, const float* b, size_t ldb, bool trans,
                             float* __restrict packed);

// Micro-kernels. The scalar one reads A in place with any strides.
void f32_gemm_ukernel_4x4__scalar(size_t m, size_t n, size_t kc, const float* __restrict a,
                                  size_t a_row_stride, size_t a_step_stride,
                                  const float* __restrict b_panel, float* __restrict c, size_t ldc,
                                  bool accumulate);

/// The blocked driver with the portable 4x4 micro-kernel: the fallback on any CPU.
void f32_gemm__blocked_scalar(const GemmArgs& args, pthreadpool_t pool);

#if defined(__x86_64__)
/// AVX2 + FMA, 6x16 tile; reads A in place with any strides. Call only when the CPU has AVX2
/// and FMA3.
void f32_gemm_ukernel_6x16__avx2(size_t m, size_t n, size_t kc, const float* __restrict a,
                                 size_t a_row_stride, size_t a_step_stride,
                                 const float* __restrict b_panel, float* __restrict c, size_t ldc,
                                 bool accumulate);
/// AVX2 packing of B for the 6x16 micro-kernel (nr == 16 only; A is read in place).
void f32_gemm_pack_b_16__avx2(size_t nr, size_t k, size_t n, const float* b, size_t ldb, bool trans,
                              float* __restrict packed);
/// The blocked driver with the AVX2 micro-kernel. Call only when the CPU has AVX2 and FMA3.
void f32_gemm__avx2(const GemmArgs& args, pthreadpool_t pool);

/// AVX-512F, 14x32 tile; reads A in place with any strides. Call only when the CPU has
/// AVX-512F.
void f32_gemm_ukernel_14x32__avx512(size_t m, size_t n, size_t kc, const float* __restrict a,
                                    size_t a_row_stride, size_t a_step_stride,
                                    const float* __restrict b_panel, float* __restrict c,
                                    size_t ldc, bool accumulate);
/// AVX-512F packing of B for the 14x32 micro-kernel (nr == 32 only; A is read in place); ldb
/// below 2^31 / 64 elements (gather indices are 32-bit).
void f32_gemm_pack_b_32__avx512(size_t nr, size_t k, size_t n, const float* b, size_t ldb,
                                bool trans, float* __restrict packed);
/// The blocked driver with the AVX-512 micro-kernel and packing. Call only when the CPU has
/// AVX-512F.
void f32_gemm__avx512(const GemmArgs& args, pthreadpool_t pool);
#endif

#if defined(__aarch64__)
/// NEON, 8x8 tile (fmla by lane). Loads 8 rows of A as vectors: a_row_stride must be 1 and
/// all 8 rows readable (a packed panel).
void f32_gemm_ukernel_8x8__neon(size_t m, size_t n, size_t kc, const float* __restrict a,
                                size_t a_row_stride, size_t a_step_stride,
                                const float* __restrict b_panel, float* __restrict c, size_t ldc,
                                bool accumulate);
/// NEON packing for 8-wide panels (mr == 8 / nr == 8 only).
void f32_gemm_pack_a_8__neon(size_t mr, size_t m, size_t k, const float* a, size_t lda, bool trans,
                             float* __restrict packed);
void f32_gemm_pack_b_8__neon(size_t nr, size_t k, size_t n, const float* b, size_t ldb, bool trans,
                             float* __restrict packed);
/// The blocked driver with the NEON micro-kernel and packing.
void f32_gemm__neon(const GemmArgs& args, pthreadpool_t pool);
#endif

}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_GEMM_UKERNEL_H_
