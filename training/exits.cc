#include "training/exits.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>

#include "graph/builder.h"
#include "graph/flops.h"
#include "graph/passes.h"

namespace persephonee {
namespace {

std::vector<float> HeUniform(size_t n, size_t fan_in, std::mt19937_64& rng) {
  const double bound = std::sqrt(6.0 / static_cast<double>(fan_in));
  std::vector<float> v(n);
  for (float& x : v) {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1), portable
    x = static_cast<float>((2.0 * u - 1.0) * bound);
  }
  return v;
}

// The backbone's logits: its output, or the input of a final Softmax.
TensorId LogitsTensor(const Graph& g) {
  const Node& last = g.node(g.num_nodes() - 1);
  return last.op == OpType::kSoftmax ? last.inputs[0] : last.output;
}

Status FinishPlan(const Graph& graph, const std::vector<NodeId>& chosen, const HeadOptions& options,
                  ExitPlan* plan) {
  const GraphCost cost = ComputeGraphCost(graph);
  plan->backbone_macs = cost.total.macs;
  ENSURE(plan->backbone_macs > 0, "exits: the backbone has no multiply-accumulates");
  const TensorId logits = LogitsTensor(graph);
  const Shape& out = graph.tensor(logits).shape;
  ENSURE(out.size() == 2, "exits: the backbone's logits '", graph.tensor(logits).name,
         "' should be [N, classes], got ", ShapeToString(out));
  plan->classes = static_cast<int>(out[1]);
  plan->output_tensor = graph.tensor(logits).name;
  int64_t cumulative = 0;
  NodeId next = 0;
  for (size_t i = 0; i < chosen.size(); ++i) {
    for (; next <= chosen[i]; ++next) cumulative += cost.nodes[static_cast<size_t>(next)].macs;
    ExitPoint e;
    e.name = "exit" + std::to_string(i + 1);
    const Tensor& t = graph.tensor(graph.node(chosen[i]).output);
    e.tensor = t.name;
    e.feature_shape = t.shape;
    e.feature_shape[0] = 1;
    e.backbone_macs = cumulative;
    e.flop_fraction = static_cast<double>(cumulative) / static_cast<double>(plan->backbone_macs);
    const double budget = options.max_cost_fraction * static_cast<double>(plan->backbone_macs);
    const int64_t pixels = e.feature_shape[1] * e.feature_shape[2];
    const int64_t channels = e.feature_shape[3];
    if (options.use_conv) {
      const double per_width = static_cast<double>(pixels * channels + pixels + plan->classes);
      e.width =
          static_cast<int>(std::min<double>(options.max_width, std::floor(budget / per_width)));
      ENSURE_CODE(e.width >= options.min_width, kResourceExhausted, "exits: a head on '", e.tensor,
                  "' ([", pixels, " pixels x ", channels, " channels]) cannot fit ",
                  options.max_cost_fraction * 100, "% of the backbone's ", plan->backbone_macs,
                  " MACs with at least ", options.min_width, " channels");
    }
    // The exact cost, by the same convention as the backbone's; narrow until it fits.
    for (;;) {
      ASSIGN_OR_RETURN(Graph head, BuildHead(e, plan->classes, 1));
      e.head_macs = ComputeGraphCost(head).total.macs;
      if (static_cast<double>(e.head_macs) <= budget || e.width <= options.min_width) break;
      --e.width;
    }
    ENSURE_CODE(static_cast<double>(e.head_macs) <= budget, kResourceExhausted,
                "exits: the head on '", e.tensor, "' costs ", e.head_macs,
                " MACs, over the budget of ", budget);
    plan->exits.push_back(std::move(e));
  }
  return Status::Ok();
}

}  // namespace

