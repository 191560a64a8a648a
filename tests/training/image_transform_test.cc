#include "training/image_transform.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <vector>

namespace persephonee {
namespace {

using Image = std::vector<uint8_t>;

// FNV-1a, 64 bits: a hash whose value this test fixes, so a platform that computes one bit
// differently fails.
uint64_t Fnv1a(const void* data, size_t size, uint64_t hash = 0xcbf29ce484222325ull) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) hash = (hash ^ p[i]) * 0x100000001b3ull;
  return hash;
}

uint64_t HashDouble(double v, uint64_t hash) {
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(bits));
  uint8_t bytes[8];  // little-endian, whatever the CPU
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(bits >> (8 * i));
  return Fnv1a(bytes, 8, hash);
}

// Uniform random grey levels in [lo, hi].
Image RandomImage(int h, int w, uint64_t seed, int lo = 0, int hi = 255) {
  Rng rng(seed);
  Image image(static_cast<size_t>(h) * w);
  for (uint8_t& p : image) p = static_cast<uint8_t>(lo + rng.Below(hi - lo + 1));
  return image;
}

// A fixed 28x28 picture: a bright ellipse with a darker stripe on a 0 background.
Image Pattern28() {
  Image image(28 * 28, 0);
  for (int y = 0; y < 28; ++y) {
    for (int x = 0; x < 28; ++x) {
      const double dx = (x - 13.0) / 9.0;
      const double dy = (y - 14.5) / 12.0;
      if (dx * dx + dy * dy <= 1.0) image[y * 28 + x] = static_cast<uint8_t>(120 + 4 * x + y);
      if (y >= 12 && y <= 14 && x >= 6 && x <= 20) image[y * 28 + x] = 60;
    }
  }
  return image;
}

Image Transform(const PersonalTransform& t, const Image& in, int h, int w, uint64_t seed = 0) {
  Image out(in.size(), 0);
  const Status status = Apply(t, in.data(), out.data(), h, w, seed);
  EXPECT_TRUE(status.ok()) << status.ToString() << " for " << t.ToString();
  return out;
}

double Mean(const Image& image) {
  double sum = 0.0;
  for (uint8_t p : image) sum += p;
  return sum / image.size();
}

// --- Portable numerics ------------------------------------------------------------------------

