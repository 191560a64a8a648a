#include "tests/kernels/winograd/winograd_tester.h"

#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <cmath>
#include <cstring>
#include <random>
#include <sstream>
#include <vector>

namespace persephonee {
namespace {

constexpr float kGuard = 1234.5f;

std::vector<float> Random(size_t n, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<float> Abs(std::vector<float> v) {
  for (float& x : v) x = std::fabs(x);
  return v;
}

float Clamp(float x, float lo, float hi) { return std::fmin(std::fmax(x, lo), hi); }

}  // namespace

std::string WinogradTester::Describe() const {
  std::ostringstream o;
  o << "batch=" << s_.batch << " in=" << s_.in_h << "x" << s_.in_w << "x" << s_.in_c
    << " out=" << s_.out_h() << "x" << s_.out_w() << "x" << s_.out_c << " pad=" << s_.pad_top << ","
    << s_.pad_left << "," << s_.pad_bottom << "," << s_.pad_right << " m=" << tile_
    << " bias=" << bias_ << " clamp=[" << min_ << "," << max_ << "] threads=" << threads_
    << " block=" << tile_block_;
  return o.str();
}

void WinogradTester::Test(const WinogradConfig& config) const {
  ASSERT_TRUE(winograd_supports(s_)) << Describe();
  std::mt19937 rng(seed_);
  const std::vector<float> input = Random(s_.input_size(), rng);
  const std::vector<float> weight = Random(s_.weight_size(), rng);
  const std::vector<float> bias = Random(s_.out_c, rng);
  const float* bias_ptr = bias_ ? bias.data() : nullptr;

  // The oracle, and S per element from the oracle on absolute values.
  std::vector<float> expected(s_.output_size()), magnitude(s_.output_size());
  f32_conv2d_fwd__scalar(s_, input.data(), weight.data(), bias_ptr, expected.data());
  const std::vector<float> abs_bias = Abs(bias);
  f32_conv2d_fwd__scalar(s_, Abs(input).data(), Abs(weight).data(),
                         bias_ ? abs_bias.data() : nullptr, magnitude.data());
  for (float& y : expected) y = Clamp(y, min_, max_);

  WinogradParams params;
  params.conv = s_;
  params.tile = tile_;
  params.output_min = min_;
  params.output_max = max_;
  params.tile_block = tile_block_;
  std::vector<float> packed(f32_winograd_packed_weights_size(params, config) / sizeof(float));
  f32_winograd_pack_weights(params, config, weight.data(), packed.data());
  std::vector<float> workspace(
      f32_winograd_workspace_size(params, config, std::max<size_t>(threads_, 1)) / sizeof(float));

  const size_t guard = 64;
  const auto run = [&](pthreadpool_t pool) {
    std::vector<float> out(s_.output_size() + guard, kGuard);
    std::fill_n(out.begin(), s_.output_size(), std::nanf(""));
    f32_winograd_fwd(params, config, packed.data(), bias_ptr, input.data(), out.data(),
                     workspace.data(), pool);
    return out;
  };
  const std::vector<float> got = run(nullptr);

  const double rel_tol = tile_ == 2 ? 1e-5 : 1e-4;
  size_t failures = 0;
  for (size_t i = 0; i < s_.output_size() && failures < 5; ++i) {
    const double tol = rel_tol * magnitude[i] + 1e-6;
    const double err = std::fabs(static_cast<double>(got[i]) - expected[i]);
    if (!(err <= tol)) {  // Also catches NaN (an output never written).
      const size_t c = i % s_.out_c, px = i / s_.out_c;
      const size_t ow = px % s_.out_w(), oh = px / s_.out_w() % s_.out_h();
      const size_t n = px / (s_.out_w() * s_.out_h());
      ADD_FAILURE() << config.name << ": output [n=" << n << "][h=" << oh << "][w=" << ow
                    << "][c=" << c << "] = " << got[i] << ", expected " << expected[i] << " (err "
                    << err << ", tol " << tol << ") for " << Describe();
      ++failures;
    }
  }
  for (size_t i = s_.output_size(); i < got.size(); ++i) {
    ASSERT_EQ(got[i], kGuard) << config.name << ": wrote past the output, " << Describe();
  }
  if (threads_ > 1) {
    pthreadpool_t pool = pthreadpool_create(threads_);
    ASSERT_NE(pool, nullptr);
    const std::vector<float> threaded = run(pool);
    pthreadpool_destroy(pool);
    EXPECT_EQ(std::memcmp(threaded.data(), got.data(), got.size() * sizeof(float)), 0)
        << config.name << ": " << threads_ << " threads differ bitwise from one, " << Describe();
  }
}

void TestTransforms(size_t t, WinogradInputFn input, WinogradOutputFn output) {
  ASSERT_TRUE(t == 4 || t == 6);
  const size_t m = t - 2;
  const WinogradInputFn ref_input =
      t == 4 ? f32_winograd_input_f2__scalar : f32_winograd_input_f4__scalar;
  const WinogradOutputFn ref_output =
      t == 4 ? f32_winograd_output_f2__scalar : f32_winograd_output_f4__scalar;
  // Inputs in [-1, 1]: intermediate values stay below ~100 (F4), so 1e-4 absolute covers
  // contraction and reassociation differences and nothing else.
  const float tol = t == 4 ? 1e-5f : 1e-4f;
  std::mt19937 rng(7);
  for (size_t channels = 1; channels <= 40; ++channels) {
    SCOPED_TRACE("t=" + std::to_string(t) + " channels=" + std::to_string(channels));
    // Input transform: each patch pixel its own buffer (guarded), V with a padded stride.
    std::vector<std::vector<float>> pixels(t * t);
    std::vector<const float*> patch(t * t);
    for (size_t k = 0; k < t * t; ++k) {
      pixels[k] = Random(channels, rng);
      patch[k] = pixels[k].data();
    }
    const size_t v_stride = channels + 5;
    std::vector<float> v(t * t * v_stride, kGuard), v_ref(t * t * v_stride, kGuard);
    input(channels, patch.data(), v.data(), v_stride);
    ref_input(channels, patch.data(), v_ref.data(), v_stride);
    for (size_t i = 0; i < v.size(); ++i) {
      if (i % v_stride < channels) {
        ASSERT_NEAR(v[i], v_ref[i], tol) << "V[" << i / v_stride << "][" << i % v_stride << "]";
      } else {
        ASSERT_EQ(v[i], kGuard) << "input transform wrote V[" << i / v_stride << "]["
                                << i % v_stride << "] past the channels";
      }
    }
    // Output transform, unclamped and clamped.
    const size_t m_stride = channels + 3;
    const std::vector<float> mt = Random(t * t * m_stride, rng);
    const std::vector<float> bias = Random(channels, rng);
    for (const float bound : {INFINITY, 1.5f}) {
      std::vector<std::vector<float>> rows(m * m), rows_ref(m * m);
      std::vector<float*> out(m * m), out_ref(m * m);
      for (size_t k = 0; k < m * m; ++k) {
        rows[k].assign(channels + 8, kGuard);
        rows_ref[k].assign(channels + 8, kGuard);
        out[k] = rows[k].data();
        out_ref[k] = rows_ref[k].data();
      }
      output(channels, mt.data(), m_stride, bias.data(), -bound, bound, out.data());
      ref_output(channels, mt.data(), m_stride, bias.data(), -bound, bound, out_ref.data());
      for (size_t k = 0; k < m * m; ++k) {
        for (size_t c = 0; c < channels + 8; ++c) {
          if (c < channels) {
            ASSERT_NEAR(rows[k][c], rows_ref[k][c], tol) << "out[" << k << "][" << c << "]";
            ASSERT_LE(std::fabs(rows[k][c]), bound) << "clamp ignored";
          } else {
            ASSERT_EQ(rows[k][c], kGuard) << "output transform wrote past the channels";
          }
        }
      }
    }
  }
}

}  // namespace persephonee

namespace persephonee {

void TestWinogradShapes(const WinogradConfig& config) {
  for (const size_t m : {2, 4}) {
    SCOPED_TRACE("m=" + std::to_string(m));
    // Spatial sizes and padding.
    for (const size_t pad : {0, 1, 2}) {
      for (const auto& hw :
           {std::pair<size_t, size_t>{3, 3}, {4, 4}, {5, 7}, {6, 6}, {9, 11}, {13, 8}, {1, 2}}) {
        if (hw.first + 2 * pad < 3 || hw.second + 2 * pad < 3) continue;
        WinogradTester()
            .tile(m)
            .input_size(hw.first, hw.second)
            .padding(pad)
            .channels(3, 5)
            .Test(config);
      }
    }
    WinogradTester().tile(m).input_size(7, 6).padding(0, 2, 1, 0).channels(4, 3).Test(config);
    WinogradTester().tile(m).input_size(5, 9).padding(2, 1, 0, 2).channels(2, 7).Test(config);
    // Channels around the register tile (nr), the rows tile (mr) and the vector widths.
    for (const size_t cin : {1, 3, 4, 7, 8, 9, 16, 17}) {
      for (const size_t cout :
           {size_t{1}, config.nr - 1, config.nr, config.nr + 1, 2 * config.nr + 3}) {
        if (cout == 0) continue;
        WinogradTester().tile(m).input_size(6, 7).padding(1).channels(cin, cout).Test(config);
      }
    }
    // Several reduction passes.
    WinogradTester().tile(m).input_size(4, 5).padding(1).channels(config.kc + 3, 5).Test(config);
    // Batches, bias off, clamps.
    WinogradTester().tile(m).batch(3).input_size(7, 5).padding(1).channels(5, 9).Test(config);
    WinogradTester().tile(m).bias(false).input_size(6, 6).padding(1).channels(6, 6).Test(config);
    WinogradTester()
        .tile(m)
        .input_size(8, 8)
        .padding(1)
        .channels(8, 8)
        .clamp(0.0f, INFINITY)
        .Test(config);
    WinogradTester()
        .tile(m)
        .input_size(8, 8)
        .padding(1)
        .channels(8, 8)
        .clamp(-0.5f, 0.5f)
        .Test(config);
    // Blocks of tiles (below and above mr) and threads over them.
    for (const size_t block : {1, 5, 7, 13}) {
      WinogradTester()
          .tile(m)
          .batch(3)
          .input_size(9, 10)
          .padding(1)
          .channels(5, 11)
          .tile_block(block)
          .threads(block % 2 == 1 ? 3 : 2)
          .Test(config);
    }
    // The driver's own blocks: one block shared by the threads phase by phase (few tiles), and
    // blocks handed out whole (tile_block forces many).
    WinogradTester().tile(m).batch(2).input_size(17, 15).padding(1).channels(6, 10).threads(2).Test(
        config);
    WinogradTester().tile(m).input_size(6, 5).padding(1).channels(9, 20).threads(3).Test(config);
    WinogradTester()
        .tile(m)
        .batch(3)
        .input_size(11, 9)
        .channels(7, 5)
        .tile_block(2)
        .threads(3)
        .Test(config);
  }
}

}  // namespace persephonee
