// The model file: bit-exact round trips, and a clear error (never a crash) on every kind of
// damage: truncation at every length, a flipped bit in every byte of the header and graph
// section, random flips in the weights, wrong magic and version, and corrupt records that still
// pass their checksums. The damage tests run on a float32 file (version 1) and on one with int8
// row weights (version 2).
#include "graph/model_format.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "graph/builder.h"
#include "graph/int8_rows.h"
#include "graph/model_sections.h"
#include "graph/zoo.h"
#include "tests/graph/test_graphs.h"

namespace persephonee {
namespace {

using model_io::FindSection;
using model_io::ResealChecksums;

std::vector<uint8_t> Serialize(const Graph& g) {
  StatusOr<std::vector<uint8_t>> bytes = SerializeGraph(g);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? std::move(bytes).value() : std::vector<uint8_t>();
}

StatusOr<Graph> Parse(const std::vector<uint8_t>& bytes) {
  return ParseGraph(bytes.data(), bytes.size(), "test.psm");
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

// The bytes of the small model all corruption tests start from.
const std::vector<uint8_t>& SmallModelBytes() {
  static const std::vector<uint8_t> bytes = [] {
    StatusOr<Graph> g = testing_graphs::EveryOpGraph(7);
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return g.ok() ? Serialize(*g) : std::vector<uint8_t>();
  }();
  return bytes;
}

// The same model with its Conv2d and FullyConnected weights in int8 rows: a version-2 file.
const std::vector<uint8_t>& SmallInt8ModelBytes() {
  static const std::vector<uint8_t> bytes = [] {
    StatusOr<Graph> g = testing_graphs::EveryOpGraph(7);
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    if (!g.ok()) return std::vector<uint8_t>();
    EXPECT_GT(SetWeightStorage(&*g, ParameterStorage::kInt8Rows), 2);
    return Serialize(*g);
  }();
  return bytes;
}

// The damage tests, on both files.
class ModelBytesTest : public ::testing::TestWithParam<bool> {
 protected:
  static const std::vector<uint8_t>& Bytes() {
    return GetParam() ? SmallInt8ModelBytes() : SmallModelBytes();
  }
};

INSTANTIATE_TEST_SUITE_P(Storage, ModelBytesTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Int8Rows" : "Float32";
                         });

TEST(ModelFormatTest, RoundTripIsBitExact) {
  StatusOr<Graph> g = testing_graphs::EveryOpGraph(7);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  std::vector<uint8_t> bytes = Serialize(*g);
  StatusOr<Graph> back = Parse(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  std::string why;
  EXPECT_TRUE(GraphsEqual(*g, *back, &why)) << why;
  // Serializing again gives the same bytes.
  EXPECT_EQ(Serialize(*back), bytes);
}

TEST(ModelFormatTest, RoundTripKeepsSpecialFloatBitsAndAllAttributes) {
  // Denormals, negative zero and extreme values survive bit for bit; every attribute differs
  // from its default.
  GraphBuilder b;
  TensorId x = b.Input("x", {3, 11, 10, 4});
  Conv2dAttrs a;
  a.out_channels = 6;
  a.kernel_h = 3;
  a.kernel_w = 2;
  a.stride_h = 2;
  a.stride_w = 3;
  a.padding = {1, 2, 0, 1};
  a.dilation_h = 2;
  a.dilation_w = 1;
  a.groups = 2;
  a.activation = Activation::kRelu6;
  std::vector<float> w = testing_graphs::RandomFloats(6 * 3 * 2 * 2, 1);
  w[0] = -0.0f;
  w[1] = 1e-45f;  // smallest denormal
  w[2] = 3.4028235e38f;
  w[3] = -1.17549435e-38f;
  TensorId y = b.Conv2d("conv", x, a, w, testing_graphs::RandomFloats(6, 2));
  PoolAttrs p = PoolAttrs::Square(3, 2, 1);
  p.kernel_w = 2;
  p.padding = {2, 0, 1, 0};
  p.count_include_pad = true;
  y = b.AvgPool("avg", y, p);
  y = b.BatchNorm("bn", y, {1, 2, 3, 4, 5, 6}, {0, 0, 0, 0, 0, 0}, {1, 1, 1, 1, 1, 1},
                  {2, 2, 2, 2, 2, 2}, 0.125f);
  y = b.Flatten("flat", y);
  ASSERT_EQ(b.shape(y), (Shape{3, 36}));
  y = b.FullyConnected("fc", y, FullyConnectedAttrs{2, Activation::kRelu},
                       testing_graphs::RandomFloats(2 * 36, 3));
  b.MarkOutput(y);
  StatusOr<Graph> g = b.Build();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  StatusOr<Graph> back = Parse(Serialize(*g));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  std::string why;
  EXPECT_TRUE(GraphsEqual(*g, *back, &why)) << why;
}

TEST(ModelFormatTest, LayoutIsAlignedAndDocumented) {
  const std::vector<uint8_t>& bytes = SmallModelBytes();
  ASSERT_GE(bytes.size(), 128u);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 8), "PSPHMODL");
  EXPECT_EQ(bytes[8], 1);  // version 1, little-endian
  EXPECT_EQ(bytes[9] | bytes[10] | bytes[11], 0);
  StatusOr<model_io::Section> graph = FindSection(bytes.data(), bytes.size(), kSectionGraph);
  StatusOr<model_io::Section> weights = FindSection(bytes.data(), bytes.size(), kSectionWeights);
  ASSERT_TRUE(graph.ok() && weights.ok());
  EXPECT_EQ(graph->offset, 128u);
  EXPECT_EQ(weights->offset % 64, 0u);
  EXPECT_EQ(weights->offset + weights->size, bytes.size());
  // Every parameter's data is at a 64-byte aligned file offset and holds its floats verbatim.
  StatusOr<Graph> g = testing_graphs::EveryOpGraph(7);
  ASSERT_TRUE(g.ok());
  int found = 0;
  for (const Tensor& t : g->tensors()) {
    if (t.kind != TensorKind::kParameter) continue;
    std::vector<uint8_t> needle(t.data.size() * 4);
    std::memcpy(needle.data(), t.data.data(), needle.size());  // the hosts are little-endian
    auto at = std::search(bytes.begin() + static_cast<long>(weights->offset), bytes.end(),
                          needle.begin(), needle.end());
    ASSERT_NE(at, bytes.end()) << t.name;
    EXPECT_EQ((at - bytes.begin()) % 64, 0) << t.name;
    ++found;
  }
  EXPECT_GT(found, 10);
}

TEST(ModelFormatTest, Int8RowsRoundTripBitExactInAVersion2File) {
  StatusOr<Graph> g = testing_graphs::EveryOpGraph(7);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  const std::vector<uint8_t> float32 = Serialize(*g);
  ASSERT_GT(SetWeightStorage(&*g, ParameterStorage::kInt8Rows), 2);
  const std::vector<uint8_t> bytes = Serialize(*g);
  EXPECT_EQ(bytes, SmallInt8ModelBytes());
  EXPECT_EQ(bytes[8], 2);  // version 2: it holds int8 rows
  EXPECT_LT(bytes.size(), float32.size());
  StatusOr<Graph> back = Parse(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  std::string why;
  EXPECT_TRUE(GraphsEqual(*g, *back, &why)) << why;  // storage and every value, bit for bit
  int int8 = 0;
  for (const Tensor& t : back->tensors()) int8 += t.storage == ParameterStorage::kInt8Rows;
  EXPECT_GT(int8, 2);
  EXPECT_EQ(Serialize(*back), bytes);
  // Back to float32: the values stay as they are (on the grid) and the file is version 1 again.
  EXPECT_GT(SetWeightStorage(&*back, ParameterStorage::kFloat32), 2);
  const std::vector<uint8_t> again = Serialize(*back);
  EXPECT_EQ(again[8], 1);
  StatusOr<Graph> reread = Parse(again);
  ASSERT_TRUE(reread.ok()) << reread.status().ToString();
  EXPECT_TRUE(GraphsEqual(*back, *reread, &why)) << why;
}

TEST(ModelFormatTest, Int8RowsOffTheirGridAreRefusedWhenSaving) {
  StatusOr<Graph> g = testing_graphs::EveryOpGraph(7);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_GT(SetWeightStorage(&*g, ParameterStorage::kInt8Rows), 2);
  for (TensorId t = 0; t < g->num_tensors(); ++t) {
    Tensor& tensor = g->mutable_tensor(t);
    if (tensor.storage != ParameterStorage::kInt8Rows) continue;
    tensor.data[0] = std::nextafter(tensor.data[0], 1e30f);  // one ulp off the grid
    StatusOr<std::vector<uint8_t>> bytes = SerializeGraph(*g);
    EXPECT_EQ(bytes.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(bytes.status().message().find("'" + tensor.name +
                                            "' is stored as int8 rows but its values are not on "
                                            "their grid"),
              std::string::npos)
        << bytes.status().ToString();
    return;
  }
  FAIL() << "no int8 tensor";
}

// Patches of the version-2 file's first int8 weights: a clear error for each second encoding.
TEST(ModelFormatTest, Int8RowsHaveOneEncoding) {
  const std::vector<uint8_t>& bytes = SmallInt8ModelBytes();
  StatusOr<Graph> g = Parse(bytes);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  StatusOr<model_io::Section> weights = FindSection(bytes.data(), bytes.size(), kSectionWeights);
  ASSERT_TRUE(weights.ok());
  // The first int8 tensor is the first conv's weights: parameters are laid out in id order, so
  // its data starts at the first parameter offset whose bytes decode as its exponents.
  const Tensor* first = nullptr;
  uint64_t offset = 0;
  for (const Tensor& t : g->tensors()) {
    if (t.kind != TensorKind::kParameter) continue;
    if (t.storage == ParameterStorage::kInt8Rows) {
      first = &t;
      break;
    }
    offset += (t.data.size() * sizeof(float) + 63) / 64 * 64;  // float32, 64-byte aligned
  }
  ASSERT_NE(first, nullptr);
  size_t rows, cols;
  Int8RowsGeometry(first->shape, &rows, &cols);
  const size_t at = static_cast<size_t>(weights->offset + offset);
  const int exponent = static_cast<int8_t>(bytes[at]);
  ASSERT_EQ(exponent, Int8RowExponent(first->data.data(), cols));
  auto patched = [&](size_t byte, uint8_t value) {
    std::vector<uint8_t> bad = bytes;
    bad[byte] = value;
    EXPECT_TRUE(ResealChecksums(&bad).ok());
    return Parse(bad).status();
  };
  // Row 0's integers all made 1: its exponent is now larger than they need.
  std::vector<uint8_t> ones = bytes;
  std::fill(ones.begin() + static_cast<long>(at + rows),
            ones.begin() + static_cast<long>(at + rows + cols), 1);
  ASSERT_TRUE(ResealChecksums(&ones).ok());
  Status s = Parse(ones).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("tensor '" + first->name + "'"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("row 0 has exponent " + std::to_string(exponent) +
                             " but its integers (largest magnitude 1) need " +
                             std::to_string(exponent - 6)),
            std::string::npos)
      << s.ToString();
  // An integer of -128.
  s = patched(at + rows, 0x80);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("row 0 holds the integer -128"), std::string::npos) << s.ToString();
  // An exponent beyond what int8 rows hold.
  s = patched(at, 125);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("row 0 has exponent 125"), std::string::npos) << s.ToString();
  // An int8 dtype in a version-1 file.
  std::vector<uint8_t> v1 = bytes;
  v1[8] = 1;
  ASSERT_TRUE(ResealChecksums(&v1).ok());
  s = Parse(v1).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("1 = int8 rows needs version 2"), std::string::npos) << s.ToString();
}

