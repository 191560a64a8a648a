// Float16 conversion (half.h): the scalar oracle on values whose halves are known, and every
// implementation this machine can run bitwise identical to it: all 65536 halves, and floats
// from random bit patterns, special values and every rounding boundary, at every tail length.
#include "kernels/elementwise/half.h"

#include <cpuinfo.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu.h"

namespace persephonee {
namespace {

float FromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint32_t Bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return bits;
}

TEST(HalfScalarTest, ExactWhereItCanBe) {
  for (float v : {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 0.000061035156f, 5.9604645e-08f}) {
    EXPECT_EQ(Bits(f16_to_f32_value(f32_to_f16_value(v))), Bits(v)) << v;
  }
  EXPECT_EQ(f32_to_f16_value(1.0f), 0x3c00u);
  EXPECT_EQ(f32_to_f16_value(-2.0f), 0xc000u);
  EXPECT_EQ(f32_to_f16_value(65504.0f), 0x7bffu);
  EXPECT_EQ(f32_to_f16_value(5.9604645e-08f), 0x0001u);  // the smallest subnormal
  EXPECT_EQ(f16_to_f32_value(0x0001u), 5.9604645e-08f);
  EXPECT_EQ(f16_to_f32_value(0x03ffu), 6.09755516e-05f);  // the largest subnormal
  for (float v = -3.0f; v < 3.0f; v += 0.01237f) {
    EXPECT_NEAR(f16_to_f32_value(f32_to_f16_value(v)), v, std::fabs(v) / 1024 + 1e-7f);
  }
}

TEST(HalfScalarTest, RoundsToNearestTiesToEven) {
  // The half ulp at 1 is 1/1024, so the ties lie at odd multiples of 1/2048.
  EXPECT_EQ(f32_to_f16_value(1.0f + 1.0f / 2048), 0x3c00u);  // tie, down to even
  EXPECT_EQ(f32_to_f16_value(1.0f + 3.0f / 2048), 0x3c02u);  // tie, up to even
  EXPECT_EQ(f32_to_f16_value(std::nextafter(1.0f + 1.0f / 2048, 2.0f)), 0x3c01u);  // above it
  EXPECT_EQ(f32_to_f16_value(std::nextafter(1.0f + 3.0f / 2048, 0.0f)), 0x3c01u);  // below it
  EXPECT_EQ(f32_to_f16_value(65519.0f), 0x7bffu);  // below the overflow tie
  EXPECT_EQ(f32_to_f16_value(65520.0f), 0x7c00u);  // the tie rounds to inf
  EXPECT_EQ(f32_to_f16_value(-1e6f), 0xfc00u);
  EXPECT_EQ(f32_to_f16_value(2.9802322e-08f), 0x0000u);  // half the smallest: tie to 0
  EXPECT_EQ(f32_to_f16_value(2.9802326e-08f), 0x0001u);  // just above it
}

TEST(HalfScalarTest, InfinityAndNaN) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(f32_to_f16_value(inf), 0x7c00u);
  EXPECT_EQ(f32_to_f16_value(-inf), 0xfc00u);
  EXPECT_TRUE(std::isinf(f16_to_f32_value(0x7c00u)));
  EXPECT_EQ(f32_to_f16_value(std::numeric_limits<float>::quiet_NaN()) & 0x7e00u, 0x7e00u);
  EXPECT_EQ(f32_to_f16_value(FromBits(0xff800001u)), 0xfe00u);  // signalling: quiet, sign kept
  EXPECT_TRUE(std::isnan(f16_to_f32_value(0x7d00u)));
  EXPECT_EQ(Bits(f16_to_f32_value(0x7d00u)), 0x7fe00000u);  // quiet, payload kept
}

struct Impl {
  std::string name;
  F32ToF16Fn to_f16;
  F16ToF32Fn to_f32;
};

// Every implementation this CPU can run besides the oracle.
std::vector<Impl> Implementations() {
  std::vector<Impl> impls;
  if (!EnsureCpuinfo().ok()) return impls;
#if defined(__x86_64__)
  if (cpuinfo_has_x86_f16c() && cpuinfo_has_x86_avx()) {
    impls.push_back({"f16c", f32_to_f16__f16c, f16_to_f32__f16c});
  }
#elif defined(__aarch64__)
  if (cpuinfo_has_arm_neon()) impls.push_back({"neon", f32_to_f16__neon, f16_to_f32__neon});
#endif
  const HalfConfig& config = half_config();
  impls.push_back({std::string("half_config() = ") + config.name, config.to_f16, config.to_f32});
  return impls;
}

