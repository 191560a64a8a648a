// Golden fixtures: named arrays of PyTorch forward and backward values, written by
// tools/make_golden_fixtures.py (which says how each value was computed) and read here.
//
// File format, version 1. Integers are unsigned 32-bit little-endian; float32 is IEEE-754
// binary32 little-endian.
//
//   magic         8 bytes   "PSGOLDEN"
//   version       u32       1
//   array_count   u32       1..256
//   array_count times:
//     name_length u32       1..64
//     name        bytes     [A-Za-z0-9_], unique within the file
//     dtype       u32       1 = float32, 2 = int32
//     rank        u32       0..6 (rank 0: a scalar, one element)
//     dims        rank x u32, each 1..65536; at most 2^22 elements in all
//     data        element_count x 4 bytes, row-major (last dimension fastest)
//   crc32         u32       CRC-32 (zlib's) of every byte before it
//
// The reader is strict: a wrong magic or version, a count or size out of range, a name that is
// empty, badly spelled or repeated, a non-finite float, a checksum mismatch, a truncated file
// or any byte after the checksum is an error (kDataLoss or kInvalidArgument) naming the file
// and, where there is one, the array.
//
// Layouts are the engine's: activations NHWC, conv weights OHWI, fully-connected weights
// [out][in]. Which arrays each fixture holds (x, w, b, dy, y, dx, dw, db, int32 attributes such
// as stride and padding, max-pool argmax) is listed in tools/make_golden_fixtures.py's docstring;
// regenerate the files with `/usr/bin/python3 tools/make_golden_fixtures.py` (`--check` verifies).
#ifndef PERSEPHONEE_TESTS_GOLDEN_FIXTURE_H_
#define PERSEPHONEE_TESTS_GOLDEN_FIXTURE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace persephonee {
namespace golden {

/// The element type of a fixture array.
enum class FixtureDtype : uint32_t { kFloat32 = 1, kInt32 = 2 };

/// One named array of a fixture. Exactly one of `f32` and `i32` holds the data.
struct FixtureArray {
  std::string name;
  FixtureDtype dtype = FixtureDtype::kFloat32;
  std::vector<size_t> dims;  ///< Empty for a scalar.
  std::vector<float> f32;    ///< The data when dtype is kFloat32.
  std::vector<int32_t> i32;  ///< The data when dtype is kInt32.

  /// Number of elements: the product of `dims` (1 for a scalar).
  size_t size() const;
  /// "[2, 7, 6, 3]".
  std::string DimsString() const;
};

/// The arrays of one fixture file.
class Fixture {
 public:
  /// Reads and validates the file at `path` (relative paths are relative to the working
  /// directory, which under `bazel test` is the workspace's runfiles root).
  static StatusOr<Fixture> Load(const std::string& path);

  /// Validates and decodes `bytes`; `source` names them in error messages.
  static StatusOr<Fixture> Parse(const std::string& bytes, const std::string& source);

  /// The path or name the fixture was read from.
  const std::string& source() const { return source_; }
  /// Every array, in file order.
  const std::vector<FixtureArray>& arrays() const { return arrays_; }

  /// The array called `name`, which must have type `dtype` and rank `rank`; otherwise an
  /// error naming the file and the array.
  StatusOr<const FixtureArray*> Find(const std::string& name, FixtureDtype dtype,
                                     size_t rank) const;

  /// The float32 array `name` whose dims must be exactly `dims`.
  StatusOr<const FixtureArray*> FindFloat(const std::string& name,
                                          const std::vector<size_t>& dims) const;

  /// The int32 vector `name`, which must hold exactly `count` elements (rank 1).
  StatusOr<std::vector<int32_t>> Ints(const std::string& name, size_t count) const;

  /// Whether an array called `name` exists.
  bool Has(const std::string& name) const;

 private:
  std::string source_;
  std::vector<FixtureArray> arrays_;
};

/// The runfiles-relative path of the fixture `stem`: "tests/golden/testdata/<stem>.bin".
std::string FixturePath(const std::string& stem);

/// Encodes arrays in the format above (checksum included). Tests use it to build valid files
/// and then corrupt them; the fixtures themselves come from the Python script.
std::string EncodeFixture(const std::vector<FixtureArray>& arrays);

}  // namespace golden
}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_GOLDEN_FIXTURE_H_
