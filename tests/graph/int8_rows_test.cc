// Int8 row storage: the grid's exponent is the smallest that holds the row, quantizing is
// idempotent bit for bit, every value moves by at most half a step (and less than max/127),
// encoding and decoding are inverse, and a second encoding of a row is refused.
#include "graph/int8_rows.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "graph/passes.h"
#include "graph/shape_inference.h"
#include "tests/graph/test_graphs.h"

namespace persephonee {
namespace {

// Rows of every kind: random scales from denormal to near FLT_MAX, zeros, -0, single values.
std::vector<std::vector<float>> Rows() {
  std::vector<std::vector<float>> rows = {
      {0.0f},
      {-0.0f, 0.0f, -0.0f},
      {1.0f},
      {-127.0f, 64.0f, 0.5f},
      {kInt8RowMaxMagnitude, -kInt8RowMaxMagnitude, 1.0f},
      {3.3e38f, 1.0f},
      {1e-45f, -1e-45f},          // denormals: below the finest grid, they round to 0
      {1e-38f, 3e-39f, -2e-40f},  // around the smallest normal
      {0.1f, 0.2f, 0.3f, -0.25f},
      {126.5f, 0.5f, 1.5f, 2.5f},  // ties, to even
  };
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  std::uniform_int_distribution<int> exponent(-140, 126);
  std::uniform_int_distribution<int> length(1, 300);
  for (int i = 0; i < 2000; ++i) {
    std::vector<float> row(static_cast<size_t>(length(rng)));
    const float scale = std::ldexp(1.0f, exponent(rng));
    for (float& v : row) v = unit(rng) * scale;
    rows.push_back(row);
  }
  return rows;
}

double MaxAbs(const std::vector<float>& row) {
  double m = 0;
  for (float v : row) m = std::max(m, std::fabs(static_cast<double>(v)));
  return m;
}

TEST(Int8RowsTest, ExponentIsTheSmallestThatHoldsTheRow) {
  for (const std::vector<float>& row : Rows()) {
    const int e = Int8RowExponent(row.data(), row.size());
    const double m = MaxAbs(row);
    ASSERT_GE(e, kInt8RowMinExponent);
    ASSERT_LE(e, kInt8RowMaxExponent);
    ASSERT_LE(m, std::ldexp(127.0, e)) << m;
    if (e > kInt8RowMinExponent) {
      ASSERT_GT(m, std::ldexp(127.0, e - 1)) << m;
    }
  }
  const float zeros[3] = {0.0f, -0.0f, 0.0f};
  EXPECT_EQ(Int8RowExponent(zeros, 3), kInt8RowMinExponent);
  const float one = 127.0f;
  EXPECT_EQ(Int8RowExponent(&one, 1), 0);
  const float more = 127.25f;
  EXPECT_EQ(Int8RowExponent(&more, 1), 1);
  const float big = kInt8RowMaxMagnitude;
  EXPECT_EQ(Int8RowExponent(&big, 1), kInt8RowMaxExponent);
  // What int8 rows cannot hold is left alone (and a graph storing it so is invalid).
  std::vector<float> beyond = {FLT_MAX, INFINITY, 1.0f};
  QuantizeInt8Rows(beyond.data(), 1, 3);
  EXPECT_EQ(beyond, (std::vector<float>{FLT_MAX, INFINITY, 1.0f}));
}

TEST(Int8RowsTest, QuantizingMovesValuesByHalfAStepAndIsIdempotent) {
  for (const std::vector<float>& row : Rows()) {
    std::vector<float> q = row;
    QuantizeInt8Rows(q.data(), 1, q.size());
    const int e = Int8RowExponent(row.data(), row.size());
    const double step = std::ldexp(1.0, e);
    const double m = MaxAbs(row);
    for (size_t i = 0; i < row.size(); ++i) {
      const double err = std::fabs(static_cast<double>(q[i]) - row[i]);
      ASSERT_LE(err, step / 2) << row[i] << " -> " << q[i];
      if (e > kInt8RowMinExponent) {
        ASSERT_LT(err, m / 127) << row[i] << " -> " << q[i];
      }
      // An integer multiple of the step, at most 127 of them, and never -0.
      const double n = static_cast<double>(q[i]) / step;
      ASSERT_EQ(n, std::nearbyint(n));
      ASSERT_LE(std::fabs(n), 127);
      ASSERT_FALSE(q[i] == 0.0f && std::signbit(q[i]));
    }
    ASSERT_TRUE(OnInt8RowGrid(q.data(), 1, q.size()));
    std::vector<float> again = q;
    QuantizeInt8Rows(again.data(), 1, again.size());
    ASSERT_EQ(std::memcmp(again.data(), q.data(), q.size() * sizeof(float)), 0);
    ASSERT_EQ(Int8RowExponent(q.data(), q.size()), e) << "the quantized row keeps its exponent";
  }
  // Ties go to even: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2 on the grid of 126.5 (exponent 0).
  std::vector<float> ties = {126.5f, 0.5f, 1.5f, 2.5f, -0.5f};
  QuantizeInt8Rows(ties.data(), 1, ties.size());
  EXPECT_EQ(ties, (std::vector<float>{126.0f, 0.0f, 2.0f, 2.0f, 0.0f}));
  EXPECT_FALSE(std::signbit(ties[4]));
  // Off the grid: one ulp away.
  std::vector<float> off = {100.0f, std::nextafter(3.0f, 4.0f)};
  EXPECT_FALSE(OnInt8RowGrid(off.data(), 1, off.size()));
}

TEST(Int8RowsTest, EncodeDecodeRoundTripRowByRow) {
  // A 37 x 53 matrix whose rows have very different scales.
  const size_t rows = 37, cols = 53;
  std::vector<float> data = testing_graphs::RandomFloats(rows * cols, 9);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      data[r * cols + c] = std::ldexp(data[r * cols + c], static_cast<int>(r) * 6 - 110);
    }
  }
  std::fill(data.begin() + 5 * cols, data.begin() + 6 * cols, 0.0f);  // an all-zero row
  QuantizeInt8Rows(data.data(), rows, cols);
  std::vector<uint8_t> bytes(Int8RowsBytes(rows, cols));
  EXPECT_EQ(bytes.size(), rows + rows * cols);
  EncodeInt8Rows(data.data(), rows, cols, bytes.data());
  EXPECT_EQ(static_cast<int8_t>(bytes[5]), kInt8RowMinExponent);
  std::vector<float> back(rows * cols, -1.0f);
  const Status s = DecodeInt8Rows(bytes.data(), rows, cols, back.data(), "t: ");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(std::memcmp(back.data(), data.data(), data.size() * sizeof(float)), 0);
}

