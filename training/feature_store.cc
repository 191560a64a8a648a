#include "training/feature_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

uint16_t FloatToHalf(float value) {
  uint32_t f;
  std::memcpy(&f, &value, 4);
  const uint32_t sign = (f >> 16) & 0x8000u;
  const uint32_t abs = f & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf or NaN
    return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  }
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to inf
  if (abs < 0x38800000u) {                                      // a half subnormal (or zero)
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);  // below half of the smallest
    const uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
    const int shift = 126 - static_cast<int>(abs >> 23);  // 14..24
    uint32_t half = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1u), halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = ((abs - 0x38000000u) >> 13);  // rebias exponent 127 -> 15
  const uint32_t rest = abs & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
  return static_cast<uint16_t>(sign | half);
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu, f;
  if (exponent == 0x1f) {
    f = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent == 0) {
    if (mantissa == 0) {
      f = sign;
    } else {  // subnormal: normalise
      exponent = 113;
      while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        --exponent;
      }
      f = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
    }
  } else {
    f = sign | ((exponent + 112) << 23) | (mantissa << 13);
  }
  float out;
  std::memcpy(&out, &f, 4);
  return out;
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
      for (size_t i = 0; i < n; ++i) f16_[index * n + i] = FloatToHalf(record[i]);
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
      for (size_t i = 0; i < n; ++i) record[i] = HalfToFloat(f16_[index * n + i]);
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
