#include "tests/golden/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <sstream>

namespace persephonee {
namespace golden {
namespace {

std::string IndexString(size_t flat, const std::vector<size_t>& dims) {
  std::vector<size_t> index(dims.size());
  for (size_t d = dims.size(); d-- > 0;) {
    index[d] = flat % dims[d];
    flat /= dims[d];
  }
  std::ostringstream out;
  out << "[";
  for (size_t d = 0; d < index.size(); ++d) out << (d ? ", " : "") << index[d];
  out << "]";
  return out.str();
}

}  // namespace

double RelativeTolerance(size_t terms) {
  const double eps = std::numeric_limits<float>::epsilon();
  return 4.0 * eps * (1.0 + std::sqrt(static_cast<double>(terms)));
}

::testing::AssertionResult MatchesGolden(const std::string& what, const std::vector<float>& got,
                                         const FixtureArray& want, const std::string& source,
                                         size_t terms) {
  if (want.dtype != FixtureDtype::kFloat32 || got.size() != want.f32.size()) {
    return ::testing::AssertionFailure()
           << what << ": " << got.size() << " values to compare with " << source << " array '"
           << want.name << "' of " << want.f32.size() << " floats " << want.DimsString();
  }
  double scale = 0.0;
  for (float v : want.f32) scale = std::max(scale, std::fabs(static_cast<double>(v)));
  if (scale == 0.0) scale = 1.0;
  const double rtol = RelativeTolerance(terms);

  size_t failures = 0, worst = 0;
  double worst_excess = -1.0;  // |diff| / tol of the worst element; > 1 fails.
  for (size_t i = 0; i < got.size(); ++i) {
    const double ref = want.f32[i];
    const double diff = std::fabs(static_cast<double>(got[i]) - ref);
    const double tol = rtol * (std::fabs(ref) + scale);
    const double excess = std::isnan(diff) ? std::numeric_limits<double>::infinity() : diff / tol;
    if (!(diff <= tol)) ++failures;
    if (excess > worst_excess) {
      worst_excess = excess;
      worst = i;
    }
  }
  const double ref = want.f32[worst];
  const double tol = rtol * (std::fabs(ref) + scale);
  std::ostringstream detail;
  detail.precision(9);
  detail << what << " vs " << source << " '" << want.name << "' " << want.DimsString()
         << ": worst at " << IndexString(worst, want.dims) << " (flat " << worst << "): got "
         << got[worst] << ", want " << ref << ", |diff| " << std::fabs(got[worst] - ref) << ", tol "
         << tol << " (rtol " << rtol << " for " << terms << " terms, scale " << scale << ")";
  if (failures == 0) return ::testing::AssertionSuccess() << detail.str();
  return ::testing::AssertionFailure()
         << failures << " of " << got.size() << " elements out of tolerance; " << detail.str();
}

void ExpectGolden(const std::string& what, const std::vector<float>& got, const FixtureArray& want,
                  const std::string& source, size_t terms) {
  const ::testing::AssertionResult result = MatchesGolden(what, got, want, source, terms);
  EXPECT_TRUE(result);
  const char* verbose = std::getenv("GOLDEN_VERBOSE");
  if (result && verbose != nullptr && std::string(verbose) == "1") {
    std::cout << "  ok: " << result.message() << "\n";
  }
}

std::vector<float> NanBuffer(size_t n) {
  return std::vector<float>(n, std::numeric_limits<float>::quiet_NaN());
}

}  // namespace golden
}  // namespace persephonee
