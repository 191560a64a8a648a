// The personalisation file: bit-exact round trips, its size and documented header, the backbone
// check and its hash, atomic saving into a directory that cannot be written, and validation.
#include "training/personalisation.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/file_io.h"
#include "graph/builder.h"
#include "graph/model_format.h"
#include "graph/zoo.h"
#include "tests/training/personalisation_testing.h"
#include "training/sha256.h"

namespace persephonee {
namespace {

using namespace personalisation_testing;  // NOLINT: test helpers.

TEST(PersonalisationTest, RoundTripThroughAFileIsBitExact) {
  TempDir dir;
  const Personalisation p = Typical(/*with_optimizer=*/true);
  ASSERT_EQ(p.exits.size(), 4u);
  const std::string path = dir.File("user.psp");
  ASSERT_TRUE(SavePersonalisation(p, path).ok());
  StatusOr<Personalisation> back = LoadPersonalisation(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  std::string why;
  EXPECT_TRUE(PersonalisationsEqual(p, *back, &why)) << why;
  // Spot checks that do not rely on PersonalisationsEqual.
  EXPECT_EQ(back->metadata.at("bytes"), std::string("a\0b\xff\n", 5));
  EXPECT_EQ(back->metadata.at("label_fraction"), "0.25");
  EXPECT_TRUE(std::signbit(back->exits[2].threshold) && back->exits[2].threshold == 0.0f);
  EXPECT_EQ(back->exits[3].threshold, kInf);
  EXPECT_EQ(back->measure, ConfidenceMeasure::kEntropy);
  ASSERT_TRUE(back->optimizer.has_value());
  EXPECT_EQ(back->optimizer->step, 1234);
  EXPECT_EQ(back->optimizer->arrays.size(), p.optimizer->arrays.size());
  EXPECT_EQ(back->optimizer->arrays[5].values, p.optimizer->arrays[5].values);
  for (size_t i = 0; i < p.exits.size(); ++i) {
    for (TensorId t = 0; t < p.exits[i].head.num_tensors(); ++t) {
      const std::vector<float>& a = p.exits[i].head.tensor(t).data;
      const std::vector<float>& b = back->exits[i].head.tensor(t).data;
      ASSERT_EQ(a.size(), b.size());
      if (a.empty()) continue;  // Not a parameter.
      EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
          << "exit " << i << " tensor " << p.exits[i].head.tensor(t).name;
    }
  }
  // The file holds exactly the serialised bytes, and serialising what was read gives them again.
  const std::vector<uint8_t> bytes = Serialize(p);
  const std::string on_disk = ReadOrEmpty(path);
  EXPECT_EQ(std::vector<uint8_t>(on_disk.begin(), on_disk.end()), bytes);
  EXPECT_EQ(Serialize(*back), bytes);
  // Equality notices a one-bit difference in a head weight and in a threshold.
  Personalisation changed = p;
  Graph& head = changed.exits[1].head;
  TensorId param = 0;
  while (param < head.num_tensors() && head.tensor(param).kind != TensorKind::kParameter) ++param;
  ASSERT_LT(param, head.num_tensors());
  float& w = head.mutable_tensor(param).data[0];
  w = std::nextafter(w, kInf);
  EXPECT_FALSE(PersonalisationsEqual(p, changed, &why));
  EXPECT_TRUE(Contains(why, "exit 1")) << why;
  changed = p;
  changed.exits[2].threshold = 0.0f;  // +0 against -0
  EXPECT_FALSE(PersonalisationsEqual(p, changed, &why));
  EXPECT_TRUE(Contains(why, "thresholds")) << why;
}

TEST(PersonalisationTest, VersionTwoFieldsRoundTrip) {
  Personalisation p = Typical(/*with_optimizer=*/false);
  p.personal_final = true;
  p.exits.back().threshold = -kInf;
  p.prior.assign(static_cast<size_t>(p.classes), 0.0);
  double rest = 1.0;
  for (size_t i = 0; i + 1 < p.prior.size(); ++i) rest -= p.prior[i] = 0.5 / p.prior.size();
  p.prior.back() = rest;
  p.calibration = CalibrationRecord{0.01, 0.1, -0.0625, 100, 10, true};
  StatusOr<Personalisation> back = Parse(Serialize(p));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  std::string why;
  EXPECT_TRUE(PersonalisationsEqual(p, *back, &why)) << why;
  EXPECT_TRUE(back->personal_final);
  ASSERT_TRUE(back->calibration.has_value());
  EXPECT_EQ(back->calibration->bound, -0.0625);
  EXPECT_EQ(back->calibration->samples, 100);
  // A personalised final exit must answer every sample; a prior must be a distribution.
  Personalisation bad = p;
  bad.exits.back().threshold = 0.5f;
  EXPECT_EQ(SerializePersonalisation(bad).status().code(), StatusCode::kInvalidArgument);
  bad = p;
  bad.prior[0] += 0.25;
  EXPECT_EQ(SerializePersonalisation(bad).status().code(), StatusCode::kInvalidArgument);
}

TEST(PersonalisationTest, VersionOneFilesStillLoad) {
  // A version-1 file is a version-2 file without the trailing personal record (flag, prior
  // count, calibration flag: 6 zero bytes when none is set) and with 1 in the version field.
  const Personalisation p = Typical(/*with_optimizer=*/true);
  std::vector<uint8_t> bytes = Serialize(p);
  ASSERT_GT(bytes.size(), 38u);
  EXPECT_EQ(std::vector<uint8_t>(bytes.end() - 6, bytes.end()), std::vector<uint8_t>(6, 0));
  bytes.resize(bytes.size() - 6);
  PutLe(&bytes, 8, 1, 4);
  PutLe(&bytes, 16, bytes.size() - 32, 8);
  Reseal(&bytes);
  StatusOr<Personalisation> back = Parse(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  std::string why;
  EXPECT_TRUE(PersonalisationsEqual(p, *back, &why)) << why;
  EXPECT_FALSE(back->personal_final);
  EXPECT_TRUE(back->prior.empty());
  EXPECT_FALSE(back->calibration.has_value());
  // Saved again, it is written as version 2.
  const std::vector<uint8_t> again = Serialize(*back);
  EXPECT_EQ(again[8], 2);
}

TEST(PersonalisationTest, TypicalFileIsKilobytes) {
  const std::vector<uint8_t> bytes = Serialize(Typical(/*with_optimizer=*/false));
  ASSERT_FALSE(bytes.empty());
  // 4 heads of width 32 on 10 classes: the backbone (2.8 MB of weights) is not in it.
  EXPECT_LT(bytes.size(), 64u * 1024) << bytes.size() << " bytes";
  std::printf(
      "typical personalisation (4 heads, width 32, 10 classes): %zu bytes; with Adam "
      "state: %zu bytes\n",
      bytes.size(), Serialize(Typical(true)).size());
}

TEST(PersonalisationTest, HeaderIsAsDocumented) {
  const std::vector<uint8_t>& bytes = SmallBytes();
  ASSERT_GT(bytes.size(), kHeader);
  EXPECT_LT(bytes.size(), 4096u);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 8), "PSPHPERS");
  auto le = [&](size_t at, int width) {
    uint64_t v = 0;
    for (int i = 0; i < width; ++i) v |= static_cast<uint64_t>(bytes[at + i]) << (8 * i);
    return v;
  };
  EXPECT_EQ(le(8, 4), 2u);                       // version
  EXPECT_EQ(le(12, 4), kHeader);                 // header size
  EXPECT_EQ(le(16, 8), bytes.size() - kHeader);  // payload size
  EXPECT_EQ(le(24, 4), Crc(bytes.data() + kHeader, bytes.size() - kHeader));
  EXPECT_EQ(le(28, 4), 0u);     // reserved
  EXPECT_EQ(le(32, 4), 3u);     // classes
  EXPECT_EQ(bytes[36], 0);      // max softmax
  EXPECT_EQ(bytes[37], 1);      // has optimiser state
  EXPECT_EQ(le(40, 8), 5000u);  // backbone MACs
  EXPECT_EQ(le(48, 4), 64u);    // hash length
  EXPECT_EQ(std::string(bytes.begin() + 52, bytes.begin() + 116), Sha256Hex("backbone", 8));
}

// A small backbone: 3x3 convolution, ReLU, global average pooling, a classifier of 3 classes.
Graph TinyBackbone(uint64_t seed) {
  GraphBuilder b;
  TensorId x = b.Input("image", {1, 6, 6, 2});
  Conv2dAttrs conv = Conv2dAttrs::Square(4, 3, 1, 1);
  conv.activation = Activation::kRelu;
  x = b.Conv2d("conv", x, conv, Random(4 * 3 * 3 * 2, seed), Random(4, seed + 1));
  x = b.GlobalAvgPool("gap", x);
  b.MarkOutput(b.FullyConnected("fc", x, {3, Activation::kNone}, Random(12, seed + 2)));
  StatusOr<Graph> g = b.Build();
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? std::move(g).value() : Graph();
}

TEST(PersonalisationTest, ForeignBackboneIsRefusedWithBothHashes) {
  const Graph backbone = TinyBackbone(1);
  Personalisation p = Small();
  p.backbone_hash = BackboneHash(backbone);
  ASSERT_EQ(p.backbone_hash.size(), 64u);
  EXPECT_TRUE(CheckBackbone(p, backbone).ok());
  // Other weights: refused, naming both hashes.
  const Graph other = TinyBackbone(2);
  const std::string other_hash = BackboneHash(other);
  ASSERT_EQ(other_hash.size(), 64u);
  EXPECT_NE(other_hash, p.backbone_hash);
  Status s = CheckBackbone(p, other);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(s.message(), p.backbone_hash)) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), other_hash)) << s.ToString();
  // One weight one ulp away is another backbone too.
  Graph nudged = backbone;
  for (TensorId t = 0; t < nudged.num_tensors(); ++t) {
    if (nudged.tensor(t).kind != TensorKind::kParameter) continue;
    float& w = nudged.mutable_tensor(t).data[0];
    w = std::nextafter(w, kInf);
    break;
  }
  EXPECT_EQ(CheckBackbone(p, nudged).code(), StatusCode::kFailedPrecondition);
  // A graph that cannot be serialised has no hash, and is refused.
  EXPECT_EQ(BackboneHash(Graph()), "");
  EXPECT_EQ(CheckBackbone(p, Graph()).code(), StatusCode::kInvalidArgument);
}

