// The reference GEMM: a plain triple loop, the oracle every other implementation is tested against.
#include <algorithm>
#include <cassert>
#include <cstddef>

#include "kernels/gemm/gemm.h"
#include "kernels/gemm/ukernel.h"

namespace persephonee {

void f32_gemm__scalar(const GemmArgs& args) {
  const bool ta = args.trans_a == Transpose::kYes;
  const bool tb = args.trans_b == Transpose::kYes;
  assert(args.ldc >= args.n);
  assert(args.lda >= (ta ? args.m : args.k));
  assert(args.ldb >= (tb ? args.k : args.n));
  for (size_t i = 0; i < args.m; ++i) {
    for (size_t j = 0; j < args.n; ++j) {
      float acc = 0.0f;
      for (size_t p = 0; p < args.k; ++p) {
        const float a = ta ? args.a[p * args.lda + i] : args.a[i * args.lda + p];
        const float b = tb ? args.b[j * args.ldb + p] : args.b[p * args.ldb + j];
        acc += a * b;
      }
      float* c = &args.c[i * args.ldc + j];
      *c = args.accumulate ? *c + acc : acc;
    }
  }
}

void f32_gemm_ukernel_4x4__scalar(size_t m, size_t n, size_t kc, const float* __restrict a,
                                  size_t a_row_stride, size_t a_step_stride,
                                  const float* __restrict b_panel, float* __restrict c, size_t ldc,
                                  bool accumulate) {
  // 16 accumulators: what a compiler keeps in registers on any 64-bit target.
  constexpr size_t kMr = 4;
  constexpr size_t kNr = 4;
  assert(m >= 1 && m <= kMr && n >= 1 && n <= kNr && kc >= 1);
  // Rows past m read row m - 1 again, so A is never read out of bounds.
  const float* row_ptr[kMr];
  for (size_t i = 0; i < kMr; ++i) row_ptr[i] = a + std::min(i, m - 1) * a_row_stride;
  float acc[kMr][kNr] = {};
  for (size_t p = 0; p < kc; ++p) {
    const float* b = b_panel + p * kNr;
    for (size_t i = 0; i < kMr; ++i) {
      const float ai = row_ptr[i][p * a_step_stride];
      for (size_t j = 0; j < kNr; ++j) acc[i][j] += ai * b[j];
    }
  }
  for (size_t i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    for (size_t j = 0; j < n; ++j) row[j] = accumulate ? row[j] + acc[i][j] : acc[i][j];
  }
}

void f32_gemm__blocked_scalar(const GemmArgs& args, pthreadpool_t pool) {
  static const GemmKernel kernel = [] {
    GemmKernel k;
    k.ukernel = f32_gemm_ukernel_4x4__scalar;
    k.pack_a = f32_gemm_pack_a__scalar;
    k.pack_b = f32_gemm_pack_b__scalar;
    k.mr = 4;
    k.nr = 4;
    k.blocking = gemm_blocking_from_caches(k.mr, k.nr);
    return k;
  }();
  f32_gemm_blocked(args, kernel, pool);
}

}  // namespace persephonee
