// The fixture reader: it decodes what it is given exactly and refuses every malformed file.
#include "tests/golden/fixture.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace persephonee {
namespace golden {
namespace {

FixtureArray Floats(const std::string& name, std::vector<size_t> dims, std::vector<float> data) {
  FixtureArray a;
  a.name = name;
  a.dtype = FixtureDtype::kFloat32;
  a.dims = std::move(dims);
  a.f32 = std::move(data);
  return a;
}

FixtureArray Ints(const std::string& name, std::vector<int32_t> data) {
  FixtureArray a;
  a.name = name;
  a.dtype = FixtureDtype::kInt32;
  a.dims = {data.size()};
  a.i32 = std::move(data);
  return a;
}

std::vector<FixtureArray> Sample() {
  return {Floats("x", {2, 3}, {1.5f, -2.0f, 0.0f, 3.25f, -0.125f, 1e-30f}),
          Floats("scalar", {}, {7.0f}), Ints("stride", {2, -1})};
}

// Recomputes the trailing checksum after a deliberate edit, so that the edit itself is what
// the reader has to catch.
void Reseal(std::string* bytes) {
  const size_t body = bytes->size() - 4;
  const uint32_t crc = static_cast<uint32_t>(
      crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes->data()), body));
  for (int i = 0; i < 4; ++i) (*bytes)[body + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
}

void PutU32At(size_t offset, uint32_t v, std::string* bytes) {
  for (int i = 0; i < 4; ++i) (*bytes)[offset + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// Expects Parse to fail with kDataLoss and a message containing `needle`.
void ExpectRejected(const std::string& bytes, const std::string& needle) {
  StatusOr<Fixture> f = Fixture::Parse(bytes, "case.bin");
  ASSERT_FALSE(f.ok()) << "accepted a file that should fail with '" << needle << "'";
  EXPECT_EQ(f.status().code(), StatusCode::kDataLoss) << f.status().ToString();
  EXPECT_NE(f.status().message().find(needle), std::string::npos) << f.status().ToString();
  EXPECT_NE(f.status().message().find("case.bin"), std::string::npos) << f.status().ToString();
}

TEST(FixtureTest, RoundTripsEveryField) {
  StatusOr<Fixture> f = Fixture::Parse(EncodeFixture(Sample()), "sample");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->arrays().size(), 3u);
  const std::vector<FixtureArray> want = Sample();
  for (size_t i = 0; i < want.size(); ++i) {
    const FixtureArray& got = f->arrays()[i];
    EXPECT_EQ(got.name, want[i].name);
    EXPECT_EQ(got.dtype, want[i].dtype);
    EXPECT_EQ(got.dims, want[i].dims);
    EXPECT_EQ(got.f32, want[i].f32);
    EXPECT_EQ(got.i32, want[i].i32);
  }
  EXPECT_EQ(f->arrays()[1].size(), 1u);
  EXPECT_EQ(f->arrays()[0].DimsString(), "[2, 3]");
}

TEST(FixtureTest, EncodingIsLittleEndianAsDocumented) {
  const std::string bytes = EncodeFixture({Ints("a", {0x01020304})});
  // magic(8) version(4) count(4) name_length(4) name(1) dtype(4) rank(4) dim(4) data(4) crc(4)
  ASSERT_EQ(bytes.size(), 41u);
  EXPECT_EQ(bytes.substr(0, 8), "PSGOLDEN");
  EXPECT_EQ(bytes.substr(8, 4), std::string("\x01\x00\x00\x00", 4));
  EXPECT_EQ(bytes.substr(33, 4), std::string("\x04\x03\x02\x01", 4));
}

TEST(FixtureTest, FindChecksNameTypeRankAndDims) {
  StatusOr<Fixture> f = Fixture::Parse(EncodeFixture(Sample()), "sample.bin");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_TRUE(f->Find("x", FixtureDtype::kFloat32, 2).ok());
  EXPECT_TRUE(f->FindFloat("x", {2, 3}).ok());
  EXPECT_TRUE(f->Has("stride"));
  EXPECT_FALSE(f->Has("y"));

  EXPECT_EQ(f->Find("y", FixtureDtype::kFloat32, 2).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(f->Find("x", FixtureDtype::kInt32, 2).ok());
  EXPECT_FALSE(f->Find("x", FixtureDtype::kFloat32, 3).ok());
  StatusOr<const FixtureArray*> wrong_dims = f->FindFloat("x", {3, 2});
  ASSERT_FALSE(wrong_dims.ok());
  EXPECT_NE(wrong_dims.status().message().find("[2, 3]"), std::string::npos)
      << wrong_dims.status().ToString();

  StatusOr<std::vector<int32_t>> stride = f->Ints("stride", 2);
  ASSERT_TRUE(stride.ok()) << stride.status().ToString();
  EXPECT_EQ(*stride, (std::vector<int32_t>{2, -1}));
  EXPECT_FALSE(f->Ints("stride", 3).ok());
  EXPECT_FALSE(f->Ints("x", 6).ok());
}

TEST(FixtureTest, RejectsBadMagicVersionAndChecksum) {
  const std::string good = EncodeFixture(Sample());
  std::string bad = good;
  bad[0] = 'Q';
  ExpectRejected(bad, "magic");

  bad = good;
  PutU32At(8, 2, &bad);
  Reseal(&bad);
  ExpectRejected(bad, "version 2");

  bad = good;
  bad[good.size() - 10] ^= 0x40;  // A bit of the last float, checksum left as it was.
  ExpectRejected(bad, "checksum");
}

TEST(FixtureTest, RejectsEveryTruncationAndTrailingBytes) {
  const std::string good = EncodeFixture(Sample());
  for (size_t n = 0; n < good.size(); ++n) {
    StatusOr<Fixture> f = Fixture::Parse(good.substr(0, n), "cut.bin");
    EXPECT_FALSE(f.ok()) << "accepted the first " << n << " of " << good.size() << " bytes";
    if (!f.ok()) {
      EXPECT_EQ(f.status().code(), StatusCode::kDataLoss) << f.status().ToString();
    }
  }
  // Truncations resealed with a valid checksum must still fail, on structure alone.
  for (size_t n = 20; n + 4 < good.size(); ++n) {
    std::string cut = good.substr(0, n) + std::string(4, '\0');
    Reseal(&cut);
    EXPECT_FALSE(Fixture::Parse(cut, "cut.bin").ok()) << "accepted a resealed cut at " << n;
  }
  std::string longer = good.substr(0, good.size() - 4) + std::string(1, '\0') + "1234";
  Reseal(&longer);
  ExpectRejected(longer, "unexpected bytes");
}

TEST(FixtureTest, RejectsBadCountsNamesDtypesRanksAndDims) {
  std::string bad = EncodeFixture(Sample());
  PutU32At(12, 0, &bad);
  Reseal(&bad);
  ExpectRejected(bad, "array count 0");

  bad = EncodeFixture(Sample());
  PutU32At(12, 257, &bad);
  Reseal(&bad);
  ExpectRejected(bad, "array count 257");

  ExpectRejected(EncodeFixture({Floats("", {1}, {1.0f})}), "name length 0");
  ExpectRejected(EncodeFixture({Floats(std::string(65, 'a'), {1}, {1.0f})}), "name length 65");
  ExpectRejected(EncodeFixture({Floats("a-b", {1}, {1.0f})}), "characters");
  ExpectRejected(EncodeFixture({Floats("a", {1}, {1.0f}), Floats("a", {1}, {2.0f})}),
                 "appears twice");
  ExpectRejected(EncodeFixture({Floats("zero", {2, 0}, {})}), "dimension 1 is 0");
  ExpectRejected(EncodeFixture({Floats("big", {65537}, std::vector<float>(65537))}),
                 "dimension 0 is 65537");
  ExpectRejected(EncodeFixture({Floats("huge", {65536, 65536}, {})}), "elements");
  ExpectRejected(EncodeFixture({Floats("r7", {1, 1, 1, 1, 1, 1, 1}, {1.0f})}), "rank 7");

  FixtureArray odd = Ints("t", {1});
  odd.dtype = static_cast<FixtureDtype>(3);
  ExpectRejected(EncodeFixture({odd}), "dtype 3");
}

TEST(FixtureTest, RejectsNonFiniteFloats) {
  ExpectRejected(EncodeFixture({Floats("v", {3}, {0.0f, std::nanf(""), 1.0f})}),
                 "element 1 is not finite");
  ExpectRejected(EncodeFixture({Floats("v", {1}, {std::numeric_limits<float>::infinity()})}),
                 "not finite");
}

TEST(FixtureTest, LoadReportsMissingFile) {
  StatusOr<Fixture> f = Fixture::Load("tests/golden/testdata/no_such_fixture.bin");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kNotFound);
  EXPECT_NE(f.status().message().find("no_such_fixture.bin"), std::string::npos);
}

// A real fixture from the script: its arrays have the documented names and shapes, and the
// bias gradient equals dy summed over batch, height and width (checked in double).
TEST(FixtureTest, LoadsGeneratedConvFixture) {
  StatusOr<Fixture> f = Fixture::Load(FixturePath("conv2d_3x3_s1_p1"));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const std::vector<size_t> act_in = {2, 7, 6, 3}, act_out = {2, 7, 6, 5};
  for (const auto& [name, dims] :
       std::vector<std::pair<std::string, std::vector<size_t>>>{{"x", act_in},
                                                                {"dx", act_in},
                                                                {"y", act_out},
                                                                {"dy", act_out},
                                                                {"w", {5, 3, 3, 3}},
                                                                {"dw", {5, 3, 3, 3}},
                                                                {"b", {5}},
                                                                {"db", {5}}}) {
    EXPECT_TRUE(f->FindFloat(name, dims).ok()) << f->FindFloat(name, dims).status().ToString();
  }
  EXPECT_EQ(*f->Ints("stride", 2), (std::vector<int32_t>{1, 1}));
  EXPECT_EQ(*f->Ints("padding", 4), (std::vector<int32_t>{1, 1, 1, 1}));
  EXPECT_EQ(*f->Ints("groups", 1), (std::vector<int32_t>{1}));

  const FixtureArray* dy = *f->FindFloat("dy", act_out);
  const FixtureArray* db = *f->FindFloat("db", {5});
  for (size_t c = 0; c < 5; ++c) {
    double sum = 0.0, magnitude = 0.0;
    for (size_t i = c; i < dy->size(); i += 5) {
      sum += dy->f32[i];
      magnitude += std::fabs(dy->f32[i]);
    }
    EXPECT_NEAR(db->f32[c], sum, 1e-6 * magnitude) << "channel " << c;
  }
}

}  // namespace
}  // namespace golden
}  // namespace persephonee