TEST(HalfConfigTest, ChoosesByArchitecture) {
  const std::string name = half_config().name;
#if defined(__aarch64__)
  EXPECT_EQ(name, "neon");
#elif defined(__x86_64__)
  ASSERT_TRUE(EnsureCpuinfo().ok());
  EXPECT_EQ(name, cpuinfo_has_x86_f16c() && cpuinfo_has_x86_avx() ? "f16c" : "scalar");
#else
  EXPECT_EQ(name, "scalar");
#endif
}

TEST(HalfImplementationsTest, EveryHalfToFloatIsBitwiseTheOracle) {
  std::vector<uint16_t> halves(65536);
  for (size_t i = 0; i < halves.size(); ++i) halves[i] = static_cast<uint16_t>(i);
  std::vector<float> want(halves.size());
  f16_to_f32__scalar(halves.size(), halves.data(), want.data());
  for (const Impl& impl : Implementations()) {
    std::vector<float> got(halves.size());
    impl.to_f32(halves.size(), halves.data(), got.data());
    for (size_t i = 0; i < halves.size(); ++i) {
      ASSERT_EQ(Bits(got[i]), Bits(want[i])) << impl.name << " half 0x" << std::hex << i;
    }
  }
}

TEST(HalfImplementationsTest, FloatToHalfIsBitwiseTheOracle) {
  std::vector<float> values;
  std::mt19937 rng(7);
  for (int i = 0; i < (1 << 20); ++i) values.push_back(FromBits(rng()));
  // Around every rounding boundary: each half's float, the ties between neighbours, and one
  // float-ulp either side of them, both signs; plus the specials.
  for (uint32_t h = 0; h < 0x7c00u; ++h) {
    const uint32_t at = Bits(f16_to_f32_value(static_cast<uint16_t>(h)));
    const uint32_t next = Bits(f16_to_f32_value(static_cast<uint16_t>(h + 1)));
    const uint32_t tie = Bits((FromBits(at) + FromBits(next)) / 2);
    for (uint32_t b : {at, tie - 1, tie, tie + 1}) {
      values.push_back(FromBits(b));
      values.push_back(-FromBits(b));
    }
  }
  for (uint32_t b : {0x7f800000u, 0xff800000u, 0x7fc00000u, 0xff800001u, 0x7fbfffffu, 0x477fefffu,
                     0x477ff000u, 0x33000000u, 0x33000001u, 0x00000001u}) {
    values.push_back(FromBits(b));
  }
  std::vector<uint16_t> want(values.size());
  f32_to_f16__scalar(values.size(), values.data(), want.data());
  for (const Impl& impl : Implementations()) {
    std::vector<uint16_t> got(values.size());
    impl.to_f16(values.size(), values.data(), got.data());
    for (size_t i = 0; i < values.size(); ++i) {
      ASSERT_EQ(got[i], want[i]) << impl.name << " float bits 0x" << std::hex << Bits(values[i]);
    }
  }
}

TEST(HalfImplementationsTest, EveryTailLengthAndNothingWrittenPastIt) {
  std::vector<float> values(40);
  for (size_t i = 0; i < values.size(); ++i) values[i] = 0.37f * static_cast<float>(i) - 5.0f;
  for (const Impl& impl : Implementations()) {
    for (size_t n = 0; n <= 33; ++n) {
      std::vector<uint16_t> half(n + 8, 0xabcd);
      impl.to_f16(n, values.data(), half.data());
      std::vector<float> back(n + 8, -7.0f);
      impl.to_f32(n, half.data(), back.data());
      for (size_t i = 0; i < n; ++i) {
        EXPECT_EQ(half[i], f32_to_f16_value(values[i])) << impl.name << " n=" << n;
        EXPECT_EQ(back[i], f16_to_f32_value(half[i])) << impl.name << " n=" << n;
      }
      for (size_t i = n; i < n + 8; ++i) {
        EXPECT_EQ(half[i], 0xabcdu) << impl.name << " n=" << n << " wrote past the end";
        EXPECT_EQ(back[i], -7.0f) << impl.name << " n=" << n << " wrote past the end";
      }
    }
  }
}

}  // namespace
}  // namespace persephonee
