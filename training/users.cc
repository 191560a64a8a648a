#include "training/users.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <locale>
#include <numeric>
#include <sstream>
#include <utility>

#include "base/file_io.h"
#include "base/idx.h"

namespace persephonee {
namespace {

// Independent random streams of one user, so that changing how one thing is drawn (say, the
// transform's ranges) leaves the others as they were.
enum Stream : uint64_t {
  kClassStream = 1,
  kProportionStream = 2,
  kTransformStream = 3,
  kTrainSampleStream = 4,
  kTestSampleStream = 5,
  kLabelStream = 6,
  kTrainNoiseStream = 7,
  kTestNoiseStream = 8,
};

// Family 2's streams are numbered kHeldOutStreams + stream, so none of them is one of family
// 1's: user s of one family shares no random numbers with user s of the other.
constexpr uint64_t kHeldOutStreams = uint64_t{2} << 32;

// The seed of `stream` of user `seed` of `family`. Family 1's is what it was before family 2.
uint64_t StreamSeed(uint64_t seed, UserFamily family, uint64_t stream) {
  return MixSeed(seed, family == UserFamily::kTuning ? stream : kHeldOutStreams + stream);
}

bool IsFamily(UserFamily family) {
  return family == UserFamily::kTuning || family == UserFamily::kHeldOut;
}

Status CheckRange(const char* lo_name, double lo, const char* hi_name, double hi) {
  ENSURE(std::isfinite(lo) && std::isfinite(hi), "UserOptions: ", lo_name, " (", lo, ") and ",
         hi_name, " (", hi, ") must be finite");
  ENSURE(lo <= hi, "UserOptions: ", lo_name, " (", lo, ") is above ", hi_name, " (", hi, ")");
  return Status::Ok();
}

Status CheckSides(const char* what, int lo, int hi, int side) {
  ENSURE(lo >= 1 && lo <= hi && hi <= side, "UserOptions: need 1 <= held_out.", what, "_min_side (",
         lo, ") <= held_out.", what, "_max_side (", hi, ") <= the held-out images' shorter side (",
         side, ")");
  return Status::Ok();
}

Status ValidateHeldOut(const HeldOutRanges& r) {
  ENSURE(
      r.image_height >= 1 && r.image_height <= 4096 && r.image_width >= 1 && r.image_width <= 4096,
      "UserOptions: held_out image size ", r.image_height, "x", r.image_width,
      " is outside 1x1 to 4096x4096");
  RETURN_IF_ERROR(CheckRange("-held_out.rotation_max_degrees", -r.rotation_max_degrees,
                             "held_out.rotation_max_degrees", r.rotation_max_degrees));
  ENSURE(std::isfinite(r.mirror_probability) && r.mirror_probability >= 0.0 &&
             r.mirror_probability <= 1.0,
         "UserOptions: held_out.mirror_probability ", r.mirror_probability, " is outside [0, 1]");
  RETURN_IF_ERROR(CheckRange("held_out.zoom_min", r.zoom_min, "held_out.zoom_max", r.zoom_max));
  ENSURE(r.zoom_min >= 0.1 && r.zoom_max <= 10.0, "UserOptions: held_out zoom range [", r.zoom_min,
         ", ", r.zoom_max, "] is outside [0.1, 10]");
  RETURN_IF_ERROR(
      CheckRange("-held_out.shear_max", -r.shear_max, "held_out.shear_max", r.shear_max));
  ENSURE(r.shear_max <= 2.0, "UserOptions: held_out.shear_max ", r.shear_max, " is above 2");
  const int side = std::min(r.image_height, r.image_width);
  RETURN_IF_ERROR(CheckSides("inversion", r.inversion_min_side, r.inversion_max_side, side));
  RETURN_IF_ERROR(CheckSides("occlusion", r.occlusion_min_side, r.occlusion_max_side, side));
  ENSURE(r.occlusion_max_level >= 0 && r.occlusion_max_level <= 255,
         "UserOptions: held_out.occlusion_max_level ", r.occlusion_max_level,
         " is outside [0, 255]");
  ENSURE(r.posterise_min_levels >= 2 && r.posterise_min_levels <= r.posterise_max_levels &&
             r.posterise_max_levels <= 256,
         "UserOptions: need 2 <= held_out.posterise_min_levels (", r.posterise_min_levels,
         ") <= held_out.posterise_max_levels (", r.posterise_max_levels, ") <= 256");
  return Status::Ok();
}

Status ValidateOptions(const UserOptions& o) {
  ENSURE(IsFamily(o.family), "UserOptions: family ", static_cast<int>(o.family), " is not 1 or 2");
  ENSURE(o.min_classes >= 1 && o.min_classes <= o.max_classes && o.max_classes <= kNumClasses,
         "UserOptions: need 1 <= min_classes (", o.min_classes, ") <= max_classes (", o.max_classes,
         ") <= ", kNumClasses);
  ENSURE(std::isfinite(o.min_proportion) && o.min_proportion >= 0.0 &&
             o.min_proportion * o.max_classes <= 1.0,
         "UserOptions: min_proportion ", o.min_proportion, " times max_classes ", o.max_classes,
         " must be in [0, 1]");
  RETURN_IF_ERROR(CheckRange("rotation_min_degrees", o.rotation_min_degrees, "rotation_max_degrees",
                             o.rotation_max_degrees));
  ENSURE(o.rotation_min_degrees >= 0.0, "UserOptions: rotation_min_degrees ",
         o.rotation_min_degrees, " is negative (it bounds the magnitude)");
  RETURN_IF_ERROR(CheckRange("-shift_max", -o.shift_max, "shift_max", o.shift_max));
  RETURN_IF_ERROR(
      CheckRange("-brightness_max", -o.brightness_max, "brightness_max", o.brightness_max));
  RETURN_IF_ERROR(CheckRange("contrast_min", o.contrast_min, "contrast_max", o.contrast_max));
  ENSURE(o.contrast_min >= 0.0, "UserOptions: contrast_min ", o.contrast_min, " is negative");
  RETURN_IF_ERROR(CheckRange("gamma_min", o.gamma_min, "gamma_max", o.gamma_max));
  ENSURE(o.gamma_min > 0.0, "UserOptions: gamma_min ", o.gamma_min, " must be > 0");
  RETURN_IF_ERROR(
      CheckRange("blur_sigma_min", o.blur_sigma_min, "blur_sigma_max", o.blur_sigma_max));
  ENSURE(o.blur_sigma_min >= 0.0 && o.blur_sigma_max <= 10.0, "UserOptions: blur sigma range [",
         o.blur_sigma_min, ", ", o.blur_sigma_max, "] is outside [0, 10]");
  RETURN_IF_ERROR(CheckRange("noise_std_min", o.noise_std_min, "noise_std_max", o.noise_std_max));
  ENSURE(o.noise_std_min >= 0.0, "UserOptions: noise_std_min ", o.noise_std_min, " is negative");
  return ValidateHeldOut(o.held_out);
}

Status ValidateSpec(const UserSpec& spec) {
  ENSURE(IsFamily(spec.family), "UserSpec ", spec.seed, ": family ", static_cast<int>(spec.family),
         " is not 1 or 2");
  const size_t k = spec.classes.size();
  ENSURE(k >= 1 && k <= static_cast<size_t>(kNumClasses), "UserSpec ", spec.seed, ": ", k,
         " classes; need 1 to ", kNumClasses);
  ENSURE(spec.proportions.size() == k, "UserSpec ", spec.seed, ": ", spec.proportions.size(),
         " proportions for ", k, " classes");
  std::vector<bool> seen(kNumClasses, false);
  double sum = 0.0;
  for (size_t i = 0; i < k; ++i) {
    const int c = spec.classes[i];
    ENSURE(c >= 0 && c < kNumClasses, "UserSpec ", spec.seed, ": class ", c, " is not in [0, ",
           kNumClasses, ")");
    ENSURE(!seen[c], "UserSpec ", spec.seed, ": class ", c, " appears twice");
    seen[c] = true;
    const double p = spec.proportions[i];
    ENSURE(std::isfinite(p) && p >= 0.0, "UserSpec ", spec.seed, ": proportion ", p, " of class ",
           c, " is not a finite non-negative number");
    sum += p;
  }
  ENSURE(std::fabs(sum - 1.0) <= 1e-6, "UserSpec ", spec.seed, ": proportions sum to ", sum,
         ", not 1");
  return ValidateTransform(spec.transform).WithContext("UserSpec " + std::to_string(spec.seed));
}

// The records a view lets users draw: [begin, end).
size_t End(const LabelledImages& v) { return v.end == 0 ? v.count : v.end; }

Status ValidateView(const char* what, const LabelledImages& v) {
  ENSURE(v.images != nullptr && v.labels != nullptr, what, ": null images or labels");
  ENSURE(v.height > 0 && v.width > 0 && v.height <= 4096 && v.width <= 4096, what, ": image size ",
         v.height, "x", v.width, " is outside 1x1 to 4096x4096");
  ENSURE(v.begin < End(v) && End(v) <= v.count, what, ": record range [", v.begin, ", ", End(v),
         ") is empty or not within the ", v.count, " records");
  ENSURE(End(v) <= UINT32_MAX, what, ": ", End(v), " records; indices are 32-bit");
  for (size_t r = v.begin; r < End(v); ++r) {
    ENSURE(v.labels[r] < kNumClasses, what, ": record ", r, " has label ", int{v.labels[r]},
           "; labels must be below ", kNumClasses);
  }
  return Status::Ok();
}

// Largest-remainder apportionment of integer `total` over integer `weights` (exact integer
// arithmetic; callers keep weights and total below 2^24, so products fit in 64 bits):
// counts[i] = floor(weights[i] total / sum) plus one for the positions with the largest
// remainders (ties to the lower position).
std::vector<size_t> ApportionInteger(const std::vector<size_t>& weights, size_t total) {
  const size_t sum = std::accumulate(weights.begin(), weights.end(), size_t{0});
  std::vector<size_t> counts(weights.size(), 0);
  if (sum == 0) return counts;
  std::vector<size_t> remainders(weights.size());
  size_t given = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    const uint64_t product = uint64_t{weights[i]} * total;
    counts[i] = static_cast<size_t>(product / sum);
    remainders[i] = static_cast<size_t>(product % sum);
    given += counts[i];
  }
  std::vector<size_t> order(weights.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return remainders[a] != remainders[b] ? remainders[a] > remainders[b] : a < b;
  });
  for (size_t j = 0; given < total; ++j, ++given) ++counts[order[j]];
  return counts;
}

