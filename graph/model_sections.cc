#include "graph/model_sections.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "base/byte_io.h"
#include "graph/model_format.h"

namespace persephonee {
namespace model_io {

using byte_io::ByteReader;
using byte_io::ByteWriter;
namespace {

uint32_t GetU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

uint64_t GetU64(const uint8_t* p) {
  return static_cast<uint64_t>(GetU32(p)) | static_cast<uint64_t>(GetU32(p + 4)) << 32;
}

void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// CRC of the header with its checksum field read as zero, followed by the section table.
uint32_t HeaderCrc(const uint8_t* file, uint32_t section_count) {
  uint8_t header[kHeaderSize];
  std::memcpy(header, file, kHeaderSize);
  PutU32(header + kHeaderCrcOffset, 0);
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, header, static_cast<uInt>(kHeaderSize));
  crc = crc32(crc, file + kHeaderSize, static_cast<uInt>(section_count * kSectionEntrySize));
  return static_cast<uint32_t>(crc);
}

const char* SectionName(uint32_t type) {
  switch (type) {
    case kSectionGraph:
      return "graph section";
    case kSectionWeights:
      return "weights section";
    default:
      return "unknown section";
  }
}

// Reads the section table without judging it; `size` must cover it.
std::vector<Section> ReadTable(const uint8_t* data, uint32_t count) {
  std::vector<Section> sections;
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* e = data + kHeaderSize + i * kSectionEntrySize;
    Section s;
    s.type = GetU32(e);
    s.offset = GetU64(e + 8);
    s.size = GetU64(e + 16);
    s.crc32 = GetU32(e + 24);
    sections.push_back(s);
  }
  return sections;
}

}  // namespace

uint32_t Crc32(const uint8_t* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes a 32-bit length; feed large buffers in pieces.
  constexpr size_t kChunk = size_t{1} << 30;
  while (size > 0) {
    const size_t n = std::min(size, kChunk);
    crc = crc32(crc, data, static_cast<uInt>(n));
    data += n;
    size -= n;
  }
  return static_cast<uint32_t>(crc);
}

void WriteHeader(const std::vector<Section>& sections, uint32_t version,
                 std::vector<uint8_t>* file) {
  std::vector<uint8_t> head;
  ByteWriter w(&head);
  for (char c : kModelMagic) w.U8(static_cast<uint8_t>(c));
  w.U32(version);
  w.U32(static_cast<uint32_t>(kHeaderSize));
  w.U64(file->size());
  w.U32(static_cast<uint32_t>(sections.size()));
  w.U32(static_cast<uint32_t>(kHeaderSize));
  w.U32(0);  // header CRC, filled below
  w.PadTo(kHeaderSize);
  for (const Section& s : sections) {
    w.U32(s.type);
    w.U32(0);
    w.U64(s.offset);
    w.U64(s.size);
    w.U32(Crc32(file->data() + s.offset, s.size));
    w.U32(0);
  }
  std::copy(head.begin(), head.end(), file->begin());
  PutU32(file->data() + kHeaderCrcOffset,
         HeaderCrc(file->data(), static_cast<uint32_t>(sections.size())));
}

