#include "graph/builder.h"

#include <utility>

#include "graph/shape_inference.h"

namespace persephonee {

bool GraphBuilder::Fail(Status status) {
  if (status_.ok()) status_ = std::move(status);
  return false;
}

TensorId GraphBuilder::Input(const std::string& name, Shape shape) {
  if (!status_.ok()) return kNoTensor;
  if (name.empty()) {
    Fail(Error(StatusCode::kInvalidArgument, "an input has an empty name"));
    return kNoTensor;
  }
  if (!tensor_names_.insert(name).second) {
    Fail(Error(StatusCode::kInvalidArgument, "input '", name, "': a tensor of that name exists"));
    return kNoTensor;
  }
  Tensor t;
  t.name = name;
  t.shape = std::move(shape);
  t.kind = TensorKind::kInput;
  return graph_.AddTensor(std::move(t));
}

TensorId GraphBuilder::Parameter(const std::string& name, Shape shape, std::vector<float> data) {
  if (!status_.ok()) return kNoTensor;
  if (name.empty()) {
    Fail(Error(StatusCode::kInvalidArgument, "a parameter has an empty name"));
    return kNoTensor;
  }
  if (!tensor_names_.insert(name).second) {
    Fail(Error(StatusCode::kInvalidArgument, "parameter '", name,
               "': a tensor of that name exists"));
    return kNoTensor;
  }
  int64_t elements = 1;
  for (int64_t d : shape) {
    if (d < 1 || elements > kMaxTensorElements / d) {
      Fail(Error(StatusCode::kInvalidArgument, "parameter '", name, "' has invalid shape ",
                 ShapeToString(shape)));
      return kNoTensor;
    }
    elements *= d;
  }
  if (static_cast<int64_t>(data.size()) != elements) {
    Fail(Error(StatusCode::kInvalidArgument, "parameter '", name, "' has shape ",
               ShapeToString(shape), " (", elements, " elements) but ", data.size(),
               " values were given"));
    return kNoTensor;
  }
  Tensor t;
  t.name = name;
  t.shape = std::move(shape);
  t.kind = TensorKind::kParameter;
  t.data = std::move(data);
  return graph_.AddTensor(std::move(t));
}

TensorId GraphBuilder::AddNode(const std::string& name, OpType op, std::vector<TensorId> inputs,
                               NodeAttrs attrs) {
  if (!status_.ok()) return kNoTensor;
  if (name.empty()) {
    Fail(Error(StatusCode::kInvalidArgument, "a ", OpTypeName(op), " node has an empty name"));
    return kNoTensor;
  }
  if (node_names_.count(name) || tensor_names_.count(name)) {
    Fail(Error(StatusCode::kInvalidArgument, "node '", name, "' (", OpTypeName(op),
               "): a node or tensor of that name exists"));
    return kNoTensor;
  }
  Tensor out;
  out.name = name;
  out.kind = TensorKind::kActivation;
  Node node;
  node.name = name;
  node.op = op;
  node.inputs = std::move(inputs);
  node.output = graph_.num_tensors();  // the tensor added next
  node.attrs = std::move(attrs);
  TensorId out_id = graph_.AddTensor(std::move(out));
  NodeId id = graph_.AddNode(std::move(node));
  Status status = ValidateNodeInputs(graph_, graph_.node(id));
  StatusOr<Shape> shape = status.ok() ? InferNodeOutputShape(graph_, id) : StatusOr<Shape>(status);
  if (!shape.ok()) {
    Fail(shape.status());
    return kNoTensor;
  }
  graph_.mutable_tensor(out_id).shape = std::move(shape).value();
  node_names_.insert(name);
  tensor_names_.insert(name);
  return out_id;
}

TensorId GraphBuilder::NewParameter(const std::string& node, const char* suffix, Shape shape,
                                    std::vector<float> data) {
  return Parameter(node + suffix, std::move(shape), std::move(data));
}

TensorId GraphBuilder::Conv2d(const std::string& name, TensorId x, const Conv2dAttrs& attrs,
                              std::vector<float> weights, std::vector<float> bias) {
  if (!status_.ok()) return kNoTensor;
  Shape xs = shape(x);
  const std::string at = internal::StrCat("node '", name, "' (Conv2d): ");
  if (xs.size() != 4) {
    Fail(Error(StatusCode::kInvalidArgument, at, "input '",
               x >= 0 && x < graph_.num_tensors() ? graph_.tensor(x).name : "?", "' has shape ",
               ShapeToString(xs), "; expected rank 4 (NHWC)"));
    return kNoTensor;
  }
  if (attrs.groups < 1 || attrs.out_channels < 1 || attrs.kernel_h < 1 || attrs.kernel_w < 1) {
    // Invalid attributes: let the node validation name the problem.
    return AddNode(name, OpType::kConv2d, {x, kNoTensor}, attrs);
  }
  const int64_t in_c = xs[3];
  if (in_c % attrs.groups != 0) {
    Fail(Error(StatusCode::kInvalidArgument, at, "input '", graph_.tensor(x).name, "' has ", in_c,
               " channels, not divisible by groups ", attrs.groups));
    return kNoTensor;
  }
  // Only to name a channel mismatch; sizes beyond 2^20 per dimension are left to validation
  // (and keep this product far from overflow).
  const bool small = attrs.out_channels < (1 << 20) && attrs.kernel_h < (1 << 20) &&
                     attrs.kernel_w < (1 << 20) && in_c < (1 << 20);
  const int64_t per_channel =
      small ? int64_t{attrs.out_channels} * attrs.kernel_h * attrs.kernel_w : 1;
  const int64_t given = static_cast<int64_t>(weights.size());
  if (small && given != per_channel * (in_c / attrs.groups) && given % per_channel == 0 &&
      given > 0) {
    Fail(Error(StatusCode::kInvalidArgument, at, "input '", graph_.tensor(x).name, "' has ", in_c,
               " channels, weights expect ", given / per_channel * attrs.groups, " (",
               weights.size(), " values for ", attrs.out_channels, "x", attrs.kernel_h, "x",
               attrs.kernel_w, " kernels, groups ", attrs.groups, ")"));
    return kNoTensor;
  }
  Shape ws = {attrs.out_channels, attrs.kernel_h, attrs.kernel_w, in_c / attrs.groups};
  std::vector<TensorId> inputs = {x, NewParameter(name, ".weight", ws, std::move(weights))};
  if (!bias.empty()) {
    inputs.push_back(NewParameter(name, ".bias", {attrs.out_channels}, std::move(bias)));
  }
  return AddNode(name, OpType::kConv2d, std::move(inputs), attrs);
}

TensorId GraphBuilder::BatchNorm(const std::string& name, TensorId x, std::vector<float> gamma,
                                 std::vector<float> beta, std::vector<float> running_mean,
                                 std::vector<float> running_var, float epsilon) {
  if (!status_.ok()) return kNoTensor;
  Shape xs = shape(x);
  if (xs.size() < 2) {
    Fail(Error(StatusCode::kInvalidArgument, "node '", name, "' (BatchNorm): input '",
               x >= 0 && x < graph_.num_tensors() ? graph_.tensor(x).name : "?", "' has shape ",
               ShapeToString(xs), "; expected rank >= 2 (channels last)"));
    return kNoTensor;
  }
  const int64_t c = xs.back();
  std::vector<TensorId> inputs = {x};
  inputs.push_back(NewParameter(name, ".weight", {c}, std::move(gamma)));
  inputs.push_back(NewParameter(name, ".bias", {c}, std::move(beta)));
  inputs.push_back(NewParameter(name, ".running_mean", {c}, std::move(running_mean)));
  inputs.push_back(NewParameter(name, ".running_var", {c}, std::move(running_var)));
  return AddNode(name, OpType::kBatchNorm, std::move(inputs), BatchNormAttrs{epsilon});
}

TensorId GraphBuilder::FullyConnected(const std::string& name, TensorId x,
                                      const FullyConnectedAttrs& attrs, std::vector<float> weights,
                                      std::vector<float> bias) {
  if (!status_.ok()) return kNoTensor;
  Shape xs = shape(x);
  const std::string at = internal::StrCat("node '", name, "' (FullyConnected): ");
  if (xs.size() != 2) {
    Fail(Error(StatusCode::kInvalidArgument, at, "input '",
               x >= 0 && x < graph_.num_tensors() ? graph_.tensor(x).name : "?", "' has shape ",
               ShapeToString(xs), "; expected rank 2 ([batch, features]; insert a Flatten)"));
    return kNoTensor;
  }
  if (attrs.out_features < 1) return AddNode(name, OpType::kFullyConnected, {x, kNoTensor}, attrs);
  const int64_t given = static_cast<int64_t>(weights.size());
  if (given != attrs.out_features * xs[1] && given % attrs.out_features == 0 && given > 0) {
    Fail(Error(StatusCode::kInvalidArgument, at, "input '", graph_.tensor(x).name, "' has ", xs[1],
               " features, weights expect ", given / attrs.out_features, " (", weights.size(),
               " values for ", attrs.out_features, " outputs)"));
    return kNoTensor;
  }
  std::vector<TensorId> inputs = {
      x, NewParameter(name, ".weight", {attrs.out_features, xs[1]}, std::move(weights))};
  if (!bias.empty()) {
    inputs.push_back(NewParameter(name, ".bias", {attrs.out_features}, std::move(bias)));
  }
  return AddNode(name, OpType::kFullyConnected, std::move(inputs), attrs);
}

TensorId GraphBuilder::Relu(const std::string& name, TensorId x) {
  return AddNode(name, OpType::kRelu, {x});
}

TensorId GraphBuilder::Relu6(const std::string& name, TensorId x) {
  return AddNode(name, OpType::kRelu6, {x});
}

TensorId GraphBuilder::Add(const std::string& name, TensorId a, TensorId b) {
  return AddNode(name, OpType::kAdd, {a, b});
}

TensorId GraphBuilder::MaxPool(const std::string& name, TensorId x, const PoolAttrs& attrs) {
  return AddNode(name, OpType::kMaxPool, {x}, attrs);
}

TensorId GraphBuilder::AvgPool(const std::string& name, TensorId x, const PoolAttrs& attrs) {
  return AddNode(name, OpType::kAvgPool, {x}, attrs);
}

TensorId GraphBuilder::GlobalAvgPool(const std::string& name, TensorId x) {
  return AddNode(name, OpType::kGlobalAvgPool, {x});
}

TensorId GraphBuilder::Flatten(const std::string& name, TensorId x) {
  return AddNode(name, OpType::kFlatten, {x});
}

TensorId GraphBuilder::Softmax(const std::string& name, TensorId x) {
  return AddNode(name, OpType::kSoftmax, {x});
}

void GraphBuilder::MarkOutput(TensorId t) {
  if (!status_.ok()) return;
  if (t < 0 || t >= graph_.num_tensors()) {
    Fail(Error(StatusCode::kInvalidArgument, "MarkOutput: tensor id ", t, " is out of range"));
    return;
  }
  Tensor& tensor = graph_.mutable_tensor(t);
  if (tensor.kind != TensorKind::kActivation && tensor.kind != TensorKind::kOutput) {
    Fail(Error(StatusCode::kInvalidArgument, "MarkOutput: '", tensor.name, "' is a graph ",
               TensorKindName(tensor.kind), ", not a node's output"));
    return;
  }
  tensor.kind = TensorKind::kOutput;
}

Shape GraphBuilder::shape(TensorId t) const {
  if (t < 0 || t >= graph_.num_tensors()) return {};
  return graph_.tensor(t).shape;
}

StatusOr<Graph> GraphBuilder::Build() {
  Status status = status_;
  Graph graph = std::move(graph_);
  graph_ = Graph();
  status_ = Status();
  node_names_.clear();
  tensor_names_.clear();
  if (!status.ok()) return status;
  RETURN_IF_ERROR(FinalizeGraph(&graph));
  return graph;
}

}  // namespace persephonee