// Draws `n` distinct records of class `c` from [begin, end) of `view` (partial Fisher-Yates
// over the class's records in ascending order).
StatusOr<std::vector<uint32_t>> SampleClass(const char* what, const LabelledImages& view, int c,
                                            size_t n, Rng& rng) {
  std::vector<uint32_t> candidates;
  for (size_t r = view.begin; r < End(view); ++r) {
    if (view.labels[r] == c) candidates.push_back(static_cast<uint32_t>(r));
  }
  ENSURE(n <= candidates.size(), what, ": the user needs ", n, " records of class ", c,
         ", records [", view.begin, ", ", End(view), ") hold only ", candidates.size());
  for (size_t i = 0; i < n; ++i) {
    std::swap(candidates[i], candidates[i + rng.Below(candidates.size() - i)]);
  }
  candidates.resize(n);
  return candidates;
}

template <typename T>
void Shuffle(std::vector<T>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.Below(i)]);
}

// Samples one split: `n` records following the spec's proportions, shuffled together, their
// labels and transformed images.
Status BuildSplit(const char* what, const UserSpec& spec, const LabelledImages& view, size_t n,
                  bool test_split, std::vector<uint32_t>* indices, std::vector<uint8_t>* labels,
                  std::vector<uint8_t>* images) {
  const std::vector<size_t> counts = SplitCounts(spec.proportions, n);
  Rng rng(StreamSeed(spec.seed, spec.family, test_split ? kTestSampleStream : kTrainSampleStream));
  indices->clear();
  for (size_t i = 0; i < spec.classes.size(); ++i) {
    ASSIGN_OR_RETURN(std::vector<uint32_t> records,
                     SampleClass(what, view, spec.classes[i], counts[i], rng));
    indices->insert(indices->end(), records.begin(), records.end());
  }
  Shuffle(*indices, rng);

  const size_t pixels = static_cast<size_t>(view.height) * view.width;
  labels->resize(n);
  images->resize(n * pixels);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t r = (*indices)[i];
    (*labels)[i] = view.labels[r];
    RETURN_IF_ERROR(Apply(spec.transform, view.images + r * pixels, images->data() + i * pixels,
                          view.height, view.width,
                          UserNoiseSeed(spec.seed, test_split, r, spec.family)));
  }
  return Status::Ok();
}