TEST(PersonalisationTest, RealBackboneHashIsTheModelFilesSha256) {
  // The typical personalisation was made for fmnist_resnet (seed 1): its hash is the SHA-256
  // of the model file SaveGraph writes, so `sha256sum` on the file gives the same digits.
  const Personalisation p = Typical(/*with_optimizer=*/false);
  TempDir dir;
  const std::string model = dir.File("backbone.psm");
  ASSERT_TRUE(SaveGraph(Backbone(), model).ok());
  const std::string file = ReadOrEmpty(model);
  EXPECT_EQ(p.backbone_hash, Sha256Hex(file.data(), file.size()));
  // The same architecture with other weights (seed 2) is refused; the message names the
  // expected hash and another one.
  StatusOr<Graph> other = BuildZooModel("fmnist_resnet", 2);
  ASSERT_TRUE(other.ok());
  const Status s = CheckBackbone(p, *other);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(s.message(), "made for the backbone with SHA-256 " + p.backbone_hash))
      << s.ToString();
  const size_t at = s.message().find("this backbone's SHA-256 is ");
  ASSERT_NE(at, std::string::npos) << s.ToString();
  const std::string theirs = s.message().substr(at + 27, 64);
  EXPECT_EQ(theirs.size(), 64u);
  EXPECT_NE(theirs, p.backbone_hash);
}

