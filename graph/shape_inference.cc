#include "graph/shape_inference.h"

#include <cmath>
#include <unordered_set>

#include "graph/int8_rows.h"

namespace persephonee {
namespace {

// Prefix of every message about a node.
std::string At(const Node& n) {
  return internal::StrCat("node '", n.name, "' (", OpTypeName(n.op), "): ");
}

// One input slot of an op: what it is called and whether it holds a parameter.
struct Slot {
  const char* role;
  bool parameter;
  bool optional;
};

std::vector<Slot> SlotsOf(OpType op) {
  switch (op) {
    case OpType::kConv2d:
    case OpType::kFullyConnected:
      return {{"input", false, false}, {"weights", true, false}, {"bias", true, true}};
    case OpType::kBatchNorm:
      return {{"input", false, false},
              {"gamma", true, false},
              {"beta", true, false},
              {"running_mean", true, false},
              {"running_var", true, false}};
    case OpType::kAdd:
      return {{"first input", false, false}, {"second input", false, false}};
    default:
      return {{"input", false, false}};
  }
}

bool AttrsMatchOp(const Node& n) {
  switch (n.op) {
    case OpType::kConv2d:
      return n.conv2d() != nullptr;
    case OpType::kBatchNorm:
      return n.batch_norm() != nullptr;
    case OpType::kMaxPool:
    case OpType::kAvgPool:
      return n.pool() != nullptr;
    case OpType::kFullyConnected:
      return n.fully_connected() != nullptr;
    default:
      return std::holds_alternative<std::monostate>(n.attrs);
  }
}

bool ValidActivation(Activation a) {
  return a == Activation::kNone || a == Activation::kRelu || a == Activation::kRelu6;
}

Status CheckPadding(const Node& n, const Padding& p) {
  ENSURE(p.top >= 0 && p.bottom >= 0 && p.left >= 0 && p.right >= 0, At(n),
         "padding must be >= 0, got top ", p.top, " bottom ", p.bottom, " left ", p.left, " right ",
         p.right);
  return Status::Ok();
}

Status ValidateAttrs(const Node& n) {
  if (const Conv2dAttrs* a = n.conv2d()) {
    ENSURE(a->out_channels >= 1, At(n), "out_channels must be >= 1, got ", a->out_channels);
    ENSURE(a->kernel_h >= 1 && a->kernel_w >= 1, At(n), "kernel must be >= 1, got ", a->kernel_h,
           "x", a->kernel_w);
    ENSURE(a->stride_h >= 1 && a->stride_w >= 1, At(n), "stride must be >= 1, got ", a->stride_h,
           "x", a->stride_w);
    ENSURE(a->dilation_h >= 1 && a->dilation_w >= 1, At(n), "dilation must be >= 1, got ",
           a->dilation_h, "x", a->dilation_w);
    ENSURE(a->groups >= 1, At(n), "groups must be >= 1, got ", a->groups);
    ENSURE(a->out_channels % a->groups == 0, At(n), "out_channels ", a->out_channels,
           " is not divisible by groups ", a->groups);
    ENSURE(ValidActivation(a->activation), At(n), "unknown fused activation ",
           static_cast<int>(a->activation));
    RETURN_IF_ERROR(CheckPadding(n, a->padding));
  } else if (const BatchNormAttrs* a = n.batch_norm()) {
    ENSURE(std::isfinite(a->epsilon) && a->epsilon > 0.0f, At(n),
           "epsilon must be finite and > 0, got ", a->epsilon);
  } else if (const PoolAttrs* a = n.pool()) {
    ENSURE(a->kernel_h >= 1 && a->kernel_w >= 1, At(n), "kernel must be >= 1, got ", a->kernel_h,
           "x", a->kernel_w);
    ENSURE(a->stride_h >= 1 && a->stride_w >= 1, At(n), "stride must be >= 1, got ", a->stride_h,
           "x", a->stride_w);
    RETURN_IF_ERROR(CheckPadding(n, a->padding));
    ENSURE(a->padding.top < a->kernel_h && a->padding.bottom < a->kernel_h &&
               a->padding.left < a->kernel_w && a->padding.right < a->kernel_w,
           At(n), "padding must be smaller than the ", a->kernel_h, "x", a->kernel_w,
           " window (every window must see the input)");
    ENSURE(n.op == OpType::kAvgPool || !a->count_include_pad, At(n),
           "count_include_pad applies to AvgPool only");
  } else if (const FullyConnectedAttrs* a = n.fully_connected()) {
    ENSURE(a->out_features >= 1, At(n), "out_features must be >= 1, got ", a->out_features);
    ENSURE(ValidActivation(a->activation), At(n), "unknown fused activation ",
           static_cast<int>(a->activation));
  }
  return Status::Ok();
}

Status ValidateDeclaredShape(const Tensor& t) {
  ENSURE(static_cast<int>(t.shape.size()) <= kMaxRank,
         t.kind == TensorKind::kInput ? "input" : "parameter", " '", t.name, "' has rank ",
         t.shape.size(), ", more than ", kMaxRank);
  int64_t n = 1;
  for (int64_t d : t.shape) {
    ENSURE(d >= 1, TensorKindName(t.kind), " '", t.name, "' has shape ", ShapeToString(t.shape),
           "; every dimension must be >= 1");
    ENSURE(n <= kMaxTensorElements / d, TensorKindName(t.kind), " '", t.name, "' has shape ",
           ShapeToString(t.shape), ", more than 2^40 elements");
    n *= d;
  }
  return Status::Ok();
}

}  // namespace

Status ValidateNodeInputs(const Graph& g, const Node& n) {
  ENSURE(static_cast<int>(n.op) < kNumOpTypes, "node '", n.name, "' has unknown op ",
         static_cast<int>(n.op));
  ENSURE(AttrsMatchOp(n), At(n), "attributes do not belong to this op");
  RETURN_IF_ERROR(ValidateAttrs(n));
  std::vector<Slot> slots = SlotsOf(n.op);
  size_t required = 0;
  for (const Slot& s : slots) required += s.optional ? 0 : 1;
  ENSURE(n.inputs.size() >= required && n.inputs.size() <= slots.size(), At(n), "takes ",
         required == slots.size() ? "" : internal::StrCat(required, " to "), slots.size(),
         " inputs, got ", n.inputs.size());
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    TensorId t = n.inputs[i];
    ENSURE(t >= 0 && t < g.num_tensors(), At(n), slots[i].role, " is tensor id ", t,
           ", out of range [0, ", g.num_tensors(), ")");
    const Tensor& tensor = g.tensor(t);
    if (slots[i].parameter) {
      ENSURE(tensor.kind == TensorKind::kParameter, At(n), slots[i].role, " '", tensor.name,
             "' must be a parameter, it is a graph ", TensorKindName(tensor.kind));
    } else {
      ENSURE(tensor.kind != TensorKind::kParameter, At(n), slots[i].role, " '", tensor.name,
             "' is a parameter; it must be a graph input or a node's output");
    }
  }
  ENSURE(n.output >= 0 && n.output < g.num_tensors(), At(n), "output is tensor id ", n.output,
         ", out of range [0, ", g.num_tensors(), ")");
  const Tensor& out = g.tensor(n.output);
  ENSURE(out.kind == TensorKind::kActivation || out.kind == TensorKind::kOutput, At(n), "output '",
         out.name, "' is a graph ", TensorKindName(out.kind),
         "; a node may only write an activation or an output");
  for (TensorId t : n.inputs) {
    ENSURE(t != n.output, At(n), "reads its own output '", out.name, "'");
  }
  return Status::Ok();
}

