// IDX files: the format of MNIST and Fashion-MNIST.
//
// Layout (all integers big-endian):
//   bytes 0-1  zero
//   byte  2    element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
//              0x0E float64
//   byte  3    number of dimensions, d
//   then d     uint32 sizes, the first being the number of records (images, labels)
//   then the   elements, row-major, product(sizes) of them
// Fashion-MNIST images are magic 0x00000803 (uint8, 3-D: N x 28 x 28) and labels 0x00000801
// (uint8, 1-D: N). Only uint8 is read and written here; other types are refused by name.
//
// Files may be plain or gzip-compressed; the reader tells them apart by the gzip magic bytes
// (1f 8b), not by the name. It checks everything the header claims against what is there:
// truncated header or data, trailing bytes, zero or overflowing dimensions, a corrupt gzip
// stream. Every error names the file and what is wrong.
//
// Reading as needed: IdxReader::Open reads only the header of a plain file and keeps it open;
// ReadRecords then fetches just the records asked for. A gzip file cannot be read at random
// offsets, so Open inflates its payload once into memory as uint8 (Fashion-MNIST's training
// images are 47 MB that way, a quarter of what they would be as floats); ReadRecords then
// copies from there.
#ifndef PERSEPHONEE_BASE_IDX_H_
#define PERSEPHONEE_BASE_IDX_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/file_io.h"
#include "base/status.h"

namespace persephonee {

/// A whole IDX array of uint8.
struct IdxArray {
  std::vector<uint32_t> dims;  ///< dims[0] is the number of records.
  std::vector<uint8_t> data;   ///< product(dims) elements, row-major.
};

/// Payloads larger than this are refused (kResourceExhausted) rather than inflated: a guard
/// against a corrupt or hostile header (1 GiB; Fashion-MNIST's largest file is 47 MB).
inline constexpr uint64_t kMaxIdxPayloadBytes = uint64_t{1} << 30;

/// An IDX file opened for reading records as they are needed.
class IdxReader {
 public:
  /// Opens `path` (plain or gzip) and checks its header and length. Errors: kNotFound (no such
  /// file), kInvalidArgument (a directory, a FIFO, a device: anything but a regular file,
  /// refused without blocking), kDataLoss (malformed or truncated, with what is wrong),
  /// kUnimplemented (a valid element type other than uint8), kResourceExhausted (a payload
  /// over `max_payload_bytes`, or a file over 9/8 of it plus 1 MiB, more than any IDX file
  /// within the limit can be, plain or gzip).
  static StatusOr<IdxReader> Open(const std::string& path,
                                  uint64_t max_payload_bytes = kMaxIdxPayloadBytes);

  const std::string& path() const { return path_; }
  const std::vector<uint32_t>& dims() const { return dims_; }
  /// dims()[0].
  size_t num_records() const { return dims_[0]; }
  /// Bytes per record: the product of dims()[1...] (1 for a 1-D file).
  size_t record_bytes() const { return record_bytes_; }
  /// True if the file was gzip-compressed (its payload is then held in memory).
  bool compressed() const { return compressed_; }

  /// Copies records [first, first + count) into `out`, which holds `out_size` bytes (at least
  /// count * record_bytes()). Fails with kInvalidArgument if the range is past the end or
  /// `out` is too small, kDataLoss if a plain file cannot be read (changed since Open).
  Status ReadRecords(size_t first, size_t count, uint8_t* out, size_t out_size) const;

 private:
  IdxReader() = default;

  std::string path_;
  std::vector<uint32_t> dims_;
  size_t record_bytes_ = 0;
  bool compressed_ = false;
  uint64_t payload_offset_ = 0;           // plain: where the elements start in the file
  std::optional<RandomAccessFile> file_;  // plain
  std::vector<uint8_t> payload_;          // gzip: the inflated elements
};

/// Reads a whole IDX file (plain or gzip); errors as IdxReader::Open.
StatusOr<IdxArray> ReadIdx(const std::string& path,
                           uint64_t max_payload_bytes = kMaxIdxPayloadBytes);

/// Writes `data` (`size` bytes, product(dims) of them) as a uint8 IDX file at `path`,
/// gzip-compressed if `gzip`, atomically (see WriteFileAtomically). Fails with
/// kInvalidArgument if dims is empty or longer than 255, has a zero, or does not match `size`.
Status WriteIdx(const std::string& path, const std::vector<uint32_t>& dims, const uint8_t* data,
                size_t size, bool gzip);

}  // namespace persephonee

#endif  // PERSEPHONEE_BASE_IDX_H_
