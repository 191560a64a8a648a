// The C++ facade: what an application needs to personalise a backbone for its users and answer
// with early exits, in a handful of calls. The C API (include/persephonee/persephonee.h) is built
// on it; the `persephonee personalise` command calls it too, so the steps of one user's
// personalisation exist once.
//
// The walk-through of PersonaliseUser, as `persephonee personalise` has always done it:
//   1. Exits: those of the warm start (a saved personalisation, which must have been made for
//      this backbone), or K placed at even fractions of the backbone's FLOPs, or on named
//      nodes; plus, unless switched off, a personalised final exit (a trained copy of the
//      backbone's classifier) when the backbone's shape allows one.
//   2. persephonee::Personalise (training/personalise.h) trains the heads within the memory
//      budget, reporting each epoch to `progress`, which may cancel the run.
//   3. DecideAndCalibrate (training/assemble.h) keeps or drops the personalised final exit and
//      calibrates the early exits' thresholds with the Learn-then-Test guarantee.
//   4. MakePersonalisation adds the thresholds, the backbone's hash, the metadata and the
//      calibration record; the optimiser's state is kept only when asked for.
// Nothing is written to disk by PersonaliseUser: SaveExits does that, atomically.
//
// Sharing: a Backbone is immutable once loaded; one instance may serve any number of threads
// and users at once (PersonaliseUser and Model::Create only read it). A Model holds its own
// engines and buffers and must be used by one thread at a time.
#ifndef PERSEPHONEE_API_PERSEPHONEE_H_
#define PERSEPHONEE_API_PERSEPHONEE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"
#include "training/assemble.h"
#include "training/early_exit.h"
#include "training/exits.h"
#include "training/guarantee.h"
#include "training/personalisation.h"
#include "training/personalise.h"

namespace persephonee {
namespace api {

/// A backbone, loaded once: parsed, hashed (BackboneHash of the graph as stored) and optimised
/// (BatchNorm folded, activations fused). Immutable; share it with std::shared_ptr<const>.
class Backbone {
 public:
  /// Loads a model file (docs/model-format.md). `threads` is what models created from it run
  /// with (>= 1). Errors name the file.
  static StatusOr<std::shared_ptr<const Backbone>> Load(const std::string& path, int threads = 1);
  /// Takes a graph already in memory (e.g. a zoo model); `origin` names it in messages.
  static StatusOr<std::shared_ptr<const Backbone>> FromGraph(Graph graph, int threads = 1,
                                                             const std::string& origin = "graph");
  /// As FromGraph, owned by the caller alone: for PersonaliseUser(Backbone&&, ...).
  static StatusOr<std::unique_ptr<Backbone>> Create(Graph graph, int threads = 1,
                                                    const std::string& origin = "graph");

  /// The optimised graph, as the engine runs it and exits are placed on it.
  const Graph& graph() const { return optimized_; }
  /// Moves the optimised graph out (for a caller done with the backbone); graph() is then empty.
  Graph TakeGraph() && { return std::move(optimized_); }
  /// BackboneHash of the graph as stored: what personalisations are tied to.
  const std::string& hash() const { return hash_; }
  int threads() const { return threads_; }
  int height() const { return height_; }
  int width() const { return width_; }
  int channels() const { return channels_; }
  /// Bytes of one uint8 image: height x width x channels.
  size_t image_bytes() const {
    return static_cast<size_t>(height_) * static_cast<size_t>(width_) *
           static_cast<size_t>(channels_);
  }
  /// Outputs of the final classifier.
  int classes() const { return classes_; }
  /// Multiply-adds of the whole backbone per image.
  int64_t macs() const { return macs_; }