// Runs SavePersonalisation(p, path) as a user who cannot write to the directory: for root, in a
// child process that has become "nobody".
Status SaveAsUnprivileged(const Personalisation& p, const std::string& path) {
  if (geteuid() != 0) return SavePersonalisation(p, path);
  int fds[2];
  if (pipe(fds) != 0) return Error(StatusCode::kInternal, "pipe failed");
  const pid_t pid = fork();
  if (pid < 0) return Error(StatusCode::kInternal, "fork failed");
  if (pid == 0) {
    close(fds[0]);
    std::string result = "setuid failed";
    int code = static_cast<int>(StatusCode::kInternal);
    if (setgid(65534) == 0 && setuid(65534) == 0) {
      const Status status = SavePersonalisation(p, path);
      code = static_cast<int>(status.code());
      result = status.message();
    }
    const std::string message = std::to_string(code) + "\n" + result;
    if (write(fds[1], message.data(), message.size()) < 0) _exit(2);
    _exit(0);
  }
  close(fds[1]);
  std::string message;
  char buffer[512];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) message.append(buffer, n);
  close(fds[0]);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  const size_t newline = message.find('\n');
  if (newline == std::string::npos) return Error(StatusCode::kInternal, "child said nothing");
  return Status(static_cast<StatusCode>(std::stoi(message.substr(0, newline))),
                message.substr(newline + 1));
}