TEST(RngTest, IsSplitMix64) {
  // Reference outputs of splitmix64 seeded with 0 and with 1234567 (from the published algorithm).
  Rng zero(0);
  EXPECT_EQ(zero.Next(), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(zero.Next(), 0x6E789E6AA1B965F4ull);
  EXPECT_EQ(zero.Next(), 0x06C45D188009454Full);
  Rng other(1234567);
  EXPECT_EQ(other.Next(), 6457827717110365317ull);
  EXPECT_EQ(other.Next(), 3203168211198807973ull);
}

TEST(RngTest, DistributionsHaveTheirMoments) {
  Rng rng(42);
  const int n = 100000;
  double su = 0, sn = 0, sn2 = 0, sn4 = 0, se = 0;
  std::vector<int> below(7, 0);
  for (int i = 0; i < n; ++i) {
    const double u = rng.Uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    su += u;
    const double z = rng.Normal();
    sn += z;
    sn2 += z * z;
    sn4 += z * z * z * z;
    const double e = rng.Exponential();
    ASSERT_GE(e, 0.0);
    se += e;
    const uint64_t b = rng.Below(7);
    ASSERT_LT(b, 7u);
    ++below[b];
  }
  // Tolerances are about 4 standard errors.
  EXPECT_NEAR(su / n, 0.5, 4 * 0.289 / std::sqrt(n));
  EXPECT_NEAR(sn / n, 0.0, 4.0 / std::sqrt(n));
  EXPECT_NEAR(sn2 / n, 1.0, 4 * std::sqrt(2.0 / n));
  EXPECT_NEAR(sn4 / n, 3.0, 4 * std::sqrt(96.0 / n));
  EXPECT_NEAR(se / n, 1.0, 4.0 / std::sqrt(n));
  for (int k = 0; k < 7; ++k) EXPECT_NEAR(below[k], n / 7.0, 4 * std::sqrt(n / 7.0)) << k;
  EXPECT_EQ(rng.Below(1), 0u);
  EXPECT_EQ(rng.Below(0), 0u);
}

TEST(RngTest, MixSeedSeparatesStreams) {
  EXPECT_EQ(MixSeed(7, 3), MixSeed(7, 3));
  EXPECT_NE(MixSeed(7, 3), MixSeed(3, 7));
  EXPECT_NE(MixSeed(7, 3), MixSeed(7, 4));
  EXPECT_NE(MixSeed(0, 0), MixSeed(0, 1));
}

TEST(PortableMathTest, LogMatchesLibm) {
  for (double x = 1e-300; x < 1e300; x *= 1.37) {
    const double want = std::log(x);
    ASSERT_NEAR(PortableLog(x), want, 2 * DBL_EPSILON * std::fabs(want)) << "x=" << x;
  }
  for (double x = 0.5; x < 2.0; x += 0.0009765625 * 0.37) {
    const double want = std::log(x);
    ASSERT_NEAR(PortableLog(x), want, 2 * DBL_EPSILON * std::fabs(want)) << "x=" << x;
  }
  EXPECT_EQ(PortableLog(1.0), 0.0);
  EXPECT_TRUE(std::isinf(PortableLog(0.0)) && PortableLog(0.0) < 0);
  EXPECT_TRUE(std::isnan(PortableLog(-1.0)));
  EXPECT_NEAR(PortableLog(4.9e-324), std::log(4.9e-324), 1e-12);  // subnormal
}

TEST(PortableMathTest, ExpMatchesLibm) {
  for (double x = -740.0; x < 709.0; x += 0.731) {
    const double want = std::exp(x);
    ASSERT_NEAR(PortableExp(x), want, 4e-16 * want) << "x=" << x;
  }
  for (double x = -1.0; x < 1.0; x += 0.00123) {
    ASSERT_NEAR(PortableExp(x), std::exp(x), 3e-16 * std::exp(x)) << "x=" << x;
  }
  EXPECT_EQ(PortableExp(0.0), 1.0);
  EXPECT_EQ(PortableExp(-800.0), 0.0);
  EXPECT_TRUE(std::isinf(PortableExp(710.0)));
}

TEST(PortableMathTest, SinCosMatchLibmAndAreExactAtRightAngles) {
  for (double d = -725.0; d <= 725.0; d += 0.37) {
    double s = 0, c = 0;
    PortableSinCosDegrees(d, &s, &c);
    const double rad = d * (M_PI / 180.0);
    // libm's own argument (d * pi/180, rounded) carries an error of about |rad| * 2^-53.
    const double tol = 2e-16 + 2.3e-16 * std::fabs(rad);
    ASSERT_NEAR(s, std::sin(rad), tol) << "degrees=" << d;
    ASSERT_NEAR(c, std::cos(rad), tol) << "degrees=" << d;
  }
  const struct {
    double degrees, sine, cosine;
  } exact[] = {{0, 0, 1},    {90, 1, 0},    {180, 0, -1}, {270, -1, 0}, {360, 0, 1},
               {-90, -1, 0}, {-180, 0, -1}, {450, 1, 0},  {-270, 1, 0}, {720, 0, 1}};
  for (const auto& e : exact) {
    double s = 0, c = 0;
    PortableSinCosDegrees(e.degrees, &s, &c);
    EXPECT_EQ(s, e.sine) << e.degrees;
    EXPECT_EQ(c, e.cosine) << e.degrees;
  }
  double s = 0, c = 0;
  PortableSinCosDegrees(30.0, &s, &c);
  EXPECT_NEAR(s, 0.5, 2e-16);
  EXPECT_NEAR(c, std::sqrt(3.0) / 2, 2e-16);
}

// --- The stages one by one --------------------------------------------------------------------

TEST(ImageTransformTest, IdentityIsExactAndInPlaceWorks) {
  const Image in = RandomImage(28, 28, 1);
  PersonalTransform identity;
  EXPECT_TRUE(identity.IsIdentity());
  EXPECT_EQ(Transform(identity, in, 28, 28, 99), in);
  // Stages that are neutral by value (a full turn, a zero shift) also give back the input.
  PersonalTransform turn;
  turn.rotation_degrees = 360.0;
  EXPECT_FALSE(turn.IsIdentity());
  EXPECT_EQ(Transform(turn, in, 28, 28), in);

  PersonalTransform t;
  t.rotation_degrees = 11.0;
  t.blur_sigma = 0.7;
  t.noise_std = 5.0;
  const Image want = Transform(t, in, 28, 28, 5);
  Image inplace = in;
  ASSERT_TRUE(Apply(t, inplace.data(), inplace.data(), 28, 28, 5).ok());
  EXPECT_EQ(inplace, want);
}

TEST(ImageTransformTest, BrightnessShiftsAndClamps) {
  const Image in = RandomImage(20, 24, 2, 40, 200);
  PersonalTransform t;
  t.brightness = 25.0;
  const Image up = Transform(t, in, 20, 24);
  for (size_t i = 0; i < in.size(); ++i) ASSERT_EQ(up[i], in[i] + 25) << "pixel " << i;
  EXPECT_NEAR(Mean(up) - Mean(in), 25.0, 1e-9);

  t.brightness = -100.0;  // takes everything below 100 to 0
  const Image down = Transform(t, in, 20, 24);
  for (size_t i = 0; i < in.size(); ++i) {
    ASSERT_EQ(down[i], in[i] >= 100 ? in[i] - 100 : 0) << "pixel " << i;
  }
  t.brightness = 0.4;  // rounds half up: x + 0.4 stays x
  EXPECT_EQ(Transform(t, in, 20, 24), in);
}

TEST(ImageTransformTest, ContrastScalesAboutTheMean) {
  const Image in = RandomImage(16, 16, 3, 60, 190);
  const double mean = Mean(in);
  for (double c : {0.5, 0.8, 1.25}) {
    PersonalTransform t;
    t.contrast = c;
    const Image out = Transform(t, in, 16, 16);
    for (size_t i = 0; i < in.size(); ++i) {
      const double want = mean + c * (in[i] - mean);  // within [0, 255] for these values
      ASSERT_LE(std::fabs(out[i] - want), 0.5 + 1e-9) << "pixel " << i << " contrast " << c;
    }
    EXPECT_NEAR(Mean(out), mean, 0.5) << "contrast " << c;
  }
  PersonalTransform flat;
  flat.contrast = 0.0;
  const Image out = Transform(flat, in, 16, 16);
  const uint8_t level = static_cast<uint8_t>(std::floor(mean + 0.5));
  for (size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], level) << "pixel " << i;
}

