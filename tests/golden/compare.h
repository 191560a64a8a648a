// Comparison of a kernel's float32 result with a golden PyTorch value.
//
// The golden values are exact results (computed in float64 from the stored float32 inputs)
// rounded to float32, so the difference is the kernel's own rounding error. A float32 sum of K
// products drifts from the exact sum by about sqrt(K)·eps relative to the magnitude of the
// values (K·eps in the worst case), so element i passes when
//
//   |got_i - want_i| <= rtol · (|want_i| + scale),   rtol = 4 · eps · (1 + sqrt(K)),
//
// with eps = 2^-23 and scale = max_j |want_j| (an all-zero array has scale 1). K is the number
// of terms one element sums: the reduction length of that output (1 for a copy or a max).
#ifndef PERSEPHONEE_TESTS_GOLDEN_COMPARE_H_
#define PERSEPHONEE_TESTS_GOLDEN_COMPARE_H_

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <vector>

#include "tests/golden/fixture.h"

namespace persephonee {
namespace golden {

/// rtol for results that each sum `terms` products (see above).
double RelativeTolerance(size_t terms);

/// Checks `got` against the golden array `want` element by element. On failure the message
/// names `what`, the fixture and array, the dims, how many elements failed, and the worst one
/// (its multi-dimensional index, both values, the difference and the tolerance). A NaN in
/// `got` always fails, so outputs pre-filled with NaN catch elements a kernel never wrote.
::testing::AssertionResult MatchesGolden(const std::string& what, const std::vector<float>& got,
                                         const FixtureArray& want, const std::string& source,
                                         size_t terms);

/// EXPECT_TRUE(MatchesGolden(...)); with GOLDEN_VERBOSE=1 in the environment (bazel test
/// --test_env=GOLDEN_VERBOSE=1) passing comparisons print their worst element too, to show
/// how much margin each kernel has.
void ExpectGolden(const std::string& what, const std::vector<float>& got, const FixtureArray& want,
                  const std::string& source, size_t terms);

/// A buffer of `n` quiet NaNs, for outputs that a kernel must overwrite completely.
std::vector<float> NanBuffer(size_t n);

}  // namespace golden
}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_GOLDEN_COMPARE_H_