// The shortest of 15, 16 or 17 significant digits that reads back as exactly `v`.
std::string ClassicNumber(double v) {
  std::string text;
  for (int digits = 15; digits <= 17; ++digits) {
    std::ostringstream out;
    out.imbue(std::locale::classic());
    out.precision(digits);
    out << v;
    text = out.str();
    std::istringstream in(text);
    in.imbue(std::locale::classic());
    double back = 0.0;
    if (in >> back && back == v) break;
  }
  return text;
}

template <typename T, typename F>
std::string JsonList(const std::vector<T>& values, F format) {
  std::string s = "[";
  for (size_t i = 0; i < values.size(); ++i) s += (i ? ", " : "") + format(values[i]);
  return s + "]";
}

std::vector<size_t> CountPerClass(const std::vector<int>& classes,
                                  const std::vector<uint8_t>& labels) {
  std::vector<size_t> counts(classes.size(), 0);
  for (uint8_t label : labels) {
    for (size_t i = 0; i < classes.size(); ++i) counts[i] += label == classes[i];
  }
  return counts;
}

Status MakeDirectory(const std::string& dir) {
  ENSURE(!dir.empty(), "WriteUser: empty directory name");
  if (mkdir(dir.c_str(), 0777) == 0) return Status::Ok();
  const int error = errno;
  struct stat st;
  if (error == EEXIST && stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::Ok();
  if (error == EEXIST) {
    return Error(StatusCode::kInvalidArgument, "WriteUser: '", dir,
                 "' exists and is not a directory");
  }
  return Error(error == ENOENT ? StatusCode::kNotFound : StatusCode::kInternal,
               "WriteUser: cannot create directory '", dir, "': ", ErrnoText(error));
}

// A rectangle with sides drawn from [min_side, max_side], placed uniformly inside h x w.
PixelRect DrawRect(Rng& rng, int min_side, int max_side, int h, int w) {
  PixelRect r;
  r.width = min_side + static_cast<int>(rng.Below(static_cast<uint64_t>(max_side - min_side + 1)));
  r.height = min_side + static_cast<int>(rng.Below(static_cast<uint64_t>(max_side - min_side + 1)));
  r.x = static_cast<int>(rng.Below(static_cast<uint64_t>(w - r.width + 1)));
  r.y = static_cast<int>(rng.Below(static_cast<uint64_t>(h - r.height + 1)));
  return r;
}

// Family 1: every one of the first stages at a moderate strength.
PersonalTransform TuningTransform(const UserOptions& options, Rng& t_rng) {
  PersonalTransform t;
  const double rotation = t_rng.Uniform(options.rotation_min_degrees, options.rotation_max_degrees);
  t.rotation_degrees = t_rng.Below(2) == 0 ? rotation : -rotation;
  t.shift_x = t_rng.Uniform(-options.shift_max, options.shift_max);
  t.shift_y = t_rng.Uniform(-options.shift_max, options.shift_max);
  t.brightness = t_rng.Uniform(-options.brightness_max, options.brightness_max);
  t.contrast = t_rng.Uniform(options.contrast_min, options.contrast_max);
  t.gamma =
      PortableExp(t_rng.Uniform(PortableLog(options.gamma_min), PortableLog(options.gamma_max)));
  t.blur_sigma = t_rng.Uniform(options.blur_sigma_min, options.blur_sigma_max);
  t.noise_std = t_rng.Uniform(options.noise_std_min, options.noise_std_max);
  return t;
}

// Family 2: mirror (sometimes) with rotation, zoom, shear, an inverted and an occluding
// rectangle, posterised levels; none of family 1's photometric stages.
PersonalTransform HeldOutTransform(const HeldOutRanges& r, Rng& t_rng) {
  PersonalTransform t;
  t.rotation_degrees = t_rng.Uniform(-r.rotation_max_degrees, r.rotation_max_degrees);
  t.mirror = t_rng.Uniform() < r.mirror_probability;
  t.zoom = PortableExp(t_rng.Uniform(PortableLog(r.zoom_min), PortableLog(r.zoom_max)));
  t.shear = t_rng.Uniform(-r.shear_max, r.shear_max);
  t.inversion =
      DrawRect(t_rng, r.inversion_min_side, r.inversion_max_side, r.image_height, r.image_width);
  t.occlusion =
      DrawRect(t_rng, r.occlusion_min_side, r.occlusion_max_side, r.image_height, r.image_width);
  t.occlusion_level =
      static_cast<int>(t_rng.Below(static_cast<uint64_t>(r.occlusion_max_level) + 1));
  t.posterise_levels =
      r.posterise_min_levels + static_cast<int>(t_rng.Below(static_cast<uint64_t>(
                                   r.posterise_max_levels - r.posterise_min_levels + 1)));
  return t;
}

}  // namespace

