#include "engine/node_op.h"

#include <cmath>
#include <limits>
#include <utility>
#include <variant>

#include "kernels/conv2d/xnnpack.h"
#include "kernels/elementwise/xnnpack.h"
#include "kernels/fc/xnnpack.h"
#include "kernels/pool/xnnpack.h"

namespace persephonee {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

/// Flatten: no operator; the output shares the input's memory.
struct Alias {};

using AnyOp = std::variant<Alias, XnnConv2d, XnnFullyConnected, XnnMaxPool2d, XnnAvgPool2d,
                           XnnGlobalAvgPool, XnnAdd, XnnClamp, XnnSoftmax>;

std::pair<float, float> Range(Activation a) {
  switch (a) {
    case Activation::kNone:
      return {-kInf, kInf};
    case Activation::kRelu:
      return {0.0f, kInf};
    case Activation::kRelu6:
      return {0.0f, 6.0f};
  }
  return {-kInf, kInf};
}

const float* ParamData(const Graph& g, const Node& n, size_t slot) {
  if (slot >= n.inputs.size() || n.inputs[slot] == kNoTensor) return nullptr;
  const Tensor& t = g.tensor(n.inputs[slot]);
  return t.data.empty() ? nullptr : t.data.data();
}

Status NeedWeights(const Graph& g, const Node& n, size_t slot) {
  ENSURE_CODE(ParamData(g, n, slot) != nullptr, kFailedPrecondition, "node '", n.name,
              "': parameter '", g.tensor(n.inputs[slot]).name,
              "' has no data (released weights cannot be packed again)");
  return Status::Ok();
}

}  // namespace

Conv2dShape MakeConv2dShape(const Shape& in, const Conv2dAttrs& a) {
  Conv2dShape s;
  s.batch = static_cast<size_t>(in[0]);
  s.in_h = static_cast<size_t>(in[1]);
  s.in_w = static_cast<size_t>(in[2]);
  s.in_c = static_cast<size_t>(in[3]);
  s.out_c = static_cast<size_t>(a.out_channels);
  s.kernel_h = static_cast<size_t>(a.kernel_h);
  s.kernel_w = static_cast<size_t>(a.kernel_w);
  s.stride_h = static_cast<size_t>(a.stride_h);
  s.stride_w = static_cast<size_t>(a.stride_w);
  s.dilation_h = static_cast<size_t>(a.dilation_h);
  s.dilation_w = static_cast<size_t>(a.dilation_w);
  s.pad_top = static_cast<size_t>(a.padding.top);
  s.pad_bottom = static_cast<size_t>(a.padding.bottom);
  s.pad_left = static_cast<size_t>(a.padding.left);
  s.pad_right = static_cast<size_t>(a.padding.right);
  s.groups = static_cast<size_t>(a.groups);
  return s;
}

Pool2dShape MakePool2dShape(const Shape& in, const PoolAttrs& a) {
  Pool2dShape s;
  s.batch = static_cast<size_t>(in[0]);
  s.in_h = static_cast<size_t>(in[1]);
  s.in_w = static_cast<size_t>(in[2]);
  s.channels = static_cast<size_t>(in[3]);
  s.kernel_h = static_cast<size_t>(a.kernel_h);
  s.kernel_w = static_cast<size_t>(a.kernel_w);
  s.stride_h = static_cast<size_t>(a.stride_h);
  s.stride_w = static_cast<size_t>(a.stride_w);
  s.pad_top = static_cast<size_t>(a.padding.top);
  s.pad_bottom = static_cast<size_t>(a.padding.bottom);
  s.pad_left = static_cast<size_t>(a.padding.left);
  s.pad_right = static_cast<size_t>(a.padding.right);
  s.count_include_pad = a.count_include_pad;
  return s;
}

GlobalPoolShape MakeGlobalPoolShape(const Shape& in) {
  GlobalPoolShape s;
  s.batch = static_cast<size_t>(in[0]);
  s.in_h = static_cast<size_t>(in[1]);
  s.in_w = static_cast<size_t>(in[2]);
  s.channels = static_cast<size_t>(in[3]);
  return s;
}

