#include "graph/graph.h"

#include <cassert>
#include <cstring>
#include <sstream>

namespace persephonee {

int64_t NumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ShapeToString(const Shape& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? "," : "") << shape[i];
  out << ']';
  return out.str();
}

const char* TensorKindName(TensorKind kind) {
  switch (kind) {
    case TensorKind::kInput:
      return "input";
    case TensorKind::kActivation:
      return "activation";
    case TensorKind::kParameter:
      return "parameter";
    case TensorKind::kOutput:
      return "output";
  }
  return "unknown";
}

const char* ParameterStorageName(ParameterStorage storage) {
  switch (storage) {
    case ParameterStorage::kFloat32:
      return "float32";
    case ParameterStorage::kInt8Rows:
      return "int8-rows";
  }
  return "unknown";
}

const char* OpTypeName(OpType op) {
  switch (op) {
    case OpType::kConv2d:
      return "Conv2d";
    case OpType::kBatchNorm:
      return "BatchNorm";
    case OpType::kRelu:
      return "ReLU";
    case OpType::kRelu6:
      return "ReLU6";
    case OpType::kAdd:
      return "Add";
    case OpType::kMaxPool:
      return "MaxPool";
    case OpType::kAvgPool:
      return "AvgPool";
    case OpType::kGlobalAvgPool:
      return "GlobalAvgPool";
    case OpType::kFullyConnected:
      return "FullyConnected";
    case OpType::kFlatten:
      return "Flatten";
    case OpType::kSoftmax:
      return "Softmax";
  }
  return "Unknown";
}

const char* ActivationName(Activation a) {
  switch (a) {
    case Activation::kNone:
      return "none";
    case Activation::kRelu:
      return "relu";
    case Activation::kRelu6:
      return "relu6";
  }
  return "unknown";
}

Conv2dAttrs Conv2dAttrs::Square(int32_t out_channels, int32_t kernel, int32_t stride, int32_t pad,
                                int32_t groups, Activation activation) {
  Conv2dAttrs a;
  a.out_channels = out_channels;
  a.kernel_h = a.kernel_w = kernel;
  a.stride_h = a.stride_w = stride;
  a.padding = Padding::Same(pad);
  a.groups = groups;
  a.activation = activation;
  return a;
}

PoolAttrs PoolAttrs::Square(int32_t kernel, int32_t stride, int32_t pad) {
  PoolAttrs a;
  a.kernel_h = a.kernel_w = kernel;
  a.stride_h = a.stride_w = stride;
  a.padding = Padding::Same(pad);
  return a;
}

const Tensor& Graph::tensor(TensorId id) const {
  assert(id >= 0 && id < num_tensors());
  return tensors_[static_cast<size_t>(id)];
}

const Node& Graph::node(NodeId id) const {
  assert(id >= 0 && id < num_nodes());
  return nodes_[static_cast<size_t>(id)];
}

Tensor& Graph::mutable_tensor(TensorId id) {
  assert(id >= 0 && id < num_tensors());
  return tensors_[static_cast<size_t>(id)];
}

Node& Graph::mutable_node(NodeId id) {
  assert(id >= 0 && id < num_nodes());
  return nodes_[static_cast<size_t>(id)];
}

std::vector<TensorId> Graph::inputs() const {
  std::vector<TensorId> ids;
  for (TensorId i = 0; i < num_tensors(); ++i) {
    if (tensor(i).kind == TensorKind::kInput) ids.push_back(i);
  }
  return ids;
}

std::vector<TensorId> Graph::outputs() const {
  std::vector<TensorId> ids;
  for (TensorId i = 0; i < num_tensors(); ++i) {
    if (tensor(i).kind == TensorKind::kOutput) ids.push_back(i);
  }
  return ids;
}

StatusOr<TensorId> Graph::FindTensor(const std::string& name) const {
  for (TensorId i = 0; i < num_tensors(); ++i) {
    if (tensor(i).name == name) return i;
  }
  return Error(StatusCode::kNotFound, "no tensor named '", name, "'");
}

StatusOr<NodeId> Graph::FindNode(const std::string& name) const {
  for (NodeId i = 0; i < num_nodes(); ++i) {
    if (node(i).name == name) return i;
  }
  return Error(StatusCode::kNotFound, "no node named '", name, "'");
}

NodeId Graph::Producer(TensorId tensor) const {
  for (NodeId i = 0; i < num_nodes(); ++i) {
    if (node(i).output == tensor) return i;
  }
  return kNoNode;
}

std::vector<std::vector<NodeId>> Graph::Consumers() const {
  std::vector<std::vector<NodeId>> consumers(tensors_.size());
  for (NodeId n = 0; n < num_nodes(); ++n) {
    for (TensorId t : node(n).inputs) {
      if (t >= 0 && t < num_tensors()) consumers[static_cast<size_t>(t)].push_back(n);
    }
  }
  return consumers;
}