std::vector<NodeId> CutNodes(const Graph& graph) {
  const int32_t n = graph.num_nodes();
  std::vector<int32_t> last_use(static_cast<size_t>(graph.num_tensors()), -1);
  for (NodeId id = 0; id < n; ++id) {
    for (TensorId t : graph.node(id).inputs) {
      if (t != kNoTensor && graph.tensor(t).kind != TensorKind::kParameter) last_use[t] = id;
    }
  }
  for (TensorId t : graph.outputs()) last_use[t] = n;
  std::vector<NodeId> cuts;
  std::set<TensorId> live;  // activations written so far that a later node still reads
  for (TensorId t : graph.inputs()) {
    if (last_use[t] >= 0) live.insert(t);
  }
  for (NodeId id = 0; id + 1 < n; ++id) {
    const TensorId out = graph.node(id).output;
    if (last_use[out] > id) live.insert(out);
    for (auto it = live.begin(); it != live.end();) {
      it = last_use[*it] <= id ? live.erase(it) : std::next(it);
    }
    if (live.size() == 1 && *live.begin() == out && graph.tensor(out).shape.size() == 4) {
      cuts.push_back(id);
    }
  }
  // Of a cut followed at once by another cut of the same shape that only transforms it
  // element-wise (an Add's output and the ReLU after it), keep the later one: the block's
  // output as the backbone's next layer sees it.
  std::vector<NodeId> kept;
  for (size_t i = 0; i < cuts.size(); ++i) {
    if (i + 1 < cuts.size() && cuts[i + 1] == cuts[i] + 1) {
      const Node& next = graph.node(cuts[i + 1]);
      const bool unary = next.op == OpType::kRelu || next.op == OpType::kRelu6;
      if (unary &&
          graph.tensor(next.output).shape == graph.tensor(graph.node(cuts[i]).output).shape) {
        continue;
      }
    }
    kept.push_back(cuts[i]);
  }
  return kept;
}

std::vector<double> EvenFractions(int k) {
  std::vector<double> f;
  for (int i = 1; i <= k; ++i) f.push_back(static_cast<double>(i) / (k + 1));
  return f;
}

StatusOr<ExitPlan> PlaceExitsByFraction(const Graph& graph, const std::vector<double>& fractions,
                                        const HeadOptions& options) {
  ENSURE(!fractions.empty(), "exits: no exit fractions given");
  for (size_t i = 0; i < fractions.size(); ++i) {
    ENSURE(fractions[i] > 0.0 && fractions[i] < 1.0, "exits: fraction ", fractions[i],
           " is outside (0, 1)");
    ENSURE(i == 0 || fractions[i] > fractions[i - 1], "exits: fractions must increase");
  }
  const std::vector<NodeId> cuts = CutNodes(graph);
  const std::vector<int64_t> cumulative = CumulativeFlops(graph);
  const double total = static_cast<double>(cumulative.back());
  ENSURE(total > 0, "exits: the backbone has no FLOPs");
  std::vector<NodeId> chosen;
  size_t next = 0;  // cuts before this index are taken or passed
  for (size_t i = 0; i < fractions.size(); ++i) {
    const double target = fractions[i] * total;
    // Leave enough cuts for the fractions still to place.
    const size_t remaining = fractions.size() - i - 1;
    ENSURE(next + remaining < cuts.size(), "exits: the backbone has ", cuts.size(),
           " places an exit can attach, too few for ", fractions.size(), " exits");
    size_t best = next;
    for (size_t c = next; c + remaining < cuts.size(); ++c) {
      const double d = std::fabs(static_cast<double>(cumulative[cuts[c]]) - target);
      if (d < std::fabs(static_cast<double>(cumulative[cuts[best]]) - target)) best = c;
    }
    chosen.push_back(cuts[best]);
    next = best + 1;
  }
  ExitPlan plan;
  RETURN_IF_ERROR(FinishPlan(graph, chosen, options, &plan));
  return plan;
}

