// Portable packing of A and B into micro-kernel panels (layouts in ukernel.h). Both transposes
// are handled here, so micro-kernels only ever see the packed form.
#include <algorithm>
#include <cassert>
#include <cstring>

#include "kernels/gemm/ukernel.h"

namespace persephonee {

void f32_gemm_pack_a__scalar(size_t mr, size_t m, size_t k, const float* a, size_t lda, bool trans,
                             float* __restrict packed) {
  assert(mr > 0);
  for (size_t i0 = 0; i0 < m; i0 += mr) {
    const size_t rows = std::min(mr, m - i0);
    if (trans) {
      // Stored k x m: each step p reads `rows` contiguous values.
      for (size_t p = 0; p < k; ++p) {
        const float* src = a + p * lda + i0;
        float* dst = packed + p * mr;
        std::memcpy(dst, src, rows * sizeof(float));
        std::fill(dst + rows, dst + mr, 0.0f);
      }
    } else {
      // Stored m x k: read each row contiguously, write it with stride mr.
      for (size_t i = 0; i < rows; ++i) {
        const float* src = a + (i0 + i) * lda;
        for (size_t p = 0; p < k; ++p) packed[p * mr + i] = src[p];
      }
      for (size_t i = rows; i < mr; ++i) {
        for (size_t p = 0; p < k; ++p) packed[p * mr + i] = 0.0f;
      }
    }
    packed += k * mr;
  }
}

void f32_gemm_pack_b__scalar(size_t nr, size_t k, size_t n, const float* b, size_t ldb, bool trans,
                             float* __restrict packed) {
  assert(nr > 0);
  for (size_t j0 = 0; j0 < n; j0 += nr) {
    const size_t cols = std::min(nr, n - j0);
    if (trans) {
      // Stored n x k: read each column of op(B) contiguously, write it with stride nr.
      for (size_t j = 0; j < cols; ++j) {
        const float* src = b + (j0 + j) * ldb;
        for (size_t p = 0; p < k; ++p) packed[p * nr + j] = src[p];
      }
      for (size_t j = cols; j < nr; ++j) {
        for (size_t p = 0; p < k; ++p) packed[p * nr + j] = 0.0f;
      }
    } else {
      for (size_t p = 0; p < k; ++p) {
        const float* src = b + p * ldb + j0;
        float* dst = packed + p * nr;
        std::memcpy(dst, src, cols * sizeof(float));
        std::fill(dst + cols, dst + nr, 0.0f);
      }
    }
    packed += k * nr;
  }
}

}  // namespace persephonee
