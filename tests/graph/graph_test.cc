// The IR and the builder: construction, names, validation of structure and order.
#include "graph/graph.h"

#include <gtest/gtest.h>

#include <cmath>

#include "graph/builder.h"
#include "graph/shape_inference.h"
#include "tests/graph/test_graphs.h"

namespace persephonee {
namespace {

using testing_graphs::RandomFloats;

// Expects `s` to fail with `code` and a message containing `needle`.
void ExpectError(const Status& s, StatusCode code, const std::string& needle) {
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), code) << s.ToString();
  EXPECT_NE(s.message().find(needle), std::string::npos)
      << "message: " << s.message() << "\nexpected to contain: " << needle;
}

TEST(GraphBuilderTest, BuildsTensorsNodesAndShapes) {
  GraphBuilder b;
  TensorId x = b.Input("image", {1, 28, 28, 1});
  TensorId y = b.Conv2d("stem", x, Conv2dAttrs::Square(32, 3, 1, 1), RandomFloats(32 * 9, 1),
                        RandomFloats(32, 2));
  y = b.Relu("stem.relu", y);
  y = b.GlobalAvgPool("gap", y);
  y = b.FullyConnected("fc", y, FullyConnectedAttrs{10, Activation::kNone}, RandomFloats(320, 3));
  b.MarkOutput(y);
  StatusOr<Graph> g = b.Build();
  ASSERT_TRUE(g.ok()) << g.status().ToString();

  ASSERT_EQ(g->num_nodes(), 4);
  EXPECT_EQ(g->node(0).name, "stem");
  EXPECT_EQ(g->node(0).op, OpType::kConv2d);
  EXPECT_EQ(g->node(3).op, OpType::kFullyConnected);
  // The conv reads the image, its weights and its bias, in that order.
  const Node& stem = g->node(0);
  ASSERT_EQ(stem.inputs.size(), 3u);
  EXPECT_EQ(g->tensor(stem.inputs[0]).name, "image");
  EXPECT_EQ(g->tensor(stem.inputs[1]).name, "stem.weight");
  EXPECT_EQ(g->tensor(stem.inputs[1]).shape, (Shape{32, 3, 3, 1}));
  EXPECT_EQ(g->tensor(stem.inputs[1]).kind, TensorKind::kParameter);
  EXPECT_EQ(g->tensor(stem.inputs[2]).name, "stem.bias");
  EXPECT_EQ(g->tensor(stem.inputs[1]).data, RandomFloats(32 * 9, 1));
  // The FC has no bias: two inputs.
  EXPECT_EQ(g->node(3).inputs.size(), 2u);
  // Shapes are inferred; the output tensor carries the node's name.
  EXPECT_EQ(g->tensor(stem.output).name, "stem");
  EXPECT_EQ(g->tensor(stem.output).shape, (Shape{1, 28, 28, 32}));
  EXPECT_EQ(g->tensor(g->node(2).output).shape, (Shape{1, 32}));
  ASSERT_EQ(g->outputs().size(), 1u);
  EXPECT_EQ(g->tensor(g->outputs()[0]).name, "fc");
  EXPECT_EQ(g->tensor(g->outputs()[0]).shape, (Shape{1, 10}));
  ASSERT_EQ(g->inputs().size(), 1u);
  EXPECT_EQ(g->tensor(g->inputs()[0]).name, "image");
  EXPECT_EQ(g->NumParameterElements(), 32 * 9 + 32 + 320);
}

TEST(GraphBuilderTest, ChannelMismatchNamesNodeAndTensor) {
  GraphBuilder b;
  TensorId x = b.Input("image", {1, 8, 8, 64});
  x = b.Relu("layer1.out", x);
  b.Conv2d("layer2.0.conv1", x, Conv2dAttrs::Square(16, 3, 1, 1), RandomFloats(16 * 9 * 32, 1));
  ExpectError(b.status(), StatusCode::kInvalidArgument,
              "node 'layer2.0.conv1' (Conv2d): input 'layer1.out' has 64 channels, weights "
              "expect 32");
}

