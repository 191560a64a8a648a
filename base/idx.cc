#include "base/idx.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <limits>
#include <new>
#include <sstream>
#include <utility>

namespace persephonee {
namespace {

constexpr uint8_t kUint8Type = 0x08;
constexpr size_t kInflateChunk = size_t{256} << 10;

std::string Quoted(const std::string& path) { return "'" + path + "'"; }

const char* TypeName(uint8_t type) {
  switch (type) {
    case 0x08:
      return "uint8";
    case 0x09:
      return "int8";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return nullptr;
  }
}

std::string Hex(uint64_t value, int digits) {
  std::ostringstream out;
  out << "0x";
  out.width(digits);
  out.fill('0');
  out << std::hex << value;
  return out.str();
}

std::string DimsText(const std::vector<uint32_t>& dims) {
  std::ostringstream out;
  for (size_t i = 0; i < dims.size(); ++i) out << (i ? " x " : "") << dims[i];
  return out.str();
}

uint32_t BigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Checks the 4-byte magic; returns the number of dimensions it announces.
StatusOr<int> ParseMagic(const std::string& path, const uint8_t magic[4]) {
  const uint32_t value = BigEndian32(magic);
  ENSURE_CODE(magic[0] == 0 && magic[1] == 0, kDataLoss, Quoted(path),
              " is not an IDX file: magic ", Hex(value, 8), " does not start with two zero bytes");
  const char* type = TypeName(magic[2]);
  ENSURE_CODE(type != nullptr, kDataLoss, Quoted(path), ": unknown IDX element type ",
              Hex(magic[2], 2), " (magic ", Hex(value, 8), ")");
  ENSURE_CODE(magic[2] == kUint8Type, kUnimplemented, Quoted(path), ": IDX element type ", type,
              " (", Hex(magic[2], 2), ") is not supported; only uint8 (0x08) is");
  ENSURE_CODE(magic[3] > 0, kDataLoss, Quoted(path), ": IDX header has 0 dimensions (magic ",
              Hex(value, 8), ")");
  return static_cast<int>(magic[3]);
}

// Decodes the dimensions and returns the number of data bytes they announce.
StatusOr<uint64_t> ParseDims(const std::string& path, const uint8_t* bytes, int num_dims,
                             uint64_t max_payload_bytes, std::vector<uint32_t>* dims) {
  dims->resize(num_dims);
  for (int i = 0; i < num_dims; ++i) (*dims)[i] = BigEndian32(bytes + 4 * i);
  uint64_t product = 1;
  bool overflow = false;
  for (int i = 0; i < num_dims; ++i) {
    const uint32_t d = (*dims)[i];
    ENSURE_CODE(d > 0, kDataLoss, Quoted(path), ": IDX dimension ", i, " is 0 (dimensions ",
                DimsText(*dims), ")");
    if (product > std::numeric_limits<uint64_t>::max() / d) overflow = true;
    product *= d;
  }
  ENSURE_CODE(!overflow, kDataLoss, Quoted(path), ": IDX dimensions ", DimsText(*dims),
              " overflow 64 bits");
  ENSURE_CODE(product <= max_payload_bytes && product <= std::numeric_limits<size_t>::max(),
              kResourceExhausted, Quoted(path), ": IDX dimensions ", DimsText(*dims), " announce ",
              product, " bytes, more than the limit of ", max_payload_bytes);
  return product;
}

Status Truncated(const std::string& path, const std::vector<uint32_t>& dims, uint64_t product,
                 uint64_t have, const char* where) {
  return Error(StatusCode::kDataLoss, Quoted(path), ": truncated: the header says ", DimsText(dims),
               " = ", product, " bytes of data, ", where, " has ", have);
}

Status Trailing(const std::string& path, const std::vector<uint32_t>& dims, uint64_t product,
                const std::string& have) {
  return Error(StatusCode::kDataLoss, Quoted(path), ": trailing data: the header says ",
               DimsText(dims), " = ", product, " bytes of data, ", have);
}

// Inflates a gzip file (one or more members) as a stream of bytes, reading the compressed
// file in chunks.
class GzipReader {
 public:
  explicit GzipReader(const RandomAccessFile& file) : file_(file) {}
  ~GzipReader() {
    if (initialised_) inflateEnd(&z_);
  }

