#include "engine/engine.h"

#include <cstdlib>
#include <utility>

#include "engine/lifetimes.h"
#include "engine/memory_planner.h"
#include "graph/passes.h"
#include "graph/shape_inference.h"

namespace persephonee {

void Engine::FreeDeleter::operator()(void* p) const { std::free(p); }

Engine::~Engine() {
  ops_.clear();  // operators first: they may reference the pool
  if (pool_ != nullptr) pthreadpool_destroy(pool_);
}

StatusOr<std::unique_ptr<Engine>> Engine::Create(Graph graph, const EngineOptions& options) {
  ENSURE(options.batch >= 1, "engine: batch must be at least 1, got ", options.batch);
  ENSURE(options.threads >= 1 && options.threads <= 256,
         "engine: threads must be in [1, 256], got ", options.threads);
  std::unique_ptr<Engine> engine(new Engine());
  engine->graph_ = std::move(graph);
  RETURN_IF_ERROR(engine->Plan(options));
  return engine;
}

Status Engine::Plan(const EngineOptions& options) {
  batch_ = options.batch;
  threads_ = options.threads;
  if (options.optimize) {
    ASSIGN_OR_RETURN(graph_, FoldBatchNorm(graph_));
    ASSIGN_OR_RETURN(graph_, FuseActivations(graph_));
  }
  RETURN_IF_ERROR(SetBatchSize(&graph_, batch_));
  inputs_ = graph_.inputs();
  outputs_ = graph_.outputs();
  ENSURE(!inputs_.empty() && !outputs_.empty(), "engine: the graph needs an input and an output");

  std::vector<TensorId> keep;
  for (const std::string& name : options.keep) {
    StatusOr<TensorId> t = graph_.FindTensor(name);
    if (!t.ok()) return t.status().WithContext("engine: kept tensor");
    keep.push_back(*t);
  }

  if (threads_ > 1) {
    pool_ = pthreadpool_create(static_cast<size_t>(threads_));
    ENSURE_CODE(pool_ != nullptr, kInternal, "engine: could not create ", threads_, " threads");
  }

  // One operator per node; XNNPACK packs the weights as each is created.
  const int32_t num_nodes = graph_.num_nodes();
  std::vector<bool> alias(static_cast<size_t>(num_nodes)), in_place(alias.size());
  ops_.reserve(alias.size());
  for (NodeId n = 0; n < num_nodes; ++n) {
    ASSIGN_OR_RETURN(NodeOp op, NodeOp::Create(graph_, n));
    alias[static_cast<size_t>(n)] = op.is_alias();
    in_place[static_cast<size_t>(n)] = op.may_run_in_place();
    ops_.push_back(std::move(op));
  }
  // The operators hold packed copies now: release the graph's, so weights are resident once.
  for (TensorId t = 0; t < graph_.num_tensors(); ++t) {
    Tensor& tensor = graph_.mutable_tensor(t);
    if (tensor.kind != TensorKind::kParameter) continue;
    report_.parameter_bytes += tensor.data.size() * sizeof(float);
    std::vector<float>().swap(tensor.data);
  }

  ASSIGN_OR_RETURN(ActivationBuffers buffers,
                   ComputeActivationBuffers(graph_, keep, alias, in_place));
  ASSIGN_OR_RETURN(MemoryPlan plan, PlanMemory(buffers.records));
  ASSIGN_OR_RETURN(report_.lower_bound_bytes, LowerBound(buffers.records));
  ASSIGN_OR_RETURN(MemoryPlan no_reuse, PlanMemoryNoReuse(buffers.records));
  report_.arena_bytes = plan.high_water_mark;
  report_.no_reuse_bytes = no_reuse.high_water_mark;
  report_.buffers = buffers.records.size();
  for (int j : plan.in_place_of) report_.in_place += j >= 0 ? 1 : 0;

  // XNNPACK's kernels may read up to XNN_EXTRA_BYTES (16) past the end of a tensor; one more
  // alignment unit of slack keeps the arena's last buffer within the allocation.
  const size_t bytes = (plan.high_water_mark + kDefaultArenaAlignment - 1) /
                           kDefaultArenaAlignment * kDefaultArenaAlignment +
                       kDefaultArenaAlignment;
  arena_.reset(
      std::aligned_alloc(kDefaultArenaAlignment, bytes == 0 ? kDefaultArenaAlignment : bytes));
  ENSURE_CODE(arena_ != nullptr, kResourceExhausted, "engine: could not allocate an arena of ",
              bytes, " bytes");
  char* base = static_cast<char*>(arena_.get());
  tensor_ptr_.assign(static_cast<size_t>(graph_.num_tensors()), nullptr);
  for (size_t t = 0; t < tensor_ptr_.size(); ++t) {
    const int b = buffers.buffer_of[t];
    if (b >= 0)
      tensor_ptr_[t] = reinterpret_cast<float*>(base + plan.offsets[static_cast<size_t>(b)]);
  }

  // Bind every operator to its arena addresses once.
  for (NodeId n = 0; n < num_nodes; ++n) {
    const Node& node = graph_.node(n);
    std::vector<const float*> in;
    for (TensorId t : ActivationInputs(graph_, node))
      in.push_back(tensor_ptr_[static_cast<size_t>(t)]);
    Status s = ops_[static_cast<size_t>(n)].Setup(in, tensor_ptr_[static_cast<size_t>(node.output)],
                                                  pool_);
    if (!s.ok()) return s.WithContext("engine: binding node '" + node.name + "'");
  }
  return Status::Ok();
}

float* Engine::input(size_t i) {
  return i < inputs_.size() ? tensor_ptr_[static_cast<size_t>(inputs_[i])] : nullptr;
}

const float* Engine::output(size_t i) const {
  return i < outputs_.size() ? tensor_ptr_[static_cast<size_t>(outputs_[i])] : nullptr;
}

const float* Engine::tensor_data(TensorId id) const {
  if (id < 0 || static_cast<size_t>(id) >= tensor_ptr_.size()) return nullptr;
  return tensor_ptr_[static_cast<size_t>(id)];
}

StatusOr<const float*> Engine::TensorData(const std::string& name) const {
  ASSIGN_OR_RETURN(TensorId id, graph_.FindTensor(name));
  const float* p = tensor_data(id);
  ENSURE(p != nullptr, "tensor '", name, "' is a parameter, not an activation");
  return p;
}

Status Engine::Run() { return RunNodes(0, graph_.num_nodes()); }

Status Engine::RunNodes(NodeId begin, NodeId end) {
  ENSURE(begin >= 0 && begin <= end && end <= graph_.num_nodes(), "engine: node range [", begin,
         ", ", end, ") is outside [0, ", graph_.num_nodes(), "]");
  for (NodeId n = begin; n < end; ++n) {
    Status s = ops_[static_cast<size_t>(n)].Run(pool_);
    if (!s.ok()) return s.WithContext("engine: node '" + graph_.node(n).name + "'");
  }
  return Status::Ok();
}

}  // namespace persephonee