TEST(ImageTransformTest, GammaFollowsThePowerLaw) {
  Image ramp(256);
  for (int i = 0; i < 256; ++i) ramp[i] = static_cast<uint8_t>(i);
  for (double g : {0.6, 1.4, 2.2}) {
    PersonalTransform t;
    t.gamma = g;
    const Image out = Transform(t, ramp, 16, 16);
    for (int i = 0; i < 256; ++i) {
      const double want = 255.0 * std::pow(i / 255.0, g);
      const double frac = want - std::floor(want);
      if (std::fabs(frac - 0.5) < 1e-9) continue;  // a tie libm may round either way
      ASSERT_EQ(out[i], static_cast<uint8_t>(std::floor(want + 0.5)))
          << "level " << i << " gamma " << g;
    }
    EXPECT_EQ(out[0], 0);
    EXPECT_EQ(out[255], 255);
  }
}

TEST(ImageTransformTest, RotationByRightAnglesIsAnExactPermutation) {
  for (int n : {7, 28}) {
    const Image in = RandomImage(n, n, 4 + n);
    PersonalTransform t;
    t.rotation_degrees = 90.0;
    const Image r90 = Transform(t, in, n, n);
    t.rotation_degrees = 180.0;
    const Image r180 = Transform(t, in, n, n);
    t.rotation_degrees = -90.0;
    const Image r270 = Transform(t, in, n, n);
    for (int y = 0; y < n; ++y) {
      for (int x = 0; x < n; ++x) {
        // Counter-clockwise as displayed: the right edge of the input becomes the top.
        ASSERT_EQ(r90[y * n + x], in[x * n + (n - 1 - y)])
            << "90 deg, n=" << n << " y=" << y << " x=" << x;
        ASSERT_EQ(r180[y * n + x], in[(n - 1 - y) * n + (n - 1 - x)])
            << "180 deg, n=" << n << " y=" << y << " x=" << x;
        ASSERT_EQ(r270[y * n + x], in[(n - 1 - x) * n + y])
            << "-90 deg, n=" << n << " y=" << y << " x=" << x;
      }
    }
  }
}

