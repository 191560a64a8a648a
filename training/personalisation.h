// The personalisation file: what on-device training made for one user, without the backbone.
//
// It holds the early exits only: for each exit where it attaches (ExitPoint), its trained head
// (a Graph, stored as the model-file bytes SerializeGraph gives and read back with ParseGraph)
// and its calibrated threshold; the confidence measure the thresholds are in; the classes; the
// backbone's output tensor (the final exit) and its MACs; the SHA-256 of the backbone it was
// trained on; free-form metadata; and, optionally, the optimiser's state so training can resume.
// Kilobytes (the heads' weights are int8 rows by default: 43 KB for fmnist_resnet's four exits,
// 568 KB for MobileNetV2's with 1000 classes), so a phone can keep one per user beside a single
// shared backbone.
// docs/personalisation-format.md specifies the bytes.
//
// Saving is atomic (WriteFileAtomically: temporary file, fsync, rename, directory fsync): the
// target holds the old file or the new one, never a mixture. Loading trusts nothing: magic,
// version, header fields, the payload's size against the file's and its CRC-32 come first; then
// every count and length is checked against its limit and against the bytes that remain before
// anything is allocated or read, bytes after the last record are refused, heads are parsed and
// validated by ParseGraph, and the whole is validated as for saving. Errors:
//   kNotFound         no such file
//   kInvalidArgument  not a personalisation file (wrong magic), or it describes something
//                     invalid (a head whose input is not the exit's features, a NaN threshold, ...)
//   kUnimplemented    a format version this build does not read
//   kDataLoss         truncated, trailing bytes, checksum mismatch, malformed record
// Messages name the file, the field and its byte offset.
//
// The backbone hash ties a personalisation to the exact backbone it was trained on: heads read
// that backbone's features and thresholds were calibrated on its outputs, so applying them to
// another backbone (other weights, even slightly) would silently give wrong answers.
#ifndef PERSEPHONEE_TRAINING_PERSONALISATION_H_
#define PERSEPHONEE_TRAINING_PERSONALISATION_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"
#include "training/calibration.h"
#include "training/exits.h"

