#include "tests/kernels/gemm/gemm_tester.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>

namespace persephonee {
namespace {

constexpr float kSentinel = -12345.5f;

bool BitwiseEqual(float x, float y) { return std::memcmp(&x, &y, sizeof(float)) == 0; }

void Fill(std::mt19937* rng, std::vector<float>* v) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float& x : *v) x = dist(*rng);
}

}  // namespace

std::string GemmTester::Describe() const {
  std::ostringstream out;
  out << "m=" << m_ << " n=" << n_ << " k=" << k_ << " ta=" << trans_a_ << " tb=" << trans_b_
      << " lda=" << (trans_a_ ? m_ : k_) + lda_pad_ << " ldb=" << (trans_b_ ? k_ : n_) + ldb_pad_
      << " ldc=" << n_ + ldc_pad_ << " acc=" << accumulate_ << " a_in_place=" << a_in_place_
      << " seed=" << seed_;
  return out.str();
}

GemmTester::Data GemmTester::Make() const {
  Data d;
  GemmArgs& g = d.args;
  g.trans_a = trans_a_ ? Transpose::kYes : Transpose::kNo;
  g.trans_b = trans_b_ ? Transpose::kYes : Transpose::kNo;
  g.m = m_;
  g.n = n_;
  g.k = k_;
  g.lda = (trans_a_ ? m_ : k_) + lda_pad_;
  g.ldb = (trans_b_ ? k_ : n_) + ldb_pad_;
  g.ldc = n_ + ldc_pad_;
  g.accumulate = accumulate_;
  std::mt19937 rng(seed_);
  // Whole buffers are random, padding included, so reading past a row would change results.
  // In place, the buffer ends where the stored matrix does, so reads past it are out of bounds
  // (caught under --config=asan).
  d.a.resize(std::max<size_t>(1, (trans_a_ ? k_ : m_) * g.lda - (a_in_place_ ? lda_pad_ : 0)));
  d.b.resize(std::max<size_t>(1, (trans_b_ ? n_ : k_) * g.ldb));
  Fill(&rng, &d.a);
  Fill(&rng, &d.b);
  d.c.assign(std::max<size_t>(1, m_ * g.ldc), kSentinel);
  for (size_t i = 0; i < m_; ++i) {
    for (size_t j = 0; j < n_; ++j) {
      // Without accumulate, C must be overwritten: NaN shows any read of it.
      d.c[i * g.ldc + j] = accumulate_ ? std::uniform_real_distribution<float>(-1, 1)(rng)
                                       : std::numeric_limits<float>::quiet_NaN();
    }
  }
  g.a = d.a.data();
  g.b = d.b.data();
  g.c = d.c.data();
  return d;
}

float GemmTester::Tolerance(const Data& d, const std::vector<float>& c_in, size_t i,
                            size_t j) const {
  const GemmArgs& g = d.args;
  double s = accumulate_ ? std::fabs(c_in[i * g.ldc + j]) : 0.0;
  for (size_t p = 0; p < k_; ++p) {
    const float a = trans_a_ ? d.a[p * g.lda + i] : d.a[i * g.lda + p];
    const float b = trans_b_ ? d.b[j * g.ldb + p] : d.b[p * g.ldb + j];
    s += std::fabs(static_cast<double>(a) * b);
  }
  const double scale = std::max(1.0, std::sqrt(static_cast<double>(k_)) / 4.0);
  return static_cast<float>(std::max(1e-5, 1e-6 * s) * scale);
}

void GemmTester::Compare(const Data& d, const std::vector<float>& c_in,
                         const std::vector<float>& expected, const std::string& what) const {
  const GemmArgs& g = d.args;
  int failures = 0;
  for (size_t i = 0; i < m_ && failures < 5; ++i) {
    for (size_t j = 0; j < g.ldc && failures < 5; ++j) {
      const size_t at = i * g.ldc + j;
      const float got = d.c[at];
      if (j >= n_) {
        if (!BitwiseEqual(got, kSentinel)) {
          ++failures;
          ADD_FAILURE() << what << ": wrote C padding at (" << i << ", " << j << ") = " << got
                        << "; " << Describe();
        }
        continue;
      }
      const float want = expected[at];
      const float tol = Tolerance(d, c_in, i, j);
      if (!(std::fabs(got - want) <= tol)) {
        ++failures;
        ADD_FAILURE() << what << ": C(" << i << ", " << j << ") = " << got << ", oracle " << want
                      << ", |diff| " << std::fabs(got - want) << " > tol " << tol << "; "
                      << Describe();
      }
    }
  }
}

