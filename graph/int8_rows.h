// Int8 row storage of parameters (ParameterStorage::kInt8Rows): the values of row r of a
// parameter (rows: its outermost dimension; a row: everything inside it) are q * 2^e_r, with
// one exponent e_r per row and integers |q| <= 127. A model file stores e_r in one byte and each
// q in one byte, a quarter of float32's bytes; docs/model-format.md specifies them.
//
// The scale is a power of two so that the grid is closed: the values of a quantized row are
// exact float32 numbers, and quantizing them again gives the same exponent and integers, bit for
// bit. So a graph saved with int8 rows loads and saves again to the same bytes, and what a
// program computes with in memory is exactly what the file holds.
//
// Precision: a row's largest magnitude m gets between 64 and 127 steps, so every value is within
// m / 128 (at worst) of where it was. Exits' classifiers keep their accuracy
// (docs/personalisation-format.md has the measurements); backbones stay float32.
#ifndef PERSEPHONEE_GRAPH_INT8_ROWS_H_
#define PERSEPHONEE_GRAPH_INT8_ROWS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/status.h"
#include "graph/graph.h"

namespace persephonee {

/// The smallest exponent stored; that of an all-zero row. Values below 2^-128 round to zero.
constexpr int kInt8RowMinExponent = -128;
/// The largest exponent: 127 * 2^121 (about 3.37e38) is the largest magnitude int8 rows hold.
/// (With 122, 64 * 2^122 = 2^128 would overflow float32.)
constexpr int kInt8RowMaxExponent = 121;
/// 127 * 2^121: larger values (the top 1% of float32's range) cannot be stored as int8 rows.
constexpr float kInt8RowMaxMagnitude = 127.0f * 0x1p121f;

/// Rows and columns of a parameter of `shape` in int8 row storage: its outermost dimension and
/// the product of the others (a scalar is 1 x 1).
void Int8RowsGeometry(const Shape& shape, size_t* rows, size_t* cols);

/// Bytes of `rows` x `cols` values in int8 row storage: an exponent per row, then the values.
size_t Int8RowsBytes(size_t rows, size_t cols);

/// The exponent of a row's grid: the smallest e >= kInt8RowMinExponent with
/// max |row[i]| <= 127 * 2^e over its values up to kInt8RowMaxMagnitude.
int Int8RowExponent(const float* row, size_t cols);

/// Rounds each of `rows` x `cols` values to its row's grid, in place: to the nearest multiple of
/// 2^e, ties to even; -0 becomes +0. Quantizing a quantized row changes nothing. Values int8
/// rows cannot hold (non-finite, or beyond kInt8RowMaxMagnitude) are left as they are and
/// ignored for e; a graph that stores them as int8 rows is invalid (ValidateStructure).
void QuantizeInt8Rows(float* data, size_t rows, size_t cols);

/// Whether QuantizeInt8Rows would leave `data` bit for bit as it is.
bool OnInt8RowGrid(const float* data, size_t rows, size_t cols);

/// Writes the stored bytes of `data` (which must be on its grid): the row exponents as signed
/// bytes, then the integers as signed bytes, row-major. `out` has Int8RowsBytes() bytes.
void EncodeInt8Rows(const float* data, size_t rows, size_t cols, uint8_t* out);

/// Reads what EncodeInt8Rows wrote into `rows` x `cols` floats. A file has exactly one encoding
/// of a row, so kDataLoss (`at` names the tensor) for an integer of -128, or an exponent that is
/// not the one its row's values need (larger than needed, or beyond kInt8RowMaxExponent).
Status DecodeInt8Rows(const uint8_t* in, size_t rows, size_t cols, float* data,
                      const std::string& at);

/// Sets the storage of the weights (second input) of every Conv2d and FullyConnected node of
/// `graph` to `storage`; for kInt8Rows their values are rounded to the grid. Biases and other
/// parameters are left as they are. Returns how many tensors it set.
int SetWeightStorage(Graph* graph, ParameterStorage storage);

}  // namespace persephonee

#endif  // PERSEPHONEE_GRAPH_INT8_ROWS_H_
