#include "graph/int8_rows.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace persephonee {
namespace {

constexpr int kMaxInt = 127;

bool Holdable(float x) { return std::fabs(x) <= kInt8RowMaxMagnitude; }  // false for NaN

// The row's largest magnitude int8 rows can hold, in double (exact for floats).
double MaxAbs(const float* row, size_t cols) {
  double m = 0;
  for (size_t i = 0; i < cols; ++i) {
    if (Holdable(row[i])) m = std::max(m, std::fabs(static_cast<double>(row[i])));
  }
  return m;
}

int ExponentFor(double max_abs) {
  if (max_abs == 0) return kInt8RowMinExponent;
  // 2^6 < 127 < 2^7: ilogb(m) - 6 is the answer or one more; 127 * 2^e is exact in double.
  int e = std::ilogb(max_abs) - 6;
  while (max_abs > std::ldexp(static_cast<double>(kMaxInt), e)) ++e;
  while (e - 1 >= kInt8RowMinExponent &&
         max_abs <= std::ldexp(static_cast<double>(kMaxInt), e - 1)) {
    --e;
  }
  return std::max(e, kInt8RowMinExponent);
}

// The integer of `x` on the grid 2^e: nearest, ties to even (the default rounding mode).
int IntegerOf(float x, int e) {
  return static_cast<int>(std::nearbyint(std::ldexp(static_cast<double>(x), -e)));
}

// q * 2^e as a float: exact, since |q| < 2^7 and 2^-128 >= 2^-149 (the smallest denormal step),
// and finite for e <= kInt8RowMaxExponent.
float ValueOf(int q, int e) { return static_cast<float>(std::ldexp(static_cast<double>(q), e)); }

}  // namespace

void Int8RowsGeometry(const Shape& shape, size_t* rows, size_t* cols) {
  const int64_t n = NumElements(shape);
  const int64_t r = shape.empty() ? 1 : shape[0];
  *rows = static_cast<size_t>(r);
  *cols = static_cast<size_t>(n / r);
}

size_t Int8RowsBytes(size_t rows, size_t cols) { return rows + rows * cols; }

int Int8RowExponent(const float* row, size_t cols) { return ExponentFor(MaxAbs(row, cols)); }

void QuantizeInt8Rows(float* data, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; ++r) {
    float* row = data + r * cols;
    const int e = Int8RowExponent(row, cols);
    for (size_t i = 0; i < cols; ++i) {
      if (Holdable(row[i])) row[i] = ValueOf(IntegerOf(row[i], e), e);
    }
  }
}

bool OnInt8RowGrid(const float* data, size_t rows, size_t cols) {
  std::vector<float> row(cols);
  for (size_t r = 0; r < rows; ++r) {
    std::memcpy(row.data(), data + r * cols, cols * sizeof(float));
    QuantizeInt8Rows(row.data(), 1, cols);
    if (std::memcmp(row.data(), data + r * cols, cols * sizeof(float)) != 0) return false;
  }
  return true;
}

void EncodeInt8Rows(const float* data, size_t rows, size_t cols, uint8_t* out) {
  uint8_t* values = out + rows;
  for (size_t r = 0; r < rows; ++r) {
    const float* row = data + r * cols;
    const int e = Int8RowExponent(row, cols);
    out[r] = static_cast<uint8_t>(static_cast<int8_t>(e));
    for (size_t i = 0; i < cols; ++i) {
      values[r * cols + i] = static_cast<uint8_t>(static_cast<int8_t>(IntegerOf(row[i], e)));
    }
  }
}

Status DecodeInt8Rows(const uint8_t* in, size_t rows, size_t cols, float* data,
                      const std::string& at) {
  const uint8_t* values = in + rows;
  for (size_t r = 0; r < rows; ++r) {
    const int e = static_cast<int8_t>(in[r]);
    int max_int = 0;
    for (size_t i = 0; i < cols; ++i) {
      const int q = static_cast<int8_t>(values[r * cols + i]);
      ENSURE_CODE(q != -128, kDataLoss, at, "row ", r,
                  " holds the integer -128 (int8 rows use -127 to 127)");
      max_int = std::max(max_int, std::abs(q));
    }
    // The exponent a row of these values needs; any other is a second encoding of them.
    const int want = max_int == 0 ? kInt8RowMinExponent
                                  : ExponentFor(std::ldexp(static_cast<double>(max_int), e));
    ENSURE_CODE(e == want && e <= kInt8RowMaxExponent, kDataLoss, at, "row ", r, " has exponent ",
                e, " but its integers (largest magnitude ", max_int, ") need ", want,
                " (exponents are the smallest that hold the row, at most ", kInt8RowMaxExponent,
                ")");
    for (size_t i = 0; i < cols; ++i) {
      data[r * cols + i] = ValueOf(static_cast<int8_t>(values[r * cols + i]), e);
    }
  }
  return Status::Ok();
}

int SetWeightStorage(Graph* graph, ParameterStorage storage) {
  int set = 0;
  for (const Node& n : graph->nodes()) {
    if (n.op != OpType::kConv2d && n.op != OpType::kFullyConnected) continue;
    if (n.inputs.size() < 2) continue;
    Tensor& w = graph->mutable_tensor(n.inputs[1]);
    if (w.kind != TensorKind::kParameter) continue;
    w.storage = storage;
    if (storage == ParameterStorage::kInt8Rows) {
      size_t rows, cols;
      Int8RowsGeometry(w.shape, &rows, &cols);
      QuantizeInt8Rows(w.data.data(), rows, cols);
    }
    ++set;
  }
  return set;
}

}  // namespace persephonee
