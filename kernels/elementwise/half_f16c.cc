// Float16 conversion with F16C (x86-64): VCVTPS2PH / VCVTPH2PS, 8 values per instruction; the
// tail of 1..7 goes through a zero-padded block of 8. Built with AVX2_COPTS; called only after
// cpuinfo reports F16C.
#include <immintrin.h>

#include <cstring>

#include "kernels/elementwise/half.h"

namespace persephonee {

void f32_to_f16__f16c(size_t n, const float* input, uint16_t* output) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(input + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(output + i), h);
  }
  if (i < n) {
    float block[8] = {};
    uint16_t half[8];
    std::memcpy(block, input + i, (n - i) * sizeof(float));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(half),
                     _mm256_cvtps_ph(_mm256_loadu_ps(block), _MM_FROUND_TO_NEAREST_INT));
    std::memcpy(output + i, half, (n - i) * sizeof(uint16_t));
  }
}

void f16_to_f32__f16c(size_t n, const uint16_t* input, float* output) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(input + i));
    _mm256_storeu_ps(output + i, _mm256_cvtph_ps(h));
  }
  if (i < n) {
    uint16_t half[8] = {};
    float block[8];
    std::memcpy(half, input + i, (n - i) * sizeof(uint16_t));
    _mm256_storeu_ps(block,
                     _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(half))));
    std::memcpy(output + i, block, (n - i) * sizeof(float));
  }
}

}  // namespace persephonee