// Edits of the weights that pass their checksums: a clear error (a malformed int8 row, or a
// value the graph cannot have, such as a negative variance) or another valid model, never a
// crash.
TEST(ModelFormatTest, ResealedCorruptInt8WeightsNeverCrash) {
  const std::vector<uint8_t>& bytes = SmallInt8ModelBytes();
  StatusOr<model_io::Section> weights = FindSection(bytes.data(), bytes.size(), kSectionWeights);
  ASSERT_TRUE(weights.ok());
  std::mt19937 rng(5);
  std::uniform_int_distribution<size_t> pick(weights->offset, bytes.size() - 1);
  int errors = 0;
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> bad = bytes;
    bad[pick(rng)] = static_cast<uint8_t>(rng());
    ASSERT_TRUE(ResealChecksums(&bad).ok());
    StatusOr<Graph> g = Parse(bad);
    if (g.ok()) continue;
    ++errors;
    EXPECT_TRUE(g.status().code() == StatusCode::kDataLoss ||
                g.status().code() == StatusCode::kInvalidArgument)
        << g.status().ToString();
    EXPECT_NE(g.status().message().find("test.psm"), std::string::npos) << g.status().ToString();
  }
  EXPECT_GT(errors, 0);
}

TEST_P(ModelBytesTest, EveryTruncationIsDataLoss) {
  const std::vector<uint8_t>& bytes = Bytes();
  for (size_t len = 0; len < bytes.size(); ++len) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<long>(len));
    StatusOr<Graph> g = Parse(cut);
    ASSERT_FALSE(g.ok()) << "truncated to " << len << " of " << bytes.size() << " bytes";
    ASSERT_EQ(g.status().code(), StatusCode::kDataLoss) << len << ": " << g.status().ToString();
    ASSERT_NE(g.status().message().find("truncated"), std::string::npos)
        << len << ": " << g.status().ToString();
    ASSERT_NE(g.status().message().find("test.psm"), std::string::npos) << g.status().ToString();
  }
}

