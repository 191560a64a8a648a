#include "tests/golden/fixture.h"

#include <zlib.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_set>

namespace persephonee {
namespace golden {
namespace {

constexpr char kMagic[8] = {'P', 'S', 'G', 'O', 'L', 'D', 'E', 'N'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kMaxArrays = 256;
constexpr uint32_t kMaxNameLength = 64;
constexpr uint32_t kMaxRank = 6;
constexpr uint32_t kMaxDim = 65536;
constexpr uint64_t kMaxElements = uint64_t{1} << 22;

uint32_t Crc32(const char* data, size_t size) {
  return static_cast<uint32_t>(
      crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(data), static_cast<uInt>(size)));
}

uint32_t LoadU32(const char* data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

void PutU32(uint32_t v, std::string* out) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// Reads little-endian fields from a byte string, refusing to run past its end.
class Cursor {
 public:
  Cursor(const std::string& bytes, size_t end, const std::string& source)
      : bytes_(bytes), end_(end), source_(source) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return end_ - pos_; }

  Status U32(const char* what, uint32_t* v) {
    RETURN_IF_ERROR(Need(4, what));
    *v = LoadU32(bytes_.data() + pos_);
    pos_ += 4;
    return Status::Ok();
  }

  Status Bytes(size_t n, const char* what, std::string* out) {
    RETURN_IF_ERROR(Need(n, what));
    out->assign(bytes_, pos_, n);
    pos_ += n;
    return Status::Ok();
  }

 private:
  Status Need(size_t n, const char* what) const {
    ENSURE_CODE(n <= remaining(), kDataLoss, source_, ": truncated at byte ", pos_, " reading ",
                what, " (", n, " bytes needed, ", remaining(), " left before the checksum)");
    return Status::Ok();
  }

  const std::string& bytes_;
  size_t end_;
  size_t pos_ = 0;
  const std::string& source_;
};

bool ValidName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

Status ParseArray(Cursor* cur, const std::string& source, size_t index, FixtureArray* array) {
  const std::string where = internal::StrCat(source, ": array #", index);
  uint32_t name_length = 0;
  RETURN_IF_ERROR(cur->U32("name length", &name_length));
  ENSURE_CODE(name_length >= 1 && name_length <= kMaxNameLength, kDataLoss, where, ": name length ",
              name_length, " is outside 1..", kMaxNameLength);
  RETURN_IF_ERROR(cur->Bytes(name_length, "array name", &array->name));
  ENSURE_CODE(ValidName(array->name), kDataLoss, where,
              ": name has characters outside [A-Za-z0-9_]");
  const std::string named = internal::StrCat(source, ": array '", array->name, "'");

  uint32_t dtype = 0;
  RETURN_IF_ERROR(cur->U32("dtype", &dtype));
  ENSURE_CODE(dtype == static_cast<uint32_t>(FixtureDtype::kFloat32) ||
                  dtype == static_cast<uint32_t>(FixtureDtype::kInt32),
              kDataLoss, named, ": unknown dtype ", dtype, " (1 = float32, 2 = int32)");
  array->dtype = static_cast<FixtureDtype>(dtype);

  uint32_t rank = 0;
  RETURN_IF_ERROR(cur->U32("rank", &rank));
  ENSURE_CODE(rank <= kMaxRank, kDataLoss, named, ": rank ", rank, " is over ", kMaxRank);
  uint64_t elements = 1;
  array->dims.clear();
  for (uint32_t d = 0; d < rank; ++d) {
    uint32_t dim = 0;
    RETURN_IF_ERROR(cur->U32("dimension", &dim));
    ENSURE_CODE(dim >= 1 && dim <= kMaxDim, kDataLoss, named, ": dimension ", d, " is ", dim,
                ", outside 1..", kMaxDim);
    elements *= dim;  // At most 65536 per factor; checked after each one, so no overflow.
    ENSURE_CODE(elements <= kMaxElements, kDataLoss, named, ": more than ", kMaxElements,
                " elements");
    array->dims.push_back(dim);
  }

  std::string data;
  RETURN_IF_ERROR(cur->Bytes(static_cast<size_t>(elements) * 4, "array data", &data));
  array->f32.clear();
  array->i32.clear();
  for (size_t i = 0; i < elements; ++i) {
    const uint32_t bits = LoadU32(data.data() + 4 * i);
    if (array->dtype == FixtureDtype::kFloat32) {
      float v;
      std::memcpy(&v, &bits, sizeof(v));
      ENSURE_CODE(std::isfinite(v), kDataLoss, named, ": element ", i, " is not finite");
      array->f32.push_back(v);
    } else {
      int32_t v;
      std::memcpy(&v, &bits, sizeof(v));
      array->i32.push_back(v);
    }
  }
  return Status::Ok();
}

}  // namespace

size_t FixtureArray::size() const {
  size_t n = 1;
  for (size_t d : dims) n *= d;
  return n;
}

std::string FixtureArray::DimsString() const {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < dims.size(); ++i) out << (i ? ", " : "") << dims[i];
  out << "]";
  return out.str();
}

StatusOr<Fixture> Fixture::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(StatusCode::kNotFound, path, ": cannot open fixture");
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return Error(StatusCode::kDataLoss, path, ": read error");
  return Parse(contents.str(), path);
}

