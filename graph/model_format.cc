#include "graph/model_format.h"

#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include "base/file_io.h"
#include "graph/model_codec.h"
#include "graph/model_sections.h"
#include "graph/shape_inference.h"

namespace persephonee {

using model_io::Section;

namespace {

StatusOr<std::vector<uint8_t>> SerializeUnguarded(const Graph& graph) {
  RETURN_IF_ERROR(ValidateStructure(graph).WithContext("cannot serialize an invalid graph"));
  uint64_t weights_size = 0;
  const std::vector<uint64_t> offsets = model_io::LayOutWeights(graph, &weights_size);

  // Header and section table are written last, once the sections' places and CRCs are known.
  std::vector<uint8_t> file(model_io::kHeaderSize +
                            model_io::kNumSections * model_io::kSectionEntrySize);
  Section graph_section;
  graph_section.type = kSectionGraph;
  graph_section.offset = file.size();  // 128: already a multiple of 64
  model_io::EncodeGraphSection(graph, offsets, &file);
  graph_section.size = file.size() - graph_section.offset;

  Section weights_section;
  weights_section.type = kSectionWeights;
  weights_section.offset = (file.size() + kModelAlignment - 1) / kModelAlignment * kModelAlignment;
  weights_section.size = weights_size;
  file.resize(weights_section.offset + weights_size, 0);
  model_io::EncodeWeights(graph, offsets, file.data() + weights_section.offset);

  model_io::WriteHeader({graph_section, weights_section}, model_io::VersionFor(graph), &file);
  return file;
}

StatusOr<Graph> ParseUnguarded(const uint8_t* data, size_t size, const std::string& origin) {
  uint32_t version = 0;
  ASSIGN_OR_RETURN(std::vector<Section> sections,
                   model_io::ReadLayout(data, size, origin, &version));
  const Section* graph_section = nullptr;
  const Section* weights_section = nullptr;
  for (const Section& s : sections) {
    RETURN_IF_ERROR(model_io::VerifySection(data, s, origin));
    (s.type == kSectionGraph ? graph_section : weights_section) = &s;
  }
  Graph graph;
  std::vector<Shape> stored_shapes;
  RETURN_IF_ERROR(model_io::DecodeGraph(data + graph_section->offset, graph_section->size,
                                        data + weights_section->offset, weights_section->size,
                                        version, origin, &graph, &stored_shapes));
  RETURN_IF_ERROR(
      FinalizeGraph(&graph).WithContext("model '" + origin + "' holds an invalid graph"));
  for (TensorId t = 0; t < graph.num_tensors(); ++t) {
    const Tensor& tensor = graph.tensor(t);
    if (tensor.kind != TensorKind::kActivation && tensor.kind != TensorKind::kOutput) continue;
    ENSURE(stored_shapes[static_cast<size_t>(t)] == tensor.shape, "model '", origin,
           "' holds an invalid graph: tensor '", tensor.name, "' is stored with shape ",
           ShapeToString(stored_shapes[static_cast<size_t>(t)]), ", inference gives ",
           ShapeToString(tensor.shape));
  }
  return graph;
}

Status OutOfMemory(const std::string& what) {
  return Error(StatusCode::kResourceExhausted, what, ": out of memory");
}

}  // namespace

StatusOr<std::vector<uint8_t>> SerializeGraph(const Graph& graph) {
  try {
    return SerializeUnguarded(graph);
  } catch (const std::bad_alloc&) {
    return OutOfMemory("cannot serialize the graph");
  }
}

StatusOr<Graph> ParseGraph(const uint8_t* data, size_t size, const std::string& origin) {
  // Every allocation is bounded by the input's size, but memory may still run out.
  try {
    return ParseUnguarded(data, size, origin);
  } catch (const std::bad_alloc&) {
    return OutOfMemory("cannot load model '" + origin + "'");
  }
}

Status SaveGraph(const Graph& graph, const std::string& path) {
  ENSURE(!path.empty(), "SaveGraph: empty path");
  ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, SerializeGraph(graph));
  // `<path>.tmp.<pid>.<n>`, fsync, rename, fsync of the directory (base/file_io.h).
  Status written = WriteFileAtomically(path, bytes.data(), bytes.size());
  if (!written.ok()) return written.WithContext("cannot save '" + path + "'");
  return Status::Ok();
}

StatusOr<Graph> LoadGraph(const std::string& path) {
  // A regular file only (a FIFO is refused without blocking), of at most kMaxModelFileBytes.
  StatusOr<std::string> read = ReadFile(path, kMaxModelFileBytes);
  if (!read.ok() && read.status().code() == StatusCode::kNotFound) {
    return Error(StatusCode::kNotFound, "cannot open '", path, "': ", ErrnoText(ENOENT));
  }
  ASSIGN_OR_RETURN(const std::string bytes, std::move(read));
  return ParseGraph(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
}

}  // namespace persephonee
