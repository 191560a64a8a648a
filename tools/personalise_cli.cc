#include "tools/personalise_cli.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "base/idx.h"

namespace persephonee {
namespace cli {

StatusOr<size_t> ParseBytes(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  ENSURE(end != text.c_str() && errno == 0 && v > 0, flag, ": '", text,
         "' is not a size (e.g. 64M, 1G, 1048576)");
  double scale = 1;
  const std::string unit = end;
  if (unit == "K" || unit == "KiB") {
    scale = 1024.0;
  } else if (unit == "M" || unit == "MiB") {
    scale = 1024.0 * 1024;
  } else if (unit == "G" || unit == "GiB") {
    scale = 1024.0 * 1024 * 1024;
  } else {
    ENSURE(unit.empty(), flag, ": unknown unit '", unit, "' (use K, M or G)");
  }
  const double bytes = v * scale;
  ENSURE(bytes >= 1 && bytes < 1e15, flag, ": ", text, " is out of range");
  return static_cast<size_t>(bytes);
}

StatusOr<float> ParseFloat(const std::string& flag, const std::string& text, float lo, float hi) {
  char* end = nullptr;
  const float v = std::strtof(text.c_str(), &end);
  ENSURE(end != text.c_str() && *end == '\0' && std::isfinite(v) && v >= lo && v <= hi, flag, ": '",
         text, "' is not a number in [", lo, ", ", hi, "]");
  return v;
}

StatusOr<ParameterStorage> ParseHeadWeights(const std::string& text) {
  if (text == "int8") return ParameterStorage::kInt8Rows;
  if (text == "float32") return ParameterStorage::kFloat32;
  return Error(StatusCode::kInvalidArgument, "--head-weights: expected int8 or float32, got '",
               text, "'");
}

Status ParseTrainingFlags(const ParsedArgs& a, PersonaliseOptions* o) {
  const auto& v = a.values;
  ASSIGN_OR_RETURN(int64_t epochs, IntFlag(a, "--epochs", 10, 1, 100000));
  ASSIGN_OR_RETURN(int64_t seed, IntFlag(a, "--seed", 1, 0, INT64_MAX));
  ASSIGN_OR_RETURN(int64_t batch, IntFlag(a, "--batch", 32, 1, 4096));
  ASSIGN_OR_RETURN(int64_t threads, IntFlag(a, "--threads", 1, 1, 64));
  o->epochs = static_cast<int>(epochs);
  o->seed = static_cast<uint64_t>(seed);
  o->batch = static_cast<int>(batch);
  o->threads = static_cast<int>(threads);
  if (v.count("--optimizer")) {
    ENSURE(v.at("--optimizer") == "adam" || v.at("--optimizer") == "sgd",
           "--optimizer: expected adam or sgd, got '", v.at("--optimizer"), "'");
    o->optimizer = v.at("--optimizer") == "adam" ? OptimizerKind::kAdam : OptimizerKind::kSgd;
    if (o->optimizer == OptimizerKind::kSgd) o->learning_rate = 0.05f;
  }
  if (v.count("--lr")) {
    ASSIGN_OR_RETURN(o->learning_rate, ParseFloat("--lr", v.at("--lr"), 1e-8f, 10));
  }
  if (v.count("--temperature")) {
    ASSIGN_OR_RETURN(o->loss.temperature,
                     ParseFloat("--temperature", v.at("--temperature"), 0.05f, 100));
  }
  if (v.count("--tau")) {
    ASSIGN_OR_RETURN(o->loss.pseudo_label_threshold, ParseFloat("--tau", v.at("--tau"), 0, 1));
  }
  if (v.count("--holdout")) {
    ASSIGN_OR_RETURN(float h, ParseFloat("--holdout", v.at("--holdout"), 0.01f, 0.9f));
    o->holdout_fraction = h;
  }
  return Status::Ok();
}

std::vector<std::string> TrainingFlagNames() {
  return {"--epochs", "--seed",        "--batch", "--threads", "--optimizer",
          "--lr",     "--temperature", "--tau",   "--holdout"};
}

StatusOr<std::vector<uint8_t>> ReadLabels(const std::string& path, size_t count) {
  ASSIGN_OR_RETURN(IdxArray labels, ReadIdx(path));
  ENSURE(labels.dims.size() == 1, path, ": labels must be a 1-D IDX file, got ", labels.dims.size(),
         " dimensions");
  ENSURE(labels.dims[0] == count, path, ": ", labels.dims[0], " labels for ", count, " images");
  return std::move(labels.data);
}

Status ReadImageAsFloats(const ImageSource& images, size_t index, std::vector<uint8_t>* scratch,
                         float* out) {
  scratch->resize(images.image_bytes());
  RETURN_IF_ERROR(images.Read(index, scratch->data()));
  for (size_t p = 0; p < scratch->size(); ++p) out[p] = (*scratch)[p] * (1.0f / 255.0f);
  return Status::Ok();
}

}  // namespace cli
}  // namespace persephonee
