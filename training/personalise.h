// Personalisation: train early-exit heads on one user's images, on the device.
//
// The walk-through:
//   1. The backbone runs in the inference engine (XNNPACK, frozen, no activations kept for
//      backward, weights resident once), keeping the tensors the exits read and the final
//      exit's logits.
//   2. The user's images are split, by the seed, into a training part and a held-out part for
//      calibrating the thresholds. Images are read from their source as needed (uint8), never
//      all held as floats; a pixel p becomes p / 255.
//   3. Every exit's features and the teacher's logits are computed once per training image and
//      cached (memory float16 unless float32 is asked for, a spill file), or recomputed every
//      epoch: the budget planner (PlanPersonalisation) decides, with the batch size. When they
//      are cached, the backbone fills the cache a few images at a time (the backbone batch,
//      kDefaultBackboneBatch unless set), whatever the heads' batch: its arena holds that many
//      images' activations, not a whole training batch's. XNNPACK computes every image
//      independently, so the cached numbers do not depend on the backbone batch. When they are
//      recomputed, the backbone runs at the training batch.
//   4. Each epoch visits the training images in a seeded order. For each batch every head runs
//      forward and backward (training/network.h) on its exit's features, with one loss per
//      sample: cross-entropy on the user's label where there is one; otherwise distillation
//      towards the final exit's softened output (temperature T) and/or cross-entropy on the
//      final exit's prediction when its confidence is at least tau. SGD with momentum or Adam,
//      a cosine or step learning-rate schedule. Everything is deterministic for a seed.
//   5. On the held-out images the heads' confidences and predictions are recorded for the
//      threshold calibration (training/calibration.h).
#ifndef PERSEPHONEE_TRAINING_PERSONALISE_H_
#define PERSEPHONEE_TRAINING_PERSONALISE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"
#include "training/exits.h"
#include "training/feature_store.h"
#include "training/labels.h"
#include "training/network.h"
#include "training/objective.h"
#include "training/prior.h"

namespace persephonee {

/// The user's images: uint8, NHWC per image, read one at a time as needed.
class ImageSource {
 public:
  virtual ~ImageSource() = default;
  virtual size_t size() const = 0;
  /// Bytes per image (H × W × C).
  virtual size_t image_bytes() const = 0;
  /// Reads image `index` into `out` (image_bytes() bytes).
  virtual Status Read(size_t index, uint8_t* out) const = 0;
};

/// Images held in memory (e.g. a simulated user's).
class MemoryImageSource : public ImageSource {
 public:
  MemoryImageSource(std::vector<uint8_t> pixels, size_t image_bytes)
      : pixels_(std::move(pixels)), image_bytes_(image_bytes) {}
  size_t size() const override { return image_bytes_ == 0 ? 0 : pixels_.size() / image_bytes_; }
  size_t image_bytes() const override { return image_bytes_; }
  Status Read(size_t index, uint8_t* out) const override;

