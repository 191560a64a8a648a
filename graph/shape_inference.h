// Validation and shape inference for a Graph.
//
// FinalizeGraph() is what makes a Graph trustworthy; the builder, the loader and the passes all
// end with it. It runs three checks, in this order, and stops at the first failure:
//   1. ValidateStructure: names unique and non-empty; ids in range; each op has the inputs and
//      attributes it needs, parameters where parameters belong; every activation and output is
//      written by exactly one node, before any node reads it (execution order = node order);
//      graph inputs and parameters are read by some node; at least one input and one output.
//   2. InferShapes: each node's output shape from its inputs' shapes and its attributes, in
//      order, checking every constraint of the op (channel counts, kernel fits, groups divide).
//   3. ValidateParameterData: every parameter value is finite, BatchNorm variances are >= 0.
// Every message starts with the node (or tensor) at fault: "node 'layer2.0.conv1' (Conv2d):
// input 'layer1.1.out' has 64 channels, weights expect 32".
#ifndef PERSEPHONEE_GRAPH_SHAPE_INFERENCE_H_
#define PERSEPHONEE_GRAPH_SHAPE_INFERENCE_H_

#include "base/status.h"
#include "graph/graph.h"

namespace persephonee {

/// Largest number of elements a tensor may have (2^40); keeps size arithmetic in int64.
constexpr int64_t kMaxTensorElements = int64_t{1} << 40;
/// Largest rank a tensor may have.
constexpr int kMaxRank = 8;

/// The checks of step 1 that concern one node alone: op and attributes valid, the right number
/// of inputs, ids in range, parameters exactly in the parameter slots, output an activation or
/// output tensor. Does not check execution order or names.
Status ValidateNodeInputs(const Graph& graph, const Node& node);

/// Checks the structure of `graph` (step 1 above) without looking at activation shapes.
Status ValidateStructure(const Graph& graph);

/// The output shape of node `id`, from the (already known) shapes of its inputs. The graph must
/// have passed ValidateStructure.
StatusOr<Shape> InferNodeOutputShape(const Graph& graph, NodeId id);

/// Infers every activation and output shape, node by node (step 2). The graph must have passed
/// ValidateStructure.
Status InferShapes(Graph* graph);

/// Checks parameter values (step 3): finite, BatchNorm running variances non-negative.
Status ValidateParameterData(const Graph& graph);

/// Steps 1-3.
Status FinalizeGraph(Graph* graph);

/// Sets the batch size (dimension 0) of every graph input to `batch` and re-infers all shapes.
/// Fails (leaving `graph` unchanged) if an input has rank 0 or the new shapes are invalid.
Status SetBatchSize(Graph* graph, int64_t batch);

}  // namespace persephonee

#endif  // PERSEPHONEE_GRAPH_SHAPE_INFERENCE_H_
