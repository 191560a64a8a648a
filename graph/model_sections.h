// The container of a model file: the 64-byte header and the section table (internal to graph/
// and its tests). docs/model-format.md specifies the bytes.
#ifndef PERSEPHONEE_GRAPH_MODEL_SECTIONS_H_
#define PERSEPHONEE_GRAPH_MODEL_SECTIONS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace persephonee {
namespace model_io {

constexpr size_t kHeaderSize = 64;
constexpr size_t kSectionEntrySize = 32;
/// Sections a file holds (versions 1 and 2): exactly one graph and one weights section.
constexpr uint32_t kNumSections = 2;
// Byte offsets of the header fields.
constexpr size_t kVersionOffset = 8;
constexpr size_t kHeaderSizeOffset = 12;
constexpr size_t kFileSizeOffset = 16;
constexpr size_t kSectionCountOffset = 24;
constexpr size_t kTableOffsetOffset = 28;
constexpr size_t kHeaderCrcOffset = 32;

/// One entry of the section table.
struct Section {
  uint32_t type = 0;
  uint64_t offset = 0;  ///< From the start of the file; a multiple of 64.
  uint64_t size = 0;    ///< In bytes.
  uint32_t crc32 = 0;   ///< zlib CRC-32 of the section's bytes.
};

/// CRC-32 (zlib's: IEEE polynomial, reflected, init and final xor 0xFFFFFFFF) of any length.
uint32_t Crc32(const uint8_t* data, size_t size);

/// Writes the header (format `version`) and section table into bytes [0, 64 + 32 ·
/// sections.size()) of `file` (which must already hold every section's bytes at its offset),
/// computing each section's CRC and the header's.
void WriteHeader(const std::vector<Section>& sections, uint32_t version,
                 std::vector<uint8_t>* file);

/// Checks the header of model-file bytes (magic, version, header checksum, file size) and the
/// section table (known types, each once, aligned, in bounds, in order, not overlapping, gaps
/// zero, ending at the end of the file). Does not verify the sections' checksums. Returns the
/// sections in file order, and the format version (1 or 2) in `version` when not null.
StatusOr<std::vector<Section>> ReadLayout(const uint8_t* data, size_t size,
                                          const std::string& origin, uint32_t* version = nullptr);

/// Verifies the CRC-32 of a section against the table.
Status VerifySection(const uint8_t* data, const Section& section, const std::string& origin);

/// The section of `type` in model-file bytes, after ReadLayout's checks.
StatusOr<Section> FindSection(const uint8_t* data, size_t size, uint32_t type);

/// Recomputes every section checksum and then the header's, in place, so that tests can hand
/// the parser corrupt sections that pass their checksums. Fails only if the file is shorter than
/// the header and table or the section count is not 2; sections out of bounds keep their
/// stored checksums.
Status ResealChecksums(std::vector<uint8_t>* file);

}  // namespace model_io
}  // namespace persephonee

#endif  // PERSEPHONEE_GRAPH_MODEL_SECTIONS_H_
