// `persephonee personalise`: train early-exit heads on a user's images and save them.
#include <cstdio>
#include <memory>
#include <optional>
#include <sstream>

#include "api/persephonee.h"
#include "base/idx.h"
#include "tools/commands.h"
#include "tools/engine_cli.h"
#include "tools/personalise_cli.h"
#include "training/assemble.h"
#include "training/calibration.h"
#include "training/exits.h"
#include "training/personalisation.h"
#include "training/personalise.h"
#include "training/reservoir.h"

namespace persephonee {
namespace cli {
namespace {

constexpr const char* kUsage =
    "usage: persephonee personalise --model M --images FILE.idx[.gz] [--labels FILE.idx[.gz]]\n"
    "         [--memory-budget B] [--epochs E] [--seed S] [--exits K | --exit-nodes A,B,...]\n"
    "         [--batch N] [--threads T] [--cache auto|memory|memory-f16|disk|recompute]\n"
    "         [--optimizer adam|sgd] [--lr X] [--temperature T] [--tau X] [--epsilon X]\n"
    "         [--delta X] [--no-teacher-correction] [--no-personal-final]\n"
    "         [--measure max_softmax|entropy] [--holdout X] [--resume P] [--save-optimizer]\n"
    "         [--head-weights int8|float32] [--reservoir DIR [--reservoir-size N]] --out P\n"
    "\n"
    "Attaches K early exits (default 4, at even fractions of the backbone's FLOPs) to the\n"
    "frozen model M (a model file or zoo:NAME), trains their heads on the user's images (uint8\n"
    "IDX, pixels scaled by 1/255) with the labels given (label 255 = unlabelled; without\n"
    "--labels, none) and writes the personalisation (only the exits) to P atomically.\n"
    "Before training, the original model's final exit (the teacher) is measured: the user's\n"
    "class prior by EM on its outputs and the labels, and, on the labelled images, how far it\n"
    "can be trusted and which classes it confuses; its targets are corrected and weighted\n"
    "by that trust (--no-teacher-correction: use it as it is). A personalised final exit, a\n"
    "copy of the backbone's classifier trained on the same images, replaces it unless the\n"
    "labelled held-out images show it worse than the prior-corrected original\n"
    "(--no-personal-final: keep the backbone's). Thresholds are calibrated on a held-out part\n"
    "(--holdout, default 0.2) by Learn-then-Test: the early exits are switched on only where the\n"
    "upper confidence bound on the accuracy they lose stays within --epsilon (default 0.01) at\n"
    "confidence 1 - --delta (default 0.1); otherwise every image goes through the whole network. "
    "--memory-budget (default 64M) bounds\n"
    "the process's peak resident memory: the batch size and the feature cache are chosen to\n"
    "fit it (--cache auto: float16 in memory, else a spill file, else recomputation; --cache\n"
    "memory forces float32). --resume P continues training a saved personalisation (same exits);\n"
    "--save-optimizer keeps the optimiser's state in the file so a resumed run continues it\n"
    "exactly (two float32 values per head parameter for Adam, one for SGD).\n"
    "--head-weights: the heads' convolution and classifier weights are stored as int8 with a\n"
    "power-of-two scale per row (default; a quarter of the bytes), or as float32. They are\n"
    "rounded before calibration, so the thresholds fit the heads the file holds.\n"
    "--reservoir DIR keeps, across runs, a bounded uniform sample of every image ever given\n"
    "(reservoir sampling: at most --reservoir-size images, default 1000, fixed when DIR is\n"
    "created; each image seen stays with probability size / seen). This run's images and\n"
    "labels are offered to it, the heads train on what it then holds, and DIR is saved after\n"
    "P is written. With --resume, personalisation continues incrementally as images arrive.\n";

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

Status Personalise(const ParsedArgs& a) {
  const auto& v = a.values;
  ENSURE(v.count("--model") && v.count("--images") && v.count("--out"),
         "--model, --images and --out are required");
  // Where the results go is checked before minutes of training, not after (issue 14).
  RETURN_IF_ERROR(CheckWritable(v.at("--out"), false).WithContext("--out"));
  if (v.count("--reservoir")) {
    RETURN_IF_ERROR(CheckWritable(v.at("--reservoir"), true).WithContext("--reservoir"));
  }
  PersonaliseOptions o;
  RETURN_IF_ERROR(ParseTrainingFlags(a, &o));
  ASSIGN_OR_RETURN(int64_t exits, IntFlag(a, "--exits", 4, 1, 16));
  if (v.count("--memory-budget")) {
    ASSIGN_OR_RETURN(o.memory_budget, ParseBytes("--memory-budget", v.at("--memory-budget")));
  }
  if (v.count("--cache") && v.at("--cache") != "auto") {
    ASSIGN_OR_RETURN(o.cache, ParseCachePlacement(v.at("--cache")));
    o.force_cache = true;
  }
  GuaranteeOptions calibration;
  if (v.count("--epsilon")) {
    ASSIGN_OR_RETURN(float e, ParseFloat("--epsilon", v.at("--epsilon"), 0, 1));
    calibration.epsilon = e;
  }
  if (v.count("--delta")) {
    ASSIGN_OR_RETURN(float d, ParseFloat("--delta", v.at("--delta"), 1e-6f, 0.999f));
    calibration.delta = d;
  }
  o.correct_teacher = !a.switches.count("--no-teacher-correction");
  if (v.count("--head-weights")) {
    ASSIGN_OR_RETURN(o.head_storage, ParseHeadWeights(v.at("--head-weights")));
  }
  ConfidenceMeasure measure = ConfidenceMeasure::kMaxSoftmax;
  if (v.count("--measure")) {
    ASSIGN_OR_RETURN(measure, ParseConfidenceMeasure(v.at("--measure")));
  }

  // With --reservoir, the reservoir is checked before anything heavy is loaded.
  const bool use_reservoir = v.count("--reservoir") > 0;
  ENSURE(use_reservoir || !v.count("--reservoir-size"), "--reservoir-size needs --reservoir");
  ASSIGN_OR_RETURN(int64_t reservoir_size, IntFlag(a, "--reservoir-size", 1000, 1,
                                                   static_cast<int64_t>(kMaxReservoirCapacity)));
  std::optional<Reservoir> reservoir;
  ImageShape new_shape;
  if (use_reservoir) {
    const std::string& dir = v.at("--reservoir");
    StatusOr<Reservoir> loaded = Reservoir::Load(dir);
    if (loaded.ok()) {
      ENSURE(
          !v.count("--reservoir-size") || static_cast<size_t>(reservoir_size) == loaded->capacity(),
          "--reservoir-size ", reservoir_size, " differs from the capacity ", loaded->capacity(),
          " of the reservoir in '", dir, "' (a reservoir keeps its size; omit the flag to use it)");
      reservoir = std::move(loaded).value();
    } else if (loaded.status().code() != StatusCode::kNotFound) {
      return loaded.status();
    }
    // The image shape from the IDX header (a gzip file is inflated here and again below).
    ASSIGN_OR_RETURN(IdxReader reader, IdxReader::Open(v.at("--images")));
    ASSIGN_OR_RETURN(new_shape, ImageShapeFromIdxDims(reader.dims(), v.at("--images")));
  }

  ASSIGN_OR_RETURN(Graph graph, LoadModelArg(v.at("--model")));
  ASSIGN_OR_RETURN(std::unique_ptr<api::Backbone> backbone,
                   api::Backbone::Create(std::move(graph), 1, v.at("--model")));
  ASSIGN_OR_RETURN(auto images, OpenIdxImages(v.at("--images")));
  std::vector<uint8_t> labels(images->size(), kUnlabelled);
  if (v.count("--labels")) {
    ASSIGN_OR_RETURN(labels, ReadLabels(v.at("--labels"), images->size()));
  }

  api::ExitOptions exit_options;
  exit_options.exits = static_cast<int>(exits);
  if (v.count("--exit-nodes")) exit_options.exit_nodes = Split(v.at("--exit-nodes"));
  exit_options.personal_final = !a.switches.count("--no-personal-final");
  std::optional<Personalisation> saved;
  const bool resume = v.count("--resume") > 0;
  if (resume) {
    ASSIGN_OR_RETURN(saved, LoadPersonalisation(v.at("--resume")));
  }
  ASSIGN_OR_RETURN(api::PlannedExits planned,
                   api::PlanExits(*backbone, exit_options, saved ? &*saved : nullptr));
  if (!planned.no_personal_final.empty()) {
    std::printf("no personalised final exit: %s\n", planned.no_personal_final.c_str());
  }
  const ExitPlan& plan = planned.plan;
  std::printf("exits:");
  for (const ExitPoint& e : plan.exits) {
    std::printf(" %s@%s (%.0f%% of FLOPs, head %d ch, %.2f%%)", e.name.c_str(), e.tensor.c_str(),
                100 * e.flop_fraction, e.width,
                100.0 * static_cast<double>(e.head_macs) / static_cast<double>(plan.backbone_macs));
  }
  std::printf("\n");
  size_t labelled = 0;
  for (uint8_t l : labels) labelled += l != kUnlabelled ? 1 : 0;

  // What the heads train on: this run's images, or the reservoir after they were offered to it.
  const ImageSource* train_images = images.get();
  const std::vector<uint8_t>* train_labels = &labels;
  size_t train_labelled = labelled;
  std::unique_ptr<ImageSource> reservoir_images;
  OfferSummary offer;
  if (use_reservoir) {
    const std::string& dir = v.at("--reservoir");
    if (!reservoir.has_value()) {
      ASSIGN_OR_RETURN(Reservoir created, Reservoir::Create(static_cast<size_t>(reservoir_size),
                                                            o.seed, new_shape, plan.classes));
      reservoir = std::move(created);
    }
    const ImageShape& held = reservoir->shape();
    ENSURE(held == new_shape, v.at("--images"), ": images of ", new_shape.height, "x",
           new_shape.width, "x", new_shape.channels, ", but the reservoir in '", dir, "' holds ",
           held.height, "x", held.width, "x", held.channels);
    ENSURE(reservoir->classes() == plan.classes, "the reservoir in '", dir, "' has labels for ",
           reservoir->classes(), " classes, the model has ", plan.classes);
    ASSIGN_OR_RETURN(offer, reservoir->Offer(*images, labels));
    reservoir_images = reservoir->Images();
    train_images = reservoir_images.get();
    train_labels = &reservoir->labels();
    train_labelled = 0;
    for (uint8_t l : *train_labels) train_labelled += l != kUnlabelled ? 1 : 0;
    std::printf("images: %zu (%zu labelled), training on the reservoir's %zu (%zu labelled)\n",
                images->size(), labelled, train_images->size(), train_labelled);
  } else {
    std::printf("images: %zu (%zu labelled)\n", images->size(), labelled);
  }

  api::UserOptions uo;
  uo.training = o;
  uo.measure = measure;
  uo.calibration = calibration;
  uo.keep_optimizer = a.switches.count("--save-optimizer") > 0;
  uo.metadata = {{"model", v.at("--model")}, {"images", v.at("--images")}};
  if (use_reservoir) {
    uo.metadata["reservoir"] = v.at("--reservoir");
    uo.metadata["reservoir_seen"] = std::to_string(reservoir->seen());
  }
  auto progress = [&](int epoch, int epochs, double loss, double rate, double left) {
    std::printf("epoch %d/%d  loss %.4f  %.0f samples/s  %.1f s left\n", epoch, epochs, loss, rate,
                left);
    std::fflush(stdout);
    return true;
  };
  // The backbone's graph goes to the engine: its weights are resident once, as before.
  ASSIGN_OR_RETURN(api::UserRun run,
                   api::PersonaliseUser(std::move(*backbone), plan, *train_images, *train_labels,
                                        uo, saved ? &*saved : nullptr, progress));
  measure = run.measure;
  const PersonaliseResult& r = run.run;
  if (!r.dropped_personal_final.empty()) {
    std::printf("no personalised final exit: with it, %s\n", r.dropped_personal_final.c_str());
  }
  std::printf("plan: %s\n", r.budget.explanation.c_str());
  const TeacherCorrection& t = r.teacher;
  std::printf("teacher: prior");
  for (double p : t.prior) std::printf(" %.3f", p);
  std::printf(" (EM, %d iterations)", t.em_iterations);
  if (t.labelled > 0) {
    std::printf("; on %lld labels: accuracy %.1f%%, corrected %.1f%%%s",
                static_cast<long long>(t.labelled), 100 * t.teacher_accuracy,
                100 * t.corrected_accuracy,
                t.confusion_measured ? " (confusion-corrected, leave-one-out)" : "");
  }
  std::printf("; trust %.2f\n", t.trust);
  const CalibrationDecision& d = run.decision;
  if (d.personal_final) {
    std::printf("final exit: %s",
                d.final_trained ? "personalised" : "the original's, prior-corrected");
    if (d.final_labelled > 0) {
      std::printf(
          " (on %lld labelled held-out images: personalised %lld, prior-corrected %lld, "
          "original %lld right)",
          static_cast<long long>(d.final_labelled), static_cast<long long>(d.final_correct),
          static_cast<long long>(d.corrected_correct), static_cast<long long>(d.original_correct));
    }
    std::printf("\n");
  }
  const GuaranteeResult& g = d.guarantee;
  if (g.exits_on) {
    std::printf(
        "calibration: early exits ON at threshold %.6g: loss bound %.4f <= epsilon %.4f at "
        "confidence %.2f, on %lld held-out images (%lld labelled)\n",
        g.thresholds.empty() ? 0.0 : g.thresholds[0], g.bound, g.epsilon, 1 - g.delta,
        static_cast<long long>(g.samples), static_cast<long long>(g.labelled));
  } else if (g.accepted > 0) {
    std::printf(
        "calibration: early exits OFF for this user: %d settings passed the bound (epsilon %.4f "
        "at confidence %.2f, %lld held-out images, %lld labelled), but each lost more than "
        "%.4f against the final exit on the held-out images; every image goes through the "
        "whole network\n",
        g.accepted, g.epsilon, 1 - g.delta, static_cast<long long>(g.samples),
        static_cast<long long>(g.labelled), g.epsilon);
  } else {
    std::printf(
        "calibration: early exits OFF for this user: no setting passed (the first reached a loss "
        "bound of %.4f > epsilon %.4f at confidence %.2f, on %lld held-out images, %lld "
        "labelled); every image goes through the whole network\n",
        g.bound, g.epsilon, 1 - g.delta, static_cast<long long>(g.samples),
        static_cast<long long>(g.labelled));
  }
  ASSIGN_OR_RETURN(ExitObservations obs, HeldOutObservations(r, measure));
  // Each exit's accuracy on the held-out images, estimated without labels, beside the truth
  // where the user labelled some of them.
  ASSIGN_OR_RETURN(ExitAccuracyEstimate estimate, EstimateExitAccuracy(obs));
  std::printf(
      "held-out accuracy per exit, estimated without labels (agreement with the backbone's "
      "final exit)%s:\n",
      estimate.num_labelled > 0 ? ", and measured on the labelled ones" : "");
  for (size_t e = 0; e < estimate.estimated.size(); ++e) {
    const std::string name =
        e < r.plan.exits.size() ? r.plan.exits[e].name : std::string("original");
    std::printf("  %-8s %6.2f%% (%6.2f%%)", name.c_str(), 100 * estimate.estimated[e],
                100 * estimate.agreement[e]);
    if (estimate.num_labelled > 0) {
      std::printf("  measured %6.2f%% on %lld", 100 * estimate.labelled[e],
                  static_cast<long long>(estimate.num_labelled));
    }
    std::printf("\n");
  }
  const Personalisation& p = run.personalisation;
  RETURN_IF_ERROR(api::SaveExits(p, v.at("--out")));
  ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, SerializePersonalisation(p));
  std::printf("wrote %s (%zu bytes) in %.1f s, peak RSS %.1f MiB\n", v.at("--out").c_str(),
              bytes.size(), r.seconds, PeakRssBytes() / 1048576.0);
  if (use_reservoir) {
    // After the personalisation: a run that fails leaves the reservoir as it was, so its images
    // can be offered again.
    RETURN_IF_ERROR(reservoir->Save(v.at("--reservoir")));
    std::printf(
        "reservoir %s: kept %zu of the %zu new samples, holds %zu of capacity %zu (seen %llu)\n",
        v.at("--reservoir").c_str(), offer.kept, offer.offered, reservoir->count(),
        reservoir->capacity(), static_cast<unsigned long long>(reservoir->seen()));
  }
  return Status::Ok();
}

}  // namespace

int RunPersonalise(const std::vector<std::string>& args) {
  StatusOr<ParsedArgs> parsed = ParseArgs(
      args, {"--model",     "--images",         "--labels",       "--memory-budget", "--epochs",
             "--seed",      "--exits",          "--exit-nodes",   "--batch",         "--threads",
             "--cache",     "--optimizer",      "--lr",           "--temperature",   "--tau",
             "--epsilon",   "--measure",        "--holdout",      "--resume",        "--out",
             "--reservoir", "--reservoir-size", "--head-weights", "--delta"},
      {"--save-optimizer", "--no-teacher-correction", "--no-personal-final"});
  if (!parsed.ok()) return UsageError("personalise", parsed.status().message(), kUsage);
  if (parsed->help) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (!parsed->positional.empty()) {
    return UsageError("personalise", "unexpected argument '" + parsed->positional[0] + "'", kUsage);
  }
  Status s = Personalise(*parsed);
  if (s.code() == StatusCode::kInvalidArgument && s.message().rfind("--", 0) == 0) {
    return UsageError("personalise", s.message(), kUsage);
  }
  if (!s.ok()) return Failure("personalise", s);
  return kExitOk;
}

}  // namespace cli
}  // namespace persephonee
