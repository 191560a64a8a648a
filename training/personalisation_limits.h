// Limits of the personalisation file format (internal to training/personalisation; the numbers
// are in docs/personalisation-format.md).
#ifndef PERSEPHONEE_TRAINING_PERSONALISATION_LIMITS_H_
#define PERSEPHONEE_TRAINING_PERSONALISATION_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace persephonee {
namespace personalisation_limits {

constexpr size_t kHeaderBytes = 32;
constexpr uint32_t kMaxExits = 64;
constexpr uint32_t kMaxClasses = 1 << 20;
constexpr size_t kMaxNameBytes = 1024;
constexpr size_t kHashHexDigits = 64;
constexpr uint32_t kFeatureRank = 4;
constexpr int64_t kMaxDim = int64_t{1} << 24;
constexpr int64_t kMaxMacs = int64_t{1} << 50;
constexpr int64_t kMaxWidth = int64_t{1} << 20;
constexpr uint32_t kMaxMetadataEntries = 1024;
constexpr size_t kMaxMetadataKeyBytes = 256;
constexpr size_t kMaxMetadataValueBytes = 65536;
constexpr size_t kMaxOptimizerNameBytes = 64;
constexpr uint32_t kMaxOptimizerArrays = 65536;

}  // namespace personalisation_limits
}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_PERSONALISATION_LIMITS_H_
