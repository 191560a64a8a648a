// The personalisation file: bit-exact round trips, its size, its documented layout, and a clear
// error (never a crash) on every kind of damage: truncation at every length, a flipped bit in
// every byte, wrong magic and version, trailing bytes, corrupt records that pass the checksum;
// the backbone check; atomic saving into a directory that cannot be written.
#include "training/personalisation.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "base/file_io.h"
#include "graph/model_format.h"
#include "graph/zoo.h"
#include "training/exits.h"
#include "training/sha256.h"

namespace persephonee {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr size_t kHeader = 32;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A fresh directory for one test, removed with its files at the end.
class TempDir {
 public:
  explicit TempDir(const char* root = nullptr) {
    if (root == nullptr) root = getenv("TEST_TMPDIR");
    if (root == nullptr || *root == '\0') root = "/tmp";
    std::string pattern = std::string(root) + "/personalisation_test.XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (mkdtemp(buffer.data()) != nullptr) path_ = buffer.data();
  }
  ~TempDir() {
    if (path_.empty()) return;
    chmod(path_.c_str(), 0700);
    for (const std::string& name : Entries()) unlink((path_ + "/" + name).c_str());
    rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    DIR* dir = opendir(path_.c_str());
    if (dir == nullptr) return names;
    while (const dirent* entry = readdir(dir)) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  std::string path_;
};

std::vector<float> Random(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// Adam-like state for every parameter of every head: "<param>/m" and "<param>/v".
OptimizerState AdamState(const std::vector<PersonalisedExit>& exits, int64_t step) {
  OptimizerState opt;
  opt.name = "adam";
  opt.step = step;
  uint64_t seed = 100;
  for (const PersonalisedExit& exit : exits) {
    for (const Tensor& t : exit.head.tensors()) {
      if (t.kind != TensorKind::kParameter) continue;
      opt.arrays.push_back({t.name + "/m", Random(t.data.size(), ++seed)});
      opt.arrays.push_back({t.name + "/v", Random(t.data.size(), ++seed)});
    }
  }
  return opt;
}

// The Fashion-MNIST ResNet of the zoo, as stored (not optimised).
const Graph& Backbone() {
  static const Graph graph = [] {
    StatusOr<Graph> g = BuildZooModel("fmnist_resnet", 1);
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return g.ok() ? std::move(g).value() : Graph();
  }();
  return graph;
}

// A typical personalisation: 4 exits with heads of width 32 on fmnist_resnet's 10 classes.
Personalisation Typical(bool with_optimizer) {
  Personalisation p;
  StatusOr<Graph> optimised = OptimizeBackbone(Backbone());
  EXPECT_TRUE(optimised.ok()) << optimised.status().ToString();
  if (!optimised.ok()) return p;
  HeadOptions options;
  options.max_width = 32;
  StatusOr<ExitPlan> plan = PlaceExitsByFraction(*optimised, EvenFractions(4), options);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  if (!plan.ok()) return p;
  const std::vector<float> thresholds = {0.93f, 0.81f, -0.0f, kInf};
  for (size_t i = 0; i < plan->exits.size(); ++i) {
    EXPECT_EQ(plan->exits[i].width, 32) << plan->exits[i].name;
    StatusOr<Graph> head = BuildHead(plan->exits[i], plan->classes, 7 + i);
    EXPECT_TRUE(head.ok()) << head.status().ToString();
    if (!head.ok()) return p;
    p.exits.push_back({plan->exits[i], std::move(head).value(), thresholds[i % 4]});
  }
  p.measure = ConfidenceMeasure::kEntropy;
  p.classes = plan->classes;
  p.output_tensor = plan->output_tensor;
  p.backbone_macs = plan->backbone_macs;
  p.backbone_hash = BackboneHash(Backbone());
  p.metadata = StandardMetadata();
  p.metadata["seed"] = "42";
  p.metadata["epochs"] = "5";
  p.metadata["samples"] = "600";
  p.metadata["label_fraction"] = "0.25";
  p.metadata["empty"] = "";
  p.metadata["bytes"] = std::string("a\0b\xff\n", 5);
  if (with_optimizer) p.optimizer = AdamState(p.exits, 1234);
  return p;
}

// A small personalisation (about 1.5 KB): two exits on 2x2x3 features, 3 classes.
Personalisation Small() {
  Personalisation p;
  p.classes = 3;
  p.output_tensor = "fc";
  p.backbone_macs = 5000;
  p.backbone_hash = Sha256Hex("backbone", 8);
  for (int i = 0; i < 2; ++i) {
    ExitPoint e;
    e.name = "exit" + std::to_string(i + 1);
    e.tensor = "block" + std::to_string(i + 1);
    e.feature_shape = {1, 2, 2, 3};
    e.backbone_macs = 1000 * (i + 1);
    e.flop_fraction = 0.2 * (i + 1);
    e.width = i;  // a linear probe, then a 1x1 convolution to one channel
    e.head_macs = 12 + i;
    StatusOr<Graph> head = BuildHead(e, p.classes, 3 + i);
    EXPECT_TRUE(head.ok()) << head.status().ToString();
    p.exits.push_back({e, head.ok() ? std::move(head).value() : Graph(), 0.5f + 0.25f * i});
  }
  p.metadata = {{"seed", "1"}, {"tool", "test"}};
  OptimizerState opt;
  opt.name = "sgd";
  opt.step = 3;
  opt.arrays.push_back({"exit1.fc.weight/momentum", {1.0f, -0.0f, 1e-45f, 3.4028235e38f}});
  p.optimizer = opt;
  return p;
}

std::vector<uint8_t> Serialize(const Personalisation& p) {
  StatusOr<std::vector<uint8_t>> bytes = SerializePersonalisation(p);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? std::move(bytes).value() : std::vector<uint8_t>();
}

StatusOr<Personalisation> Parse(const std::vector<uint8_t>& bytes) {
  return ParsePersonalisation(bytes.data(), bytes.size(), "user.psp");
}

const std::vector<uint8_t>& SmallBytes() {
  static const std::vector<uint8_t> bytes = Serialize(Small());
  return bytes;
}

uint32_t Crc(const uint8_t* data, size_t size) {
  return static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), data, static_cast<uInt>(size)));
}

