#include "tests/kernels/pool/pool_tester.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <sstream>

#include "kernels/pool/xnnpack.h"

namespace persephonee {
namespace {

constexpr size_t kGuard = 7;            // Guard elements past every output buffer.
constexpr float kGuardValue = 1234.5f;  // What the guards hold; they must keep it.
constexpr double kStep = 1e-3;          // Central-difference step.

// An output buffer: `size` NaNs (so an element never written fails) and the guards.
std::vector<float> Output(size_t size) {
  std::vector<float> v(size + kGuard, std::nanf(""));
  std::fill(v.end() - kGuard, v.end(), kGuardValue);
  return v;
}
std::vector<int32_t> IndexOutput(size_t size) {
  std::vector<int32_t> v(size + kGuard, -7);
  std::fill(v.end() - kGuard, v.end(), 0x5A5A5A5A);
  return v;
}

template <typename T>
void ExpectGuards(const std::vector<T>& v, T guard, const std::string& what,
                  const std::string& describe) {
  for (size_t i = v.size() - kGuard; i < v.size(); ++i) {
    if (std::memcmp(&v[i], &guard, sizeof(T)) != 0) {
      ADD_FAILURE() << what << ": wrote past the end (element " << i << ") for " << describe;
      return;
    }
  }
}

std::string Coords(size_t i, size_t h, size_t w, size_t c) {
  std::ostringstream out;
  out << "(n=" << i / (h * w * c) << ", h=" << i / (w * c) % h << ", w=" << i / c % w
      << ", c=" << i % c << ")";
  return out.str();
}

// Input kinds for the forward tests.
enum class Values { kContinuous, kTies, kNegative };

std::vector<float> Random(size_t size, std::mt19937* rng, Values kind) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::uniform_int_distribution<int> small(-3, 3);
  std::vector<float> v(size);
  for (float& x : v) {
    switch (kind) {
      case Values::kContinuous:
        x = uniform(*rng);
        break;
      case Values::kTies:  // Seven values: most windows hold equal maxima.
        x = 0.5f * static_cast<float>(small(*rng));
        break;
      case Values::kNegative:
        x = uniform(*rng) - 10.0f;
        break;
    }
  }
  return v;
}

// Distinct values at least 1e-2 apart, in random order: no central-difference step crosses a
// tie of the max pooling.
std::vector<float> Distinct(size_t size, std::mt19937* rng) {
  std::vector<float> v(size);
  for (size_t i = 0; i < size; ++i) v[i] = 0.01f * (static_cast<float>(i) - 0.5f * size);
  std::shuffle(v.begin(), v.end(), *rng);
  return v;
}

// --- Double-precision reference, written independently of the kernels' window helpers ---------

// Calls f(ih * in_w + iw) for the taps of output (oh, ow) inside the input, in row-major order;
// returns how many there were.
template <typename F>
size_t ForTaps(const Pool2dShape& s, size_t oh, size_t ow, F f) {
  size_t count = 0;
  for (size_t kh = 0; kh < s.kernel_h; ++kh) {
    const long ih = static_cast<long>(oh * s.stride_h + kh) - static_cast<long>(s.pad_top);
    if (ih < 0 || ih >= static_cast<long>(s.in_h)) continue;
    for (size_t kw = 0; kw < s.kernel_w; ++kw) {
      const long iw = static_cast<long>(ow * s.stride_w + kw) - static_cast<long>(s.pad_left);
      if (iw < 0 || iw >= static_cast<long>(s.in_w)) continue;
      f(static_cast<size_t>(ih) * s.in_w + static_cast<size_t>(iw));
      ++count;
    }
  }
  return count;
}

double RefMaxAt(const Pool2dShape& s, const std::vector<double>& x, size_t n, size_t oh, size_t ow,
                size_t c, int32_t* argmax) {
  const size_t plane = s.in_h * s.in_w;
  bool found = false;
  double best = 0.0;
  ForTaps(s, oh, ow, [&](size_t p) {
    const double v = x[(n * plane + p) * s.channels + c];
    if (!found || v > best) {
      found = true;
      best = v;
      *argmax = static_cast<int32_t>(p);
    }
  });
  return best;
}

double RefAvgAt(const Pool2dShape& s, const std::vector<double>& x, size_t n, size_t oh, size_t ow,
                size_t c) {
  const size_t plane = s.in_h * s.in_w;
  double sum = 0.0;
  const size_t count =
      ForTaps(s, oh, ow, [&](size_t p) { sum += x[(n * plane + p) * s.channels + c]; });
  const size_t divisor = s.count_include_pad ? s.kernel_h * s.kernel_w : count;
  return sum / static_cast<double>(divisor);
}

size_t OutIndex(const Pool2dShape& s, size_t n, size_t oh, size_t ow, size_t c) {
  return ((n * s.out_h() + oh) * s.out_w() + ow) * s.channels + c;
}

// L restricted to the outputs of image n, channel c: Σ w · pool(x) over (oh, ow).
double LocalLoss(const Pool2dShape& s, bool max, const std::vector<double>& x,
                 const std::vector<float>& w, size_t n, size_t c) {
  double loss = 0.0;
  for (size_t oh = 0; oh < s.out_h(); ++oh) {
    for (size_t ow = 0; ow < s.out_w(); ++ow) {
      int32_t unused = 0;
      const double y = max ? RefMaxAt(s, x, n, oh, ow, c, &unused) : RefAvgAt(s, x, n, oh, ow, c);
      loss += w[OutIndex(s, n, oh, ow, c)] * y;
    }
  }
  return loss;
}

// Central differences of L = Σ w · pool(x) for every input element.
std::vector<double> FiniteDifferences(const Pool2dShape& s, bool max, const std::vector<float>& x,
                                      const std::vector<float>& w) {
  std::vector<double> xd(x.begin(), x.end()), grad(x.size());
  const size_t C = s.channels, plane = s.in_h * s.in_w;
  for (size_t i = 0; i < x.size(); ++i) {
    const size_t n = i / (plane * C), c = i % C;
    const double keep = xd[i];
    xd[i] = keep + kStep;
    const double up = LocalLoss(s, max, xd, w, n, c);
    xd[i] = keep - kStep;
    const double down = LocalLoss(s, max, xd, w, n, c);
    xd[i] = keep;
    grad[i] = (up - down) / (2.0 * kStep);
  }
  return grad;
}

std::vector<float> Abs(std::vector<float> v) {
  for (float& x : v) x = std::fabs(x);
  return v;
}

Pool2dShape WithBatch(Pool2dShape s, size_t batch) {
  s.batch = batch;
  return s;
}

}  // namespace