 private:
  std::vector<uint8_t> pixels_;
  size_t image_bytes_;
};

/// Images in an IDX file (plain files are read record by record; see base/idx.h).
StatusOr<std::unique_ptr<ImageSource>> OpenIdxImages(const std::string& path);

enum class OptimizerKind { kSgd, kAdam };

/// Images per backbone pass when the features are cached, unless PersonaliseOptions sets it
/// (or the training batch is smaller). Measured on one thread with `benchmarks/personalise
/// --sweep-backbone-batch`: per image, fmnist_resnet fills the cache as fast at 1 to 8 as at 32
/// (5% faster), mobilenet_v2 (224) 23% faster at 4 than at 32 (30% at 1 or 2), its activations
/// then staying in the caches; 4 rather than 1 leaves work to share out when threads > 1.
constexpr int kDefaultBackboneBatch = 4;
enum class ScheduleKind { kCosine, kStep, kConstant };

/// Everything a personalisation run needs besides the backbone and the data.
struct PersonaliseOptions {
  int epochs = 10;
  int batch = 32;  ///< Upper bound; the budget planner may choose less.
  /// Images per backbone pass while the features are cached (and for the held-out part); 0
  /// (the default) is kDefaultBackboneBatch. Never more than the training batch; ignored when
  /// the features are recomputed (the backbone then runs at the training batch). The heads
  /// train on the same numbers whatever it is: it trades the backbone arena's size for speed.
  int backbone_batch = 0;
  uint64_t seed = 1;
  OptimizerKind optimizer = OptimizerKind::kAdam;
  float learning_rate = 3e-3f;
  float momentum = 0.9f;  ///< SGD only.
  float weight_decay = 1e-4f;
  ScheduleKind schedule = ScheduleKind::kCosine;
  int step_epochs = 5;  ///< kStep: multiply by step_gamma every step_epochs epochs.
  float step_gamma = 0.1f;
  LossOptions loss;
  double holdout_fraction = 0.2;     ///< Of the user's images, kept for calibration.
  size_t memory_budget = 64u << 20;  ///< Peak resident bytes of the whole process.
  /// Forced cache placement; unset (the default) lets the planner choose.
  bool force_cache = false;
  CachePlacement cache = CachePlacement::kMemory;
  std::string spill_dir = "/tmp";
  int threads = 1;
  /// How the trained heads' Conv2d and FullyConnected weights are stored (graph/int8_rows.h).
  /// With int8 rows (the default) they are rounded before the held-out images are run, so the
  /// thresholds are calibrated on exactly the heads a personalisation file holds, a quarter of
  /// float32's size.
  ParameterStorage head_storage = ParameterStorage::kInt8Rows;
  /// Measure the teacher before training (training/prior.h): the user's class prior by EM, the
  /// teacher's trust and confusion on the labelled images. The teacher's targets are then
  /// prior- and confusion-corrected, distillation and pseudo-labels weighted by the trust, and
  /// fresh heads start with the prior's logit adjustment as their classifier bias. false: the
  /// teacher is used as it is (trust 1, no correction).
  bool correct_teacher = true;
  PriorOptions prior;
  /// The backbone's training prior over the classes; empty = uniform (a balanced training set).
  std::vector<double> training_prior;
  /// Called after every epoch (and may print a progress line).
  std::function<void(int epoch, double loss, double samples_per_second, double seconds_left)>
      on_epoch;
  /// Personalise only (fine-tuning ignores it). When this points to a flag that becomes true
  /// (set by on_epoch, or by any thread), Personalise stops at its next check (before every
  /// backbone pass and every training batch, and after each on_epoch) and returns kCancelled;
  /// nothing is kept (a spill file is unlinked already). The flag must outlive the call.
  const std::atomic<bool>* cancel = nullptr;
};

/// What the budget planner chose, and why.
struct PersonalisePlan {
  int batch = 0;
  int backbone_batch = 0;  ///< Images per backbone pass (the batch itself for recompute).
  CachePlacement cache = CachePlacement::kMemory;
  size_t baseline_bytes = 0;  ///< Resident before training starts (code, libraries, backbone).
  size_t engine_bytes = 0;    ///< The backbone's weights and arena at the backbone batch.
  size_t heads_bytes = 0;     ///< Head networks, gradients and optimiser state.
  size_t batch_bytes = 0;     ///< Per-batch buffers.
  size_t cache_bytes = 0;     ///< Resident feature cache (0 for disk and recompute).
  size_t estimate_bytes = 0;  ///< The sum: the expected peak.
  std::string explanation;    ///< One line for people.
};

/// One exit's outputs on the held-out images, for calibration.
struct HeldOut {
  std::vector<int32_t> labels;  ///< -1 where the user gave none.
  /// [sample][exit] over the heads and then the final exit: prediction and max softmax.
  std::vector<int32_t> prediction;
  std::vector<float> max_prob;
  std::vector<float> entropy;
  /// [sample][exit][class] the logits behind them (the final exit's as the backbone gives them).
  std::vector<float> logits;
  int num_exits = 0;  ///< heads + 1
};

/// The trained heads and everything measured on the way.
struct PersonaliseResult {
  /// The exits trained: the plan asked for, less its personalised final exit when only that
  /// made the memory budget unreachable (then `dropped_personal_final` says why).
  ExitPlan plan;
  std::string dropped_personal_final;
  std::vector<Graph> heads;  ///< One per exit, trained, weights stored as options.head_storage.
  /// Optimiser state per head parameter (SGD momentum, or Adam's m then v), for resuming.
  std::vector<std::vector<float>> optimizer_state;
  int64_t optimizer_step = 0;
  PersonalisePlan budget;
  std::vector<double> epoch_loss;
  std::vector<double> epoch_seconds;
  HeldOut held_out;
  /// What the teacher was found to be for this user (identity and trust 1 when not measured).
  TeacherCorrection teacher;
  /// With a personalised final exit: its head before training (the backbone's classifier with
  /// the prior correction), float32, to fall back on.
  std::optional<Graph> initial_final_head;
  size_t train_samples = 0;
  size_t labelled_samples = 0;
  double seconds = 0;
  double cache_seconds = 0;   ///< Filling the feature cache (0 when recomputing).
  int64_t training_macs = 0;  ///< Backbone passes + head forward/backward, all epochs.
};

/// Starting heads (from a saved personalisation) and optimiser state, for incremental runs.
struct WarmStart {
  std::vector<Graph> heads;
  std::vector<std::vector<float>> optimizer_state;
  int64_t optimizer_step = 0;
};

/// Chooses the batch size and feature cache that keep the process within options.memory_budget;
/// kResourceExhausted naming the smallest budget that would work when none does. `optimized`
/// is the backbone as OptimizeBackbone() returns it.
StatusOr<PersonalisePlan> PlanPersonalisation(const Graph& optimized, const ExitPlan& plan,
                                              size_t train_samples,
                                              const PersonaliseOptions& options);

/// Trains the heads of `plan` on `images` with `labels` (kUnlabelled where none). The backbone
/// is taken by value and handed to the engine, which releases its weights once packed, so they
/// are resident once: move it in.
StatusOr<PersonaliseResult> Personalise(Graph backbone, const ExitPlan& plan,
                                        const ImageSource& images,
                                        const std::vector<uint8_t>& labels,
                                        const PersonaliseOptions& options,
                                        const WarmStart* warm = nullptr);

// Shared with fine-tuning (training/finetune.h), so that every method splits, schedules and
// optimises the same way.

/// A permutation of [0, n) from `seed`; the same on every platform (no std distributions).
std::vector<size_t> SeededPermutation(size_t n, uint64_t seed);

/// The seeded split of n images into training and held-out (the first floor(fraction n) of
/// SeededPermutation(n, seed)) that Personalise uses.
void SplitHoldout(size_t n, double holdout_fraction, uint64_t seed, std::vector<size_t>* train,
                  std::vector<size_t>* hold);

/// The learning rate in `epoch` (0-based) at `progress` in [0, 1) of all batches.
float ScheduledLearningRate(const PersonaliseOptions& o, int epoch, double progress);

/// Appends zeroed optimiser state for `params`: per parameter, the SGD momentum, or Adam's m
/// then v.
void AddOptimizerState(OptimizerKind kind, const std::vector<ParamRef>& params,
                       std::vector<std::vector<float>>* state);

/// Updates `params` from their gradients (step counts from 1), with their state starting at
/// (*state)[*next]; advances *next past it.
void OptimizerStep(const PersonaliseOptions& o, const std::vector<ParamRef>& params, float lr,
                   int64_t step, std::vector<std::vector<float>>* state, size_t* next);

/// Resident and peak resident bytes of this process (VmRSS, VmHWM); 0 if unknown.
size_t CurrentRssBytes();
size_t PeakRssBytes();
/// Resets the peak resident set (VmHWM) to the current one, through /proc/self/clear_refs
/// (Linux 4.0+); false if the kernel refused.
bool ResetPeakRss();

/// Returns the C heap's free memory to the operating system (glibc's malloc_trim), so that
/// graphs freed after their weights were packed stop counting as resident.
void ReleaseFreeHeap();

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_PERSONALISE_H_
