// The model IR: tensors, nodes and their attributes. graph/ describes models and runs nothing.
//
// Layout (said once, here): activations are NHWC, convolution weights OHWI
// (`[out_c][kh][kw][in_c / groups]`, XNNPACK's layout), fully-connected weights `[out][in]`,
// everything float32.
//
// A Graph is a list of tensors and a list of nodes. Every node has exactly one output tensor.
// The order of `nodes()` is the execution order: a node may only read graph inputs, parameters
// and the outputs of nodes before it (this is validated, never re-sorted). Parameters own their
// float data. Tensor names are unique among tensors and node names among nodes; the builder
// names a node's output tensor after the node, but passes may give a node another node's output
// (after BatchNorm folding the conv writes the tensor the BatchNorm used to write).
//
// Inputs of each op, in order (parameters are tensors too, so a Graph is self-contained):
//   Conv2d          x [N,H,W,C], weights [OC,KH,KW,C/groups], bias [OC] (optional)
//   BatchNorm       x [..., C], gamma [C], beta [C], running_mean [C], running_var [C]
//   FullyConnected  x [N,IN], weights [OUT,IN], bias [OUT] (optional)
//   Add             a, b (same shape; no broadcasting)
//   ReLU, ReLU6, MaxPool, AvgPool, GlobalAvgPool, Flatten, Softmax: x
// Outputs: Conv2d/MaxPool/AvgPool [N,OH,OW,C']; GlobalAvgPool [N,C]; Flatten [N,H*W*C] (NHWC
// order, which differs from PyTorch's NCHW flatten); Softmax and the element-wise ops keep x's
// shape (Softmax is over the last axis).
#ifndef PERSEPHONEE_GRAPH_GRAPH_H_
#define PERSEPHONEE_GRAPH_GRAPH_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "base/status.h"

namespace persephonee {

/// Index of a tensor in Graph::tensors().
using TensorId = int32_t;
/// Index of a node in Graph::nodes().
using NodeId = int32_t;
/// "No tensor": an absent optional input, or a failed builder call.
constexpr TensorId kNoTensor = -1;
/// "No node": e.g. the producer of a graph input.
constexpr NodeId kNoNode = -1;

/// Dimensions of a tensor, outermost first (NHWC for activations).
using Shape = std::vector<int64_t>;

/// Number of elements of `shape` (1 for a scalar shape {}).
int64_t NumElements(const Shape& shape);
/// "[1,28,28,1]".
std::string ShapeToString(const Shape& shape);

/// What a tensor is for.
enum class TensorKind : uint8_t {
  kInput = 0,       ///< Fed by the caller; its shape is declared.
  kActivation = 1,  ///< Produced by a node, consumed inside the graph.
  kParameter = 2,   ///< Constant data owned by the graph (weights, biases, BN statistics).
  kOutput = 3,      ///< Produced by a node and returned to the caller (may also be consumed).
};
const char* TensorKindName(TensorKind kind);

/// How a parameter's values are stored in a model file (docs/model-format.md). In memory they are
/// float32 either way; the engine and the kernels see no difference.
enum class ParameterStorage : uint8_t {
  kFloat32 = 0,
  /// 8-bit integers with one power-of-two scale per row (the outermost dimension), a quarter of
  /// the bytes. The values must lie on that grid: QuantizeInt8Rows (graph/int8_rows.h) puts them
  /// there, and a graph whose int8 parameters are off their grid is invalid.
  kInt8Rows = 1,
};
/// "float32", "int8-rows".
const char* ParameterStorageName(ParameterStorage storage);

/// A tensor: its name, shape, kind and, for parameters, its data (row-major, NumElements long).
struct Tensor {
  std::string name;
  Shape shape;  ///< Declared for inputs and parameters; inferred for activations and outputs.
  TensorKind kind = TensorKind::kActivation;
  std::vector<float> data;  ///< Parameters only; empty otherwise.
  /// Parameters only: how a model file stores `data`.
  ParameterStorage storage = ParameterStorage::kFloat32;
};

/// The operations a graph can hold.
enum class OpType : uint8_t {
  kConv2d = 0,
  kBatchNorm = 1,
  kRelu = 2,
  kRelu6 = 3,
  kAdd = 4,
  kMaxPool = 5,
  kAvgPool = 6,
  kGlobalAvgPool = 7,
  kFullyConnected = 8,
  kFlatten = 9,
  kSoftmax = 10,
};
constexpr int kNumOpTypes = 11;
/// "Conv2d", "BatchNorm", ...
const char* OpTypeName(OpType op);

/// An activation fused into the output of a Conv2d or FullyConnected.
enum class Activation : uint8_t { kNone = 0, kRelu = 1, kRelu6 = 2 };
const char* ActivationName(Activation a);

/// Zero padding in pixels on each side of the spatial dimensions (may be asymmetric).
struct Padding {
  int32_t top = 0;
  int32_t bottom = 0;
  int32_t left = 0;
  int32_t right = 0;
  /// The same padding `p` on all four sides.
  static Padding Same(int32_t p) { return {p, p, p, p}; }
};

/// Attributes of a Conv2d. Depthwise convolution is groups == in_channels, with out_channels =
/// in_channels × the channel multiplier.
struct Conv2dAttrs {
  int32_t out_channels = 0;
  int32_t kernel_h = 1;
  int32_t kernel_w = 1;
  int32_t stride_h = 1;
  int32_t stride_w = 1;
  Padding padding;
  int32_t dilation_h = 1;
  int32_t dilation_w = 1;
  int32_t groups = 1;
  Activation activation = Activation::kNone;