namespace {

// A parameter's storage: known, and for int8 rows finite values on their grid (what a model file
// holds is then exactly what the graph computes with).
Status ValidateStorage(const Tensor& t) {
  switch (t.storage) {
    case ParameterStorage::kFloat32:
      return Status::Ok();
    case ParameterStorage::kInt8Rows: {
      for (size_t i = 0; i < t.data.size(); ++i) {
        ENSURE(std::fabs(t.data[i]) <= kInt8RowMaxMagnitude, "parameter '", t.name, "' element ", i,
               " is ", t.data[i], "; int8 rows hold finite values up to ", kInt8RowMaxMagnitude);
      }
      size_t rows, cols;
      Int8RowsGeometry(t.shape, &rows, &cols);
      ENSURE(OnInt8RowGrid(t.data.data(), rows, cols), "parameter '", t.name,
             "' is stored as int8 rows but its values are not on their grid (QuantizeInt8Rows or "
             "SetWeightStorage puts them there)");
      return Status::Ok();
    }
  }
  return Error(StatusCode::kInvalidArgument, "parameter '", t.name, "' has unknown storage ",
               static_cast<int>(t.storage));
}

}  // namespace

Status ValidateStructure(const Graph& g) {
  std::unordered_set<std::string> names;
  for (const Tensor& t : g.tensors()) {
    ENSURE(!t.name.empty(), "a tensor has an empty name");
    ENSURE(names.insert(t.name).second, "two tensors are named '", t.name, "'");
    ENSURE(static_cast<uint8_t>(t.kind) <= static_cast<uint8_t>(TensorKind::kOutput), "tensor '",
           t.name, "' has unknown kind ", static_cast<int>(t.kind));
    if (t.kind == TensorKind::kInput || t.kind == TensorKind::kParameter) {
      RETURN_IF_ERROR(ValidateDeclaredShape(t));
    }
    if (t.kind == TensorKind::kParameter) {
      ENSURE(static_cast<int64_t>(t.data.size()) == NumElements(t.shape), "parameter '", t.name,
             "' has shape ", ShapeToString(t.shape), " (", NumElements(t.shape),
             " elements) but holds ", t.data.size(), " values");
      RETURN_IF_ERROR(ValidateStorage(t));
    } else {
      ENSURE(t.data.empty(), TensorKindName(t.kind), " '", t.name,
             "' holds data; only parameters may");
      ENSURE(t.storage == ParameterStorage::kFloat32, TensorKindName(t.kind), " '", t.name,
             "' has a storage (", ParameterStorageName(t.storage), "); only parameters may");
    }
  }
  names.clear();
  // written_by[t]: the node that writes tensor t so far (kNoNode if none yet).
  std::vector<NodeId> written_by(static_cast<size_t>(g.num_tensors()), kNoNode);
  std::vector<bool> read(static_cast<size_t>(g.num_tensors()), false);
  for (NodeId id = 0; id < g.num_nodes(); ++id) {
    const Node& n = g.node(id);
    ENSURE(!n.name.empty(), "node ", id, " (", OpTypeName(n.op), ") has an empty name");
    ENSURE(names.insert(n.name).second, "two nodes are named '", n.name, "'");
    RETURN_IF_ERROR(ValidateNodeInputs(g, n));
    for (TensorId t : n.inputs) {
      const Tensor& tensor = g.tensor(t);
      ENSURE((tensor.kind != TensorKind::kActivation && tensor.kind != TensorKind::kOutput) ||
                 written_by[static_cast<size_t>(t)] != kNoNode,
             At(n), "input '", tensor.name,
             "' is read before any node writes it (nodes must be in execution order)");
      read[static_cast<size_t>(t)] = true;
    }
    const Tensor& out = g.tensor(n.output);
    NodeId& writer = written_by[static_cast<size_t>(n.output)];
    ENSURE(writer == kNoNode, At(n), "output '", out.name, "' is already written by node '",
           g.node(writer).name, "'");
    writer = id;
  }
  bool any_input = false;
  bool any_output = false;
  for (TensorId t = 0; t < g.num_tensors(); ++t) {
    const Tensor& tensor = g.tensor(t);
    size_t i = static_cast<size_t>(t);
    switch (tensor.kind) {
      case TensorKind::kInput:
      case TensorKind::kParameter:
        ENSURE(read[i], TensorKindName(tensor.kind), " '", tensor.name,
               "' is not read by any node");
        any_input = any_input || tensor.kind == TensorKind::kInput;
        break;
      case TensorKind::kActivation:
      case TensorKind::kOutput:
        ENSURE(written_by[i] != kNoNode, TensorKindName(tensor.kind), " '", tensor.name,
               "' is not written by any node");
        any_output = any_output || tensor.kind == TensorKind::kOutput;
        break;
      default:
        return Error(StatusCode::kInvalidArgument, "tensor '", tensor.name, "' has unknown kind ",
                     static_cast<int>(tensor.kind));
    }
  }
  ENSURE(any_input, "the graph has no input");
  ENSURE(any_output, "the graph has no output");
  return Status::Ok();
}