TEST_P(ModelBytesTest, EveryBitFlipInHeaderAndGraphSectionIsCaught) {
  const std::vector<uint8_t>& bytes = Bytes();
  StatusOr<model_io::Section> graph = FindSection(bytes.data(), bytes.size(), kSectionGraph);
  ASSERT_TRUE(graph.ok());
  // Header, section table, graph section and the padding before the weights.
  StatusOr<model_io::Section> weights = FindSection(bytes.data(), bytes.size(), kSectionWeights);
  ASSERT_TRUE(weights.ok());
  const size_t end = static_cast<size_t>(weights->offset);
  int flips = 0;
  for (size_t byte = 0; byte < end; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> bad = bytes;
      bad[byte] ^= static_cast<uint8_t>(1u << bit);
      StatusOr<Graph> g = Parse(bad);
      ASSERT_FALSE(g.ok()) << "flip of bit " << bit << " of byte " << byte << " went unnoticed";
      const Status& s = g.status();
      const std::string where = "byte " + std::to_string(byte) + ": " + s.ToString();
      if (byte < 8) {
        ASSERT_EQ(s.code(), StatusCode::kInvalidArgument) << where;
        ASSERT_NE(s.message().find("not a persephonee model file"), std::string::npos) << where;
      } else if (byte < 12) {
        ASSERT_EQ(s.code(), StatusCode::kUnimplemented) << where;
        ASSERT_NE(s.message().find("format version"), std::string::npos) << where;
      } else {
        ASSERT_EQ(s.code(), StatusCode::kDataLoss) << where;
        if (byte >= graph->offset && byte < graph->offset + graph->size) {
          ASSERT_NE(s.message().find("graph section checksum mismatch"), std::string::npos)
              << where;
        }
      }
      ++flips;
    }
  }
  EXPECT_EQ(flips, static_cast<int>(end) * 8);
}