void ExpectClose(const std::string& what, const std::vector<float>& got,
                 const std::vector<double>& expected, const std::vector<double>& magnitude,
                 double terms, size_t h, size_t w, size_t c, const std::string& describe) {
  ASSERT_GE(got.size(), expected.size()) << what;
  const double scale = std::max(1.0, std::sqrt(terms) / 4.0);
  size_t failures = 0;
  std::ostringstream report;
  for (size_t i = 0; i < expected.size(); ++i) {
    const double tolerance = std::max(1e-5, 1e-6 * magnitude[i]) * scale;
    if (!(std::fabs(got[i] - expected[i]) <= tolerance)) {
      if (failures < 5) {
        report << "\n  at " << Coords(i, h, w, c) << ": got " << got[i] << ", expected "
               << expected[i] << " (tolerance " << tolerance << ")";
      }
      ++failures;
    }
  }
  if (failures > 0) {
    ADD_FAILURE() << what << ": " << failures << " of " << expected.size()
                  << " elements differ for " << describe << report.str();
  }
}

std::string PoolTester::Describe() const {
  std::ostringstream out;
  out << "batch=" << s_.batch << " in=" << s_.in_h << "x" << s_.in_w << "x" << s_.channels
      << " kernel=" << s_.kernel_h << "x" << s_.kernel_w << " stride=" << s_.stride_h << "x"
      << s_.stride_w << " pad=" << s_.pad_top << "," << s_.pad_left << "," << s_.pad_bottom << ","
      << s_.pad_right << " include_pad=" << s_.count_include_pad;
  if (s_.Validate().ok()) out << " out=" << s_.out_h() << "x" << s_.out_w();
  return out.str();
}

