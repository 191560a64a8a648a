// AVX2 + FMA micro-kernel, 6x16: 12 ymm accumulators + 2 for the B row + 1 broadcast of A
// = 15 of the 16 ymm registers; each step issues 12 FMAs for 2 loads and 6 broadcasts, which
// keeps both FMA ports busy on Haswell through Zen 4. A is broadcast one value at a time, so it is
// read in place through its strides and never packed; B is packed with AVX moves and 8x8
// transposes (pack_x86.h).
#include <immintrin.h>

#include <cassert>

#include "kernels/gemm/pack_x86.h"
#include "kernels/gemm/ukernel.h"

namespace persephonee {

void f32_gemm_ukernel_6x16__avx2(size_t m, size_t n, size_t kc, const float* __restrict a,
                                 size_t a_row_stride, size_t a_step_stride,
                                 const float* __restrict b_panel, float* __restrict c, size_t ldc,
                                 bool accumulate) {
  constexpr size_t kMr = 6;
  constexpr size_t kNr = 16;
  assert(m >= 1 && m <= kMr && n >= 1 && n <= kNr && kc >= 1);
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  // One pointer per row, rows past m aliased to the last valid one (never read out of bounds),
  // and one offset for the step: a single add per step, whatever the strides.
  const float* a0 = a;
  const float* a1 = m > 1 ? a0 + a_row_stride : a0;
  const float* a2 = m > 2 ? a1 + a_row_stride : a1;
  const float* a3 = m > 3 ? a2 + a_row_stride : a2;
  const float* a4 = m > 4 ? a3 + a_row_stride : a3;
  const float* a5 = m > 5 ? a4 + a_row_stride : a4;
  const float* b = b_panel;
  size_t off = 0;
  for (size_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
    __m256 ai = _mm256_broadcast_ss(a0 + off);
    c00 = _mm256_fmadd_ps(ai, b0, c00);
    c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a1 + off);
    c10 = _mm256_fmadd_ps(ai, b0, c10);
    c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a2 + off);
    c20 = _mm256_fmadd_ps(ai, b0, c20);
    c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a3 + off);
    c30 = _mm256_fmadd_ps(ai, b0, c30);
    c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a4 + off);
    c40 = _mm256_fmadd_ps(ai, b0, c40);
    c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a5 + off);
    c50 = _mm256_fmadd_ps(ai, b0, c50);
    c51 = _mm256_fmadd_ps(ai, b1, c51);
    off += a_step_stride;
    b += kNr;
  }
  const __m256 acc[kMr][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                              {c30, c31}, {c40, c41}, {c50, c51}};
  if (m == kMr && n == kNr) {
    for (size_t i = 0; i < kMr; ++i) {
      float* row = c + i * ldc;
      __m256 lo = acc[i][0];
      __m256 hi = acc[i][1];
      if (accumulate) {
        lo = _mm256_add_ps(lo, _mm256_loadu_ps(row));
        hi = _mm256_add_ps(hi, _mm256_loadu_ps(row + 8));
      }
      _mm256_storeu_ps(row, lo);
      _mm256_storeu_ps(row + 8, hi);
    }
    return;
  }
  // Partial tile: spill the registers and store only the m x n corner.
  alignas(32) float tile[kMr][kNr];
  for (size_t i = 0; i < kMr; ++i) {
    _mm256_store_ps(tile[i], acc[i][0]);
    _mm256_store_ps(tile[i] + 8, acc[i][1]);
  }
  for (size_t i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    for (size_t j = 0; j < n; ++j) row[j] = accumulate ? row[j] + tile[i][j] : tile[i][j];
  }
}

void f32_gemm_pack_b_16__avx2(size_t nr, size_t k, size_t n, const float* b, size_t ldb, bool trans,
                              float* __restrict packed) {
  assert(nr == 16);
  pack_x86::PackB<16>(k, n, b, ldb, trans, packed);
}

void f32_gemm__avx2(const GemmArgs& args, pthreadpool_t pool) {
  static const GemmKernel kernel = [] {
    GemmKernel k;
    k.ukernel = f32_gemm_ukernel_6x16__avx2;
    k.pack_a = nullptr;  // Reads A in place.
    k.pack_b = f32_gemm_pack_b_16__avx2;
    k.mr = 6;
    k.nr = 16;
    k.blocking = gemm_blocking_from_caches(k.mr, k.nr);
    return k;
  }();
  f32_gemm_blocked(args, kernel, pool);
}

}  // namespace persephonee