TEST(Int8RowsTest, SecondEncodingsAreRefused) {
  const std::vector<float> row = {3.0f, -1.0f, 0.25f};  // exponent -5: 96, -32, 8
  std::vector<uint8_t> bytes(Int8RowsBytes(1, 3));
  EncodeInt8Rows(row.data(), 1, 3, bytes.data());
  ASSERT_EQ(static_cast<int8_t>(bytes[0]), -5);
  ASSERT_EQ(static_cast<int8_t>(bytes[1]), 96);
  std::vector<float> out(3);
  // The same values as 48 x 2^-4: a second encoding.
  std::vector<uint8_t> other = {static_cast<uint8_t>(-4), 48, static_cast<uint8_t>(-16), 4};
  Status s = DecodeInt8Rows(other.data(), 1, 3, out.data(), "t: ");
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.message(),
            "t: row 0 has exponent -4 but its integers (largest magnitude 48) need -5 (exponents "
            "are the smallest that hold the row, at most 121)");
  // Zeros with an exponent other than the smallest.
  std::vector<uint8_t> zeros = {0, 0, 0, 0};
  EXPECT_EQ(DecodeInt8Rows(zeros.data(), 1, 3, out.data(), "t: ").code(), StatusCode::kDataLoss);
  zeros[0] = static_cast<uint8_t>(kInt8RowMinExponent);
  EXPECT_TRUE(DecodeInt8Rows(zeros.data(), 1, 3, out.data(), "t: ").ok());
  // Beyond float32.
  std::vector<uint8_t> huge = {127, 100, 0, 0};
  EXPECT_EQ(DecodeInt8Rows(huge.data(), 1, 3, out.data(), "t: ").code(), StatusCode::kDataLoss);
}

TEST(Int8RowsTest, SetWeightStorageTouchesOnlyConvAndFullyConnectedWeights) {
  StatusOr<Graph> g = testing_graphs::EveryOpGraph(3);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  const Graph before = *g;
  const int set = SetWeightStorage(&*g, ParameterStorage::kInt8Rows);
  int weights = 0;
  for (const Node& n : g->nodes()) {
    weights += n.op == OpType::kConv2d || n.op == OpType::kFullyConnected;
  }
  EXPECT_EQ(set, weights);
  for (TensorId t = 0; t < g->num_tensors(); ++t) {
    const Tensor& x = g->tensor(t);
    if (x.storage == ParameterStorage::kFloat32) {
      EXPECT_EQ(x.data, before.tensor(t).data) << x.name;
    } else {
      size_t rows, cols;
      Int8RowsGeometry(x.shape, &rows, &cols);
      EXPECT_TRUE(OnInt8RowGrid(x.data.data(), rows, cols)) << x.name;
    }
  }
  EXPECT_TRUE(ValidateStructure(*g).ok());
  // Folding a BatchNorm into an int8 conv gives new values, off the grid: float32 again.
  int folded = 0;
  StatusOr<Graph> fold = FoldBatchNorm(*g, &folded);
  ASSERT_TRUE(fold.ok()) << fold.status().ToString();
  ASSERT_GT(folded, 0);
  int int8 = 0;
  for (const Tensor& t : fold->tensors()) int8 += t.storage == ParameterStorage::kInt8Rows;
  EXPECT_EQ(int8, set - folded);
  EXPECT_TRUE(ValidateStructure(*fold).ok());
}

}  // namespace
}  // namespace persephonee