void PoolTester::TestMaxForward(MaxPoolFwdFn fwd) const {
  ASSERT_TRUE(s_.Validate().ok()) << s_.Validate().ToString();
  std::mt19937 rng(seed_);
  for (Values kind : {Values::kContinuous, Values::kTies, Values::kNegative}) {
    const std::string describe = Describe() + " values=" + std::to_string(static_cast<int>(kind));
    const std::vector<float> x = Random(s_.input_size(), &rng, kind);
    std::vector<float> want = Output(s_.output_size()), got = Output(s_.output_size());
    std::vector<int32_t> want_index = IndexOutput(s_.output_size());
    std::vector<int32_t> got_index = IndexOutput(s_.output_size());
    f32_maxpool_fwd__scalar(s_, x.data(), want.data(), want_index.data());
    fwd(s_, x.data(), got.data(), got_index.data());
    size_t failures = 0;
    std::ostringstream report;
    for (size_t i = 0; i < s_.output_size(); ++i) {
      // A max selects an input element: values and indices must match exactly.
      if (!(got[i] == want[i]) || got_index[i] != want_index[i]) {
        if (failures++ < 5) {
          report << "\n  at " << Coords(i, s_.out_h(), s_.out_w(), s_.channels) << ": got "
                 << got[i] << " @" << got_index[i] << ", expected " << want[i] << " @"
                 << want_index[i];
        }
      }
    }
    EXPECT_EQ(failures, 0u) << "max-pool forward differs for " << describe << report.str();
    ExpectGuards(got, kGuardValue, "max-pool output", describe);
    ExpectGuards(got_index, int32_t{0x5A5A5A5A}, "max-pool argmax", describe);

    // Without argmax (inference): the same values.
    std::vector<float> plain = Output(s_.output_size());
    fwd(s_, x.data(), plain.data(), nullptr);
    EXPECT_TRUE(std::equal(want.begin(), want.end() - kGuard, plain.begin()))
        << "max-pool forward without argmax differs for " << describe;
    ExpectGuards(plain, kGuardValue, "max-pool output (no argmax)", describe);
  }
}

void PoolTester::TestMaxBackward(MaxPoolBwdFn bwd) const {
  ASSERT_TRUE(s_.Validate().ok()) << s_.Validate().ToString();
  std::mt19937 rng(seed_);
  // Ties make several outputs pick the same input, so the scatter must accumulate.
  const std::vector<float> x = Random(s_.input_size(), &rng, Values::kTies);
  const std::vector<float> g = Random(s_.output_size(), &rng, Values::kContinuous);
  std::vector<float> y(s_.output_size());
  std::vector<int32_t> index(s_.output_size());
  f32_maxpool_fwd__scalar(s_, x.data(), y.data(), index.data());
  std::vector<float> want(s_.input_size()), got = Output(s_.input_size());
  std::vector<float> magnitude(s_.input_size());
  f32_maxpool_bwd__scalar(s_, g.data(), index.data(), want.data());
  f32_maxpool_bwd__scalar(s_, Abs(g).data(), index.data(), magnitude.data());
  bwd(s_, g.data(), index.data(), got.data());
  const double terms = static_cast<double>(s_.kernel_h * s_.kernel_w);
  ExpectClose("max-pool backward", got, std::vector<double>(want.begin(), want.end()),
              std::vector<double>(magnitude.begin(), magnitude.end()), terms, s_.in_h, s_.in_w,
              s_.channels, Describe());
  ExpectGuards(got, kGuardValue, "max-pool grad_input", Describe());
}

