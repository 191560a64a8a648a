// The baselines PersEPhonEE compares against: fine-tuning the whole network, or only its final
// classifier, on the user's data with the same objective (training/objective.h), data split,
// epochs, batch, schedule and seed as the heads (training/personalise.h).
//
// The teacher of the unlabelled samples is the original model (its final exit's logits before
// any update), computed once with the inference engine, exactly what the heads distil from.
//
//   kWholeNetwork: every layer trains (training/network.h: BatchNorm folded, forward and
//     backward through every layer); each epoch reads and scales every training image again.
//   kClassifier:   only the final fully-connected layer trains. The backbone below it is frozen,
//     so its input features are computed once with the engine and the layer trains on them
//     (what a linear probe on the penultimate layer costs).
//
// Both return the whole model (BatchNorm folded) with the trained weights, to be evaluated and
// timed like the original.
#ifndef PERSEPHONEE_TRAINING_FINETUNE_H_
#define PERSEPHONEE_TRAINING_FINETUNE_H_

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"
#include "training/personalise.h"

namespace persephonee {

enum class FineTuneScope { kWholeNetwork, kClassifier };
/// "whole_network" or "classifier".
const char* FineTuneScopeName(FineTuneScope scope);

struct FineTuneResult {
  Graph model;  ///< BatchNorm folded, with the trained weights.
  std::vector<double> epoch_loss;
  double seconds = 0;
  int64_t training_macs = 0;  ///< Teacher and feature passes + forward/backward of all epochs.
  size_t train_samples = 0;
  size_t labelled_samples = 0;
};

/// Fine-tunes `backbone` (a finalized graph ending in a fully-connected classifier, optionally
/// followed by a Softmax) on the training part of `images` (SplitHoldout with
/// options.holdout_fraction and options.seed: the images Personalise trains on). Uses
/// options.epochs, batch (as given; no budget planner), seed, optimizer, learning_rate,
/// momentum, weight_decay, schedule, loss, threads and on_epoch; ignores the cache and budget
/// fields.
StatusOr<FineTuneResult> FineTune(const Graph& backbone, FineTuneScope scope,
                                  const ImageSource& images, const std::vector<uint8_t>& labels,
                                  const PersonaliseOptions& options);

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_FINETUNE_H_
