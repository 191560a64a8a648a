// One graph node as a forward operator: the XNNPACK operator (created once, weights packed
// once) that computes it, or nothing for nodes that only rename memory (Flatten).
//
// The engine creates a NodeOp per node when it plans, binds each to arena pointers once, and
// then only runs them. The inference benchmark uses the same NodeOps with separately allocated
// buffers as the floor the engine is measured against.
#ifndef PERSEPHONEE_ENGINE_NODE_OP_H_
#define PERSEPHONEE_ENGINE_NODE_OP_H_

#include <pthreadpool.h>

#include <memory>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"
#include "kernels/conv2d/conv2d.h"
#include "kernels/pool/pool.h"

namespace persephonee {

/// A node's forward operator. Move-only.
class NodeOp {
 public:
  /// Creates the operator for node `id` of a finalized graph whose shapes already carry the
  /// batch size the operator will run with. Reads the node's parameters (weights are packed,
  /// so the graph's copy may be released afterwards). Fails with kUnimplemented for a node the
  /// forward path cannot run (the message names the node), kInternal if XNNPACK fails.
  static StatusOr<NodeOp> Create(const Graph& graph, NodeId id);

  NodeOp(NodeOp&&) noexcept;
  NodeOp& operator=(NodeOp&&) noexcept;
  ~NodeOp();

  /// True for nodes whose output is their input under another shape (Flatten): nothing runs,
  /// and the output must be given the input's memory.
  bool is_alias() const;

  /// Whether the operator may write its output over input `i` (element-wise ops).
  bool may_run_in_place() const;

  /// Binds the node's activation inputs (in node input order, parameters skipped) and its
  /// output. The buffers must stay valid while the operator runs.
  Status Setup(const std::vector<const float*>& inputs, float* output, pthreadpool_t pool);

  /// Computes the output from the bound inputs. Allocates nothing.
  Status Run(pthreadpool_t pool);

 private:
  struct Impl;
  explicit NodeOp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The kernels' description of a Conv2d node reading an NHWC tensor of shape `input`.
Conv2dShape MakeConv2dShape(const Shape& input, const Conv2dAttrs& attrs);
/// The kernels' description of a MaxPool or AvgPool node reading an NHWC tensor of shape `input`.
Pool2dShape MakePool2dShape(const Shape& input, const PoolAttrs& attrs);
/// The kernels' description of a GlobalAvgPool node reading an NHWC tensor of shape `input`.
GlobalPoolShape MakeGlobalPoolShape(const Shape& input);

/// The activation (non-parameter) inputs of `node`, in order.
std::vector<TensorId> ActivationInputs(const Graph& graph, const Node& node);

}  // namespace persephonee

#endif  // PERSEPHONEE_ENGINE_NODE_OP_H_