TEST(PersonalisationTest, NothingIsHalfWrittenWhenTheDirectoryIsNotWritable) {
  TempDir dir("/tmp");  // "nobody" can reach /tmp, not necessarily TEST_TMPDIR.
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.File("user.psp");
  const Personalisation old = Small();
  ASSERT_TRUE(SavePersonalisation(old, path).ok());
  const std::string before = ReadOrEmpty(path);
  Personalisation next = Small();
  next.exits[0].threshold = 0.99f;
  ASSERT_EQ(chmod(dir.path().c_str(), 0555), 0);
  const Status s = SaveAsUnprivileged(next, path);
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), path)) << s.ToString();
  EXPECT_EQ(ReadOrEmpty(path), before);
  EXPECT_EQ(dir.Entries(), std::vector<std::string>{"user.psp"});
  StatusOr<Personalisation> back = LoadPersonalisation(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(PersonalisationsEqual(*back, old));
  // A directory that does not exist: not found, nothing created.
  const Status missing = SavePersonalisation(old, dir.File("no/such/user.psp"));
  EXPECT_EQ(missing.code(), StatusCode::kNotFound) << missing.ToString();
  EXPECT_EQ(dir.Entries(), std::vector<std::string>{"user.psp"});
}

TEST(PersonalisationTest, InvalidPersonalisationsAreNotSaved) {
  TempDir dir;
  struct Case {
    const char* message;
    Personalisation p;
  };
  std::vector<Case> cases;
  cases.push_back({"exit 'exit1': threshold is NaN", Small()});
  cases.back().p.exits[0].threshold = std::nanf("");
  cases.push_back({"exit name 'exit1' appears twice", Small()});
  cases.back().p.exits[1].point.name = "exit1";
  cases.push_back({"has shape [1,2,2,3], the exit's features [1,4,4,3]", Small()});
  cases.back().p.exits[1].point.feature_shape = {1, 4, 4, 3};
  cases.push_back({"has shape [1,3], expected [1,4]", Small()});
  cases.back().p.classes = 4;
  cases.push_back({"is not 64 lower-case hex digits", Small()});
  cases.back().p.backbone_hash[10] = 'G';
  cases.push_back({"0 exits", Small()});
  cases.back().p.exits.clear();
  cases.push_back({"optimiser array 'exit1.fc.weight/momentum' value 1 is inf", Small()});
  cases.back().p.optimizer->arrays[0].values[1] = kInf;
  cases.push_back({"metadata key", Small()});
  cases.back().p.metadata[""] = "x";
  cases.push_back({"FLOP fraction 1.5", Small()});
  cases.back().p.exits[0].point.flop_fraction = 1.5;
  for (const Case& c : cases) {
    const std::string path = dir.File("bad.psp");
    const Status s = SavePersonalisation(c.p, path);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.message << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.message(), c.message)) << s.ToString();
    EXPECT_TRUE(dir.Entries().empty()) << c.message;
  }
}

}  // namespace
}  // namespace persephonee
