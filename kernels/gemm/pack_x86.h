// Fixed-width packing of B for the x86-64 micro-kernels, included by avx2.cc (and compiled with its
// flags): panel widths known at compile time let the compiler turn the copies into vector moves,
// and 8-wide transposes use the classic AVX 8x8 unpack/shuffle/permute network.
#ifndef PERSEPHONEE_KERNELS_GEMM_PACK_X86_H_
#define PERSEPHONEE_KERNELS_GEMM_PACK_X86_H_

#include <immintrin.h>

#include <algorithm>
#include <cstddef>

namespace persephonee {
namespace pack_x86 {

// One packed row of W floats (W = 16): explicit vector moves, because compilers turn a
// plain copy loop into a call to memmove, which costs more than the copy at these sizes.
template <size_t W>
inline void CopyRow(const float* src, float* __restrict dst) {
  static_assert(W % 8 == 0, "CopyRow: width must be a multiple of 8");
  for (size_t j = 0; j < W; j += 8) _mm256_storeu_ps(dst + j, _mm256_loadu_ps(src + j));
}

// dst[p * W + j] = src[p * ld + j] for j < cols, 0 for cols <= j < W.
template <size_t W>
inline void CopyPanel(size_t k, size_t cols, const float* src, size_t ld, float* __restrict dst) {
  if (cols == W) {
    for (size_t p = 0; p < k; ++p) {
      CopyRow<W>(src, dst);
      src += ld;
      dst += W;
    }
    return;
  }
  for (size_t p = 0; p < k; ++p) {
    for (size_t j = 0; j < W; ++j) dst[j] = j < cols ? src[j] : 0.0f;
    src += ld;
    dst += W;
  }
}

// Transposes the 8x8 block r[0..8) (rows) in place into columns.
inline void Transpose8x8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// dst[p * W + j] = src[j * ld + p] for j < rows, 0 for rows <= j < W.
template <size_t W>
inline void TransposePanel(size_t k, size_t rows, const float* src, size_t ld,
                           float* __restrict dst) {
  size_t p = 0;
  if (rows == W && W % 8 == 0) {
    // 8 rows x 8 steps at a time.
    for (; p + 8 <= k; p += 8) {
      for (size_t j0 = 0; j0 < W; j0 += 8) {
        __m256 r[8];
        for (size_t j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(src + (j0 + j) * ld + p);
        Transpose8x8(r);
        for (size_t q = 0; q < 8; ++q) _mm256_storeu_ps(dst + (p + q) * W + j0, r[q]);
      }
    }
  }
  for (; p < k; ++p) {
    for (size_t j = 0; j < W; ++j) dst[p * W + j] = j < rows ? src[j * ld + p] : 0.0f;
  }
}

template <size_t W>
inline void PackB(size_t k, size_t n, const float* b, size_t ldb, bool trans,
                  float* __restrict packed) {
  for (size_t j0 = 0; j0 < n; j0 += W) {
    const size_t cols = std::min(W, n - j0);
    if (trans) {
      TransposePanel<W>(k, cols, b + j0 * ldb, ldb, packed);
    } else {
      CopyPanel<W>(k, cols, b + j0, ldb, packed);
    }
    packed += k * W;
  }
}

}  // namespace pack_x86
}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_GEMM_PACK_X86_H_