std::vector<float> GemmTester::Run(const GemmFn& gemm) const {
  Data d = Make();
  gemm(d.args);
  return d.c;
}

void GemmTester::Test(const GemmFn& gemm) const {
  Data d = Make();
  const std::vector<float> c_in = d.c;
  std::vector<float> expected = d.c;
  GemmArgs ref = d.args;
  ref.c = expected.data();
  f32_gemm__scalar(ref);
  gemm(d.args);
  Compare(d, c_in, expected, "gemm");
}

void GemmTester::TestUkernel(GemmUkernelFn ukernel, size_t mr, size_t nr) const {
  ASSERT_LE(m_, mr);
  ASSERT_LE(n_, nr);
  ASSERT_GE(k_, 1u);
  Data d = Make();
  const GemmArgs& g = d.args;
  // Reference packing, written independently of the library's packing routines.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> a_panel(k_ * mr, nan);
  std::vector<float> b_panel(k_ * nr, nan);
  for (size_t p = 0; p < k_; ++p) {
    for (size_t i = 0; i < m_; ++i) {
      a_panel[p * mr + i] = trans_a_ ? d.a[p * g.lda + i] : d.a[i * g.lda + p];
    }
    for (size_t j = 0; j < n_; ++j) {
      b_panel[p * nr + j] = trans_b_ ? d.b[j * g.ldb + p] : d.b[p * g.ldb + j];
    }
  }
  const std::vector<float> c_in = d.c;
  std::vector<float> expected = d.c;
  GemmArgs ref = g;
  ref.c = expected.data();
  f32_gemm__scalar(ref);
  if (a_in_place_) {
    ukernel(m_, n_, k_, d.a.data(), trans_a_ ? 1 : g.lda, trans_a_ ? g.lda : 1, b_panel.data(),
            d.c.data(), g.ldc, accumulate_);
  } else {
    ukernel(m_, n_, k_, a_panel.data(), 1, mr, b_panel.data(), d.c.data(), g.ldc, accumulate_);
  }
  std::ostringstream what;
  what << "ukernel " << mr << "x" << nr;
  Compare(d, c_in, expected, what.str());
}

void TestGemmShapes(const GemmTester::GemmFn& gemm, size_t mr, size_t nr, size_t kc) {
  uint32_t seed = 1;
  // Edges of every block: below, at and above the tile and the reduction block, and primes.
  const std::vector<size_t> ms = {1, mr - 1, mr, mr + 1, 2 * mr + 1, 37};
  const std::vector<size_t> ns = {1, nr - 1, nr, nr + 1, 2 * nr + 3, 41};
  const std::vector<size_t> ks = {1, 2, 7, kc - 1, kc, kc + 1, 2 * kc + 5};
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      for (size_t m : ms) {
        if (m == 0) continue;
        for (size_t n : ns) {
          if (n == 0) continue;
          // Every k at the tile-edge shapes, a few elsewhere, to bound the run time.
          const bool edge = (m == mr || m == mr + 1) && (n == nr || n == nr + 1);
          for (size_t k : edge ? ks : std::vector<size_t>{1, 13}) {
            const bool acc = (seed % 2) == 0;
            GemmTester()
                .m(m)
                .n(n)
                .k(k)
                .trans_a(ta)
                .trans_b(tb)
                .lda_pad(seed % 3 == 0 ? 3 : 0)
                .ldb_pad(seed % 5 == 0 ? 5 : 0)
                .ldc_pad(seed % 4 == 1 ? 2 : 0)
                .accumulate(acc)
                .seed(seed)
                .Test(gemm);
            ++seed;
          }
        }
      }
    }
  }
  // Randomized shapes with random strides, transposes and accumulate.
  std::mt19937 rng(2024);
  for (int t = 0; t < 24; ++t) {
    GemmTester()
        .m(1 + rng() % (4 * mr + 8))
        .n(1 + rng() % (4 * nr + 8))
        .k(1 + rng() % (kc + kc / 2))
        .trans_a(rng() % 2)
        .trans_b(rng() % 2)
        .lda_pad(rng() % 4)
        .ldb_pad(rng() % 4)
        .ldc_pad(rng() % 4)
        .accumulate(rng() % 2)
        .seed(seed)
        .Test(gemm);
    ++seed;
  }
}