void PutLe(std::vector<uint8_t>* bytes, size_t at, uint64_t value, int width) {
  for (int i = 0; i < width; ++i) (*bytes)[at + i] = static_cast<uint8_t>(value >> (8 * i));
}

// Recomputes the payload's CRC-32 in the header, so a corrupt payload reaches the parser.
void Reseal(std::vector<uint8_t>* bytes) {
  PutLe(bytes, 24, Crc(bytes->data() + kHeader, bytes->size() - kHeader), 4);
}

std::string ReadOrEmpty(const std::string& path) {
  StatusOr<std::string> text = ReadFile(path);
  return text.ok() ? *text : std::string();
}

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
  EXPECT_EQ(le(8, 4), 1u);                       // version
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

TEST(PersonalisationTest, TruncationAtEveryLengthIsDataLoss) {
  const std::vector<uint8_t>& bytes = SmallBytes();
  for (size_t length = 0; length < bytes.size(); ++length) {
    StatusOr<Personalisation> p = ParsePersonalisation(bytes.data(), length, "user.psp");
    ASSERT_FALSE(p.ok()) << "length " << length;
    EXPECT_EQ(p.status().code(), StatusCode::kDataLoss) << "length " << length;
    EXPECT_TRUE(Contains(p.status().message(), "user.psp is truncated"))
        << "length " << length << ": " << p.status().ToString();
  }
  // Through a file: the message names it.
  TempDir dir;
  const std::string path = dir.File("cut.psp");
  ASSERT_TRUE(WriteFileAtomically(path, bytes.data(), bytes.size() / 2).ok());
  StatusOr<Personalisation> p = LoadPersonalisation(path);
  EXPECT_EQ(p.status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(p.status().message(), path + " is truncated")) << p.status().ToString();
}

