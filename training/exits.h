// Early exits: where on a frozen backbone they attach, and the small head each one carries.
//
// Placement. An exit reads one backbone tensor. Only "cut" tensors qualify: 4-D activations
// that are, right after the node writing them, the only activation the rest of the backbone
// still needs (in a residual network: a block's output, never a tensor inside a block). So a
// sample that leaves at an exit skips exactly the rest of the backbone. Exits are placed at
// given fractions of the backbone's FLOPs (the cut whose cumulative FLOPs are nearest each
// fraction, each cut used once) or at named nodes. Of a cut followed at once by a ReLU that
// is a cut too (a residual Add and its ReLU), only the ReLU's output is offered. Placement is on
// the backbone as the engine runs it (BatchNorm folded, activations fused; tensor names survive
// both passes).
//
// Heads. By default: a 1x1 convolution to a narrow width with ReLU, global average pooling and a
// fully-connected classifier. The width is the largest up to HeadOptions::max_width that keeps
// the head's MACs within HeadOptions::max_cost_fraction (3%) of the backbone's. A head is a
// Graph of its own (input: the exit's features), so the trainer, the engine and the model file
// format all serve it unchanged.
#ifndef PERSEPHONEE_TRAINING_EXITS_H_
#define PERSEPHONEE_TRAINING_EXITS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"

namespace persephonee {

/// The shape of a head.
struct HeadOptions {
  int max_width = 128;              ///< Channels of the 1x1 convolution, at most.
  int min_width = 4;                ///< Placement fails if the cost budget allows fewer.
  double max_cost_fraction = 0.03;  ///< Head MACs / backbone MACs, at most.
  bool use_conv = true;             ///< false: GAP + FC only (a linear probe).
};

/// One exit on the backbone.
struct ExitPoint {
  std::string name;           ///< "exit1", "exit2", ...
  std::string tensor;         ///< The backbone tensor the head reads.
  Shape feature_shape;        ///< That tensor's shape at batch 1: [1, H, W, C].
  int64_t backbone_macs = 0;  ///< Backbone MACs computed up to and including this tensor.
  double flop_fraction = 0;   ///< backbone_macs / the backbone's total.
  int width = 0;              ///< The head's 1x1 convolution channels (0: no convolution).
  int64_t head_macs = 0;      ///< MACs of the head itself.
};

/// Exits on a backbone, in backbone order, and what they cost.
struct ExitPlan {
  std::vector<ExitPoint> exits;
  int64_t backbone_macs = 0;  ///< The whole backbone, per sample.
  int classes = 0;            ///< Outputs of the backbone's classifier (and of every head).
  std::string output_tensor;  ///< The backbone's output: the final exit.
  /// The last exit is the personalised final exit (AddPersonalFinalExit): a trained copy of the
  /// backbone's own classifier that answers every sample reaching it (threshold -inf).
  bool personal_final = false;
};

/// Nodes of `graph` (optimised, finalized) whose output is a cut tensor, in order.
std::vector<NodeId> CutNodes(const Graph& graph);

/// Places one exit per fraction (each in (0, 1), increasing). Fails with kInvalidArgument when
/// two fractions would land on the same cut, or a head cannot fit the cost budget.
StatusOr<ExitPlan> PlaceExitsByFraction(const Graph& graph, const std::vector<double>& fractions,
                                        const HeadOptions& options = {});
/// Places exits on the outputs of the named nodes (cut nodes, in backbone order).
StatusOr<ExitPlan> PlaceExitsByNode(const Graph& graph, const std::vector<std::string>& nodes,
                                    const HeadOptions& options = {});
/// `k` fractions evenly spaced in (0, 1): i / (k + 1).
std::vector<double> EvenFractions(int k);

/// The head of `exit` as a graph: input "features" [1, H, W, C]; nodes "<exit>.conv" (1x1,
/// ReLU; absent when width is 0), "<exit>.gap" and "<exit>.fc", whose output [1, classes] is the
/// head's logits. Weights are drawn from `seed` (He-uniform; zero biases).
StatusOr<Graph> BuildHead(const ExitPoint& exit, int classes, uint64_t seed);

/// Appends the personalised final exit to `plan`: an exit named "personal" on the output of the
/// backbone's global average pooling (read as [1, 1, 1, C]), whose head (an identity pooling +
/// FC, width 0) starts as a copy of
/// the backbone's classifier (BuildFinalCopyHead). kUnimplemented, with the reason, when the
/// backbone does not end in GlobalAvgPool -> [Flatten] -> FullyConnected [-> Softmax], or when
/// an exit already reads that tensor. `graph` is the optimised backbone.
Status AddPersonalFinalExit(const Graph& graph, ExitPlan* plan);

/// The head of the personalised final exit: the backbone's classifier weights, with
/// `bias_shift` ([classes] or empty) added to its bias (the prior correction).
StatusOr<Graph> BuildFinalCopyHead(const Graph& graph, const ExitPoint& exit,
                                   const std::vector<float>& bias_shift);

/// Adds `shift` ([classes]) to the bias of the FullyConnected that writes `head`'s output (the
/// logit adjustment of a prior correction). Nothing happens when `shift` is empty.
void ShiftClassifierBias(Graph* head, const std::vector<float>& shift);

/// The backbone optimised as the engine runs it (BatchNorm folded, activations fused).
StatusOr<Graph> OptimizeBackbone(const Graph& graph);

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_EXITS_H_
