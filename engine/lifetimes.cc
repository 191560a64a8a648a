#include "engine/lifetimes.h"

#include <algorithm>

#include "engine/node_op.h"

namespace persephonee {

StatusOr<ActivationBuffers> ComputeActivationBuffers(const Graph& graph,
                                                     const std::vector<TensorId>& keep,
                                                     const std::vector<bool>& alias,
                                                     const std::vector<bool>& in_place) {
  const int32_t num_nodes = graph.num_nodes();
  ENSURE(alias.size() == static_cast<size_t>(num_nodes) &&
             in_place.size() == static_cast<size_t>(num_nodes),
         "ComputeActivationBuffers: alias and in_place need one entry per node");
  ActivationBuffers out;
  out.buffer_of.assign(static_cast<size_t>(graph.num_tensors()), -1);
  const int last_step = std::max(0, num_nodes - 1);

  auto bytes = [&](TensorId t) {
    return static_cast<size_t>(NumElements(graph.tensor(t).shape)) * sizeof(float);
  };
  for (TensorId t : graph.inputs()) {
    out.buffer_of[static_cast<size_t>(t)] = static_cast<int>(out.records.size());
    out.records.push_back({bytes(t), 0, 0, -1});
  }
  // Pass 1: a buffer per node output (or the input's, for aliases); last uses from readers.
  for (NodeId n = 0; n < num_nodes; ++n) {
    const Node& node = graph.node(n);
    const std::vector<TensorId> ins = ActivationInputs(graph, node);
    for (TensorId t : ins) {
      const int b = out.buffer_of[static_cast<size_t>(t)];
      ENSURE_CODE(b >= 0, kFailedPrecondition, "node '", node.name, "' reads tensor '",
                  graph.tensor(t).name, "' before it is written");
      out.records[static_cast<size_t>(b)].last_use =
          std::max(out.records[static_cast<size_t>(b)].last_use, static_cast<int>(n));
    }
    const size_t o = static_cast<size_t>(node.output);
    if (alias[static_cast<size_t>(n)]) {
      ENSURE(ins.size() == 1, "node '", node.name, "': an alias needs exactly one input");
      out.buffer_of[o] = out.buffer_of[static_cast<size_t>(ins[0])];
      BufferRecord& r = out.records[static_cast<size_t>(out.buffer_of[o])];
      r.last_use = std::max(r.last_use, static_cast<int>(n));
    } else {
      out.buffer_of[o] = static_cast<int>(out.records.size());
      out.records.push_back({bytes(node.output), static_cast<int>(n), static_cast<int>(n), -1});
    }
  }
  // Graph outputs and kept tensors live to the end.
  std::vector<TensorId> pinned = graph.outputs();
  pinned.insert(pinned.end(), keep.begin(), keep.end());
  std::vector<bool> is_pinned(out.records.size(), false);
  for (TensorId t : pinned) {
    ENSURE(t >= 0 && t < graph.num_tensors(), "kept tensor id ", t, " out of range");
    const int b = out.buffer_of[static_cast<size_t>(t)];
    ENSURE(b >= 0, "tensor '", graph.tensor(t).name, "' is a parameter and cannot be kept");
    out.records[static_cast<size_t>(b)].last_use = last_step;
    is_pinned[static_cast<size_t>(b)] = true;
  }
  for (TensorId t : graph.inputs()) is_pinned[static_cast<size_t>(out.buffer_of[t])] = true;
  // Pass 2: in-place hints, towards an input buffer this node is the last reader of.
  for (NodeId n = 0; n < num_nodes; ++n) {
    if (!in_place[static_cast<size_t>(n)] || alias[static_cast<size_t>(n)]) continue;
    const Node& node = graph.node(n);
    const int mine = out.buffer_of[static_cast<size_t>(node.output)];
    for (TensorId t : ActivationInputs(graph, node)) {
      const int b = out.buffer_of[static_cast<size_t>(t)];
      if (!is_pinned[static_cast<size_t>(b)] &&
          out.records[static_cast<size_t>(b)].last_use == static_cast<int>(n)) {
        out.records[static_cast<size_t>(mine)].reuse_of = b;
        break;
      }
    }
  }
  return out;
}

}  // namespace persephonee
