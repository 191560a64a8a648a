#include "graph/flops.h"

namespace persephonee {

NodeCost ComputeNodeCost(const Graph& g, NodeId id) {
  const Node& n = g.node(id);
  NodeCost cost;
  const Tensor& out = g.tensor(n.output);
  if (const Conv2dAttrs* a = n.conv2d()) {
    const Shape& x = g.tensor(n.inputs[0]).shape;
    // Output elements times the length of each output's dot product.
    cost.macs = NumElements(out.shape) * a->kernel_h * a->kernel_w * (x[3] / a->groups);
  } else if (n.fully_connected() != nullptr) {
    const Shape& x = g.tensor(n.inputs[0]).shape;
    cost.macs = NumElements(out.shape) * x[1];
  }
  cost.flops = 2 * cost.macs;
  for (TensorId t : n.inputs) {
    const Tensor& in = g.tensor(t);
    if (in.kind == TensorKind::kParameter) cost.params += NumElements(in.shape);
  }
  cost.activation_bytes = NumElements(out.shape) * static_cast<int64_t>(sizeof(float));
  return cost;
}

GraphCost ComputeGraphCost(const Graph& g) {
  GraphCost cost;
  for (NodeId id = 0; id < g.num_nodes(); ++id) {
    NodeCost c = ComputeNodeCost(g, id);
    cost.total.macs += c.macs;
    cost.total.flops += c.flops;
    cost.total.activation_bytes += c.activation_bytes;
    cost.nodes.push_back(c);
  }
  for (const Tensor& t : g.tensors()) {
    if (t.kind == TensorKind::kParameter) cost.total.params += NumElements(t.shape);
    if (t.kind == TensorKind::kInput) {
      cost.input_bytes += NumElements(t.shape) * static_cast<int64_t>(sizeof(float));
    }
  }
  return cost;
}

std::vector<int64_t> CumulativeFlops(const Graph& g) {
  std::vector<int64_t> cumulative;
  int64_t sum = 0;
  for (NodeId id = 0; id < g.num_nodes(); ++id) {
    sum += ComputeNodeCost(g, id).flops;
    cumulative.push_back(sum);
  }
  return cumulative;
}

StatusOr<NodeId> NodeAtFlopFraction(const Graph& g, double fraction) {
  ENSURE(fraction > 0.0 && fraction <= 1.0, "FLOP fraction must be in (0, 1], got ", fraction);
  std::vector<int64_t> cumulative = CumulativeFlops(g);
  ENSURE(!cumulative.empty() && cumulative.back() > 0, "the graph has no FLOPs to divide");
  const double target = fraction * static_cast<double>(cumulative.back());
  for (size_t i = 0; i < cumulative.size(); ++i) {
    if (static_cast<double>(cumulative[i]) >= target) return static_cast<NodeId>(i);
  }
  return static_cast<NodeId>(cumulative.size() - 1);
}

}  // namespace persephonee