StatusOr<UserFamily> UserFamilyFromNumber(int64_t number, const char* what) {
  ENSURE(number == 1 || number == 2, what,
         " must be 1 (the users everything was tuned on) or 2 "
         "(the held-out users), got ",
         number);
  return static_cast<UserFamily>(number);
}

UserOptions UserOptionsFor(UserFamily family) {
  UserOptions o;
  o.family = family;
  if (family == UserFamily::kHeldOut) o.max_classes = 5;
  return o;
}

StatusOr<UserSpec> MakeUser(uint64_t seed, UserFamily family) {
  ENSURE(IsFamily(family), "MakeUser: family ", static_cast<int>(family), " is not 1 or 2");
  return MakeUser(seed, UserOptionsFor(family));
}

StatusOr<UserSpec> MakeUser(uint64_t seed, const UserOptions& options) {
  RETURN_IF_ERROR(ValidateOptions(options));
  UserSpec spec;
  spec.seed = seed;
  spec.family = options.family;

  Rng class_rng(StreamSeed(seed, options.family, kClassStream));
  const int k = options.min_classes +
                static_cast<int>(class_rng.Below(options.max_classes - options.min_classes + 1));
  std::vector<int> all(kNumClasses);
  std::iota(all.begin(), all.end(), 0);
  for (int i = 0; i < k; ++i) {
    std::swap(all[i], all[i + class_rng.Below(kNumClasses - i)]);
  }
  spec.classes.assign(all.begin(), all.begin() + k);
  std::sort(spec.classes.begin(), spec.classes.end());

  Rng proportion_rng(StreamSeed(seed, options.family, kProportionStream));
  std::vector<double> draws(k);
  double sum = 0.0;
  for (double& e : draws) {
    e = proportion_rng.Exponential();
    sum += e;
  }
  const double free_share = 1.0 - k * options.min_proportion;
  for (double e : draws) {
    spec.proportions.push_back(options.min_proportion +
                               (sum > 0.0 ? free_share * e / sum : free_share / k));
  }

  Rng t_rng(StreamSeed(seed, options.family, kTransformStream));
  spec.transform = options.family == UserFamily::kTuning
                       ? TuningTransform(options, t_rng)
                       : HeldOutTransform(options.held_out, t_rng);
  return spec;
}

