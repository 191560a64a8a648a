#include "graph/model_codec.h"

#include <cstring>
#include <limits>
#include <unordered_set>
#include <utility>

#include "base/byte_io.h"
#include "graph/int8_rows.h"
#include "graph/model_format.h"
#include "graph/shape_inference.h"

namespace persephonee {
namespace model_io {

using byte_io::ByteReader;
using byte_io::ByteWriter;
namespace {

// Smallest encodings of a tensor and a node record (empty name, no dims, inputs or attrs):
// used to bound counts by the bytes that remain before anything is allocated.
constexpr size_t kMinTensorRecord = 4 + 4;
constexpr size_t kMinNodeRecord = 4 + 4 + 4 + 4;
constexpr size_t kMaxAttrKey = 64;

// One attribute as stored: a key and a short list of integers or floats.
struct Attr {
  std::string key;
  uint8_t type = kAttrInts;
  std::vector<int64_t> ints;
  std::vector<float> floats;
};

Attr Ints(const char* key, std::vector<int64_t> v) {
  Attr a;
  a.key = key;
  a.type = kAttrInts;
  a.ints = std::move(v);
  return a;
}

std::vector<int64_t> PadList(const Padding& p) { return {p.top, p.bottom, p.left, p.right}; }

std::vector<Attr> AttrList(const Node& n) {
  std::vector<Attr> list;
  if (const Conv2dAttrs* a = n.conv2d()) {
    list.push_back(Ints("out_channels", {a->out_channels}));
    list.push_back(Ints("kernel", {a->kernel_h, a->kernel_w}));
    list.push_back(Ints("stride", {a->stride_h, a->stride_w}));
    list.push_back(Ints("padding", PadList(a->padding)));
    list.push_back(Ints("dilation", {a->dilation_h, a->dilation_w}));
    list.push_back(Ints("groups", {a->groups}));
    list.push_back(Ints("activation", {static_cast<int64_t>(a->activation)}));
  } else if (const BatchNormAttrs* a = n.batch_norm()) {
    Attr eps;
    eps.key = "epsilon";
    eps.type = kAttrFloats;
    eps.floats = {a->epsilon};
    list.push_back(eps);
  } else if (const PoolAttrs* a = n.pool()) {
    list.push_back(Ints("kernel", {a->kernel_h, a->kernel_w}));
    list.push_back(Ints("stride", {a->stride_h, a->stride_w}));
    list.push_back(Ints("padding", PadList(a->padding)));
    list.push_back(Ints("count_include_pad", {a->count_include_pad ? 1 : 0}));
  } else if (const FullyConnectedAttrs* a = n.fully_connected()) {
    list.push_back(Ints("out_features", {a->out_features}));
    list.push_back(Ints("activation", {static_cast<int64_t>(a->activation)}));
  }
  return list;
}

// Looks attributes up by key, checking each is used once and has the expected form.
class AttrReader {
 public:
  AttrReader(std::vector<Attr> attrs, std::string at)
      : attrs_(std::move(attrs)), at_(std::move(at)) {}

  // Reads `n` int32 values of key `key` into `out`, each in [lo, hi].
  Status Int32s(const char* key, size_t n, int64_t lo, int64_t hi, int32_t* const* out) {
    ASSIGN_OR_RETURN(const Attr* a, Find(key, kAttrInts, n));
    for (size_t i = 0; i < n; ++i) {
      ENSURE_CODE(a->ints[i] >= lo && a->ints[i] <= hi, kDataLoss, at_, "attribute '", key,
                  "' value ", a->ints[i], " is outside [", lo, ", ", hi, "]");
      *out[i] = static_cast<int32_t>(a->ints[i]);
    }
    return Status::Ok();
  }
  Status Float(const char* key, float* out) {
    ASSIGN_OR_RETURN(const Attr* a, Find(key, kAttrFloats, 1));
    *out = a->floats[0];
    return Status::Ok();
  }
  // Every stored attribute must have been read.
  Status AllUsed() const {
    for (size_t i = 0; i < attrs_.size(); ++i) {
      ENSURE_CODE(used_.count(i), kDataLoss, at_, "unknown attribute '", attrs_[i].key, "'");
    }
    return Status::Ok();
  }

