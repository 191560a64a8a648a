// GEMM: C = op(A) · op(B), or C += op(A) · op(B).
//
// Row-major, strides in elements. op(A) is m x k and op(B) is k x n; with Transpose::kYes the
// operand is stored transposed (A as k x m, B as n x k). This is the product fully-connected
// layers use forward (x · Wᵀ) and backward (dY · W, dYᵀ · X), and that convolution's forward and
// backward passes stand on through im2col / col2im.
#ifndef PERSEPHONEE_KERNELS_GEMM_GEMM_H_
#define PERSEPHONEE_KERNELS_GEMM_GEMM_H_

#include <pthreadpool.h>

#include <cstddef>

namespace persephonee {

/// Whether an operand is stored as written (kNo) or transposed (kYes).
enum class Transpose { kNo, kYes };

/// The arguments of one GEMM call.
struct GemmArgs {
  Transpose trans_a = Transpose::kNo;
  Transpose trans_b = Transpose::kNo;
  size_t m = 0;
  size_t n = 0;
  size_t k = 0;
  const float* a = nullptr;
  size_t lda = 0;  ///< Row stride of A as stored, in elements.
  const float* b = nullptr;
  size_t ldb = 0;  ///< Row stride of B as stored, in elements.
  float* c = nullptr;
  size_t ldc = 0;           ///< Row stride of C, in elements.
  bool accumulate = false;  ///< C += product instead of C = product.
};

/// Reference implementation: a plain triple loop with a float accumulator per output. The
/// oracle for every other implementation's tests.
void f32_gemm__scalar(const GemmArgs& args);

/// The GEMM with the implementation chosen once from cpuinfo (see kernels/gemm/config.cc).
/// Splits work over output tiles on `pool` (nullptr: the calling thread); results are bitwise
/// identical for any thread count.
void f32_gemm(const GemmArgs& args, pthreadpool_t pool);

}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_GEMM_GEMM_H_