void PoolTester::TestAvgForward(AvgPoolFwdFn fwd) const {
  ASSERT_TRUE(s_.Validate().ok()) << s_.Validate().ToString();
  std::mt19937 rng(seed_);
  for (Values kind : {Values::kContinuous, Values::kNegative}) {
    const std::string describe = Describe() + " values=" + std::to_string(static_cast<int>(kind));
    const std::vector<float> x = Random(s_.input_size(), &rng, kind);
    std::vector<float> want(s_.output_size()), magnitude(s_.output_size());
    std::vector<float> got = Output(s_.output_size());
    f32_avgpool_fwd__scalar(s_, x.data(), want.data());
    f32_avgpool_fwd__scalar(s_, Abs(x).data(), magnitude.data());
    fwd(s_, x.data(), got.data());
    ExpectClose("avg-pool forward", got, std::vector<double>(want.begin(), want.end()),
                std::vector<double>(magnitude.begin(), magnitude.end()),
                static_cast<double>(s_.kernel_h * s_.kernel_w), s_.out_h(), s_.out_w(), s_.channels,
                describe);
    ExpectGuards(got, kGuardValue, "avg-pool output", describe);
  }
}

void PoolTester::TestAvgBackward(AvgPoolBwdFn bwd) const {
  ASSERT_TRUE(s_.Validate().ok()) << s_.Validate().ToString();
  std::mt19937 rng(seed_);
  const std::vector<float> g = Random(s_.output_size(), &rng, Values::kContinuous);
  std::vector<float> want(s_.input_size()), magnitude(s_.input_size());
  std::vector<float> got = Output(s_.input_size());
  f32_avgpool_bwd__scalar(s_, g.data(), want.data());
  f32_avgpool_bwd__scalar(s_, Abs(g).data(), magnitude.data());
  bwd(s_, g.data(), got.data());
  ExpectClose("avg-pool backward", got, std::vector<double>(want.begin(), want.end()),
              std::vector<double>(magnitude.begin(), magnitude.end()),
              static_cast<double>(s_.kernel_h * s_.kernel_w), s_.in_h, s_.in_w, s_.channels,
              Describe());
  ExpectGuards(got, kGuardValue, "avg-pool grad_input", Describe());
}

void PoolTester::TestXnnMaxForward() const {
  auto op = XnnMaxPool2d::Create(s_);
  ASSERT_TRUE(op.ok()) << op.status().ToString() << " for " << Describe();
  std::mt19937 rng(seed_);
  for (size_t batch : {s_.batch, s_.batch + 2}) {
    const Pool2dShape s = WithBatch(s_, batch);
    std::vector<float> x = Random(s.input_size(), &rng, Values::kNegative);
    std::vector<float> want(s.output_size()), got = Output(s.output_size());
    ASSERT_TRUE(op->Setup(batch, x.data(), got.data(), nullptr).ok());
    for (Values kind : {Values::kNegative, Values::kTies}) {
      const std::vector<float> fresh = Random(s.input_size(), &rng, kind);
      std::copy(fresh.begin(), fresh.end(), x.begin());  // Same buffer: Run() reads new data.
      ASSERT_TRUE(op->Run(nullptr).ok());
      f32_maxpool_fwd__scalar(s, x.data(), want.data(), nullptr);
      const std::string describe = PoolTester(*this).batch(batch).Describe();
      EXPECT_TRUE(std::equal(want.begin(), want.end(), got.begin()))
          << "XnnMaxPool2d differs from the oracle for " << describe;
      ExpectGuards(got, kGuardValue, "XnnMaxPool2d output", describe);
    }
  }
}