int64_t Graph::NumParameterElements() const {
  int64_t n = 0;
  for (const Tensor& t : tensors_) {
    if (t.kind == TensorKind::kParameter) n += static_cast<int64_t>(t.data.size());
  }
  return n;
}

TensorId Graph::AddTensor(Tensor tensor) {
  tensors_.push_back(std::move(tensor));
  return num_tensors() - 1;
}

NodeId Graph::AddNode(Node node) {
  nodes_.push_back(std::move(node));
  return num_nodes() - 1;
}

namespace {

bool PaddingEqual(const Padding& a, const Padding& b) {
  return a.top == b.top && a.bottom == b.bottom && a.left == b.left && a.right == b.right;
}

struct AttrsEqualVisitor {
  const NodeAttrs& other;
  bool operator()(const std::monostate&) const {
    return std::holds_alternative<std::monostate>(other);
  }
  bool operator()(const Conv2dAttrs& a) const {
    const auto* b = std::get_if<Conv2dAttrs>(&other);
    return b && a.out_channels == b->out_channels && a.kernel_h == b->kernel_h &&
           a.kernel_w == b->kernel_w && a.stride_h == b->stride_h && a.stride_w == b->stride_w &&
           PaddingEqual(a.padding, b->padding) && a.dilation_h == b->dilation_h &&
           a.dilation_w == b->dilation_w && a.groups == b->groups && a.activation == b->activation;
  }
  bool operator()(const BatchNormAttrs& a) const {
    const auto* b = std::get_if<BatchNormAttrs>(&other);
    return b && std::memcmp(&a.epsilon, &b->epsilon, sizeof(float)) == 0;
  }
  bool operator()(const PoolAttrs& a) const {
    const auto* b = std::get_if<PoolAttrs>(&other);
    return b && a.kernel_h == b->kernel_h && a.kernel_w == b->kernel_w &&
           a.stride_h == b->stride_h && a.stride_w == b->stride_w &&
           PaddingEqual(a.padding, b->padding) && a.count_include_pad == b->count_include_pad;
  }
  bool operator()(const FullyConnectedAttrs& a) const {
    const auto* b = std::get_if<FullyConnectedAttrs>(&other);
    return b && a.out_features == b->out_features && a.activation == b->activation;
  }
};

}  // namespace

bool AttrsEqual(const NodeAttrs& a, const NodeAttrs& b) {
  return std::visit(AttrsEqualVisitor{b}, a);
}

bool GraphsEqual(const Graph& a, const Graph& b, std::string* why) {
  auto fail = [why](const std::string& reason) {
    if (why) *why = reason;
    return false;
  };
  if (a.num_tensors() != b.num_tensors()) {
    return fail(
        internal::StrCat("tensor counts differ: ", a.num_tensors(), " vs ", b.num_tensors()));
  }
  if (a.num_nodes() != b.num_nodes()) {
    return fail(internal::StrCat("node counts differ: ", a.num_nodes(), " vs ", b.num_nodes()));
  }
  for (TensorId i = 0; i < a.num_tensors(); ++i) {
    const Tensor& x = a.tensor(i);
    const Tensor& y = b.tensor(i);
    if (x.name != y.name || x.kind != y.kind || x.shape != y.shape) {
      return fail(internal::StrCat("tensor ", i, " differs: '", x.name, "' ",
                                   TensorKindName(x.kind), ' ', ShapeToString(x.shape), " vs '",
                                   y.name, "' ", TensorKindName(y.kind), ' ',
                                   ShapeToString(y.shape)));
    }
    if (x.data.size() != y.data.size() ||
        (!x.data.empty() &&
         std::memcmp(x.data.data(), y.data.data(), x.data.size() * sizeof(float)) != 0)) {
      return fail(internal::StrCat("data of tensor '", x.name, "' differs"));
    }
    if (x.storage != y.storage) {
      return fail(internal::StrCat("tensor '", x.name, "' is stored as ",
                                   ParameterStorageName(x.storage), " vs ",
                                   ParameterStorageName(y.storage)));
    }
  }
  for (NodeId i = 0; i < a.num_nodes(); ++i) {
    const Node& x = a.node(i);
    const Node& y = b.node(i);
    if (x.name != y.name || x.op != y.op || x.inputs != y.inputs || x.output != y.output) {
      return fail(internal::StrCat("node ", i, " differs: '", x.name, "' (", OpTypeName(x.op),
                                   ") vs '", y.name, "' (", OpTypeName(y.op), ")"));
    }
    if (!AttrsEqual(x.attrs, y.attrs)) {
      return fail(internal::StrCat("attributes of node '", x.name, "' differ"));
    }
  }
  return true;
}

}  // namespace persephonee
