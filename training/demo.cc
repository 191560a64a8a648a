#include "training/demo.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <utility>

#include "engine/engine.h"
#include "graph/flops.h"
#include "training/assemble.h"
#include "training/calibration.h"
#include "training/early_exit.h"
#include "training/exits.h"
#include "training/finetune.h"
#include "training/network.h"
#include "training/personalisation.h"

namespace persephonee {
namespace {

using Clock = std::chrono::steady_clock;
constexpr float kOff = std::numeric_limits<float>::infinity();

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

Status CheckSplit(const IdxArray& images, const IdxArray& labels, uint32_t count,
                  const std::string& what) {
  ENSURE(images.dims.size() == 3 && images.dims[0] == count && images.dims[1] == 28 &&
             images.dims[2] == 28,
         what, ": expected ", count, " images of 28x28");
  ENSURE(labels.dims.size() == 1 && labels.dims[0] == count, what, ": expected ", count, " labels");
  for (size_t i = 0; i < labels.data.size(); ++i) {
    ENSURE(labels.data[i] < kNumClasses, what, ": label ", static_cast<int>(labels.data[i]),
           " of record ", i, " is not a Fashion-MNIST class");
  }
  return Status::Ok();
}

// Measures a method's memory: the growth of the peak resident set over the resident set at the
// start (the peak is reset first).
class MemoryProbe {
 public:
  MemoryProbe() {
    ReleaseFreeHeap();
    ResetPeakRss();
    start_ = CurrentRssBytes();
  }
  double GrowthBytes() const {
    const size_t peak = PeakRssBytes();
    return peak > start_ ? static_cast<double>(peak - start_) : 0.0;
  }

