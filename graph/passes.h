// Graph-to-graph passes for a frozen backbone. Each takes a valid graph and returns a new,
// finalized one; the input is left as it was.
#ifndef PERSEPHONEE_GRAPH_PASSES_H_
#define PERSEPHONEE_GRAPH_PASSES_H_

#include "base/status.h"
#include "graph/graph.h"

namespace persephonee {

/// Folds each BatchNorm into the Conv2d that feeds it, when the conv has no fused activation
/// and its output is read by that BatchNorm alone (and is not a graph output). With
///   s[c] = gamma[c] / sqrt(running_var[c] + epsilon)
/// the conv's weights become W'[c][kh][kw][i] = W[c][kh][kw][i] · s[c] and its bias
///   b'[c] = (b[c] - running_mean[c]) · s[c] + beta[c]   (b = 0 if the conv had no bias),
/// computed in double and rounded once to float. The BatchNorm node disappears; the conv writes
/// the tensor the BatchNorm wrote (so readers and outputs keep their names), its weight and
/// bias parameters keep the names "<conv>.weight" and "<conv>.bias" (a new bias is created if
/// the conv had none; weights read by other nodes too are copied to "<conv>.weight.folded").
/// Parameters no node reads any more are dropped. `folded` (optional) receives the number of
/// BatchNorms folded.
StatusOr<Graph> FoldBatchNorm(const Graph& graph, int* folded = nullptr);

/// Fuses each ReLU or ReLU6 into the Conv2d or FullyConnected that feeds it, when that node has
/// no fused activation yet and its output is read by the ReLU alone (and is not a graph
/// output). The ReLU node disappears; the producer writes the ReLU's output tensor with its
/// activation attribute set. `fused` (optional) receives the number of nodes fused.
StatusOr<Graph> FuseActivations(const Graph& graph, int* fused = nullptr);

}  // namespace persephonee

#endif  // PERSEPHONEE_GRAPH_PASSES_H_