StatusOr<std::vector<Section>> ReadLayout(const uint8_t* data, size_t size,
                                          const std::string& origin, uint32_t* version_out) {
  const std::string at = "model '" + origin + "'";
  ENSURE_CODE(
      size >= sizeof(kModelMagic) || data == nullptr || std::memcmp(data, kModelMagic, size) == 0,
      kInvalidArgument, at, " is not a persephonee model file (wrong magic bytes)");
  ENSURE_CODE(size >= sizeof(kModelMagic), kDataLoss, at, " is truncated: ", size,
              " bytes, shorter than the 64-byte header");
  ENSURE_CODE(std::memcmp(data, kModelMagic, sizeof(kModelMagic)) == 0, kInvalidArgument, at,
              " is not a persephonee model file (wrong magic bytes)");
  ENSURE_CODE(size >= kVersionOffset + 4, kDataLoss, at, " is truncated: ", size,
              " bytes, shorter than the 64-byte header");
  const uint32_t version = GetU32(data + kVersionOffset);
  ENSURE_CODE(version >= kModelFormatFloat32Version && version <= kModelFormatVersion,
              kUnimplemented, at, " has format version ", version, "; this build reads versions ",
              kModelFormatFloat32Version, " to ", kModelFormatVersion);
  if (version_out != nullptr) *version_out = version;
  ENSURE_CODE(size >= kHeaderSize, kDataLoss, at, " is truncated: ", size,
              " bytes, shorter than the 64-byte header");
  const uint32_t header_size = GetU32(data + kHeaderSizeOffset);
  const uint32_t count = GetU32(data + kSectionCountOffset);
  const uint32_t table_offset = GetU32(data + kTableOffsetOffset);
  ENSURE_CODE(header_size == kHeaderSize && table_offset == kHeaderSize && count == kNumSections,
              kDataLoss, at, " has a corrupt header (header size ", header_size,
              ", section table at ", table_offset, ", ", count,
              " sections; versions 1 and 2 have 64, 64 and 2)");
  const size_t table_end = kHeaderSize + count * kSectionEntrySize;
  ENSURE_CODE(size >= table_end, kDataLoss, at, " is truncated: ", size,
              " bytes, shorter than the header and section table (", table_end, " bytes)");
  const uint32_t stored_crc = GetU32(data + kHeaderCrcOffset);
  const uint32_t crc = HeaderCrc(data, count);
  ENSURE_CODE(stored_crc == crc, kDataLoss, at, " is corrupt: header checksum mismatch (stored 0x",
              std::hex, stored_crc, ", computed 0x", crc, ")");
  const uint64_t file_size = GetU64(data + kFileSizeOffset);
  ENSURE_CODE(file_size <= size, kDataLoss, at, " is truncated: ", size, " bytes, the header says ",
              file_size);
  ENSURE_CODE(file_size == size, kDataLoss, at, " has ", size - file_size,
              " unexpected bytes after its end (the header says ", file_size, " bytes)");
  for (size_t i = kHeaderSize - 28; i < kHeaderSize; ++i) {
    ENSURE_CODE(data[i] == 0, kDataLoss, at, " has a corrupt header: reserved byte ", i,
                " is not zero");
  }

  std::vector<Section> sections = ReadTable(data, count);
  uint64_t end = table_end;  // where the previous section (or the table) ends
  bool seen[3] = {false, false, false};
  for (uint32_t i = 0; i < count; ++i) {
    const Section& s = sections[i];
    const uint8_t* e = data + kHeaderSize + i * kSectionEntrySize;
    ENSURE_CODE(GetU32(e + 4) == 0 && GetU32(e + 28) == 0, kDataLoss, at, ": section table entry ",
                i, " has non-zero reserved fields");
    ENSURE_CODE(s.type == kSectionGraph || s.type == kSectionWeights, kDataLoss, at,
                ": section table entry ", i, " has unknown type ", s.type);
    ENSURE_CODE(!seen[s.type], kDataLoss, at, ": the ", SectionName(s.type),
                " appears twice in the section table");
    seen[s.type] = true;
    ENSURE_CODE(s.offset % kModelAlignment == 0, kDataLoss, at, ": the ", SectionName(s.type),
                " offset ", s.offset, " is not a multiple of ", kModelAlignment);
    ENSURE_CODE(s.offset >= end, kDataLoss, at, ": the ", SectionName(s.type), " at offset ",
                s.offset, " overlaps what precedes it (which ends at ", end, ")");
    ENSURE_CODE(s.offset <= size && s.size <= size - s.offset, kDataLoss, at, ": the ",
                SectionName(s.type), " [", s.offset, ", +", s.size,
                ") runs past the end of the file (", size, " bytes)");
    ENSURE_CODE(s.offset - end < kModelAlignment, kDataLoss, at, ": ", s.offset - end,
                " bytes of padding before the ", SectionName(s.type), "; at most ",
                kModelAlignment - 1, " are allowed");
    for (uint64_t b = end; b < s.offset; ++b) {
      ENSURE_CODE(data[b] == 0, kDataLoss, at, ": padding byte ", b, " before the ",
                  SectionName(s.type), " is not zero");
    }
    end = s.offset + s.size;
  }
  ENSURE_CODE(end == size, kDataLoss, at, ": ", size - end,
              " bytes after the last section are not described by the section table");
  return sections;
}

Status VerifySection(const uint8_t* data, const Section& s, const std::string& origin) {
  const uint32_t crc = Crc32(data + s.offset, s.size);
  ENSURE_CODE(crc == s.crc32, kDataLoss, "model '", origin, "' is corrupt: ", SectionName(s.type),
              " checksum mismatch (stored 0x", std::hex, s.crc32, ", computed 0x", crc, ")");
  return Status::Ok();
}

StatusOr<Section> FindSection(const uint8_t* data, size_t size, uint32_t type) {
  ASSIGN_OR_RETURN(std::vector<Section> sections, ReadLayout(data, size, "<memory>"));
  for (const Section& s : sections) {
    if (s.type == type) return s;
  }
  return Error(StatusCode::kNotFound, "no section of type ", type);
}

Status ResealChecksums(std::vector<uint8_t>* file) {
  ENSURE_CODE(file->size() >= kHeaderSize + kNumSections * kSectionEntrySize, kDataLoss,
              "too short to reseal");
  uint8_t* data = file->data();
  const uint32_t count = GetU32(data + kSectionCountOffset);
  ENSURE_CODE(count == kNumSections, kDataLoss, "section count ", count, " cannot be resealed");
  std::vector<Section> sections = ReadTable(data, count);
  for (uint32_t i = 0; i < count; ++i) {
    const Section& s = sections[i];
    // A section out of bounds keeps its stored checksum; the header's is still recomputed.
    if (s.offset > file->size() || s.size > file->size() - s.offset) continue;
    PutU32(data + kHeaderSize + i * kSectionEntrySize + 24, Crc32(data + s.offset, s.size));
  }
  PutU32(data + kHeaderCrcOffset, HeaderCrc(data, count));
  return Status::Ok();
}

}  // namespace model_io
}  // namespace persephonee
