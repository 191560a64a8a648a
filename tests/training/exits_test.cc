#include "training/exits.h"

#include <gtest/gtest.h>

#include "graph/flops.h"
#include "graph/zoo.h"

namespace persephonee {
namespace {

Graph Backbone(const char* name) {
  auto g = BuildZooModel(name, 1);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  auto opt = OptimizeBackbone(*g);
  EXPECT_TRUE(opt.ok()) << opt.status().ToString();
  return std::move(opt).value();
}

std::vector<std::string> CutTensors(const Graph& g) {
  std::vector<std::string> names;
  for (NodeId n : CutNodes(g)) names.push_back(g.tensor(g.node(n).output).name);
  return names;
}

TEST(ExitsTest, CutsAreBlockOutputsOnly) {
  const Graph g = Backbone("fmnist_resnet");
  const std::vector<std::string> expected = {"relu",         "layer1.0.out", "layer1.1.out",
                                             "layer2.0.out", "layer2.1.out", "layer3.0.out",
                                             "layer3.1.out"};
  EXPECT_EQ(CutTensors(g), expected);
}

TEST(ExitsTest, MobilenetCutsSkipResidualInteriors) {
  const Graph g = Backbone("mobilenet_v2");
  const std::vector<std::string> cuts = CutTensors(g);
  ASSERT_GE(cuts.size(), 10u);
  // Inside a residual block the block's input is still needed by its add: never a cut.
  const std::vector<std::vector<NodeId>> consumers = g.Consumers();
  for (NodeId n : CutNodes(g)) {
    const TensorId out = g.node(n).output;
    for (NodeId later = n + 1; later < g.num_nodes(); ++later) {
      for (TensorId t : g.node(later).inputs) {
        if (t == kNoTensor || g.tensor(t).kind == TensorKind::kParameter) continue;
        const NodeId producer = g.Producer(t);
        EXPECT_TRUE(producer == kNoNode ? false : producer >= n)
            << "cut '" << g.tensor(out).name << "' but node '" << g.node(later).name
            << "' reads the earlier tensor '" << g.tensor(t).name << "'";
      }
    }
  }
}

TEST(ExitsTest, FractionsLandNearTheirTargetsAndHeadsFitTheBudget) {
  const Graph g = Backbone("fmnist_resnet");
  auto plan = PlaceExitsByFraction(g, EvenFractions(4));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->exits.size(), 4u);
  EXPECT_EQ(plan->classes, 10);
  EXPECT_EQ(plan->output_tensor, "fc");
  EXPECT_EQ(plan->exits[0].tensor, "layer1.0.out");
  EXPECT_EQ(plan->exits[1].tensor, "layer1.1.out");
  EXPECT_EQ(plan->exits[2].tensor, "layer2.1.out");
  EXPECT_EQ(plan->exits[3].tensor, "layer3.0.out");
  for (size_t i = 0; i < plan->exits.size(); ++i) {
    const ExitPoint& e = plan->exits[i];
    EXPECT_EQ(e.name, "exit" + std::to_string(i + 1));
    EXPECT_NEAR(e.flop_fraction, 0.2 * (i + 1), 0.07) << e.name;
    EXPECT_LE(e.head_macs, 0.03 * plan->backbone_macs) << e.name;
    EXPECT_GE(e.width, 4);
    EXPECT_LE(e.width, 128);
    // The stored cost is the head graph's own.
    auto head = BuildHead(e, plan->classes, 7);
    ASSERT_TRUE(head.ok()) << head.status().ToString();
    EXPECT_EQ(ComputeGraphCost(*head).total.macs, e.head_macs);
    EXPECT_EQ(head->tensor(head->outputs()[0]).shape, (Shape{1, 10}));
  }
  EXPECT_EQ(plan->backbone_macs, ComputeGraphCost(g).total.macs);
}

TEST(ExitsTest, HeadsAreDeterministicPerSeed) {
  const Graph g = Backbone("fmnist_resnet");
  auto plan = PlaceExitsByFraction(g, {0.5});
  ASSERT_TRUE(plan.ok());
  auto a = BuildHead(plan->exits[0], 10, 3), b = BuildHead(plan->exits[0], 10, 3),
       c = BuildHead(plan->exits[0], 10, 4);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_TRUE(GraphsEqual(*a, *b));
  EXPECT_FALSE(GraphsEqual(*a, *c));
}

TEST(ExitsTest, PlacementByNodeAndItsErrors) {
  const Graph g = Backbone("fmnist_resnet");
  auto plan = PlaceExitsByNode(g, {"layer1.1.out", "layer2.1.out"});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->exits[1].tensor, "layer2.1.out");
  auto inside = PlaceExitsByNode(g, {"layer1.1.conv1"});
  ASSERT_FALSE(inside.ok());
  EXPECT_NE(inside.status().message().find("not a place an exit can attach"), std::string::npos);
  auto missing = PlaceExitsByNode(g, {"nope"});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(PlaceExitsByNode(g, {"layer2.1.out", "layer1.1.out"}).ok());
  EXPECT_FALSE(PlaceExitsByFraction(g, {0.5, 0.4}).ok());
  EXPECT_FALSE(PlaceExitsByFraction(g, {0.0}).ok());
  EXPECT_FALSE(PlaceExitsByFraction(g, EvenFractions(12)).ok()) << "only 7 places";
  HeadOptions tiny;
  tiny.max_cost_fraction = 1e-6;
  auto too_small = PlaceExitsByFraction(g, {0.5}, tiny);
  EXPECT_EQ(too_small.status().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace persephonee