StatusOr<ExitPlan> PlaceExitsByNode(const Graph& graph, const std::vector<std::string>& nodes,
                                    const HeadOptions& options) {
  ENSURE(!nodes.empty(), "exits: no exit nodes given");
  const std::vector<NodeId> cuts = CutNodes(graph);
  std::vector<NodeId> chosen;
  for (const std::string& name : nodes) {
    StatusOr<NodeId> id = graph.FindNode(name);
    if (!id.ok()) {
      // After the optimisation passes a fused ReLU's node is gone but its tensor remains.
      StatusOr<TensorId> t = graph.FindTensor(name);
      ENSURE_CODE(t.ok() && graph.Producer(*t) != kNoNode, kNotFound, "exits: no node or tensor '",
                  name, "' in the backbone");
      id = graph.Producer(*t);
    }
    ENSURE(std::find(cuts.begin(), cuts.end(), *id) != cuts.end(), "exits: node '", name,
           "' is not a place an exit can attach (its output is not the only tensor the rest of "
           "the backbone reads)");
    ENSURE(chosen.empty() || *id > chosen.back(), "exits: nodes must be given in backbone order");
    chosen.push_back(*id);
  }
  ExitPlan plan;
  RETURN_IF_ERROR(FinishPlan(graph, chosen, options, &plan));
  return plan;
}

StatusOr<Graph> BuildHead(const ExitPoint& exit, int classes, uint64_t seed) {
  ENSURE(exit.feature_shape.size() == 4, "exits: '", exit.name, "' needs 4-D features, got ",
         ShapeToString(exit.feature_shape));
  ENSURE(classes >= 1 && exit.width >= 0, "exits: bad head size for '", exit.name, "'");
  std::mt19937_64 rng(seed);
  GraphBuilder b;
  TensorId x = b.Input("features", exit.feature_shape);
  size_t channels = static_cast<size_t>(exit.feature_shape[3]);
  if (exit.width > 0) {
    Conv2dAttrs attrs = Conv2dAttrs::Square(exit.width, 1);
    attrs.activation = Activation::kRelu;
    std::vector<float> w = HeUniform(static_cast<size_t>(exit.width) * channels, channels, rng);
    x = b.Conv2d(exit.name + ".conv", x, attrs, std::move(w),
                 std::vector<float>(static_cast<size_t>(exit.width), 0.0f));
    channels = static_cast<size_t>(exit.width);
  }
  x = b.GlobalAvgPool(exit.name + ".gap", x);
  std::vector<float> w = HeUniform(static_cast<size_t>(classes) * channels, channels, rng);
  x = b.FullyConnected(exit.name + ".fc", x, {classes, Activation::kNone}, std::move(w),
                       std::vector<float>(static_cast<size_t>(classes), 0.0f));
  b.MarkOutput(x);
  return b.Build();
}

namespace {

// The backbone's classifier: the FullyConnected writing the logits, and the tensor its global
// average pooling reads.
struct Classifier {
  NodeId fc = kNoNode;
  NodeId gap = kNoNode;
};

StatusOr<Classifier> FindClassifier(const Graph& g) {
  Classifier c;
  const TensorId logits = LogitsTensor(g);
  const NodeId fc = g.Producer(logits);
  ENSURE_CODE(fc != kNoNode && g.node(fc).op == OpType::kFullyConnected, kUnimplemented,
              "the backbone's logits '", g.tensor(logits).name,
              "' are not written by a FullyConnected");
  ENSURE_CODE(g.node(fc).fully_connected()->activation == Activation::kNone, kUnimplemented,
              "the backbone's classifier has an activation");
  NodeId prev = g.Producer(g.node(fc).inputs[0]);
  if (prev != kNoNode && g.node(prev).op == OpType::kFlatten) {
    prev = g.Producer(g.node(prev).inputs[0]);
  }
  ENSURE_CODE(prev != kNoNode && g.node(prev).op == OpType::kGlobalAvgPool, kUnimplemented,
              "the backbone's classifier does not read a global average pooling");
  c.fc = fc;
  c.gap = prev;
  return c;
}

}  // namespace

