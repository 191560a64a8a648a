// The memory-budget planner of personalisation (see PlanPersonalisation in personalise.h).
//
// The estimate of the peak resident bytes is a sum of parts, each computed from shapes without
// allocating anything:
//   baseline  what the process holds when the call starts (VmRSS: code, libraries, the loaded
//             backbone, which the engine then packs and releases);
//   engine    XNNPACK's packed weights (about the parameters' bytes), the indirection buffers
//             of its spatial convolutions (a pointer per output pixel and tap), and the arena
//             the memory planner computes, all at the backbone batch;
//   heads     for each head at this batch: activations and gradients, parameters with their
//             gradients and optimiser state, the accumulation buffer;
//   batch     images, every exit's features, the teacher's logits and the loss buffers;
//   cache     the feature cache, by placement.
// Placements are tried from the smallest that is as fast down: memory as float16 at the
// largest batch that fits, a spill file on disk, then recomputation; the batch halves from the
// requested one down to 1 before moving to the next placement. Float16 comes first because it
// keeps every exit's accuracy (within 0.3 points where measured, docs/personalise-memory.md),
// trains as fast as float32 (the conversion is one F16C or FCVTL instruction per 4-8 values)
// and halves the cache; float32 (kMemory) is used only when asked for (force_cache). A tenth of
// the budget is held back for what the sum cannot see (allocator slack, stacks, page tables).
//
// The backbone batch: a cached run computes the features once, so its backbone need not run at
// the heads' batch; it runs at options.backbone_batch (kDefaultBackboneBatch when 0), at most
// the batch being tried. MobileNetV2-224's arena and indirection buffers take about 8 MiB per
// image: 260 MiB at 32 images per pass, 32 MiB at 4, which are also faster per image. Recompute
// assembles each training batch from one backbone pass, so there the two are equal.
#include <algorithm>
#include <sstream>

#include "engine/lifetimes.h"
#include "engine/memory_planner.h"
#include "training/personalise.h"

