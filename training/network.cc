#include "training/network.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <utility>

#include "engine/node_op.h"
#include "graph/flops.h"
#include "graph/passes.h"
#include "graph/shape_inference.h"
#include "kernels/conv2d/conv2d.h"
#include "kernels/elementwise/elementwise.h"
#include "kernels/fc/fc.h"
#include "kernels/pool/pool.h"

namespace persephonee {
namespace {

// The graph without its last node, a Softmax, whose input becomes the output.
StatusOr<Graph> DropFinalSoftmax(const Graph& g) {
  Graph out;
  const Node& last = g.node(g.num_nodes() - 1);
  std::vector<TensorId> remap(static_cast<size_t>(g.num_tensors()), kNoTensor);
  for (TensorId t = 0; t < g.num_tensors(); ++t) {
    if (t == last.output) continue;
    Tensor tensor = g.tensor(t);
    if (t == last.inputs[0]) tensor.kind = TensorKind::kOutput;
    remap[static_cast<size_t>(t)] = out.AddTensor(std::move(tensor));
  }
  for (NodeId n = 0; n + 1 < g.num_nodes(); ++n) {
    Node node = g.node(n);
    for (TensorId& t : node.inputs) {
      if (t != kNoTensor) t = remap[static_cast<size_t>(t)];
    }
    node.output = remap[static_cast<size_t>(node.output)];
    out.AddNode(std::move(node));
  }
  RETURN_IF_ERROR(FinalizeGraph(&out));
  return out;
}

bool IsDepthwise(const Node& n, const Graph& g) {
  const Conv2dAttrs* a = n.conv2d();
  const int64_t in_c = g.tensor(n.inputs[0]).shape[3];
  return a != nullptr && a->groups == in_c && a->out_channels == in_c && a->groups > 1;
}

}  // namespace

struct Network::Impl {
  Graph graph;
  pthreadpool_t pool = nullptr;
  int32_t num_nodes = 0;
  TensorId input = kNoTensor;
  TensorId output = kNoTensor;
  int64_t batch = 0;  // of the last Forward

  std::vector<int> storage_of;     // per tensor: index into act/grad, -1 for parameters
  std::vector<size_t> per_sample;  // per tensor: floats per sample
  std::vector<std::vector<float>> act, grad;
  std::vector<bool> grad_ready;                        // per storage: written by this Backward
  std::vector<std::vector<int32_t>> argmax;            // per node (MaxPool)
  std::vector<std::vector<float>> dw_weight, dw_grad;  // per node (depthwise), HWC layout
  std::vector<std::vector<float>> param_grad;          // per tensor (parameters only)
  std::vector<float> workspace;                        // im2col / col2im
  std::vector<float> accum;  // a gradient to be added to one already written

  float* A(TensorId t) {
    return act[static_cast<size_t>(storage_of[static_cast<size_t>(t)])].data();
  }
  float* G(TensorId t) {
    return grad[static_cast<size_t>(storage_of[static_cast<size_t>(t)])].data();
  }
  float* P(const Node& n, size_t slot) {
    if (slot >= n.inputs.size() || n.inputs[slot] == kNoTensor) return nullptr;
    return graph.mutable_tensor(n.inputs[slot]).data.data();
  }
  float* PG(const Node& n, size_t slot) {
    if (slot >= n.inputs.size() || n.inputs[slot] == kNoTensor) return nullptr;
    return param_grad[static_cast<size_t>(n.inputs[slot])].data();
  }
  size_t Count(TensorId t) const {
    return static_cast<size_t>(batch) * per_sample[static_cast<size_t>(t)];
  }
  Shape BatchShape(TensorId t) const {
    Shape s = graph.tensor(t).shape;
    s[0] = batch;
    return s;
  }