void PoolTester::TestXnnAvgForward() const {
  auto op = XnnAvgPool2d::Create(s_);
  ASSERT_TRUE(op.ok()) << op.status().ToString() << " for " << Describe();
  std::mt19937 rng(seed_);
  for (size_t batch : {s_.batch, s_.batch + 2}) {
    const Pool2dShape s = WithBatch(s_, batch);
    const std::string describe = PoolTester(*this).batch(batch).Describe();
    const std::vector<float> x = Random(s.input_size(), &rng, Values::kContinuous);
    std::vector<float> want(s.output_size()), magnitude(s.output_size());
    std::vector<float> got = Output(s.output_size());
    if (batch == s_.batch) {
      ASSERT_TRUE(op->Forward(x.data(), got.data(), nullptr).ok());
    } else {
      ASSERT_TRUE(op->Setup(batch, x.data(), got.data(), nullptr).ok());
      ASSERT_TRUE(op->Run(nullptr).ok());
    }
    f32_avgpool_fwd__scalar(s, x.data(), want.data());
    f32_avgpool_fwd__scalar(s, Abs(x).data(), magnitude.data());
    ExpectClose("XnnAvgPool2d", got, std::vector<double>(want.begin(), want.end()),
                std::vector<double>(magnitude.begin(), magnitude.end()),
                static_cast<double>(s.kernel_h * s.kernel_w), s.out_h(), s.out_w(), s.channels,
                describe);
    ExpectGuards(got, kGuardValue, "XnnAvgPool2d output", describe);
  }
}

void PoolTester::TestMaxGradients(MaxPoolFwdFn fwd, MaxPoolBwdFn bwd) const {
  ASSERT_TRUE(s_.Validate().ok()) << s_.Validate().ToString();
  std::mt19937 rng(seed_);
  const std::vector<float> x = Distinct(s_.input_size(), &rng);
  const std::vector<float> w = Random(s_.output_size(), &rng, Values::kContinuous);
  std::vector<float> y(s_.output_size()), got = Output(s_.input_size());
  std::vector<int32_t> index(s_.output_size());
  fwd(s_, x.data(), y.data(), index.data());
  bwd(s_, w.data(), index.data(), got.data());
  const std::vector<double> fd = FiniteDifferences(s_, /*max=*/true, x, w);
  ExpectClose("max-pool gradient vs finite differences", got, fd,
              std::vector<double>(fd.size(), 1.0), static_cast<double>(s_.kernel_h * s_.kernel_w),
              s_.in_h, s_.in_w, s_.channels, Describe());
  ExpectGuards(got, kGuardValue, "max-pool grad_input", Describe());
}

void PoolTester::TestAvgGradients(AvgPoolBwdFn bwd) const {
  ASSERT_TRUE(s_.Validate().ok()) << s_.Validate().ToString();
  std::mt19937 rng(seed_);
  const std::vector<float> x = Random(s_.input_size(), &rng, Values::kContinuous);
  const std::vector<float> w = Random(s_.output_size(), &rng, Values::kContinuous);
  std::vector<float> got = Output(s_.input_size());
  bwd(s_, w.data(), got.data());
  const std::vector<double> fd = FiniteDifferences(s_, /*max=*/false, x, w);
  ExpectClose("avg-pool gradient vs finite differences", got, fd,
              std::vector<double>(fd.size(), 1.0), static_cast<double>(s_.kernel_h * s_.kernel_w),
              s_.in_h, s_.in_w, s_.channels, Describe());
  ExpectGuards(got, kGuardValue, "avg-pool grad_input", Describe());
}