Status AddPersonalFinalExit(const Graph& graph, ExitPlan* plan) {
  ENSURE(!plan->personal_final, "exits: the plan already has a personalised final exit");
  ASSIGN_OR_RETURN(Classifier c, FindClassifier(graph));
  // The head reads the pooled features (the pooling's output, [N, C]) as [1, 1, 1, C]: its own
  // pooling is then the identity, and a cached sample costs C floats, not H x W x C.
  const Tensor& t = graph.tensor(graph.node(c.gap).output);
  for (const ExitPoint& e : plan->exits) {
    ENSURE_CODE(e.tensor != t.name, kUnimplemented, "exit '", e.name, "' already reads '", t.name,
                "', the tensor the backbone's classifier reads");
  }
  ENSURE_CODE(t.shape.size() == 2, kUnimplemented, "the backbone's pooling writes '", t.name,
              "' of shape ", ShapeToString(t.shape), ", not [N, C]");
  const GraphCost cost = ComputeGraphCost(graph);
  ExitPoint e;
  e.name = "personal";
  e.tensor = t.name;
  e.feature_shape = {1, 1, 1, t.shape[1]};
  for (NodeId id = 0; id <= c.gap; ++id)
    e.backbone_macs += cost.nodes[static_cast<size_t>(id)].macs;
  e.flop_fraction = static_cast<double>(e.backbone_macs) / static_cast<double>(plan->backbone_macs);
  e.width = 0;
  ASSIGN_OR_RETURN(Graph head, BuildFinalCopyHead(graph, e, {}));
  e.head_macs = ComputeGraphCost(head).total.macs;
  plan->exits.push_back(std::move(e));
  plan->personal_final = true;
  return Status::Ok();
}

StatusOr<Graph> BuildFinalCopyHead(const Graph& graph, const ExitPoint& exit,
                                   const std::vector<float>& bias_shift) {
  ASSIGN_OR_RETURN(Classifier c, FindClassifier(graph));
  const Node& fc = graph.node(c.fc);
  const std::vector<float>& w = graph.tensor(fc.inputs[1]).data;
  std::vector<float> bias(static_cast<size_t>(fc.fully_connected()->out_features), 0.0f);
  if (fc.inputs.size() > 2 && fc.inputs[2] != kNoTensor) bias = graph.tensor(fc.inputs[2]).data;
  ENSURE(bias_shift.empty() || bias_shift.size() == bias.size(), "exits: ", bias_shift.size(),
         " bias shifts for ", bias.size(), " classes");
  for (size_t i = 0; i < bias_shift.size(); ++i) bias[i] += bias_shift[i];
  GraphBuilder b;
  TensorId x = b.Input("features", exit.feature_shape);
  x = b.GlobalAvgPool(exit.name + ".gap", x);
  x = b.FullyConnected(exit.name + ".fc", x,
                       {fc.fully_connected()->out_features, Activation::kNone}, w, bias);
  b.MarkOutput(x);
  return b.Build();
}

void ShiftClassifierBias(Graph* head, const std::vector<float>& shift) {
  if (shift.empty() || head->num_nodes() == 0) return;
  const Node& fc = head->node(head->num_nodes() - 1);
  if (fc.op != OpType::kFullyConnected || fc.inputs.size() < 3 || fc.inputs[2] == kNoTensor) return;
  std::vector<float>& bias = head->mutable_tensor(fc.inputs[2]).data;
  if (bias.size() != shift.size()) return;
  for (size_t i = 0; i < shift.size(); ++i) bias[i] += shift[i];
}

StatusOr<Graph> OptimizeBackbone(const Graph& graph) {
  ASSIGN_OR_RETURN(Graph g, FoldBatchNorm(graph));
  return FuseActivations(g);
}

}  // namespace persephonee