void TestUkernelShapes(GemmUkernelFn ukernel, size_t mr, size_t nr, bool reads_a_in_place) {
  uint32_t seed = 100;
  for (bool in_place : {false, true}) {
    if (in_place && !reads_a_in_place) continue;
    for (size_t k : {1u, 2u, 3u, 8u, 17u, 64u}) {
      for (size_t m = 1; m <= mr; ++m) {
        for (size_t n = 1; n <= nr; ++n) {
          for (bool acc : {false, true}) {
            GemmTester()
                .m(m)
                .n(n)
                .k(k)
                .trans_a(seed % 2)
                .trans_b(seed % 3 == 0)
                .lda_pad(seed % 5 == 0 ? 2 : 0)
                .ldc_pad(seed % 4 == 0 ? 3 : 0)
                .accumulate(acc)
                .a_in_place(in_place)
                .seed(seed)
                .TestUkernel(ukernel, mr, nr);
            ++seed;
          }
        }
      }
    }
  }
}

void TestBlockedDriver(GemmKernel kernel) {
  kernel.blocking.kc = 16;
  kernel.blocking.mc = 2 * kernel.mr;
  kernel.blocking.nc = 2 * kernel.nr;
  pthreadpool_t pool = pthreadpool_create(3);
  ASSERT_NE(pool, nullptr);
  const GemmTester::GemmFn one = [&kernel](const GemmArgs& args) {
    f32_gemm_blocked(args, kernel, nullptr);
  };
  const GemmTester::GemmFn many = [&kernel, pool](const GemmArgs& args) {
    f32_gemm_blocked(args, kernel, pool);
  };
  uint32_t seed = 500;
  const size_t mr = kernel.mr, nr = kernel.nr;
  for (size_t m : {mr - 1, 2 * mr, 2 * mr + 1, 5 * mr + 3}) {
    for (size_t n : {nr - 1, 2 * nr, 2 * nr + 1, 5 * nr + 2}) {
      for (size_t k : {15u, 16u, 17u, 33u, 50u}) {
        GemmTester t;
        t.m(m).n(n).k(k).trans_a(seed % 2).trans_b((seed / 2) % 2);
        t.lda_pad(seed % 3).ldb_pad(seed % 2).ldc_pad(seed % 5 == 0 ? 1 : 0);
        t.accumulate(seed % 3 == 1).seed(seed);
        t.Test(one);
        if (seed % 4 == 0) {
          // Three threads: one task per (row block, column chunk), each packing its own B. On
          // a quarter of the shapes: each parallel call can wait a timeslice on a busy machine.
          const std::vector<float> c_one = t.Run(one), c_many = t.Run(many);
          EXPECT_EQ(std::memcmp(c_one.data(), c_many.data(), c_one.size() * sizeof(float)), 0)
              << "1 and 3 threads differ; " << t.Describe();
        }
        ++seed;
      }
    }
  }
  pthreadpool_destroy(pool);
}

