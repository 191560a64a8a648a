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
