#include "training/reservoir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <sstream>
#include <utility>

#include "base/file_io.h"
#include "base/idx.h"
#include "training/image_transform.h"
#include "training/labels.h"

namespace persephonee {
namespace {

constexpr uint64_t kReservoirVersion = 1;
constexpr const char* kJsonName = "reservoir.json";
constexpr const char* kImagesName = "images.idx";
constexpr const char* kLabelsName = "labels.idx";
// The keys of reservoir.json, in the order they are written.
constexpr size_t kNumKeys = 9;
constexpr const char* kKeys[kNumKeys] = {"version", "capacity", "seen",     "seed", "classes",
                                         "height",  "width",    "channels", "count"};

// The held images, read in place.
class ReservoirImages : public ImageSource {
 public:
  explicit ReservoirImages(const Reservoir* r) : r_(r) {}
  size_t size() const override { return r_->count(); }
  size_t image_bytes() const override { return r_->image_bytes(); }
  Status Read(size_t index, uint8_t* out) const override {
    ENSURE(index < size(), "reservoir: image ", index, " of ", size());
    std::memcpy(out, r_->pixels().data() + index * image_bytes(), image_bytes());
    return Status::Ok();
  }

 private:
  const Reservoir* r_;
};

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

Status MakeDirectory(const std::string& dir) {
  ENSURE(!dir.empty(), "reservoir: empty directory name");
  if (mkdir(dir.c_str(), 0777) == 0) return Status::Ok();
  const int error = errno;
  struct stat st;
  if (error == EEXIST && stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::Ok();
  if (error == EEXIST) {
    return Error(StatusCode::kInvalidArgument, "reservoir: '", dir,
                 "' exists and is not a directory");
  }
  return Error(error == ENOENT ? StatusCode::kNotFound : StatusCode::kInternal,
               "reservoir: cannot create directory '", dir, "': ", ErrnoText(error));
}

// Parses reservoir.json: one flat object whose values are all non-negative decimal integers
// below 2^64, each key once. Nothing else is accepted; errors name `path`.
StatusOr<std::map<std::string, uint64_t>> ParseJson(const std::string& text,
                                                    const std::string& path) {
  std::map<std::string, uint64_t> out;
  size_t i = 0;
  auto skip = [&] {
    while (i < text.size() &&
           (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) {
      ++i;
    }
  };
  auto bad = [&](const char* what) {
    return Error(StatusCode::kDataLoss, path, ": malformed: ", what, " at byte ", i);
  };
  skip();
  if (i >= text.size() || text[i] != '{') return bad("expected '{'");
  ++i;
  skip();
  bool first = true;
  while (i < text.size() && text[i] != '}') {
    if (!first) {
      if (text[i] != ',') return bad("expected ',' or '}'");
      ++i;
      skip();
    }
    first = false;
    if (i >= text.size() || text[i] != '"') return bad("expected a key");
    const size_t end = text.find('"', i + 1);
    if (end == std::string::npos) return bad("unterminated key");
    const std::string key = text.substr(i + 1, end - i - 1);
    i = end + 1;
    skip();
    if (i >= text.size() || text[i] != ':') return bad("expected ':'");
    ++i;
    skip();
    if (i >= text.size() || text[i] < '0' || text[i] > '9') {
      return Error(StatusCode::kDataLoss, path, ": \"", key,
                   "\" must be a non-negative integer (byte ", i, ")");
    }
    uint64_t value = 0;
    const size_t digits_begin = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      const uint64_t d = static_cast<uint64_t>(text[i] - '0');
      if (value > (UINT64_MAX - d) / 10) {
        return Error(StatusCode::kDataLoss, path, ": \"", key, "\" does not fit in 64 bits");
      }
      value = value * 10 + d;
      ++i;
    }
    if (i - digits_begin > 1 && text[digits_begin] == '0') return bad("a number with a leading 0");
    if (!out.emplace(key, value).second) {
      return Error(StatusCode::kDataLoss, path, ": \"", key, "\" given twice");
    }
    skip();
  }
  if (i >= text.size()) return bad("expected '}'");
  ++i;
  skip();
  if (i != text.size()) return bad("trailing bytes");
  for (const auto& kv : out) {
    bool known = false;
    for (const char* k : kKeys) known = known || kv.first == k;
    ENSURE_CODE(known, kDataLoss, path, ": unknown key \"", kv.first, "\"");
  }
  for (const char* k : kKeys) {
    if (!out.count(k)) return Error(StatusCode::kDataLoss, path, ": missing \"", k, "\"");
  }
  return out;
}

Status CheckLabel(uint8_t label, int classes, const std::string& where, size_t index) {
  if (label == kUnlabelled || label < classes) return Status::Ok();
  return Error(StatusCode::kInvalidArgument, where, ": label ", static_cast<int>(label),
               " of sample ", index, " is not a class (0..", classes - 1, ") nor 255 (unlabelled)");
}

Status CheckConfig(size_t capacity, const ImageShape& shape, uint64_t classes) {
  ENSURE(capacity >= 1 && capacity <= kMaxReservoirCapacity, "capacity ", capacity,
         " is outside [1, ", kMaxReservoirCapacity, "]");
  ENSURE(shape.height >= 1 && shape.width >= 1 && shape.channels >= 1, "image shape ", shape.height,
         "x", shape.width, "x", shape.channels, " has a zero dimension");
  ENSURE(classes >= 1 && classes < kUnlabelled, "classes ", classes, " is outside [1, ",
         static_cast<int>(kUnlabelled) - 1, "]");
  // Divided rather than multiplied, so that no product can overflow.
  ENSURE(shape.bytes() <= kMaxIdxPayloadBytes / capacity, "capacity ", capacity, " images of ",
         shape.bytes(), " bytes exceed one IDX file's limit of ", kMaxIdxPayloadBytes, " bytes");
  return Status::Ok();
}

std::vector<uint32_t> ImageDims(size_t count, const ImageShape& s) {
  std::vector<uint32_t> dims = {static_cast<uint32_t>(count), s.height, s.width};
  if (s.channels != 1) dims.push_back(s.channels);
  return dims;
}

}  // namespace

StatusOr<ImageShape> ImageShapeFromIdxDims(const std::vector<uint32_t>& dims,
                                           const std::string& path) {
  ENSURE(dims.size() == 3 || dims.size() == 4, path,
         ": images must be a 3-D (N x H x W) or 4-D (N x H x W x C) IDX file, got ", dims.size(),
         " dimensions");
  ImageShape s;
  s.height = dims[1];
  s.width = dims[2];
  s.channels = dims.size() == 4 ? dims[3] : 1;
  return s;
}

size_t ReservoirSlot(uint64_t seed, uint64_t t, size_t capacity) {
  Rng rng(MixSeed(seed, t));
  const uint64_t j = rng.Below(t + 1);
  return j < capacity ? static_cast<size_t>(j) : capacity;
}

StatusOr<Reservoir> Reservoir::Create(size_t capacity, uint64_t seed, const ImageShape& shape,
                                      int classes) {
  Status s = CheckConfig(capacity, shape, classes < 0 ? 0 : static_cast<uint64_t>(classes));
  if (!s.ok()) return s.WithContext("reservoir");
  Reservoir r;
  r.capacity_ = capacity;
  r.seed_ = seed;
  r.shape_ = shape;
  r.classes_ = classes;
  return r;
}

StatusOr<OfferSummary> Reservoir::Offer(const ImageSource& images,
                                        const std::vector<uint8_t>& labels) {
  const size_t n = images.size();
  const size_t bytes = image_bytes();
  ENSURE(images.image_bytes() == bytes, "reservoir: offered images have ", images.image_bytes(),
         " bytes each, the reservoir's ", shape_.height, "x", shape_.width, "x", shape_.channels,
         " have ", bytes);
  ENSURE(labels.size() == n, "reservoir: ", n, " images offered with ", labels.size(), " labels");
  for (size_t i = 0; i < n; ++i) RETURN_IF_ERROR(CheckLabel(labels[i], classes_, "reservoir", i));
  ENSURE(seen_ <= UINT64_MAX - n, "reservoir: the count of samples seen would overflow");

  // Decide first where every new sample goes (the draws depend only on the seed and t); a later
  // sample of this offer may displace an earlier one, so only the final occupant of each slot is
  // read.
  const size_t old_count = count();
  const size_t new_count = std::min(capacity_, old_count + n);
  constexpr size_t kOld = SIZE_MAX;
  std::vector<size_t> from_new(new_count, kOld);
  size_t filled = old_count;
  for (size_t i = 0; i < n; ++i) {
    if (filled < capacity_) {
      from_new[filled++] = i;
    } else {
      const size_t slot = ReservoirSlot(seed_, seen_ + i, capacity_);
      if (slot < capacity_) from_new[slot] = i;
    }
  }
  // Read the kept images aside, so that a failed read leaves the reservoir as it was.
  std::vector<std::pair<size_t, size_t>> kept;  // (slot, new sample)
  for (size_t slot = 0; slot < new_count; ++slot) {
    if (from_new[slot] != kOld) kept.emplace_back(slot, from_new[slot]);
  }
  std::vector<uint8_t> staged(kept.size() * bytes);
  for (size_t k = 0; k < kept.size(); ++k) {
    RETURN_IF_ERROR(images.Read(kept[k].second, staged.data() + k * bytes));
  }
  pixels_.resize(new_count * bytes);
  labels_.resize(new_count);
  for (size_t k = 0; k < kept.size(); ++k) {
    std::memcpy(pixels_.data() + kept[k].first * bytes, staged.data() + k * bytes, bytes);
    labels_[kept[k].first] = labels[kept[k].second];
  }
  seen_ += n;
  OfferSummary summary;
  summary.offered = n;
  summary.kept = kept.size();
  return summary;
}

std::unique_ptr<ImageSource> Reservoir::Images() const {
  return std::unique_ptr<ImageSource>(new ReservoirImages(this));
}

std::string ReservoirJson(const Reservoir& r) {
  const uint64_t values[kNumKeys] = {kReservoirVersion,
                                     r.capacity(),
                                     r.seen(),
                                     r.seed(),
                                     static_cast<uint64_t>(r.classes()),
                                     r.shape().height,
                                     r.shape().width,
                                     r.shape().channels,
                                     r.count()};
  std::ostringstream out;
  out << "{\n";
  for (size_t k = 0; k < kNumKeys; ++k) {
    out << "  \"" << kKeys[k] << "\": " << values[k] << (k + 1 < kNumKeys ? ",\n" : "\n");
  }
  out << "}\n";
  return out.str();
}

Status Reservoir::Save(const std::string& dir) const {
  ENSURE_CODE(count() > 0, kFailedPrecondition, "reservoir: nothing to save in '", dir,
              "': it is empty (IDX files cannot be)");
  RETURN_IF_ERROR(MakeDirectory(dir));
  const std::string base = dir + "/";
  // The old reservoir.json goes first, so that one is only ever beside the files written with
  // it: a save interrupted from here on leaves IDX files without a json, which Load refuses.
  if (unlink((base + kJsonName).c_str()) != 0 && errno != ENOENT) {
    return Error(StatusCode::kInternal, "reservoir: cannot remove the old '", base, kJsonName,
                 "': ", ErrnoText(errno));
  }
  RETURN_IF_ERROR(WriteIdx(base + kImagesName, ImageDims(count(), shape_), pixels_.data(),
                           pixels_.size(), false));
  RETURN_IF_ERROR(WriteIdx(base + kLabelsName, {static_cast<uint32_t>(count())}, labels_.data(),
                           labels_.size(), false));
  const std::string json = ReservoirJson(*this);
  return WriteFileAtomically(base + kJsonName, json.data(), json.size());
}

StatusOr<Reservoir> Reservoir::Load(const std::string& dir) {
  const std::string base = dir + "/";
  const std::string json_path = base + kJsonName;
  StatusOr<std::string> text = ReadFile(json_path);
  if (!text.ok() && text.status().code() == StatusCode::kNotFound) {
    if (FileExists(base + kImagesName) || FileExists(base + kLabelsName)) {
      return Error(StatusCode::kDataLoss, "reservoir '", dir, "' has ", kImagesName, " or ",
                   kLabelsName, " but no ", kJsonName,
                   ": an earlier save was interrupted, so its samples cannot be trusted; remove "
                   "the directory to start a new reservoir");
    }
    return Error(StatusCode::kNotFound, "no reservoir in '", dir, "' (no ", kJsonName, ")");
  }
  if (!text.ok()) return text.status();
  ASSIGN_OR_RETURN(auto json, ParseJson(*text, json_path));

  ENSURE_CODE(json["version"] == kReservoirVersion, kDataLoss, json_path, ": version ",
              json["version"], ", this build reads version ", kReservoirVersion);
  for (const char* k : {"height", "width", "channels"}) {
    ENSURE_CODE(json[k] <= UINT32_MAX, kDataLoss, json_path, ": \"", k, "\" ", json[k],
                " is too large");
  }
  ENSURE_CODE(json["capacity"] <= kMaxReservoirCapacity, kDataLoss, json_path, ": capacity ",
              json["capacity"], " is above ", kMaxReservoirCapacity);
  Reservoir r;
  r.capacity_ = static_cast<size_t>(json["capacity"]);
  r.seen_ = json["seen"];
  r.seed_ = json["seed"];
  r.shape_.height = static_cast<uint32_t>(json["height"]);
  r.shape_.width = static_cast<uint32_t>(json["width"]);
  r.shape_.channels = static_cast<uint32_t>(json["channels"]);
  Status config = CheckConfig(r.capacity_, r.shape_, json["classes"]);
  if (!config.ok()) return Error(StatusCode::kDataLoss, json_path, ": ", config.message());
  r.classes_ = static_cast<int>(json["classes"]);
  const uint64_t count = json["count"];
  const uint64_t expected = std::min<uint64_t>(r.seen_, r.capacity_);
  ENSURE_CODE(count == expected, kDataLoss, json_path, ": count ", count,
              " but a reservoir of capacity ", r.capacity_, " that has seen ", r.seen_,
              " samples holds ", expected);
  ENSURE_CODE(count >= 1, kDataLoss, json_path, ": count 0 (a saved reservoir is never empty)");

  const std::string images_path = base + kImagesName;
  ASSIGN_OR_RETURN(IdxArray images, ReadIdx(images_path));
  StatusOr<ImageShape> shape_or = ImageShapeFromIdxDims(images.dims, images_path);
  if (!shape_or.ok()) return Status(StatusCode::kDataLoss, shape_or.status().message());
  const ImageShape shape = *shape_or;
  if (shape != r.shape_ || images.dims[0] != count) {
    return Error(StatusCode::kDataLoss, images_path, ": ", images.dims[0], " images of ",
                 shape.height, "x", shape.width, "x", shape.channels, ", but ", kJsonName, " says ",
                 count, " of ", r.shape_.height, "x", r.shape_.width, "x", r.shape_.channels);
  }
  const std::string labels_path = base + kLabelsName;
  ASSIGN_OR_RETURN(IdxArray labels, ReadIdx(labels_path));
  if (labels.dims.size() != 1 || labels.dims[0] != count) {
    return Error(StatusCode::kDataLoss, labels_path, ": expected ", count,
                 " labels in a 1-D file as ", kJsonName, " says, got dimensions of rank ",
                 labels.dims.size(), " with ", labels.dims[0], " records");
  }
  for (size_t i = 0; i < labels.data.size(); ++i) {
    Status s = CheckLabel(labels.data[i], r.classes_, labels_path, i);
    if (!s.ok()) return Status(StatusCode::kDataLoss, s.message());
  }
  r.pixels_ = std::move(images.data);
  r.labels_ = std::move(labels.data);
  return r;
}

}  // namespace persephonee
