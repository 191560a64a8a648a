// Float16 conversion: IEEE 754 binary32 <-> binary16, for the feature cache that keeps what
// the frozen backbone hands each exit in half the memory (training/feature_store.h).
//
// Semantics (the hardware's: x86 F16C with round-to-nearest-even, aarch64 FCVTN/FCVTL with the
// default FPCR): float -> half rounds to nearest, ties to even; a finite value whose magnitude
// rounds to 65520 or more becomes infinity; results below the smallest normal half are half
// subnormals (no flush to zero). A NaN stays a NaN of the same sign, made quiet, keeping the
// top 10 (half -> float: all 10) bits of its payload. half -> float is exact.
//
// Implementations: __scalar (bit manipulation; the oracle), __f16c (x86-64 with F16C, 8 values
// per instruction), __neon (aarch64, 8 per iteration through FCVTN/FCVTL). Each is bitwise
// identical to the scalar one for every input. Any n; tails are handled inside.
#ifndef PERSEPHONEE_KERNELS_ELEMENTWISE_HALF_H_
#define PERSEPHONEE_KERNELS_ELEMENTWISE_HALF_H_

#include <cstddef>
#include <cstdint>

namespace persephonee {

/// One value, float -> half bits (round to nearest even).
uint16_t f32_to_f16_value(float value);
/// One value, half bits -> float (exact).
float f16_to_f32_value(uint16_t half);

void f32_to_f16__scalar(size_t n, const float* input, uint16_t* output);
void f16_to_f32__scalar(size_t n, const uint16_t* input, float* output);

#if defined(__x86_64__)
void f32_to_f16__f16c(size_t n, const float* input, uint16_t* output);
void f16_to_f32__f16c(size_t n, const uint16_t* input, float* output);
#endif

#if defined(__aarch64__)
void f32_to_f16__neon(size_t n, const float* input, uint16_t* output);
void f16_to_f32__neon(size_t n, const uint16_t* input, float* output);
#endif

using F32ToF16Fn = void (*)(size_t n, const float* input, uint16_t* output);
using F16ToF32Fn = void (*)(size_t n, const uint16_t* input, float* output);

/// The conversion this machine uses.
struct HalfConfig {
  const char* name = "";  ///< "scalar", "f16c" or "neon".
  F32ToF16Fn to_f16 = nullptr;
  F16ToF32Fn to_f32 = nullptr;
};

/// F16C on x86-64 when cpuinfo reports it, NEON on aarch64 when cpuinfo confirms it, scalar
/// otherwise; chosen at the first call.
const HalfConfig& half_config();

}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_ELEMENTWISE_HALF_H_