namespace {

// A standalone BatchNorm (one that could not be folded into a convolution) runs as a 1x1
// depthwise convolution with weight s = gamma / sqrt(var + eps) and bias beta - mean * s.
StatusOr<AnyOp> BatchNormAsDepthwise(const Graph& g, const Node& n) {
  const Shape& in = g.tensor(n.inputs[0]).shape;
  ENSURE_CODE(in.size() == 4, kUnimplemented, "node '", n.name,
              "' (BatchNorm): only 4-D NHWC inputs are supported, got ", ShapeToString(in));
  for (size_t slot = 1; slot <= 4; ++slot) RETURN_IF_ERROR(NeedWeights(g, n, slot));
  const size_t c = static_cast<size_t>(in[3]);
  const float* gamma = ParamData(g, n, 1);
  const float* beta = ParamData(g, n, 2);
  const float* mean = ParamData(g, n, 3);
  const float* var = ParamData(g, n, 4);
  const double eps = n.batch_norm()->epsilon;
  std::vector<float> scale(c), shift(c);
  for (size_t i = 0; i < c; ++i) {
    const double s = gamma[i] / std::sqrt(static_cast<double>(var[i]) + eps);
    scale[i] = static_cast<float>(s);
    shift[i] = static_cast<float>(beta[i] - mean[i] * s);
  }
  Conv2dAttrs a = Conv2dAttrs::Square(static_cast<int32_t>(c), 1, 1, 0, static_cast<int32_t>(c));
  ASSIGN_OR_RETURN(XnnConv2d op,
                   XnnConv2d::Create(MakeConv2dShape(in, a), scale.data(), shift.data()));
  return AnyOp(std::move(op));
}

StatusOr<AnyOp> MakeOp(const Graph& g, const Node& n) {
  const Shape& in = g.tensor(n.inputs[0]).shape;
  const Shape& out = g.tensor(n.output).shape;
  switch (n.op) {
    case OpType::kConv2d: {
      RETURN_IF_ERROR(NeedWeights(g, n, 1));
      const auto [lo, hi] = Range(n.conv2d()->activation);
      ASSIGN_OR_RETURN(XnnConv2d op,
                       XnnConv2d::Create(MakeConv2dShape(in, *n.conv2d()), ParamData(g, n, 1),
                                         ParamData(g, n, 2), lo, hi));
      return AnyOp(std::move(op));
    }
    case OpType::kFullyConnected: {
      RETURN_IF_ERROR(NeedWeights(g, n, 1));
      const auto [lo, hi] = Range(n.fully_connected()->activation);
      ASSIGN_OR_RETURN(
          XnnFullyConnected op,
          XnnFullyConnected::Create(static_cast<size_t>(in[1]), static_cast<size_t>(out[1]),
                                    ParamData(g, n, 1), ParamData(g, n, 2), lo, hi));
      return AnyOp(std::move(op));
    }
    case OpType::kMaxPool: {
      ASSIGN_OR_RETURN(XnnMaxPool2d op, XnnMaxPool2d::Create(MakePool2dShape(in, *n.pool())));
      return AnyOp(std::move(op));
    }
    case OpType::kAvgPool: {
      ASSIGN_OR_RETURN(XnnAvgPool2d op, XnnAvgPool2d::Create(MakePool2dShape(in, *n.pool())));
      return AnyOp(std::move(op));
    }
    case OpType::kGlobalAvgPool: {
      ASSIGN_OR_RETURN(XnnGlobalAvgPool op, XnnGlobalAvgPool::Create(MakeGlobalPoolShape(in)));
      return AnyOp(std::move(op));
    }
    case OpType::kAdd: {
      ASSIGN_OR_RETURN(XnnAdd op, XnnAdd::Create());
      return AnyOp(std::move(op));
    }
    case OpType::kRelu:
    case OpType::kRelu6: {
      ASSIGN_OR_RETURN(XnnClamp op, XnnClamp::Create(0.0f, n.op == OpType::kRelu ? kInf : 6.0f));
      return AnyOp(std::move(op));
    }
    case OpType::kSoftmax: {
      ASSIGN_OR_RETURN(XnnSoftmax op, XnnSoftmax::Create(static_cast<size_t>(out.back())));
      return AnyOp(std::move(op));
    }
    case OpType::kFlatten:
      return AnyOp(Alias{});
    case OpType::kBatchNorm:
      return BatchNormAsDepthwise(g, n);
  }
  return Error(StatusCode::kUnimplemented, "node '", n.name, "': op ", OpTypeName(n.op),
               " has no forward operator");
}

}  // namespace