void PoolTester::TestReferenceForward() const {
  ASSERT_TRUE(s_.Validate().ok()) << s_.Validate().ToString();
  std::mt19937 rng(seed_);
  for (Values kind : {Values::kContinuous, Values::kTies, Values::kNegative}) {
    const std::string describe = Describe() + " values=" + std::to_string(static_cast<int>(kind));
    const std::vector<float> x = Random(s_.input_size(), &rng, kind);
    const std::vector<double> xd(x.begin(), x.end());
    std::vector<float> max = Output(s_.output_size()), avg = Output(s_.output_size());
    std::vector<int32_t> index = IndexOutput(s_.output_size());
    f32_maxpool_fwd__scalar(s_, x.data(), max.data(), index.data());
    f32_avgpool_fwd__scalar(s_, x.data(), avg.data());
    std::vector<double> want_max(s_.output_size()), want_avg(s_.output_size());
    std::vector<double> magnitude(s_.output_size());
    std::vector<double> abs_x(xd.size());
    for (size_t i = 0; i < xd.size(); ++i) abs_x[i] = std::fabs(xd[i]);
    size_t index_failures = 0;
    for (size_t n = 0; n < s_.batch; ++n) {
      for (size_t oh = 0; oh < s_.out_h(); ++oh) {
        for (size_t ow = 0; ow < s_.out_w(); ++ow) {
          for (size_t c = 0; c < s_.channels; ++c) {
            const size_t o = OutIndex(s_, n, oh, ow, c);
            int32_t want_index = -1;
            want_max[o] = RefMaxAt(s_, xd, n, oh, ow, c, &want_index);
            want_avg[o] = RefAvgAt(s_, xd, n, oh, ow, c);
            magnitude[o] = RefAvgAt(s_, abs_x, n, oh, ow, c);
            if (index[o] != want_index && index_failures++ < 5) {
              ADD_FAILURE() << "argmax at " << Coords(o, s_.out_h(), s_.out_w(), s_.channels)
                            << " is " << index[o] << ", expected " << want_index << " for "
                            << describe;
            }
          }
        }
      }
    }
    ExpectClose("scalar max-pool vs double reference", max, want_max, magnitude, 1.0, s_.out_h(),
                s_.out_w(), s_.channels, describe);
    ExpectClose("scalar avg-pool vs double reference", avg, want_avg, magnitude,
                static_cast<double>(s_.kernel_h * s_.kernel_w), s_.out_h(), s_.out_w(), s_.channels,
                describe);
  }
}

// --- GlobalPoolTester ---------------------------------------------------------------------------

std::string GlobalPoolTester::Describe() const {
  std::ostringstream out;
  out << "batch=" << s_.batch << " in=" << s_.in_h << "x" << s_.in_w << "x" << s_.channels;
  return out.str();
}

void GlobalPoolTester::TestForward(GlobalAvgPoolFwdFn fwd) const {
  ASSERT_TRUE(s_.Validate().ok()) << s_.Validate().ToString();
  std::mt19937 rng(seed_);
  const std::vector<float> x = Random(s_.input_size(), &rng, Values::kContinuous);
  std::vector<float> want(s_.output_size()), magnitude(s_.output_size());
  std::vector<float> got = Output(s_.output_size());
  f32_gavgpool_fwd__scalar(s_, x.data(), want.data());
  f32_gavgpool_fwd__scalar(s_, Abs(x).data(), magnitude.data());
  fwd(s_, x.data(), got.data());
  ExpectClose("global avg-pool forward", got, std::vector<double>(want.begin(), want.end()),
              std::vector<double>(magnitude.begin(), magnitude.end()),
              static_cast<double>(s_.pixels()), 1, 1, s_.channels, Describe());
  ExpectGuards(got, kGuardValue, "global avg-pool output", Describe());
}

void GlobalPoolTester::TestBackward(GlobalAvgPoolBwdFn bwd) const {
  ASSERT_TRUE(s_.Validate().ok()) << s_.Validate().ToString();
  std::mt19937 rng(seed_);
  const std::vector<float> g = Random(s_.output_size(), &rng, Values::kContinuous);
  std::vector<float> want(s_.input_size()), got = Output(s_.input_size());
  f32_gavgpool_bwd__scalar(s_, g.data(), want.data());
  bwd(s_, g.data(), got.data());
  ExpectClose("global avg-pool backward", got, std::vector<double>(want.begin(), want.end()),
              std::vector<double>(want.size(), 1.0), 1.0, s_.in_h, s_.in_w, s_.channels,
              Describe());
  ExpectGuards(got, kGuardValue, "global avg-pool grad_input", Describe());
}