 private:
  size_t start_ = 0;
};

// The logits of every exit (heads in order, then the final exit) on `images` (n × image floats).
StatusOr<std::vector<std::vector<float>>> ExitLogits(const Graph& optimized, const ExitPlan& plan,
                                                     const std::vector<Graph>& heads,
                                                     const std::vector<float>& images, size_t n,
                                                     int threads) {
  const int64_t batch = 100;
  EngineOptions eo;
  eo.batch = batch;
  eo.threads = threads;
  eo.optimize = false;
  for (const ExitPoint& e : plan.exits) eo.keep.push_back(e.tensor);
  eo.keep.push_back(plan.output_tensor);
  ASSIGN_OR_RETURN(auto engine, Engine::Create(optimized, eo));
  std::vector<std::unique_ptr<Network>> nets;
  for (const Graph& h : heads) {
    ASSIGN_OR_RETURN(auto net, Network::Create(h, batch, engine->threadpool()));
    nets.push_back(std::move(net));
  }
  std::vector<const float*> kept;
  std::vector<size_t> sizes;
  for (const std::string& name : eo.keep) {
    ASSIGN_OR_RETURN(const float* p, engine->TensorData(name));
    ASSIGN_OR_RETURN(TensorId t, engine->graph().FindTensor(name));
    kept.push_back(p);
    sizes.push_back(static_cast<size_t>(NumElements(engine->graph().tensor(t).shape) / batch));
  }
  const size_t image = images.size() / std::max<size_t>(n, 1);
  const size_t classes = static_cast<size_t>(plan.classes);
  std::vector<std::vector<float>> logits(kept.size(), std::vector<float>(n * classes));
  for (size_t first = 0; first < n; first += batch) {
    const size_t count = std::min<size_t>(batch, n - first);
    float* in = engine->input();
    std::copy_n(images.begin() + static_cast<std::ptrdiff_t>(first * image), count * image, in);
    std::fill(in + count * image, in + batch * image, 0.0f);
    RETURN_IF_ERROR(engine->Run());
    for (size_t e = 0; e < kept.size(); ++e) {
      const float* out = kept[e];
      if (e < nets.size()) {
        RETURN_IF_ERROR(nets[e]->Forward(kept[e], static_cast<int64_t>(count)));
        out = nets[e]->output();
      }
      std::copy_n(out, count * classes, logits[e].begin() + first * classes);
    }
  }
  return logits;
}

// Top-1 accuracy of a whole model on `images` (n × image floats).
StatusOr<double> ModelAccuracy(const Graph& model, const std::vector<float>& images,
                               const std::vector<uint8_t>& labels, int threads) {
  ExitPlan none;
  ASSIGN_OR_RETURN(Graph optimized, OptimizeBackbone(model));
  const NodeId last = optimized.num_nodes() - 1;
  const Node& node = optimized.node(last);
  const TensorId out = node.op == OpType::kSoftmax ? node.inputs[0] : node.output;
  none.output_tensor = optimized.tensor(out).name;
  none.classes = static_cast<int>(optimized.tensor(out).shape.back());
  ASSIGN_OR_RETURN(auto logits, ExitLogits(optimized, none, {}, images, labels.size(), threads));
  size_t correct = 0;
  const size_t k = static_cast<size_t>(none.classes);
  for (size_t i = 0; i < labels.size(); ++i) {
    const float* row = logits[0].data() + i * k;
    correct += static_cast<size_t>(std::max_element(row, row + k) - row) == labels[i];
  }
  return static_cast<double>(correct) / static_cast<double>(labels.size());
}

std::vector<float> Scaled(const std::vector<uint8_t>& pixels) {
  std::vector<float> out(pixels.size());
  for (size_t i = 0; i < pixels.size(); ++i) out[i] = pixels[i] * (1.0f / 255.0f);
  return out;
}

// Mean MACs per image of early-exit inference with `thresholds` given how many images left at
// each exit: the backbone up to the exit plus every switched-on head on the way (EarlyExitModel
// does not compute a head whose threshold is +inf).
double InferenceMacs(const ExitPlan& plan, const std::vector<float>& thresholds,
                     const std::vector<int64_t>& exit_counts) {
  double total = 0;
  int64_t samples = 0;
  for (size_t e = 0; e < exit_counts.size(); ++e) {
    double macs = static_cast<double>(e < plan.exits.size() ? plan.exits[e].backbone_macs
                                                            : plan.backbone_macs);
    for (size_t h = 0; h <= e && h < plan.exits.size(); ++h) {
      if (!std::isinf(thresholds[h]) || thresholds[h] < 0) {
        macs += static_cast<double>(plan.exits[h].head_macs);
      }
    }
    total += macs * static_cast<double>(exit_counts[e]);
    samples += exit_counts[e];
  }
  return samples > 0 ? total / static_cast<double>(samples) : 0.0;
}

DemoPoint PointOf(const OperatingPoint& p) {
  DemoPoint d;
  d.thresholds = p.thresholds;
  d.accuracy = p.accuracy;
  d.mean_macs = p.mean_macs;
  d.exit_counts = p.exit_counts;
  return d;
}

// Times the points' thresholds on the first `count` images, image by image in turn (so that
// the machine's drift affects them alike): mean milliseconds per image, per point.
StatusOr<std::vector<double>> TimePoints(EarlyExitModel* model,
                                         const std::vector<std::vector<float>>& thresholds,
                                         const std::vector<float>& images, size_t count) {
  const size_t image = model->image_size();
  std::vector<double> total(thresholds.size(), 0.0);
  for (size_t i = 0; i < count; ++i) {
    for (size_t p = 0; p < thresholds.size(); ++p) {
      RETURN_IF_ERROR(model->SetThresholds(thresholds[p]));
      const Clock::time_point start = Clock::now();
      ASSIGN_OR_RETURN(ExitAnswer answer, model->Infer(images.data() + i * image));
      total[p] += Seconds(start);
      (void)answer;
    }
  }
  for (double& t : total) t = 1e3 * t / static_cast<double>(std::max<size_t>(count, 1));
  return total;
}

Spread SpreadOf(const std::vector<double>& v) {
  Spread s;
  s.n = v.size();
  if (v.empty()) return s;
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  double sq = 0;
  for (double x : v) sq += (x - s.mean) * (x - s.mean);
  s.stddev = v.size() > 1 ? std::sqrt(sq / static_cast<double>(v.size() - 1)) : 0.0;
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  return s;
}

std::string FractionName(double f) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g%%", 100 * f);
  return buf;
}

std::string Fixed(const char* format, double a, double b = 0) {
  char buf[128];
  std::snprintf(buf, sizeof(buf), format, a, b);
  return buf;
}

}  // namespace

