// The bytes of a personalisation file: SerializePersonalisation and ParsePersonalisation
// (docs/personalisation-format.md). Values are written and read byte by byte, little-endian,
// so the code is right on any host byte order.
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>

#include "base/byte_io.h"
#include "graph/model_format.h"
#include "training/personalisation.h"
#include "training/personalisation_limits.h"

namespace persephonee {
namespace {

using namespace personalisation_limits;  // NOLINT: the limits are the format's vocabulary.

uint32_t Crc32(const uint8_t* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (size > 0) {
    const uInt chunk = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
    crc = crc32(crc, data, chunk);
    data += chunk;
    size -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

using Writer = byte_io::ByteWriter;

// u64 length, then the bytes.
void WriteBytes(Writer& w, const std::vector<uint8_t>& b) {
  w.U64(b.size());
  w.Raw(b);
}

// Reads little-endian values from the payload; every read checks the bounds first. Messages
// give file offsets (`base` is the payload's offset in the file).
class Reader {
 public:
  Reader(const uint8_t* data, size_t size, size_t base, const std::string& origin)
      : data_(data), size_(size), base_(base), origin_(origin) {}

  size_t remaining() const { return size_ - pos_; }
  size_t offset() const { return base_ + pos_; }
  const std::string& origin() const { return origin_; }

  Status U8(uint8_t* v, const char* what) {
    uint64_t x;
    RETURN_IF_ERROR(Le(&x, 1, what));
    *v = static_cast<uint8_t>(x);
    return Status::Ok();
  }
  Status U16(uint16_t* v, const char* what) {
    uint64_t x;
    RETURN_IF_ERROR(Le(&x, 2, what));
    *v = static_cast<uint16_t>(x);
    return Status::Ok();
  }
  Status U32(uint32_t* v, const char* what) {
    uint64_t x;
    RETURN_IF_ERROR(Le(&x, 4, what));
    *v = static_cast<uint32_t>(x);
    return Status::Ok();
  }
  Status U64(uint64_t* v, const char* what) { return Le(v, 8, what); }
  /// An i64 that must lie in [lo, hi].
  Status I64(int64_t* v, int64_t lo, int64_t hi, const char* what) {
    const size_t at = offset();
    uint64_t x;
    RETURN_IF_ERROR(Le(&x, 8, what));
    *v = static_cast<int64_t>(x);
    ENSURE_CODE(*v >= lo && *v <= hi, kDataLoss, origin_, ": ", what, " at byte ", at, " is ", *v,
                ", expected ", lo, " to ", hi);
    return Status::Ok();
  }
  Status F32(float* v, const char* what) {
    uint32_t bits;
    RETURN_IF_ERROR(U32(&bits, what));
    std::memcpy(v, &bits, 4);
    return Status::Ok();
  }
  Status F64(double* v, const char* what) {
    uint64_t bits;
    RETURN_IF_ERROR(U64(&bits, what));
    std::memcpy(v, &bits, 8);
    return Status::Ok();
  }
  /// A u32 count that must lie in [lo, hi] and, at `min_bytes` per item, fit what remains.
  Status Count(uint32_t* n, uint32_t lo, uint32_t hi, size_t min_bytes, const char* what) {
    const size_t at = offset();
    RETURN_IF_ERROR(U32(n, what));
    ENSURE_CODE(*n >= lo && *n <= hi, kDataLoss, origin_, ": ", what, " at byte ", at, " is ", *n,
                ", expected ", lo, " to ", hi);
    ENSURE_CODE(*n <= remaining() / min_bytes, kDataLoss, origin_, " is truncated: ", what,
                " at byte ", at, " is ", *n, " but only ", remaining(), " bytes remain");
    return Status::Ok();
  }
  /// A u32 length in [lo, hi], then that many bytes.
  Status Str(std::string* s, size_t lo, size_t hi, const char* what) {
    const size_t at = offset();
    uint32_t n;
    RETURN_IF_ERROR(U32(&n, what));
    ENSURE_CODE(n >= lo && n <= hi, kDataLoss, origin_, ": ", what, " at byte ", at, " has length ",
                n, ", expected ", lo, " to ", hi);
    RETURN_IF_ERROR(Need(n, what));
    s->assign(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return Status::Ok();
  }
  /// A u64 length, then that many bytes (returned in place).
  Status Bytes(const uint8_t** p, size_t* n, const char* what) {
    uint64_t length;
    RETURN_IF_ERROR(U64(&length, what));
    ENSURE_CODE(length <= remaining(), kDataLoss, origin_, " is truncated: ", what, " at byte ",
                offset() - 8, " has length ", length, " but only ", remaining(), " bytes remain");
    *p = data_ + pos_;
    *n = static_cast<size_t>(length);
    pos_ += *n;
    return Status::Ok();
  }
  /// `n` floats (the count already checked against what remains).
  Status Floats(std::vector<float>* v, size_t n, const char* what) {
    RETURN_IF_ERROR(Need(n * 4, what));
    v->resize(n);
    for (size_t i = 0; i < n; ++i) RETURN_IF_ERROR(F32(&(*v)[i], what));
    return Status::Ok();
  }
  Status Zero(uint64_t value, size_t at, const char* what) const {
    ENSURE_CODE(value == 0, kDataLoss, origin_, ": ", what, " at byte ", at, " is ", value,
                ", expected 0");
    return Status::Ok();
  }

 private:
  Status Need(size_t n, const char* what) const {
    ENSURE_CODE(n <= size_ - pos_, kDataLoss, origin_, " is truncated: ", what, " at byte ",
                offset(), " needs ", n, " bytes, ", size_ - pos_, " remain");
    return Status::Ok();
  }
  Status Le(uint64_t* v, int bytes, const char* what) {
    RETURN_IF_ERROR(Need(static_cast<size_t>(bytes), what));
    uint64_t x = 0;
    for (int i = 0; i < bytes; ++i) x |= static_cast<uint64_t>(data_[pos_ + i]) << (8 * i);
    pos_ += static_cast<size_t>(bytes);
    *v = x;
    return Status::Ok();
  }

  const uint8_t* data_;
  size_t size_;
  size_t base_;
  size_t pos_ = 0;
  const std::string& origin_;
};

std::string Hex32(uint32_t v) {
  char text[11];
  std::snprintf(text, sizeof(text), "0x%08x", v);
  return text;
}

uint64_t LoadLe(const uint8_t* p, int bytes) {
  uint64_t x = 0;
  for (int i = 0; i < bytes; ++i) x |= static_cast<uint64_t>(p[i]) << (8 * i);
  return x;
}

Status ParseExit(Reader& r, const std::string& origin, PersonalisedExit* exit) {
  ExitPoint& point = exit->point;
  RETURN_IF_ERROR(r.Str(&point.name, 1, kMaxNameBytes, "exit name"));
  const std::string context = "exit '" + point.name + "'";
  const uint8_t* head = nullptr;
  size_t head_size = 0;
  const Status status = [&]() -> Status {
    RETURN_IF_ERROR(r.Str(&point.tensor, 1, kMaxNameBytes, "exit tensor"));
    uint32_t rank;
    RETURN_IF_ERROR(r.Count(&rank, kFeatureRank, kFeatureRank, 8, "feature rank"));
    point.feature_shape.resize(rank);
    for (int64_t& d : point.feature_shape) {
      RETURN_IF_ERROR(r.I64(&d, 1, kMaxDim, "feature dimension"));
    }
    RETURN_IF_ERROR(r.I64(&point.backbone_macs, 0, kMaxMacs, "exit backbone MACs"));
    RETURN_IF_ERROR(r.F64(&point.flop_fraction, "FLOP fraction"));
    int64_t width;
    RETURN_IF_ERROR(r.I64(&width, 0, kMaxWidth, "head width"));
    point.width = static_cast<int>(width);
    RETURN_IF_ERROR(r.I64(&point.head_macs, 0, kMaxMacs, "head MACs"));
    RETURN_IF_ERROR(r.F32(&exit->threshold, "threshold"));
    RETURN_IF_ERROR(r.Bytes(&head, &head_size, "head model size"));
    return Status::Ok();
  }();
  // Reader messages name the file already; say which exit.
  if (!status.ok()) return status.WithContext(context);
  const size_t at = r.offset() - head_size;
  StatusOr<Graph> graph = ParseGraph(
      head, head_size, origin + ": exit '" + point.name + "' head at byte " + std::to_string(at));
  if (!graph.ok()) return graph.status();
  exit->head = std::move(graph).value();
  return Status::Ok();
}

Status ParseOptimizer(Reader& r, OptimizerState* opt) {
  RETURN_IF_ERROR(r.Str(&opt->name, 1, kMaxOptimizerNameBytes, "optimiser name"));
  RETURN_IF_ERROR(
      r.I64(&opt->step, 0, std::numeric_limits<int64_t>::max(), "optimiser step count"));
  uint32_t arrays;
  // An array takes at least 4 (name length) + 1 (name) + 8 (value count) bytes.
  RETURN_IF_ERROR(r.Count(&arrays, 0, kMaxOptimizerArrays, 13, "optimiser array count"));
  opt->arrays.resize(arrays);
  for (OptimizerArray& a : opt->arrays) {
    RETURN_IF_ERROR(r.Str(&a.name, 1, kMaxNameBytes, "optimiser array name"));
    const size_t at = r.offset();
    uint64_t count;
    RETURN_IF_ERROR(r.U64(&count, "optimiser array length"));
    ENSURE_CODE(count <= r.remaining() / 4, kDataLoss, r.origin(),
                " is truncated: optimiser array '", a.name, "' at byte ", at, " has ", count,
                " values but only ", r.remaining(), " bytes remain");
    RETURN_IF_ERROR(r.Floats(&a.values, static_cast<size_t>(count), "optimiser array values"));
  }
  return Status::Ok();
}

// Version 2's record after the optimiser: personalised final exit, prior, calibration.
Status ParsePersonalRecord(Reader& r, const std::string& origin, Personalisation* p) {
  size_t at = r.offset();
  uint8_t flag;
  RETURN_IF_ERROR(r.U8(&flag, "personal final flag"));
  ENSURE_CODE(flag <= 1, kDataLoss, origin, ": personal final flag at byte ", at, " is ", int{flag},
              ", expected 0 or 1");
  p->personal_final = flag == 1;
  at = r.offset();
  uint32_t prior;
  RETURN_IF_ERROR(r.Count(&prior, 0, kMaxClasses, 8, "prior count"));
  ENSURE_CODE(prior == 0 || prior == static_cast<uint32_t>(p->classes), kDataLoss, origin,
              ": prior count at byte ", at, " is ", prior, ", expected 0 or ", p->classes);
  p->prior.resize(prior);
  for (double& v : p->prior) RETURN_IF_ERROR(r.F64(&v, "prior"));
  at = r.offset();
  RETURN_IF_ERROR(r.U8(&flag, "calibration flag"));
  ENSURE_CODE(flag <= 1, kDataLoss, origin, ": calibration flag at byte ", at, " is ", int{flag},
              ", expected 0 or 1");
  if (flag == 1) {
    CalibrationRecord c;
    RETURN_IF_ERROR(r.F64(&c.epsilon, "calibration epsilon"));
    RETURN_IF_ERROR(r.F64(&c.delta, "calibration delta"));
    RETURN_IF_ERROR(r.F64(&c.bound, "calibration bound"));
    RETURN_IF_ERROR(r.I64(&c.samples, 0, int64_t{1} << 40, "calibration samples"));
    RETURN_IF_ERROR(r.I64(&c.labelled, 0, int64_t{1} << 40, "calibration labelled samples"));
    at = r.offset();
    RETURN_IF_ERROR(r.U8(&flag, "calibration exits flag"));
    ENSURE_CODE(flag <= 1, kDataLoss, origin, ": calibration exits flag at byte ", at, " is ",
                int{flag}, ", expected 0 or 1");
    c.exits_on = flag == 1;
    p->calibration = c;
  }
  return Status::Ok();
}

// The payload after the header (bounds and checksum already verified).
Status ParsePayload(Reader& r, const std::string& origin, uint32_t version, Personalisation* p) {
  uint32_t classes;
  RETURN_IF_ERROR(r.Count(&classes, 1, kMaxClasses, 1, "classes"));
  p->classes = static_cast<int>(classes);
  size_t at = r.offset();
  uint8_t measure;
  RETURN_IF_ERROR(r.U8(&measure, "confidence measure"));
  ENSURE_CODE(measure <= 1, kDataLoss, origin, ": confidence measure at byte ", at, " is ",
              int{measure}, ", expected 0 (max softmax) or 1 (entropy)");
  p->measure = static_cast<ConfidenceMeasure>(measure);
  at = r.offset();
  uint8_t has_optimizer;
  RETURN_IF_ERROR(r.U8(&has_optimizer, "optimiser flag"));
  ENSURE_CODE(has_optimizer <= 1, kDataLoss, origin, ": optimiser flag at byte ", at, " is ",
              int{has_optimizer}, ", expected 0 or 1");
  at = r.offset();
  uint16_t reserved;
  RETURN_IF_ERROR(r.U16(&reserved, "reserved"));
  RETURN_IF_ERROR(r.Zero(reserved, at, "reserved field"));
  RETURN_IF_ERROR(r.I64(&p->backbone_macs, 0, kMaxMacs, "backbone MACs"));
  RETURN_IF_ERROR(r.Str(&p->backbone_hash, kHashHexDigits, kHashHexDigits, "backbone hash"));
  RETURN_IF_ERROR(r.Str(&p->output_tensor, 1, kMaxNameBytes, "output tensor"));
  uint32_t exits;
  // An exit record takes well over 64 bytes; 64 is a safe lower bound for the count check.
  RETURN_IF_ERROR(r.Count(&exits, 1, kMaxExits, 64, "exit count"));
  p->exits.resize(exits);
  for (PersonalisedExit& exit : p->exits) RETURN_IF_ERROR(ParseExit(r, origin, &exit));
  uint32_t entries;
  RETURN_IF_ERROR(r.Count(&entries, 0, kMaxMetadataEntries, 9, "metadata count"));
  for (uint32_t i = 0; i < entries; ++i) {
    std::string key, value;
    at = r.offset();
    RETURN_IF_ERROR(r.Str(&key, 1, kMaxMetadataKeyBytes, "metadata key"));
    RETURN_IF_ERROR(r.Str(&value, 0, kMaxMetadataValueBytes, "metadata value"));
    ENSURE_CODE(p->metadata.empty() || key > p->metadata.rbegin()->first, kDataLoss, origin,
                ": metadata key '", key, "' at byte ", at,
                " is out of order or repeated (keys are stored sorted, each once)");
    p->metadata.emplace(std::move(key), std::move(value));
  }
  if (has_optimizer) {
    p->optimizer.emplace();
    RETURN_IF_ERROR(ParseOptimizer(r, &*p->optimizer));
  }
  if (version >= 2) RETURN_IF_ERROR(ParsePersonalRecord(r, origin, p));
  ENSURE_CODE(r.remaining() == 0, kDataLoss, origin, ": ", r.remaining(),
              " unexpected bytes after the last record, at byte ", r.offset());
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<uint8_t>> SerializePersonalisation(const Personalisation& p) {
  RETURN_IF_ERROR(ValidatePersonalisation(p));
  std::vector<uint8_t> file(kHeaderBytes, 0);
  Writer w(&file);
  w.U32(static_cast<uint32_t>(p.classes));
  w.U8(static_cast<uint8_t>(p.measure));
  w.U8(p.optimizer.has_value() ? 1 : 0);
  w.U16(0);
  w.I64(p.backbone_macs);
  w.Str(p.backbone_hash);
  w.Str(p.output_tensor);
  w.U32(static_cast<uint32_t>(p.exits.size()));
  for (const PersonalisedExit& exit : p.exits) {
    w.Str(exit.point.name);
    w.Str(exit.point.tensor);
    w.U32(static_cast<uint32_t>(exit.point.feature_shape.size()));
    for (int64_t d : exit.point.feature_shape) w.I64(d);
    w.I64(exit.point.backbone_macs);
    w.F64(exit.point.flop_fraction);
    w.I64(exit.point.width);
    w.I64(exit.point.head_macs);
    w.F32(exit.threshold);
    StatusOr<std::vector<uint8_t>> head = SerializeGraph(exit.head);
    if (!head.ok()) return head.status().WithContext("exit '" + exit.point.name + "' head");
    WriteBytes(w, *head);
  }
  w.U32(static_cast<uint32_t>(p.metadata.size()));
  for (const auto& [key, value] : p.metadata) {
    w.Str(key);
    w.Str(value);
  }
  if (p.optimizer.has_value()) {
    w.Str(p.optimizer->name);
    w.I64(p.optimizer->step);
    w.U32(static_cast<uint32_t>(p.optimizer->arrays.size()));
    for (const OptimizerArray& a : p.optimizer->arrays) {
      w.Str(a.name);
      w.U64(a.values.size());
      for (float v : a.values) w.F32(v);
    }
  }
  w.U8(p.personal_final ? 1 : 0);
  w.U32(static_cast<uint32_t>(p.prior.size()));
  for (double v : p.prior) w.F64(v);
  w.U8(p.calibration.has_value() ? 1 : 0);
  if (p.calibration.has_value()) {
    w.F64(p.calibration->epsilon);
    w.F64(p.calibration->delta);
    w.F64(p.calibration->bound);
    w.I64(p.calibration->samples);
    w.I64(p.calibration->labelled);
    w.U8(p.calibration->exits_on ? 1 : 0);
  }
  // The header, now that the payload's size and checksum are known.
  const uint64_t payload = file.size() - kHeaderBytes;
  std::vector<uint8_t> header;
  Writer h(&header);
  for (char c : kPersonalisationMagic) h.U8(static_cast<uint8_t>(c));
  h.U32(kPersonalisationFormatVersion);
  h.U32(kHeaderBytes);
  h.U64(payload);
  h.U32(Crc32(file.data() + kHeaderBytes, payload));
  h.U32(0);
  std::memcpy(file.data(), header.data(), kHeaderBytes);
  return file;
}

StatusOr<Personalisation> ParsePersonalisation(const uint8_t* data, size_t size,
                                               const std::string& origin) {
  // 1. Magic: a file shorter than it that matches as far as it goes is a truncated one.
  const size_t magic_seen = std::min<size_t>(size, 8);
  const bool magic_ok =
      magic_seen == 0 || std::memcmp(data, kPersonalisationMagic, magic_seen) == 0;
  ENSURE_CODE(magic_ok, kInvalidArgument, origin,
              " is not a persephonee personalisation file (it does not start with \"PSPHPERS\")");
  ENSURE_CODE(size >= 12, kDataLoss, origin, " is truncated: ", size,
              " bytes, shorter than the magic and version (12 bytes)");
  // 2. The version, before anything whose layout could depend on it.
  const uint64_t version = LoadLe(data + 8, 4);
  ENSURE_CODE(version >= kPersonalisationOldestVersion && version <= kPersonalisationFormatVersion,
              kUnimplemented, origin, ": personalisation format version ", version,
              " is not supported (this build reads versions ", kPersonalisationOldestVersion,
              " to ", kPersonalisationFormatVersion, ")");
  // 3. The rest of the header, then the payload's size and checksum.
  ENSURE_CODE(size >= kHeaderBytes, kDataLoss, origin, " is truncated: ", size,
              " bytes, shorter than the ", kHeaderBytes, "-byte header");
  const uint64_t header_bytes = LoadLe(data + 12, 4);
  ENSURE_CODE(header_bytes == kHeaderBytes, kDataLoss, origin, ": header size at byte 12 is ",
              header_bytes, ", expected ", kHeaderBytes);
  const uint64_t reserved = LoadLe(data + 28, 4);
  ENSURE_CODE(reserved == 0, kDataLoss, origin, ": reserved field at byte 28 is ", reserved,
              ", expected 0");
  const uint64_t payload = LoadLe(data + 16, 8);
  const uint64_t actual = size - kHeaderBytes;
  ENSURE_CODE(payload <= actual, kDataLoss, origin, " is truncated: the header announces ", payload,
              " payload bytes, the file has ", actual);
  ENSURE_CODE(payload == actual, kDataLoss, origin, ": ", actual - payload,
              " unexpected trailing bytes after the ", payload, "-byte payload");
  const uint32_t stored_crc = static_cast<uint32_t>(LoadLe(data + 24, 4));
  const uint32_t crc = Crc32(data + kHeaderBytes, actual);
  ENSURE_CODE(crc == stored_crc, kDataLoss, origin, ": checksum mismatch: the payload's CRC-32 is ",
              Hex32(crc), ", the header says ", Hex32(stored_crc), " (the file is corrupt)");
  // 4. The records, then the whole.
  Personalisation p;
  Reader r(data + kHeaderBytes, actual, kHeaderBytes, origin);
  RETURN_IF_ERROR(ParsePayload(r, origin, static_cast<uint32_t>(version), &p));
  const Status valid = ValidatePersonalisation(p);
  if (!valid.ok()) return valid.WithContext(origin);
  return p;
}

}  // namespace persephonee
