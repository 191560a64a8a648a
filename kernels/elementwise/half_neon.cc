// Float16 conversion with NEON (aarch64): FCVTN/FCVTN2 and FCVTL/FCVTL2, 8 values per
// iteration, then 4, then the last 1..3 one at a time through the scalar instruction (FCVT).
// Rounding is the FPCR's, round to nearest even, which is what Linux gives a process.
#include <arm_neon.h>

#include "kernels/elementwise/half.h"

namespace persephonee {

void f32_to_f16__neon(size_t n, const float* input, uint16_t* output) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float16x4_t lo = vcvt_f16_f32(vld1q_f32(input + i));
    const float16x8_t h = vcvt_high_f16_f32(lo, vld1q_f32(input + i + 4));
    vst1q_u16(output + i, vreinterpretq_u16_f16(h));
  }
  for (; i + 4 <= n; i += 4) {
    vst1_u16(output + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(input + i))));
  }
  for (; i < n; ++i) {
    const __fp16 h = static_cast<__fp16>(input[i]);
    __builtin_memcpy(output + i, &h, sizeof(h));
  }
}

void f16_to_f32__neon(size_t n, const uint16_t* input, float* output) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(input + i));
    vst1q_f32(output + i, vcvt_f32_f16(vget_low_f16(h)));
    vst1q_f32(output + i + 4, vcvt_high_f32_f16(h));
  }
  for (; i + 4 <= n; i += 4) {
    vst1q_f32(output + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(input + i))));
  }
  for (; i < n; ++i) {
    __fp16 h;
    __builtin_memcpy(&h, input + i, sizeof(h));
    output[i] = static_cast<float>(h);
  }
}

}  // namespace persephonee