namespace {

// Output extent of a sliding window along one axis; <= 0 means the window does not fit.
int64_t WindowOut(int64_t in, int64_t pad_lo, int64_t pad_hi, int64_t kernel, int64_t stride,
                  int64_t dilation) {
  int64_t span = dilation * (kernel - 1) + 1;
  int64_t padded = in + pad_lo + pad_hi;
  if (padded < span) return 0;
  return (padded - span) / stride + 1;
}

Status ExpectShape(const Node& n, const Tensor& t, const char* role, const Shape& want) {
  ENSURE(t.shape == want, At(n), role, " '", t.name, "' has shape ", ShapeToString(t.shape),
         ", expected ", ShapeToString(want));
  return Status::Ok();
}

Status ExpectRank(const Node& n, const Tensor& t, size_t rank, const char* what) {
  ENSURE(t.shape.size() == rank, At(n), "input '", t.name, "' has shape ", ShapeToString(t.shape),
         "; expected rank ", rank, " (", what, ")");
  return Status::Ok();
}

StatusOr<Shape> InferConv2d(const Graph& g, const Node& n) {
  const Conv2dAttrs& a = *n.conv2d();
  const Tensor& x = g.tensor(n.inputs[0]);
  const Tensor& w = g.tensor(n.inputs[1]);
  RETURN_IF_ERROR(ExpectRank(n, x, 4, "NHWC"));
  const int64_t in_c = x.shape[3];
  ENSURE(in_c % a.groups == 0, At(n), "input '", x.name, "' has ", in_c,
         " channels, not divisible by groups ", a.groups);
  ENSURE(w.shape.size() == 4, At(n), "weights '", w.name, "' have shape ", ShapeToString(w.shape),
         "; expected rank 4 (OHWI)");
  const int64_t expect_c = w.shape[3] * a.groups;
  ENSURE(in_c == expect_c, At(n), "input '", x.name, "' has ", in_c, " channels, weights expect ",
         expect_c);
  RETURN_IF_ERROR(
      ExpectShape(n, w, "weights", {a.out_channels, a.kernel_h, a.kernel_w, in_c / a.groups}));
  if (n.inputs.size() > 2) {
    RETURN_IF_ERROR(ExpectShape(n, g.tensor(n.inputs[2]), "bias", {a.out_channels}));
  }
  int64_t oh =
      WindowOut(x.shape[1], a.padding.top, a.padding.bottom, a.kernel_h, a.stride_h, a.dilation_h);
  int64_t ow =
      WindowOut(x.shape[2], a.padding.left, a.padding.right, a.kernel_w, a.stride_w, a.dilation_w);
  ENSURE(oh >= 1 && ow >= 1, At(n), "a ", a.kernel_h, "x", a.kernel_w, " kernel (dilation ",
         a.dilation_h, "x", a.dilation_w, ") does not fit input '", x.name, "' of shape ",
         ShapeToString(x.shape), " with padding ", a.padding.top, ",", a.padding.bottom, ",",
         a.padding.left, ",", a.padding.right);
  return Shape{x.shape[0], oh, ow, a.out_channels};
}

StatusOr<Shape> InferBatchNorm(const Graph& g, const Node& n) {
  const Tensor& x = g.tensor(n.inputs[0]);
  ENSURE(x.shape.size() >= 2, At(n), "input '", x.name, "' has shape ", ShapeToString(x.shape),
         "; expected rank >= 2 (channels last)");
  const int64_t c = x.shape.back();
  static const char* const kRoles[] = {"gamma", "beta", "running_mean", "running_var"};
  for (size_t i = 1; i < 5; ++i) {
    const Tensor& p = g.tensor(n.inputs[i]);
    ENSURE(p.shape == Shape{c}, At(n), "input '", x.name, "' has ", c, " channels, ", kRoles[i - 1],
           " '", p.name, "' has shape ", ShapeToString(p.shape));
  }
  return x.shape;
}

StatusOr<Shape> InferFullyConnected(const Graph& g, const Node& n) {
  const FullyConnectedAttrs& a = *n.fully_connected();
  const Tensor& x = g.tensor(n.inputs[0]);
  const Tensor& w = g.tensor(n.inputs[1]);
  RETURN_IF_ERROR(ExpectRank(n, x, 2, "[batch, features]; insert a Flatten"));
  ENSURE(w.shape.size() == 2, At(n), "weights '", w.name, "' have shape ", ShapeToString(w.shape),
         "; expected rank 2 ([out, in])");
  ENSURE(x.shape[1] == w.shape[1], At(n), "input '", x.name, "' has ", x.shape[1],
         " features, weights expect ", w.shape[1]);
  RETURN_IF_ERROR(ExpectShape(n, w, "weights", {a.out_features, x.shape[1]}));
  if (n.inputs.size() > 2) {
    RETURN_IF_ERROR(ExpectShape(n, g.tensor(n.inputs[2]), "bias", {a.out_features}));
  }
  return Shape{x.shape[0], a.out_features};
}

StatusOr<Shape> InferPool(const Graph& g, const Node& n) {
  const PoolAttrs& a = *n.pool();
  const Tensor& x = g.tensor(n.inputs[0]);
  RETURN_IF_ERROR(ExpectRank(n, x, 4, "NHWC"));
  int64_t oh = WindowOut(x.shape[1], a.padding.top, a.padding.bottom, a.kernel_h, a.stride_h, 1);
  int64_t ow = WindowOut(x.shape[2], a.padding.left, a.padding.right, a.kernel_w, a.stride_w, 1);
  ENSURE(oh >= 1 && ow >= 1, At(n), "a ", a.kernel_h, "x", a.kernel_w,
         " window does not fit input '", x.name, "' of shape ", ShapeToString(x.shape));
  return Shape{x.shape[0], oh, ow, x.shape[3]};
}

StatusOr<Shape> InferUnchecked(const Graph& g, NodeId id) {
  const Node& n = g.node(id);
  const Tensor& x = g.tensor(n.inputs[0]);
  switch (n.op) {
    case OpType::kConv2d:
      return InferConv2d(g, n);
    case OpType::kBatchNorm:
      return InferBatchNorm(g, n);
    case OpType::kFullyConnected:
      return InferFullyConnected(g, n);
    case OpType::kMaxPool:
    case OpType::kAvgPool:
      return InferPool(g, n);
    case OpType::kRelu:
    case OpType::kRelu6:
      return x.shape;
    case OpType::kSoftmax:
      ENSURE(!x.shape.empty(), At(n), "input '", x.name, "' is a scalar; softmax needs an axis");
      return x.shape;
    case OpType::kAdd: {
      const Tensor& y = g.tensor(n.inputs[1]);
      ENSURE(x.shape == y.shape, At(n), "inputs '", x.name, "' ", ShapeToString(x.shape), " and '",
             y.name, "' ", ShapeToString(y.shape), " differ in shape (no broadcasting)");
      return x.shape;
    }
    case OpType::kGlobalAvgPool:
      RETURN_IF_ERROR(ExpectRank(n, x, 4, "NHWC"));
      return Shape{x.shape[0], x.shape[3]};
    case OpType::kFlatten:
      ENSURE(x.shape.size() >= 2, At(n), "input '", x.name, "' has shape ", ShapeToString(x.shape),
             "; expected rank >= 2");
      return Shape{x.shape[0], NumElements(x.shape) / x.shape[0]};
  }
  return Error(StatusCode::kInvalidArgument, At(n), "unknown op");
}

}  // namespace