TEST_P(ModelBytesTest, RandomBitFlipsInWeightsAreCaught) {
  const std::vector<uint8_t>& bytes = Bytes();
  StatusOr<model_io::Section> weights = FindSection(bytes.data(), bytes.size(), kSectionWeights);
  ASSERT_TRUE(weights.ok());
  std::mt19937 rng(123);
  std::uniform_int_distribution<size_t> pick(weights->offset, bytes.size() - 1);
  for (int i = 0; i < 300; ++i) {
    std::vector<uint8_t> bad = bytes;
    const size_t byte = pick(rng);
    bad[byte] ^= static_cast<uint8_t>(1u << (rng() % 8));
    StatusOr<Graph> g = Parse(bad);
    ASSERT_FALSE(g.ok()) << "byte " << byte;
    ASSERT_EQ(g.status().code(), StatusCode::kDataLoss) << g.status().ToString();
    ASSERT_NE(g.status().message().find("weights section checksum mismatch"), std::string::npos)
        << g.status().ToString();
  }
}

TEST(ModelFormatTest, WrongMagicAndVersion) {
  std::vector<uint8_t> bytes = SmallModelBytes();
  std::vector<uint8_t> magic = bytes;
  std::memcpy(magic.data(), "GGUF\0\0\0\0", 8);
  StatusOr<Graph> g = Parse(magic);
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(g.status().message(),
            "model 'test.psm' is not a persephonee model file (wrong magic bytes)");
  // A short file that is not ours says so too, rather than "truncated".
  std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o'};
  EXPECT_EQ(Parse(text).status().code(), StatusCode::kInvalidArgument);

  // A future version, with a valid header checksum: refused by version, not by checksum.
  std::vector<uint8_t> v3 = bytes;
  v3[8] = 3;
  ASSERT_TRUE(ResealChecksums(&v3).ok());
  g = Parse(v3);
  EXPECT_EQ(g.status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(g.status().message(),
            "model 'test.psm' has format version 3; this build reads versions 1 to 2");
  // A float32 model in a version-2 header reads as well: version 2 only adds a dtype.
  std::vector<uint8_t> v2 = bytes;
  v2[8] = 2;
  ASSERT_TRUE(ResealChecksums(&v2).ok());
  EXPECT_TRUE(Parse(v2).ok());
}

TEST(ModelFormatTest, TrailingBytesAndBadPaddingAreDataLoss) {
  std::vector<uint8_t> longer = SmallModelBytes();
  longer.push_back(0);
  StatusOr<Graph> g = Parse(longer);
  EXPECT_EQ(g.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(g.status().message().find("1 unexpected bytes after its end"), std::string::npos)
      << g.status().ToString();
}

// Corrupt graph sections whose checksums are recomputed, so the parser itself is exercised:
// whatever the damage it must return (an error, or, rarely, a valid graph), never crash; run
// under --config=asan this also proves it never reads out of bounds.
TEST_P(ModelBytesTest, ResealedCorruptGraphSectionsNeverCrash) {
  const std::vector<uint8_t>& bytes = Bytes();
  StatusOr<model_io::Section> graph = FindSection(bytes.data(), bytes.size(), kSectionGraph);
  ASSERT_TRUE(graph.ok());
  std::mt19937 rng(99);
  std::uniform_int_distribution<size_t> pick(graph->offset, graph->offset + graph->size - 1);
  int errors = 0;
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> bad = bytes;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t byte = pick(rng);
      switch (rng() % 3) {
        case 0:
          bad[byte] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        case 1:
          bad[byte] = 0xFF;  // large counts, lengths, ids
          break;
        default:
          bad[byte] = static_cast<uint8_t>(rng());
          break;
      }
    }
    ASSERT_TRUE(ResealChecksums(&bad).ok());
    StatusOr<Graph> g = Parse(bad);
    if (!g.ok()) {
      ++errors;
      EXPECT_FALSE(g.status().message().empty());
      EXPECT_NE(g.status().message().find("test.psm"), std::string::npos) << g.status().ToString();
    }
  }
  // Nearly every edit of a structure this dense is caught.
  EXPECT_GT(errors, 2700);
}