  Status Init() {
    std::memset(&z_, 0, sizeof(z_));
    const int rc = inflateInit2(&z_, 16 + MAX_WBITS);  // 16: gzip wrapper only
    ENSURE_CODE(rc == Z_OK, kInternal, "zlib inflateInit2 failed (", rc, ") for ",
                Quoted(file_.path()));
    initialised_ = true;
    return Status::Ok();
  }

  // Inflates up to `size` bytes into `out`; `*got` is fewer only at the end of the data.
  Status Read(uint8_t* out, size_t size, size_t* got) {
    *got = 0;
    while (*got < size && !finished_) {
      if (z_.avail_in == 0 && !at_eof_) RETURN_IF_ERROR(Refill());
      const size_t want = std::min<size_t>(size - *got, UINT_MAX);
      z_.next_out = out + *got;
      z_.avail_out = static_cast<uInt>(want);
      const int rc = inflate(&z_, Z_NO_FLUSH);
      *got += want - z_.avail_out;
      switch (rc) {
        case Z_OK:
          break;
        case Z_STREAM_END:
          RETURN_IF_ERROR(NextMember());
          break;
        case Z_BUF_ERROR:  // no progress: with room to write, that means no input left
          return Error(StatusCode::kDataLoss, Quoted(file_.path()),
                       ": the gzip stream ends early (truncated file)");
        case Z_MEM_ERROR:
          return Error(StatusCode::kResourceExhausted, "zlib is out of memory inflating ",
                       Quoted(file_.path()));
        default:
          return Error(StatusCode::kDataLoss, Quoted(file_.path()), ": corrupt gzip data (",
                       z_.msg != nullptr ? z_.msg : "zlib error", ") near compressed byte ",
                       Position());
      }
    }
    return Status::Ok();
  }

 private:
  // Fills the input buffer from the file, keeping the bytes inflate has not consumed.
  Status Refill() {
    if (buffer_.empty()) buffer_.resize(kInflateChunk);
    const size_t consumed = z_.next_in == nullptr ? 0 : z_.next_in - buffer_.data();
    const size_t keep = z_.avail_in;
    if (keep > 0) std::memmove(buffer_.data(), z_.next_in, keep);
    buffer_start_ += consumed;
    size_t read = 0;
    RETURN_IF_ERROR(
        file_.ReadSome(buffer_start_ + keep, buffer_.size() - keep, buffer_.data() + keep, &read));
    at_eof_ = read < buffer_.size() - keep;
    z_.next_in = buffer_.data();
    z_.avail_in = static_cast<uInt>(keep + read);
    return Status::Ok();
  }

  // File offset of the next compressed byte inflate will read.
  uint64_t Position() const {
    return buffer_start_ + (z_.next_in == nullptr ? 0 : z_.next_in - buffer_.data());
  }

  // After a member's end: another member may follow (gzip allows concatenation), anything
  // else is trailing garbage.
  Status NextMember() {
    if (z_.avail_in < 2 && !at_eof_) RETURN_IF_ERROR(Refill());
    if (z_.avail_in == 0) {
      finished_ = true;
      return Status::Ok();
    }
    const uint64_t at = Position();
    ENSURE_CODE(z_.avail_in >= 2 && z_.next_in[0] == 0x1f && z_.next_in[1] == 0x8b, kDataLoss,
                Quoted(file_.path()), ": ", file_.size() - at,
                " trailing bytes after the gzip stream, from byte ", at);
    ENSURE_CODE(inflateReset(&z_) == Z_OK, kInternal, "zlib inflateReset failed");
    return Status::Ok();
  }