  /// A square kernel with the same stride and padding in both directions.
  static Conv2dAttrs Square(int32_t out_channels, int32_t kernel, int32_t stride = 1,
                            int32_t pad = 0, int32_t groups = 1,
                            Activation activation = Activation::kNone);
};

/// Attributes of a BatchNorm in inference form:
/// y = gamma * (x - running_mean) / sqrt(running_var + epsilon) + beta, per channel (last axis).
struct BatchNormAttrs {
  float epsilon = 1e-5f;
};

/// Attributes of MaxPool and AvgPool. Windows that overlap the padding: MaxPool ignores padded
/// positions; AvgPool divides by the window size if count_include_pad, otherwise by the number
/// of positions inside the input.
struct PoolAttrs {
  int32_t kernel_h = 1;
  int32_t kernel_w = 1;
  int32_t stride_h = 1;
  int32_t stride_w = 1;
  Padding padding;
  bool count_include_pad = false;  ///< AvgPool only; must be false for MaxPool.

  /// A square window with the same stride and padding in both directions.
  static PoolAttrs Square(int32_t kernel, int32_t stride, int32_t pad = 0);
};

/// Attributes of a FullyConnected: y = x · weightsᵀ + bias.
struct FullyConnectedAttrs {
  int32_t out_features = 0;
  Activation activation = Activation::kNone;
};

/// The attributes of a node; std::monostate for ops that have none.
using NodeAttrs =
    std::variant<std::monostate, Conv2dAttrs, BatchNormAttrs, PoolAttrs, FullyConnectedAttrs>;

/// One operation: reads `inputs`, writes its single output.
struct Node {
  std::string name;
  OpType op = OpType::kRelu;
  std::vector<TensorId> inputs;  ///< In the order the op's table above gives.
  TensorId output = kNoTensor;
  NodeAttrs attrs;

  /// Typed attribute access; nullptr when the node holds other attributes.
  const Conv2dAttrs* conv2d() const { return std::get_if<Conv2dAttrs>(&attrs); }
  const BatchNormAttrs* batch_norm() const { return std::get_if<BatchNormAttrs>(&attrs); }
  const PoolAttrs* pool() const { return std::get_if<PoolAttrs>(&attrs); }
  const FullyConnectedAttrs* fully_connected() const {
    return std::get_if<FullyConnectedAttrs>(&attrs);
  }
};

/// A model: tensors and nodes in execution order.
///
/// A Graph from GraphBuilder::Build(), LoadGraph() or a pass is valid: structure checked and
/// shapes inferred. The low-level mutators (AddTensor, AddNode, mutable_*) do not keep that
/// promise; call FinalizeGraph() (shape_inference.h) after using them.
class Graph {
 public:
  const std::vector<Tensor>& tensors() const { return tensors_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  int32_t num_tensors() const { return static_cast<int32_t>(tensors_.size()); }
  int32_t num_nodes() const { return static_cast<int32_t>(nodes_.size()); }
  /// `id` must be in range (debug-asserted).
  const Tensor& tensor(TensorId id) const;
  const Node& node(NodeId id) const;

  /// Tensors of kind kInput / kOutput, in id order.
  std::vector<TensorId> inputs() const;
  std::vector<TensorId> outputs() const;

  /// The tensor or node called `name`; kNotFound otherwise.
  StatusOr<TensorId> FindTensor(const std::string& name) const;
  StatusOr<NodeId> FindNode(const std::string& name) const;

  /// The node that writes `tensor`, or kNoNode (inputs, parameters).
  NodeId Producer(TensorId tensor) const;
  /// For every tensor, the nodes that read it, in execution order (a node reading a tensor
  /// twice appears twice).
  std::vector<std::vector<NodeId>> Consumers() const;

  /// Total number of parameter elements.
  int64_t NumParameterElements() const;

  // Low-level construction (builder, loader, passes).
  TensorId AddTensor(Tensor tensor);
  NodeId AddNode(Node node);
  Tensor& mutable_tensor(TensorId id);
  Node& mutable_node(NodeId id);

 private:
  std::vector<Tensor> tensors_;
  std::vector<Node> nodes_;
};

/// Whether two graphs are identical: same tensors (names, kinds, shapes, storage, bit-identical
/// data) and nodes (names, ops, inputs, outputs, attributes). On a difference, `why` (if given)
/// says where.
bool GraphsEqual(const Graph& a, const Graph& b, std::string* why = nullptr);

/// Equality of attribute sets (same alternative, same field values).
bool AttrsEqual(const NodeAttrs& a, const NodeAttrs& b);

}  // namespace persephonee

#endif  // PERSEPHONEE_GRAPH_GRAPH_H_
