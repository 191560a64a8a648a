#include "training/reservoir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "base/file_io.h"
#include "base/idx.h"
#include "training/image_transform.h"
#include "training/labels.h"

namespace persephonee {
namespace {

// Version 2 names its generation's files; version 1 (before issue 14) used fixed names.
constexpr uint64_t kReservoirVersion = 2;
constexpr uint64_t kLegacyVersion = 1;
constexpr const char* kJsonName = "reservoir.json";
constexpr const char* kLegacyImagesName = "images.idx";
constexpr const char* kLegacyLabelsName = "labels.idx";
// reservoir.json is a few hundred bytes; anything much larger is not one.
constexpr uint64_t kMaxJsonBytes = 64 * 1024;
// The keys of reservoir.json, in the order they are written; version 1 lacks the last.
constexpr size_t kNumKeys = 10;
constexpr const char* kKeys[kNumKeys] = {"version", "capacity", "seen",     "seed",  "classes",
                                         "height",  "width",    "channels", "count", "generation"};
constexpr const char* kGenerationKey = "generation";

std::string ImagesName(uint64_t generation) {
  return "images." + std::to_string(generation) + ".idx";
}
std::string LabelsName(uint64_t generation) {
  return "labels." + std::to_string(generation) + ".idx";
}

// If `name` is `images.<g>.idx` or `labels.<g>.idx`, sets `*generation` and returns true.
bool ParseGenerationName(const std::string& name, uint64_t* generation) {
  size_t at;
  if (name.compare(0, 7, "images.") == 0 || name.compare(0, 7, "labels.") == 0) {
    at = 7;
  } else {
    return false;
  }
  if (name.size() < at + 5 || name.compare(name.size() - 4, 4, ".idx") != 0) return false;
  const std::string digits = name.substr(at, name.size() - 4 - at);
  if (digits.empty() || digits.size() > 18 || (digits.size() > 1 && digits[0] == '0')) {
    return false;
  }
  uint64_t g = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    g = g * 10 + static_cast<uint64_t>(c - '0');
  }
  *generation = g;
  return true;
}

// True for the names of files a reservoir writes: reservoir.json, a generation's IDX files and
// the version 1 ones.
bool IsReservoirFileName(const std::string& name) {
  uint64_t g;
  return name == kJsonName || name == kLegacyImagesName || name == kLegacyLabelsName ||
         ParseGenerationName(name, &g);
}

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
    // Version 1 files have no generation; any other version must name one.
    const bool needed = std::string(k) != kGenerationKey ||
                        (out.count("version") && out["version"] != kLegacyVersion);
    if (needed && !out.count(k)) {
      return Error(StatusCode::kDataLoss, path, ": missing \"", k, "\"");
    }
  }
  ENSURE_CODE(!out.count(kGenerationKey) || out["version"] != kLegacyVersion, kDataLoss, path,
              ": version 1 has no \"generation\"");
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

std::string ReservoirJson(const Reservoir& r, uint64_t generation) {
  const uint64_t values[kNumKeys] = {kReservoirVersion,
                                     r.capacity(),
                                     r.seen(),
                                     r.seed(),
                                     static_cast<uint64_t>(r.classes()),
                                     r.shape().height,
                                     r.shape().width,
                                     r.shape().channels,
                                     r.count(),
                                     generation};
  std::ostringstream out;
  out << "{\n";
  for (size_t k = 0; k < kNumKeys; ++k) {
    out << "  \"" << kKeys[k] << "\": " << values[k] << (k + 1 < kNumKeys ? ",\n" : "\n");
  }
  out << "}\n";
  return out.str();
}

namespace {

// After generation `current` is committed: removes the files of every other generation, the
// version 1 files (the reservoir this one replaced, or what a save killed after migrating it
// left), and temporaries of reservoir files left by killed writers. Best effort: a file that
// cannot be removed now is removed by a later save, and nothing reads it meanwhile.
void RemoveOldFiles(const std::string& dir, uint64_t current) {
  StatusOr<std::vector<std::string>> names = ListDirectory(dir);
  if (!names.ok()) return;
  std::set<std::string> temporaries_of;
  for (const std::string& name : *names) {
    uint64_t g = 0;
    std::string target;
    long pid = 0;
    if (ParseGenerationName(name, &g)) {
      if (g != current) (void)RemoveFile(dir + "/" + name);
    } else if (name == kLegacyImagesName || name == kLegacyLabelsName) {
      (void)RemoveFile(dir + "/" + name);
    } else if (ParseTemporaryName(name, &target, &pid) && IsReservoirFileName(target)) {
      temporaries_of.insert(target);
    }
  }
  for (const std::string& target : temporaries_of) RemoveStaleTemporaries(dir + "/" + target);
}

}  // namespace