TEST(ImageTransformTest, SmallRotationMatchesAReferenceResampler) {
  const Image in = Pattern28();
  for (double degrees : {-20.0, -7.5, 3.0, 13.7, 20.0}) {
    PersonalTransform t;
    t.rotation_degrees = degrees;
    t.shift_x = 0.75;
    t.shift_y = -1.25;
    const Image out = Transform(t, in, 28, 28);
    // Reference, in plain double: output point p samples the source at c + R(-theta) (p - c -
    // shift).
    const double th = degrees * M_PI / 180.0;
    for (int y = 0; y < 28; ++y) {
      for (int x = 0; x < 28; ++x) {
        const double xp = x - 13.5 - 0.75, yp = y - 13.5 + 1.25;
        const double sx = 13.5 + std::cos(th) * xp - std::sin(th) * yp;
        const double sy = 13.5 + std::sin(th) * xp + std::cos(th) * yp;
        auto at = [&](int r, int c) -> double {
          return r < 0 || r >= 28 || c < 0 || c >= 28 ? 0.0 : in[r * 28 + c];
        };
        const int x0 = static_cast<int>(std::floor(sx)), y0 = static_cast<int>(std::floor(sy));
        const double fx = sx - x0, fy = sy - y0;
        const double want = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) +
                            fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
        ASSERT_LE(std::fabs(out[y * 28 + x] - want), 0.5 + 1e-9)
            << degrees << " deg, y=" << y << " x=" << x;
      }
    }
  }
  // A positive angle turns a point right of the centre upwards (counter-clockwise on screen).
  Image dot(29 * 29, 0);
  dot[14 * 29 + 24] = 255;  // 10 pixels right of the centre (14, 14)
  PersonalTransform t;
  t.rotation_degrees = 20.0;
  const Image out = Transform(t, dot, 29, 29);
  double sum = 0, mx = 0, my = 0;
  for (int y = 0; y < 29; ++y) {
    for (int x = 0; x < 29; ++x) {
      sum += out[y * 29 + x];
      mx += x * out[y * 29 + x];
      my += y * out[y * 29 + x];
    }
  }
  EXPECT_NEAR(mx / sum, 14 + 10 * std::cos(20 * M_PI / 180), 0.2);
  EXPECT_NEAR(my / sum, 14 - 10 * std::sin(20 * M_PI / 180), 0.2);
}