void TestThreadsBitwise(const std::function<void(const GemmArgs&, pthreadpool_t)>& gemm) {
  struct Shape {
    size_t m, n, k;
  };
  // Small m (tasks split over columns), large m (over rows), several reduction passes.
  const Shape shapes[] = {{1, 300, 70}, {5, 97, 600}, {64, 33, 31}, {131, 67, 300}, {300, 10, 9}};
  for (size_t threads : {2u, 3u}) {
    pthreadpool_t pool = pthreadpool_create(threads);
    ASSERT_NE(pool, nullptr);
    uint32_t seed = 900;
    for (const Shape& s : shapes) {
      for (bool ta : {false, true}) {
        GemmTester t;
        t.m(s.m).n(s.n).k(s.k).trans_a(ta).trans_b(!ta).accumulate(ta).ldc_pad(1).seed(seed);
        ++seed;
        const std::vector<float> one = t.Run([&](const GemmArgs& args) { gemm(args, nullptr); });
        const std::vector<float> many = t.Run([&](const GemmArgs& args) { gemm(args, pool); });
        ASSERT_EQ(one.size(), many.size());
        size_t differ = 0;
        size_t first = 0;
        for (size_t i = 0; i < one.size(); ++i) {
          if (!BitwiseEqual(one[i], many[i]) && differ++ == 0) first = i;
        }
        EXPECT_EQ(differ, 0u) << differ << " elements differ between 1 and " << threads
                              << " threads, first at flat index " << first << " (" << one[first]
                              << " vs " << many[first] << "); " << t.Describe();
      }
    }
    pthreadpool_destroy(pool);
  }
}

namespace {

// Reference layouts (ukernel.h): panel r, step p, lane i.
std::vector<float> ReferencePack(size_t width, size_t rows, size_t k, const std::vector<float>& src,
                                 size_t ld, bool rows_contiguous) {
  const size_t panels = (rows + width - 1) / width;
  std::vector<float> out(panels * k * width, 0.0f);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t p = 0; p < k; ++p) {
      const float v = rows_contiguous ? src[r * ld + p] : src[p * ld + r];
      out[(r / width) * k * width + p * width + r % width] = v;
    }
  }
  return out;
}

void CheckPacked(const std::vector<float>& got, const std::vector<float>& want,
                 const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!BitwiseEqual(got[i], want[i])) {
      ADD_FAILURE() << what << ": packed[" << i << "] = " << got[i] << ", want " << want[i];
      return;
    }
  }
}

}  // namespace

void TestPackA(GemmPackAFn pack, size_t mr) {
  std::mt19937 rng(7);
  for (size_t m : {1ul, mr - 1, mr, mr + 1, 3 * mr + 2}) {
    if (m == 0) continue;
    for (size_t k : {1ul, 3ul, 4ul, 8ul, 9ul, 16ul, 33ul}) {
      for (bool trans : {false, true}) {
        const size_t ld = (trans ? m : k) + 3;
        std::vector<float> a((trans ? k : m) * ld);
        Fill(&rng, &a);
        const size_t panels = (m + mr - 1) / mr;
        std::vector<float> got(panels * k * mr, kSentinel);
        pack(mr, m, k, a.data(), ld, trans, got.data());
        std::ostringstream what;
        what << "pack_a mr=" << mr << " m=" << m << " k=" << k << " trans=" << trans;
        CheckPacked(got, ReferencePack(mr, m, k, a, ld, !trans), what.str());
      }
    }
  }
}

void TestPackB(GemmPackBFn pack, size_t nr) {
  std::mt19937 rng(8);
  for (size_t n : {1ul, nr - 1, nr, nr + 1, 3 * nr + 2}) {
    if (n == 0) continue;
    for (size_t k : {1ul, 3ul, 4ul, 8ul, 9ul, 16ul, 33ul}) {
      for (bool trans : {false, true}) {
        const size_t ld = (trans ? k : n) + 2;
        std::vector<float> b((trans ? n : k) * ld);
        Fill(&rng, &b);
        const size_t panels = (n + nr - 1) / nr;
        std::vector<float> got(panels * k * nr, kSentinel);
        pack(nr, k, n, b.data(), ld, trans, got.data());
        std::ostringstream what;
        what << "pack_b nr=" << nr << " n=" << n << " k=" << k << " trans=" << trans;
        CheckPacked(got, ReferencePack(nr, n, k, b, ld, trans), what.str());
      }
    }
  }
}

}  // namespace persephonee
