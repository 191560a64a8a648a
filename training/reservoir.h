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
//   4. Save() keeps the reservoir in a directory as generations, the way SQLite and LevelDB
//      commit: every save is generation g = 1 + the highest generation number in the
//      directory, written as images.<g>.idx (uint8, count x height x width, with a fourth
//      dimension when channels > 1) and labels.<g>.idx (uint8, count) beside the old files,
//      each fsynced. Then the commit: reservoir.json ({"version": 2, "capacity", "seen",
//      "seed", "classes", "height", "width", "channels", "count", "generation": g}) is
//      replaced by one atomic rename, and the directory fsynced. Only then are the files of
//      every other generation, and temporaries left by killed saves, removed. A process killed
//      at any point leaves reservoir.json naming either the old generation, whose files are
//      untouched, or the new one, whose files were synced before it: the next run sees the
//      old reservoir or the new one, never neither (tests/training/reservoir_crash_test.cc
//      kills a save at every file system call to prove it).
//   5. Load() reads reservoir.json and only the two files it names, each capped at the size
//      the json gives it; files of other generations (an interrupted save's) are ignored. It
//      checks every file against the json (shapes, counts, count = min(seen, capacity), label
//      values) and names the file at fault. A directory with generation files but no
//      reservoir.json (a first save that was killed) holds no reservoir (kNotFound).
//   6. Version 1 directories (before issue 14: images.idx, labels.idx and a reservoir.json
//      without "generation") still load; their next save writes generation 1 and then removes
//      images.idx and labels.idx. Version 1 files without reservoir.json (a killed version 1
//      save, which removed the json first) are refused with kDataLoss: which samples they hold
//      cannot be known.
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

  /// Loads the reservoir saved in `dir` (see the top of this file). kNotFound if `dir` holds no
  /// reservoir.json and no version 1 images.idx or labels.idx (nothing was ever committed
  /// there); kDataLoss if version 1 IDX files are there without reservoir.json, or if any file
  /// is malformed, truncated or disagrees with reservoir.json; kInvalidArgument if a file is
  /// not a regular file. Every message names the file at fault.
  static StatusOr<Reservoir> Load(const std::string& dir);

  /// Writes the reservoir into `dir` (created if missing; its parent must exist) as a new
  /// generation, as described at the top of this file. kFailedPrecondition if the reservoir is
  /// empty (IDX files cannot be), kNotFound if the parent of `dir` is missing,
  /// kInvalidArgument if `dir` is a file, or what the writes report; after any failure `dir`
  /// still holds the reservoir it held before, or this one. One process saves a directory at
  /// a time.
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

/// The text of reservoir.json for `r` saved as `generation`.
std::string ReservoirJson(const Reservoir& r, uint64_t generation);

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_RESERVOIR_H_