uint64_t UserNoiseSeed(uint64_t user_seed, bool test_split, uint32_t record, UserFamily family) {
  return MixSeed(StreamSeed(user_seed, family, test_split ? kTestNoiseStream : kTrainNoiseStream),
                 record);
}

std::vector<size_t> SplitCounts(const std::vector<double>& proportions, size_t n) {
  std::vector<size_t> counts(proportions.size(), 0);
  double sum = 0.0;
  for (double p : proportions) sum += p > 0.0 ? p : 0.0;
  if (proportions.empty() || !(sum > 0.0) || !std::isfinite(sum)) return counts;
  std::vector<double> remainders(proportions.size());
  size_t given = 0;
  for (size_t i = 0; i < proportions.size(); ++i) {
    const double quota = (proportions[i] > 0.0 ? proportions[i] / sum : 0.0) * n;
    counts[i] = static_cast<size_t>(std::floor(quota));
    remainders[i] = quota - std::floor(quota);
    given += counts[i];
  }
  std::vector<size_t> order(proportions.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return remainders[a] != remainders[b] ? remainders[a] > remainders[b] : a < b;
  });
  // Rounding can leave the floors one over n; take it back from the largest count.
  while (given > n) {
    --*std::max_element(counts.begin(), counts.end());
    --given;
  }
  for (size_t j = 0; given < n; j = (j + 1) % order.size(), ++given) ++counts[order[j]];
  return counts;
}

