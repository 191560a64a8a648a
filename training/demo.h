// The Fashion-MNIST demo: personalise early exits for simulated users and measure what the
// PersEPhonEE paper (arXiv 2102.01393) claims, against the original model and two fine-tuning
// baselines.
//
// For each user (training/users.h) and label fraction, on the user's n on-device images:
//   original    the pretrained backbone as it is: accuracy of its final exit on the user's test
//               set, MACs and measured latency per image.
//   exits       Personalise (training/personalise.h) trains the heads within the memory budget;
//               thresholds are calibrated on the held-out part of the on-device images
//               (labels where the user gave some, else agreement with the final exit), so no
//               test image is involved in any choice. On the test set: each exit's accuracy, the
//               early-exit model's accuracy, mean MACs, measured latency and exit histogram at
//               the calibrated thresholds.
//   curve       The accuracy/MACs front of the exits on the user's test set (every threshold
//               setting the calibration search explores, Pareto-filtered, with the test labels),
//               as the paper's accuracy-latency plots are drawn. From it: the cheapest point at
//               accuracy no lower than the original's ("equal accuracy"), the most accurate point
//               ("best"), and the most accurate point no more expensive than the original. Its
//               thresholds are run and timed like the calibrated ones. Because these points are
//               read off the test set, they are the paper's kind of figure; the calibrated point
//               is what a device would actually run.
//   whole       Fine-tuning the whole network (training/finetune.h) with the same objective,
//               split, epochs and labels: test accuracy, wall time, MACs, peak memory.
//   classifier  Fine-tuning only the final classifier, the same way.
// Memory is measured as the growth of the process's peak resident set (VmHWM, reset through
// /proc/self/clear_refs before each method) over its resident set when the method started, so
// the data the demo itself holds is not counted against any method.
#ifndef PERSEPHONEE_TRAINING_DEMO_H_
#define PERSEPHONEE_TRAINING_DEMO_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/idx.h"
#include "base/status.h"
#include "graph/graph.h"
#include "training/guarantee.h"
#include "training/personalise.h"
#include "training/users.h"

