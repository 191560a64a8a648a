// Float16 conversion by bit manipulation: the oracle of half.h, and the implementation where
// the CPU has no conversion instructions.
#include <cstring>

#include "kernels/elementwise/half.h"

namespace persephonee {

uint16_t f32_to_f16_value(float value) {
  uint32_t f;
  std::memcpy(&f, &value, 4);
  const uint32_t sign = (f >> 16) & 0x8000u;
  const uint32_t abs = f & 0x7fffffffu;
  if (abs > 0x7f800000u) {  // NaN: quiet, top payload bits kept
    return static_cast<uint16_t>(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));
  }
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // inf, or rounds to it
  if (abs < 0x38800000u) {                                      // a half subnormal (or zero)
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);  // half of the smallest or less
    const uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
    const int shift = 126 - static_cast<int>(abs >> 23);  // 14..24
    uint32_t half = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1u), halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = ((abs - 0x38000000u) >> 13);  // rebias the exponent, 127 -> 15
  const uint32_t rest = abs & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
  return static_cast<uint16_t>(sign | half);
}

float f16_to_f32_value(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu, f;
  if (exponent == 0x1f) {
    f = sign | 0x7f800000u | (mantissa << 13);
    if (mantissa != 0) f |= 0x400000u;  // NaN: quiet
  } else if (exponent == 0) {
    if (mantissa == 0) {
      f = sign;
    } else {  // subnormal: normalise
      exponent = 113;
      while ((mantissa & 0x400u) == 0) {
        mantissa <<= 1;
        --exponent;
      }
      f = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
    }
  } else {
    f = sign | ((exponent + 112) << 23) | (mantissa << 13);
  }
  float value;
  std::memcpy(&value, &f, 4);
  return value;
}

void f32_to_f16__scalar(size_t n, const float* input, uint16_t* output) {
  for (size_t i = 0; i < n; ++i) output[i] = f32_to_f16_value(input[i]);
}

void f16_to_f32__scalar(size_t n, const uint16_t* input, float* output) {
  for (size_t i = 0; i < n; ++i) output[i] = f16_to_f32_value(input[i]);
}

}  // namespace persephonee
