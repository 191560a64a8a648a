// The inference engine: runs a frozen model's forward pass with XNNPACK operators in one
// planned arena.
//
// Lifecycle, as XNNPACK and TFLite Micro have it: Create() optimises the graph (BatchNorm folded
// into convolutions, ReLU/ReLU6 fused), creates one operator per node (XNNPACK packs the
// weights, after which the graph's own copy is released so weights are resident once), plans
// every activation into one arena with the memory planner, allocates that arena once and binds
// every operator to its offsets. Run() then only computes: nothing is allocated while running.
// The batch size is fixed when the engine is created.
//
// Early exits run the backbone in segments: RunNodes(begin, end) computes nodes [begin, end),
// and the tensors that later nodes read stay intact between segments. Tensors named in
// EngineOptions::keep stay readable after any later node has run.
#ifndef PERSEPHONEE_ENGINE_ENGINE_H_
#define PERSEPHONEE_ENGINE_ENGINE_H_

#include <pthreadpool.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/node_op.h"
#include "graph/graph.h"

namespace persephonee {

/// How to build an engine.
struct EngineOptions {
  int64_t batch = 1;  ///< Images per run; fixed for the engine's life.
  int threads = 1;    ///< 1 runs on the calling thread; more creates a pthreadpool.
  /// Tensors that must stay readable until the next Run, e.g. the features early exits read.
  std::vector<std::string> keep;
  /// Fold BatchNorm into convolutions and fuse ReLU/ReLU6 before planning.
  bool optimize = true;
};

/// What the memory planner made of the activations.
struct ArenaReport {
  size_t arena_bytes = 0;        ///< The arena the engine allocated (the plan's high-water mark).
  size_t lower_bound_bytes = 0;  ///< The largest sum of live bytes at any step.
  size_t no_reuse_bytes = 0;     ///< Every activation in its own buffer.
  size_t buffers = 0;            ///< Buffers planned (aliases share one).
  size_t in_place = 0;           ///< Element-wise ops granted their input's memory.
  size_t parameter_bytes = 0;    ///< Parameters the operators packed (float32).
};

/// A planned, bound model. Not copyable; one Run at a time.
class Engine {
 public:
  /// Plans `graph` (a finalized graph; its batch dimension is replaced by options.batch).
  /// Errors name the node or tensor at fault.
  static StatusOr<std::unique_ptr<Engine>> Create(Graph graph, const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// The optimised graph the engine runs. Its parameters' data has been released (shapes stay).
  const Graph& graph() const { return graph_; }
  int64_t batch() const { return batch_; }
  int threads() const { return threads_; }

  /// The i-th graph input's buffer (batch × the input's shape), to be filled before every Run:
  /// once the input has been read, the planner lets later tensors reuse its memory, so after a
  /// Run it no longer holds the input.
  float* input(size_t i = 0);
  /// The i-th graph output's buffer, valid after Run.
  const float* output(size_t i = 0) const;
  /// The buffer of any activation tensor. Its content is meaningful only while the tensor is
  /// alive: after the node that writes it has run and before its last reader has (always, for
  /// inputs, outputs and kept tensors).
  const float* tensor_data(TensorId id) const;
  /// tensor_data() by name; kNotFound for unknown names, kInvalidArgument for parameters.
  StatusOr<const float*> TensorData(const std::string& name) const;

  /// Runs every node.
  Status Run();
  /// Runs nodes [begin, end) of graph().nodes(); the earlier nodes must have run since the
  /// inputs were last written.
  Status RunNodes(NodeId begin, NodeId end);

  const ArenaReport& arena_report() const { return report_; }
  /// The thread pool operators run on (nullptr when threads == 1).
  pthreadpool_t threadpool() const { return pool_; }

 private:
  Engine() = default;
  Status Plan(const EngineOptions& options);

  Graph graph_;
  int64_t batch_ = 1;
  int threads_ = 1;
  pthreadpool_t pool_ = nullptr;
  std::vector<NodeOp> ops_;
  std::vector<float*> tensor_ptr_;  ///< Per tensor: its arena address, or nullptr.
  std::vector<TensorId> inputs_;
  std::vector<TensorId> outputs_;
  struct FreeDeleter {
    void operator()(void* p) const;
  };
  std::unique_ptr<void, FreeDeleter> arena_;
  ArenaReport report_;
};

}  // namespace persephonee

#endif  // PERSEPHONEE_ENGINE_ENGINE_H_
