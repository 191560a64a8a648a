// Where the features a frozen backbone gives each training sample wait between epochs.
//
// The backbone never changes while the heads train, so the features reaching every exit (and
// the final exit's logits, the teacher) are the same in every epoch. They can be computed once
// and kept: in memory as float32 (exact), in memory as float16 (half the bytes; heads then
// train on rounded features), or in a file on disk (float32; the file is unlinked as soon as it
// is open, so nothing is left behind if the process dies). Or they can be recomputed by running
// the backbone again every epoch, which costs time but no memory. training/personalise.cc picks
// one from the memory budget.
//
// A record is one sample's floats: every exit's features, then the teacher's logits.
#ifndef PERSEPHONEE_TRAINING_FEATURE_STORE_H_
#define PERSEPHONEE_TRAINING_FEATURE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace persephonee {

/// Where features are kept between epochs.
enum class CachePlacement { kMemory, kMemoryF16, kDisk, kRecompute };
/// "memory", "memory-f16", "disk", "recompute".
const char* CachePlacementName(CachePlacement placement);
/// Parses a name as printed by CachePlacementName ("auto" is not a placement).
StatusOr<CachePlacement> ParseCachePlacement(const std::string& name);

/// Fixed-size float records, written once each and read any number of times.
class FeatureStore {
 public:
  /// A store of `num_records` records of `record_floats` floats. `placement` must not be
  /// kRecompute. kDisk creates an unlinked temporary file in `spill_dir`.
  static StatusOr<std::unique_ptr<FeatureStore>> Create(CachePlacement placement,
                                                        size_t num_records, size_t record_floats,
                                                        const std::string& spill_dir);
  ~FeatureStore();

  CachePlacement placement() const { return placement_; }
  size_t record_floats() const { return record_floats_; }
  /// Bytes a store of this shape keeps in memory (0 for disk).
  static size_t MemoryBytes(CachePlacement placement, size_t num_records, size_t record_floats);

  Status Write(size_t index, const float* record);
  Status Read(size_t index, float* record) const;

 private:
  FeatureStore() = default;
  CachePlacement placement_ = CachePlacement::kMemory;
  size_t num_records_ = 0;
  size_t record_floats_ = 0;
  std::vector<float> f32_;
  std::vector<uint16_t> f16_;
  int fd_ = -1;
};

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_FEATURE_STORE_H_