TEST(GraphBuilderTest, FullyConnectedFeatureMismatch) {
  GraphBuilder b;
  TensorId x = b.Input("features", {2, 12});
  b.FullyConnected("head", x, FullyConnectedAttrs{3, Activation::kNone}, RandomFloats(3 * 10, 1));
  ExpectError(b.status(), StatusCode::kInvalidArgument,
              "node 'head' (FullyConnected): input 'features' has 12 features, weights expect 10");
}

TEST(GraphBuilderTest, ErrorsAreStickyAndBuildReturnsTheFirst) {
  GraphBuilder b;
  TensorId x = b.Input("image", {1, 4, 4, 3});
  TensorId bad = b.Conv2d("c", x, Conv2dAttrs::Square(2, 5), RandomFloats(2 * 25 * 3, 1));
  EXPECT_EQ(bad, kNoTensor);
  ExpectError(b.status(), StatusCode::kInvalidArgument, "node 'c' (Conv2d): a 5x5 kernel");
  // Later calls, even valid ones, do nothing.
  EXPECT_EQ(b.Relu("r", x), kNoTensor);
  EXPECT_EQ(b.Input("other", {1}), kNoTensor);
  StatusOr<Graph> g = b.Build();
  ExpectError(g.status(), StatusCode::kInvalidArgument, "node 'c' (Conv2d)");
  // The builder is reset by Build().
  EXPECT_TRUE(b.status().ok());
}

TEST(GraphBuilderTest, DuplicateNamesAreRejected) {
  {
    GraphBuilder b;
    TensorId x = b.Input("x", {1, 4});
    b.Relu("r", x);
    b.Relu("r", x);
    ExpectError(b.status(), StatusCode::kInvalidArgument, "node 'r' (ReLU): a node or tensor");
  }
  {
    GraphBuilder b;
    b.Input("x", {1, 4});
    b.Input("x", {1, 4});
    ExpectError(b.status(), StatusCode::kInvalidArgument, "input 'x': a tensor of that name");
  }
}

TEST(GraphBuilderTest, ParameterWhereDataBelongsIsRejected) {
  GraphBuilder b;
  b.Input("x", {1, 4});
  TensorId p = b.Parameter("p", {1, 4}, RandomFloats(4, 1));
  b.Relu("r", p);
  ExpectError(b.status(), StatusCode::kInvalidArgument,
              "node 'r' (ReLU): input 'p' is a parameter");
}

TEST(GraphBuilderTest, ParameterDataMustMatchShape) {
  GraphBuilder b;
  b.Parameter("p", {2, 3}, RandomFloats(5, 1));
  ExpectError(b.status(), StatusCode::kInvalidArgument,
              "parameter 'p' has shape [2,3] (6 elements) but 5 values were given");
}

TEST(GraphBuilderTest, BuildWithoutOutputFails) {
  GraphBuilder b;
  TensorId x = b.Input("x", {1, 4});
  b.Relu("r", x);
  ExpectError(b.Build().status(), StatusCode::kInvalidArgument, "the graph has no output");
}

TEST(GraphBuilderTest, MarkOutputOfInputFails) {
  GraphBuilder b;
  TensorId x = b.Input("x", {1, 4});
  b.MarkOutput(x);
  ExpectError(b.status(), StatusCode::kInvalidArgument, "'x' is a graph input");
}

// Graphs written by hand, to reach what the builder never produces.
Graph TwoReluGraph() {
  Graph g;
  g.AddTensor({"x", {1, 4}, TensorKind::kInput, {}});
  g.AddTensor({"a", {}, TensorKind::kActivation, {}});
  g.AddTensor({"b", {}, TensorKind::kOutput, {}});
  g.AddNode({"r1", OpType::kRelu, {0}, 1, {}});
  g.AddNode({"r2", OpType::kRelu, {1}, 2, {}});
  return g;
}

TEST(ValidateStructureTest, AcceptsAValidHandWrittenGraph) {
  Graph g = TwoReluGraph();
  ASSERT_TRUE(FinalizeGraph(&g).ok());
  EXPECT_EQ(g.tensor(2).shape, (Shape{1, 4}));
}