StatusOr<Fixture> Fixture::Parse(const std::string& bytes, const std::string& source) {
  constexpr size_t kHeader = sizeof(kMagic) + 8;
  ENSURE_CODE(bytes.size() >= kHeader + 4, kDataLoss, source, ": ", bytes.size(),
              " bytes is too short for a fixture");
  ENSURE_CODE(std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) == 0, kDataLoss, source,
              ": bad magic (not a PSGOLDEN fixture)");

  // The checksum covers everything before the last four bytes. It is checked before any field
  // past the version, so a corrupted file is reported as such rather than as whatever field the
  // damage happened to hit.
  const size_t body = bytes.size() - 4;
  const uint32_t stored_crc = LoadU32(bytes.data() + body);
  Cursor cur(bytes, body, source);
  std::string magic;
  RETURN_IF_ERROR(cur.Bytes(sizeof(kMagic), "magic", &magic));
  uint32_t version = 0;
  RETURN_IF_ERROR(cur.U32("version", &version));
  ENSURE_CODE(version == kVersion, kDataLoss, source, ": format version ", version,
              ", this reader knows only ", kVersion);
  const uint32_t crc = Crc32(bytes.data(), body);
  ENSURE_CODE(crc == stored_crc, kDataLoss, source, ": checksum mismatch (stored ", stored_crc,
              ", computed ", crc, "): the file is corrupt or truncated");

  uint32_t count = 0;
  RETURN_IF_ERROR(cur.U32("array count", &count));
  ENSURE_CODE(count >= 1 && count <= kMaxArrays, kDataLoss, source, ": array count ", count,
              " is outside 1..", kMaxArrays);

  Fixture fixture;
  fixture.source_ = source;
  std::unordered_set<std::string> names;
  for (uint32_t i = 0; i < count; ++i) {
    FixtureArray array;
    RETURN_IF_ERROR(ParseArray(&cur, source, i, &array));
    ENSURE_CODE(names.insert(array.name).second, kDataLoss, source, ": array '", array.name,
                "' appears twice");
    fixture.arrays_.push_back(std::move(array));
  }
  ENSURE_CODE(cur.remaining() == 0, kDataLoss, source, ": ", cur.remaining(),
              " unexpected bytes after the last array (at byte ", cur.offset(), ")");
  return fixture;
}

bool Fixture::Has(const std::string& name) const {
  for (const FixtureArray& a : arrays_) {
    if (a.name == name) return true;
  }
  return false;
}

StatusOr<const FixtureArray*> Fixture::Find(const std::string& name, FixtureDtype dtype,
                                            size_t rank) const {
  for (const FixtureArray& a : arrays_) {
    if (a.name != name) continue;
    ENSURE(a.dtype == dtype, source_, ": array '", name, "' has dtype ",
           static_cast<uint32_t>(a.dtype), ", expected ", static_cast<uint32_t>(dtype));
    ENSURE(a.dims.size() == rank, source_, ": array '", name, "' has rank ", a.dims.size(),
           " (dims ", a.DimsString(), "), expected rank ", rank);
    return &a;
  }
  return Error(StatusCode::kNotFound, source_, ": no array '", name, "'");
}

StatusOr<const FixtureArray*> Fixture::FindFloat(const std::string& name,
                                                 const std::vector<size_t>& dims) const {
  ASSIGN_OR_RETURN(const FixtureArray* a, Find(name, FixtureDtype::kFloat32, dims.size()));
  if (a->dims != dims) {
    FixtureArray want;
    want.dims = dims;
    return Error(StatusCode::kInvalidArgument, source_, ": array '", name, "' has dims ",
                 a->DimsString(), ", expected ", want.DimsString());
  }
  return a;
}

StatusOr<std::vector<int32_t>> Fixture::Ints(const std::string& name, size_t count) const {
  ASSIGN_OR_RETURN(const FixtureArray* a, Find(name, FixtureDtype::kInt32, 1));
  ENSURE(a->size() == count, source_, ": array '", name, "' has ", a->size(),
         " elements, expected ", count);
  return a->i32;
}

std::string FixturePath(const std::string& stem) {
  return "tests/golden/testdata/" + stem + ".bin";
}

std::string EncodeFixture(const std::vector<FixtureArray>& arrays) {
  std::string out(kMagic, sizeof(kMagic));
  PutU32(kVersion, &out);
  PutU32(static_cast<uint32_t>(arrays.size()), &out);
  for (const FixtureArray& a : arrays) {
    PutU32(static_cast<uint32_t>(a.name.size()), &out);
    out += a.name;
    PutU32(static_cast<uint32_t>(a.dtype), &out);
    PutU32(static_cast<uint32_t>(a.dims.size()), &out);
    for (size_t d : a.dims) PutU32(static_cast<uint32_t>(d), &out);
    const size_t n = a.dtype == FixtureDtype::kFloat32 ? a.f32.size() : a.i32.size();
    for (size_t i = 0; i < n; ++i) {
      uint32_t bits;
      if (a.dtype == FixtureDtype::kFloat32) {
        std::memcpy(&bits, &a.f32[i], sizeof(bits));
      } else {
        std::memcpy(&bits, &a.i32[i], sizeof(bits));
      }
      PutU32(bits, &out);
    }
  }
  PutU32(Crc32(out.data(), out.size()), &out);
  return out;
}

}  // namespace golden
}  // namespace persephonee