void GlobalPoolTester::TestXnnForward() const {
  auto op = XnnGlobalAvgPool::Create(s_);
  ASSERT_TRUE(op.ok()) << op.status().ToString() << " for " << Describe();
  std::mt19937 rng(seed_);
  for (size_t batch : {s_.batch, s_.batch + 2}) {
    GlobalPoolShape s = s_;
    s.batch = batch;
    const std::string describe = GlobalPoolTester(*this).batch(batch).Describe();
    const std::vector<float> x = Random(s.input_size(), &rng, Values::kContinuous);
    std::vector<float> want(s.output_size()), magnitude(s.output_size());
    std::vector<float> got = Output(s.output_size());
    ASSERT_TRUE(op->Setup(batch, x.data(), got.data(), nullptr).ok());
    ASSERT_TRUE(op->Run(nullptr).ok());
    f32_gavgpool_fwd__scalar(s, x.data(), want.data());
    f32_gavgpool_fwd__scalar(s, Abs(x).data(), magnitude.data());
    ExpectClose("XnnGlobalAvgPool", got, std::vector<double>(want.begin(), want.end()),
                std::vector<double>(magnitude.begin(), magnitude.end()),
                static_cast<double>(s.pixels()), 1, 1, s.channels, describe);
    ExpectGuards(got, kGuardValue, "XnnGlobalAvgPool output", describe);
  }
}

void GlobalPoolTester::TestReferenceForward(GlobalAvgPoolFwdFn fwd) const {
  ASSERT_TRUE(s_.Validate().ok()) << s_.Validate().ToString();
  std::mt19937 rng(seed_);
  const std::vector<float> x = Random(s_.input_size(), &rng, Values::kNegative);
  std::vector<float> got = Output(s_.output_size());
  fwd(s_, x.data(), got.data());
  const size_t C = s_.channels, P = s_.pixels();
  std::vector<double> want(s_.output_size(), 0.0), magnitude(s_.output_size(), 0.0);
  for (size_t n = 0; n < s_.batch; ++n) {
    for (size_t c = 0; c < C; ++c) {
      for (size_t p = 0; p < P; ++p) want[n * C + c] += x[(n * P + p) * C + c];
      want[n * C + c] /= static_cast<double>(P);
      magnitude[n * C + c] = std::fabs(want[n * C + c]);
    }
  }
  ExpectClose("global avg-pool vs double reference", got, want, magnitude, static_cast<double>(P),
              1, 1, C, Describe());
}

void GlobalPoolTester::TestGradients(GlobalAvgPoolBwdFn bwd) const {
  ASSERT_TRUE(s_.Validate().ok()) << s_.Validate().ToString();
  std::mt19937 rng(seed_);
  const std::vector<float> x = Random(s_.input_size(), &rng, Values::kContinuous);
  const std::vector<float> w = Random(s_.output_size(), &rng, Values::kContinuous);
  std::vector<float> got = Output(s_.input_size());
  bwd(s_, w.data(), got.data());
  const size_t C = s_.channels, P = s_.pixels();
  std::vector<double> xd(x.begin(), x.end()), fd(x.size());
  // L restricted to image n, channel c (the only output the element feeds).
  auto loss = [&](size_t n, size_t c) {
    double sum = 0.0;
    for (size_t p = 0; p < P; ++p) sum += xd[(n * P + p) * C + c];
    return w[n * C + c] * (sum / static_cast<double>(P));
  };
  for (size_t i = 0; i < x.size(); ++i) {
    const size_t n = i / (P * C), c = i % C;
    const double keep = xd[i];
    xd[i] = keep + kStep;
    const double up = loss(n, c);
    xd[i] = keep - kStep;
    const double down = loss(n, c);
    xd[i] = keep;
    fd[i] = (up - down) / (2.0 * kStep);
  }
  ExpectClose("global avg-pool gradient vs finite differences", got, fd,
              std::vector<double>(fd.size(), 1.0), 1.0, s_.in_h, s_.in_w, C, Describe());
  ExpectGuards(got, kGuardValue, "global avg-pool grad_input", Describe());
}

}  // namespace persephonee
