// A trainable network: forward and backward through a graph with the project's own kernels.
//
// This is what trains. The early-exit heads are small graphs trained with it; whole-network
// fine-tuning (the baseline PersEPhonEE compares against) and pretraining use it on the full
// backbone. BatchNorm is folded into the convolutions and ReLU/ReLU6 fused before training
// (the backbone is used in inference form, as the paper's baseline has it), so the ops are
// Conv2d (incl. depthwise), FullyConnected, ReLU, ReLU6, Add, MaxPool, AvgPool, GlobalAvgPool
// and Flatten. A final Softmax is dropped: the network's output is the logits.
//
// Memory: every activation of the largest batch is kept for backward in its own buffer, with a
// gradient buffer beside it (a Flatten shares both with its input); one scratch buffer serves
// the convolutions' im2col and the accumulation of gradients of tensors read by several nodes.
// Create() allocates everything; Forward() and Backward() allocate nothing.
//
// Backward walks the nodes in reverse. A tensor's gradient is written by its first (in reverse
// order) reader and accumulated by the others. Parameter gradients are overwritten by every
// Backward and summed over the batch.
#ifndef PERSEPHONEE_TRAINING_NETWORK_H_
#define PERSEPHONEE_TRAINING_NETWORK_H_

#include <pthreadpool.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"

namespace persephonee {

/// One trainable parameter: its values and the gradient of the last Backward.
struct ParamRef {
  std::string name;  ///< The graph tensor's name.
  float* data = nullptr;
  float* grad = nullptr;
  size_t size = 0;
};

class Network {
 public:
  /// Prepares `graph` (finalized; BatchNorm folded and activations fused here) for batches of
  /// up to `max_batch` samples. `pool` (nullable, not owned) runs the kernels. Fails with
  /// kUnimplemented naming the node for ops that cannot train (an unfoldable BatchNorm, a
  /// Softmax that is not last).
  static StatusOr<std::unique_ptr<Network>> Create(const Graph& graph, int64_t max_batch,
                                                   pthreadpool_t pool);
  ~Network();

  int64_t max_batch() const { return max_batch_; }
  /// Floats per sample of the input and of the output (logits).
  size_t input_size() const { return input_size_; }
  size_t output_size() const { return output_size_; }

  /// Computes the output for `batch` samples of `input` (batch × input_size() floats) and keeps
  /// what Backward needs.
  Status Forward(const float* input, int64_t batch);
  /// The output of the last Forward: batch × output_size() floats.
  const float* output() const;

  /// Backpropagates dL/d output (batch × output_size() floats, the batch of the last Forward):
  /// overwrites every parameter gradient, and dL/d input into `grad_input` when not null.
  Status Backward(const float* grad_output, float* grad_input = nullptr);

  /// The trainable parameters, in graph order.
  const std::vector<ParamRef>& params() const { return params_; }
  /// Number of trainable floats.
  size_t num_params() const;

  /// The prepared graph with the current parameter values (BatchNorm folded, Softmax dropped),
  /// every trainable parameter with float32 storage.
  Graph ExportGraph() const;

  /// Multiply-accumulates of one sample's forward pass.
  int64_t forward_macs_per_sample() const { return forward_macs_; }
  /// Bytes Create() allocated (activations, gradients, scratch, parameters and gradients).
  size_t allocated_bytes() const { return allocated_bytes_; }

 private:
  struct Impl;
  Network() = default;
  std::unique_ptr<Impl> impl_;
  std::vector<ParamRef> params_;
  int64_t max_batch_ = 0;
  size_t input_size_ = 0;
  size_t output_size_ = 0;
  int64_t forward_macs_ = 0;
  size_t allocated_bytes_ = 0;
};

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_NETWORK_H_
