// A bounded reservoir of a user's samples, kept on the device between personalisation runs, so
// that training can resume as new samples arrive without the data growing without bound.
//
// The walk-through:
//   1. A reservoir holds at most `capacity` samples (a uint8 image of height x width x channels
//      and a label: a class in [0, classes) or kUnlabelled) and counts `seen`, every sample ever
//      offered to it.
//   2. Offer() adds new samples with reservoir sampling (Vitter's Algorithm R). Sample number t
//      (0-based over all samples ever offered, across runs) goes in directly while the
//      reservoir holds fewer than `capacity`, appended in the order offered. After that, j is
//      drawn uniformly from [0, t] by Rng(MixSeed(seed, t)) (splitmix64, no std distributions:
//      the same on every platform); if j < capacity the sample replaces slot j, otherwise it is
//      dropped. By induction every sample offered so far is in the reservoir with probability
//      capacity / seen, whatever the sizes of the runs it arrived in, and which samples are kept
//      depends only on the seed and the order of the offers (a draw depends on t alone, so
//      saving and loading between runs changes nothing).
//   3. Labelled samples are treated exactly like unlabelled ones: each sample has the same
//      chance of being kept. A labelled sample can therefore be displaced by an unlabelled
//      one; preferring labels would bias the reservoir away from what the user sees, and the
//      simple rule keeps the capacity / seen guarantee easy to state and to test.
//   4. Save() writes a directory: images.idx (uint8, count x height x width, with a fourth
//      dimension when channels > 1), labels.idx (uint8, count) and reservoir.json
//      ({"version", "capacity", "seen", "seed", "classes", "height", "width", "channels",
//      "count"}). Each file is written atomically; reservoir.json is removed first and written
//      last, so a reservoir.json means the files beside it are complete and belong to it.
//      Load() checks every file against the json (shapes, counts, count = min(seen, capacity),
//      label values) and names the file at fault. A directory with IDX files but no
//      reservoir.json (a save that was interrupted) is reported as such, never read.
#ifndef PERSEPHONEE_TRAINING_RESERVOIR_H_
#define PERSEPHONEE_TRAINING_RESERVOIR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "training/personalise.h"

namespace persephonee {

/// The shape of one image: height x width x channels uint8 values, row-major (HWC).
struct ImageShape {
  uint32_t height = 0;
  uint32_t width = 0;
  uint32_t channels = 0;
  size_t bytes() const { return static_cast<size_t>(height) * width * channels; }
  bool operator==(const ImageShape& o) const {
    return height == o.height && width == o.width && channels == o.channels;
  }
  bool operator!=(const ImageShape& o) const { return !(*this == o); }
};

/// The image shape of an IDX image file's dimensions: {N, H, W} (one channel) or {N, H, W, C}.
/// kInvalidArgument naming `path` for any other number of dimensions.
StatusOr<ImageShape> ImageShapeFromIdxDims(const std::vector<uint32_t>& dims,
                                           const std::string& path);

/// What one Offer() did.
struct OfferSummary {
  size_t offered = 0;  ///< New samples offered.
  size_t kept = 0;     ///< Of them, how many are in the reservoir afterwards.
};

/// The largest capacity a reservoir may have.
inline constexpr size_t kMaxReservoirCapacity = size_t{1} << 24;

/// A bounded, uniformly sampled set of a user's samples (see the top of this file).
class Reservoir {
 public:
  /// An empty reservoir. Fails with kInvalidArgument if capacity is 0 or above
  /// kMaxReservoirCapacity, a dimension is 0, classes is outside [1, 255), or capacity full
  /// images would not fit in one IDX file (base/idx.h kMaxIdxPayloadBytes).
  static StatusOr<Reservoir> Create(size_t capacity, uint64_t seed, const ImageShape& shape,
                                    int classes);

  /// Loads the reservoir saved in `dir`. kNotFound if `dir` holds no reservoir.json and no
  /// images.idx or labels.idx (nothing was ever saved there); kDataLoss if IDX files are there
  /// without reservoir.json (an interrupted save), or if any file is malformed, truncated or
  /// disagrees with reservoir.json. Every message names the file at fault.
  static StatusOr<Reservoir> Load(const std::string& dir);

  /// Writes the reservoir into `dir` (created if missing; its parent must exist) as described
  /// at the top of this file. kFailedPrecondition if the reservoir is empty (IDX files cannot
  /// be), kNotFound if the parent of `dir` is missing, kInvalidArgument if `dir` is a file, or
  /// what the writes report.
  Status Save(const std::string& dir) const;

  /// Offers every image of `images` with its label (labels.size() == images.size()), in order,
  /// by Algorithm R. Only the images that are kept are read. Fails, leaving the reservoir
  /// unchanged, with kInvalidArgument if the images are not image_bytes() each, the label
  /// count differs, or a label is neither a class nor kUnlabelled (naming the sample), or with
  /// what reading an image reports.
  StatusOr<OfferSummary> Offer(const ImageSource& images, const std::vector<uint8_t>& labels);

  size_t capacity() const { return capacity_; }
  uint64_t seen() const { return seen_; }
  uint64_t seed() const { return seed_; }
  int classes() const { return classes_; }
  const ImageShape& shape() const { return shape_; }
  size_t image_bytes() const { return shape_.bytes(); }
  /// Samples held: min(seen, capacity).
  size_t count() const { return labels_.size(); }
  /// count() images, image_bytes() each, slot 0 first.
  const std::vector<uint8_t>& pixels() const { return pixels_; }
  /// count() labels, slot 0 first.
  const std::vector<uint8_t>& labels() const { return labels_; }

  /// The held images as an ImageSource, without copying them; it reads this reservoir, which
  /// must outlive it and not change while it is used.
  std::unique_ptr<ImageSource> Images() const;

 private:
  Reservoir() = default;

  size_t capacity_ = 0;
  uint64_t seen_ = 0;
  uint64_t seed_ = 0;
  int classes_ = 0;
  ImageShape shape_;
  std::vector<uint8_t> pixels_;
  std::vector<uint8_t> labels_;
};

/// The slot sample number `t` (0-based over every sample ever offered) replaces in a full
/// reservoir of `capacity` with `seed`, or `capacity` if it is dropped: j uniform in [0, t]
/// from Rng(MixSeed(seed, t)), kept when j < capacity. For t < capacity the sample is appended
/// instead and this is not consulted.
size_t ReservoirSlot(uint64_t seed, uint64_t t, size_t capacity);

/// The text of reservoir.json for `r`.
std::string ReservoirJson(const Reservoir& r);

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_RESERVOIR_H_
