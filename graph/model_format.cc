#include "graph/model_format.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>

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

namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

// write() all of [data, data + size), retrying on EINTR and short writes.
bool WriteAll(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Status SaveGraph(const Graph& graph, const std::string& path) {
  ENSURE(!path.empty(), "SaveGraph: empty path");
  ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, SerializeGraph(graph));

  // A fresh temporary name in the same directory (so rename() stays on one file system).
  static std::atomic<uint64_t> counter{0};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    tmp = internal::StrCat(path, ".tmp.", ::getpid(), '.', counter.fetch_add(1));
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    const int err = errno;
    return Error(err == ENOENT ? StatusCode::kNotFound : StatusCode::kInternal, "cannot save '",
                 path, "': cannot create '", tmp, "': ", ErrnoText(err));
  }
  auto fail = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return Error(StatusCode::kInternal, "cannot save '", path, "': ", what, " '", tmp,
                 "' failed: ", ErrnoText(err));
  };
  if (!WriteAll(fd, bytes.data(), bytes.size())) return fail("write to");
  if (::fsync(fd) != 0) return fail("fsync of");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Error(StatusCode::kInternal, "cannot save '", path, "': close of '", tmp,
                 "' failed: ", ErrnoText(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Error(StatusCode::kInternal, "cannot save '", path, "': rename from '", tmp,
                 "' failed: ", ErrnoText(err));
  }
  // Make the rename itself durable.
  const std::string dir = DirectoryOf(path);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    const int rc = ::fsync(dir_fd);
    const int err = errno;
    ::close(dir_fd);
    if (rc != 0 && err != EINVAL) {
      return Error(StatusCode::kInternal, "saved '", path, "' but fsync of directory '", dir,
                   "' failed: ", ErrnoText(err));
    }
  }
  return Status::Ok();
}

StatusOr<Graph> LoadGraph(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return Error(err == ENOENT ? StatusCode::kNotFound : StatusCode::kInternal, "cannot open '",
                 path, "': ", ErrnoText(err));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error(StatusCode::kInvalidArgument, "'", path, "' is not a regular file");
  }
  std::vector<uint8_t> bytes;
  try {
    bytes.resize(static_cast<size_t>(st.st_size));
  } catch (const std::bad_alloc&) {
    ::close(fd);
    return OutOfMemory(internal::StrCat("cannot read '", path, "' (", st.st_size, " bytes)"));
  }
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // error, or the file shrank while being read
    got += static_cast<size_t>(n);
  }
  const int err = errno;
  ::close(fd);
  if (got != bytes.size()) {
    return Error(StatusCode::kDataLoss, "cannot read '", path, "': got ", got, " of ", bytes.size(),
                 " bytes (", ErrnoText(err), ")");
  }
  return ParseGraph(bytes.data(), bytes.size(), path);
}

}  // namespace persephonee