TEST(PersonalisationTest, EveryFlippedBitIsCaught) {
  const std::vector<uint8_t>& bytes = SmallBytes();
  int flips = 0;
  for (size_t at = 0; at < bytes.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> bad = bytes;
      bad[at] ^= static_cast<uint8_t>(1 << bit);
      const StatusOr<Personalisation> p = Parse(bad);
      ASSERT_FALSE(p.ok()) << "byte " << at << " bit " << bit;
      const Status& s = p.status();
      ASSERT_TRUE(Contains(s.message(), "user.psp")) << s.ToString();
      if (at < 8) {
        EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << "byte " << at;
        EXPECT_TRUE(Contains(s.message(), "not a persephonee personalisation file"))
            << s.ToString();
      } else if (at < 12) {
        EXPECT_EQ(s.code(), StatusCode::kUnimplemented) << "byte " << at;
        EXPECT_TRUE(Contains(s.message(), "version")) << s.ToString();
      } else if (at >= kHeader || (at >= 24 && at < 28)) {
        EXPECT_EQ(s.code(), StatusCode::kDataLoss) << "byte " << at;
        EXPECT_TRUE(Contains(s.message(), "checksum mismatch")) << s.ToString();
      } else {
        EXPECT_EQ(s.code(), StatusCode::kDataLoss) << "byte " << at << ": " << s.ToString();
      }
      ++flips;
    }
  }
  EXPECT_EQ(flips, static_cast<int>(8 * bytes.size()));
}

TEST(PersonalisationTest, WrongMagicVersionAndTrailingBytesAreNamed) {
  std::vector<uint8_t> bytes = SmallBytes();
  // A model file is not a personalisation file.
  StatusOr<std::vector<uint8_t>> model = SerializeGraph(Small().exits[0].head);
  ASSERT_TRUE(model.ok());
  Status s = Parse(*model).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "user.psp is not a persephonee personalisation file"))
      << s.ToString();
  // A later version.
  std::vector<uint8_t> v2 = bytes;
  PutLe(&v2, 8, 2, 4);
  s = Parse(v2).status();
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_TRUE(Contains(s.message(), "version 2 is not supported")) << s.ToString();
  // One byte too many.
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  s = Parse(longer).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(s.message(), "1 unexpected trailing bytes")) << s.ToString();
  // Extra bytes inside the payload, sealed: refused after the last record.
  std::vector<uint8_t> padded = bytes;
  padded.insert(padded.end(), {0, 0, 0});
  PutLe(&padded, 16, padded.size() - kHeader, 8);
  Reseal(&padded);
  s = Parse(padded).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(s.message(), "3 unexpected bytes after the last record")) << s.ToString();
  // Missing and empty files.
  TempDir dir;
  EXPECT_EQ(LoadPersonalisation(dir.File("none.psp")).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(WriteFileAtomically(dir.File("empty.psp"), "", 0).ok());
  s = LoadPersonalisation(dir.File("empty.psp")).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(s.message(), "truncated")) << s.ToString();
}

TEST(PersonalisationTest, CorruptRecordsThatPassTheChecksumAreRefused) {
  const std::vector<uint8_t>& bytes = SmallBytes();
  // Byte offsets of the first fields (see HeaderIsAsDocumented): classes at 32, measure 36,
  // optimiser flag 37, reserved 38, backbone MACs 40, hash 48 (4 + 64 bytes), output tensor at
  // 116 ("fc": 4 + 2 bytes), exit count at 122, the first exit's name at 126.
  struct Case {
    size_t at;
    uint64_t value;
    int width;
    const char* message;
  };
  const std::vector<Case> cases = {
      {32, 0, 4, "classes at byte 32 is 0"},
      {36, 7, 1, "confidence measure at byte 36 is 7"},
      {37, 2, 1, "optimiser flag at byte 37 is 2"},
      {38, 1, 2, "reserved field at byte 38 is 1"},
      {40, uint64_t{1} << 63, 8, "backbone MACs at byte 40"},
      {48, 63, 4, "backbone hash at byte 48 has length 63"},
      {116, 0xFFFFFFFF, 4, "output tensor at byte 116 has length 4294967295"},
      {122, 0xFFFFFFFF, 4, "exit count at byte 122 is 4294967295"},
      {122, 0, 4, "exit count at byte 122 is 0"},
      {126, 100000, 4, "exit name at byte 126 has length 100000"},
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> bad = bytes;
    PutLe(&bad, c.at, c.value, c.width);
    Reseal(&bad);
    const Status s = Parse(bad).status();
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << c.message << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.message(), c.message)) << s.ToString();
  }
  // A head whose size runs past the end.
  const size_t name_length = 5;  // "exit1"
  const size_t head_size_at = 126 + 4 + name_length + 4 + 6 + 4 + 4 * 8 + 8 + 8 + 8 + 8 + 4;
  std::vector<uint8_t> bad = bytes;
  PutLe(&bad, head_size_at, uint64_t{1} << 40, 8);
  Reseal(&bad);
  Status s = Parse(bad).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(s.message(), "exit 'exit1'") && Contains(s.message(), "head model size"))
      << s.ToString();
  // A semantically invalid file: a NaN threshold (the float just before the head size).
  bad = bytes;
  PutLe(&bad, head_size_at - 4, 0x7FC00000, 4);
  Reseal(&bad);
  s = Parse(bad).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "user.psp: personalisation: exit 'exit1': threshold is NaN"))
      << s.ToString();
}