StatusOr<UserData> BuildUserData(const UserSpec& spec, const LabelledImages& pool,
                                 const LabelledImages& test, const UserDataOptions& options) {
  RETURN_IF_ERROR(ValidateSpec(spec));
  RETURN_IF_ERROR(ValidateView("pool", pool));
  RETURN_IF_ERROR(ValidateView("test split", test));
  ENSURE(pool.height == test.height && pool.width == test.width, "pool images are ", pool.height,
         "x", pool.width, ", test images ", test.height, "x", test.width);
  ENSURE(std::isfinite(options.label_fraction) && options.label_fraction >= 0.0 &&
             options.label_fraction <= 1.0,
         "label_fraction ", options.label_fraction, " is outside [0, 1]");
  ENSURE(options.n_train >= 1 && options.n_test >= 1 && options.n_train <= (size_t{1} << 24) &&
             options.n_test <= (size_t{1} << 24),
         "n_train (", options.n_train, ") and n_test (", options.n_test, ") must be in [1, 2^24]");

  const uint64_t pixels = static_cast<uint64_t>(pool.height) * pool.width;
  ENSURE((options.n_train + options.n_test) * pixels <= (uint64_t{1} << 30), "n_train (",
         options.n_train, ") and n_test (", options.n_test, ") images of ", pool.height, "x",
         pool.width, " exceed 1 GiB");

  UserData data;
  data.spec = spec;
  data.label_fraction = options.label_fraction;
  data.height = pool.height;
  data.width = pool.width;
  RETURN_IF_ERROR(BuildSplit("pool", spec, pool, options.n_train, false, &data.train_indices,
                             &data.train_true_labels, &data.train_images));
  RETURN_IF_ERROR(BuildSplit("test split", spec, test, options.n_test, true, &data.test_indices,
                             &data.test_labels, &data.test_images));

  // Labels the user gave: each class's share of the total, at random positions within it.
  const size_t n = options.n_train;
  const size_t labelled =
      static_cast<size_t>(std::floor(options.label_fraction * static_cast<double>(n) + 0.5));
  const std::vector<size_t> per_class =
      ApportionInteger(CountPerClass(spec.classes, data.train_true_labels), labelled);
  data.train_labels.assign(n, kUnlabelled);
  Rng label_rng(StreamSeed(spec.seed, spec.family, kLabelStream));
  for (size_t i = 0; i < spec.classes.size(); ++i) {
    std::vector<size_t> positions;
    for (size_t j = 0; j < n; ++j) {
      if (data.train_true_labels[j] == spec.classes[i]) positions.push_back(j);
    }
    for (size_t j = 0; j < per_class[i]; ++j) {
      std::swap(positions[j], positions[j + label_rng.Below(positions.size() - j)]);
      data.train_labels[positions[j]] = data.train_true_labels[positions[j]];
    }
  }
  return data;
}

