#include "graph/passes.h"

#include <cmath>
#include <unordered_set>
#include <utility>

#include "graph/shape_inference.h"

namespace persephonee {
namespace {

// Copies `g` without the nodes marked in `drop` and without the tensors no remaining node
// touches (graph inputs are always kept), renumbering ids in their original order.
StatusOr<Graph> Compact(const Graph& g, const std::vector<bool>& drop) {
  std::vector<bool> used(static_cast<size_t>(g.num_tensors()), false);
  for (NodeId id = 0; id < g.num_nodes(); ++id) {
    if (drop[static_cast<size_t>(id)]) continue;
    for (TensorId t : g.node(id).inputs) used[static_cast<size_t>(t)] = true;
    used[static_cast<size_t>(g.node(id).output)] = true;
  }
  std::vector<TensorId> new_id(static_cast<size_t>(g.num_tensors()), kNoTensor);
  Graph out;
  for (TensorId t = 0; t < g.num_tensors(); ++t) {
    if (used[static_cast<size_t>(t)] || g.tensor(t).kind == TensorKind::kInput) {
      new_id[static_cast<size_t>(t)] = out.AddTensor(g.tensor(t));
    }
  }
  for (NodeId id = 0; id < g.num_nodes(); ++id) {
    if (drop[static_cast<size_t>(id)]) continue;
    Node n = g.node(id);
    for (TensorId& t : n.inputs) t = new_id[static_cast<size_t>(t)];
    n.output = new_id[static_cast<size_t>(n.output)];
    out.AddNode(std::move(n));
  }
  RETURN_IF_ERROR(FinalizeGraph(&out));
  return out;
}

// A name not yet used by any tensor of `g`, starting from `base`.
std::string FreeTensorName(const Graph& g, std::string base) {
  std::unordered_set<std::string> names;
  for (const Tensor& t : g.tensors()) names.insert(t.name);
  while (names.count(base)) base += ".folded";
  return base;
}

// Whether `t` is an activation read by exactly one node (so its producer may be rewritten).
bool SingleUseActivation(const Graph& g, const std::vector<std::vector<NodeId>>& consumers,
                         TensorId t) {
  return g.tensor(t).kind == TensorKind::kActivation &&
         consumers[static_cast<size_t>(t)].size() == 1;
}

}  // namespace

StatusOr<Graph> FoldBatchNorm(const Graph& graph, int* folded) {
  Graph g = graph;
  const std::vector<std::vector<NodeId>> consumers = graph.Consumers();
  std::vector<bool> drop(static_cast<size_t>(g.num_nodes()), false);
  int count = 0;
  for (NodeId bn_id = 0; bn_id < g.num_nodes(); ++bn_id) {
    const Node bn = g.node(bn_id);
    if (bn.op != OpType::kBatchNorm) continue;
    const TensorId x = bn.inputs[0];
    const NodeId conv_id = g.Producer(x);
    if (conv_id == kNoNode || g.node(conv_id).op != OpType::kConv2d) continue;
    if (g.node(conv_id).conv2d()->activation != Activation::kNone) continue;
    if (!SingleUseActivation(g, consumers, x)) continue;

    Node& conv = g.mutable_node(conv_id);
    const int64_t out_c = conv.conv2d()->out_channels;
    const float eps = bn.batch_norm()->epsilon;
    // Copies: AddTensor below may move the tensors.
    const std::vector<float> gamma = g.tensor(bn.inputs[1]).data;
    const std::vector<float> beta = g.tensor(bn.inputs[2]).data;
    const std::vector<float> mean = g.tensor(bn.inputs[3]).data;
    const std::vector<float> var = g.tensor(bn.inputs[4]).data;
    std::vector<double> scale(static_cast<size_t>(out_c));
    for (size_t c = 0; c < scale.size(); ++c) {
      scale[c] = static_cast<double>(gamma[c]) /
                 std::sqrt(static_cast<double>(var[c]) + static_cast<double>(eps));
    }

    // Weights: in place when this conv is their only reader, otherwise a folded copy.
    TensorId w_id = conv.inputs[1];
    if (consumers[static_cast<size_t>(w_id)].size() != 1) {
      Tensor copy = g.tensor(w_id);
      copy.name = FreeTensorName(g, conv.name + ".weight.folded");
      w_id = g.AddTensor(std::move(copy));
      g.mutable_node(conv_id).inputs[1] = w_id;
    }
    // Folded weights are new numbers, off any int8 grid: they are float32 from here on.
    g.mutable_tensor(w_id).storage = ParameterStorage::kFloat32;
    std::vector<float>& w = g.mutable_tensor(w_id).data;
    const size_t per_channel = w.size() / static_cast<size_t>(out_c);
    for (size_t c = 0; c < scale.size(); ++c) {
      for (size_t i = 0; i < per_channel; ++i) {
        float& v = w[c * per_channel + i];
        v = static_cast<float>(static_cast<double>(v) * scale[c]);
      }
    }

    // Bias: b' = (b - mean) * s + beta.
    std::vector<float> old_bias(scale.size(), 0.0f);
    Node& conv_now = g.mutable_node(conv_id);
    if (conv_now.inputs.size() > 2) old_bias = g.tensor(conv_now.inputs[2]).data;
    std::vector<float> bias(scale.size());
    for (size_t c = 0; c < scale.size(); ++c) {
      bias[c] = static_cast<float>(
          (static_cast<double>(old_bias[c]) - static_cast<double>(mean[c])) * scale[c] +
          static_cast<double>(beta[c]));
    }
    if (conv_now.inputs.size() > 2 &&
        consumers[static_cast<size_t>(conv_now.inputs[2])].size() == 1) {
      g.mutable_tensor(conv_now.inputs[2]).data = std::move(bias);
      g.mutable_tensor(conv_now.inputs[2]).storage = ParameterStorage::kFloat32;
    } else {
      Tensor b;
      b.name = FreeTensorName(g, conv_now.name + ".bias");
      b.shape = {out_c};
      b.kind = TensorKind::kParameter;
      b.data = std::move(bias);
      TensorId b_id = g.AddTensor(std::move(b));
      Node& c = g.mutable_node(conv_id);
      if (c.inputs.size() > 2) {
        c.inputs[2] = b_id;
      } else {
        c.inputs.push_back(b_id);
      }
    }
    g.mutable_node(conv_id).output = bn.output;
    drop[static_cast<size_t>(bn_id)] = true;
    ++count;
  }
  if (folded) *folded = count;
  ASSIGN_OR_RETURN(Graph out, Compact(g, drop));
  return out;
}

StatusOr<Graph> FuseActivations(const Graph& graph, int* fused) {
  Graph g = graph;
  const std::vector<std::vector<NodeId>> consumers = graph.Consumers();
  std::vector<bool> drop(static_cast<size_t>(g.num_nodes()), false);
  int count = 0;
  for (NodeId id = 0; id < g.num_nodes(); ++id) {
    const Node relu = g.node(id);
    if (relu.op != OpType::kRelu && relu.op != OpType::kRelu6) continue;
    const TensorId x = relu.inputs[0];
    const NodeId p = g.Producer(x);
    if (p == kNoNode || !SingleUseActivation(g, consumers, x)) continue;
    const Activation act = relu.op == OpType::kRelu ? Activation::kRelu : Activation::kRelu6;
    Node& producer = g.mutable_node(p);
    if (auto* conv = std::get_if<Conv2dAttrs>(&producer.attrs)) {
      if (conv->activation != Activation::kNone) continue;
      conv->activation = act;
    } else if (auto* fc = std::get_if<FullyConnectedAttrs>(&producer.attrs)) {
      if (fc->activation != Activation::kNone) continue;
      fc->activation = act;
    } else {
      continue;
    }
    producer.output = relu.output;
    drop[static_cast<size_t>(id)] = true;
    ++count;
  }
  if (fused) *fused = count;
  ASSIGN_OR_RETURN(Graph out, Compact(g, drop));
  return out;
}

}  // namespace persephonee