// The same for the header and section table (offsets, sizes, counts, reserved fields), with
// the header checksum recomputed after each edit.
TEST(ModelFormatTest, ResealedCorruptHeadersNeverCrash) {
  const std::vector<uint8_t>& bytes = SmallModelBytes();
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> pick(12, 127);  // past the magic and version
  int errors = 0;
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> bad = bytes;
    const size_t byte = pick(rng);
    bad[byte] = rng() % 2 ? static_cast<uint8_t>(rng()) : 0xFF;
    // Fails (leaving the header checksum stale) only when the section count was hit.
    const bool resealed = ResealChecksums(&bad).ok();
    EXPECT_TRUE(resealed || (byte >= 24 && byte < 28)) << "byte " << byte;
    StatusOr<Graph> g = Parse(bad);
    if (!g.ok()) {
      ++errors;
      EXPECT_EQ(g.status().code(), StatusCode::kDataLoss)
          << "byte " << byte << ": " << g.status().ToString();
    }
  }
  EXPECT_GT(errors, 2000);
}

TEST(ModelFormatTest, SpecificCorruptRecordsGiveSpecificErrors) {
  const std::vector<uint8_t>& bytes = SmallModelBytes();
  StatusOr<model_io::Section> graph = FindSection(bytes.data(), bytes.size(), kSectionGraph);
  ASSERT_TRUE(graph.ok());
  const size_t at = static_cast<size_t>(graph->offset);
  auto with = [&](size_t offset, std::vector<uint8_t> patch) {
    std::vector<uint8_t> bad = bytes;
    std::copy(patch.begin(), patch.end(), bad.begin() + static_cast<long>(offset));
    EXPECT_TRUE(ResealChecksums(&bad).ok());
    return Parse(bad).status();
  };
  // A tensor count of 2^32 - 1.
  Status s = with(at, {0xFF, 0xFF, 0xFF, 0xFF});
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("4294967295 tensors cannot fit"), std::string::npos) << s.ToString();
  // The first tensor's name length (the input "image") made huge.
  s = with(at + 8, {0x00, 0x00, 0x01, 0x00});
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("tensor name at byte 8 has length 65536"), std::string::npos)
      << s.ToString();
  // Its kind byte (after the 4-byte length and "image") set to 9.
  s = with(at + 8 + 4 + 5, {9});
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("tensor 'image' (at byte 8): unknown kind 9"), std::string::npos)
      << s.ToString();
  // Its first dimension made 0.
  s = with(at + 8 + 4 + 5 + 4, {0, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("dimension 0 is 0"), std::string::npos) << s.ToString();
}

