// Helpers shared by the personalisation-file tests: a typical and a small personalisation, file
// bytes, resealing a damaged payload, and a temporary directory.
#ifndef PERSEPHONEE_TESTS_TRAINING_PERSONALISATION_TESTING_H_
#define PERSEPHONEE_TESTS_TRAINING_PERSONALISATION_TESTING_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"
#include "training/personalisation.h"

namespace persephonee {
namespace personalisation_testing {

constexpr float kInf = std::numeric_limits<float>::infinity();
/// Bytes of the file header; the payload follows.
constexpr size_t kHeader = 32;

bool Contains(const std::string& text, const std::string& part);

/// A fresh directory for one test (under `root`, TEST_TMPDIR or /tmp), removed with its files.
class TempDir {
 public:
  explicit TempDir(const char* root = nullptr);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  /// The names in the directory, sorted, without "." and "..".
  std::vector<std::string> Entries() const;

 private:
  std::string path_;
};

/// `n` uniform values in [-1, 1) from `seed`.
std::vector<float> Random(size_t n, uint64_t seed);

/// Adam-like state for every parameter of every head: "<param>/m" and "<param>/v".
OptimizerState AdamState(const std::vector<PersonalisedExit>& exits, int64_t step);

/// The Fashion-MNIST ResNet of the zoo (seed 1), as stored (not optimised); built once.
const Graph& Backbone();

/// A typical personalisation of Backbone(): 4 exits (EvenFractions(4)) with BuildHead heads of
/// width 32 on 10 classes, thresholds 0.93, 0.81, -0 and +inf, the entropy measure, metadata
/// (StandardMetadata and a few more, one holding NUL and 0xFF bytes) and, if asked, Adam state.
Personalisation Typical(bool with_optimizer);

/// A small personalisation (about 2 KB): two exits on 2x2x3 features ("exit1": a linear probe,
/// "exit2": width 1), 3 classes, output "fc", 5000 backbone MACs, the hash of the bytes
/// "backbone", thresholds 0.5 and 0.75, two metadata entries and SGD state with special floats.
Personalisation Small();

/// SerializePersonalisation, failing the test on an error.
std::vector<uint8_t> Serialize(const Personalisation& p);
/// ParsePersonalisation with the origin "user.psp".
StatusOr<Personalisation> Parse(const std::vector<uint8_t>& bytes);
/// The bytes of Small(), made once.
const std::vector<uint8_t>& SmallBytes();

/// zlib's CRC-32 of `size` bytes.
uint32_t Crc(const uint8_t* data, size_t size);
/// Writes `value` little-endian into `width` bytes at `at`.
void PutLe(std::vector<uint8_t>* bytes, size_t at, uint64_t value, int width);
/// Recomputes the payload's CRC-32 in the header, so that a damaged payload reaches the parser.
void Reseal(std::vector<uint8_t>* bytes);
/// The file's contents, or "" if it cannot be read.
std::string ReadOrEmpty(const std::string& path);

}  // namespace personalisation_testing
}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_TRAINING_PERSONALISATION_TESTING_H_
