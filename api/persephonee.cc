#include "api/persephonee.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "graph/flops.h"
#include "graph/model_format.h"
#include "training/labels.h"

namespace persephonee {
namespace api {

StatusOr<std::shared_ptr<const Backbone>> Backbone::Load(const std::string& path, int threads) {
  ENSURE(!path.empty(), "backbone: the model path is empty");
  ASSIGN_OR_RETURN(Graph g, LoadGraph(path));
  return FromGraph(std::move(g), threads, path);
}

StatusOr<std::shared_ptr<const Backbone>> Backbone::FromGraph(Graph graph, int threads,
                                                              const std::string& origin) {
  ASSIGN_OR_RETURN(std::unique_ptr<Backbone> b, Create(std::move(graph), threads, origin));
  return std::shared_ptr<const Backbone>(std::move(b));
}

StatusOr<std::unique_ptr<Backbone>> Backbone::Create(Graph graph, int threads,
                                                     const std::string& origin) {
  ENSURE(threads >= 1 && threads <= 256, "backbone '", origin, "': threads must be 1..256, got ",
         threads);
  ENSURE(graph.inputs().size() == 1 && graph.outputs().size() == 1, "backbone '", origin,
         "': a backbone has one input and one output, this graph has ", graph.inputs().size(),
         " and ", graph.outputs().size());
  const Shape in = graph.tensor(graph.inputs()[0]).shape;
  ENSURE(in.size() == 4 && in[1] > 0 && in[2] > 0 && in[3] > 0, "backbone '", origin,
         "': the input is ", ShapeToString(in), ", not an NHWC image");
  const Shape out = graph.tensor(graph.outputs()[0]).shape;
  ENSURE(out.size() == 2 && out[1] > 0, "backbone '", origin, "': the output is ",
         ShapeToString(out), ", not [N, classes]");
  std::unique_ptr<Backbone> b(new Backbone());
  b->hash_ = BackboneHash(graph);
  ENSURE(!b->hash_.empty(), "backbone '", origin, "' cannot be serialised to compute its hash");
  {
    StatusOr<Graph> optimized = OptimizeBackbone(graph);
    if (!optimized.ok()) return optimized.status().WithContext("backbone '" + origin + "'");
    b->optimized_ = std::move(optimized).value();
  }
  graph = Graph();  // the unoptimised weights are not kept
  b->threads_ = threads;
  b->height_ = static_cast<int>(in[1]);
  b->width_ = static_cast<int>(in[2]);
  b->channels_ = static_cast<int>(in[3]);
  b->classes_ = static_cast<int>(out[1]);
  b->macs_ = ComputeGraphCost(b->optimized_).total.macs / std::max<int64_t>(1, in[0]);
  return b;
}

StatusOr<PlannedExits> PlanExits(const Backbone& backbone, const ExitOptions& options,
                                 const Personalisation* warm) {
  PlannedExits planned;
  if (warm != nullptr) {
    ENSURE_CODE(warm->backbone_hash == backbone.hash(), kFailedPrecondition,
                "personalisation: made for the backbone with SHA-256 ", warm->backbone_hash,
                ", but this backbone's SHA-256 is ", backbone.hash(),
                "; its exits cannot be used on another backbone (retrain them on this one)");
    planned.plan = PlanOf(*warm);
    return planned;
  }
  if (!options.exit_nodes.empty()) {
    ASSIGN_OR_RETURN(planned.plan, PlaceExitsByNode(backbone.graph(), options.exit_nodes));
  } else {
    ENSURE(options.exits >= 1 && options.exits <= 16, "exits: 1 to 16 early exits, got ",
           options.exits);
    ASSIGN_OR_RETURN(planned.plan,
                     PlaceExitsByFraction(backbone.graph(), EvenFractions(options.exits)));
  }
  if (options.personal_final) {
    const Status added = AddPersonalFinalExit(backbone.graph(), &planned.plan);
    if (!added.ok()) planned.no_personal_final = added.message();
  }
  return planned;
}

namespace {

// PersonaliseUser on `graph`, the optimised backbone whose BackboneHash is `hash`.
StatusOr<UserRun> PersonaliseGraph(Graph graph, const std::string& hash, const ExitPlan& plan,
                                   const ImageSource& images, const std::vector<uint8_t>& labels,
                                   const UserOptions& options, const Personalisation* warm_start,
                                   const ProgressFn& progress) {
  UserRun out;
  out.measure = options.measure;
  WarmStart warm;
  if (warm_start != nullptr) {
    ENSURE_CODE(warm_start->backbone_hash == hash, kFailedPrecondition,
                "personalisation: made for the backbone with SHA-256 ", warm_start->backbone_hash,
                ", but this backbone's SHA-256 is ", hash,
                "; its exits cannot be used on another backbone (retrain them on this one)");
    ASSIGN_OR_RETURN(warm, WarmStartFrom(*warm_start, options.training.optimizer));
    out.measure = warm_start->measure;
  }
  for (uint8_t l : labels) out.labelled += l != kUnlabelled ? 1 : 0;

  std::atomic<bool> cancel{false};
  PersonaliseOptions o = options.training;
  o.cancel = &cancel;
  o.on_epoch = [&](int epoch, double loss, double rate, double left) {
    if (progress && !progress(epoch, o.epochs, loss, rate, left)) cancel.store(true);
  };
  // Personalise optimises the graph again, which changes nothing, and hands it to the engine,
  // which releases its weights once packed.
  ASSIGN_OR_RETURN(out.run, persephonee::Personalise(std::move(graph), plan, images, labels, o,
                                                     warm_start != nullptr ? &warm : nullptr));
  ASSIGN_OR_RETURN(out.decision, DecideAndCalibrate(&out.run, out.measure, options.calibration));
  std::map<std::string, std::string> meta = options.metadata;
  meta["seed"] = std::to_string(o.seed);
  meta["epochs"] = std::to_string(o.epochs);
  meta["samples"] = std::to_string(images.size());
  meta["labelled"] = std::to_string(out.labelled);
  ASSIGN_OR_RETURN(out.personalisation, MakePersonalisation(hash, out.run, o.optimizer, out.measure,
                                                            out.decision.thresholds, meta));
  const GuaranteeResult& g = out.decision.guarantee;
  out.personalisation.calibration =
      CalibrationRecord{g.epsilon, g.delta, g.bound, g.samples, g.labelled, g.exits_on};
  if (!options.keep_optimizer) out.personalisation.optimizer.reset();
  return out;
}

}  // namespace

StatusOr<UserRun> PersonaliseUser(const Backbone& backbone, const ExitPlan& plan,
                                  const ImageSource& images, const std::vector<uint8_t>& labels,
                                  const UserOptions& options, const Personalisation* warm_start,
                                  const ProgressFn& progress) {
  // A copy: the shared backbone stays whole for other users and models.
  return PersonaliseGraph(backbone.graph(), backbone.hash(), plan, images, labels, options,
                          warm_start, progress);
}

StatusOr<UserRun> PersonaliseUser(Backbone&& backbone, const ExitPlan& plan,
                                  const ImageSource& images, const std::vector<uint8_t>& labels,
                                  const UserOptions& options, const Personalisation* warm_start,
                                  const ProgressFn& progress) {
  const std::string hash = backbone.hash();
  return PersonaliseGraph(std::move(backbone).TakeGraph(), hash, plan, images, labels, options,
                          warm_start, progress);
}

StatusOr<UserRun> PersonaliseUser(const Backbone& backbone, const ImageSource& images,
                                  const std::vector<uint8_t>& labels, const UserOptions& options,
                                  const Personalisation* warm_start, const ProgressFn& progress) {
  ASSIGN_OR_RETURN(PlannedExits planned, PlanExits(backbone, options.exits, warm_start));
  return PersonaliseUser(backbone, planned.plan, images, labels, options, warm_start, progress);
}

StatusOr<Personalisation> LoadExits(const Backbone& backbone, const std::string& path) {
  ASSIGN_OR_RETURN(Personalisation p, LoadPersonalisation(path));
  ENSURE_CODE(p.backbone_hash == backbone.hash(), kFailedPrecondition, path,
              ": made for the backbone with SHA-256 ", p.backbone_hash,
              ", but this backbone's SHA-256 is ", backbone.hash(),
              "; its exits cannot be used on another backbone (retrain them on this one)");
  ENSURE(p.classes == backbone.classes(), path, ": exits for ", p.classes,
         " classes, the backbone has ", backbone.classes());
  return p;
}

Status SaveExits(const Personalisation& p, const std::string& path) {
  ENSURE(!path.empty(), "save: the path is empty");
  return SavePersonalisation(p, path);
}

StatusOr<std::unique_ptr<Model>> Model::Create(const Backbone& backbone, const Personalisation* p) {
  Personalisation original;  // no exits: the final exit answers everything
  if (p == nullptr) {
    original.classes = backbone.classes();
    const Graph& g = backbone.graph();
    original.output_tensor = g.tensor(g.outputs()[0]).name;
    original.backbone_hash = backbone.hash();
    original.backbone_macs = backbone.macs();
    p = &original;
  }
  std::unique_ptr<Model> m(new Model());
  ASSIGN_OR_RETURN(m->model_, EarlyExitModel::CreateForHash(backbone.graph(), backbone.hash(), *p,
                                                            backbone.threads()));
  m->image_.resize(m->model_->image_size());
  ENSURE_CODE(m->image_.size() == backbone.image_bytes(), kInternal, "model: ", m->image_.size(),
              " values per image, the backbone's input has ", backbone.image_bytes());
  return m;
}

Status Model::ClassifyU8(const uint8_t* pixels, size_t count, ExitAnswer* out) {
  const size_t n = image_.size();
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* image = pixels + i * n;
    for (size_t j = 0; j < n; ++j) image_[j] = image[j] * (1.0f / 255.0f);
    StatusOr<ExitAnswer> a = model_->Infer(image_.data());
    if (!a.ok()) return a.status().WithContext("image " + std::to_string(i));
    out[i] = *a;
  }
  return Status::Ok();
}

}  // namespace api
}  // namespace persephonee
