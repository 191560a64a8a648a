// SHA-256 (FIPS 180-4), written from the standard for the personalisation file's backbone hash.
//
// A backbone is identified by the SHA-256 of its model-file bytes, so that a personalisation
// trained on one backbone is never applied to another. SHA-256 rather than a 64-bit
// non-cryptographic hash (FNV-1a, xxHash): collisions are out of reach even for files made to
// collide on purpose, and the digest of a model file equals what `sha256sum` prints for it.
//
// The message is processed in 64-byte blocks; Update() buffers a partial block, Finish() pads
// (a 1 bit, zeros, the bit length as a big-endian u64) and runs the last one or two blocks.
#ifndef PERSEPHONEE_TRAINING_SHA256_H_
#define PERSEPHONEE_TRAINING_SHA256_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace persephonee {

/// An incremental SHA-256: Update() any number of times, then Finish() once.
class Sha256 {
 public:
  Sha256();
  /// Appends `size` bytes at `data` to the message.
  void Update(const void* data, size_t size);
  /// Pads the message and returns its 32-byte digest; the object must not be used afterwards.
  std::array<uint8_t, 32> Finish();

 private:
  void Block(const uint8_t* block);

  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t length_ = 0;  ///< Bytes so far.
};

/// The SHA-256 of `size` bytes at `data` as 64 lower-case hex digits.
std::string Sha256Hex(const void* data, size_t size);

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_SHA256_H_
