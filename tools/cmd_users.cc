// `persephonee users`: write simulated Fashion-MNIST users (training/users.h) to disk, so that
// `personalise` and `evaluate` can be run on them by hand.
#include <sys/stat.h>
#include <sys/types.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/file_io.h"
#include "base/idx.h"
#include "tools/commands.h"
#include "tools/engine_cli.h"
#include "training/labels.h"
#include "training/users.h"

namespace persephonee {
namespace cli {
namespace {

constexpr const char* kUsage =
    "usage: persephonee users --out DIR [--users N] [--first-seed S] [--family 1|2] [--train N]\n"
    "         [--test N] [--label-fraction F] [--data DIR]\n"
    "\n"
    "Simulates users for the Fashion-MNIST demo: user S (S = --first-seed, default 1, up to\n"
    "S + N - 1; --users, default 20) has classes in unequal proportions and a personal image\n"
    "transform. --family 1 (the default; the users the method was tuned on): 2 to 4 classes;\n"
    "rotation, shift, blur, contrast, brightness, gamma, noise. --family 2 (held out, for\n"
    "reporting only): 2 to 5 classes; mirror with rotation, zoom, shear, a partly inverted\n"
    "region, an occluding rectangle, posterised grey levels; drawn independently of family 1,\n"
    "so user S of one family has nothing in common with user S of the other. Its --train\n"
    "on-device images (default 500) come from Fashion-MNIST training records 50000..59999,\n"
    "which pretraining never sees, and a share --label-fraction of them (default 0.1) keep\n"
    "their label (the rest are 255, unlabelled); its --test held-out images (default 500)\n"
    "come from the 10k test split. Each user is written to DIR/user-S/: train-images.idx,\n"
    "train-labels.idx, train-true-labels.idx, test-images.idx, test-labels.idx (uint8 IDX)\n"
    "and user.json. DIR is created if missing (its parent must exist); users already there\n"
    "are overwritten. The same seed gives the same files on every machine.\n"
    "--data DIR holds the four IDX files (default /usr/share/datasets/fashion-mnist).\n";

constexpr const char* kClassNames[kNumClasses] = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                  "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                  "Bag",         "Ankle boot"};

// A number in [lo, hi], kept as a double (user.json records the label fraction as given).
StatusOr<double> DoubleFlag(const ParsedArgs& a, const std::string& flag, double fallback,
                            double lo, double hi) {
  auto it = a.values.find(flag);
  if (it == a.values.end()) return fallback;
  const std::string& s = it->second;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  ENSURE(end != s.c_str() && *end == '\0' && errno == 0 && std::isfinite(v) && v >= lo && v <= hi,
         flag, " must be a number in [", lo, ", ", hi, "], got '", s, "'");
  return v;
}

// `path` without trailing slashes ("/" stays "/").
std::string TrimSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// Checks, before any work, that --out can be made: it is a directory, or it is missing and its
// parent is a directory.
Status CheckOutDir(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::Ok();
    return Error(StatusCode::kFailedPrecondition, "--out: '", dir,
                 "' exists and is not a directory");
  }
  const size_t slash = dir.find_last_of('/');
  const std::string parent =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : dir.substr(0, slash));
  if (stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error(StatusCode::kNotFound, "--out: cannot create '", dir, "': its parent '", parent,
                 "' is not an existing directory");
  }
  return Status::Ok();
}

Status MakeOutDir(const std::string& dir) {
  if (mkdir(dir.c_str(), 0777) == 0) return Status::Ok();
  const int error = errno;
  if (error == EEXIST) return CheckOutDir(dir);
  return Error(error == ENOENT ? StatusCode::kNotFound : StatusCode::kInternal,
               "--out: cannot create directory '", dir, "': ", ErrnoText(error));
}

// A Fashion-MNIST split: N x 28 x 28 images and N labels, checked against each other.
struct Split {
  IdxArray images;
  IdxArray labels;
};

StatusOr<Split> ReadSplit(const std::string& images_path, const std::string& labels_path,
                          size_t min_records) {
  Split s;
  ASSIGN_OR_RETURN(s.images, ReadIdx(images_path));
  ASSIGN_OR_RETURN(s.labels, ReadIdx(labels_path));
  ENSURE(s.images.dims.size() == 3, images_path, ": images must be a 3-D IDX file, got ",
         s.images.dims.size(), " dimensions");
  ENSURE(s.labels.dims.size() == 1, labels_path, ": labels must be a 1-D IDX file, got ",
         s.labels.dims.size(), " dimensions");
  ENSURE(s.images.dims[0] == s.labels.dims[0], images_path, " has ", s.images.dims[0],
         " images but ", labels_path, " has ", s.labels.dims[0], " labels");
  ENSURE(s.images.dims[0] >= min_records, images_path, ": ", s.images.dims[0],
         " images, the users need ", min_records);
  return s;
}

LabelledImages View(const Split& s, size_t begin, size_t end) {
  LabelledImages v;
  v.images = s.images.data.data();
  v.labels = s.labels.data.data();
  v.count = s.images.dims[0];
  v.height = static_cast<int>(s.images.dims[1]);
  v.width = static_cast<int>(s.images.dims[2]);
  v.begin = begin;
  v.end = end;
  return v;
}

// "0 T-shirt/top 42%, 8 Bag 58%".
std::string DescribeClasses(const UserSpec& spec) {
  std::string out;
  for (size_t i = 0; i < spec.classes.size(); ++i) {
    char share[16];
    std::snprintf(share, sizeof share, "%.0f%%", 100 * spec.proportions[i]);
    if (i) out += ", ";
    out += std::to_string(spec.classes[i]) + " " + kClassNames[spec.classes[i]] + " " + share;
  }
  return out;
}

Status Users(const ParsedArgs& a) {
  const auto& v = a.values;
  ENSURE(v.count("--out"), "--out is required");
  ASSIGN_OR_RETURN(int64_t users, IntFlag(a, "--users", 20, 1, 100000));
  ASSIGN_OR_RETURN(int64_t first_seed, IntFlag(a, "--first-seed", 1, 0, INT64_MAX));
  ASSIGN_OR_RETURN(int64_t family_number, IntFlag(a, "--family", 1, 1, 2));
  ASSIGN_OR_RETURN(UserFamily family, UserFamilyFromNumber(family_number, "--family"));
  ENSURE(first_seed <= INT64_MAX - (users - 1), "--first-seed: ", first_seed, " + ", users,
         " users passes the largest seed, ", INT64_MAX);
  const int64_t pool_size = static_cast<int64_t>(kFashionMnistPoolEnd - kFashionMnistPoolBegin);
  ASSIGN_OR_RETURN(int64_t n_train, IntFlag(a, "--train", 500, 1, pool_size));
  ASSIGN_OR_RETURN(int64_t n_test, IntFlag(a, "--test", 500, 1, 10000));
  ASSIGN_OR_RETURN(double fraction, DoubleFlag(a, "--label-fraction", 0.1, 0.0, 1.0));
  const std::string out = TrimSlashes(v.at("--out"));
  ENSURE(!out.empty(), "--out must not be empty");
  const std::string data =
      TrimSlashes(v.count("--data") ? v.at("--data") : "/usr/share/datasets/fashion-mnist");

  RETURN_IF_ERROR(CheckOutDir(out));
  ASSIGN_OR_RETURN(Split train,
                   ReadSplit(data + "/train-images-idx3-ubyte.gz",
                             data + "/train-labels-idx1-ubyte.gz", kFashionMnistPoolEnd));
  ASSIGN_OR_RETURN(Split test,
                   ReadSplit(data + "/t10k-images-idx3-ubyte.gz",
                             data + "/t10k-labels-idx1-ubyte.gz", static_cast<size_t>(n_test)));
  const LabelledImages pool = View(train, kFashionMnistPoolBegin, kFashionMnistPoolEnd);
  const LabelledImages held_out = View(test, 0, 0);
  UserDataOptions options;
  options.n_train = static_cast<size_t>(n_train);
  options.n_test = static_cast<size_t>(n_test);
  options.label_fraction = fraction;

  RETURN_IF_ERROR(MakeOutDir(out));
  for (int64_t i = 0; i < users; ++i) {
    const uint64_t seed = static_cast<uint64_t>(first_seed + i);
    ASSIGN_OR_RETURN(UserSpec spec, MakeUser(seed, family));
    ASSIGN_OR_RETURN(UserData user, BuildUserData(spec, pool, held_out, options));
    const std::string dir = out + "/user-" + std::to_string(seed);
    RETURN_IF_ERROR(WriteUser(user, dir));
    size_t labelled = 0;
    for (uint8_t label : user.train_labels) labelled += label != kUnlabelled;
    std::printf("user %llu  classes %s  labelled %zu/%zu  test %zu  %s\n",
                static_cast<unsigned long long>(seed), DescribeClasses(user.spec).c_str(), labelled,
                user.num_train(), user.num_test(), dir.c_str());
    std::fflush(stdout);
  }

  const std::string u = out + "/user-" + std::to_string(first_seed);
  std::printf(
      "\nwrote %lld users to %s. To personalise a pretrained backbone (e.g. from\n"
      "`persephonee pretrain --out fmnist.psm`) for user %lld and compare it with the original\n"
      "model on the user's held-out images:\n"
      "  persephonee personalise --model fmnist.psm --images %s/train-images.idx "
      "--labels %s/train-labels.idx --out %s.pers\n"
      "  persephonee evaluate --model fmnist.psm --images %s/test-images.idx "
      "--labels %s/test-labels.idx\n"
      "  persephonee evaluate --model fmnist.psm --exits %s.pers --images %s/test-images.idx "
      "--labels %s/test-labels.idx\n"
      "train-true-labels.idx holds every on-device image's true label, user.json the user's\n"
      "classes, proportions and transform (and, for family 2, \"family\": 2).\n",
      static_cast<long long>(users), out.c_str(), static_cast<long long>(first_seed), u.c_str(),
      u.c_str(), u.c_str(), u.c_str(), u.c_str(), u.c_str(), u.c_str(), u.c_str());
  return Status::Ok();
}

}  // namespace

int RunUsers(const std::vector<std::string>& args) {
  StatusOr<ParsedArgs> parsed = ParseArgs(args,
                                          {"--out", "--users", "--first-seed", "--family",
                                           "--train", "--test", "--label-fraction", "--data"},
                                          {});
  if (!parsed.ok()) return UsageError("users", parsed.status().message(), kUsage);
  if (parsed->help) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (!parsed->positional.empty()) {
    return UsageError("users", "unexpected argument '" + parsed->positional[0] + "'", kUsage);
  }
  Status s = Users(*parsed);
  if (s.code() == StatusCode::kInvalidArgument && s.message().rfind("--", 0) == 0) {
    return UsageError("users", s.message(), kUsage);
  }
  if (!s.ok()) return Failure("users", s);
  return kExitOk;
}

}  // namespace cli
}  // namespace persephonee
