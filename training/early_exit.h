// Early-exit inference: a personalised model answers at the first exit that is confident
// enough, and the rest of the backbone is not computed for that sample.
//
// The backbone runs in the inference engine at batch 1, in segments: up to the node that writes
// exit 1's features, then exit 1's head (a small engine of its own); if the head's confidence
// score (training/calibration.h: ConfidenceScore) reaches the exit's threshold the sample is
// answered, otherwise the backbone continues to the next exit, and so on to the final exit,
// which always answers. An exit whose threshold is +inf is switched off: its head is not even
// computed. A batch is answered sample by sample, so samples leaving at different exits cost
// exactly their own path.
//
// This lives in training/ rather than engine/ because it runs what training/ produces (a
// Personalisation); it only uses the engine's public interface.
#ifndef PERSEPHONEE_TRAINING_EARLY_EXIT_H_
#define PERSEPHONEE_TRAINING_EARLY_EXIT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/engine.h"
#include "graph/graph.h"
#include "training/personalisation.h"

namespace persephonee {

/// How one sample was answered.
struct ExitAnswer {
  int32_t prediction = -1;
  int exit = 0;        ///< 0 .. heads-1 for a head, heads for the final exit.
  float score = 0.0f;  ///< The answering exit's confidence score.
  int64_t macs = 0;    ///< Backbone and heads actually computed for this sample.
};

class EarlyExitModel {
 public:
  /// Plans the backbone and every head. Fails if `p` was made for another backbone.
  static StatusOr<std::unique_ptr<EarlyExitModel>> Create(Graph backbone, const Personalisation& p,
                                                          int threads = 1);
  /// As Create, for a backbone whose BackboneHash (of the graph as stored) is already known:
  /// `backbone` is not hashed again and may be the optimised graph (OptimizeBackbone), which the
  /// engine runs as it is. Fails (kFailedPrecondition) if `p` was made for another hash.
  static StatusOr<std::unique_ptr<EarlyExitModel>> CreateForHash(Graph backbone,
                                                                 const std::string& backbone_hash,
                                                                 const Personalisation& p,
                                                                 int threads = 1);

  /// Number of heads (the final exit is extra).
  int num_heads() const { return static_cast<int>(heads_.size()); }
  /// Floats per image the model reads (H × W × C).
  size_t image_size() const { return image_size_; }
  /// The thresholds in use, one per head (+inf: switched off).
  const std::vector<float>& thresholds() const { return thresholds_; }
  /// Replaces the thresholds (e.g. all +inf to run the original model).
  Status SetThresholds(const std::vector<float>& thresholds);

  /// Answers one image (image_size() floats, pixels already scaled as in training).
  StatusOr<ExitAnswer> Infer(const float* image);
  /// Answers `n` images stored one after another.
  Status InferBatch(const float* images, size_t n, std::vector<ExitAnswer>* answers);

 private:
  EarlyExitModel() = default;
  std::unique_ptr<Engine> backbone_;
  struct Head {
    std::unique_ptr<Engine> engine;
    NodeId after = 0;  ///< Backbone nodes [.., after] run before this head.
    const float* features = nullptr;
    size_t feature_size = 0;
    int64_t macs_answering = 0;  ///< Backbone to here + this head (others added at run time).
    int64_t head_macs = 0;
  };
  std::vector<Head> heads_;
  std::vector<float> thresholds_;
  ConfidenceMeasure measure_ = ConfidenceMeasure::kMaxSoftmax;
  int classes_ = 0;
  const float* logits_ = nullptr;
  int64_t backbone_macs_ = 0;
  size_t image_size_ = 0;
};

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_EARLY_EXIT_H_
