// `persephonee users`: the files it writes checked against the library (MakeUser and
// BuildUserData on the Fashion-MNIST pool and test split), overwriting, and its exit codes
// (0 ok, 1 failure, 2 usage).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "base/idx.h"
#include "tests/testing/cli_runner.h"
#include "tools/commands.h"
#include "training/labels.h"
#include "training/users.h"

namespace persephonee {
namespace cli {
namespace {

const char kFashionMnist[] = "/usr/share/datasets/fashion-mnist/";
const char* const kUserFiles[] = {"train-images.idx", "train-labels.idx", "train-true-labels.idx",
                                  "test-images.idx",  "test-labels.idx",  "user.json"};

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// A fresh directory under the test's temporary directory (the parent of the --out used).
std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/users_cli_" + name;
  EXPECT_EQ(std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str()), 0);
  return dir;
}

size_t CountLabelled(const std::vector<uint8_t>& labels) {
  size_t n = 0;
  for (uint8_t l : labels) n += l != kUnlabelled;
  return n;
}

// What the library builds for user `seed`: the reference the written files must equal.
StatusOr<UserData> LibraryUser(uint64_t seed, size_t n_train, size_t n_test, double fraction,
                               UserFamily family = UserFamily::kTuning) {
  static const IdxArray* arrays = [] {
    auto* a = new IdxArray[4];
    const char* names[] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                           "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
    for (int i = 0; i < 4; ++i) {
      StatusOr<IdxArray> r = ReadIdx(std::string(kFashionMnist) + names[i]);
      if (r.ok()) a[i] = std::move(*r);
    }
    return a;
  }();
  if (arrays[0].data.size() != 60000u * 784 || arrays[2].data.size() != 10000u * 784) {
    return Error(StatusCode::kNotFound, "Fashion-MNIST not readable under ", kFashionMnist);
  }
  const LabelledImages pool = {arrays[0].data.data(),  arrays[1].data.data(), 60000, 28, 28,
                               kFashionMnistPoolBegin, kFashionMnistPoolEnd};
  const LabelledImages test = {arrays[2].data.data(), arrays[3].data.data(), 10000, 28, 28, 0, 0};
  StatusOr<UserSpec> spec = MakeUser(seed, family);
  if (!spec.ok()) return spec.status();
  UserDataOptions o;
  o.n_train = n_train;
  o.n_test = n_test;
  o.label_fraction = fraction;
  return BuildUserData(*spec, pool, test, o);
}

// Reads DIR/user-<seed>/NAME, expecting `dims`.
std::vector<uint8_t> ReadUserIdx(const std::string& user_dir, const std::string& name,
                                 const std::vector<uint32_t>& dims) {
  StatusOr<IdxArray> a = ReadIdx(user_dir + "/" + name);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  if (!a.ok()) return {};
  EXPECT_EQ(a->dims, dims) << user_dir << "/" << name;
  return a->data;
}

TEST(UsersCliTest, WritesUsersAsTheLibraryBuildsThem) {
  const std::string out = FreshDir("write") + "/users";  // missing: the command creates it
  Result r = RunArgs({"users", "--out", out, "--users", "2", "--train", "40", "--test", "30",
                      "--label-fraction", "0.5"});
  ASSERT_EQ(r.code, kExitOk) << r.err << r.out;
  for (uint64_t seed : {1, 2}) {
    SCOPED_TRACE("user " + std::to_string(seed));
    const std::string dir = out + "/user-" + std::to_string(seed);
    for (const char* f : kUserFiles) EXPECT_TRUE(Exists(dir + "/" + f)) << dir << "/" << f;

    const std::vector<uint8_t> train = ReadUserIdx(dir, "train-images.idx", {40, 28, 28});
    const std::vector<uint8_t> labels = ReadUserIdx(dir, "train-labels.idx", {40});
    const std::vector<uint8_t> truth = ReadUserIdx(dir, "train-true-labels.idx", {40});
    const std::vector<uint8_t> test = ReadUserIdx(dir, "test-images.idx", {30, 28, 28});
    const std::vector<uint8_t> test_labels = ReadUserIdx(dir, "test-labels.idx", {30});
    EXPECT_EQ(CountLabelled(labels), 20u);
    for (size_t i = 0; i < labels.size() && i < truth.size(); ++i) {
      if (labels[i] != kUnlabelled) {
        EXPECT_EQ(labels[i], truth[i]) << "sample " << i;
      }
    }
    const std::string json = ReadText(dir + "/user.json");
    EXPECT_NE(json.find("\"seed\": " + std::to_string(seed) + ","), std::string::npos) << json;
    EXPECT_NE(json.find("\"label_fraction\": 0.5,"), std::string::npos) << json;

    // The same bytes as the library's user from the pool (records 50000..59999) and the
    // test split: the command wires the data in as documented.
    StatusOr<UserData> ref = LibraryUser(seed, 40, 30, 0.5);
    ASSERT_TRUE(ref.ok()) << ref.status().ToString();
    EXPECT_TRUE(train == ref->train_images);
    EXPECT_TRUE(labels == ref->train_labels);
    EXPECT_TRUE(truth == ref->train_true_labels);
    EXPECT_TRUE(test == ref->test_images);
    EXPECT_TRUE(test_labels == ref->test_labels);
    EXPECT_EQ(json, UserJson(*ref));

    // Its line: seed, every class, the labelled count and the directory.
    const std::string head = "user " + std::to_string(seed) + "  classes ";
    const size_t at = r.out.find(head);
    ASSERT_NE(at, std::string::npos) << r.out;
    const std::string line = r.out.substr(at, r.out.find('\n', at) - at);
    for (int c : ref->spec.classes) {
      EXPECT_NE(line.find(std::to_string(c) + " "), std::string::npos) << line;
    }
    EXPECT_NE(line.find("labelled 20/40"), std::string::npos) << line;
    EXPECT_NE(line.find(dir), std::string::npos) << line;
  }
  EXPECT_FALSE(Exists(out + "/user-3"));
  EXPECT_FALSE(Exists(out + "/user-0"));
  const std::string u = out + "/user-1";
  EXPECT_NE(
      r.out.find("persephonee personalise --model fmnist.psm --images " + u +
                 "/train-images.idx --labels " + u + "/train-labels.idx --out " + u + ".pers"),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("persephonee evaluate --model fmnist.psm --exits " + u + ".pers --images " +
                       u + "/test-images.idx --labels " + u + "/test-labels.idx"),
            std::string::npos)
      << r.out;
}

TEST(UsersCliTest, FamilyTwoWritesTheHeldOutUsers) {
  const std::string out = FreshDir("family2") + "/users";
  Result r = RunArgs({"users", "--out", out, "--users", "1", "--first-seed", "3", "--family", "2",
                      "--train", "40", "--test", "30"});
  ASSERT_EQ(r.code, kExitOk) << r.err << r.out;
  const std::string dir = out + "/user-3";
  StatusOr<UserData> ref = LibraryUser(3, 40, 30, 0.1, UserFamily::kHeldOut);
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  EXPECT_TRUE(ReadUserIdx(dir, "train-images.idx", {40, 28, 28}) == ref->train_images);
  EXPECT_TRUE(ReadUserIdx(dir, "train-labels.idx", {40}) == ref->train_labels);
  EXPECT_TRUE(ReadUserIdx(dir, "test-images.idx", {30, 28, 28}) == ref->test_images);
  EXPECT_TRUE(ReadUserIdx(dir, "test-labels.idx", {30}) == ref->test_labels);
  const std::string json = ReadText(dir + "/user.json");
  EXPECT_EQ(json, UserJson(*ref));
  EXPECT_NE(json.find("\"family\": 2,"), std::string::npos) << json;

  // --family 1 is the default: the same bytes as without the flag, and not family 2's.
  const std::string one = FreshDir("family1") + "/users";
  ASSERT_EQ(RunArgs({"users", "--out", one, "--users", "1", "--first-seed", "3", "--family", "1",
                     "--train", "40", "--test", "30"})
                .code,
            kExitOk);
  StatusOr<UserData> ref1 = LibraryUser(3, 40, 30, 0.1);
  ASSERT_TRUE(ref1.ok()) << ref1.status().ToString();
  EXPECT_TRUE(ReadUserIdx(one + "/user-3", "test-images.idx", {30, 28, 28}) == ref1->test_images);
  EXPECT_EQ(ReadText(one + "/user-3/user.json"), UserJson(*ref1));
  EXPECT_FALSE(ref1->test_images == ref->test_images);
}

TEST(UsersCliTest, OverwritesAnExistingDirectory) {
  const std::string out = FreshDir("overwrite") + "/users";
  const std::vector<std::string> args = {
      "users", "--out",  out,  "--users",          "2",  "--train",
      "40",    "--test", "30", "--label-fraction", "0.5"};
  ASSERT_EQ(RunArgs(args).code, kExitOk);
  const std::string first = ReadText(out + "/user-2/train-images.idx");
  ASSERT_FALSE(first.empty());

  // Again, the same: the same bytes.
  Result again = RunArgs(args);
  ASSERT_EQ(again.code, kExitOk) << again.err;
  EXPECT_TRUE(ReadText(out + "/user-2/train-images.idx") == first);

  // Again with other options, into the same directory: user 2 is replaced, user 1 untouched.
  const std::string user1_json = ReadText(out + "/user-1/user.json");
  Result other = RunArgs({"users", "--out", out + "/", "--first-seed", "2", "--users", "1",
                          "--train", "60", "--test", "30", "--label-fraction", "0.25"});
  ASSERT_EQ(other.code, kExitOk) << other.err;
  const std::string dir = out + "/user-2";
  EXPECT_EQ(CountLabelled(ReadUserIdx(dir, "train-labels.idx", {60})), 15u);
  ReadUserIdx(dir, "train-images.idx", {60, 28, 28});
  const std::string json = ReadText(dir + "/user.json");
  EXPECT_NE(json.find("\"seed\": 2,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"label_fraction\": 0.25,"), std::string::npos) << json;
  EXPECT_EQ(ReadText(out + "/user-1/user.json"), user1_json);
  EXPECT_NE(other.out.find(dir + "\n"), std::string::npos) << "no doubled slash: " << other.out;
}

TEST(UsersCliTest, BadFlagsAreUsageErrorsNamingTheFlag) {
  const std::string parent = FreshDir("flags");
  const std::string out = parent + "/users";
  const struct {
    std::vector<std::string> args;
    const char* flag;
  } cases[] = {
      {{"--users", "2"}, "--out"},
      {{"--out", out, "--users", "0"}, "--users"},
      {{"--out", out, "--users", "two"}, "--users"},
      {{"--out", out, "--users"}, "--users"},
      {{"--out", out, "--first-seed", "-1"}, "--first-seed"},
      {{"--out", out, "--first-seed", "9223372036854775807", "--users", "2"}, "--first-seed"},
      {{"--out", out, "--train", "0"}, "--train"},
      {{"--out", out, "--train", "10001"}, "--train"},
      {{"--out", out, "--test", "0"}, "--test"},
      {{"--out", out, "--test", "10001"}, "--test"},
      {{"--out", out, "--label-fraction", "1.5"}, "--label-fraction"},
      {{"--out", out, "--label-fraction", "-0.1"}, "--label-fraction"},
      {{"--out", out, "--label-fraction", "nan"}, "--label-fraction"},
      {{"--out", out, "--label-fraction", "0.1x"}, "--label-fraction"},
      {{"--out", out, "--seeds", "3"}, "--seeds"},
      {{"--out", out, "--family", "3"}, "--family"},
      {{"--out", out, "--family", "0"}, "--family"},
      {{"--out", out, "--family", "two"}, "--family"},
      {{"--out", out, "--family"}, "--family"},
      {{"--out", out, "extra"}, "extra"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"users"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    Result r = RunArgs(args);
    std::string line;
    for (const std::string& a : args) line += a + " ";
    EXPECT_EQ(r.code, kExitUsage) << line << "\n" << r.err;
    EXPECT_NE(r.err.find(c.flag), std::string::npos) << line << "\n" << r.err;
    EXPECT_NE(r.err.find("usage: persephonee users"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(Exists(out)) << "nothing is created on a usage error";
  Result help = RunArgs({"users", "--help"});
  EXPECT_EQ(help.code, kExitOk);
  EXPECT_NE(help.out.find("--family 1|2"), std::string::npos) << help.out;
}

TEST(UsersCliTest, FailuresNameThePath) {
  const std::string parent = FreshDir("failures");
  Result data =
      RunArgs({"users", "--out", parent + "/users", "--users", "1", "--data", parent + "/no-data"});
  EXPECT_EQ(data.code, kExitFailure) << data.err;
  EXPECT_NE(data.err.find(parent + "/no-data/train-images-idx3-ubyte.gz"), std::string::npos)
      << data.err;
  EXPECT_FALSE(Exists(parent + "/users")) << "--out is made only once the data is read";

  const std::string orphan = parent + "/missing/users";
  Result no_parent = RunArgs({"users", "--out", orphan, "--users", "1"});
  EXPECT_EQ(no_parent.code, kExitFailure) << no_parent.err;
  EXPECT_NE(no_parent.err.find(orphan), std::string::npos) << no_parent.err;
  EXPECT_NE(no_parent.err.find("parent"), std::string::npos) << no_parent.err;
  EXPECT_FALSE(Exists(parent + "/missing"));

  const std::string file = parent + "/a-file";
  std::ofstream(file) << "x";
  Result not_dir = RunArgs({"users", "--out", file, "--users", "1"});
  EXPECT_EQ(not_dir.code, kExitFailure) << not_dir.err;
  EXPECT_NE(not_dir.err.find("not a directory"), std::string::npos) << not_dir.err;

  // More on-device images of one class than the pool holds: the library's reason, passed on.
  Result too_many = RunArgs(
      {"users", "--out", parent + "/big", "--users", "1", "--train", "10000", "--test", "30"});
  EXPECT_EQ(too_many.code, kExitFailure) << too_many.err;
  EXPECT_NE(too_many.err.find("records of class"), std::string::npos) << too_many.err;
}

}  // namespace
}  // namespace cli
}  // namespace persephonee