TEST(ImageTransformTest, WholePixelShiftIsAnExactShift) {
  const Image in = RandomImage(13, 17, 5);
  for (const auto& [dx, dy] : std::vector<std::pair<int, int>>{{2, -3}, {-5, 1}, {0, 4}}) {
    PersonalTransform t;
    t.shift_x = dx;
    t.shift_y = dy;
    const Image out = Transform(t, in, 13, 17);
    for (int y = 0; y < 13; ++y) {
      for (int x = 0; x < 17; ++x) {
        const int sy = y - dy, sx = x - dx;
        const int want = sy < 0 || sy >= 13 || sx < 0 || sx >= 17 ? 0 : in[sy * 17 + sx];
        ASSERT_EQ(out[y * 17 + x], want)
            << "shift (" << dx << "," << dy << ") y=" << y << " x=" << x;
      }
    }
  }
  // Half a pixel right: the mean of each pixel and its left neighbour, rounded half up.
  PersonalTransform half;
  half.shift_x = 0.5;
  const Image out = Transform(half, in, 13, 17);
  for (int y = 0; y < 13; ++y) {
    for (int x = 0; x < 17; ++x) {
      const int left = x > 0 ? in[y * 17 + x - 1] : 0;
      ASSERT_EQ(out[y * 17 + x], (left + in[y * 17 + x] + 1) / 2) << "y=" << y << " x=" << x;
    }
  }
}

TEST(ImageTransformTest, BlurKeepsFlatRegionsAndSpreadsAGaussian) {
  // A constant 40x40 block in the middle of 60x60: far enough (> 3 sigma) from its edges the
  // blur must give the constant back.
  Image flat(60 * 60, 0);
  for (int y = 10; y < 50; ++y) {
    for (int x = 10; x < 50; ++x) flat[y * 60 + x] = 173;
  }
  for (double sigma : {0.5, 1.0, 2.5}) {
    PersonalTransform t;
    t.blur_sigma = sigma;
    const Image out = Transform(t, flat, 60, 60);
    const int margin = 10 + static_cast<int>(std::ceil(3 * sigma));
    for (int y = margin; y < 60 - margin; ++y) {
      for (int x = margin; x < 60 - margin; ++x) {
        ASSERT_EQ(out[y * 60 + x], 173) << "sigma " << sigma << " y=" << y << " x=" << x;
      }
    }
    EXPECT_NEAR(Mean(out), Mean(flat), 0.5) << "sigma " << sigma;  // mass kept away from borders
  }
  // An impulse spreads as the sampled, normalised Gaussian.
  Image dot(21 * 21, 0);
  dot[10 * 21 + 10] = 255;
  PersonalTransform t;
  t.blur_sigma = 1.2;
  const Image out = Transform(t, dot, 21, 21);
  double norm = 0;
  for (int i = -4; i <= 4; ++i) norm += std::exp(-i * i / (2 * 1.2 * 1.2));
  for (int y = 0; y < 21; ++y) {
    for (int x = 0; x < 21; ++x) {
      const int dy = y - 10, dx = x - 10;
      double want = 0;
      if (std::abs(dx) <= 4 && std::abs(dy) <= 4) {
        want = 255 * std::exp(-(dx * dx + dy * dy) / (2 * 1.2 * 1.2)) / (norm * norm);
      }
      ASSERT_LE(std::fabs(out[y * 21 + x] - want), 0.5 + 1e-9) << "y=" << y << " x=" << x;
      ASSERT_EQ(out[y * 21 + x], out[x * 21 + y]) << "not symmetric at y=" << y << " x=" << x;
    }
  }
}

TEST(ImageTransformTest, NoiseHasTheRequestedStdAndDependsOnlyOnTheSeed) {
  const int h = 256, w = 256;
  const Image grey(h * w, 128);
  PersonalTransform t;
  t.noise_std = 12.0;
  const Image a = Transform(t, grey, h, w, 1001);
  double sum = 0, sum2 = 0, lag = 0;
  for (int i = 0; i < h * w; ++i) {
    const double d = a[i] - 128.0;
    sum += d;
    sum2 += d * d;
    if (i + 1 < h * w) lag += d * (a[i + 1] - 128.0);
  }
  const double n = h * w;
  // Rounding adds variance 1/12; clamping is 10 sigma away.
  EXPECT_NEAR(sum / n, 0.0, 4 * 12.0 / std::sqrt(n));
  EXPECT_NEAR(std::sqrt(sum2 / n), std::sqrt(144.0 + 1.0 / 12), 0.02 * 12.0);
  EXPECT_NEAR(lag / sum2, 0.0, 4.0 / std::sqrt(n));  // neighbours independent

  EXPECT_EQ(Transform(t, grey, h, w, 1001), a);
  const Image b = Transform(t, grey, h, w, 1002);
  size_t differ = 0;
  for (int i = 0; i < h * w; ++i) differ += a[i] != b[i];
  EXPECT_GT(differ, static_cast<size_t>(0.9 * n));
}