StatusOr<FashionMnist> LoadFashionMnist(const std::string& dir) {
  FashionMnist d;
  ASSIGN_OR_RETURN(d.train_images, ReadIdx(dir + "/train-images-idx3-ubyte.gz"));
  ASSIGN_OR_RETURN(d.train_labels, ReadIdx(dir + "/train-labels-idx1-ubyte.gz"));
  ASSIGN_OR_RETURN(d.test_images, ReadIdx(dir + "/t10k-images-idx3-ubyte.gz"));
  ASSIGN_OR_RETURN(d.test_labels, ReadIdx(dir + "/t10k-labels-idx1-ubyte.gz"));
  RETURN_IF_ERROR(CheckSplit(d.train_images, d.train_labels, 60000, dir + " (train)"));
  RETURN_IF_ERROR(CheckSplit(d.test_images, d.test_labels, 10000, dir + " (t10k)"));
  return d;
}

StatusOr<DemoResults> RunDemo(const Graph& backbone, const FashionMnist& data,
                              const DemoOptions& o) {
  const Clock::time_point start = Clock::now();
  ENSURE(o.users >= 1, "demo: at least one user");
  ENSURE(!o.label_fractions.empty(), "demo: no label fractions");
  ENSURE(o.latency_images >= 1, "demo: latency_images must be at least 1");
  const Shape& in = backbone.tensor(backbone.inputs().at(0)).shape;
  ENSURE(in.size() == 4 && in[1] == 28 && in[2] == 28 && in[3] == 1,
         "demo: the backbone must read 28x28x1 images, not ", ShapeToString(in));
  DemoResults results;
  results.options = o;
  results.options.on_progress = nullptr;
  ASSIGN_OR_RETURN(Graph optimized, OptimizeBackbone(backbone));
  results.backbone_macs = ComputeGraphCost(optimized).total.macs;
  ASSIGN_OR_RETURN(ExitPlan plan, PlaceExitsByFraction(optimized, EvenFractions(o.exits)));
  RETURN_IF_ERROR(AddPersonalFinalExit(optimized, &plan));
  for (const ExitPoint& e : plan.exits) {
    results.exit_names.push_back(e.name);
    results.exit_fractions.push_back(e.flop_fraction);
  }
  results.exit_names.push_back("final");
  const std::vector<int64_t> exit_macs = ExitMacs(plan);
  {
    const size_t n = std::min<size_t>(o.backbone_test_images, data.test_labels.data.size());
    ENSURE(n >= 1, "demo: backbone_test_images must be at least 1");
    std::vector<uint8_t> pixels(
        data.test_images.data.begin(),
        data.test_images.data.begin() + static_cast<std::ptrdiff_t>(n * 784));
    std::vector<uint8_t> labels(data.test_labels.data.begin(),
                                data.test_labels.data.begin() + static_cast<std::ptrdiff_t>(n));
    ASSIGN_OR_RETURN(results.backbone_accuracy,
                     ModelAccuracy(backbone, Scaled(pixels), labels, o.threads));
  }
  const std::string hash = BackboneHash(backbone);

  LabelledImages pool;
  pool.images = data.train_images.data.data();
  pool.labels = data.train_labels.data.data();
  pool.count = data.train_images.dims[0];
  pool.height = pool.width = 28;
  pool.begin = kFashionMnistPoolBegin;
  pool.end = kFashionMnistPoolEnd;
  LabelledImages test;
  test.images = data.test_images.data.data();
  test.labels = data.test_labels.data.data();
  test.count = data.test_images.dims[0];
  test.height = test.width = 28;

  const size_t total = static_cast<size_t>(o.users) * o.label_fractions.size();
  size_t done = 0;
  for (int u = 0; u < o.users; ++u) {
    const uint64_t seed = o.first_seed + static_cast<uint64_t>(u);
    ASSIGN_OR_RETURN(UserSpec spec, MakeUser(seed, static_cast<UserFamily>(o.family)));
    for (double fraction : o.label_fractions) {
      auto progress = [&](const char* what) {
        if (o.on_progress) {
          o.on_progress(
              done, total,
              "user " + std::to_string(seed) + ", " + FractionName(fraction) + " labels: " + what);
        }
      };
      progress("data");
      UserDataOptions udo;
      udo.n_train = o.train_images;
      udo.n_test = o.test_images;
      udo.label_fraction = fraction;
      ASSIGN_OR_RETURN(UserData user, BuildUserData(spec, pool, test, udo));
      DemoRun run;
      run.user = seed;
      run.classes = spec.classes;
      run.proportions = spec.proportions;
      run.label_fraction = fraction;
      for (uint8_t l : user.train_labels) run.labelled += l != kUnlabelled ? 1 : 0;
      const MemoryImageSource images(user.train_images, 28 * 28);
      const std::vector<float> test_x = Scaled(user.test_images);

      // The exits: personalise, calibrate on the held-out on-device images.
      progress("exits");
      PersonaliseResult r;
      {
        const MemoryProbe probe;
        ASSIGN_OR_RETURN(r, Personalise(backbone, plan, images, user.train_labels, o.personalise));
        run.exits.peak_memory_bytes = probe.GrowthBytes();
      }
      ENSURE_CODE(r.plan.exits.size() == plan.exits.size(), kInternal,
                  "demo: personalisation dropped an exit: ", r.dropped_personal_final);
      run.exits.train_seconds = r.seconds;
      run.exits.train_macs = static_cast<double>(r.training_macs);
      run.exits.epoch_loss = r.epoch_loss;
      run.cache = r.budget.explanation;
      ASSIGN_OR_RETURN(CalibrationDecision cal,
                       DecideAndCalibrate(&r, ConfidenceMeasure::kMaxSoftmax, o.guarantee));
      run.exits_on = cal.guarantee.exits_on;
      run.guarantee_bound = cal.guarantee.bound;
      run.teacher_trust = r.teacher.trust;
      run.final_trained = cal.final_trained;

      // Every exit on the test set, and the test-set front.
      progress("evaluation");
      ASSIGN_OR_RETURN(auto logits,
                       ExitLogits(optimized, plan, r.heads, test_x, user.num_test(), o.threads));
      std::vector<int32_t> test_labels(user.test_labels.begin(), user.test_labels.end());
      ASSIGN_OR_RETURN(ExitObservations obs,
                       ObservationsFromLogits(logits, plan.classes, ConfidenceMeasure::kMaxSoftmax,
                                              exit_macs, test_labels));
      for (int e = 0; e < obs.num_exits; ++e) {
        size_t correct = 0;
        for (int64_t i = 0; i < obs.num_samples; ++i) {
          correct += obs.prediction(i, e) == test_labels[static_cast<size_t>(i)];
        }
        run.exit_accuracy.push_back(static_cast<double>(correct) /
                                    static_cast<double>(obs.num_samples));
        run.exit_macs.push_back(static_cast<double>(exit_macs[static_cast<size_t>(e)]));
      }
      ASSIGN_OR_RETURN(OperatingPoint at_cal,
                       SimulateEarlyExit(obs, cal.thresholds, AccuracyReference::kLabels));
      run.calibrated = PointOf(at_cal);
      {  // The third baseline: the original model with the prior correction alone.
        const size_t k = static_cast<size_t>(plan.classes);
        const std::vector<float>& final_logits = logits.back();
        size_t correct = 0;
        std::vector<float> row(k);
        for (size_t i = 0; i < user.num_test(); ++i) {
          for (size_t j = 0; j < k; ++j)
            row[j] = final_logits[i * k + j] + r.teacher.logit_shift[j];
          correct += static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin()) ==
                     test_labels[i];
        }
        run.prior_corrected.accuracy =
            static_cast<double>(correct) / static_cast<double>(user.num_test());
        run.prior_corrected.mean_macs = static_cast<double>(results.backbone_macs);
      }
      CalibrationOptions front_options;
      front_options.epsilon = 0.0;
      front_options.reference = AccuracyReference::kLabels;
      ASSIGN_OR_RETURN(CalibrationResult front, CalibrateThresholds(obs, front_options));
      const OperatingPoint& original = front.final_only;
      run.original.accuracy = original.accuracy;
      run.original.mean_macs = static_cast<double>(results.backbone_macs);
      // The front, re-costed as the early-exit model runs it (a switched-off head costs
      // nothing) and filtered again.
      std::vector<DemoPoint> points;
      for (const CurvePoint& c : front.curve) {
        ASSIGN_OR_RETURN(OperatingPoint p,
                         SimulateEarlyExit(obs, c.thresholds, AccuracyReference::kLabels));
        points.push_back(PointOf(p));
        points.back().mean_macs = InferenceMacs(plan, p.thresholds, p.exit_counts);
      }
      std::stable_sort(points.begin(), points.end(), [](const DemoPoint& a, const DemoPoint& b) {
        return a.mean_macs < b.mean_macs;
      });
      for (DemoPoint& p : points) {
        if (!run.curve.empty() && p.mean_macs == run.curve.back().mean_macs &&
            p.accuracy > run.curve.back().accuracy) {
          run.curve.pop_back();
        }
        if (run.curve.empty() || p.accuracy > run.curve.back().accuracy) {
          run.curve.push_back(std::move(p));
        }
      }
      run.calibrated.mean_macs =
          InferenceMacs(plan, run.calibrated.thresholds, run.calibrated.exit_counts);
      DemoPoint all_off;
      all_off.thresholds.assign(plan.exits.size(), kOff);
      all_off.accuracy = original.accuracy;
      all_off.mean_macs = run.original.mean_macs;
      all_off.exit_counts = original.exit_counts;
      run.equal_accuracy = all_off;
      run.best = all_off;
      run.best_within_original_cost = all_off;
      bool have_equal = false;
      for (const DemoPoint& p : run.curve) {
        if (!have_equal && p.accuracy >= original.accuracy && p.mean_macs <= all_off.mean_macs) {
          run.equal_accuracy = p;
          have_equal = true;
        }
        if (p.mean_macs <= all_off.mean_macs &&
            p.accuracy > run.best_within_original_cost.accuracy) {
          run.best_within_original_cost = p;
        }
        if (p.accuracy > run.best.accuracy) run.best = p;
      }
      run.exits.accuracy = run.calibrated.accuracy;
      run.exits.mean_macs = run.calibrated.mean_macs;

      // Latency, batch 1, one thread: the original model and the exits' points, interleaved.
      progress("latency");
      {
        ASSIGN_OR_RETURN(Personalisation p,
                         MakePersonalisation(hash, r, o.personalise.optimizer,
                                             ConfidenceMeasure::kMaxSoftmax, cal.thresholds, {}));
        ASSIGN_OR_RETURN(auto model, EarlyExitModel::Create(backbone, p, 1));
        const std::vector<std::vector<float>> points = {
            std::vector<float>(plan.exits.size(), kOff), run.calibrated.thresholds,
            run.equal_accuracy.thresholds, run.best.thresholds,
            run.best_within_original_cost.thresholds};
        ASSIGN_OR_RETURN(
            std::vector<double> ms,
            TimePoints(model.get(), points, test_x, std::min(o.latency_images, user.num_test())));
        run.original.latency_ms = ms[0];
        run.calibrated.latency_ms = ms[1];
        run.exits.latency_ms = ms[1];
        run.equal_accuracy.latency_ms = ms[2];
        run.best.latency_ms = ms[3];
        run.best_within_original_cost.latency_ms = ms[4];
      }

      // The baselines, with the same objective, split, epochs and labels.
      const std::pair<FineTuneScope, MethodResult*> baselines[] = {
          {FineTuneScope::kWholeNetwork, &run.whole},
          {FineTuneScope::kClassifier, &run.classifier}};
      for (const auto& [scope, out] : baselines) {
        if (!o.baselines) break;
        progress(scope == FineTuneScope::kWholeNetwork ? "whole-network fine-tuning"
                                                       : "classifier fine-tuning");
        PersonaliseOptions fo = o.personalise;
        fo.on_epoch = nullptr;
        if (scope == FineTuneScope::kWholeNetwork) {
          fo.optimizer = OptimizerKind::kSgd;
          fo.learning_rate = o.whole_learning_rate;
        } else {
          fo.learning_rate = o.classifier_learning_rate;
        }
        FineTuneResult ft;
        {
          const MemoryProbe probe;
          ASSIGN_OR_RETURN(ft, FineTune(backbone, scope, images, user.train_labels, fo));
          out->peak_memory_bytes = probe.GrowthBytes();
        }
        out->train_seconds = ft.seconds;
        out->train_macs = static_cast<double>(ft.training_macs);
        out->epoch_loss = ft.epoch_loss;
        ASSIGN_OR_RETURN(out->accuracy,
                         ModelAccuracy(ft.model, test_x, user.test_labels, o.threads));
        out->mean_macs = run.original.mean_macs;    // the same architecture
        out->latency_ms = run.original.latency_ms;  // and so the same latency
      }
      results.runs.push_back(std::move(run));
      ++done;
    }
  }
  if (o.on_progress) o.on_progress(done, total, "done");
  results.seconds = Seconds(start);
  Summarise(&results);
  return results;
}

