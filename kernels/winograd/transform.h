// The Winograd transform arithmetic, written once over a value type V that has +, - and
// multiplication by a float: float for the scalar oracle, GCC vector types (__m256,
// float32x4_t) for the vector kernels, which then differ from the oracle only in how they load
// and store. Internal to kernels/winograd.
//
// Matrices (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2015):
//   F(2x2,3x3): Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  Aᵀ = [1 1 1 0; 0 1 -1 -1]
//   F(4x4,3x3): Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0;
//                     0 2 -1 -2 1 0; 0 4 0 -5 0 1],
//               Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
// Each 2-D transform is a 1-D transform of the columns followed by one of the rows; the 1-D
// forms below share the common subexpressions. The loops are unrolled by pragma (GCC left them
// rolled on aarch64, with the intermediate tile on the stack), so a tile stays in registers as
// far as the register file allows.
#ifndef PERSEPHONEE_KERNELS_WINOGRAD_TRANSFORM_H_
#define PERSEPHONEE_KERNELS_WINOGRAD_TRANSFORM_H_

#include <cstddef>

namespace persephonee {
namespace winograd {

// out[k * so] = (Bᵀ d)[k] for the 4 entries d[k * si] (F(2x2,3x3)).
template <typename V>
inline void InputColumnF2(const V* d, size_t si, V* out, size_t so) {
  const V d0 = d[0], d1 = d[si], d2 = d[2 * si], d3 = d[3 * si];
  out[0] = d0 - d2;
  out[so] = d1 + d2;
  out[2 * so] = d2 - d1;
  out[3 * so] = d1 - d3;
}

// out[k * so] = (Bᵀ d)[k] for the 6 entries d[k * si] (F(4x4,3x3)).
template <typename V>
inline void InputColumnF4(const V* d, size_t si, V* out, size_t so) {
  const V d0 = d[0], d1 = d[si], d2 = d[2 * si], d3 = d[3 * si], d4 = d[4 * si], d5 = d[5 * si];
  const V s12 = d1 + d2, s34 = d3 + d4;
  const V t12 = d1 - d2, t34 = d4 - d3;
  const V a = d4 - d2, b = d3 - d1;
  out[0] = d0 * 4.0f - d2 * 5.0f + d4;
  out[so] = s34 - s12 * 4.0f;
  out[2 * so] = t34 + t12 * 4.0f;
  out[3 * so] = a + b * 2.0f;
  out[4 * so] = a - b * 2.0f;
  out[5 * so] = d1 * 4.0f - d3 * 5.0f + d5;
}

// out[k * so] = (Aᵀ x)[k] for the 4 entries x[k * si], k < 2 (F(2x2,3x3)).
template <typename V>
inline void OutputColumnF2(const V* x, size_t si, V* out, size_t so) {
  const V x0 = x[0], x1 = x[si], x2 = x[2 * si], x3 = x[3 * si];
  out[0] = x0 + x1 + x2;
  out[so] = x1 - x2 - x3;
}

// out[k * so] = (Aᵀ x)[k] for the 6 entries x[k * si], k < 4 (F(4x4,3x3)).
template <typename V>
inline void OutputColumnF4(const V* x, size_t si, V* out, size_t so) {
  const V x1 = x[si], x2 = x[2 * si], x3 = x[3 * si], x4 = x[4 * si];
  const V s12 = x1 + x2, s34 = x3 + x4, t12 = x1 - x2, t34 = x3 - x4;
  out[0] = x[0] + s12 + s34;
  out[so] = t12 + t34 * 2.0f;
  out[2 * so] = s12 + s34 * 4.0f;
  out[3 * so] = t12 + t34 * 8.0f + x[5 * si];
}

// v = Bᵀ d B for a T x T block d (row-major), T = 4 or 6.
template <size_t T, typename V>
inline void InputTile(const V* d, V* v) {
  V t[T * T];
#pragma GCC unroll 6
  for (size_t j = 0; j < T; ++j) {
    if constexpr (T == 4) {
      InputColumnF2(d + j, T, t + j, T);
    } else {
      InputColumnF4(d + j, T, t + j, T);
    }
  }
#pragma GCC unroll 6
  for (size_t i = 0; i < T; ++i) {
    if constexpr (T == 4) {
      InputColumnF2(t + i * T, 1, v + i * T, 1);
    } else {
      InputColumnF4(t + i * T, 1, v + i * T, 1);
    }
  }
}

// y = Aᵀ x A for a T x T block x, y is m x m with m = T - 2.
template <size_t T, typename V>
inline void OutputTile(const V* x, V* y) {
  constexpr size_t kM = T - 2;
  V t[kM * T];
#pragma GCC unroll 6
  for (size_t j = 0; j < T; ++j) {
    if constexpr (T == 4) {
      OutputColumnF2(x + j, T, t + j, T);
    } else {
      OutputColumnF4(x + j, T, t + j, T);
    }
  }
#pragma GCC unroll 4
  for (size_t i = 0; i < kM; ++i) {
    if constexpr (T == 4) {
      OutputColumnF2(t + i * T, 1, y + i * kM, 1);
    } else {
      OutputColumnF4(t + i * T, 1, y + i * kM, 1);
    }
  }
}

}  // namespace winograd
}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_WINOGRAD_TRANSFORM_H_
