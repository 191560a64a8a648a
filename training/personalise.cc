#include "training/personalise.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include "base/idx.h"
#include "engine/engine.h"
#include "graph/int8_rows.h"
#include "kernels/loss/loss.h"
#include "kernels/optim/optim.h"
#include "training/network.h"
#include "training/prior.h"

namespace persephonee {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

size_t ProcStatusBytes(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(key);
  while (std::getline(in, line)) {
    if (line.compare(0, n, key) == 0)
      return static_cast<size_t>(std::stoull(line.substr(n + 1))) * 1024;
  }
  return 0;
}

class IdxImageSource : public ImageSource {
 public:
  explicit IdxImageSource(IdxReader reader) : reader_(std::move(reader)) {}
  size_t size() const override { return reader_.num_records(); }
  size_t image_bytes() const override { return reader_.record_bytes(); }
  Status Read(size_t index, uint8_t* out) const override {
    return reader_.ReadRecords(index, 1, out, reader_.record_bytes());
  }

 private:
  IdxReader reader_;
};

// kCancelled once options.cancel is set.
Status CheckCancelled(const PersonaliseOptions& options) {
  if (options.cancel != nullptr && options.cancel->load(std::memory_order_relaxed)) {
    return Status(StatusCode::kCancelled, "personalise: cancelled");
  }
  return Status::Ok();
}

// The state of one run: the backbone engine, the heads and their optimisers, batch buffers.
struct Run {
  const ExitPlan* plan = nullptr;
  const ImageSource* images = nullptr;
  const PersonaliseOptions* options = nullptr;
  std::unique_ptr<Engine> engine;
  std::vector<const float*> kept;  // per exit, then the logits: arena addresses
  std::vector<size_t> sizes;       // floats per sample, same order
  std::vector<size_t> offsets;     // in a record, same order
  size_t record_floats = 0;        // floats per cached record: every exit, then the logits
  int classes = 0;
  int batch = 0;           // the heads' training batch
  int backbone_batch = 0;  // images per backbone pass (the engine's batch), at most `batch`
  std::vector<uint8_t> pixels;
  std::vector<std::unique_ptr<Network>> heads;
  std::vector<std::vector<float>> state;  // per head parameter: momentum, or m then v
  int64_t step = 0;
  // Per-batch buffers: [exit][batch * size], teacher logits, probabilities and losses.
  std::vector<std::vector<float>> features;
  std::vector<float> max_prob, entropy, grad, record;
  std::vector<int32_t> teacher;
  std::vector<uint8_t> batch_labels;
  std::unique_ptr<Objective> objective;
  const TeacherCorrection* teacher_correction = nullptr;  // null: the teacher as it is
  std::vector<float> corrected;                           // [batch][classes]

  // Runs the backbone on images idx[0..count), count <= backbone_batch, and copies what the
  // exits need into `features`.
  Status Backbone(const size_t* idx, size_t count) {
    RETURN_IF_ERROR(CheckCancelled(*options));
    const size_t image = images->image_bytes();
    float* in = engine->input();
    for (size_t i = 0; i < static_cast<size_t>(backbone_batch); ++i) {
      if (i < count) {
        RETURN_IF_ERROR(images->Read(idx[i], pixels.data()));
        for (size_t p = 0; p < image; ++p) in[i * image + p] = pixels[p] * (1.0f / 255.0f);
      } else {
        std::fill(in + i * image, in + (i + 1) * image, 0.0f);  // padding of a last batch
      }
    }
    RETURN_IF_ERROR(engine->Run());
    for (size_t k = 0; k < kept.size(); ++k) {
      std::memcpy(features[k].data(), kept[k], count * sizes[k] * sizeof(float));
    }
    return Status::Ok();
  }

  // Copies records slot[0..count) of the store into `features`.
  Status LoadFromStore(const FeatureStore& store, const size_t* slot, size_t count) {
    std::vector<float>& rec = record;
    for (size_t i = 0; i < count; ++i) {
      RETURN_IF_ERROR(store.Read(slot[i], rec.data()));
      for (size_t k = 0; k < sizes.size(); ++k) {
        std::memcpy(features[k].data() + i * sizes[k], rec.data() + offsets[k],
                    sizes[k] * sizeof(float));
      }
    }
    return Status::Ok();
  }