 private:
  Backbone() = default;
  Graph optimized_;
  std::string hash_;
  int threads_ = 1;
  int height_ = 0, width_ = 0, channels_ = 0, classes_ = 0;
  int64_t macs_ = 0;
};

/// Where exits go on a fresh personalisation.
struct ExitOptions {
  int exits = 4;                        ///< At even FLOP fractions i / (exits + 1), 1..16.
  std::vector<std::string> exit_nodes;  ///< Non-empty: on these nodes' outputs instead.
  bool personal_final = true;           ///< Add a personalised final exit when possible.
};

/// The exits a personalisation will train.
struct PlannedExits {
  ExitPlan plan;
  /// Why no personalised final exit was added although one was asked for (empty otherwise).
  std::string no_personal_final;
};

/// The exits of `warm` (checked against the backbone's hash: kFailedPrecondition for another
/// backbone's), or, when `warm` is null, placed as `options` say.
StatusOr<PlannedExits> PlanExits(const Backbone& backbone, const ExitOptions& options,
                                 const Personalisation* warm = nullptr);

/// Called after every epoch (1-based) with the epoch's mean loss; return false to cancel the
/// run, which then stops at its next check and PersonaliseUser returns kCancelled.
using ProgressFn = std::function<bool(int epoch, int epochs, double loss, double samples_per_second,
                                      double seconds_left)>;

/// Everything one user's personalisation needs besides the backbone and the data.
struct UserOptions {
  /// Epochs, seed, threads, memory budget (peak RSS of the whole process), cache, optimiser...
  /// Its on_epoch and cancel are replaced by the facade's (use `progress`).
  PersonaliseOptions training;
  ExitOptions exits;  ///< Ignored with a warm start (its exits are kept).
  /// The confidence measure of the thresholds; a warm start keeps its own.
  ConfidenceMeasure measure = ConfidenceMeasure::kMaxSoftmax;
  GuaranteeOptions calibration;  ///< epsilon and delta of the threshold calibration.
  bool keep_optimizer = false;   ///< Keep the optimiser's state so a later run can resume it.
  /// Added to the personalisation's metadata (besides seed, epochs, samples, labelled).
  std::map<std::string, std::string> metadata;
};

/// One user's personalisation and what was measured on the way.
struct UserRun {
  Personalisation personalisation;  ///< What SaveExits writes.
  PersonaliseResult run;            ///< The training run (heads, budget plan, teacher, ...).
  CalibrationDecision decision;     ///< The final exit's choice and the thresholds' guarantee.
  ConfidenceMeasure measure = ConfidenceMeasure::kMaxSoftmax;
  size_t labelled = 0;  ///< Labelled images among those given.
};

/// Personalises `backbone` for one user: `images` with `labels` (one per image, kUnlabelled
/// where none), on the exits in `plan` (PlanExits), continuing `warm_start` if given (which
/// must be the personalisation `plan` came from). kCancelled when `progress` returned false.
StatusOr<UserRun> PersonaliseUser(const Backbone& backbone, const ExitPlan& plan,
                                  const ImageSource& images, const std::vector<uint8_t>& labels,
                                  const UserOptions& options, const Personalisation* warm_start,
                                  const ProgressFn& progress);

/// The same for a backbone the caller is done with (a one-shot process, as `persephonee
/// personalise`): its graph goes to the engine instead of a copy, so that the backbone's weights
/// are resident once during training, as the memory budget assumes for a single user. Only the
/// backbone's hash() stays meaningful afterwards.
StatusOr<UserRun> PersonaliseUser(Backbone&& backbone, const ExitPlan& plan,
                                  const ImageSource& images, const std::vector<uint8_t>& labels,
                                  const UserOptions& options, const Personalisation* warm_start,
                                  const ProgressFn& progress);

/// The same, planning the exits first (PlanExits with options.exits and `warm_start`).
StatusOr<UserRun> PersonaliseUser(const Backbone& backbone, const ImageSource& images,
                                  const std::vector<uint8_t>& labels, const UserOptions& options,
                                  const Personalisation* warm_start = nullptr,
                                  const ProgressFn& progress = nullptr);

/// Loads a personalisation file and checks that it was made for `backbone` (kFailedPrecondition
/// naming both hashes otherwise). Errors name the file.
StatusOr<Personalisation> LoadExits(const Backbone& backbone, const std::string& path);

/// Writes `p` to `path` atomically (the old file or the new one, never a mixture).
Status SaveExits(const Personalisation& p, const std::string& path);

/// Early-exit inference for one user (or the original model). One thread at a time.
class Model {
 public:
  /// Plans the backbone and the exits of `p` (null: the original model, its final exit only),
  /// with backbone.threads() threads. kFailedPrecondition if `p` is another backbone's.
  static StatusOr<std::unique_ptr<Model>> Create(const Backbone& backbone,
                                                 const Personalisation* p);

  /// Answers `count` uint8 images (count x H x W x C bytes; each pixel p becomes p / 255).
  /// `out` gets `count` answers.
  Status ClassifyU8(const uint8_t* pixels, size_t count, ExitAnswer* out);

  /// The early exits behind it (thresholds, number of heads).
  EarlyExitModel& early_exit() { return *model_; }

 private:
  Model() = default;
  std::unique_ptr<EarlyExitModel> model_;
  std::vector<float> image_;
};

}  // namespace api
}  // namespace persephonee

#endif  // PERSEPHONEE_API_PERSEPHONEE_H_