  const RandomAccessFile& file_;
  z_stream z_;
  bool initialised_ = false;
  std::vector<uint8_t> buffer_;
  uint64_t buffer_start_ = 0;  // file offset of buffer_[0]
  bool at_eof_ = false;        // the file has no bytes beyond those in buffer_
  bool finished_ = false;
};

}  // namespace

StatusOr<IdxReader> IdxReader::Open(const std::string& path, uint64_t max_payload_bytes) {
  // No IDX file within the payload limit is larger than this, plain (a header of at most 1024
  // bytes) or gzip (deflate adds 5 bytes per 64 KiB stored block, a member 18 bytes): a larger
  // file is refused before a byte is read.
  const uint64_t slack = max_payload_bytes / 8 + (uint64_t{1} << 20);
  const uint64_t max_file_bytes =
      max_payload_bytes > UINT64_MAX - slack ? UINT64_MAX : max_payload_bytes + slack;
  ASSIGN_OR_RETURN(RandomAccessFile file, RandomAccessFile::Open(path, max_file_bytes));
  IdxReader reader;
  reader.path_ = path;
  uint8_t magic[4];
  size_t got = 0;
  RETURN_IF_ERROR(file.ReadSome(0, 4, magic, &got));
  const bool gzip = got >= 2 && magic[0] == 0x1f && magic[1] == 0x8b;

  if (!gzip) {
    ENSURE_CODE(got == 4, kDataLoss, Quoted(path), ": truncated header: ", got,
                " bytes, an IDX header needs at least 4");
    ASSIGN_OR_RETURN(const int num_dims, ParseMagic(path, magic));
    const uint64_t header_bytes = 4 + 4 * static_cast<uint64_t>(num_dims);
    std::vector<uint8_t> dim_bytes(4 * num_dims);
    RETURN_IF_ERROR(file.ReadSome(4, dim_bytes.size(), dim_bytes.data(), &got));
    ENSURE_CODE(got == dim_bytes.size(), kDataLoss, Quoted(path), ": truncated header: ", num_dims,
                " dimensions need ", header_bytes, " bytes, the file has ", 4 + got);
    ASSIGN_OR_RETURN(const uint64_t product,
                     ParseDims(path, dim_bytes.data(), num_dims, max_payload_bytes, &reader.dims_));
    const uint64_t have = file.size() >= header_bytes ? file.size() - header_bytes : 0;
    if (have < product) return Truncated(path, reader.dims_, product, have, "the file");
    if (have > product) {
      return Trailing(path, reader.dims_, product, "the file has " + std::to_string(have));
    }
    reader.payload_offset_ = header_bytes;
    reader.record_bytes_ = static_cast<size_t>(product / reader.dims_[0]);
    reader.file_.emplace(std::move(file));
    return reader;
  }

  reader.compressed_ = true;
  GzipReader stream(file);
  RETURN_IF_ERROR(stream.Init());
  RETURN_IF_ERROR(stream.Read(magic, 4, &got));
  ENSURE_CODE(got == 4, kDataLoss, Quoted(path), ": truncated header: the decompressed data has ",
              got, " bytes, an IDX header needs at least 4");
  ASSIGN_OR_RETURN(const int num_dims, ParseMagic(path, magic));
  std::vector<uint8_t> dim_bytes(4 * num_dims);
  RETURN_IF_ERROR(stream.Read(dim_bytes.data(), dim_bytes.size(), &got));
  ENSURE_CODE(got == dim_bytes.size(), kDataLoss, Quoted(path), ": truncated header: ", num_dims,
              " dimensions need ", 4 + dim_bytes.size(), " bytes, the decompressed data has ",
              4 + got);
  ASSIGN_OR_RETURN(const uint64_t product,
                   ParseDims(path, dim_bytes.data(), num_dims, max_payload_bytes, &reader.dims_));

  // Grow the buffer with the data actually inflated, so a header that lies about the size
  // cannot make us allocate what the file does not hold.
  try {
    size_t filled = 0;
    while (filled < product) {
      const size_t next = static_cast<size_t>(
          std::min<uint64_t>(product, std::max<uint64_t>(kInflateChunk, 2 * uint64_t{filled})));
      reader.payload_.resize(next);
      RETURN_IF_ERROR(stream.Read(reader.payload_.data() + filled, next - filled, &got));
      filled += got;
      if (filled < next) {
        return Truncated(path, reader.dims_, product, filled, "the decompressed data");
      }
    }
  } catch (const std::bad_alloc&) {
    return Error(StatusCode::kResourceExhausted, "out of memory inflating ", Quoted(path), " (",
                 product, " bytes)");
  }
  uint8_t extra[64];
  RETURN_IF_ERROR(stream.Read(extra, sizeof(extra), &got));
  if (got > 0) {
    return Trailing(path, reader.dims_, product,
                    std::string("the decompressed data has ") +
                        (got < sizeof(extra) ? "" : "at least ") + std::to_string(product + got));
  }
  reader.record_bytes_ = static_cast<size_t>(product / reader.dims_[0]);
  return reader;
}

Status IdxReader::ReadRecords(size_t first, size_t count, uint8_t* out, size_t out_size) const {
  ENSURE(first <= num_records() && count <= num_records() - first, Quoted(path_), ": ", count,
         " records from record ", first, " are past the end (", num_records(), " records)");
  const size_t bytes = count * record_bytes_;  // <= the payload size, so no overflow
  ENSURE(out_size >= bytes, Quoted(path_), ": ", count, " records need ", bytes,
         " bytes, the output holds ", out_size);
  if (bytes == 0) return Status::Ok();
  ENSURE(out != nullptr, Quoted(path_), ": null output");
  const size_t offset = first * record_bytes_;
  if (compressed_) {
    std::memcpy(out, payload_.data() + offset, bytes);
    return Status::Ok();
  }
  return file_->ReadAt(payload_offset_ + offset, bytes, out);
}

StatusOr<IdxArray> ReadIdx(const std::string& path, uint64_t max_payload_bytes) {
  ASSIGN_OR_RETURN(IdxReader reader, IdxReader::Open(path, max_payload_bytes));
  IdxArray array;
  array.dims = reader.dims();
  const size_t bytes = reader.num_records() * reader.record_bytes();
  try {
    array.data.resize(bytes);
  } catch (const std::bad_alloc&) {
    return Error(StatusCode::kResourceExhausted, "out of memory reading ", Quoted(path), " (",
                 bytes, " bytes)");
  }
  RETURN_IF_ERROR(reader.ReadRecords(0, reader.num_records(), array.data.data(), bytes));
  return array;
}

Status WriteIdx(const std::string& path, const std::vector<uint32_t>& dims, const uint8_t* data,
                size_t size, bool gzip) {
  ENSURE(!dims.empty() && dims.size() <= 255, "WriteIdx ", Quoted(path), ": ", dims.size(),
         " dimensions; IDX holds 1 to 255");
  uint64_t product = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    ENSURE(dims[i] > 0, "WriteIdx ", Quoted(path), ": dimension ", i, " is 0");
    ENSURE(product <= std::numeric_limits<uint64_t>::max() / dims[i], "WriteIdx ", Quoted(path),
           ": dimensions ", DimsText(dims), " overflow 64 bits");
    product *= dims[i];
  }
  ENSURE(product == size, "WriteIdx ", Quoted(path), ": dimensions ", DimsText(dims), " need ",
         product, " bytes, got ", size);
  ENSURE(data != nullptr, "WriteIdx ", Quoted(path), ": null data");