namespace persephonee {

struct DemoOptions {
  int users = 20;
  uint64_t first_seed = 1;  ///< Users first_seed .. first_seed + users - 1.
  /// Which family of simulated users (training/users.h): 1, the users the method was tuned on,
  /// or 2, the held-out family, for reporting only.
  int family = 1;
  std::vector<double> label_fractions = {0.0, 0.1, 1.0};
  size_t train_images = 500;  ///< On-device images per user.
  size_t test_images = 500;   ///< Held-out test images per user.
  int exits = 4;              ///< Placed at even fractions of the backbone's FLOPs.
  int threads = 2;
  size_t latency_images = 200;  ///< Test images timed per operating point (batch 1).
  /// Images of the 10k test split the backbone's own accuracy is measured on (from the first).
  size_t backbone_test_images = 10000;
  /// The heads' training (and, with learning rates of their own below, the baselines'). The
  /// demo trains 5 epochs (`persephonee personalise` defaults to 10): on 2 cores the
  /// whole-network baseline at 10 epochs alone would take most of the 10 minutes the demo has.
  PersonaliseOptions personalise = [] {
    PersonaliseOptions o;
    o.epochs = 5;
    return o;
  }();
  /// The calibration's guarantee (training/guarantee.h).
  GuaranteeOptions guarantee;
  /// Run the two fine-tuning baselines (false: a quicker look without them).
  bool baselines = true;
  float whole_learning_rate = 0.01f;  ///< SGD with momentum for the whole network.
  float classifier_learning_rate = 3e-3f;
  /// Called when a step starts: done of total steps, and what runs.
  std::function<void(size_t done, size_t total, const std::string& what)> on_progress;
};

/// One method's outcome on one user's test set.
struct MethodResult {
  double accuracy = 0;       ///< On the user's test set.
  double mean_macs = 0;      ///< Per test image.
  double latency_ms = 0;     ///< Mean per image at batch 1, measured.
  double train_seconds = 0;  ///< Wall time of the personalisation (0 for the original).
  double train_macs = 0;
  double peak_memory_bytes = 0;    ///< Growth of the peak resident set (see above).
  std::vector<double> epoch_loss;  ///< Training curve.
};

/// An operating point of the exits on the test set.
struct DemoPoint {
  std::vector<float> thresholds;  ///< One per head (+inf: off).
  double accuracy = 0;
  double mean_macs = 0;
  double latency_ms = 0;             ///< Measured; 0 where not timed.
  std::vector<int64_t> exit_counts;  ///< Test images answered at each exit (final last).
};

struct DemoRun {
  uint64_t user = 0;
  std::vector<int> classes;
  std::vector<double> proportions;
  double label_fraction = 0;
  size_t labelled = 0;  ///< On-device images with a label.
  MethodResult original;
  MethodResult exits;  ///< At the calibrated thresholds; train_* is Personalise's cost.
  std::vector<double> exit_accuracy;  ///< Each exit alone on the test set (final last).
  std::vector<double> exit_macs;      ///< MACs of answering at each exit (final last).
  DemoPoint calibrated;
  std::vector<DemoPoint> curve;         ///< Test-set front, by increasing MACs (not timed).
  DemoPoint equal_accuracy;             ///< Cheapest with accuracy >= original's (timed).
  DemoPoint best;                       ///< Most accurate (timed).
  DemoPoint best_within_original_cost;  ///< Most accurate with MACs <= original's (timed).
  MethodResult whole;
  MethodResult classifier;
  /// The original model with the user's prior (as Personalise estimated it) added to its logits:
  /// no training, no weight changed.
  MethodResult prior_corrected;
  bool exits_on = false;       ///< The guaranteed calibration switched the early exits on.
  double guarantee_bound = 0;  ///< The loss bound it reached.
  double teacher_trust = 1;    ///< Trust measured in the teacher.
  bool final_trained = false;  ///< The trained personalised final exit was kept.
  std::string cache;           ///< The personalisation planner's feature-cache choice.
};

/// Summary statistics over users, per label fraction.
struct Spread {
  double mean = 0, stddev = 0, min = 0, max = 0;
  size_t n = 0;
};

struct DemoSummary {
  double label_fraction = 0;
  Spread original_accuracy;
  Spread calibrated_accuracy;
  Spread calibrated_gain;               ///< Points: calibrated - original.
  Spread calibrated_speedup;            ///< Original latency / calibrated latency.
  Spread equal_accuracy_speedup;        ///< Original latency / equal-accuracy point's latency.
  Spread equal_accuracy_mac_ratio;      ///< Original MACs / equal-accuracy point's MACs.
  Spread best_gain;                     ///< Points: best - original.
  Spread gain_within_original_cost;     ///< Points: best at MACs <= original's - original.
  Spread within_original_cost_speedup;  ///< Original latency / that point's latency.
  Spread whole_accuracy;
  Spread classifier_accuracy;
  Spread prior_corrected_accuracy;
  Spread calibrated_mac_ratio;  ///< Original MACs / calibrated point's MACs.
  size_t users_below_1 = 0;     ///< Users whose calibrated accuracy is > 1 point below original.
  size_t users_below_3 = 0;     ///< ... > 3 points below.
  size_t exits_on = 0;          ///< Users whose early exits the calibration switched on.
  Spread close_fraction;        ///< Gain / (100 - original accuracy): errors closed.
  Spread cost_ratio_whole;      ///< Whole-network wall time / exits' wall time.
  Spread memory_ratio_whole;    ///< Whole-network peak memory / exits' peak memory.
};

/// One claim of the paper (or of the targets) and whether this run met it.
struct DemoClaim {
  std::string label_fraction;  ///< "0%", "10%", "100%" or "all".
  std::string claim;           ///< What is claimed, in words.
  std::string paper;           ///< The paper's figure.
  std::string target;          ///< Our target.
  std::string measured;        ///< What we measured.
  bool met = false;
};

struct DemoResults {
  std::string backbone;          ///< Where the backbone came from.
  double backbone_accuracy = 0;  ///< On options.backbone_test_images of the 10k test split.
  int64_t backbone_macs = 0;
  std::vector<std::string> exit_names;  ///< Heads then "final".
  std::vector<double> exit_fractions;   ///< Of the backbone's MACs, per head.
  DemoOptions options;
  std::vector<DemoRun> runs;
  std::vector<DemoSummary> summaries;  ///< One per label fraction.
  std::vector<DemoClaim> claims;
  double seconds = 0;
};

/// Fashion-MNIST as the demo needs it: the 60k training records (the pool is 50000..59999)
/// and the 10k test split.
struct FashionMnist {
  IdxArray train_images, train_labels, test_images, test_labels;
};
/// Reads the four IDX files from `dir` (checked: magic, dimensions, 28x28, lengths).
StatusOr<FashionMnist> LoadFashionMnist(const std::string& dir);

/// Runs the demo on `backbone` (a trained fmnist_resnet-like model on 28x28x1 inputs).
StatusOr<DemoResults> RunDemo(const Graph& backbone, const FashionMnist& data,
                              const DemoOptions& options);

/// Means and spreads per label fraction, and the claims, from `results.runs`.
void Summarise(DemoResults* results);

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_DEMO_H_