TEST(PersonalisationTest, RandomDamageThatPassesTheChecksumNeverCrashes) {
  // Resealed random damage: either a clear error, or a file that is still valid and is written
  // back byte for byte (the format is canonical).
  const std::vector<uint8_t>& bytes = SmallBytes();
  std::mt19937_64 rng(5);
  int refused = 0;
  for (int trial = 0; trial < 1500; ++trial) {
    std::vector<uint8_t> bad = bytes;
    const int changes = 1 + static_cast<int>(rng() % 3);
    for (int c = 0; c < changes; ++c) {
      const size_t at = kHeader + rng() % (bad.size() - kHeader);
      bad[at] = static_cast<uint8_t>(trial % 4 == 0 ? 0xFF : rng());
    }
    Reseal(&bad);
    const StatusOr<Personalisation> p = Parse(bad);
    if (p.ok()) {
      EXPECT_EQ(Serialize(*p), bad) << "trial " << trial;
      continue;
    }
    ++refused;
    const StatusCode code = p.status().code();
    EXPECT_TRUE(code == StatusCode::kDataLoss || code == StatusCode::kInvalidArgument ||
                code == StatusCode::kUnimplemented)
        << "trial " << trial << ": " << p.status().ToString();
    EXPECT_TRUE(Contains(p.status().message(), "user.psp")) << p.status().ToString();
  }
  EXPECT_GT(refused, 1000);
}

TEST(PersonalisationTest, ForeignBackboneIsRefusedWithBothHashes) {
  const Personalisation p = Typical(/*with_optimizer=*/false);
  EXPECT_TRUE(CheckBackbone(p, Backbone()).ok());
  // The hash is the SHA-256 of the model file SaveGraph writes.
  TempDir dir;
  const std::string model = dir.File("backbone.psm");
  ASSERT_TRUE(SaveGraph(Backbone(), model).ok());
  const std::string file = ReadOrEmpty(model);
  EXPECT_EQ(p.backbone_hash, Sha256Hex(file.data(), file.size()));
  // Other weights: refused, naming both hashes.
  StatusOr<Graph> other = BuildZooModel("fmnist_resnet", 2);
  ASSERT_TRUE(other.ok());
  const std::string other_hash = BackboneHash(*other);
  ASSERT_EQ(other_hash.size(), 64u);
  EXPECT_NE(other_hash, p.backbone_hash);
  Status s = CheckBackbone(p, *other);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(s.message(), p.backbone_hash)) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), other_hash)) << s.ToString();
  // One weight one ulp away is another backbone too.
  Graph nudged = Backbone();
  for (TensorId t = 0; t < nudged.num_tensors(); ++t) {
    if (nudged.tensor(t).kind != TensorKind::kParameter) continue;
    float& w = nudged.mutable_tensor(t).data[0];
    w = std::nextafter(w, kInf);
    break;
  }
  EXPECT_EQ(CheckBackbone(p, nudged).code(), StatusCode::kFailedPrecondition);
  // A graph that cannot be serialised has no hash.
  EXPECT_EQ(BackboneHash(Graph()), "");
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