namespace persephonee {

/// The 8 bytes every personalisation file starts with.
constexpr char kPersonalisationMagic[8] = {'P', 'S', 'P', 'H', 'P', 'E', 'R', 'S'};
/// The format version this build writes. It reads this one and version 1 (which has no prior, no
/// personalised final exit and no calibration record: behaviour as before).
constexpr uint32_t kPersonalisationFormatVersion = 2;
constexpr uint32_t kPersonalisationOldestVersion = 1;

/// One trained exit.
struct PersonalisedExit {
  ExitPoint point;  ///< Where it attaches and what it costs.
  /// The head: one input of shape point.feature_shape ([1, H, W, C]), one output of shape
  /// [1, classes] (the logits).
  Graph head;
  /// A sample leaves here when its ConfidenceScore is >= threshold. +inf: never; no NaN.
  float threshold = std::numeric_limits<float>::infinity();
};

/// A named float array of the optimiser's state ("exit1.fc.weight/m", ...).
struct OptimizerArray {
  std::string name;
  std::vector<float> values;  ///< Finite.
};

/// The optimiser's state, so that personalisation can resume where it stopped.
struct OptimizerState {
  std::string name;                    ///< "sgd", "adam", ... (1 to 64 bytes).
  int64_t step = 0;                    ///< Updates done so far, >= 0.
  std::vector<OptimizerArray> arrays;  ///< Names unique and non-empty.
};

/// How the thresholds were calibrated (training/guarantee.h), for the record.
struct CalibrationRecord {
  double epsilon = 0;     ///< Accuracy the early exits were allowed to lose, [0, 1].
  double delta = 0;       ///< With at most this probability of losing more, (0, 1).
  double bound = 0;       ///< The upper confidence bound reached (finite).
  int64_t samples = 0;    ///< Held-out images behind it, >= 0.
  int64_t labelled = 0;   ///< Of those, labelled.
  bool exits_on = false;  ///< false: no setting passed and the early exits are off.
};

/// Everything a personalisation file holds.
struct Personalisation {
  std::vector<PersonalisedExit> exits;  ///< 1 to 64, in backbone order, names unique.
  ConfidenceMeasure measure = ConfidenceMeasure::kMaxSoftmax;
  int classes = 0;            ///< Outputs of every head and of the backbone, >= 1.
  std::string output_tensor;  ///< The backbone's output tensor: the final exit.
  int64_t backbone_macs = 0;  ///< MACs of the whole backbone per sample.
  std::string backbone_hash;  ///< BackboneHash of the backbone: 64 lower-case hex digits.
  /// Free-form facts: seed, epochs, samples, label fraction, created, tool... Keys 1 to 256
  /// bytes, values at most 65536 bytes, at most 1024 entries.
  std::map<std::string, std::string> metadata;
  std::optional<OptimizerState> optimizer;  ///< Absent when training cannot resume.
  /// Version 2. The last exit is the personalised final exit (its threshold is -inf): a
  /// trained copy of the backbone's classifier that answers every sample reaching it.
  bool personal_final = false;
  /// Version 2. The user's class prior as estimated ([classes], positive, sums to 1), or empty.
  std::vector<double> prior;
  /// Version 2. How the thresholds were calibrated, when they were calibrated with a guarantee.
  std::optional<CalibrationRecord> calibration;
};

/// Checks everything a file may hold (limits above, head shapes against the exits, finite
/// values); kInvalidArgument naming the exit and field at fault.
Status ValidatePersonalisation(const Personalisation& p);

/// The file's bytes for `p` (validated first).
StatusOr<std::vector<uint8_t>> SerializePersonalisation(const Personalisation& p);

/// Parses and validates file bytes; `origin` names them in messages (a path or "<memory>").
StatusOr<Personalisation> ParsePersonalisation(const uint8_t* data, size_t size,
                                               const std::string& origin);

/// Writes `p` to `path` atomically; on failure `path` is untouched and nothing is left beside it.
Status SavePersonalisation(const Personalisation& p, const std::string& path);

/// The largest personalisation file LoadPersonalisation reads: 64 MiB. The largest the zoo's
/// models make is MobileNetV2's with 1000 classes and float32 heads, 2.2 MB, and about 6.6 MB
/// with --save-optimizer (Adam's 8 bytes per parameter); 64 MiB leaves ten times that, and is
/// still memory a phone can spare for a moment.
inline constexpr uint64_t kMaxPersonalisationFileBytes = uint64_t{64} << 20;

/// Reads, checks and parses the personalisation file at `path`. kInvalidArgument, without
/// blocking, if it is not a regular file (a directory, a FIFO, a device such as /dev/zero);
/// kResourceExhausted if it is larger than kMaxPersonalisationFileBytes; kNotFound if missing.
StatusOr<Personalisation> LoadPersonalisation(const std::string& path);

/// The SHA-256 of `backbone`'s model-file bytes (SerializeGraph), as 64 lower-case hex digits:
/// the same digits `sha256sum` prints for a model file SaveGraph wrote, since loading and
/// serialising again gives the file's bytes. Hash the backbone as it is stored (before
/// OptimizeBackbone), on both sides. Empty if `backbone` cannot be serialised (invalid).
std::string BackboneHash(const Graph& backbone);

/// OK if `p` was made for `backbone`; otherwise kFailedPrecondition naming both hashes.
Status CheckBackbone(const Personalisation& p, const Graph& backbone);

/// Whether `a` and `b` hold the same things, floats compared bit for bit (heads by GraphsEqual).
/// On a difference `why` (if given) says where.
bool PersonalisationsEqual(const Personalisation& a, const Personalisation& b,
                           std::string* why = nullptr);

/// Metadata every personalisation should carry: "created" (UTC, ISO 8601, to the second) and
/// "tool" ("persephonee <version>").
std::map<std::string, std::string> StandardMetadata();

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_PERSONALISATION_H_