struct NodeOp::Impl {
  AnyOp op;
  size_t output_elements = 0;
  size_t rows = 0;  // Softmax: rows of the last axis.
};

NodeOp::NodeOp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NodeOp::NodeOp(NodeOp&&) noexcept = default;
NodeOp& NodeOp::operator=(NodeOp&&) noexcept = default;
NodeOp::~NodeOp() = default;

StatusOr<NodeOp> NodeOp::Create(const Graph& graph, NodeId id) {
  ENSURE(id >= 0 && id < graph.num_nodes(), "node id ", id, " out of range");
  const Node& node = graph.node(id);
  StatusOr<AnyOp> op = MakeOp(graph, node);
  if (!op.ok()) return op.status().WithContext("node '" + node.name + "'");
  auto impl = std::make_unique<Impl>();
  impl->op = std::move(op).value();
  const Shape& out = graph.tensor(node.output).shape;
  impl->output_elements = static_cast<size_t>(NumElements(out));
  impl->rows = out.empty() ? 1 : impl->output_elements / static_cast<size_t>(out.back());
  return NodeOp(std::move(impl));
}

bool NodeOp::is_alias() const { return std::holds_alternative<Alias>(impl_->op); }

bool NodeOp::may_run_in_place() const {
  return std::holds_alternative<XnnAdd>(impl_->op) || std::holds_alternative<XnnClamp>(impl_->op);
}

Status NodeOp::Setup(const std::vector<const float*>& in, float* out, pthreadpool_t pool) {
  Impl& m = *impl_;
  const size_t want = std::holds_alternative<XnnAdd>(m.op) ? 2 : 1;
  ENSURE(in.size() == want, "Setup: expected ", want, " input buffers, got ", in.size());
  return std::visit(
      [&](auto& op) -> Status {
        using T = std::decay_t<decltype(op)>;
        if constexpr (std::is_same_v<T, Alias>) {
          ENSURE(in[0] == out, "Flatten must be bound to its input's memory");
          return Status::Ok();
        } else if constexpr (std::is_same_v<T, XnnConv2d> || std::is_same_v<T, XnnMaxPool2d> ||
                             std::is_same_v<T, XnnAvgPool2d> ||
                             std::is_same_v<T, XnnGlobalAvgPool>) {
          return op.Setup(op.shape().batch, in[0], out, pool);
        } else if constexpr (std::is_same_v<T, XnnFullyConnected>) {
          return op.Setup(m.output_elements / op.out(), in[0], out, pool);
        } else if constexpr (std::is_same_v<T, XnnAdd>) {
          return op.Setup(m.output_elements, in[0], in[1], out, pool);
        } else if constexpr (std::is_same_v<T, XnnClamp>) {
          return op.Setup(m.output_elements, in[0], out, pool);
        } else {
          static_assert(std::is_same_v<T, XnnSoftmax>);
          return op.Setup(m.rows, in[0], out, pool);
        }
      },
      m.op);
}

Status NodeOp::Run(pthreadpool_t pool) {
  return std::visit(
      [&](auto& op) -> Status {
        using T = std::decay_t<decltype(op)>;
        if constexpr (std::is_same_v<T, Alias>) {
          return Status::Ok();
        } else {
          return op.Run(pool);
        }
      },
      impl_->op);
}

std::vector<TensorId> ActivationInputs(const Graph& graph, const Node& node) {
  std::vector<TensorId> ids;
  for (TensorId t : node.inputs) {
    if (t != kNoTensor && graph.tensor(t).kind != TensorKind::kParameter) ids.push_back(t);
  }
  return ids;
}

}  // namespace persephonee