TEST(ValidateStructureTest, RejectsNodesOutOfExecutionOrder) {
  Graph g;
  g.AddTensor({"x", {1, 4}, TensorKind::kInput, {}});
  g.AddTensor({"a", {}, TensorKind::kActivation, {}});
  g.AddTensor({"b", {}, TensorKind::kOutput, {}});
  g.AddNode({"r2", OpType::kRelu, {1}, 2, {}});  // reads 'a' before r1 writes it
  g.AddNode({"r1", OpType::kRelu, {0}, 1, {}});
  ExpectError(ValidateStructure(g), StatusCode::kInvalidArgument,
              "node 'r2' (ReLU): input 'a' is read before any node writes it");
}

TEST(ValidateStructureTest, RejectsATensorWrittenTwice) {
  Graph g = TwoReluGraph();
  g.mutable_node(1).output = 1;
  g.mutable_node(1).inputs = {0};
  ExpectError(ValidateStructure(g), StatusCode::kInvalidArgument,
              "node 'r2' (ReLU): output 'a' is already written by node 'r1'");
}

TEST(ValidateStructureTest, RejectsUnreadParametersAndInputs) {
  Graph g = TwoReluGraph();
  g.AddTensor({"w", {2}, TensorKind::kParameter, {1.0f, 2.0f}});
  ExpectError(ValidateStructure(g), StatusCode::kInvalidArgument,
              "parameter 'w' is not read by any node");
  Graph h = TwoReluGraph();
  h.AddTensor({"y", {1}, TensorKind::kInput, {}});
  ExpectError(ValidateStructure(h), StatusCode::kInvalidArgument, "input 'y' is not read");
}

TEST(ValidateStructureTest, RejectsBadIdsArityAndAttributes) {
  Graph g = TwoReluGraph();
  g.mutable_node(0).inputs = {7};
  ExpectError(ValidateStructure(g), StatusCode::kInvalidArgument,
              "node 'r1' (ReLU): input is tensor id 7, out of range [0, 3)");
  g = TwoReluGraph();
  g.mutable_node(0).inputs = {0, 0};
  ExpectError(ValidateStructure(g), StatusCode::kInvalidArgument,
              "node 'r1' (ReLU): takes 1 inputs, got 2");
  g = TwoReluGraph();
  g.mutable_node(0).attrs = BatchNormAttrs{};
  ExpectError(ValidateStructure(g), StatusCode::kInvalidArgument,
              "node 'r1' (ReLU): attributes do not belong to this op");
  g = TwoReluGraph();
  g.mutable_node(1).output = 0;
  ExpectError(ValidateStructure(g), StatusCode::kInvalidArgument, "output 'x' is a graph input");
  g = TwoReluGraph();
  g.mutable_node(1).name = "r1";
  ExpectError(ValidateStructure(g), StatusCode::kInvalidArgument, "two nodes are named 'r1'");
  g = TwoReluGraph();
  g.mutable_tensor(2).name = "a";
  ExpectError(ValidateStructure(g), StatusCode::kInvalidArgument, "two tensors are named 'a'");
  g = TwoReluGraph();
  g.mutable_tensor(1).data = {1.0f};
  ExpectError(ValidateStructure(g), StatusCode::kInvalidArgument,
              "activation 'a' holds data; only parameters may");
}

TEST(ValidateParameterDataTest, RejectsNonFiniteValuesAndNegativeVariance) {
  StatusOr<Graph> g = testing_graphs::EveryOpGraph(1);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  Graph nan = *g;
  ASSERT_TRUE(nan.FindTensor("c1.weight").ok());
  nan.mutable_tensor(*nan.FindTensor("c1.weight")).data[5] = std::nanf("");
  ExpectError(FinalizeGraph(&nan), StatusCode::kInvalidArgument,
              "parameter 'c1.weight' element 5 is nan");
  Graph var = *g;
  var.mutable_tensor(*var.FindTensor("bn1.running_var")).data[3] = -0.5f;
  ExpectError(FinalizeGraph(&var), StatusCode::kInvalidArgument,
              "node 'bn1' (BatchNorm): running_var 'bn1.running_var' element 3 is -0.5");
}

