// GraphBuilder: writes a Graph node by node, inferring each output shape as it goes.
//
//   GraphBuilder b;
//   TensorId x = b.Input("image", {1, 28, 28, 1});
//   TensorId y = b.Conv2d("stem", x, Conv2dAttrs::Square(32, 3, 1, 1), weights, bias);
//   y = b.Relu("stem.relu", y);
//   b.MarkOutput(b.Softmax("prob", b.FullyConnected("fc", b.GlobalAvgPool("gap", y), ...)));
//   StatusOr<Graph> graph = b.Build();
//
// Errors are sticky, like an ostream's: the first failing call records a Status naming the node
// and tensor at fault and returns kNoTensor; later calls do nothing and return kNoTensor; Build()
// returns that first error. So a model can be written straight through and checked once.
//
// Names: a node's output tensor takes the node's name. The parameters that the data-taking
// calls create are named after PyTorch's state_dict keys: "<node>.weight", "<node>.bias", and
// for BatchNorm "<node>.weight" (gamma), "<node>.bias" (beta), "<node>.running_mean",
// "<node>.running_var".
#ifndef PERSEPHONEE_GRAPH_BUILDER_H_
#define PERSEPHONEE_GRAPH_BUILDER_H_

#include <string>
#include <unordered_set>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"

namespace persephonee {

class GraphBuilder {
 public:
  /// A graph input of the given (fully known) shape, e.g. {1, 224, 224, 3}.
  TensorId Input(const std::string& name, Shape shape);
  /// A parameter holding `data` (row-major, NumElements(shape) values).
  TensorId Parameter(const std::string& name, Shape shape, std::vector<float> data);

  /// A node of any op reading existing tensors (parameters included): the general form the
  /// calls below are written with.
  TensorId AddNode(const std::string& name, OpType op, std::vector<TensorId> inputs,
                   NodeAttrs attrs = std::monostate());

  /// Conv2d with new parameters: `weights` OHWI ([out_c][kh][kw][in_c/groups]), `bias` [out_c]
  /// or empty for none.
  TensorId Conv2d(const std::string& name, TensorId x, const Conv2dAttrs& attrs,
                  std::vector<float> weights, std::vector<float> bias = {});
  /// BatchNorm (inference form) with new parameters, each [channels].
  TensorId BatchNorm(const std::string& name, TensorId x, std::vector<float> gamma,
                     std::vector<float> beta, std::vector<float> running_mean,
                     std::vector<float> running_var, float epsilon = 1e-5f);
  /// FullyConnected with new parameters: `weights` [out][in], `bias` [out] or empty for none.
  TensorId FullyConnected(const std::string& name, TensorId x, const FullyConnectedAttrs& attrs,
                          std::vector<float> weights, std::vector<float> bias = {});
  TensorId Relu(const std::string& name, TensorId x);
  TensorId Relu6(const std::string& name, TensorId x);
  TensorId Add(const std::string& name, TensorId a, TensorId b);
  TensorId MaxPool(const std::string& name, TensorId x, const PoolAttrs& attrs);
  TensorId AvgPool(const std::string& name, TensorId x, const PoolAttrs& attrs);
  TensorId GlobalAvgPool(const std::string& name, TensorId x);
  TensorId Flatten(const std::string& name, TensorId x);
  TensorId Softmax(const std::string& name, TensorId x);

  /// Makes `t` (written by a node) a graph output.
  void MarkOutput(TensorId t);

  /// The shape of `t` (inferred as soon as its node was added); empty if `t` is invalid.
  Shape shape(TensorId t) const;
  /// The first error so far, or OK.
  const Status& status() const { return status_; }

  /// Validates the whole graph (FinalizeGraph) and hands it over; the builder is left empty.
  StatusOr<Graph> Build();

 private:
  bool Fail(Status status);
  TensorId NewParameter(const std::string& node, const char* suffix, Shape shape,
                        std::vector<float> data);

  Graph graph_;
  Status status_;
  std::unordered_set<std::string> node_names_;
  std::unordered_set<std::string> tensor_names_;
};

}  // namespace persephonee

#endif  // PERSEPHONEE_GRAPH_BUILDER_H_
