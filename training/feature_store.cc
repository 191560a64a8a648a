#include "training/feature_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kernels/elementwise/half.h"

namespace persephonee {

const char* CachePlacementName(CachePlacement p) {
  switch (p) {
    case CachePlacement::kMemory:
      return "memory";
    case CachePlacement::kMemoryF16:
      return "memory-f16";
    case CachePlacement::kDisk:
      return "disk";
    case CachePlacement::kRecompute:
      return "recompute";
  }
  return "?";
}

StatusOr<CachePlacement> ParseCachePlacement(const std::string& name) {
  for (CachePlacement p : {CachePlacement::kMemory, CachePlacement::kMemoryF16,
                           CachePlacement::kDisk, CachePlacement::kRecompute}) {
    if (name == CachePlacementName(p)) return p;
  }
  return Error(StatusCode::kInvalidArgument, "unknown feature cache '", name,
               "' (expected memory, memory-f16, disk or recompute)");
}

size_t FeatureStore::MemoryBytes(CachePlacement p, size_t n, size_t floats) {
  switch (p) {
    case CachePlacement::kMemory:
      return n * floats * sizeof(float);
    case CachePlacement::kMemoryF16:
      return n * floats * sizeof(uint16_t);
    default:
      return 0;
  }
}

StatusOr<std::unique_ptr<FeatureStore>> FeatureStore::Create(CachePlacement placement,
                                                             size_t num_records,
                                                             size_t record_floats,
                                                             const std::string& spill_dir) {
  ENSURE(placement != CachePlacement::kRecompute, "feature store: recompute keeps no store");
  ENSURE(num_records > 0 && record_floats > 0, "feature store: empty shape");
  std::unique_ptr<FeatureStore> s(new FeatureStore());
  s->placement_ = placement;
  s->num_records_ = num_records;
  s->record_floats_ = record_floats;
  if (placement == CachePlacement::kMemory) s->f32_.resize(num_records * record_floats);
  if (placement == CachePlacement::kMemoryF16) s->f16_.resize(num_records * record_floats);
  if (placement == CachePlacement::kDisk) {
    std::string path =
        (spill_dir.empty() ? std::string("/tmp") : spill_dir) + "/persephonee-features-XXXXXX";
    s->fd_ = mkstemp(path.data());
    ENSURE_CODE(s->fd_ >= 0, kFailedPrecondition, "feature store: cannot create a spill file in '",
                spill_dir, "': ", std::strerror(errno));
    unlink(path.c_str());  // nothing is left behind, whatever happens to the process
  }
  return s;
}

FeatureStore::~FeatureStore() {
  if (fd_ >= 0) close(fd_);
}

Status FeatureStore::Write(size_t index, const float* record) {
  ENSURE(index < num_records_, "feature store: record ", index, " of ", num_records_);
  const size_t n = record_floats_;
  switch (placement_) {
    case CachePlacement::kMemory:
      std::memcpy(f32_.data() + index * n, record, n * sizeof(float));
      break;
    case CachePlacement::kMemoryF16:
      half_config().to_f16(n, record, f16_.data() + index * n);
      break;
    case CachePlacement::kDisk: {
      const size_t bytes = n * sizeof(float);
      const off_t at = static_cast<off_t>(index * bytes);
      size_t done = 0;
      while (done < bytes) {
        const ssize_t w = pwrite(fd_, reinterpret_cast<const char*>(record) + done, bytes - done,
                                 at + static_cast<off_t>(done));
        ENSURE_CODE(w > 0, kResourceExhausted,
                    "feature store: writing the spill file failed: ", std::strerror(errno));
        done += static_cast<size_t>(w);
      }
      break;
    }
    case CachePlacement::kRecompute:
      break;
  }
  return Status::Ok();
}

Status FeatureStore::Read(size_t index, float* record) const {
  ENSURE(index < num_records_, "feature store: record ", index, " of ", num_records_);
  const size_t n = record_floats_;
  switch (placement_) {
    case CachePlacement::kMemory:
      std::memcpy(record, f32_.data() + index * n, n * sizeof(float));
      break;
    case CachePlacement::kMemoryF16:
      half_config().to_f32(n, f16_.data() + index * n, record);
      break;
    case CachePlacement::kDisk: {
      const size_t bytes = n * sizeof(float);
      const off_t at = static_cast<off_t>(index * bytes);
      size_t done = 0;
      while (done < bytes) {
        const ssize_t r = pread(fd_, reinterpret_cast<char*>(record) + done, bytes - done,
                                at + static_cast<off_t>(done));
        ENSURE_CODE(r > 0, kDataLoss, "feature store: reading the spill file failed: ",
                    r == 0 ? "unexpected end of file" : std::strerror(errno));
        done += static_cast<size_t>(r);
      }
      break;
    }
    case CachePlacement::kRecompute:
      break;
  }
  return Status::Ok();
}

}  // namespace persephonee
