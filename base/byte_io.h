// Little-endian byte writing and bounds-checked reading, for the project's file formats (the model
// file, the personalisation file). Values are assembled byte by byte, so the code is right on any
// host byte order.
#ifndef PERSEPHONEE_BASE_BYTE_IO_H_
#define PERSEPHONEE_BASE_BYTE_IO_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "base/status.h"

namespace persephonee {
namespace byte_io {

/// Appends little-endian values to a byte buffer.
class ByteWriter {
 public:
  explicit ByteWriter(std::vector<uint8_t>* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(v); }
  void U16(uint16_t v) { Le(v, 2); }
  void U32(uint32_t v) { Le(v, 4); }
  void U64(uint64_t v) { Le(v, 8); }
  void I64(int64_t v) { Le(static_cast<uint64_t>(v), 8); }
  void F32(float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    U32(bits);
  }
  void F64(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    U64(bits);
  }
  /// u32 length, then the bytes.
  void Str(const std::string& s) {
    U32(static_cast<uint32_t>(s.size()));
    out_->insert(out_->end(), s.begin(), s.end());
  }
  /// The bytes as they are.
  void Raw(const std::vector<uint8_t>& b) { out_->insert(out_->end(), b.begin(), b.end()); }
  /// Zero bytes up to the next multiple of `alignment` of the buffer size.
  void PadTo(size_t alignment) {
    while (out_->size() % alignment != 0) out_->push_back(0);
  }
  size_t size() const { return out_->size(); }

 private:
  void Le(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out_->push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t>* out_;
};

/// Reads little-endian values from [data, data + size); every read checks the bounds first
/// and fails with kDataLoss naming `what` and the region.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size, std::string region)
      : data_(data), size_(size), region_(std::move(region)) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  const std::string& region() const { return region_; }

  Status U8(uint8_t* v, const char* what) {
    RETURN_IF_ERROR(Need(1, what));
    *v = data_[pos_++];
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
  Status I64(int64_t* v, const char* what) {
    uint64_t x;
    RETURN_IF_ERROR(Le(&x, 8, what));
    *v = static_cast<int64_t>(x);
    return Status::Ok();
  }
  Status F32(float* v, const char* what) {
    uint32_t bits;
    RETURN_IF_ERROR(U32(&bits, what));
    std::memcpy(v, &bits, 4);
    return Status::Ok();
  }
  /// A u32 length (at most `max_length`) and that many bytes.
  Status Str(std::string* s, size_t max_length, const char* what) {
    uint32_t n;
    RETURN_IF_ERROR(U32(&n, what));
    ENSURE_CODE(n <= max_length, kDataLoss, region_, ": ", what, " at byte ", pos_ - 4,
                " has length ", n, ", more than the limit ", max_length);
    RETURN_IF_ERROR(Need(n, what));
    s->assign(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return Status::Ok();
  }

 private:
  Status Need(size_t n, const char* what) {
    ENSURE_CODE(n <= size_ - pos_, kDataLoss, region_, " is truncated: ", what, " at byte ", pos_,
                " needs ", n, " bytes, ", size_ - pos_, " remain");
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
  size_t pos_ = 0;
  std::string region_;
};

}  // namespace byte_io
}  // namespace persephonee

#endif  // PERSEPHONEE_BASE_BYTE_IO_H_