void Summarise(DemoResults* results) {
  results->summaries.clear();
  results->claims.clear();
  std::vector<double> fractions;
  for (const DemoRun& r : results->runs) {
    if (std::find(fractions.begin(), fractions.end(), r.label_fraction) == fractions.end()) {
      fractions.push_back(r.label_fraction);
    }
  }
  for (double f : fractions) {
    std::vector<double> orig, cal, cal_gain, cal_speed, eq_speed, eq_macs, best_gain, within_gain,
        within_speed, whole, classifier, cost, memory, prior, cal_macs, closed;
    size_t below1 = 0, below3 = 0, on = 0;
    for (const DemoRun& r : results->runs) {
      if (r.label_fraction != f) continue;
      const double o = r.original.accuracy;
      orig.push_back(100 * o);
      cal.push_back(100 * r.calibrated.accuracy);
      cal_gain.push_back(100 * (r.calibrated.accuracy - o));
      cal_speed.push_back(r.original.latency_ms / r.calibrated.latency_ms);
      eq_speed.push_back(r.original.latency_ms / r.equal_accuracy.latency_ms);
      eq_macs.push_back(r.original.mean_macs / r.equal_accuracy.mean_macs);
      best_gain.push_back(100 * (r.best.accuracy - o));
      within_gain.push_back(100 * (r.best_within_original_cost.accuracy - o));
      within_speed.push_back(r.original.latency_ms / r.best_within_original_cost.latency_ms);
      whole.push_back(100 * r.whole.accuracy);
      classifier.push_back(100 * r.classifier.accuracy);
      prior.push_back(100 * r.prior_corrected.accuracy);
      cal_macs.push_back(r.original.mean_macs / r.calibrated.mean_macs);
      closed.push_back(o < 1.0 ? (r.calibrated.accuracy - o) / (1.0 - o) : 0.0);
      below1 += r.calibrated.accuracy < o - 0.01 ? 1 : 0;
      below3 += r.calibrated.accuracy < o - 0.03 ? 1 : 0;
      on += r.exits_on ? 1 : 0;
      cost.push_back(r.whole.train_seconds / r.exits.train_seconds);
      memory.push_back(r.exits.peak_memory_bytes > 0
                           ? r.whole.peak_memory_bytes / r.exits.peak_memory_bytes
                           : 0.0);
    }
    DemoSummary s;
    s.label_fraction = f;
    s.original_accuracy = SpreadOf(orig);
    s.calibrated_accuracy = SpreadOf(cal);
    s.calibrated_gain = SpreadOf(cal_gain);
    s.calibrated_speedup = SpreadOf(cal_speed);
    s.equal_accuracy_speedup = SpreadOf(eq_speed);
    s.equal_accuracy_mac_ratio = SpreadOf(eq_macs);
    s.best_gain = SpreadOf(best_gain);
    s.gain_within_original_cost = SpreadOf(within_gain);
    s.within_original_cost_speedup = SpreadOf(within_speed);
    s.whole_accuracy = SpreadOf(whole);
    s.classifier_accuracy = SpreadOf(classifier);
    s.prior_corrected_accuracy = SpreadOf(prior);
    s.calibrated_mac_ratio = SpreadOf(cal_macs);
    s.close_fraction = SpreadOf(closed);
    s.users_below_1 = below1;
    s.users_below_3 = below3;
    s.exits_on = on;
    s.cost_ratio_whole = SpreadOf(cost);
    s.memory_ratio_whole = SpreadOf(memory);
    results->summaries.push_back(s);
  }

  auto claim = [&](std::string fraction, std::string what, std::string paper, std::string target,
                   std::string measured, bool met) {
    results->claims.push_back({std::move(fraction), std::move(what), std::move(paper),
                               std::move(target), std::move(measured), met});
  };
  claim("all",
        results->options.backbone_test_images >= 10000
            ? "backbone accuracy on the 10k test split"
            : "backbone accuracy on the first " +
                  std::to_string(results->options.backbone_test_images) + " test images",
        "-", ">= 92.0%", Fixed("%.2f%%", 100 * results->backbone_accuracy),
        results->backbone_accuracy >= 0.92);
  // The robust-personalisation targets, at the calibrated thresholds (no test image involved).
  for (const DemoSummary& s : results->summaries) {
    const std::string name = FractionName(s.label_fraction);
    const double gain = s.calibrated_gain.mean;
    const double macs = s.calibrated_mac_ratio.mean;
    if (s.label_fraction == 0.0) {
      claim(name, "calibrated: mean gain at no more MACs than the original", "-",
            ">= +3 points, >= 1.00x fewer MACs", Fixed("%+.2f points, %.2fx", gain, macs),
            gain >= 3 && macs >= 1.0);
    } else if (std::abs(s.label_fraction - 0.1) < 1e-9) {
      claim(name, "calibrated: mean gain with fewer MACs", "-",
            ">= +12 points at >= 2.2x, or >= 3.2x at >= +0",
            Fixed("%+.2f points, %.2fx", gain, macs),
            (gain >= 12 && macs >= 2.2) || (macs >= 3.2 && gain >= 0));
    } else if (s.label_fraction == 1.0) {
      claim(name, "calibrated: share of the original's errors closed, fewer MACs", "-",
            ">= 75% at >= 2.2x",
            Fixed("%.1f%%, %.2fx", 100 * (gain / std::max(1e-9, 100 - s.original_accuracy.mean)),
                  macs),
            gain >= 0.75 * (100 - s.original_accuracy.mean) && macs >= 2.2);
    }
    claim(name, "calibrated exits beat the original with the prior correction alone", "-",
          "> prior-corrected",
          Fixed("%.1f%% vs %.1f%%", s.calibrated_accuracy.mean, s.prior_corrected_accuracy.mean),
          s.calibrated_accuracy.mean > s.prior_corrected_accuracy.mean);
    char users[96];
    std::snprintf(users, sizeof(users), "%zu of %zu > 1 point below, %zu > 3 below",
                  s.users_below_1, s.calibrated_gain.n, s.users_below_3);
    claim(name, "never worse: users more than 1 / 3 points below the original", "-",
          "<= 1 in 10, none", users,
          s.users_below_1 * 10 <= s.calibrated_gain.n && s.users_below_3 == 0);
  }
  for (const DemoSummary& s : results->summaries) {
    const std::string name = FractionName(s.label_fraction);
    if (s.label_fraction == 0.0) {
      claim(name, "accuracy gain at no more than the original's MACs (test-set front), latency",
            "-", "> 0 points, >= 1.00x",
            Fixed("%+.2f points, %.2fx", s.gain_within_original_cost.mean,
                  s.within_original_cost_speedup.mean),
            s.gain_within_original_cost.mean > 0 && s.within_original_cost_speedup.mean >= 1.0);
      claim(name, "accuracy gain at calibrated thresholds, latency no higher", "-",
            "> 0 points, >= 1.00x",
            Fixed("%+.2f points, %.2fx", s.calibrated_gain.mean, s.calibrated_speedup.mean),
            s.calibrated_gain.mean > 0 && s.calibrated_speedup.mean >= 1.0);
    } else if (std::abs(s.label_fraction - 0.1) < 1e-9) {
      claim(name, "lower latency at equal accuracy (test-set front, measured)", "2.2-3.2x",
            ">= 3.2x", Fixed("%.2fx", s.equal_accuracy_speedup.mean),
            s.equal_accuracy_speedup.mean >= 3.2);
      claim(name, "lower latency at calibrated thresholds, accuracy no lower", "2.2-3.2x",
            ">= 3.2x, >= +0 points",
            Fixed("%.2fx, %+.2f points", s.calibrated_speedup.mean, s.calibrated_gain.mean),
            s.calibrated_speedup.mean >= 3.2 && s.calibrated_gain.mean >= 0);
      claim(name, "cheaper to personalise than whole-network fine-tuning (wall time)", "up to 2.2x",
            ">= 2.2x", Fixed("%.2fx", s.cost_ratio_whole.mean), s.cost_ratio_whole.mean >= 2.2);
      claim(name, "... at no lower accuracy (exits' best vs whole network)", "-", ">= whole",
            Fixed("%.1f%% vs %.1f%%", s.original_accuracy.mean + s.best_gain.mean,
                  s.whole_accuracy.mean),
            s.original_accuracy.mean + s.best_gain.mean >= s.whole_accuracy.mean);
    } else if (s.label_fraction == 1.0) {
      claim(name, "accuracy gain (best point of the test-set front)", "up to +15.9 points",
            ">= +15.9 points", Fixed("%+.2f points", s.best_gain.mean), s.best_gain.mean >= 15.9);
      claim(name, "accuracy gain at calibrated thresholds", "up to +15.9 points", ">= +15.9 points",
            Fixed("%+.2f points", s.calibrated_gain.mean), s.calibrated_gain.mean >= 15.9);
    }
  }
}

}  // namespace persephonee
