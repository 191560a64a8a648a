// Pretraining: whole-network training of a backbone with the engine's own kernels, so that the
// Fashion-MNIST demo's backbone is produced by this project, end to end.
//
// The network trains in the form it will run in: BatchNorm folded into the convolutions
// (training/network.h). With nothing normalising activations, each residual branch's last
// convolution starts at zero (as Fixup and "zero-init residual" do), so every block starts as
// the identity and a deep residual network trains stably. SGD with Nesterov momentum and weight
// decay, a linear warm-up then a cosine schedule, batches in a seeded order, augmentation by a
// random shift of up to 2 pixels and a horizontal flip. After every epoch the test accuracy is
// measured with the inference engine on the exported graph. Deterministic for a seed and a
// thread count.
#ifndef PERSEPHONEE_TRAINING_PRETRAIN_H_
#define PERSEPHONEE_TRAINING_PRETRAIN_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "base/idx.h"
#include "base/status.h"
#include "graph/graph.h"

namespace persephonee {

struct PretrainOptions {
  int epochs = 10;
  int batch = 128;
  uint64_t seed = 1;
  float learning_rate = 0.05f;
  float momentum = 0.9f;
  float weight_decay = 5e-4f;
  float warmup_epochs = 1.0f;
  bool augment = true;
  bool zero_init_residual = true;  ///< Zero the last convolution of every residual branch.
  int threads = 1;
  size_t train_first = 0;  ///< Train images [train_first, train_first + train_count).
  size_t train_count = 50000;
  size_t test_count = 10000;  ///< Test images evaluated after every epoch (0: none).
  /// Called every `report_every` batches and at the end of each epoch.
  int report_every = 50;
  std::function<void(int epoch, size_t batch, size_t batches, double loss, double images_per_s,
                     double seconds_left)>
      on_batch;
  std::function<void(int epoch, double loss, double test_accuracy)> on_epoch;
};

struct PretrainResult {
  Graph model;  ///< BatchNorm folded, trained.
  std::vector<double> epoch_loss;
  std::vector<double> test_accuracy;  ///< After each epoch (empty when test_count is 0).
  double seconds = 0;
};

/// Trains `initial` on the uint8 images (N × H × W × C, scaled by 1/255) and labels.
StatusOr<PretrainResult> Pretrain(const Graph& initial, const IdxArray& train_images,
                                  const IdxArray& train_labels, const IdxArray& test_images,
                                  const IdxArray& test_labels, const PretrainOptions& options);

/// Top-1 accuracy of `model` on the first `count` images, with the inference engine.
StatusOr<double> TestAccuracy(const Graph& model, const IdxArray& images, const IdxArray& labels,
                              size_t count, int threads);

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_PRETRAIN_H_