  // One optimisation step of every head on the batch in `features`; returns the mean loss.
  double TrainStep(const std::vector<uint8_t>& user_labels, const size_t* idx, size_t count,
                   float lr) {
    for (size_t i = 0; i < count; ++i) batch_labels[i] = user_labels[idx[i]];
    const float* teacher_logits = features.back().data();
    if (teacher_correction != nullptr) {
      CorrectTeacherLogits(*teacher_correction, teacher_logits, count, corrected.data());
      teacher_logits = corrected.data();
    }
    objective->SetBatch(teacher_logits, batch_labels.data(), count);
    double total = 0.0;
    for (size_t h = 0; h < heads.size(); ++h) {
      Network& net = *heads[h];
      (void)net.Forward(features[h].data(), static_cast<int64_t>(count));
      total += objective->LossAndGradient(net.output(), grad.data());
      (void)net.Backward(grad.data());
    }
    ++step;
    size_t s = 0;
    for (auto& net : heads) OptimizerStep(*options, net->params(), lr, step, &state, &s);
    return total / static_cast<double>(count) / static_cast<double>(heads.size());
  }
};

}  // namespace

std::vector<size_t> SeededPermutation(size_t n, uint64_t seed) {
  std::vector<size_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = i;
  std::mt19937_64 rng(seed);
  for (size_t i = n; i > 1; --i) {
    const size_t j = static_cast<size_t>(((rng() >> 32) * static_cast<uint64_t>(i)) >> 32);
    std::swap(p[i - 1], p[j]);
  }
  return p;
}

float ScheduledLearningRate(const PersonaliseOptions& o, int epoch, double progress) {
  switch (o.schedule) {
    case ScheduleKind::kCosine:
      return static_cast<float>(o.learning_rate * 0.5 * (1.0 + std::cos(M_PI * progress)));
    case ScheduleKind::kStep:
      return o.learning_rate *
             std::pow(o.step_gamma, static_cast<float>(epoch / std::max(1, o.step_epochs)));
    case ScheduleKind::kConstant:
      break;
  }
  return o.learning_rate;
}

void OptimizerStep(const PersonaliseOptions& o, const std::vector<ParamRef>& params, float lr,
                   int64_t step, std::vector<std::vector<float>>* state, size_t* next) {
  const OptimConfig& opt = optim_config();
  for (const ParamRef& p : params) {
    std::vector<float>* st = &(*state)[*next];
    if (o.optimizer == OptimizerKind::kAdam) {
      AdamParams a;
      a.lr = lr;
      a.weight_decay = o.weight_decay;
      opt.adam(p.size, a, step, p.data, p.grad, st[0].data(), st[1].data());
      *next += 2;
    } else {
      SgdParams g;
      g.lr = lr;
      g.momentum = o.momentum;
      g.weight_decay = o.weight_decay;
      opt.sgd(p.size, g, step, p.data, p.grad, st[0].data());
      *next += 1;
    }
  }
}

void AddOptimizerState(OptimizerKind kind, const std::vector<ParamRef>& params,
                       std::vector<std::vector<float>>* state) {
  for (const ParamRef& p : params) {
    for (int c = 0; c < (kind == OptimizerKind::kAdam ? 2 : 1); ++c)
      state->emplace_back(p.size, 0.0f);
  }
}

void SplitHoldout(size_t n, double holdout_fraction, uint64_t seed, std::vector<size_t>* train,
                  std::vector<size_t>* hold) {
  const std::vector<size_t> order = SeededPermutation(n, seed);
  const size_t held = static_cast<size_t>(std::floor(holdout_fraction * static_cast<double>(n)));
  hold->assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(held));
  train->assign(order.begin() + static_cast<std::ptrdiff_t>(held), order.end());
}

Status MemoryImageSource::Read(size_t index, uint8_t* out) const {
  ENSURE(index < size(), "image ", index, " of ", size());
  std::memcpy(out, pixels_.data() + index * image_bytes_, image_bytes_);
  return Status::Ok();
}