 private:
  StatusOr<const Attr*> Find(const char* key, uint8_t type, size_t n) {
    for (size_t i = 0; i < attrs_.size(); ++i) {
      if (attrs_[i].key != key) continue;
      ENSURE_CODE(!used_.count(i), kDataLoss, at_, "attribute '", key, "' appears twice");
      used_.insert(i);
      const Attr& a = attrs_[i];
      const size_t count = a.type == kAttrInts ? a.ints.size() : a.floats.size();
      ENSURE_CODE(a.type == type && count == n, kDataLoss, at_, "attribute '", key, "' must be ", n,
                  (type == kAttrInts ? " integer(s)" : " float(s)"));
      return &a;
    }
    return Error(StatusCode::kDataLoss, at_, "attribute '", key, "' is missing");
  }

  std::vector<Attr> attrs_;
  std::unordered_set<size_t> used_;
  std::string at_;
};

constexpr int64_t kI32Max = std::numeric_limits<int32_t>::max();

Status DecodeAttrs(OpType op, std::vector<Attr> list, const std::string& at, NodeAttrs* out) {
  AttrReader r(std::move(list), at);
  switch (op) {
    case OpType::kConv2d: {
      Conv2dAttrs a;
      int32_t act = 0;
      int32_t* one[] = {&a.out_channels};
      int32_t* kernel[] = {&a.kernel_h, &a.kernel_w};
      int32_t* stride[] = {&a.stride_h, &a.stride_w};
      int32_t* pad[] = {&a.padding.top, &a.padding.bottom, &a.padding.left, &a.padding.right};
      int32_t* dilation[] = {&a.dilation_h, &a.dilation_w};
      int32_t* groups[] = {&a.groups};
      int32_t* activation[] = {&act};
      RETURN_IF_ERROR(r.Int32s("out_channels", 1, 1, kI32Max, one));
      RETURN_IF_ERROR(r.Int32s("kernel", 2, 1, kI32Max, kernel));
      RETURN_IF_ERROR(r.Int32s("stride", 2, 1, kI32Max, stride));
      RETURN_IF_ERROR(r.Int32s("padding", 4, 0, kI32Max, pad));
      RETURN_IF_ERROR(r.Int32s("dilation", 2, 1, kI32Max, dilation));
      RETURN_IF_ERROR(r.Int32s("groups", 1, 1, kI32Max, groups));
      RETURN_IF_ERROR(r.Int32s("activation", 1, 0, 2, activation));
      a.activation = static_cast<Activation>(act);
      *out = a;
      break;
    }
    case OpType::kBatchNorm: {
      BatchNormAttrs a;
      RETURN_IF_ERROR(r.Float("epsilon", &a.epsilon));
      *out = a;
      break;
    }
    case OpType::kMaxPool:
    case OpType::kAvgPool: {
      PoolAttrs a;
      int32_t include = 0;
      int32_t* kernel[] = {&a.kernel_h, &a.kernel_w};
      int32_t* stride[] = {&a.stride_h, &a.stride_w};
      int32_t* pad[] = {&a.padding.top, &a.padding.bottom, &a.padding.left, &a.padding.right};
      int32_t* include_pad[] = {&include};
      RETURN_IF_ERROR(r.Int32s("kernel", 2, 1, kI32Max, kernel));
      RETURN_IF_ERROR(r.Int32s("stride", 2, 1, kI32Max, stride));
      RETURN_IF_ERROR(r.Int32s("padding", 4, 0, kI32Max, pad));
      RETURN_IF_ERROR(r.Int32s("count_include_pad", 1, 0, 1, include_pad));
      a.count_include_pad = include != 0;
      *out = a;
      break;
    }
    case OpType::kFullyConnected: {
      FullyConnectedAttrs a;
      int32_t act = 0;
      int32_t* features[] = {&a.out_features};
      int32_t* activation[] = {&act};
      RETURN_IF_ERROR(r.Int32s("out_features", 1, 1, kI32Max, features));
      RETURN_IF_ERROR(r.Int32s("activation", 1, 0, 2, activation));
      a.activation = static_cast<Activation>(act);
      *out = a;
      break;
    }
    default:
      *out = std::monostate();
      break;
  }
  return r.AllUsed();
}

constexpr bool kLittleEndianHost = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

void FloatsToLe(const float* src, size_t n, uint8_t* dst) {
  if (kLittleEndianHost) {
    std::memcpy(dst, src, n * sizeof(float));
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &src[i], 4);
    for (int b = 0; b < 4; ++b) dst[4 * i + b] = static_cast<uint8_t>(bits >> (8 * b));
  }
}

void LeToFloats(const uint8_t* src, size_t n, float* dst) {
  if (kLittleEndianHost) {
    std::memcpy(dst, src, n * sizeof(float));
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits = 0;
    for (int b = 0; b < 4; ++b) bits |= static_cast<uint32_t>(src[4 * i + b]) << (8 * b);
    std::memcpy(&dst[i], &bits, 4);
  }
}

Status DecodeTensor(ByteReader* r, const uint8_t* weights, size_t weights_size, uint32_t version,
                    Tensor* t, Shape* stored) {
  const size_t start = r->pos();
  RETURN_IF_ERROR(r->Str(&t->name, kMaxNameLength, "tensor name"));
  const std::string at =
      internal::StrCat(r->region(), ": tensor '", t->name, "' (at byte ", start, "): ");
  uint8_t kind, dtype, rank, reserved;
  RETURN_IF_ERROR(r->U8(&kind, "tensor kind"));
  RETURN_IF_ERROR(r->U8(&dtype, "tensor dtype"));
  RETURN_IF_ERROR(r->U8(&rank, "tensor rank"));
  RETURN_IF_ERROR(r->U8(&reserved, "tensor reserved byte"));
  ENSURE_CODE(kind <= static_cast<uint8_t>(TensorKind::kOutput), kDataLoss, at, "unknown kind ",
              static_cast<int>(kind));
  const uint8_t max_dtype = version >= 2 ? kDtypeInt8Rows : kDtypeFloat32;
  ENSURE_CODE(dtype <= max_dtype, kDataLoss, at, "unknown dtype ", static_cast<int>(dtype),
              " (version ", version, " has 0 = float32",
              (version >= 2 ? " and 1 = int8 rows)" : " only; 1 = int8 rows needs version 2)"));
  ENSURE_CODE(rank <= kMaxRank, kDataLoss, at, "rank ", static_cast<int>(rank), " exceeds ",
              kMaxRank);
  ENSURE_CODE(reserved == 0, kDataLoss, at, "reserved byte is ", static_cast<int>(reserved));
  t->kind = static_cast<TensorKind>(kind);
  Shape shape(rank);
  int64_t elements = 1;
  for (uint8_t i = 0; i < rank; ++i) {
    RETURN_IF_ERROR(r->I64(&shape[i], "tensor dimension"));
    ENSURE_CODE(shape[i] >= 1 && elements <= kMaxTensorElements / shape[i], kDataLoss, at,
                "dimension ", static_cast<int>(i), " is ", shape[i],
                " (dimensions must be >= 1, at most 2^40 elements)");
    elements *= shape[i];
  }
  if (t->kind == TensorKind::kInput || t->kind == TensorKind::kParameter) {
    t->shape = shape;
  } else {
    *stored = shape;  // re-inferred after loading and compared
  }
  if (t->kind != TensorKind::kParameter) {
    ENSURE_CODE(dtype == kDtypeFloat32, kDataLoss, at, "dtype ", static_cast<int>(dtype),
                " is for parameters only (other tensors are 0 = float32)");
    return Status::Ok();
  }
  t->storage = dtype == kDtypeInt8Rows ? ParameterStorage::kInt8Rows : ParameterStorage::kFloat32;
  uint64_t offset, bytes;
  RETURN_IF_ERROR(r->U64(&offset, "parameter data offset"));
  RETURN_IF_ERROR(r->U64(&bytes, "parameter data size"));
  const uint64_t expected = StoredBytes(*t);
  ENSURE_CODE(bytes == expected, kDataLoss, at, "data size ", bytes, " bytes does not match shape ",
              ShapeToString(shape), " stored as ", ParameterStorageName(t->storage), " (", expected,
              " bytes)");
  ENSURE_CODE(offset % kModelAlignment == 0, kDataLoss, at, "data offset ", offset,
              " is not a multiple of ", kModelAlignment);
  ENSURE_CODE(offset <= weights_size && bytes <= weights_size - offset, kDataLoss, at, "data [",
              offset, ", +", bytes, ") lies outside the weights section (", weights_size,
              " bytes)");
  t->data.resize(static_cast<size_t>(elements));
  if (t->storage == ParameterStorage::kInt8Rows) {
    size_t rows, cols;
    Int8RowsGeometry(t->shape, &rows, &cols);
    return DecodeInt8Rows(weights + offset, rows, cols, t->data.data(), at);
  }
  LeToFloats(weights + offset, static_cast<size_t>(elements), t->data.data());
  return Status::Ok();
}

Status DecodeNode(ByteReader* r, uint32_t tensor_count, Node* n) {
  const size_t start = r->pos();
  RETURN_IF_ERROR(r->Str(&n->name, kMaxNameLength, "node name"));
  uint8_t op, input_count;
  uint16_t reserved;
  RETURN_IF_ERROR(r->U8(&op, "node op"));
  const std::string at =
      internal::StrCat(r->region(), ": node '", n->name, "' (at byte ", start, "): ");
  ENSURE_CODE(op < kNumOpTypes, kDataLoss, at, "unknown op ", static_cast<int>(op));
  n->op = static_cast<OpType>(op);
  RETURN_IF_ERROR(r->U8(&input_count, "node input count"));
  RETURN_IF_ERROR(r->U16(&reserved, "node reserved bytes"));
  ENSURE_CODE(input_count >= 1 && input_count <= 5, kDataLoss, at, "input count ",
              static_cast<int>(input_count), " is not in [1, 5]");
  ENSURE_CODE(reserved == 0, kDataLoss, at, "reserved bytes are ", reserved);
  for (uint8_t i = 0; i < input_count; ++i) {
    uint32_t id;
    RETURN_IF_ERROR(r->U32(&id, "node input id"));
    ENSURE_CODE(id < tensor_count, kDataLoss, at, "input ", static_cast<int>(i), " is tensor ", id,
                ", but there are ", tensor_count, " tensors");
    n->inputs.push_back(static_cast<TensorId>(id));
  }
  uint32_t output, attr_count;
  RETURN_IF_ERROR(r->U32(&output, "node output id"));
  ENSURE_CODE(output < tensor_count, kDataLoss, at, "output is tensor ", output, ", but there are ",
              tensor_count, " tensors");
  n->output = static_cast<TensorId>(output);
  RETURN_IF_ERROR(r->U32(&attr_count, "node attribute count"));
  ENSURE_CODE(attr_count <= kMaxAttrs, kDataLoss, at, attr_count, " attributes, more than ",
              kMaxAttrs);
  std::vector<Attr> attrs(attr_count);
  for (Attr& a : attrs) {
    uint32_t count;
    RETURN_IF_ERROR(r->Str(&a.key, kMaxAttrKey, "attribute key"));
    RETURN_IF_ERROR(r->U8(&a.type, "attribute type"));
    RETURN_IF_ERROR(r->U32(&count, "attribute value count"));
    ENSURE_CODE(a.type == kAttrInts || a.type == kAttrFloats, kDataLoss, at, "attribute '", a.key,
                "' has unknown type ", static_cast<int>(a.type));
    ENSURE_CODE(count <= kMaxAttrValues, kDataLoss, at, "attribute '", a.key, "' has ", count,
                " values, more than ", kMaxAttrValues);
    for (uint32_t i = 0; i < count; ++i) {
      if (a.type == kAttrInts) {
        int64_t v;
        RETURN_IF_ERROR(r->I64(&v, "attribute value"));
        a.ints.push_back(v);
      } else {
        float v;
        RETURN_IF_ERROR(r->F32(&v, "attribute value"));
        a.floats.push_back(v);
      }
    }
  }
  return DecodeAttrs(n->op, std::move(attrs), at, &n->attrs);
}

}  // namespace

uint64_t StoredBytes(const Tensor& t) {
  if (t.storage == ParameterStorage::kInt8Rows) {
    size_t rows, cols;
    Int8RowsGeometry(t.shape, &rows, &cols);
    return Int8RowsBytes(rows, cols);
  }
  return static_cast<uint64_t>(NumElements(t.shape)) * sizeof(float);
}

uint32_t VersionFor(const Graph& g) {
  for (const Tensor& t : g.tensors()) {
    if (t.storage != ParameterStorage::kFloat32) return kModelFormatVersion;
  }
  return kModelFormatFloat32Version;
}

std::vector<uint64_t> LayOutWeights(const Graph& g, uint64_t* weights_size) {
  std::vector<uint64_t> offsets(static_cast<size_t>(g.num_tensors()), 0);
  uint64_t end = 0;
  for (TensorId t = 0; t < g.num_tensors(); ++t) {
    const Tensor& tensor = g.tensor(t);
    if (tensor.kind != TensorKind::kParameter) continue;
    const uint64_t offset = (end + kModelAlignment - 1) / kModelAlignment * kModelAlignment;
    offsets[static_cast<size_t>(t)] = offset;
    end = offset + StoredBytes(tensor);
  }
  *weights_size = end;
  return offsets;
}

void EncodeGraphSection(const Graph& g, const std::vector<uint64_t>& weight_offsets,
                        std::vector<uint8_t>* out) {
  ByteWriter w(out);
  w.U32(static_cast<uint32_t>(g.num_tensors()));
  w.U32(static_cast<uint32_t>(g.num_nodes()));
  for (TensorId t = 0; t < g.num_tensors(); ++t) {
    const Tensor& tensor = g.tensor(t);
    w.Str(tensor.name);
    w.U8(static_cast<uint8_t>(tensor.kind));
    w.U8(tensor.storage == ParameterStorage::kInt8Rows ? kDtypeInt8Rows : kDtypeFloat32);
    w.U8(static_cast<uint8_t>(tensor.shape.size()));
    w.U8(0);
    for (int64_t d : tensor.shape) w.I64(d);
    if (tensor.kind == TensorKind::kParameter) {
      w.U64(weight_offsets[static_cast<size_t>(t)]);
      w.U64(StoredBytes(tensor));
    }
  }
  for (const Node& n : g.nodes()) {
    w.Str(n.name);
    w.U8(static_cast<uint8_t>(n.op));
    w.U8(static_cast<uint8_t>(n.inputs.size()));
    w.U16(0);
    for (TensorId t : n.inputs) w.U32(static_cast<uint32_t>(t));
    w.U32(static_cast<uint32_t>(n.output));
    std::vector<Attr> attrs = AttrList(n);
    w.U32(static_cast<uint32_t>(attrs.size()));
    for (const Attr& a : attrs) {
      w.Str(a.key);
      w.U8(a.type);
      if (a.type == kAttrInts) {
        w.U32(static_cast<uint32_t>(a.ints.size()));
        for (int64_t v : a.ints) w.I64(v);
      } else {
        w.U32(static_cast<uint32_t>(a.floats.size()));
        for (float v : a.floats) w.F32(v);
      }
    }
  }
}

void EncodeWeights(const Graph& g, const std::vector<uint64_t>& weight_offsets, uint8_t* weights) {
  for (TensorId t = 0; t < g.num_tensors(); ++t) {
    const Tensor& tensor = g.tensor(t);
    if (tensor.kind != TensorKind::kParameter) continue;
    uint8_t* out = weights + weight_offsets[static_cast<size_t>(t)];
    if (tensor.storage == ParameterStorage::kInt8Rows) {
      size_t rows, cols;
      Int8RowsGeometry(tensor.shape, &rows, &cols);
      EncodeInt8Rows(tensor.data.data(), rows, cols, out);
    } else {
      FloatsToLe(tensor.data.data(), tensor.data.size(), out);
    }
  }
}

Status DecodeGraph(const uint8_t* graph_section, size_t graph_size, const uint8_t* weights,
                   size_t weights_size, uint32_t version, const std::string& origin, Graph* graph,
                   std::vector<Shape>* stored_shapes) {
  ByteReader r(graph_section, graph_size, "model '" + origin + "': graph section");
  uint32_t tensor_count, node_count;
  RETURN_IF_ERROR(r.U32(&tensor_count, "tensor count"));
  RETURN_IF_ERROR(r.U32(&node_count, "node count"));
  ENSURE_CODE(tensor_count <= r.remaining() / kMinTensorRecord &&
                  tensor_count <= static_cast<uint32_t>(std::numeric_limits<int32_t>::max()),
              kDataLoss, r.region(), ": ", tensor_count, " tensors cannot fit in its ", graph_size,
              " bytes");
  ENSURE_CODE(node_count <= r.remaining() / kMinNodeRecord, kDataLoss, r.region(), ": ", node_count,
              " nodes cannot fit in its ", graph_size, " bytes");
  Graph g;
  stored_shapes->assign(tensor_count, Shape());
  for (uint32_t i = 0; i < tensor_count; ++i) {
    Tensor t;
    RETURN_IF_ERROR(DecodeTensor(&r, weights, weights_size, version, &t, &(*stored_shapes)[i]));
    g.AddTensor(std::move(t));
  }
  for (uint32_t i = 0; i < node_count; ++i) {
    Node n;
    RETURN_IF_ERROR(DecodeNode(&r, tensor_count, &n));
    g.AddNode(std::move(n));
  }
  ENSURE_CODE(r.remaining() == 0, kDataLoss, r.region(), ": ", r.remaining(),
              " unexpected bytes after the last node");
  *graph = std::move(g);
  return Status::Ok();
}

}  // namespace model_io
}  // namespace persephonee
