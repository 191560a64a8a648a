// Proves the aarch64 path end to end: NEON intrinsics compile with the cross toolchain and give
// the right answers when the test binary runs under qemu-aarch64.
#include <arm_neon.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

namespace persephonee {
namespace {

float DotNeon(const float* a, const float* b, size_t n) {
  float32x4_t acc = vdupq_n_f32(0.0f);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) acc = vfmaq_f32(acc, vld1q_f32(a + i), vld1q_f32(b + i));
  float sum = vaddvq_f32(acc);
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

TEST(NeonSmokeTest, CompiledForAarch64) {
#if !defined(__aarch64__) || !defined(__ARM_NEON)
  FAIL() << "this test must be built for aarch64 with NEON";
#endif
  EXPECT_EQ(sizeof(void*), 8u);
}

TEST(NeonSmokeTest, FmaDotMatchesScalar) {
  for (size_t n : {1u, 3u, 4u, 5u, 8u, 17u, 64u}) {
    std::vector<float> a(n), b(n);
    double expected = 0.0;
    for (size_t i = 0; i < n; ++i) {
      a[i] = 0.25f * static_cast<float>(i) - 1.0f;
      b[i] = 2.0f - 0.5f * static_cast<float>(i % 7);
      expected += static_cast<double>(a[i]) * b[i];
    }
    EXPECT_NEAR(DotNeon(a.data(), b.data(), n), expected, 1e-4) << "n=" << n;
  }
}

TEST(NeonSmokeTest, LaneOperations) {
  const float in[4] = {1.0f, -2.0f, 3.5f, -0.25f};
  float32x4_t v = vld1q_f32(in);
  EXPECT_FLOAT_EQ(vmaxvq_f32(v), 3.5f);
  EXPECT_FLOAT_EQ(vminvq_f32(v), -2.0f);
  float out[4];
  vst1q_f32(out, vmaxq_f32(v, vdupq_n_f32(0.0f)));
  EXPECT_FLOAT_EQ(out[0], 1.0f);
  EXPECT_FLOAT_EQ(out[1], 0.0f);
  EXPECT_FLOAT_EQ(out[2], 3.5f);
  EXPECT_FLOAT_EQ(out[3], 0.0f);
}

}  // namespace
}  // namespace persephonee
