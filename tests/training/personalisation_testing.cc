#include "tests/training/personalisation_testing.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <random>

#include "base/file_io.h"
#include "graph/zoo.h"
#include "training/exits.h"
#include "training/sha256.h"

namespace persephonee {
namespace personalisation_testing {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TempDir::TempDir(const char* root) {
  if (root == nullptr) root = getenv("TEST_TMPDIR");
  if (root == nullptr || *root == '\0') root = "/tmp";
  std::string pattern = std::string(root) + "/personalisation_test.XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) != nullptr) path_ = buffer.data();
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  chmod(path_.c_str(), 0700);
  for (const std::string& name : Entries()) unlink((path_ + "/" + name).c_str());
  rmdir(path_.c_str());
}

std::vector<std::string> TempDir::Entries() const {
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

namespace {

const std::string& BackboneHashOnce() {
  static const std::string hash = BackboneHash(Backbone());
  return hash;
}

// A typical personalisation: 4 exits with heads of width 32 on fmnist_resnet's 10 classes.
Personalisation BuildTypical() {
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
  p.backbone_hash = BackboneHashOnce();
  p.metadata = StandardMetadata();
  p.metadata["seed"] = "42";
  p.metadata["epochs"] = "5";
  p.metadata["samples"] = "600";
  p.metadata["label_fraction"] = "0.25";
  p.metadata["empty"] = "";
  p.metadata["bytes"] = std::string("a\0b\xff\n", 5);
  return p;
}

}  // namespace

Personalisation Typical(bool with_optimizer) {
  static const Personalisation typical = BuildTypical();  // Built once: emulation is slow.
  Personalisation p = typical;
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

}  // namespace personalisation_testing
}  // namespace persephonee
