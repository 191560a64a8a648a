// Vector exp and log for the NEON loss kernels (aarch64 only; internal to kernels/loss).
//
// exp(x), x <= 0: x = n·ln2 + r with n = round(x / ln2) and |r| <= ln2 / 2 (Cody-Waite, ln2 in
// two parts so r is accurate to about half an ulp), exp(r) by its Taylor series to degree 7
// (truncation r⁸/8! < 6e-9 relative), times 2^n built in the exponent field. About 2 ulp in
// all; exp(0) is exactly 1 (n = 0, r = 0). Below ln(FLT_MIN) the result is 0: those terms are
// smaller than 1.2e-38 in a sum that is at least 1.
//
// log(x), x > 0: x = 2^e · m with m in [√½, √2) (denormals are first scaled by 2^23), then
// log m = 2·atanh(s) = 2s (1 + s²/3 + s⁴/5 + s⁶/7 + s⁸/9), s = (m − 1) / (m + 1), |s| <= 0.172
// (truncation below 2e-9 relative), plus e·ln2 in two parts. m − 1 is exact, so values near 1
// keep their relative accuracy.
//
// The coefficients are the series' own (1/k!, 1/(2k+1)), rounded to float; nothing is fitted.
#ifndef PERSEPHONEE_KERNELS_LOSS_NEON_MATH_H_
#define PERSEPHONEE_KERNELS_LOSS_NEON_MATH_H_

#if !defined(__aarch64__)
#error "neon_math.h is for aarch64 only"
#endif

#include <arm_neon.h>

#include <cfloat>
#include <cstddef>
#include <cstring>

namespace persephonee {
namespace loss_neon {

constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693147182464599609375f;  // float(ln 2)
constexpr float kLn2Lo = -1.904654299957768e-09f;   // ln 2 − kLn2Hi
constexpr float kExpMin = -87.3365447505530296f;    // ln(FLT_MIN)
constexpr float kSqrt2 = 1.41421356237309505f;

/// exp(x) lane-wise for x <= 0 (see the file comment).
inline float32x4_t VexpNonPositive(float32x4_t x) {
  const uint32x4_t underflow = vcltq_f32(x, vdupq_n_f32(kExpMin));
  x = vmaxq_f32(x, vdupq_n_f32(kExpMin));
  const float32x4_t n = vrndnq_f32(vmulq_n_f32(x, kLog2e));
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(kLn2Hi));
  r = vfmsq_f32(r, n, vdupq_n_f32(kLn2Lo));
  float32x4_t p = vdupq_n_f32(1.0f / 5040.0f);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 720.0f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 120.0f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 24.0f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 6.0f), p, r);
  p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
  // n is in [-126, 0], so 2^n is a normal float: (n + 127) in the exponent field.
  const int32x4_t biased = vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127));
  const float32x4_t scale = vreinterpretq_f32_s32(vshlq_n_s32(biased, 23));
  return vbslq_f32(underflow, vdupq_n_f32(0.0f), vmulq_f32(p, scale));
}

/// log(x) lane-wise for x > 0 (see the file comment).
inline float32x4_t VlogPositive(float32x4_t x) {
  const uint32x4_t tiny = vcltq_f32(x, vdupq_n_f32(FLT_MIN));
  x = vbslq_f32(tiny, vmulq_n_f32(x, 8388608.0f), x);  // 2^23
  const int32x4_t bias = vbslq_s32(tiny, vdupq_n_s32(127 + 23), vdupq_n_s32(127));
  const int32x4_t bits = vreinterpretq_s32_f32(x);
  int32x4_t e = vsubq_s32(vshrq_n_s32(bits, 23), bias);
  float32x4_t m = vreinterpretq_f32_s32(
      vorrq_s32(vandq_s32(bits, vdupq_n_s32(0x007fffff)), vdupq_n_s32(0x3f800000)));
  const uint32x4_t fold = vcgtq_f32(m, vdupq_n_f32(kSqrt2));
  m = vbslq_f32(fold, vmulq_n_f32(m, 0.5f), m);
  e = vsubq_s32(e, vreinterpretq_s32_u32(fold));  // fold lanes are -1 as integers: e + 1.
  const float32x4_t s = vdivq_f32(vsubq_f32(m, vdupq_n_f32(1.0f)), vaddq_f32(m, vdupq_n_f32(1.0f)));
  const float32x4_t s2 = vmulq_f32(s, s);
  float32x4_t p = vdupq_n_f32(1.0f / 9.0f);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 7.0f), p, s2);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 5.0f), p, s2);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 3.0f), p, s2);
  const float32x4_t two_s = vaddq_f32(s, s);
  const float32x4_t log_m = vfmaq_f32(two_s, vmulq_f32(two_s, s2), p);
  const float32x4_t ef = vcvtq_f32_s32(e);
  return vfmaq_f32(vfmaq_f32(log_m, ef, vdupq_n_f32(kLn2Lo)), ef, vdupq_n_f32(kLn2Hi));
}

/// Lanes [0, n) set, the others clear; n <= 4.
inline uint32x4_t LaneMask(size_t n) {
  static const uint32_t kIota[4] = {0, 1, 2, 3};
  return vcltq_u32(vld1q_u32(kIota), vdupq_n_u32(static_cast<uint32_t>(n)));
}

/// p[0, n) into the low lanes, `fill` in the others; n < 4. Reads nothing past p + n.
inline float32x4_t LoadTail(const float* p, size_t n, float fill) {
  float tmp[4] = {fill, fill, fill, fill};
  std::memcpy(tmp, p, n * sizeof(float));
  return vld1q_f32(tmp);
}

/// The low n lanes of v into p[0, n); n < 4. Writes nothing past p + n.
inline void StoreTail(float* p, size_t n, float32x4_t v) {
  float tmp[4];
  vst1q_f32(tmp, v);
  std::memcpy(p, tmp, n * sizeof(float));
}

}  // namespace loss_neon
}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_LOSS_NEON_MATH_H_
