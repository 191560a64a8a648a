// The graph section of a model file and the parameter data in the weights section (internal to
// graph/). docs/model-format.md specifies the bytes.
#ifndef PERSEPHONEE_GRAPH_MODEL_CODEC_H_
#define PERSEPHONEE_GRAPH_MODEL_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"

namespace persephonee {
namespace model_io {

/// Limits a reader enforces on the graph section.
constexpr size_t kMaxNameLength = 1024;
constexpr uint32_t kMaxAttrs = 16;
constexpr uint32_t kMaxAttrValues = 16;
constexpr uint8_t kDtypeFloat32 = 0;
constexpr uint8_t kDtypeInt8Rows = 1;  ///< Version 2 and later.
constexpr uint8_t kAttrInts = 1;
constexpr uint8_t kAttrFloats = 2;

/// Bytes a parameter's data takes in the weights section: 4 per float32, or an exponent per row
/// and one byte per value for int8 rows.
uint64_t StoredBytes(const Tensor& parameter);

/// The format version a file of `graph` is written as: 1 if every parameter is float32, else 2.
uint32_t VersionFor(const Graph& graph);

/// Offsets (relative to the weights section) of each tensor's data: parameters in id order,
/// each at the next multiple of 64; 0 for other tensors. `weights_size` receives the section
/// size (the end of the last parameter's data).
std::vector<uint64_t> LayOutWeights(const Graph& graph, uint64_t* weights_size);

/// Appends the graph section of `graph` to `out`, with `weight_offsets` from LayOutWeights.
void EncodeGraphSection(const Graph& graph, const std::vector<uint64_t>& weight_offsets,
                        std::vector<uint8_t>* out);

/// Writes the parameter data of `graph` (little-endian float32, or int8 rows), at
/// `weights + offset` for the offsets of LayOutWeights (the padding between them must already
/// be zero). Int8-row parameters must be on their grid (ValidateStructure checks it).
void EncodeWeights(const Graph& graph, const std::vector<uint64_t>& weight_offsets,
                   uint8_t* weights);

/// Decodes a graph section of a file of format `version` and the parameter data it points into
/// `weights`, checking every count, length, id, enum and offset against its bounds before use.
/// The result's structure and shapes are not yet validated (FinalizeGraph does that); stored
/// activation shapes are returned in `stored_shapes` (one per tensor) for comparison after
/// inference.
Status DecodeGraph(const uint8_t* graph_section, size_t graph_size, const uint8_t* weights,
                   size_t weights_size, uint32_t version, const std::string& origin, Graph* graph,
                   std::vector<Shape>* stored_shapes);

}  // namespace model_io
}  // namespace persephonee

#endif  // PERSEPHONEE_GRAPH_MODEL_CODEC_H_
