// Cost model: multiply-accumulates, FLOPs, parameters and activation bytes, per node and total.
//
// Conventions (those of the published figures: ResNet-18 1.82 G, MobileNetV2 300 M):
//  - MACs count the multiply-accumulates of Conv2d and FullyConnected only:
//      Conv2d          N·OH·OW·OC·KH·KW·(IC/groups)   (depthwise included, via groups)
//      FullyConnected  N·IN·OUT
//    Bias additions, fused activations, BatchNorm, pooling, Add, ReLU and Softmax count 0.
//  - FLOPs = 2·MACs (a multiply and an add each).
//  - Parameters are every stored parameter element, BatchNorm's running mean and variance
//    included (PyTorch calls those buffers and leaves them out of its parameter count).
//  - Activation bytes are the bytes of a node's output tensor (float32).
// All figures are for the batch size the graph's inputs declare.
#ifndef PERSEPHONEE_GRAPH_FLOPS_H_
#define PERSEPHONEE_GRAPH_FLOPS_H_

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"

namespace persephonee {

/// The cost of one node, or of a whole graph.
struct NodeCost {
  int64_t macs = 0;
  int64_t flops = 0;             ///< 2 · macs.
  int64_t params = 0;            ///< Parameter elements read by the node.
  int64_t activation_bytes = 0;  ///< Bytes of the node's output.
};

/// Per-node costs and whole-graph totals.
struct GraphCost {
  std::vector<NodeCost> nodes;  ///< One per node, in node order.
  /// Sums over nodes, except `params`, which counts each parameter tensor once even if several
  /// nodes read it. `activation_bytes` is the sum of every node's output (no reuse).
  NodeCost total;
  int64_t input_bytes = 0;  ///< Bytes of all graph inputs.
};

/// The cost of node `id` of a finalized graph.
NodeCost ComputeNodeCost(const Graph& graph, NodeId id);

/// The cost of every node of a finalized graph and the totals.
GraphCost ComputeGraphCost(const Graph& graph);

/// FLOPs of nodes 0..i inclusive, for every node i (non-decreasing; the last is the total).
std::vector<int64_t> CumulativeFlops(const Graph& graph);

/// The first node by which at least `fraction` of the graph's FLOPs have been spent, for
/// placing an early exit by FLOP fraction. `fraction` must be in (0, 1]; fails if the graph has
/// no FLOPs.
StatusOr<NodeId> NodeAtFlopFraction(const Graph& graph, double fraction);

}  // namespace persephonee

#endif  // PERSEPHONEE_GRAPH_FLOPS_H_
