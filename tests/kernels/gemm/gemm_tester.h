// GemmTester: a fluent tester for GEMM implementations and micro-kernels (XNNPACK's
// GemmMicrokernelTester is the model). Set the shape, transposes, stride padding and whether to
// accumulate, then Test(...) runs the implementation and compares every element of C with
// f32_gemm__scalar, and checks that nothing outside the m x n result was written.
#ifndef PERSEPHONEE_TESTS_KERNELS_GEMM_GEMM_TESTER_H_
#define PERSEPHONEE_TESTS_KERNELS_GEMM_GEMM_TESTER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernels/gemm/gemm.h"
#include "kernels/gemm/ukernel.h"

namespace persephonee {

class GemmTester {
 public:
  using GemmFn = std::function<void(const GemmArgs&)>;

  GemmTester& m(size_t v) {
    m_ = v;
    return *this;
  }
  GemmTester& n(size_t v) {
    n_ = v;
    return *this;
  }
  GemmTester& k(size_t v) {
    k_ = v;
    return *this;
  }
  GemmTester& trans_a(bool v) {
    trans_a_ = v;
    return *this;
  }
  GemmTester& trans_b(bool v) {
    trans_b_ = v;
    return *this;
  }
  /// Extra elements per row beyond the minimum leading dimension.
  GemmTester& lda_pad(size_t v) {
    lda_pad_ = v;
    return *this;
  }
  GemmTester& ldb_pad(size_t v) {
    ldb_pad_ = v;
    return *this;
  }
  GemmTester& ldc_pad(size_t v) {
    ldc_pad_ = v;
    return *this;
  }
  GemmTester& accumulate(bool v) {
    accumulate_ = v;
    return *this;
  }
  /// For TestUkernel: pass A in place (strides of the stored matrix) instead of a packed panel.
  GemmTester& a_in_place(bool v) {
    a_in_place_ = v;
    return *this;
  }
  GemmTester& seed(uint32_t v) {
    seed_ = v;
    return *this;
  }

  /// Runs `gemm` and compares C with the scalar oracle within tolerance (see Tolerance()).
  void Test(const GemmFn& gemm) const;

  /// Runs `gemm` and returns the whole C buffer (m rows of ldc), for bitwise comparisons.
  std::vector<float> Run(const GemmFn& gemm) const;

  /// Tests a micro-kernel with tile mr x nr: m <= mr, n <= nr, k is kc. Packs B (and A, unless
  /// a_in_place) with the test's own reference packing; packed rows and columns past m and n are
  /// NaN, which must never reach C. In place, A's buffer holds exactly the stored matrix.
  void TestUkernel(GemmUkernelFn ukernel, size_t mr, size_t nr) const;

  /// "m=.. n=.. k=.. ta=.. tb=.. lda=.. ldb=.. ldc=.. acc=..", for failure messages.
  std::string Describe() const;

 private:
  struct Data {
    GemmArgs args;
    std::vector<float> a, b, c;
  };
  Data Make() const;
  // max(1e-5, 1e-6 * S) * max(1, sqrt(k) / 4), S = sum_p |a_ip * b_pj| (+ |c_ij|): round-off
  // of a k-term sum grows about as sqrt(k) ulps of S.
  float Tolerance(const Data& d, const std::vector<float>& c_in, size_t i, size_t j) const;
  void Compare(const Data& d, const std::vector<float>& c_in, const std::vector<float>& expected,
               const std::string& what) const;

  size_t m_ = 1, n_ = 1, k_ = 1;
  bool trans_a_ = false, trans_b_ = false;
  size_t lda_pad_ = 0, ldb_pad_ = 0, ldc_pad_ = 0;
  bool accumulate_ = false;
  bool a_in_place_ = false;
  uint32_t seed_ = 1;
};

/// Runs a GEMM implementation through the standard shape matrix: m, n and k below, at and above
/// the tile (mr, nr) and the reduction block (kc), primes, k = 1, all four transpose combinations,
/// padded leading dimensions, accumulate on and off, plus randomized shapes.
void TestGemmShapes(const GemmTester::GemmFn& gemm, size_t mr, size_t nr, size_t kc);

/// Runs a micro-kernel through every m <= mr, n <= nr, several kc, padded ldc, accumulate, with
/// packed A and, when `reads_a_in_place`, with A in place (both transposes, padded lda).
void TestUkernelShapes(GemmUkernelFn ukernel, size_t mr, size_t nr, bool reads_a_in_place);

/// Runs the blocked driver with `kernel` under a tiny blocking (kc = 16, mc = 2 mr, nc = 2 nr) so
/// that small shapes cross every block boundary; compares with the oracle.
void TestBlockedDriver(GemmKernel kernel);

/// Checks that `gemm` on pools of 2 and 3 threads gives C bitwise equal to no pool.
void TestThreadsBitwise(const std::function<void(const GemmArgs&, pthreadpool_t)>& gemm);

/// Checks a packing routine against the reference layout, both transposes, partial panels and
/// padded strides, bitwise.
void TestPackA(GemmPackAFn pack, size_t mr);
void TestPackB(GemmPackBFn pack, size_t nr);

}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_KERNELS_GEMM_GEMM_TESTER_H_