StatusOr<std::unique_ptr<ImageSource>> OpenIdxImages(const std::string& path) {
  ASSIGN_OR_RETURN(IdxReader reader, IdxReader::Open(path));
  return std::unique_ptr<ImageSource>(new IdxImageSource(std::move(reader)));
}

size_t CurrentRssBytes() { return ProcStatusBytes("VmRSS:"); }

void ReleaseFreeHeap() { malloc_trim(0); }
size_t PeakRssBytes() { return ProcStatusBytes("VmHWM:"); }

bool ResetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

StatusOr<PersonaliseResult> Personalise(Graph backbone, const ExitPlan& requested_plan,
                                        const ImageSource& images,
                                        const std::vector<uint8_t>& labels,
                                        const PersonaliseOptions& options, const WarmStart* warm) {
  const Clock::time_point start = Clock::now();
  ExitPlan plan = requested_plan;
  ENSURE(!plan.exits.empty(), "personalise: the exit plan has no exits");
  ENSURE(options.epochs >= 1, "personalise: epochs must be at least 1, got ", options.epochs);
  ENSURE(options.holdout_fraction >= 0.0 && options.holdout_fraction < 1.0,
         "personalise: holdout fraction ", options.holdout_fraction, " outside [0, 1)");
  ENSURE(labels.size() == images.size(), "personalise: ", images.size(), " images but ",
         labels.size(), " labels");
  ENSURE(options.loss.temperature > 0.0f, "personalise: temperature must be positive");
  const TensorId input = backbone.inputs().at(0);
  const Shape& in_shape = backbone.tensor(input).shape;
  const size_t image = static_cast<size_t>(NumElements(in_shape) / in_shape[0]);
  ENSURE(images.image_bytes() == image, "personalise: images have ", images.image_bytes(),
         " bytes each, the backbone's input ", ShapeToString(in_shape), " needs ", image);
  for (size_t i = 0; i < labels.size(); ++i) {
    ENSURE(labels[i] == kUnlabelled || labels[i] < plan.classes, "personalise: label ",
           static_cast<int>(labels[i]), " of image ", i, " is not a class (0..", plan.classes - 1,
           ") nor 255 (unlabelled)");
  }
  if (warm != nullptr) {
    ENSURE(warm->heads.size() == plan.exits.size(), "personalise: the warm start has ",
           warm->heads.size(), " heads for ", plan.exits.size(), " exits");
  }

  std::vector<size_t> train, hold;
  SplitHoldout(images.size(), options.holdout_fraction, options.seed, &train, &hold);
  ENSURE(!train.empty(), "personalise: no training images left after the held-out part");

  // Optimise once (the engine then runs the graph as it is) and give back what the unoptimised
  // copy occupied before measuring the baseline.
  {
    ASSIGN_OR_RETURN(Graph optimized, OptimizeBackbone(backbone));
    backbone = std::move(optimized);
  }
  ReleaseFreeHeap();

  PersonaliseResult result;
  result.plan = plan;
  result.train_samples = train.size();
  for (size_t i : train) result.labelled_samples += labels[i] != kUnlabelled ? 1 : 0;
  StatusOr<PersonalisePlan> budget = PlanPersonalisation(backbone, plan, train.size(), options);
  if (!budget.ok() && budget.status().code() == StatusCode::kResourceExhausted &&
      plan.personal_final && warm == nullptr) {
    // A large classifier's copy, gradients and optimiser state may not fit where the early exits
    // alone do: then train without the personalised final exit rather than not at all.
    ExitPlan without = plan;
    without.exits.pop_back();
    without.personal_final = false;
    StatusOr<PersonalisePlan> smaller =
        PlanPersonalisation(backbone, without, train.size(), options);
    if (smaller.ok()) {
      result.dropped_personal_final = budget.status().message();
      plan = std::move(without);
      result.plan = plan;
      budget = std::move(smaller);
    }
  }
  if (!budget.ok()) return budget.status();
  result.budget = std::move(budget).value();
  // The personalised final exit starts as the backbone's classifier; build it while the graph
  // still holds the classifier's weights (the engine releases them once packed).
  std::optional<Graph> final_copy;
  if (plan.personal_final && warm == nullptr) {
    ASSIGN_OR_RETURN(Graph h, BuildFinalCopyHead(backbone, plan.exits.back(), {}));
    final_copy = std::move(h);
  }

  Run run;
  run.plan = &plan;
  run.images = &images;
  run.options = &options;
  run.batch = result.budget.batch;
  run.backbone_batch = result.budget.backbone_batch;
  ENSURE_CODE(run.backbone_batch >= 1 && run.backbone_batch <= run.batch, kInternal,
              "personalise: the planner chose backbone batch ", run.backbone_batch, " for batch ",
              run.batch);
  run.classes = plan.classes;
  EngineOptions eo;
  eo.batch = run.backbone_batch;
  eo.threads = options.threads;
  eo.optimize = false;  // done above
  for (const ExitPoint& e : plan.exits) eo.keep.push_back(e.tensor);
  eo.keep.push_back(plan.output_tensor);
  ASSIGN_OR_RETURN(run.engine, Engine::Create(std::move(backbone), eo));
  ReleaseFreeHeap();  // the graph's weights, released by the engine once packed
  for (const std::string& name : eo.keep) {
    ASSIGN_OR_RETURN(const float* p, run.engine->TensorData(name));
    ASSIGN_OR_RETURN(TensorId t, run.engine->graph().FindTensor(name));
    run.kept.push_back(p);
    run.offsets.push_back(run.record_floats);
    run.sizes.push_back(
        static_cast<size_t>(NumElements(run.engine->graph().tensor(t).shape) / run.backbone_batch));
    run.record_floats += run.sizes.back();
  }
  ENSURE(run.sizes.back() == static_cast<size_t>(plan.classes), "personalise: the backbone's '",
         plan.output_tensor, "' has ", run.sizes.back(), " values, the plan says ", plan.classes,
         " classes");

  const size_t b = static_cast<size_t>(run.batch);
  const size_t bb = static_cast<size_t>(run.backbone_batch);
  const size_t k = static_cast<size_t>(plan.classes);
  run.pixels.resize(image);
  for (size_t s : run.sizes) run.features.emplace_back(b * s);
  run.grad.resize(b * k);
  run.record.resize(run.record_floats);
  run.max_prob.resize(b);
  run.entropy.resize(b);
  run.teacher.resize(b);
  run.batch_labels.resize(b);
  run.corrected.resize(b * k);

  int64_t head_macs = 0;
  for (const ExitPoint& e : plan.exits) head_macs += e.head_macs;

  // Cache the features once, unless they are recomputed every epoch: record j holds training
  // image train[j], filled backbone_batch images at a time.
  std::unique_ptr<FeatureStore> store;
  std::vector<float> teacher_logits;  // [train][classes], the final exit's on the training images
  if (result.budget.cache != CachePlacement::kRecompute) {
    const Clock::time_point fill_start = Clock::now();
    ASSIGN_OR_RETURN(store, FeatureStore::Create(result.budget.cache, train.size(),
                                                 run.record_floats, options.spill_dir));
    std::vector<float>& rec = run.record;
    for (size_t first = 0; first < train.size(); first += bb) {
      const size_t count = std::min(bb, train.size() - first);
      RETURN_IF_ERROR(run.Backbone(train.data() + first, count));
      for (size_t i = 0; i < count; ++i) {
        for (size_t f = 0; f < run.sizes.size(); ++f) {
          std::memcpy(rec.data() + run.offsets[f], run.features[f].data() + i * run.sizes[f],
                      run.sizes[f] * sizeof(float));
        }
        RETURN_IF_ERROR(store->Write(first + i, rec.data()));
      }
      teacher_logits.insert(teacher_logits.end(), run.features.back().begin(),
                            run.features.back().begin() + static_cast<std::ptrdiff_t>(count * k));
    }
    result.training_macs += plan.backbone_macs * static_cast<int64_t>(train.size());
    result.cache_seconds = Seconds(fill_start);
  }

  // The teacher, measured on the training images before any head trains (training/prior.h).
  if (options.correct_teacher) {
    if (teacher_logits.empty()) {  // recomputing: one backbone pass for the teacher's logits
      for (size_t first = 0; first < train.size(); first += static_cast<size_t>(run.batch)) {
        const size_t count = std::min(static_cast<size_t>(run.batch), train.size() - first);
        RETURN_IF_ERROR(run.Backbone(train.data() + first, count));
        teacher_logits.insert(teacher_logits.end(), run.features.back().begin(),
                              run.features.back().begin() + static_cast<std::ptrdiff_t>(count * k));
      }
      result.training_macs += plan.backbone_macs * static_cast<int64_t>(train.size());
    }
    std::vector<int32_t> train_labels(train.size());
    for (size_t i = 0; i < train.size(); ++i) {
      train_labels[i] = labels[train[i]] == kUnlabelled ? -1 : labels[train[i]];
    }
    ASSIGN_OR_RETURN(result.teacher, EstimateTeacher(teacher_logits, plan.classes, train_labels,
                                                     options.training_prior, options.prior));
    run.teacher_correction = &result.teacher;
  } else {
    result.teacher = IdentityTeacher(plan.classes);
  }
  teacher_logits = std::vector<float>();
  LossOptions loss_options = options.loss;
  loss_options.distill_weight *= static_cast<float>(result.teacher.trust);
  loss_options.pseudo_label_weight *= static_cast<float>(result.teacher.trust);
  run.objective = std::make_unique<Objective>(loss_options, plan.classes, b);

  for (size_t e = 0; e < plan.exits.size(); ++e) {
    Graph head;
    if (warm != nullptr) {
      head = warm->heads[e];
    } else {
      if (plan.personal_final && e + 1 == plan.exits.size()) {
        result.initial_final_head = *final_copy;
        ShiftClassifierBias(&*result.initial_final_head, result.teacher.logit_shift);
        head = *result.initial_final_head;
      } else {
        ASSIGN_OR_RETURN(head, BuildHead(plan.exits[e], plan.classes, options.seed * 1000 + e));
        if (options.correct_teacher) ShiftClassifierBias(&head, result.teacher.logit_shift);
      }
    }
    ASSIGN_OR_RETURN(auto net, Network::Create(head, run.batch, run.engine->threadpool()));
    ENSURE(net->input_size() == run.sizes[e] && net->output_size() == run.sizes.back(),
           "personalise: head ", e + 1, " does not fit exit '", plan.exits[e].tensor, "'");
    AddOptimizerState(options.optimizer, net->params(), &run.state);
    run.heads.push_back(std::move(net));
  }
  if (warm != nullptr && !warm->optimizer_state.empty()) {
    ENSURE(warm->optimizer_state.size() == run.state.size(),
           "personalise: the warm start's optimiser state does not match this optimiser");
    for (size_t s = 0; s < run.state.size(); ++s) {
      ENSURE(warm->optimizer_state[s].size() == run.state[s].size(),
             "personalise: optimiser state ", s, " has the wrong size");
      run.state[s] = warm->optimizer_state[s];
    }
    run.step = warm->optimizer_step;
  }

  const size_t batches_per_epoch = (train.size() + b - 1) / b;
  const double total_batches = static_cast<double>(batches_per_epoch) * options.epochs;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    const Clock::time_point epoch_start = Clock::now();
    const std::vector<size_t> perm =
        SeededPermutation(train.size(), options.seed + 7919 * (epoch + 1));
    std::vector<size_t> idx(train.size());
    for (size_t i = 0; i < perm.size(); ++i) idx[i] = train[perm[i]];
    double loss = 0.0;
    for (size_t batch = 0; batch < batches_per_epoch; ++batch) {
      const size_t first = batch * b;
      const size_t count = std::min(b, idx.size() - first);
      RETURN_IF_ERROR(CheckCancelled(options));
      if (store) {
        RETURN_IF_ERROR(run.LoadFromStore(*store, perm.data() + first, count));
      } else {
        RETURN_IF_ERROR(run.Backbone(idx.data() + first, count));
        result.training_macs += plan.backbone_macs * static_cast<int64_t>(count);
      }
      const double progress = (epoch * batches_per_epoch + batch) / total_batches;
      loss += run.TrainStep(labels, idx.data() + first, count,
                            ScheduledLearningRate(options, epoch, progress));
      result.training_macs += 3 * head_macs * static_cast<int64_t>(count);
    }
    result.epoch_loss.push_back(loss / static_cast<double>(batches_per_epoch));
    result.epoch_seconds.push_back(Seconds(epoch_start));
    ENSURE_CODE(std::isfinite(result.epoch_loss.back()), kInternal,
                "personalise: the loss diverged in epoch ", epoch + 1,
                " (try a lower learning rate)");
    if (options.on_epoch) {
      const double per_epoch = Seconds(start) / (epoch + 1);
      options.on_epoch(epoch + 1, result.epoch_loss.back(),
                       static_cast<double>(train.size()) / result.epoch_seconds.back(),
                       per_epoch * (options.epochs - epoch - 1));
    }
    RETURN_IF_ERROR(CheckCancelled(options));
  }

  // The heads as they will be stored. Their weights are rounded (int8 rows) here, in the
  // networks too, so that the held-out answers below, and the thresholds calibrated on them,
  // are those of the heads a personalisation file holds.
  for (size_t h = 0; h < run.heads.size(); ++h) {
    Network* net = run.heads[h].get();
    Graph head = net->ExportGraph();
    // The personalised final exit is stored in float32: it replaces the backbone's classifier
    // for every sample that reaches it, and its bytes are few.
    const bool final_exit = plan.personal_final && h + 1 == run.heads.size();
    SetWeightStorage(&head, final_exit ? ParameterStorage::kFloat32 : options.head_storage);
    for (const ParamRef& p : net->params()) {
      ASSIGN_OR_RETURN(const TensorId t, head.FindTensor(p.name));
      std::memcpy(p.data, head.tensor(t).data.data(), p.size * sizeof(float));
    }
    result.heads.push_back(std::move(head));
  }

  // Held-out images: every head's and the final exit's answer, for calibration.
  HeldOut& out = result.held_out;
  out.num_exits = static_cast<int>(plan.exits.size()) + 1;
  const size_t exits = static_cast<size_t>(out.num_exits);
  for (size_t first = 0; first < hold.size(); first += bb) {
    const size_t count = std::min(bb, hold.size() - first);
    RETURN_IF_ERROR(run.Backbone(hold.data() + first, count));
    std::vector<int32_t> pred(count * exits);
    std::vector<float> conf(count * exits), ent(count * exits), held_logits(count * exits * k);
    for (size_t e = 0; e < exits; ++e) {
      const float* logits = run.features.back().data();
      if (e + 1 < exits) {
        RETURN_IF_ERROR(run.heads[e]->Forward(run.features[e].data(), static_cast<int64_t>(count)));
        logits = run.heads[e]->output();
      }
      loss_config().confidence(count, k, logits, run.max_prob.data(), run.entropy.data(),
                               run.teacher.data());
      for (size_t i = 0; i < count; ++i) {
        std::copy_n(logits + i * k, k,
                    held_logits.begin() + static_cast<std::ptrdiff_t>((i * exits + e) * k));
      }
      for (size_t i = 0; i < count; ++i) {
        pred[i * exits + e] = run.teacher[i];
        conf[i * exits + e] = run.max_prob[i];
        ent[i * exits + e] = run.entropy[i];
      }
    }
    for (size_t i = 0; i < count; ++i) {
      const uint8_t label = labels[hold[first + i]];
      out.labels.push_back(label == kUnlabelled ? -1 : label);
    }
    out.prediction.insert(out.prediction.end(), pred.begin(), pred.end());
    out.max_prob.insert(out.max_prob.end(), conf.begin(), conf.end());
    out.entropy.insert(out.entropy.end(), ent.begin(), ent.end());
    out.logits.insert(out.logits.end(), held_logits.begin(), held_logits.end());
  }

  result.optimizer_state = std::move(run.state);
  result.optimizer_step = run.step;
  result.seconds = Seconds(start);
  return result;
}

}  // namespace persephonee