namespace persephonee {
namespace {

StatusOr<size_t> EngineBytes(const Graph& g, int64_t batch) {
  // Every activation's first dimension is the batch: plan the graph at its own batch and scale
  // the sizes, rather than copying the graph (and its weights) to re-infer its shapes.
  const int64_t own = g.tensor(g.inputs()[0]).shape[0];
  ENSURE(own >= 1, "personalise: the backbone's input has batch ", own);
  std::vector<bool> alias(static_cast<size_t>(g.num_nodes())), in_place(alias.size());
  size_t params = 0, indirection = 0;
  for (NodeId n = 0; n < g.num_nodes(); ++n) {
    const Node& node = g.node(n);
    alias[static_cast<size_t>(n)] = node.op == OpType::kFlatten;
    in_place[static_cast<size_t>(n)] =
        node.op == OpType::kAdd || node.op == OpType::kRelu || node.op == OpType::kRelu6;
    if (const Conv2dAttrs* a = node.conv2d()) {
      if (a->kernel_h * a->kernel_w > 1) {
        const int64_t pixels = NumElements(g.tensor(node.output).shape) / a->out_channels / own;
        indirection +=
            static_cast<size_t>(pixels * batch * a->kernel_h * a->kernel_w) * sizeof(void*);
      }
    }
  }
  for (const Tensor& t : g.tensors()) {
    if (t.kind == TensorKind::kParameter) params += t.data.size() * sizeof(float);
  }
  ASSIGN_OR_RETURN(ActivationBuffers buffers, ComputeActivationBuffers(g, {}, alias, in_place));
  for (BufferRecord& r : buffers.records) {
    r.size_bytes = r.size_bytes / static_cast<size_t>(own) * static_cast<size_t>(batch);
  }
  ASSIGN_OR_RETURN(MemoryPlan plan, PlanMemory(buffers.records));
  // Kept tensors (the exits' features) live longer than planned here; the batch buffers
  // below count a copy of each, which covers it.
  return params + indirection + plan.high_water_mark;
}

size_t HeadBytes(const ExitPlan& plan, int64_t batch, OptimizerKind optimizer) {
  size_t total = 0;
  for (const ExitPoint& e : plan.exits) {
    const size_t pixels = static_cast<size_t>(e.feature_shape[1] * e.feature_shape[2]);
    const size_t c = static_cast<size_t>(e.feature_shape[3]);
    const size_t w = static_cast<size_t>(e.width);
    const size_t k = static_cast<size_t>(plan.classes);
    const size_t b = static_cast<size_t>(batch);
    const size_t width = w > 0 ? w : c;
    const size_t acts = b * (pixels * c + pixels * w + width + k);
    const size_t largest = b * pixels * std::max(c, w);
    const size_t params = w * c + w + width * k + k;
    const size_t state = optimizer == OptimizerKind::kAdam ? 2 : 1;
    total += (2 * acts + largest + params * (2 + state)) * sizeof(float);
  }
  return total;
}

size_t RecordFloats(const ExitPlan& plan) {
  size_t floats = static_cast<size_t>(plan.classes);
  for (const ExitPoint& e : plan.exits) floats += static_cast<size_t>(NumElements(e.feature_shape));
  return floats;
}

}  // namespace

StatusOr<PersonalisePlan> PlanPersonalisation(const Graph& optimized, const ExitPlan& plan,
                                              size_t train_samples,
                                              const PersonaliseOptions& options) {
  ENSURE(options.batch >= 1, "personalise: batch must be at least 1, got ", options.batch);
  ENSURE(train_samples >= 1, "personalise: no training images");
  ENSURE(options.backbone_batch >= 0,
         "personalise: backbone batch must be at least 0 (0: ", kDefaultBackboneBatch, "), got ",
         options.backbone_batch);
  const int backbone_batch =
      options.backbone_batch > 0 ? options.backbone_batch : kDefaultBackboneBatch;
  const size_t baseline = CurrentRssBytes();
  const size_t record = RecordFloats(plan);
  const size_t image =
      static_cast<size_t>(NumElements(optimized.tensor(optimized.inputs()[0]).shape));
  const size_t usable = options.memory_budget - options.memory_budget / 10;

  std::vector<CachePlacement> order = {CachePlacement::kMemoryF16, CachePlacement::kDisk,
                                       CachePlacement::kRecompute};
  if (options.force_cache) order = {options.cache};
  size_t smallest = 0;
  for (CachePlacement placement : order) {
    // No batch larger than the training set: it would only compute padding.
    const int first = static_cast<int>(std::min<size_t>(options.batch, train_samples));
    for (int batch = first; batch >= 1; batch /= 2) {
      PersonalisePlan p;
      p.batch = batch;
      p.backbone_batch =
          placement == CachePlacement::kRecompute ? batch : std::min(batch, backbone_batch);
      p.cache = placement;
      p.baseline_bytes = baseline;
      ASSIGN_OR_RETURN(p.engine_bytes, EngineBytes(optimized, p.backbone_batch));
      p.heads_bytes = HeadBytes(plan, batch, options.optimizer);
      p.batch_bytes =
          static_cast<size_t>(batch) * (image + (3 * record + 4 * plan.classes) * sizeof(float));
      p.cache_bytes = FeatureStore::MemoryBytes(placement, train_samples, record);
      p.estimate_bytes =
          p.baseline_bytes + p.engine_bytes + p.heads_bytes + p.batch_bytes + p.cache_bytes;
      if (smallest == 0 || p.estimate_bytes < smallest) smallest = p.estimate_bytes;
      if (p.estimate_bytes <= usable) {
        std::ostringstream why;
        why << "batch " << batch << " (backbone batch " << p.backbone_batch << "), feature cache "
            << CachePlacementName(placement) << ": estimated peak " << (p.estimate_bytes >> 20)
            << " MiB of a " << (options.memory_budget >> 20) << " MiB budget (baseline "
            << (p.baseline_bytes >> 20) << ", engine " << (p.engine_bytes >> 20) << ", heads "
            << (p.heads_bytes >> 20) << ", batch " << (p.batch_bytes >> 20) << ", cache "
            << (p.cache_bytes >> 20) << " MiB)";
        p.explanation = why.str();
        return p;
      }
    }
  }
  const size_t needed = smallest + smallest / 9 + 1;  // undo the tenth held back
  return Error(StatusCode::kResourceExhausted, "personalise: a memory budget of ",
               options.memory_budget >> 20,
               " MiB cannot hold this personalisation; the smallest "
               "plan (batch 1, ",
               options.force_cache ? CachePlacementName(options.cache) : "recompute",
               ") needs about ", (needed + (1u << 20) - 1) >> 20, " MiB (--memory-budget ",
               (needed + (1u << 20) - 1) >> 20, "M)");
}

}  // namespace persephonee