  // Adds a contribution to tensor t's gradient: `write` fills a buffer with it.
  void Contribute(TensorId t, const std::function<void(float*)>& write) {
    const size_t s = static_cast<size_t>(storage_of[static_cast<size_t>(t)]);
    if (!grad_ready[s]) {
      write(grad[s].data());
      grad_ready[s] = true;
      return;
    }
    write(accum.data());
    f32_add_fwd(Count(t), grad[s].data(), accum.data(), grad[s].data(), pool);
  }

  void ActivationForward(Activation a, float* y, size_t count) {
    if (a == Activation::kRelu) f32_relu_fwd(count, y, y, pool);
    if (a == Activation::kRelu6) f32_relu6_fwd(count, y, y, pool);
  }
  void ActivationBackward(Activation a, const float* y, float* g, size_t count) {
    if (a == Activation::kRelu) f32_relu_bwd(count, y, g, g, pool);
    if (a == Activation::kRelu6) f32_relu6_bwd(count, y, g, g, pool);
  }

  void ForwardNode(NodeId id);
  void BackwardNode(NodeId id, bool want_input_grad);
};

Network::~Network() = default;

StatusOr<std::unique_ptr<Network>> Network::Create(const Graph& graph, int64_t max_batch,
                                                   pthreadpool_t pool) {
  ENSURE(max_batch >= 1, "network: max_batch must be at least 1, got ", max_batch);
  ENSURE(graph.num_nodes() > 0, "network: the graph has no nodes");
  auto impl = std::make_unique<Impl>();
  ASSIGN_OR_RETURN(Graph g, FoldBatchNorm(graph));
  ASSIGN_OR_RETURN(g, FuseActivations(g));
  if (g.node(g.num_nodes() - 1).op == OpType::kSoftmax) {
    ASSIGN_OR_RETURN(g, DropFinalSoftmax(g));
  }
  RETURN_IF_ERROR(SetBatchSize(&g, 1));
  ENSURE(g.inputs().size() == 1 && g.outputs().size() == 1,
         "network: training needs exactly one input and one output, the graph has ",
         g.inputs().size(), " and ", g.outputs().size());
  impl->input = g.inputs()[0];
  impl->output = g.outputs()[0];
  impl->pool = pool;
  impl->num_nodes = g.num_nodes();

  // Which nodes read each parameter: every trainable parameter must have exactly one reader.
  std::vector<int> readers(static_cast<size_t>(g.num_tensors()), 0);
  for (const Node& n : g.nodes()) {
    switch (n.op) {
      case OpType::kConv2d:
      case OpType::kFullyConnected:
      case OpType::kRelu:
      case OpType::kRelu6:
      case OpType::kAdd:
      case OpType::kMaxPool:
      case OpType::kAvgPool:
      case OpType::kGlobalAvgPool:
      case OpType::kFlatten:
        break;
      default:
        return Error(StatusCode::kUnimplemented, "network: node '", n.name, "' (", OpTypeName(n.op),
                     ") cannot be trained");
    }
    for (TensorId t : n.inputs) {
      if (t != kNoTensor && g.tensor(t).kind == TensorKind::kParameter) ++readers[t];
    }
  }

  Network* net = new Network();
  std::unique_ptr<Network> owner(net);
  size_t bytes = 0;
  const size_t nt = static_cast<size_t>(g.num_tensors());
  impl->storage_of.assign(nt, -1);
  impl->per_sample.assign(nt, 0);
  impl->param_grad.resize(nt);
  for (TensorId t = 0; t < g.num_tensors(); ++t) {
    const Tensor& tensor = g.tensor(t);
    impl->per_sample[t] = static_cast<size_t>(NumElements(tensor.shape));
    if (tensor.kind == TensorKind::kParameter) {
      ENSURE_CODE(readers[t] <= 1, kUnimplemented, "network: parameter '", tensor.name,
                  "' is read by ", readers[t], " nodes; shared parameters cannot be trained");
      impl->param_grad[t].assign(tensor.data.size(), 0.0f);
      bytes += 2 * tensor.data.size() * sizeof(float);
    }
  }
  // Activation storage: one per tensor, except a Flatten's output, which is its input's.
  std::vector<TensorId> flatten_source(nt, kNoTensor);
  for (const Node& n : g.nodes()) {
    if (n.op == OpType::kFlatten) flatten_source[static_cast<size_t>(n.output)] = n.inputs[0];
  }
  size_t largest = 0;
  for (TensorId t = 0; t < g.num_tensors(); ++t) {
    if (g.tensor(t).kind == TensorKind::kParameter) continue;
    if (flatten_source[t] != kNoTensor) {
      impl->storage_of[t] = impl->storage_of[static_cast<size_t>(flatten_source[t])];
      continue;
    }
    const size_t n = static_cast<size_t>(max_batch) * impl->per_sample[t];
    impl->storage_of[t] = static_cast<int>(impl->act.size());
    impl->act.emplace_back(n);
    impl->grad.emplace_back(n);
    bytes += 2 * n * sizeof(float);
    largest = std::max(largest, n);
  }
  impl->grad_ready.assign(impl->act.size(), false);
  impl->accum.resize(largest);
  bytes += largest * sizeof(float);

  size_t workspace_bytes = 0;
  impl->argmax.resize(static_cast<size_t>(g.num_nodes()));
  impl->dw_weight.resize(impl->argmax.size());
  impl->dw_grad.resize(impl->argmax.size());
  for (NodeId id = 0; id < g.num_nodes(); ++id) {
    const Node& n = g.node(id);
    Shape in = g.tensor(n.inputs[0]).shape;
    in[0] = max_batch;
    if (n.op == OpType::kConv2d) {
      const Conv2dShape shape = MakeConv2dShape(in, *n.conv2d());
      RETURN_IF_ERROR(shape.Validate().WithContext("network: node '" + n.name + "'"));
      if (IsDepthwise(n, g)) {
        impl->dw_weight[id].resize(shape.weight_size());
        impl->dw_grad[id].resize(shape.weight_size());
      } else {
        workspace_bytes = std::max(workspace_bytes, f32_conv2d_gemm_workspace_size(shape));
      }
    } else if (n.op == OpType::kMaxPool) {
      const Pool2dShape shape = MakePool2dShape(in, *n.pool());
      impl->argmax[id].resize(shape.output_size());
      bytes += shape.output_size() * sizeof(int32_t);
    }
  }
  impl->workspace.resize((workspace_bytes + sizeof(float) - 1) / sizeof(float));
  bytes += impl->workspace.size() * sizeof(float);

  impl->graph = std::move(g);
  for (TensorId t = 0; t < impl->graph.num_tensors(); ++t) {
    Tensor& tensor = impl->graph.mutable_tensor(t);
    if (tensor.kind != TensorKind::kParameter || readers[t] == 0) continue;
    // Training moves the values off any int8 grid; ExportGraph gives float32 parameters, and a
    // caller that stores them as int8 rounds them again (SetWeightStorage).
    tensor.storage = ParameterStorage::kFloat32;
    net->params_.push_back(
        {tensor.name, tensor.data.data(), impl->param_grad[t].data(), tensor.data.size()});
  }
  net->max_batch_ = max_batch;
  net->input_size_ = impl->per_sample[static_cast<size_t>(impl->input)];
  net->output_size_ = impl->per_sample[static_cast<size_t>(impl->output)];
  net->forward_macs_ = ComputeGraphCost(impl->graph).total.macs;
  net->allocated_bytes_ = bytes;
  net->impl_ = std::move(impl);
  return owner;
}

size_t Network::num_params() const {
  size_t n = 0;
  for (const ParamRef& p : params_) n += p.size;
  return n;
}

Graph Network::ExportGraph() const { return impl_->graph; }

const float* Network::output() const { return impl_->A(impl_->output); }

Status Network::Forward(const float* input, int64_t batch) {
  ENSURE(batch >= 1 && batch <= max_batch_, "network: batch ", batch, " outside [1, ", max_batch_,
         "]");
  ENSURE(input != nullptr, "network: null input");
  Impl& m = *impl_;
  m.batch = batch;
  std::memcpy(m.A(m.input), input, m.Count(m.input) * sizeof(float));
  for (NodeId id = 0; id < m.num_nodes; ++id) m.ForwardNode(id);
  return Status::Ok();
}

void Network::Impl::ForwardNode(NodeId id) {
  const Node& n = graph.node(id);
  const TensorId x = n.inputs[0];
  float* y = A(n.output);
  const size_t count = Count(n.output);
  switch (n.op) {
    case OpType::kConv2d: {
      const Conv2dShape shape = MakeConv2dShape(BatchShape(x), *n.conv2d());
      if (IsDepthwise(n, graph)) {
        f32_dwconv2d_pack_weights(shape.in_c, shape.kernel_h, shape.kernel_w, P(n, 1),
                                  dw_weight[id].data());
        dwconv2d_kernels_for(shape).fwd(shape, A(x), dw_weight[id].data(), P(n, 2), y, pool);
      } else {
        conv2d_config().fwd(shape, A(x), P(n, 1), P(n, 2), y, workspace.data(), pool);
      }
      ActivationForward(n.conv2d()->activation, y, count);
      break;
    }
    case OpType::kFullyConnected: {
      const FcShape shape{static_cast<size_t>(batch), per_sample[x], per_sample[n.output]};
      f32_fc_fwd(shape, A(x), P(n, 1), P(n, 2), y, pool);
      ActivationForward(n.fully_connected()->activation, y, count);
      break;
    }
    case OpType::kMaxPool:
      f32_maxpool_fwd(MakePool2dShape(BatchShape(x), *n.pool()), A(x), y, argmax[id].data(), pool);
      break;
    case OpType::kAvgPool:
      f32_avgpool_fwd(MakePool2dShape(BatchShape(x), *n.pool()), A(x), y, pool);
      break;
    case OpType::kGlobalAvgPool:
      f32_gavgpool_fwd(MakeGlobalPoolShape(BatchShape(x)), A(x), y, pool);
      break;
    case OpType::kAdd:
      f32_add_fwd(count, A(x), A(n.inputs[1]), y, pool);
      break;
    case OpType::kRelu:
      f32_relu_fwd(count, A(x), y, pool);
      break;
    case OpType::kRelu6:
      f32_relu6_fwd(count, A(x), y, pool);
      break;
    default:  // kFlatten shares its input's storage; Create() refused every other op.
      break;
  }
}

Status Network::Backward(const float* grad_output, float* grad_input) {
  Impl& m = *impl_;
  ENSURE_CODE(m.batch > 0, kFailedPrecondition, "network: Backward before Forward");
  ENSURE(grad_output != nullptr, "network: null grad_output");
  std::fill(m.grad_ready.begin(), m.grad_ready.end(), false);
  const size_t out_storage = static_cast<size_t>(m.storage_of[static_cast<size_t>(m.output)]);
  std::memcpy(m.grad[out_storage].data(), grad_output, m.Count(m.output) * sizeof(float));
  m.grad_ready[out_storage] = true;
  for (NodeId id = m.num_nodes - 1; id >= 0; --id) m.BackwardNode(id, grad_input != nullptr);
  if (grad_input != nullptr) {
    const size_t s = static_cast<size_t>(m.storage_of[static_cast<size_t>(m.input)]);
    if (m.grad_ready[s]) {
      std::memcpy(grad_input, m.grad[s].data(), m.Count(m.input) * sizeof(float));
    } else {
      std::fill(grad_input, grad_input + m.Count(m.input), 0.0f);
    }
  }
  return Status::Ok();
}

void Network::Impl::BackwardNode(NodeId id, bool want_input_grad) {
  const Node& n = graph.node(id);
  if (n.op == OpType::kFlatten) return;  // shares storage with its input
  const TensorId x = n.inputs[0];
  const bool x_needs = x != input || want_input_grad;
  if (!grad_ready[static_cast<size_t>(storage_of[static_cast<size_t>(n.output)])]) {
    // Nothing downstream used this output: its parameters get zero gradients.
    for (TensorId t : n.inputs) {
      if (t != kNoTensor && graph.tensor(t).kind == TensorKind::kParameter) {
        std::fill(param_grad[t].begin(), param_grad[t].end(), 0.0f);
      }
    }
    return;
  }
  float* g = G(n.output);
  const float* y = A(n.output);
  const size_t count = Count(n.output);
  switch (n.op) {
    case OpType::kConv2d: {
      ActivationBackward(n.conv2d()->activation, y, g, count);
      const Conv2dShape shape = MakeConv2dShape(BatchShape(x), *n.conv2d());
      if (IsDepthwise(n, graph)) {
        const Dwconv2dKernels& k = dwconv2d_kernels_for(shape);
        k.bwd_weight(shape, A(x), g, dw_grad[id].data(), PG(n, 2), pool);
        f32_dwconv2d_unpack_weights(shape.in_c, shape.kernel_h, shape.kernel_w, dw_grad[id].data(),
                                    PG(n, 1));
        if (x_needs) {
          Contribute(x,
                     [&](float* dst) { k.bwd_input(shape, g, dw_weight[id].data(), dst, pool); });
        }
      } else {
        const Conv2dConfig& c = conv2d_config();
        c.bwd_weight(shape, A(x), g, PG(n, 1), PG(n, 2), workspace.data(), pool);
        if (x_needs) {
          Contribute(
              x, [&](float* dst) { c.bwd_input(shape, g, P(n, 1), dst, workspace.data(), pool); });
        }
      }
      break;
    }
    case OpType::kFullyConnected: {
      ActivationBackward(n.fully_connected()->activation, y, g, count);
      const FcShape shape{static_cast<size_t>(batch), per_sample[x], per_sample[n.output]};
      f32_fc_bwd_weight(shape, A(x), g, PG(n, 1), PG(n, 2), pool);
      if (x_needs) {
        Contribute(x, [&](float* dst) { f32_fc_bwd_input(shape, g, P(n, 1), dst, pool); });
      }
      break;
    }
    case OpType::kMaxPool:
      if (x_needs) {
        Contribute(x, [&](float* dst) {
          f32_maxpool_bwd(MakePool2dShape(BatchShape(x), *n.pool()), g, argmax[id].data(), dst,
                          pool);
        });
      }
      break;
    case OpType::kAvgPool:
      if (x_needs) {
        Contribute(x, [&](float* dst) {
          f32_avgpool_bwd(MakePool2dShape(BatchShape(x), *n.pool()), g, dst, pool);
        });
      }
      break;
    case OpType::kGlobalAvgPool:
      if (x_needs) {
        Contribute(x, [&](float* dst) {
          f32_gavgpool_bwd(MakeGlobalPoolShape(BatchShape(x)), g, dst, pool);
        });
      }
      break;
    case OpType::kAdd:
      for (TensorId t : {n.inputs[0], n.inputs[1]}) {
        if (t == input && !want_input_grad) continue;
        Contribute(t, [&](float* dst) { f32_add_bwd(count, g, dst, nullptr, false, pool); });
      }
      break;
    case OpType::kRelu:
      if (x_needs) {
        Contribute(x, [&](float* dst) { f32_relu_bwd(count, y, g, dst, pool); });
      }
      break;
    case OpType::kRelu6:
      if (x_needs) {
        Contribute(x, [&](float* dst) { f32_relu6_bwd(count, y, g, dst, pool); });
      }
      break;
    default:
      break;
  }
}

}  // namespace persephonee
