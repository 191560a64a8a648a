// The personalisation file under damage: a clear error, never a crash, for truncation at every
// length, a flipped bit in every byte, wrong magic and version, trailing bytes, and corrupt
// records that pass the checksum (targeted, and at random). Also run under --config=asan.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "base/file_io.h"
#include "graph/model_format.h"
#include "tests/training/personalisation_testing.h"
#include "training/personalisation.h"

namespace persephonee {
namespace {

using namespace personalisation_testing;  // NOLINT: test helpers.

TEST(PersonalisationTest, TruncationAtEveryLengthIsDataLoss) {
  const std::vector<uint8_t>& bytes = SmallBytes();
  for (size_t length = 0; length < bytes.size(); ++length) {
    StatusOr<Personalisation> p = ParsePersonalisation(bytes.data(), length, "user.psp");
    ASSERT_FALSE(p.ok()) << "length " << length;
    EXPECT_EQ(p.status().code(), StatusCode::kDataLoss) << "length " << length;
    EXPECT_TRUE(Contains(p.status().message(), "user.psp is truncated"))
        << "length " << length << ": " << p.status().ToString();
  }
  // Through a file: the message names it.
  TempDir dir;
  const std::string path = dir.File("cut.psp");
  ASSERT_TRUE(WriteFileAtomically(path, bytes.data(), bytes.size() / 2).ok());
  StatusOr<Personalisation> p = LoadPersonalisation(path);
  EXPECT_EQ(p.status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(p.status().message(), path + " is truncated")) << p.status().ToString();
}

TEST(PersonalisationTest, EveryFlippedBitIsCaught) {
  const std::vector<uint8_t>& bytes = SmallBytes();
  int flips = 0;
  for (size_t at = 0; at < bytes.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> bad = bytes;
      bad[at] ^= static_cast<uint8_t>(1 << bit);
      const StatusOr<Personalisation> p = Parse(bad);
      ASSERT_FALSE(p.ok()) << "byte " << at << " bit " << bit;
      const Status& s = p.status();
      ASSERT_TRUE(Contains(s.message(), "user.psp")) << s.ToString();
      if (at < 8) {
        EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << "byte " << at;
        EXPECT_TRUE(Contains(s.message(), "not a persephonee personalisation file"))
            << s.ToString();
      } else if (at < 12) {
        EXPECT_EQ(s.code(), StatusCode::kUnimplemented) << "byte " << at;
        EXPECT_TRUE(Contains(s.message(), "version")) << s.ToString();
      } else if (at >= kHeader || (at >= 24 && at < 28)) {
        EXPECT_EQ(s.code(), StatusCode::kDataLoss) << "byte " << at;
        EXPECT_TRUE(Contains(s.message(), "checksum mismatch")) << s.ToString();
      } else {
        EXPECT_EQ(s.code(), StatusCode::kDataLoss) << "byte " << at << ": " << s.ToString();
      }
      ++flips;
    }
  }
  EXPECT_EQ(flips, static_cast<int>(8 * bytes.size()));
}

TEST(PersonalisationTest, WrongMagicVersionAndTrailingBytesAreNamed) {
  std::vector<uint8_t> bytes = SmallBytes();
  // A model file is not a personalisation file.
  StatusOr<std::vector<uint8_t>> model = SerializeGraph(Small().exits[0].head);
  ASSERT_TRUE(model.ok());
  Status s = Parse(*model).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "user.psp is not a persephonee personalisation file"))
      << s.ToString();
  // A later version.
  std::vector<uint8_t> v3 = bytes;
  PutLe(&v3, 8, 3, 4);
  s = Parse(v3).status();
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_TRUE(
      Contains(s.message(), "version 3 is not supported (this build reads versions 1 to 2)"))
      << s.ToString();
  // Version 0 never existed.
  std::vector<uint8_t> v0 = bytes;
  PutLe(&v0, 8, 0, 4);
  EXPECT_EQ(Parse(v0).status().code(), StatusCode::kUnimplemented);
  // One byte too many.
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  s = Parse(longer).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(s.message(), "1 unexpected trailing bytes")) << s.ToString();
  // Extra bytes inside the payload, sealed: refused after the last record.
  std::vector<uint8_t> padded = bytes;
  padded.insert(padded.end(), {0, 0, 0});
  PutLe(&padded, 16, padded.size() - kHeader, 8);
  Reseal(&padded);
  s = Parse(padded).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(s.message(), "3 unexpected bytes after the last record")) << s.ToString();
  // Missing and empty files.
  TempDir dir;
  EXPECT_EQ(LoadPersonalisation(dir.File("none.psp")).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(WriteFileAtomically(dir.File("empty.psp"), "", 0).ok());
  s = LoadPersonalisation(dir.File("empty.psp")).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(s.message(), "truncated")) << s.ToString();
}