TEST(GraphTest, LookupsProducersAndConsumers) {
  StatusOr<Graph> g = testing_graphs::EveryOpGraph(1);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  StatusOr<NodeId> add = g->FindNode("add");
  ASSERT_TRUE(add.ok());
  EXPECT_EQ(g->node(*add).op, OpType::kAdd);
  ExpectError(g->FindNode("nope").status(), StatusCode::kNotFound, "no node named 'nope'");
  ExpectError(g->FindTensor("nope").status(), StatusCode::kNotFound, "no tensor named 'nope'");
  StatusOr<TensorId> r1 = g->FindTensor("r1");
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(g->node(g->Producer(*r1)).name, "r1");
  EXPECT_EQ(g->Producer(*g->FindTensor("image")), kNoNode);
  // r1 feeds the depthwise conv and the residual add.
  std::vector<std::vector<NodeId>> consumers = g->Consumers();
  std::vector<std::string> readers;
  for (NodeId n : consumers[static_cast<size_t>(*r1)]) readers.push_back(g->node(n).name);
  EXPECT_EQ(readers, (std::vector<std::string>{"dw", "add"}));
  // The max pool feeds two branches; there are two outputs.
  EXPECT_EQ(consumers[static_cast<size_t>(*g->FindTensor("mp"))].size(), 2u);
  EXPECT_EQ(g->outputs().size(), 2u);
}

TEST(GraphTest, GraphsEqualFindsEveryKindOfDifference) {
  StatusOr<Graph> a = testing_graphs::EveryOpGraph(1);
  ASSERT_TRUE(a.ok());
  std::string why;
  EXPECT_TRUE(GraphsEqual(*a, *a, &why)) << why;
  Graph b = *a;
  b.mutable_tensor(*b.FindTensor("fc1.weight")).data[0] += 1e-7f;
  EXPECT_FALSE(GraphsEqual(*a, b, &why));
  EXPECT_NE(why.find("data of tensor 'fc1.weight' differs"), std::string::npos) << why;
  Graph c = *a;
  std::get<PoolAttrs>(c.mutable_node(*c.FindNode("ap")).attrs).count_include_pad = false;
  EXPECT_FALSE(GraphsEqual(*a, c, &why));
  EXPECT_NE(why.find("attributes of node 'ap' differ"), std::string::npos) << why;
  Graph d = *a;
  d.mutable_node(0).name = "renamed";
  EXPECT_FALSE(GraphsEqual(*a, d, &why));
  Graph e = *a;
  e.mutable_tensor(0).shape[0] = 3;
  EXPECT_FALSE(GraphsEqual(*a, e, &why));
  EXPECT_NE(why.find("tensor 0 differs"), std::string::npos) << why;
}

TEST(SetBatchSizeTest, ReinfersEveryShape) {
  StatusOr<Graph> g = testing_graphs::EveryOpGraph(1);
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(SetBatchSize(&*g, 5).ok());
  EXPECT_EQ(g->tensor(*g->FindTensor("image")).shape[0], 5);
  for (const Tensor& t : g->tensors()) {
    if (t.kind == TensorKind::kActivation || t.kind == TensorKind::kOutput) {
      EXPECT_EQ(t.shape[0], 5) << t.name;
    }
  }
  EXPECT_EQ(g->tensor(*g->FindTensor("prob")).shape, (Shape{5, 5}));
  const Graph before = *g;
  ExpectError(SetBatchSize(&*g, 0), StatusCode::kInvalidArgument, "batch size must be >= 1");
  EXPECT_TRUE(GraphsEqual(before, *g));
  // Too large: fails after the shapes were touched, which must all be restored.
  ExpectError(SetBatchSize(&*g, int64_t{1} << 36), StatusCode::kInvalidArgument,
              "more than 2^40 elements");
  std::string why;
  EXPECT_TRUE(GraphsEqual(before, *g, &why)) << why;
}

}  // namespace
}  // namespace persephonee