std::string UserJson(const UserData& data) {
  const UserSpec& spec = data.spec;
  const PersonalTransform& t = spec.transform;
  size_t labelled = 0;
  for (uint8_t label : data.train_labels) labelled += label != kUnlabelled;
  auto number = [](double v) { return ClassicNumber(v); };
  auto integer = [](auto v) { return std::to_string(v); };
  std::ostringstream out;
  out << "{\n"
      << "  \"seed\": " << spec.seed << ",\n";
  // Family 1's user.json is what it was before family 2 existed: no "family", no later stages.
  if (spec.family != UserFamily::kTuning) {
    out << "  \"family\": " << static_cast<int>(spec.family) << ",\n";
  }
  out << "  \"classes\": " << JsonList(spec.classes, integer) << ",\n"
      << "  \"proportions\": " << JsonList(spec.proportions, number) << ",\n"
      << "  \"label_fraction\": " << ClassicNumber(data.label_fraction) << ",\n"
      << "  \"height\": " << data.height << ",\n"
      << "  \"width\": " << data.width << ",\n"
      << "  \"num_train\": " << data.num_train() << ",\n"
      << "  \"num_labelled\": " << labelled << ",\n"
      << "  \"num_test\": " << data.num_test() << ",\n"
      << "  \"train_class_counts\": "
      << JsonList(CountPerClass(spec.classes, data.train_true_labels), integer) << ",\n"
      << "  \"test_class_counts\": "
      << JsonList(CountPerClass(spec.classes, data.test_labels), integer) << ",\n"
      << "  \"transform\": {\n"
      << "    \"rotation_degrees\": " << ClassicNumber(t.rotation_degrees) << ",\n"
      << "    \"shift_x\": " << ClassicNumber(t.shift_x) << ",\n"
      << "    \"shift_y\": " << ClassicNumber(t.shift_y) << ",\n"
      << "    \"blur_sigma\": " << ClassicNumber(t.blur_sigma) << ",\n"
      << "    \"contrast\": " << ClassicNumber(t.contrast) << ",\n"
      << "    \"brightness\": " << ClassicNumber(t.brightness) << ",\n"
      << "    \"gamma\": " << ClassicNumber(t.gamma) << ",\n"
      << "    \"noise_std\": " << ClassicNumber(t.noise_std);
  if (spec.family != UserFamily::kTuning || t.UsesLaterStages()) {
    auto rect = [](const PixelRect& r) {
      return "{\"x\": " + std::to_string(r.x) + ", \"y\": " + std::to_string(r.y) +
             ", \"width\": " + std::to_string(r.width) +
             ", \"height\": " + std::to_string(r.height) + "}";
    };
    out << ",\n"
        << "    \"mirror\": " << (t.mirror ? "true" : "false") << ",\n"
        << "    \"zoom\": " << ClassicNumber(t.zoom) << ",\n"
        << "    \"shear\": " << ClassicNumber(t.shear) << ",\n"
        << "    \"inversion\": " << rect(t.inversion) << ",\n"
        << "    \"occlusion\": " << rect(t.occlusion) << ",\n"
        << "    \"occlusion_level\": " << t.occlusion_level << ",\n"
        << "    \"posterise_levels\": " << t.posterise_levels;
  }
  out << "\n"
      << "  }\n"
      << "}\n";
  return out.str();
}

Status WriteUser(const UserData& data, const std::string& dir) {
  const size_t pixels = static_cast<size_t>(data.height) * data.width;
  const size_t n_train = data.num_train();
  const size_t n_test = data.num_test();
  ENSURE(data.height > 0 && data.width > 0, "WriteUser: image size ", data.height, "x", data.width);
  ENSURE(n_train > 0 && n_test > 0, "WriteUser: user ", data.spec.seed, " has ", n_train,
         " training and ", n_test, " test samples; IDX files cannot be empty");
  ENSURE(data.train_images.size() == n_train * pixels && data.train_true_labels.size() == n_train &&
             data.test_images.size() == n_test * pixels,
         "WriteUser: user ", data.spec.seed, ": image and label arrays disagree in size");
  ENSURE(n_train <= UINT32_MAX && n_test <= UINT32_MAX, "WriteUser: user ", data.spec.seed,
         ": more samples than IDX can count");
  RETURN_IF_ERROR(MakeDirectory(dir));
  const std::string base = dir + "/";
  // An old user.json goes first, so that one is only ever beside the files written with it.
  if (unlink((base + "user.json").c_str()) != 0 && errno != ENOENT) {
    return Error(StatusCode::kInternal, "WriteUser: cannot remove the old '", base,
                 "user.json': ", ErrnoText(errno));
  }
  const uint32_t h = static_cast<uint32_t>(data.height);
  const uint32_t w = static_cast<uint32_t>(data.width);
  const uint32_t nr = static_cast<uint32_t>(n_train);
  const uint32_t nt = static_cast<uint32_t>(n_test);
  RETURN_IF_ERROR(WriteIdx(base + "train-images.idx", {nr, h, w}, data.train_images.data(),
                           data.train_images.size(), false));
  RETURN_IF_ERROR(
      WriteIdx(base + "train-labels.idx", {nr}, data.train_labels.data(), n_train, false));
  RETURN_IF_ERROR(WriteIdx(base + "train-true-labels.idx", {nr}, data.train_true_labels.data(),
                           n_train, false));
  RETURN_IF_ERROR(WriteIdx(base + "test-images.idx", {nt, h, w}, data.test_images.data(),
                           data.test_images.size(), false));
  RETURN_IF_ERROR(WriteIdx(base + "test-labels.idx", {nt}, data.test_labels.data(), n_test, false));
  // Last, so a complete user.json means every file beside it is complete too.
  const std::string json = UserJson(data);
  return WriteFileAtomically(base + "user.json", json.data(), json.size());
}

}  // namespace persephonee
