#include "tests/kernels/loss/check.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

namespace persephonee {
namespace {
constexpr size_t kMaxReported = 8;
}  // namespace

Checker::~Checker() {
  if (failures_ > kMaxReported) {
    ADD_FAILURE() << context_ << ": " << failures_ - kMaxReported << " more failures not shown";
  }
}

void Checker::Fail(const std::string& message) {
  if (++failures_ <= kMaxReported) ADD_FAILURE() << context_ << ": " << message;
}

void Checker::Near(const char* what, size_t i, size_t j, double actual, double expected,
                   double tol) {
  const double diff = std::fabs(actual - expected);
  if (diff <= tol) return;  // False for NaN.
  std::ostringstream out;
  out.precision(9);
  out << what << " [" << i << "][" << j << "]: got " << actual << ", expected " << expected
      << ", |diff| " << diff << " > tol " << tol;
  Fail(out.str());
}

void Checker::Exact(const char* what, size_t i, size_t j, float actual, float expected) {
  if (actual == expected) return;
  std::ostringstream out;
  out.precision(9);
  out << what << " [" << i << "][" << j << "]: got " << actual << ", expected exactly " << expected;
  Fail(out.str());
}

void Checker::ExactInt(const char* what, size_t i, size_t j, int64_t actual, int64_t expected) {
  if (actual == expected) return;
  std::ostringstream out;
  out << what << " [" << i << "][" << j << "]: got " << actual << ", expected " << expected;
  Fail(out.str());
}

void Checker::True(bool condition, const std::string& what) {
  if (!condition) Fail(what);
}

}  // namespace persephonee