TEST(ModelFormatTest, SaveAndLoadFiles) {
  StatusOr<Graph> g = BuildZooModel("resnet20", 5);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  const std::string path = TempPath("resnet20.psm");
  ASSERT_TRUE(SaveGraph(*g, path).ok());
  StatusOr<Graph> back = LoadGraph(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  std::string why;
  EXPECT_TRUE(GraphsEqual(*g, *back, &why)) << why;

  // Saving over an existing file replaces it whole.
  StatusOr<Graph> other = testing_graphs::EveryOpGraph(8);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(SaveGraph(*other, path).ok());
  back = LoadGraph(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(GraphsEqual(*other, *back, &why)) << why;
  // No temporary file is left beside it.
  DIR* dir = opendir(TempPath("").c_str());
  ASSERT_NE(dir, nullptr);
  int entries = 0;
  while (const dirent* e = readdir(dir)) {
    ++entries;
    EXPECT_EQ(std::string(e->d_name).find("resnet20.psm.tmp"), std::string::npos) << e->d_name;
  }
  closedir(dir);
  EXPECT_GT(entries, 2);
}

TEST(ModelFormatTest, FileErrors) {
  StatusOr<Graph> g = LoadGraph(TempPath("does-not-exist.psm"));
  EXPECT_EQ(g.status().code(), StatusCode::kNotFound);
  EXPECT_NE(g.status().message().find("does-not-exist.psm"), std::string::npos);
  g = LoadGraph(TempPath(""));  // a directory
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(g.status().message().find("is a directory"), std::string::npos);

  StatusOr<Graph> small = testing_graphs::EveryOpGraph(1);
  ASSERT_TRUE(small.ok());
  Status s = SaveGraph(*small, TempPath("no-such-dir/model.psm"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("cannot save"), std::string::npos) << s.ToString();

  // An invalid graph is refused before anything is written.
  Graph broken = *small;
  broken.mutable_node(0).inputs.push_back(12345);
  const std::string path = TempPath("broken.psm");
  s = SaveGraph(broken, path);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("cannot serialize an invalid graph"), std::string::npos);
  EXPECT_FALSE(std::ifstream(path).good());

  // A truncated file on disk.
  std::vector<uint8_t> bytes = SmallModelBytes();
  const std::string cut = TempPath("cut.psm");
  std::ofstream(cut, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), 100);
  g = LoadGraph(cut);
  EXPECT_EQ(g.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(g.status().message().find("truncated"), std::string::npos) << g.status().ToString();
}

// A process killed at any moment while saving leaves either the previous complete file or the
// new complete file at the path, never a partial one. A child saves two models alternately
// without pause and is SIGKILLed after a varying delay; the file must then load as one of them.
TEST(ModelFormatTest, KilledWhileSavingLeavesACompleteFile) {
  StatusOr<Graph> a = BuildZooModel("fmnist_resnet", 1);
  StatusOr<Graph> b = BuildZooModel("resnet20", 2);
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string path = TempPath("atomic.psm");
  ASSERT_TRUE(SaveGraph(*a, path).ok());
  int saw_a = 0, saw_b = 0;
  for (int round = 0; round < 6; ++round) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      for (uint64_t i = 0;; ++i) {
        if (!SaveGraph(i % 2 ? *a : *b, path).ok()) _exit(3);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(40 + 37 * round));
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the saving child stopped by itself: status " << status;
    StatusOr<Graph> loaded = LoadGraph(path);
    ASSERT_TRUE(loaded.ok()) << "round " << round << ": " << loaded.status().ToString();
    const bool is_a = GraphsEqual(*loaded, *a);
    const bool is_b = GraphsEqual(*loaded, *b);
    EXPECT_TRUE(is_a || is_b) << "round " << round;
    saw_a += is_a;
    saw_b += is_b;
  }
  EXPECT_EQ(saw_a + saw_b, 6);
}

}  // namespace
}  // namespace persephonee
