// SHA-256 against the FIPS 180-2 / NIST example vectors and Python's hashlib, and incremental
// updates against one-shot hashing.
#include "training/sha256.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace persephonee {
namespace {

std::string Hex(const std::string& message) { return Sha256Hex(message.data(), message.size()); }

std::string DigestHex(const std::array<uint8_t, 32>& digest) {
  std::string hex;
  for (uint8_t b : digest) {
    hex.push_back("0123456789abcdef"[b >> 4]);
    hex.push_back("0123456789abcdef"[b & 15]);
  }
  return hex;
}

TEST(Sha256Test, NistVectors) {
  EXPECT_EQ(Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(
      Hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnop"
          "qrlmnopqrsmnopqrstnopqrstu"),
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, LengthsAroundThePaddingBoundary) {
  // Bytes 0, 1, ..., n-1; digests from Python's hashlib.sha256(bytes(range(n))).
  const std::vector<std::pair<size_t, std::string>> cases = {
      {55, "463eb28e72f82e0a96c0a4cc53690c571281131f672aa229e0d45ae59b598b59"},
      {56, "da2ae4d6b36748f2a318f23e7ab1dfdf45acdc9d049bd80e59de82a60895f562"},
      {63, "29af2686fd53374a36b0846694cc342177e428d1647515f078784d69cdb9e488"},
      {64, "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108"},
      {65, "4bfd2c8b6f1eec7a2afeb48b934ee4b2694182027e6d0fc075074f2fabb31781"},
      {119, "da18797ed7c3a777f0847f429724a2d8cd5138e6ed2895c3fa1a6d39d18f7ec6"},
      {120, "f52b23db1fbb6ded89ef42a23ce0c8922c45f25c50b568a93bf1c075420bbb7c"},
  };
  for (const auto& [n, digest] : cases) {
    std::string message;
    for (size_t i = 0; i < n; ++i) message.push_back(static_cast<char>(i));
    EXPECT_EQ(Hex(message), digest) << "length " << n;
  }
}

TEST(Sha256Test, IncrementalUpdatesMatchOneShot) {
  std::string message;
  for (int i = 0; i < 1000; ++i) message.push_back(static_cast<char>((i * 131 + 7) & 255));
  const std::string whole = Hex(message);
  // Split points on and around block boundaries, and many tiny pieces.
  for (size_t split : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{500},
                       size_t{999}, size_t{1000}}) {
    Sha256 sha;
    sha.Update(message.data(), split);
    sha.Update(message.data() + split, message.size() - split);
    EXPECT_EQ(DigestHex(sha.Finish()), whole) << "split at " << split;
  }
  Sha256 sha;
  for (size_t i = 0; i < message.size(); i += 7) {
    sha.Update(message.data() + i, std::min<size_t>(7, message.size() - i));
  }
  EXPECT_EQ(DigestHex(sha.Finish()), whole) << "7-byte pieces";
  // One flipped bit changes the digest.
  std::string flipped = message;
  flipped[500] ^= 1;
  EXPECT_NE(Hex(flipped), whole);
}

}  // namespace
}  // namespace persephonee