  std::vector<uint8_t> header = {0, 0, kUint8Type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) header.push_back(static_cast<uint8_t>(d >> shift));
  }
  if (!gzip) {
    return WriteFileAtomically(path, [&](FileSink& sink) {
      RETURN_IF_ERROR(sink.Append(header.data(), header.size()));
      return sink.Append(data, size);
    });
  }
  return WriteFileAtomically(path, [&](FileSink& sink) -> Status {
    z_stream z;
    std::memset(&z, 0, sizeof(z));
    // 16 + MAX_WBITS: a gzip wrapper (no name, mtime 0), so equal inputs give equal files.
    ENSURE_CODE(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                             Z_DEFAULT_STRATEGY) == Z_OK,
                kInternal, "zlib deflateInit2 failed");
    struct End {
      z_stream* z;
      ~End() { deflateEnd(z); }
    } end{&z};
    std::vector<uint8_t> out(kInflateChunk);
    // Feeds [p, p + n) to deflate; with `finish`, flushes the stream's end too.
    auto feed = [&](const uint8_t* p, size_t n, bool finish) -> Status {
      for (;;) {
        const size_t piece = std::min<size_t>(n, UINT_MAX);
        z.next_in = const_cast<uint8_t*>(p);
        z.avail_in = static_cast<uInt>(piece);
        const bool last = finish && piece == n;
        int rc;
        do {
          z.next_out = out.data();
          z.avail_out = static_cast<uInt>(out.size());
          rc = deflate(&z, last ? Z_FINISH : Z_NO_FLUSH);
          ENSURE_CODE(rc != Z_STREAM_ERROR, kInternal, "zlib deflate failed");
          RETURN_IF_ERROR(sink.Append(out.data(), out.size() - z.avail_out));
        } while (z.avail_out == 0 || (last && rc != Z_STREAM_END));
        p += piece;
        n -= piece;
        if (n == 0) return Status::Ok();
      }
    };
    RETURN_IF_ERROR(feed(header.data(), header.size(), false));
    return feed(data, size, true);
  });
}

}  // namespace persephonee