Status Reservoir::Save(const std::string& dir) const {
  ENSURE_CODE(count() > 0, kFailedPrecondition, "reservoir: nothing to save in '", dir,
              "': it is empty (IDX files cannot be)");
  Status made = EnsureDirectory(dir);
  if (!made.ok()) return made.WithContext("reservoir");
  const std::string base = dir + "/";
  // The new generation is numbered above every generation present, so that none of its files
  // can be one the current reservoir.json names (nor a leftover of an interrupted save).
  ASSIGN_OR_RETURN(const std::vector<std::string> names, ListDirectory(dir));
  uint64_t newest = 0;
  for (const std::string& name : names) {
    uint64_t g = 0;
    if (ParseGenerationName(name, &g)) newest = std::max(newest, g);
  }
  ENSURE_CODE(newest < uint64_t{100000000000000000}, kFailedPrecondition, "reservoir '", dir,
              "': generation ", newest, " is the last this build numbers");
  const uint64_t generation = newest + 1;

  // 1. The new generation's files, beside the old ones, each fsynced (WriteIdx is atomic).
  RETURN_IF_ERROR(WriteIdx(base + ImagesName(generation), ImageDims(count(), shape_),
                           pixels_.data(), pixels_.size(), false));
  RETURN_IF_ERROR(WriteIdx(base + LabelsName(generation), {static_cast<uint32_t>(count())},
                           labels_.data(), labels_.size(), false));
  // 2. The commit: one atomic rename of reservoir.json, which names the new generation, and a
  //    directory fsync. Before it a reader sees the old reservoir, after it the new one.
  const std::string json = ReservoirJson(*this, generation);
  RETURN_IF_ERROR(WriteFileAtomically(base + kJsonName, json.data(), json.size()));
  // 3. The old generation is no longer named by anything.
  RemoveOldFiles(dir, generation);
  return Status::Ok();
}

StatusOr<Reservoir> Reservoir::Load(const std::string& dir) {
  const std::string base = dir + "/";
  const std::string json_path = base + kJsonName;
  StatusOr<std::string> text = ReadFile(json_path, kMaxJsonBytes);
  if (!text.ok() && text.status().code() == StatusCode::kNotFound) {
    // Files of a generation without a reservoir.json are what a killed first save leaves: there
    // is no reservoir yet. Version 1 files without one are what a killed version 1 save left,
    // from which the samples cannot be told apart.
    if (FileExists(base + kLegacyImagesName) || FileExists(base + kLegacyLabelsName)) {
      return Error(StatusCode::kDataLoss, "reservoir '", dir, "' has ", kLegacyImagesName, " or ",
                   kLegacyLabelsName, " but no ", kJsonName,
                   ": an earlier save was interrupted, so its samples cannot be trusted; remove "
                   "the directory to start a new reservoir");
    }
    return Error(StatusCode::kNotFound, "no reservoir in '", dir, "' (no ", kJsonName, ")");
  }
  if (!text.ok()) return text.status();
  ASSIGN_OR_RETURN(auto json, ParseJson(*text, json_path));

  const uint64_t version = json["version"];
  ENSURE_CODE(version == kReservoirVersion || version == kLegacyVersion, kDataLoss, json_path,
              ": version ", version, ", this build reads versions ", kLegacyVersion, " and ",
              kReservoirVersion);
  const bool legacy = version == kLegacyVersion;
  const std::string images_name = legacy ? kLegacyImagesName : ImagesName(json[kGenerationKey]);
  const std::string labels_name = legacy ? kLegacyLabelsName : LabelsName(json[kGenerationKey]);
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

  // Only the files reservoir.json names are read, each capped at the size it gives them.
  const std::string images_path = base + images_name;
  ASSIGN_OR_RETURN(IdxArray images, ReadIdx(images_path, count * r.shape_.bytes()));
  StatusOr<ImageShape> shape_or = ImageShapeFromIdxDims(images.dims, images_path);
  if (!shape_or.ok()) return Status(StatusCode::kDataLoss, shape_or.status().message());
  const ImageShape shape = *shape_or;
  if (shape != r.shape_ || images.dims[0] != count) {
    return Error(StatusCode::kDataLoss, images_path, ": ", images.dims[0], " images of ",
                 shape.height, "x", shape.width, "x", shape.channels, ", but ", kJsonName, " says ",
                 count, " of ", r.shape_.height, "x", r.shape_.width, "x", r.shape_.channels);
  }
  const std::string labels_path = base + labels_name;
  ASSIGN_OR_RETURN(IdxArray labels, ReadIdx(labels_path, count));
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
