// Text fixtures: named cases of named float32 / int32 arrays, written by
// tools/make_loss_fixtures.py and tools/make_optim_fixtures.py (whose docstrings say how each
// value was computed) and read here. The tests never need PyTorch.
//
// Format: whitespace-separated tokens; '#' starts a comment that runs to the end of the line.
//
//   case <name>                           starts a case; names are unique in a file
//   <array> <f32|i32> <count> v1 ... vN   one array, N values (1 <= N <= 2^20); floats must be
//                                         finite and are written so they round-trip (%.9g)
//   end                                   ends the case
//
// The reader is strict: an unknown dtype, a count out of range, a value that does not parse
// or does not fit, a repeated case or array name, a missing `end` or anything outside a case
// is kDataLoss naming the file, the line and the case.
#ifndef PERSEPHONEE_TESTS_KERNELS_LOSS_TEXT_FIXTURE_H_
#define PERSEPHONEE_TESTS_KERNELS_LOSS_TEXT_FIXTURE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace persephonee {

/// One case of a text fixture.
struct TextCase {
  std::string name;
  std::map<std::string, std::vector<float>> f32;
  std::map<std::string, std::vector<int32_t>> i32;

  /// Whether an array of either type is called `array`.
  bool Has(const std::string& array) const;
  /// The float32 array `array`, which must hold `count` values (any count when count is 0).
  StatusOr<std::vector<float>> Floats(const std::string& array, size_t count = 0) const;
  /// The int32 array `array`, which must hold `count` values (any count when count is 0).
  StatusOr<std::vector<int32_t>> Ints(const std::string& array, size_t count = 0) const;
  /// The single float32 value `array` (an array of one).
  StatusOr<float> Float(const std::string& array) const;
  /// The single int32 value `array` (an array of one).
  StatusOr<int32_t> Int(const std::string& array) const;
};

/// Parses fixture text; `source` names it in error messages.
StatusOr<std::vector<TextCase>> ParseTextFixture(const std::string& text,
                                                 const std::string& source);

/// Reads and parses the file at `path` (relative to the working directory, which under
/// `bazel test` is the workspace's runfiles root).
StatusOr<std::vector<TextCase>> LoadTextFixture(const std::string& path);

}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_KERNELS_LOSS_TEXT_FIXTURE_H_
