// The cost model: MACs, FLOPs, parameters and activation bytes, cumulative FLOPs.
#include "graph/flops.h"

#include <gtest/gtest.h>

#include "graph/builder.h"
#include "tests/graph/test_graphs.h"

namespace persephonee {
namespace {

using testing_graphs::RandomFloats;

TEST(FlopsTest, PerNodeCostsMatchHandCounts) {
  GraphBuilder b;
  TensorId x = b.Input("x", {2, 8, 8, 6});
  // 3x3 conv, 6 -> 10 channels, stride 2, pad 1: output [2,4,4,10]; each output is a dot
  // product of 3*3*6 = 54 terms.
  TensorId c = b.Conv2d("conv", x, Conv2dAttrs::Square(10, 3, 2, 1), RandomFloats(540, 1),
                        RandomFloats(10, 2));
  // Depthwise 3x3 on 10 channels: 9 terms per output.
  TensorId d = b.Conv2d("dw", c, Conv2dAttrs::Square(10, 3, 1, 1, 10), RandomFloats(90, 3));
  TensorId r = b.Relu("relu", d);
  TensorId p = b.GlobalAvgPool("gap", r);
  TensorId f = b.FullyConnected("fc", p, FullyConnectedAttrs{7, Activation::kNone},
                                RandomFloats(70, 4), RandomFloats(7, 5));
  b.MarkOutput(f);
  StatusOr<Graph> g = b.Build();
  ASSERT_TRUE(g.ok()) << g.status().ToString();

  GraphCost cost = ComputeGraphCost(*g);
  ASSERT_EQ(cost.nodes.size(), 5u);
  const int64_t conv_macs = 2 * 4 * 4 * 10 * 54;
  const int64_t dw_macs = 2 * 4 * 4 * 10 * 9;
  const int64_t fc_macs = 2 * 10 * 7;
  EXPECT_EQ(cost.nodes[0].macs, conv_macs);
  EXPECT_EQ(cost.nodes[0].flops, 2 * conv_macs);
  EXPECT_EQ(cost.nodes[0].params, 540 + 10);
  EXPECT_EQ(cost.nodes[0].activation_bytes, 2 * 4 * 4 * 10 * 4);
  EXPECT_EQ(cost.nodes[1].macs, dw_macs);
  EXPECT_EQ(cost.nodes[1].params, 90);
  EXPECT_EQ(cost.nodes[2].macs, 0);  // ReLU
  EXPECT_EQ(cost.nodes[2].params, 0);
  EXPECT_EQ(cost.nodes[3].macs, 0);  // GlobalAvgPool
  EXPECT_EQ(cost.nodes[3].activation_bytes, 2 * 10 * 4);
  EXPECT_EQ(cost.nodes[4].macs, fc_macs);
  EXPECT_EQ(cost.nodes[4].params, 77);
  EXPECT_EQ(cost.total.macs, conv_macs + dw_macs + fc_macs);
  EXPECT_EQ(cost.total.flops, 2 * cost.total.macs);
  EXPECT_EQ(cost.total.params, 540 + 10 + 90 + 77);
  EXPECT_EQ(cost.total.activation_bytes, (2 * 4 * 4 * 10 * 3 + 2 * 10 + 2 * 7) * 4);
  EXPECT_EQ(cost.input_bytes, 2 * 8 * 8 * 6 * 4);
}

TEST(FlopsTest, SharedParametersAreCountedOnceInTheTotal) {
  GraphBuilder b;
  TensorId x = b.Input("x", {1, 4, 4, 3});
  TensorId w = b.Parameter("shared", {3, 1, 1, 3}, RandomFloats(9, 1));
  TensorId y = b.AddNode("c1", OpType::kConv2d, {x, w}, Conv2dAttrs::Square(3, 1));
  y = b.AddNode("c2", OpType::kConv2d, {y, w}, Conv2dAttrs::Square(3, 1));
  b.MarkOutput(y);
  StatusOr<Graph> g = b.Build();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  GraphCost cost = ComputeGraphCost(*g);
  EXPECT_EQ(cost.nodes[0].params, 9);
  EXPECT_EQ(cost.nodes[1].params, 9);
  EXPECT_EQ(cost.total.params, 9);
}

TEST(FlopsTest, CumulativeFlopsAndFractions) {
  StatusOr<Graph> g = testing_graphs::EveryOpGraph(3);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  GraphCost cost = ComputeGraphCost(*g);
  std::vector<int64_t> cumulative = CumulativeFlops(*g);
  ASSERT_EQ(cumulative.size(), static_cast<size_t>(g->num_nodes()));
  int64_t sum = 0;
  for (size_t i = 0; i < cumulative.size(); ++i) {
    sum += cost.nodes[i].flops;
    EXPECT_EQ(cumulative[i], sum) << "node " << i;
  }
  EXPECT_EQ(cumulative.back(), cost.total.flops);

  // The first node reaching each fraction, checked against a scan of the cumulative sums.
  for (double fraction : {0.01, 0.25, 0.5, 0.75, 0.99, 1.0}) {
    StatusOr<NodeId> id = NodeAtFlopFraction(*g, fraction);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    const double target = fraction * static_cast<double>(cost.total.flops);
    EXPECT_GE(static_cast<double>(cumulative[static_cast<size_t>(*id)]), target) << fraction;
    if (*id > 0) {
      EXPECT_LT(static_cast<double>(cumulative[static_cast<size_t>(*id - 1)]), target) << fraction;
    }
  }
  // The whole budget is spent at the last node that costs anything (fc2 here).
  EXPECT_EQ(g->node(*NodeAtFlopFraction(*g, 1.0)).name, "fc2");
  EXPECT_EQ(g->node(*NodeAtFlopFraction(*g, 1e-9)).name, "c1");

  for (double bad : {0.0, -0.5, 1.5}) {
    StatusOr<NodeId> id = NodeAtFlopFraction(*g, bad);
    EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(id.status().message().find("FLOP fraction must be in (0, 1]"), std::string::npos);
  }
}

TEST(FlopsTest, GraphWithoutFlopsHasNoFraction) {
  GraphBuilder b;
  b.MarkOutput(b.Relu("r", b.Input("x", {1, 4})));
  StatusOr<Graph> g = b.Build();
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(ComputeGraphCost(*g).total.flops, 0);
  StatusOr<NodeId> id = NodeAtFlopFraction(*g, 0.5);
  EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(id.status().message().find("no FLOPs"), std::string::npos);
}

}  // namespace
}  // namespace persephonee