TEST(PersonalisationTest, CorruptRecordsThatPassTheChecksumAreRefused) {
  const std::vector<uint8_t>& bytes = SmallBytes();
  // Byte offsets of the first fields (see HeaderIsAsDocumented): classes at 32, measure 36,
  // optimiser flag 37, reserved 38, backbone MACs 40, hash 48 (4 + 64 bytes), output tensor at
  // 116 ("fc": 4 + 2 bytes), exit count at 122, the first exit's name at 126.
  struct Case {
    size_t at;
    uint64_t value;
    int width;
    const char* message;
  };
  const std::vector<Case> cases = {
      {32, 0, 4, "classes at byte 32 is 0"},
      {36, 7, 1, "confidence measure at byte 36 is 7"},
      {37, 2, 1, "optimiser flag at byte 37 is 2"},
      {38, 1, 2, "reserved field at byte 38 is 1"},
      {40, uint64_t{1} << 63, 8, "backbone MACs at byte 40"},
      {48, 63, 4, "backbone hash at byte 48 has length 63"},
      {116, 0xFFFFFFFF, 4, "output tensor at byte 116 has length 4294967295"},
      {122, 0xFFFFFFFF, 4, "exit count at byte 122 is 4294967295"},
      {122, 0, 4, "exit count at byte 122 is 0"},
      {126, 100000, 4, "exit name at byte 126 has length 100000"},
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> bad = bytes;
    PutLe(&bad, c.at, c.value, c.width);
    Reseal(&bad);
    const Status s = Parse(bad).status();
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << c.message << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.message(), c.message)) << s.ToString();
  }
  // A head whose size runs past the end.
  const size_t name_length = 5;  // "exit1"
  const size_t head_size_at = 126 + 4 + name_length + 4 + 6 + 4 + 4 * 8 + 8 + 8 + 8 + 8 + 4;
  std::vector<uint8_t> bad = bytes;
  PutLe(&bad, head_size_at, uint64_t{1} << 40, 8);
  Reseal(&bad);
  Status s = Parse(bad).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(s.message(), "exit 'exit1'") && Contains(s.message(), "head model size"))
      << s.ToString();
  // A semantically invalid file: a NaN threshold (the float just before the head size).
  bad = bytes;
  PutLe(&bad, head_size_at - 4, 0x7FC00000, 4);
  Reseal(&bad);
  s = Parse(bad).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "user.psp: personalisation: exit 'exit1': threshold is NaN"))
      << s.ToString();
  // Metadata keys out of order ("tool" before "seed"): a file has one encoding only.
  const std::string seed_key("\x04\0\0\0seed", 8);
  auto found = std::search(bytes.begin(), bytes.end(), seed_key.begin(), seed_key.end());
  ASSERT_NE(found, bytes.end());
  const size_t seed_at = static_cast<size_t>(found - bytes.begin());
  ASSERT_EQ(std::string(bytes.begin() + seed_at + 13, bytes.begin() + seed_at + 21),
            std::string("\x04\0\0\0tool", 8));  // after the value "1" (4 + 1 bytes)
  bad = bytes;
  std::copy(bytes.begin() + seed_at + 17, bytes.begin() + seed_at + 21, bad.begin() + seed_at + 4);
  std::copy(bytes.begin() + seed_at + 4, bytes.begin() + seed_at + 8, bad.begin() + seed_at + 17);
  Reseal(&bad);
  s = Parse(bad).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(s.message(), "metadata key 'seed' at byte " + std::to_string(seed_at + 13) +
                                        " is out of order"))
      << s.ToString();
  // An optimiser array whose length runs past the end.
  const std::string array_name = "exit1.fc.weight/momentum";
  found = std::search(bytes.begin(), bytes.end(), array_name.begin(), array_name.end());
  ASSERT_NE(found, bytes.end());
  const size_t length_at = static_cast<size_t>(found - bytes.begin()) + array_name.size();
  bad = bytes;
  PutLe(&bad, length_at, 6, 8);
  Reseal(&bad);
  s = Parse(bad).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(s.message(), "user.psp is truncated: optimiser array '" + array_name +
                                        "' at byte " + std::to_string(length_at) +
                                        " has 6 values but only 22 bytes remain"))
      << s.ToString();
}

TEST(PersonalisationTest, RandomDamageThatPassesTheChecksumNeverCrashes) {
  // Resealed random damage: either a clear error, or a file that is still valid and is written
  // back byte for byte (the format is canonical).
  const std::vector<uint8_t>& bytes = SmallBytes();
  std::mt19937_64 rng(5);
  int refused = 0;
  for (int trial = 0; trial < 1500; ++trial) {
    std::vector<uint8_t> bad = bytes;
    const int changes = 1 + static_cast<int>(rng() % 3);
    for (int c = 0; c < changes; ++c) {
      const size_t at = kHeader + rng() % (bad.size() - kHeader);
      bad[at] = static_cast<uint8_t>(trial % 4 == 0 ? 0xFF : rng());
    }
    Reseal(&bad);
    const StatusOr<Personalisation> p = Parse(bad);
    if (p.ok()) {
      EXPECT_EQ(Serialize(*p), bad) << "trial " << trial;
      continue;
    }
    ++refused;
    const StatusCode code = p.status().code();
    EXPECT_TRUE(code == StatusCode::kDataLoss || code == StatusCode::kInvalidArgument ||
                code == StatusCode::kUnimplemented)
        << "trial " << trial << ": " << p.status().ToString();
    EXPECT_TRUE(Contains(p.status().message(), "user.psp")) << p.status().ToString();
  }
  EXPECT_GT(refused, 1000);
}

}  // namespace
}  // namespace persephonee