TEST(ImageTransformTest, RejectsBadParametersAndArguments) {
  const Image in(28 * 28, 0);
  Image out(28 * 28, 0);
  auto code = [&](PersonalTransform t, int h = 28, int w = 28) {
    return Apply(t, in.data(), out.data(), h, w, 0).code();
  };
  PersonalTransform t;
  EXPECT_EQ(code(t), StatusCode::kOk);
  EXPECT_EQ(code(t, 0, 28), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(t, 28, -1), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(t, 5000, 1), StatusCode::kInvalidArgument);
  EXPECT_EQ(Apply(t, nullptr, out.data(), 28, 28, 0).code(), StatusCode::kInvalidArgument);
  t.gamma = 0.0;
  EXPECT_EQ(code(t), StatusCode::kInvalidArgument);
  t = PersonalTransform();
  t.blur_sigma = -0.1;
  EXPECT_EQ(code(t), StatusCode::kInvalidArgument);
  t.blur_sigma = 10.5;
  EXPECT_EQ(code(t), StatusCode::kInvalidArgument);
  t = PersonalTransform();
  t.rotation_degrees = NAN;
  const Status status = Apply(t, in.data(), out.data(), 28, 28, 0);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("rotation_degrees"), std::string::npos) << status.ToString();
  t = PersonalTransform();
  t.contrast = -1.0;
  EXPECT_EQ(code(t), StatusCode::kInvalidArgument);
  t = PersonalTransform();
  t.noise_std = -1.0;
  EXPECT_EQ(code(t), StatusCode::kInvalidArgument);
  t = PersonalTransform();
  t.shift_x = INFINITY;
  EXPECT_EQ(code(t), StatusCode::kInvalidArgument);
}

// --- Portability ------------------------------------------------------------------------------

// The constants below were computed on x86-64; the same test under qemu-aarch64 (bazel test
// --config=aarch64) must reproduce them bit for bit.
TEST(ImageTransformPortabilityTest, HashesMatchTheHost) {
  PersonalTransform t;
  t.rotation_degrees = -13.7;
  t.shift_x = 1.3;
  t.shift_y = -0.6;
  t.blur_sigma = 0.8;
  t.contrast = 1.2;
  t.brightness = -15.0;
  t.gamma = 1.3;
  t.noise_std = 9.0;
  const Image in = Pattern28();
  uint64_t images = Fnv1a(nullptr, 0);
  for (uint64_t seed = 0; seed < 8; ++seed) {
    const Image out = Transform(t, in, 28, 28, MixSeed(77, seed));
    images = Fnv1a(out.data(), out.size(), images);
  }
  EXPECT_EQ(images, 0xcb7760381c8caa7aull) << std::hex << images;

  uint64_t numbers = Fnv1a(nullptr, 0);
  Rng rng(2021);
  for (int i = 0; i < 1000; ++i) numbers = HashDouble(rng.Normal(), numbers);
  for (double x = 1e-5; x < 1e5; x *= 1.1) numbers = HashDouble(PortableLog(x), numbers);
  for (double x = -50; x < 50; x += 0.173) numbers = HashDouble(PortableExp(x), numbers);
  for (double d = -200; d < 200; d += 0.731) {
    double s = 0, c = 0;
    PortableSinCosDegrees(d, &s, &c);
    numbers = HashDouble(c, HashDouble(s, numbers));
  }
  EXPECT_EQ(numbers, 0xfd2eef2a2a5f693aull) << std::hex << numbers;
}

}  // namespace
}  // namespace persephonee
