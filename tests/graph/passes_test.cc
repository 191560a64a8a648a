// BatchNorm folding and activation fusion: exact weights, same function, only when legal.
#include "graph/passes.h"

#include <gtest/gtest.h>

#include <cmath>

#include "graph/builder.h"
#include "graph/flops.h"
#include "graph/zoo.h"
#include "tests/graph/test_graphs.h"

namespace persephonee {
namespace {

using testing_graphs::EvaluateReference;
using testing_graphs::RandomFloats;

int CountOps(const Graph& g, OpType op) {
  int n = 0;
  for (const Node& node : g.nodes()) n += node.op == op ? 1 : 0;
  return n;
}

// Runs both graphs on the same random inputs (reference evaluator, double) and compares every
// output: tolerance max(1e-5, 1e-5 * |ref|) for float parameters that were rounded once.
void ExpectSameFunction(const Graph& a, const Graph& b, uint32_t seed) {
  std::map<std::string, std::vector<float>> inputs;
  for (TensorId t : a.inputs()) {
    const Tensor& in = a.tensor(t);
    inputs[in.name] = RandomFloats(static_cast<size_t>(NumElements(in.shape)), seed++);
  }
  auto va = EvaluateReference(a, inputs);
  auto vb = EvaluateReference(b, inputs);
  ASSERT_EQ(a.outputs().size(), b.outputs().size());
  for (TensorId t : a.outputs()) {
    const std::string& name = a.tensor(t).name;
    ASSERT_TRUE(vb.count(name)) << "output '" << name << "' missing after the pass";
    const std::vector<double>& x = va.at(name);
    const std::vector<double>& y = vb.at(name);
    ASSERT_EQ(x.size(), y.size()) << name;
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_NEAR(y[i], x[i], std::max(1e-5, 1e-5 * std::fabs(x[i])))
          << "output '" << name << "' " << ShapeToString(a.tensor(t).shape) << " element " << i;
    }
  }
}

struct ConvBnGraph {
  Graph graph;
  std::vector<float> w, bias, gamma, beta, mean, var;
  float eps = 1e-3f;
};

// input -> conv (grouped, optional bias) -> BatchNorm -> ReLU -> output.
ConvBnGraph MakeConvBn(bool with_bias) {
  ConvBnGraph m;
  const int oc = 6;
  m.w = RandomFloats(oc * 3 * 3 * 2, 11);
  m.bias = with_bias ? RandomFloats(oc, 12) : std::vector<float>();
  m.gamma = RandomFloats(oc, 13, 0.5f, 2.0f);
  m.beta = RandomFloats(oc, 14);
  m.mean = RandomFloats(oc, 15);
  m.var = RandomFloats(oc, 16, 0.1f, 3.0f);
  GraphBuilder b;
  TensorId x = b.Input("x", {2, 7, 6, 4});
  TensorId y = b.Conv2d("conv", x, Conv2dAttrs::Square(oc, 3, 2, 1, /*groups=*/2), m.w, m.bias);
  y = b.BatchNorm("bn", y, m.gamma, m.beta, m.mean, m.var, m.eps);
  b.MarkOutput(b.Relu("relu", y));
  StatusOr<Graph> g = b.Build();
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  if (g.ok()) m.graph = std::move(g).value();
  return m;
}

TEST(FoldBatchNormTest, FoldedWeightsEqualTheAnalyticFold) {
  for (bool with_bias : {true, false}) {
    SCOPED_TRACE(with_bias ? "conv with bias" : "conv without bias");
    ConvBnGraph m = MakeConvBn(with_bias);
    const Graph original = m.graph;
    int folded = -1;
    StatusOr<Graph> out = FoldBatchNorm(m.graph, &folded);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(folded, 1);
    EXPECT_TRUE(GraphsEqual(original, m.graph)) << "the input graph was modified";
    ASSERT_EQ(out->num_nodes(), 2);
    EXPECT_EQ(out->node(0).op, OpType::kConv2d);
    EXPECT_EQ(out->node(1).op, OpType::kRelu);
    // The conv now writes the tensor the BatchNorm wrote.
    EXPECT_EQ(out->tensor(out->node(0).output).name, "bn");
    EXPECT_FALSE(out->FindTensor("bn.running_var").ok()) << "unused BN parameters remain";

    const std::vector<float>& w = out->tensor(*out->FindTensor("conv.weight")).data;
    const std::vector<float>& b = out->tensor(*out->FindTensor("conv.bias")).data;
    const size_t oc = m.gamma.size();
    const size_t per = m.w.size() / oc;
    ASSERT_EQ(w.size(), m.w.size());
    ASSERT_EQ(b.size(), oc);
    for (size_t c = 0; c < oc; ++c) {
      const double s = static_cast<double>(m.gamma[c]) /
                       std::sqrt(static_cast<double>(m.var[c]) + static_cast<double>(m.eps));
      for (size_t i = 0; i < per; ++i) {
        const double ref = static_cast<double>(m.w[c * per + i]) * s;
        ASSERT_NEAR(w[c * per + i], ref, std::max(1e-7, 1e-6 * std::fabs(ref)))
            << "weight [" << c << "][" << i << "] of OHWI [6,3,3,2]";
      }
      const double b0 = with_bias ? m.bias[c] : 0.0;
      const double ref_b = (b0 - m.mean[c]) * s + m.beta[c];
      ASSERT_NEAR(b[c], ref_b, std::max(1e-7, 1e-6 * std::fabs(ref_b))) << "bias " << c;
    }
    ExpectSameFunction(original, *out, 21);
  }
}

TEST(FoldBatchNormTest, LeavesBatchNormsThatCannotBeFolded) {
  GraphBuilder b;
  TensorId x = b.Input("x", {1, 5, 5, 3});
  auto bn = [&](const std::string& name, TensorId t) {
    const size_t c = static_cast<size_t>(b.shape(t).back());
    return b.BatchNorm(name, t, RandomFloats(c, 1, 0.5f, 1.5f), RandomFloats(c, 2),
                       RandomFloats(c, 3), RandomFloats(c, 4, 0.5f, 1.5f));
  };
  // 1. The conv has a fused activation: BN(relu(conv)) is not a scale of the conv.
  TensorId a = b.Conv2d("fused", x, Conv2dAttrs::Square(3, 1, 1, 0, 1, Activation::kRelu),
                        RandomFloats(9, 5));
  a = bn("bn_after_fused", a);
  // 2. The conv's output is also read by an Add.
  TensorId c = b.Conv2d("shared", a, Conv2dAttrs::Square(3, 1), RandomFloats(9, 6));
  TensorId d = bn("bn_after_shared", c);
  d = b.Add("add", d, c);
  // 3. A BatchNorm after something other than a conv.
  d = bn("bn_after_add", d);
  // 4. The conv's output is a graph output.
  TensorId e = b.Conv2d("exposed", d, Conv2dAttrs::Square(3, 1), RandomFloats(9, 7));
  b.MarkOutput(e);
  b.MarkOutput(bn("bn_after_exposed", e));
  // 5. One that folds.
  TensorId f = b.Conv2d("plain", d, Conv2dAttrs::Square(3, 1), RandomFloats(9, 8));
  b.MarkOutput(bn("bn_after_plain", f));
  StatusOr<Graph> g = b.Build();
  ASSERT_TRUE(g.ok()) << g.status().ToString();

  int folded = -1;
  StatusOr<Graph> out = FoldBatchNorm(*g, &folded);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(folded, 1);
  for (const char* kept :
       {"bn_after_fused", "bn_after_shared", "bn_after_add", "bn_after_exposed"}) {
    EXPECT_TRUE(out->FindNode(kept).ok()) << kept << " was folded";
  }
  EXPECT_FALSE(out->FindNode("bn_after_plain").ok());
  ExpectSameFunction(*g, *out, 31);
}

TEST(FoldBatchNormTest, SharedConvWeightsAreCopiedNotChanged) {
  GraphBuilder b;
  TensorId x = b.Input("x", {1, 4, 4, 2});
  TensorId w = b.Parameter("w", {2, 1, 1, 2}, RandomFloats(4, 1));
  TensorId y1 = b.AddNode("c1", OpType::kConv2d, {x, w}, Conv2dAttrs::Square(2, 1));
  y1 = b.BatchNorm("bn1", y1, {2.0f, 3.0f}, {0.5f, -0.5f}, {0.1f, 0.2f}, {1.0f, 4.0f});
  TensorId y2 = b.AddNode("c2", OpType::kConv2d, {y1, w}, Conv2dAttrs::Square(2, 1));
  b.MarkOutput(y2);
  StatusOr<Graph> g = b.Build();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  int folded = -1;
  StatusOr<Graph> out = FoldBatchNorm(*g, &folded);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(folded, 1);
  // c2 still reads the original weights; c1 reads a folded copy.
  const Node& c1 = out->node(*out->FindNode("c1"));
  const Node& c2 = out->node(*out->FindNode("c2"));
  EXPECT_EQ(out->tensor(c2.inputs[1]).name, "w");
  EXPECT_EQ(out->tensor(c2.inputs[1]).data, g->tensor(w).data);
  EXPECT_EQ(out->tensor(c1.inputs[1]).name, "c1.weight.folded");
  ExpectSameFunction(*g, *out, 41);
}

TEST(FoldBatchNormTest, FoldsEveryBatchNormOfTheFmnistResnet) {
  StatusOr<Graph> g = BuildZooModel("fmnist_resnet", 3);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  const int bns = CountOps(*g, OpType::kBatchNorm);
  EXPECT_GT(bns, 10);
  int folded = -1;
  StatusOr<Graph> out = FoldBatchNorm(*g, &folded);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(folded, bns);
  EXPECT_EQ(CountOps(*out, OpType::kBatchNorm), 0);
  EXPECT_EQ(out->num_nodes(), g->num_nodes() - bns);
  EXPECT_EQ(ComputeGraphCost(*out).total.macs, ComputeGraphCost(*g).total.macs);
  // BN parameters are gone, conv biases came in: 4 per channel out, 1 per channel in.
  int64_t bn_channels = 0;
  for (const Node& n : g->nodes()) {
    if (n.op == OpType::kBatchNorm) bn_channels += g->tensor(n.inputs[1]).shape[0];
  }
  EXPECT_EQ(out->NumParameterElements(), g->NumParameterElements() - 3 * bn_channels);
  // Stage outputs survive by name (exits are placed there).
  StatusOr<ZooModelInfo> info = FindZooModel("fmnist_resnet");
  ASSERT_TRUE(info.ok());
  for (const std::string& name : info->stage_outputs) {
    EXPECT_TRUE(out->FindNode(name).ok()) << name;
  }
  // Every conv's weights and bias are the analytic fold of its BatchNorm (the whole network is
  // too slow for the reference evaluator under qemu; the small graphs above check the
  // function).
  for (const Node& bn : g->nodes()) {
    if (bn.op != OpType::kBatchNorm) continue;
    const Node& conv = g->node(g->Producer(bn.inputs[0]));
    ASSERT_EQ(conv.op, OpType::kConv2d) << bn.name;
    const Node& folded_conv = out->node(*out->FindNode(conv.name));
    EXPECT_EQ(out->tensor(folded_conv.output).name, bn.name);
    ASSERT_EQ(folded_conv.inputs.size(), 3u) << conv.name;
    const std::vector<float>& w0 = g->tensor(conv.inputs[1]).data;
    const std::vector<float>& w1 = out->tensor(folded_conv.inputs[1]).data;
    const std::vector<float>& b1 = out->tensor(folded_conv.inputs[2]).data;
    const std::vector<float>& gamma = g->tensor(bn.inputs[1]).data;
    const size_t per = w0.size() / gamma.size();
    for (size_t c = 0; c < gamma.size(); ++c) {
      const double s = gamma[c] / std::sqrt(static_cast<double>(g->tensor(bn.inputs[4]).data[c]) +
                                            bn.batch_norm()->epsilon);
      const double ref_b = g->tensor(bn.inputs[2]).data[c] - g->tensor(bn.inputs[3]).data[c] * s;
      ASSERT_NEAR(b1[c], ref_b, std::max(1e-7, 1e-6 * std::fabs(ref_b))) << conv.name << " " << c;
      for (size_t i = 0; i < per; ++i) {
        const double ref = w0[c * per + i] * s;
        ASSERT_NEAR(w1[c * per + i], ref, std::max(1e-7, 1e-6 * std::fabs(ref)))
            << conv.name << ".weight [" << c << "][" << i << "]";
      }
    }
  }
}

TEST(FuseActivationsTest, FusesReluIntoConvAndFullyConnected) {
  GraphBuilder b;
  TensorId x = b.Input("x", {2, 6, 6, 3});
  TensorId c = b.Conv2d("conv", x, Conv2dAttrs::Square(4, 3, 1, 1), RandomFloats(108, 1),
                        RandomFloats(4, 2));
  c = b.Relu6("conv.relu6", c);
  // A ReLU after an Add is not fusable; neither is one whose input has two readers.
  TensorId a = b.Add("add", c, c);
  a = b.Relu("add.relu", a);
  TensorId d = b.Conv2d("conv2", a, Conv2dAttrs::Square(4, 1), RandomFloats(16, 3));
  TensorId r = b.Relu("conv2.relu", d);
  TensorId s = b.Add("add2", r, d);
  TensorId f =
      b.FullyConnected("fc", b.Flatten("flat", s), FullyConnectedAttrs{3, Activation::kNone},
                       RandomFloats(3 * 144, 4), RandomFloats(3, 5));
  b.MarkOutput(b.Relu("fc.relu", f));
  StatusOr<Graph> g = b.Build();
  ASSERT_TRUE(g.ok()) << g.status().ToString();

  int fused = -1;
  StatusOr<Graph> out = FuseActivations(*g, &fused);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(fused, 2);
  EXPECT_FALSE(out->FindNode("conv.relu6").ok());
  EXPECT_FALSE(out->FindNode("fc.relu").ok());
  EXPECT_TRUE(out->FindNode("add.relu").ok());
  EXPECT_TRUE(out->FindNode("conv2.relu").ok());
  EXPECT_EQ(out->node(*out->FindNode("conv")).conv2d()->activation, Activation::kRelu6);
  EXPECT_EQ(out->node(*out->FindNode("conv2")).conv2d()->activation, Activation::kNone);
  EXPECT_EQ(out->node(*out->FindNode("fc")).fully_connected()->activation, Activation::kRelu);
  // The graph output keeps its name.
  EXPECT_EQ(out->tensor(out->outputs()[0]).name, "fc.relu");
  ExpectSameFunction(*g, *out, 61);
}

TEST(PassesTest, FoldThenFuseOnMobilenetBlockStructure) {
  // conv -> BN -> ReLU6 chains (MobileNetV2's) become single convs with a fused ReLU6.
  StatusOr<Graph> g = testing_graphs::EveryOpGraph(5);
  ASSERT_TRUE(g.ok());
  StatusOr<Graph> folded = FoldBatchNorm(*g);
  ASSERT_TRUE(folded.ok()) << folded.status().ToString();
  StatusOr<Graph> fused = FuseActivations(*folded);
  ASSERT_TRUE(fused.ok()) << fused.status().ToString();
  const Node& c1 = fused->node(*fused->FindNode("c1"));
  EXPECT_EQ(c1.conv2d()->activation, Activation::kRelu6);
  EXPECT_EQ(fused->tensor(c1.output).name, "r1");
  EXPECT_EQ(CountOps(*fused, OpType::kBatchNorm), 0);
  ExpectSameFunction(*g, *fused, 71);
}

}  // namespace
}  // namespace persephonee