StatusOr<Shape> InferNodeOutputShape(const Graph& g, NodeId id) {
  ASSIGN_OR_RETURN(Shape shape, InferUnchecked(g, id));
  int64_t elements = 1;
  for (int64_t d : shape) {
    ENSURE(d >= 1 && elements <= kMaxTensorElements / d, At(g.node(id)), "output shape ",
           ShapeToString(shape), " is empty or has more than 2^40 elements");
    elements *= d;
  }
  return shape;
}

Status InferShapes(Graph* g) {
  for (NodeId id = 0; id < g->num_nodes(); ++id) {
    ASSIGN_OR_RETURN(Shape shape, InferNodeOutputShape(*g, id));
    g->mutable_tensor(g->node(id).output).shape = std::move(shape);
  }
  return Status::Ok();
}

Status ValidateParameterData(const Graph& g) {
  for (const Tensor& t : g.tensors()) {
    for (size_t i = 0; i < t.data.size(); ++i) {
      ENSURE(std::isfinite(t.data[i]), "parameter '", t.name, "' element ", i, " is ", t.data[i],
             "; parameters must be finite");
    }
  }
  for (const Node& n : g.nodes()) {
    if (n.op != OpType::kBatchNorm) continue;
    const Tensor& var = g.tensor(n.inputs[4]);
    for (size_t i = 0; i < var.data.size(); ++i) {
      ENSURE(var.data[i] >= 0.0f, At(n), "running_var '", var.name, "' element ", i, " is ",
             var.data[i], "; variances must be >= 0");
    }
  }
  return Status::Ok();
}

Status FinalizeGraph(Graph* g) {
  RETURN_IF_ERROR(ValidateStructure(*g));
  RETURN_IF_ERROR(InferShapes(g));
  return ValidateParameterData(*g);
}

Status SetBatchSize(Graph* g, int64_t batch) {
  ENSURE(batch >= 1, "batch size must be >= 1, got ", batch);
  for (TensorId t : g->inputs()) {
    ENSURE(!g->tensor(t).shape.empty(), "input '", g->tensor(t).name,
           "' is a scalar; it has no batch dimension");
  }
  // Shapes only are touched; keep them to restore on failure (the weights are not copied).
  std::vector<Shape> saved;
  for (const Tensor& t : g->tensors()) saved.push_back(t.shape);
  for (TensorId t : g->inputs()) g->mutable_tensor(t).shape[0] = batch;
  Status status = ValidateStructure(*g);
  if (status.ok()) status = InferShapes(g);
  if (!status.ok()) {
    for (TensorId t = 0; t < g->num_tensors(); ++t) {
      g->mutable_tensor(t).shape = saved[static_cast<size_t>(t)];
    }
  }
  return status;
}

}  // namespace persephonee
