// From a graph to the memory planner's records: which activation buffers exist and when each
// is alive.
//
// Steps are node indices (execution order). A graph input is written before step 0; a node's
// output is written at its own step. Each buffer lives until the last node that reads it; graph
// outputs and tensors the caller keeps live to the last step. A Flatten's output is its input
// under another shape, so the two share one buffer. A node that may run in place (an
// element-wise op) gets a hint naming the buffer of an input whose last reader it is; the
// planner grants it only when the lifetimes allow. Parameters are not planned: the operators
// own their packed copies.
#ifndef PERSEPHONEE_ENGINE_LIFETIMES_H_
#define PERSEPHONEE_ENGINE_LIFETIMES_H_

#include <vector>

#include "base/status.h"
#include "engine/memory_planner.h"
#include "graph/graph.h"

namespace persephonee {

/// The planner's records and the tensor -> buffer map.
struct ActivationBuffers {
  std::vector<BufferRecord> records;
  std::vector<int> buffer_of;  ///< Per tensor: its record index, or -1 for parameters.
};

/// Builds the records for a finalized graph. `keep` lists tensors that must live to the end;
/// `alias[n]` marks nodes whose output shares their input's buffer (Flatten); `in_place[n]`
/// marks nodes allowed to write over an input. Both vectors have one entry per node.
StatusOr<ActivationBuffers> ComputeActivationBuffers(const Graph& graph,
                                                     const std::vector<TensorId>& keep,
                                                     const std::vector<bool>& alias,
                                                     const std::vector<bool>& in_place);

}  // namespace persephonee

#endif  // PERSEPHONEE_ENGINE_LIFETIMES_H_
