// The persephonee model file: one Graph with its weights, checksummed, weights 64-byte aligned
// so the file can be memory-mapped. docs/model-format.md specifies the bytes.
//
// Saving never leaves a half-written file at `path`: the bytes go to a temporary file in the
// same directory, which is fsynced and then renamed over `path` (the directory is fsynced too).
// Loading trusts nothing: magic, version, every offset, length and count is checked against the
// bounds it must lie in before it is used, every section's CRC32 is verified before it is
// parsed, and the graph is finally validated and its shapes inferred (FinalizeGraph). Any bad
// input gives a Status:
//   kInvalidArgument  not a persephonee model (wrong magic), or the graph it holds is invalid
//   kUnimplemented    a format version this build does not read
//   kDataLoss         truncated, corrupt (checksum, bounds, malformed record)
//   kNotFound         the file does not exist
#ifndef PERSEPHONEE_GRAPH_MODEL_FORMAT_H_
#define PERSEPHONEE_GRAPH_MODEL_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"

namespace persephonee {

/// The 8 bytes every model file starts with.
constexpr char kModelMagic[8] = {'P', 'S', 'P', 'H', 'M', 'O', 'D', 'L'};
/// The newest format version this build reads and writes: version 2 adds int8 row storage of
/// parameters (ParameterStorage::kInt8Rows).
constexpr uint32_t kModelFormatVersion = 2;
/// The version of a file whose parameters are all float32. Such a file is written as version 1,
/// byte for byte as before version 2 existed, so older builds read it and its hash is unchanged.
constexpr uint32_t kModelFormatFloat32Version = 1;
/// Alignment of sections and of each parameter's data, in bytes.
constexpr size_t kModelAlignment = 64;
/// Section types in the section table.
constexpr uint32_t kSectionGraph = 1;
constexpr uint32_t kSectionWeights = 2;

/// The bytes of the model file for `graph` (which must be valid).
StatusOr<std::vector<uint8_t>> SerializeGraph(const Graph& graph);

/// Parses model-file bytes. `origin` names them in messages (a path, or "<memory>").
StatusOr<Graph> ParseGraph(const uint8_t* data, size_t size, const std::string& origin);

/// Writes `graph` to `path` atomically with WriteFileAtomically (base/file_io.h: temporary file
/// `<path>.tmp.<pid>.<n>`, fsync, rename, fsync of the directory). On failure `path` is
/// untouched and the temporary file removed.
Status SaveGraph(const Graph& graph, const std::string& path);

/// The largest model file LoadGraph reads (it reads the whole file into memory): 1 GiB, four
/// times VGG-16's float32 weights and twenty times ResNet-18's.
inline constexpr uint64_t kMaxModelFileBytes = uint64_t{1} << 30;

/// Reads and validates the model file at `path`. kInvalidArgument, without blocking, if it is
/// not a regular file (a directory, a FIFO, a device); kResourceExhausted if it is larger than
/// kMaxModelFileBytes; kNotFound if it does not exist.
StatusOr<Graph> LoadGraph(const std::string& path);

}  // namespace persephonee

#endif  // PERSEPHONEE_GRAPH_MODEL_FORMAT_H_
