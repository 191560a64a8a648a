// The label value that means "the user gave no label", shared by the data the demo simulates
// (training/users.h), the IDX label files the command line reads and personalisation itself.
#ifndef PERSEPHONEE_TRAINING_LABELS_H_
#define PERSEPHONEE_TRAINING_LABELS_H_

#include <cstdint>

namespace persephonee {

/// A label that says "the user gave none".
inline constexpr uint8_t kUnlabelled = 255;

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_LABELS_H_
