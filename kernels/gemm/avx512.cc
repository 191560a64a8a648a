// AVX-512F micro-kernel, 14x32: 28 zmm accumulators + 2 for the B row + 1 broadcast of A = 31 of
// the 32 zmm registers. Each step issues 28 FMAs for 2 loads and 14 broadcasts (16 loads), so
// two 512-bit FMA pipes stay busy with loads to spare. With 14 rows, pointers per row would not
// fit in the general registers, so A is packed ([p][14] panels, one pointer, constant offsets);
// the packing reads a transposed A with masked vector moves and a plain A with gathers. B is
// packed in 32-wide panels with 512-bit moves. Partial tiles store through lane masks.
//
// This file is the only one built with -mavx512f; its helpers have internal linkage so no
// AVX-512 code can be picked by the linker for a caller on a CPU without it.
#include <immintrin.h>

#include <algorithm>
#include <cassert>
#include <cstdint>

#include "kernels/gemm/ukernel.h"

namespace persephonee {
namespace {

constexpr size_t kMr = 14;
constexpr size_t kNr = 32;

inline __mmask16 LowMask(size_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
}

}  // namespace

void f32_gemm_ukernel_14x32__avx512(size_t m, size_t n, size_t kc, const float* __restrict a,
                                    size_t a_row_stride, size_t a_step_stride,
                                    const float* __restrict b_panel, float* __restrict c,
                                    size_t ldc, bool accumulate) {
  assert(m >= 1 && m <= kMr && n >= 1 && n <= kNr && kc >= 1);
  assert(a_row_stride == 1 && a_step_stride == kMr);
  (void)a_row_stride;
  (void)a_step_stride;
#define PERSEPHONEE_ACC(i) __m512 c##i##0 = _mm512_setzero_ps(), c##i##1 = _mm512_setzero_ps()
  PERSEPHONEE_ACC(0);
  PERSEPHONEE_ACC(1);
  PERSEPHONEE_ACC(2);
  PERSEPHONEE_ACC(3);
  PERSEPHONEE_ACC(4);
  PERSEPHONEE_ACC(5);
  PERSEPHONEE_ACC(6);
  PERSEPHONEE_ACC(7);
  PERSEPHONEE_ACC(8);
  PERSEPHONEE_ACC(9);
  PERSEPHONEE_ACC(10);
  PERSEPHONEE_ACC(11);
  PERSEPHONEE_ACC(12);
  PERSEPHONEE_ACC(13);
#undef PERSEPHONEE_ACC
  const float* b = b_panel;
  for (size_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_loadu_ps(b);
    const __m512 b1 = _mm512_loadu_ps(b + 16);
#define PERSEPHONEE_ROW(i)                      \
  {                                             \
    const __m512 ai = _mm512_set1_ps(a[i]);     \
    c##i##0 = _mm512_fmadd_ps(ai, b0, c##i##0); \
    c##i##1 = _mm512_fmadd_ps(ai, b1, c##i##1); \
  }
    PERSEPHONEE_ROW(0)
    PERSEPHONEE_ROW(1)
    PERSEPHONEE_ROW(2)
    PERSEPHONEE_ROW(3)
    PERSEPHONEE_ROW(4)
    PERSEPHONEE_ROW(5)
    PERSEPHONEE_ROW(6)
    PERSEPHONEE_ROW(7)
    PERSEPHONEE_ROW(8)
    PERSEPHONEE_ROW(9)
    PERSEPHONEE_ROW(10)
    PERSEPHONEE_ROW(11)
    PERSEPHONEE_ROW(12)
    PERSEPHONEE_ROW(13)
#undef PERSEPHONEE_ROW
    a += kMr;
    b += kNr;
  }
  const __m512 acc[kMr][2] = {{c00, c01},   {c10, c11},   {c20, c21},   {c30, c31},  {c40, c41},
                              {c50, c51},   {c60, c61},   {c70, c71},   {c80, c81},  {c90, c91},
                              {c100, c101}, {c110, c111}, {c120, c121}, {c130, c131}};
  if (n == kNr) {
    for (size_t i = 0; i < m; ++i) {
      float* row = c + i * ldc;
      __m512 lo = acc[i][0];
      __m512 hi = acc[i][1];
      if (accumulate) {
        lo = _mm512_add_ps(lo, _mm512_loadu_ps(row));
        hi = _mm512_add_ps(hi, _mm512_loadu_ps(row + 16));
      }
      _mm512_storeu_ps(row, lo);
      _mm512_storeu_ps(row + 16, hi);
    }
    return;
  }
  const __mmask16 mask_lo = LowMask(n);
  const __mmask16 mask_hi = LowMask(n > 16 ? n - 16 : 0);
  for (size_t i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    __m512 lo = acc[i][0];
    __m512 hi = acc[i][1];
    if (accumulate) {
      lo = _mm512_add_ps(lo, _mm512_maskz_loadu_ps(mask_lo, row));
      hi = _mm512_add_ps(hi, _mm512_maskz_loadu_ps(mask_hi, row + 16));
    }
    _mm512_mask_storeu_ps(row, mask_lo, lo);
    _mm512_mask_storeu_ps(row + 16, mask_hi, hi);
  }
}

void f32_gemm_pack_a_14__avx512(size_t mr, size_t m, size_t k, const float* a, size_t lda,
                                bool trans, float* __restrict packed) {
  assert(mr == kMr);
  (void)mr;
  for (size_t i0 = 0; i0 < m; i0 += kMr) {
    const size_t rows = std::min(kMr, m - i0);
    const __mmask16 rows_mask = LowMask(rows);
    if (trans) {
      // Stored k x m: step p's rows are contiguous.
      const float* src = a + i0;
      for (size_t p = 0; p < k; ++p) {
        _mm512_mask_storeu_ps(packed + p * kMr, 0x3FFF,
                              _mm512_maskz_loadu_ps(rows_mask, src + p * lda));
      }
    } else {
      // Stored m x k: gather one value from each row per step.
      const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
      const __m512i index = _mm512_mullo_epi32(lane, _mm512_set1_epi32(static_cast<int>(lda)));
      const float* src = a + i0 * lda;
      for (size_t p = 0; p < k; ++p) {
        const __m512 col =
            _mm512_mask_i32gather_ps(_mm512_setzero_ps(), rows_mask, index, src + p, 4);
        _mm512_mask_storeu_ps(packed + p * kMr, 0x3FFF, col);
      }
    }
    packed += k * kMr;
  }
}

void f32_gemm_pack_b_32__avx512(size_t nr, size_t k, size_t n, const float* b, size_t ldb,
                                bool trans, float* __restrict packed) {
  assert(nr == kNr);
  (void)nr;
  const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i index = _mm512_mullo_epi32(lane, _mm512_set1_epi32(static_cast<int>(ldb)));
  for (size_t j0 = 0; j0 < n; j0 += kNr) {
    const size_t cols = std::min(kNr, n - j0);
    const __mmask16 lo = LowMask(cols), hi = LowMask(cols > 16 ? cols - 16 : 0);
    if (trans) {
      // Stored n x k: gather one value from each of the panel's rows of storage per step.
      const float* src = b + j0 * ldb;
      for (size_t p = 0; p < k; ++p) {
        _mm512_storeu_ps(packed + p * kNr,
                         _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lo, index, src + p, 4));
        _mm512_storeu_ps(
            packed + p * kNr + 16,
            _mm512_mask_i32gather_ps(_mm512_setzero_ps(), hi, index, src + 16 * ldb + p, 4));
      }
    } else {
      const float* src = b + j0;
      for (size_t p = 0; p < k; ++p) {
        _mm512_storeu_ps(packed + p * kNr, _mm512_maskz_loadu_ps(lo, src + p * ldb));
        _mm512_storeu_ps(packed + p * kNr + 16, _mm512_maskz_loadu_ps(hi, src + p * ldb + 16));
      }
    }
    packed += k * kNr;
  }
}

void f32_gemm__avx512(const GemmArgs& args, pthreadpool_t pool) {
  static const GemmKernel kernel = [] {
    GemmKernel k;
    k.ukernel = f32_gemm_ukernel_14x32__avx512;
    k.pack_a = f32_gemm_pack_a_14__avx512;
    k.pack_b = f32_gemm_pack_b_32__avx512;
    k.mr = kMr;
    k.nr = kNr;
    k.blocking = gemm_blocking_from_caches(k.mr, k.nr);
    return k;
  }();
  f32_gemm_blocked(args, kernel, pool);
}

}  // namespace persephonee
