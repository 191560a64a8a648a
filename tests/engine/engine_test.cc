#include "engine/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "graph/zoo.h"
#include "kernels/loss/loss.h"
#include "tests/testing/test_graphs.h"
#include "training/network.h"

namespace persephonee {
namespace {

using testing_graphs::EveryOpNet;
using testing_graphs::RandomVector;

// Largest |a - b| relative to the largest |b|.
double RelativeError(const float* a, const float* b, size_t n) {
  double worst = 0.0, scale = 1e-30;
  for (size_t i = 0; i < n; ++i) {
    worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return worst / scale;
}

// Runs `graph` through the engine and through the trainer's forward (the project's own
// kernels, no XNNPACK) and returns the relative difference of the outputs.
double EngineVsNetwork(const Graph& graph, int64_t batch, int threads) {
  EngineOptions options;
  options.batch = batch;
  options.threads = threads;
  auto engine = Engine::Create(graph, options);
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  if (!engine.ok()) return 1e9;
  auto net = Network::Create(graph, batch, nullptr);
  EXPECT_TRUE(net.ok()) << net.status().ToString();
  if (!net.ok()) return 1e9;
  const size_t in = (*net)->input_size() * static_cast<size_t>(batch);
  const size_t out = (*net)->output_size() * static_cast<size_t>(batch);
  const std::vector<float> x = RandomVector(in, 77, 0.0f, 1.0f);
  std::copy(x.begin(), x.end(), (*engine)->input());
  EXPECT_TRUE((*engine)->Run().ok());
  EXPECT_TRUE((*net)->Forward(x.data(), batch).ok());
  return RelativeError((*engine)->output(), (*net)->output(), out);
}

TEST(EngineTest, MatchesOwnKernelsOnEveryOp) {
  for (int64_t batch : {1, 3}) {
    for (int threads : {1, 2}) {
      auto graph = EveryOpNet(5, 1, 5, /*softmax=*/false);
      ASSERT_TRUE(graph.ok()) << graph.status().ToString();
      EXPECT_LT(EngineVsNetwork(*graph, batch, threads), 1e-4)
          << "batch " << batch << " threads " << threads;
    }
  }
}

TEST(EngineTest, SoftmaxOutputIsSoftmaxOfLogits) {
  auto with = EveryOpNet(6, 1, 7, /*softmax=*/true);
  ASSERT_TRUE(with.ok());
  auto engine = Engine::Create(*with, {});
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  auto net = Network::Create(*with, 1, nullptr);  // drops the softmax: logits
  ASSERT_TRUE(net.ok()) << net.status().ToString();
  const std::vector<float> x = RandomVector((*net)->input_size(), 3, 0.0f, 1.0f);
  std::copy(x.begin(), x.end(), (*engine)->input());
  ASSERT_TRUE((*engine)->Run().ok());
  ASSERT_TRUE((*net)->Forward(x.data(), 1).ok());
  std::vector<float> probs(7);
  f32_softmax__scalar(1, 7, (*net)->output(), 1.0f, probs.data());
  EXPECT_LT(RelativeError((*engine)->output(), probs.data(), 7), 1e-4);
}

TEST(EngineTest, MatchesOwnKernelsOnZooModels) {
  for (const char* name : {"fmnist_resnet", "resnet20"}) {
    auto graph = BuildZooModel(name, 3);
    ASSERT_TRUE(graph.ok()) << graph.status().ToString();
    EXPECT_LT(EngineVsNetwork(*graph, 2, 2), 1e-4) << name;
  }
}

TEST(EngineTest, ReleasesWeightsAndPlansWithinBounds) {
  auto graph = BuildZooModel("fmnist_resnet", 1);
  ASSERT_TRUE(graph.ok());
  const int64_t params = graph->NumParameterElements();
  auto engine = Engine::Create(*graph, {});
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  for (const Tensor& t : (*engine)->graph().tensors()) {
    if (t.kind == TensorKind::kParameter) {
      EXPECT_TRUE(t.data.empty()) << t.name;
    }
  }
  const ArenaReport& r = (*engine)->arena_report();
  EXPECT_GE(r.arena_bytes, r.lower_bound_bytes);
  EXPECT_LE(r.arena_bytes, r.no_reuse_bytes);
  EXPECT_LT(r.arena_bytes, r.no_reuse_bytes) << "a residual network must reuse memory";
  // BatchNorm folding adds conv biases, so the packed parameters are at least the original.
  EXPECT_GE(r.parameter_bytes, static_cast<size_t>(params) * sizeof(float) / 2);
}

TEST(EngineTest, SegmentsEqualOneRunAndKeptTensorsSurvive) {
  auto graph = EveryOpNet(9, 1, 5, false);
  ASSERT_TRUE(graph.ok());
  EngineOptions options;
  options.batch = 2;
  options.keep = {"block_relu"};
  auto engine = Engine::Create(*graph, options);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  Engine& e = **engine;
  const size_t in = 2 * 12 * 12 * 3;
  const std::vector<float> x = RandomVector(in, 11, 0.0f, 1.0f);
  std::copy(x.begin(), x.end(), e.input());
  ASSERT_TRUE(e.Run().ok());
  auto kept = e.TensorData("block_relu");
  ASSERT_TRUE(kept.ok());
  const size_t kept_n = 2 * 6 * 6 * 8;
  const std::vector<float> kept_after_run(*kept, *kept + kept_n);
  const size_t out_n = 2 * 5;
  const std::vector<float> whole(e.output(), e.output() + out_n);

  // The same in segments, reading the kept tensor right after the node that writes it.
  std::copy(x.begin(), x.end(), e.input());
  auto node = e.graph().FindNode("block_relu");
  ASSERT_TRUE(node.ok());
  ASSERT_TRUE(e.RunNodes(0, *node + 1).ok());
  EXPECT_EQ(std::vector<float>(*kept, *kept + kept_n), kept_after_run);
  ASSERT_TRUE(e.RunNodes(*node + 1, e.graph().num_nodes()).ok());
  EXPECT_EQ(std::vector<float>(e.output(), e.output() + out_n), whole);
}

TEST(EngineTest, RejectsBadOptions) {
  auto graph = EveryOpNet(1);
  ASSERT_TRUE(graph.ok());
  EngineOptions bad_batch;
  bad_batch.batch = 0;
  auto e1 = Engine::Create(*graph, bad_batch);
  ASSERT_FALSE(e1.ok());
  EXPECT_NE(e1.status().message().find("batch"), std::string::npos);
  EngineOptions bad_keep;
  bad_keep.keep = {"no_such_tensor"};
  auto e2 = Engine::Create(*graph, bad_keep);
  ASSERT_FALSE(e2.ok());
  EXPECT_EQ(e2.status().code(), StatusCode::kNotFound);
  EXPECT_NE(e2.status().message().find("no_such_tensor"), std::string::npos);
  auto ok = Engine::Create(*graph, {});
  ASSERT_TRUE(ok.ok());
  EXPECT_FALSE((*ok)->RunNodes(3, 1).ok());
}

}  // namespace
}  // namespace persephonee
