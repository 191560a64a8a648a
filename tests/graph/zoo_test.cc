// The model zoo: MACs and parameters against PyTorch's counts and the published figures,
// PyTorch state_dict names and shapes, output and stage shapes, seeded initialisation.
#include "graph/zoo.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "graph/flops.h"

namespace persephonee {
namespace {

// From tests/graph/zoo_reference.py (PyTorch 1.13, torchvision 0.14): conv + linear MACs,
// learnable parameters, BatchNorm running statistics.
struct Reference {
  const char* name;
  int64_t macs;
  int64_t params;
  int64_t bn_stats;
};
constexpr Reference kReference[] = {
    {"fmnist_resnet", 22464256, 697130, 2304},
    {"resnet20", 40813184, 272474, 1568},
    {"mobilenet_v2", 300774272, 3504872, 34112},
    {"resnet18", 1814073344, 11689512, 9600},
};

// Published figures: MACs (multiply-adds) and learnable parameters, and the tolerance.
struct Published {
  const char* name;
  double macs;
  double params;
};
constexpr Published kPublished[] = {
    {"resnet20", 41e6, 0.27e6},       // He et al. 2016, Table 6
    {"mobilenet_v2", 300e6, 3.50e6},  // Sandler et al. 2018; torchvision
    {"resnet18", 1.82e9, 11.69e6},    // He et al. 2016, Table 1; torchvision
};
constexpr double kPublishedTolerance = 0.03;

struct Built {
  Graph graph;
  GraphCost cost;
};

// Each model is built once (resnet18 has 11.7 M weights).
const Built& Model(const std::string& name) {
  static std::map<std::string, Built> built;
  auto it = built.find(name);
  if (it == built.end()) {
    StatusOr<Graph> g = BuildZooModel(name, 1);
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    Built b;
    if (g.ok()) b.graph = std::move(g).value();
    b.cost = ComputeGraphCost(b.graph);
    it = built.emplace(name, std::move(b)).first;
  }
  return it->second;
}

TEST(ZooTest, MacsAndParametersMatchPyTorchExactly) {
  for (const Reference& ref : kReference) {
    SCOPED_TRACE(ref.name);
    const Built& m = Model(ref.name);
    EXPECT_EQ(m.cost.total.macs, ref.macs);
    EXPECT_EQ(m.cost.total.flops, 2 * ref.macs);
    // Our parameter count includes BatchNorm's running statistics; PyTorch's does not.
    EXPECT_EQ(m.cost.total.params, ref.params + ref.bn_stats);
  }
}

TEST(ZooTest, MacsAndParametersMatchPublishedFigures) {
  for (const Published& pub : kPublished) {
    SCOPED_TRACE(pub.name);
    const Built& m = Model(pub.name);
    const double macs = static_cast<double>(m.cost.total.macs);
    EXPECT_NEAR(macs / pub.macs, 1.0, kPublishedTolerance) << macs;
    int64_t bn_stats = 0;
    for (const Node& n : m.graph.nodes()) {
      if (n.op == OpType::kBatchNorm) bn_stats += 2 * m.graph.tensor(n.inputs[1]).shape[0];
    }
    const double learnable = static_cast<double>(m.cost.total.params - bn_stats);
    EXPECT_NEAR(learnable / pub.params, 1.0, kPublishedTolerance) << learnable;
  }
  const double fmnist = static_cast<double>(Model("fmnist_resnet").cost.total.macs);
  EXPECT_GE(fmnist, 5e6);
  EXPECT_LE(fmnist, 30e6);
}

TEST(ZooTest, InputOutputAndStageShapes) {
  const std::map<std::string, std::vector<Shape>> stages = {
      {"fmnist_resnet", {{1, 14, 14, 32}, {1, 7, 7, 64}, {1, 4, 4, 128}}},
      {"resnet20", {{1, 32, 32, 16}, {1, 16, 16, 32}, {1, 8, 8, 64}}},
      {"mobilenet_v2",
       {{1, 56, 56, 24},
        {1, 28, 28, 32},
        {1, 14, 14, 64},
        {1, 14, 14, 96},
        {1, 7, 7, 160},
        {1, 7, 7, 1280}}},
      {"resnet18", {{1, 56, 56, 64}, {1, 28, 28, 128}, {1, 14, 14, 256}, {1, 7, 7, 512}}},
  };
  ASSERT_EQ(ZooModels().size(), 4u);
  for (const ZooModelInfo& info : ZooModels()) {
    SCOPED_TRACE(info.name);
    const Graph& g = Model(info.name).graph;
    ASSERT_EQ(g.inputs().size(), 1u);
    EXPECT_EQ(g.tensor(g.inputs()[0]).shape, info.input_shape);
    ASSERT_EQ(g.outputs().size(), 1u);
    EXPECT_EQ(g.tensor(g.outputs()[0]).shape, (Shape{1, info.num_classes}));
    const std::vector<Shape>& want = stages.at(info.name);
    ASSERT_EQ(info.stage_outputs.size(), want.size());
    NodeId previous = -1;
    for (size_t i = 0; i < want.size(); ++i) {
      StatusOr<NodeId> id = g.FindNode(info.stage_outputs[i]);
      ASSERT_TRUE(id.ok()) << info.stage_outputs[i];
      EXPECT_EQ(g.tensor(g.node(*id).output).shape, want[i]) << info.stage_outputs[i];
      EXPECT_GT(*id, previous) << "stage outputs out of execution order";
      previous = *id;
    }
  }
}

// Every parameter tensor is a PyTorch state_dict key with the same shape (OIHW -> OHWI for
// convolution weights), and every key is there: pretrained weights load by name.
TEST(ZooTest, ParameterNamesAndShapesMatchPyTorchStateDict) {
  std::string path = "tests/graph/testdata/zoo_param_names.txt";
  std::ifstream in(path);
  if (!in.good() && std::getenv("TEST_SRCDIR")) {
    in.open(std::string(std::getenv("TEST_SRCDIR")) + "/persephonee/" + path);
  }
  ASSERT_TRUE(in.good()) << "cannot open " << path;
  std::map<std::string, std::map<std::string, Shape>> keys;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string model, key, dims;
    fields >> model >> key >> dims;
    Shape shape;
    std::istringstream d(dims);
    for (std::string v; std::getline(d, v, ',');) shape.push_back(std::stoll(v));
    if (shape.size() == 4) shape = {shape[0], shape[2], shape[3], shape[1]};  // OIHW -> OHWI
    keys[model][key] = shape;
  }
  ASSERT_EQ(keys.size(), 4u);
  for (const ZooModelInfo& info : ZooModels()) {
    SCOPED_TRACE(info.name);
    const Graph& g = Model(info.name).graph;
    std::map<std::string, Shape> ours;
    for (const Tensor& t : g.tensors()) {
      if (t.kind == TensorKind::kParameter) ours[t.name] = t.shape;
    }
    const std::map<std::string, Shape>& theirs = keys.at(info.name);
    for (const auto& [name, shape] : theirs) {
      auto it = ours.find(name);
      if (it == ours.end()) {
        ADD_FAILURE() << "missing PyTorch key " << name;
        continue;
      }
      EXPECT_EQ(it->second, shape) << name;
    }
    for (const auto& [name, shape] : ours) {
      EXPECT_TRUE(theirs.count(name)) << "parameter " << name << " is not a PyTorch key";
    }
  }
}

TEST(ZooTest, SameSeedSameWeightsOtherSeedOtherWeights) {
  for (const char* name : {"fmnist_resnet", "resnet20"}) {
    StatusOr<Graph> a = BuildZooModel(name, 42);
    StatusOr<Graph> b = BuildZooModel(name, 42);
    StatusOr<Graph> c = BuildZooModel(name, 43);
    ASSERT_TRUE(a.ok() && b.ok() && c.ok());
    std::string why;
    EXPECT_TRUE(GraphsEqual(*a, *b, &why)) << name << ": " << why;
    EXPECT_FALSE(GraphsEqual(*a, *c, &why)) << name;
    EXPECT_NE(why.find("data of tensor"), std::string::npos) << why;
  }
}

// An independent splitmix64 and the documented mapping to [-1, 1): the zoo's first weights
// for a seed are exactly these, on every machine (this test also runs on aarch64).
TEST(ZooTest, InitialisationIsTheDocumentedSeededHeUniform) {
  uint64_t state = 1;
  auto next = [&state]() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  const Graph& g = Model("fmnist_resnet").graph;
  const std::vector<float>& w = g.tensor(*g.FindTensor("conv1.weight")).data;
  ASSERT_EQ(w.size(), 32u * 9u);
  const float bound = static_cast<float>(std::sqrt(6.0 / 9.0));  // fan_in = 3*3*1
  for (size_t i = 0; i < w.size(); ++i) {
    const double u =
        static_cast<double>(static_cast<int64_t>(next() >> 40) - (1 << 23)) / 8388608.0;
    ASSERT_EQ(w[i], static_cast<float>(u) * bound) << "conv1.weight element " << i;
  }
}

TEST(ZooTest, WeightStatisticsAreHeAndBatchNormIsNearIdentity) {
  const Graph& g = Model("fmnist_resnet").graph;
  // 147456 values: the sample variance is within 2% of 2/fan_in with overwhelming odds.
  const std::vector<float>& w = g.tensor(*g.FindTensor("layer3.1.conv2.weight")).data;
  const double fan_in = 3 * 3 * 128;
  const double bound = std::sqrt(6.0 / fan_in);
  double sum = 0.0, sq = 0.0, max_abs = 0.0;
  for (float v : w) {
    sum += v;
    sq += static_cast<double>(v) * v;
    max_abs = std::max(max_abs, std::fabs(static_cast<double>(v)));
  }
  const double mean = sum / static_cast<double>(w.size());
  const double var = sq / static_cast<double>(w.size()) - mean * mean;
  EXPECT_LT(std::fabs(mean), 0.01 * bound);
  EXPECT_NEAR(var / (2.0 / fan_in), 1.0, 0.02);
  EXPECT_LE(max_abs, bound);
  EXPECT_GT(max_abs, 0.99 * bound);

  for (const Node& n : g.nodes()) {
    if (n.op != OpType::kBatchNorm) continue;
    for (float v : g.tensor(n.inputs[1]).data) EXPECT_TRUE(v >= 0.9f && v <= 1.1f) << n.name;
    for (float v : g.tensor(n.inputs[2]).data) EXPECT_TRUE(v >= -0.1f && v <= 0.1f) << n.name;
    for (float v : g.tensor(n.inputs[3]).data) EXPECT_TRUE(v >= -0.1f && v <= 0.1f) << n.name;
    for (float v : g.tensor(n.inputs[4]).data) EXPECT_TRUE(v >= 0.9f && v <= 1.1f) << n.name;
    EXPECT_EQ(n.batch_norm()->epsilon, 1e-5f);
  }
  const std::vector<float>& fc = g.tensor(*g.FindTensor("fc.weight")).data;
  for (float v : fc) EXPECT_LE(std::fabs(v), 1.0 / std::sqrt(128.0));
}

TEST(ZooTest, UnknownNamesListTheZoo) {
  StatusOr<Graph> g = BuildZooModel("resnet50", 1);
  EXPECT_EQ(g.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(g.status().message(),
            "no zoo model named 'resnet50'; the zoo has: fmnist_resnet, resnet20, mobilenet_v2, "
            "resnet18");
  EXPECT_EQ(FindZooModel("").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(FindZooModel("mobilenet_v2").ok());
  EXPECT_EQ(FindZooModel("mobilenet_v2")->num_classes, 1000);
}

}  // namespace
}  // namespace persephonee
