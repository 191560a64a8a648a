// What `personalise`, `evaluate` and `infer` share: reading the user's images and labels, the
// size and number flags, and turning images into the floats the model reads.
#ifndef PERSEPHONEE_TOOLS_PERSONALISE_CLI_H_
#define PERSEPHONEE_TOOLS_PERSONALISE_CLI_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "tools/engine_cli.h"
#include "training/personalise.h"

namespace persephonee {
namespace cli {

/// Parses a byte size: "64M", "1G", "512K", "1048576"; kInvalidArgument naming `flag`.
StatusOr<size_t> ParseBytes(const std::string& flag, const std::string& text);
/// Parses a float in [lo, hi]; kInvalidArgument naming `flag`.
StatusOr<float> ParseFloat(const std::string& flag, const std::string& text, float lo, float hi);

/// Parses --head-weights: "int8" (int8 rows) or "float32"; kInvalidArgument naming the flag.
StatusOr<ParameterStorage> ParseHeadWeights(const std::string& text);

/// The training flags `personalise` and `finetune` share, into `o`: --epochs, --seed, --batch,
/// --threads, --optimizer, --lr, --temperature, --tau, --holdout. kInvalidArgument naming the
/// flag on a bad value.
Status ParseTrainingFlags(const ParsedArgs& a, PersonaliseOptions* o);

/// The value flags ParseTrainingFlags reads.
std::vector<std::string> TrainingFlagNames();

/// Labels from a 1-D uint8 IDX file (255: unlabelled), checked against `count` images.
StatusOr<std::vector<uint8_t>> ReadLabels(const std::string& path, size_t count);

/// Image `index` of `images` as floats p / 255 (the scaling training uses) into `out`.
Status ReadImageAsFloats(const ImageSource& images, size_t index, std::vector<uint8_t>* scratch,
                         float* out);

}  // namespace cli
}  // namespace persephonee

#endif  // PERSEPHONEE_TOOLS_PERSONALISE_CLI_H_
