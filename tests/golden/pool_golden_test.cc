// Pooling kernels against PyTorch (F.max_pool2d with return_indices, F.avg_pool2d, mean over
// H and W; autograd backward) on the fixtures made by tools/make_golden_fixtures.py: the scalar
// oracle, NEON on aarch64, the configured choice and XNNPACK's forward operators.
#include <pthreadpool.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kernels/pool/pool.h"
#include "kernels/pool/xnnpack.h"
#include "tests/golden/compare.h"
#include "tests/golden/fixture.h"

namespace persephonee {
namespace golden {
namespace {

enum class PoolKind : int32_t { kMax = 0, kAvg = 1, kGlobalAvg = 2 };

const char* const kMaxCases[] = {"pool_max_2x2_s2", "pool_max_3x3_s2_p1", "pool_max_2x2_s2_batch1"};
const char* const kAvgCases[] = {"pool_avg_2x2_s2_batch3", "pool_avg_3x3_s1_p1",
                                 "pool_avg_3x3_s1_p1_exclude_pad"};
const char* const kGlobalAvgCases[] = {"pool_global_avg_batch3", "pool_global_avg_batch1"};

struct PoolCase {
  std::string source;
  PoolKind kind = PoolKind::kMax;
  Pool2dShape shape;       // Max and average pooling.
  GlobalPoolShape global;  // Global average pooling.
  FixtureArray x, dy, y, dx;
  std::vector<int32_t> argmax;  // Max pooling: PyTorch's indices, NHWC.

  // Terms one forward output sums (1 for a max), and the most windows one input lies in.
  size_t fwd_terms() const {
    if (kind == PoolKind::kGlobalAvg) return global.pixels();
    return kind == PoolKind::kMax ? 1 : shape.kernel_h * shape.kernel_w;
  }
  size_t bwd_terms() const {
    if (kind == PoolKind::kGlobalAvg) return 1;
    return ((shape.kernel_h + shape.stride_h - 1) / shape.stride_h) *
           ((shape.kernel_w + shape.stride_w - 1) / shape.stride_w);
  }
};

Status LoadPoolCase(const std::string& stem, PoolKind want_kind, PoolCase* c) {
  ASSIGN_OR_RETURN(Fixture f, Fixture::Load(FixturePath(stem)));
  c->source = f.source();
  ASSIGN_OR_RETURN(std::vector<int32_t> kind, f.Ints("kind", 1));
  ENSURE(kind[0] == static_cast<int32_t>(want_kind), f.source(), ": pool kind ", kind[0],
         ", expected ", static_cast<int32_t>(want_kind));
  c->kind = want_kind;
  ASSIGN_OR_RETURN(const FixtureArray* x, f.Find("x", FixtureDtype::kFloat32, 4));
  const size_t n = x->dims[0], h = x->dims[1], w = x->dims[2], ch = x->dims[3];
  std::vector<size_t> out;
  if (want_kind == PoolKind::kGlobalAvg) {
    c->global = GlobalPoolShape{n, h, w, ch};
    RETURN_IF_ERROR(c->global.Validate().WithContext(f.source()));
    out = {n, ch};
  } else {
    ASSIGN_OR_RETURN(std::vector<int32_t> kernel, f.Ints("kernel", 2));
    ASSIGN_OR_RETURN(std::vector<int32_t> stride, f.Ints("stride", 2));
    ASSIGN_OR_RETURN(std::vector<int32_t> padding, f.Ints("padding", 4));
    for (int32_t v : kernel) ENSURE(v > 0, f.source(), ": kernel must be positive");
    for (int32_t v : stride) ENSURE(v > 0, f.source(), ": stride must be positive");
    for (int32_t v : padding) ENSURE(v >= 0, f.source(), ": padding must not be negative");
    Pool2dShape& s = c->shape;
    s.batch = n;
    s.in_h = h;
    s.in_w = w;
    s.channels = ch;
    s.kernel_h = kernel[0];
    s.kernel_w = kernel[1];
    s.stride_h = stride[0];
    s.stride_w = stride[1];
    s.pad_top = padding[0];
    s.pad_left = padding[1];
    s.pad_bottom = padding[2];
    s.pad_right = padding[3];
    if (want_kind == PoolKind::kAvg) {
      ASSIGN_OR_RETURN(std::vector<int32_t> include, f.Ints("count_include_pad", 1));
      ENSURE(include[0] == 0 || include[0] == 1, f.source(), ": count_include_pad must be 0/1");
      s.count_include_pad = include[0] == 1;
    }
    RETURN_IF_ERROR(s.Validate().WithContext(f.source()));
    out = {n, s.out_h(), s.out_w(), ch};
  }
  const std::vector<size_t> in = {n, h, w, ch};
  ASSIGN_OR_RETURN(const FixtureArray* xa, f.FindFloat("x", in));
  ASSIGN_OR_RETURN(const FixtureArray* dx, f.FindFloat("dx", in));
  ASSIGN_OR_RETURN(const FixtureArray* y, f.FindFloat("y", out));
  ASSIGN_OR_RETURN(const FixtureArray* dy, f.FindFloat("dy", out));
  c->x = *xa;
  c->dx = *dx;
  c->y = *y;
  c->dy = *dy;
  if (want_kind == PoolKind::kMax) {
    ASSIGN_OR_RETURN(const FixtureArray* argmax, f.Find("argmax", FixtureDtype::kInt32, 4));
    ENSURE(argmax->dims == out, f.source(), ": argmax dims ", argmax->DimsString(),
           " differ from y's");
    c->argmax = argmax->i32;
  }
  return Status::Ok();
}

// Every index must equal PyTorch's: the fixtures have no ties, so the argmax is unambiguous.
::testing::AssertionResult ArgmaxMatches(const std::string& what, const PoolCase& c,
                                         const std::vector<int32_t>& got) {
  size_t mismatches = 0, first = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != c.argmax[i] && mismatches++ == 0) first = i;
  }
  if (mismatches == 0) return ::testing::AssertionSuccess();
  const size_t ch = c.shape.channels, ow = c.shape.out_w(), oh = c.shape.out_h();
  return ::testing::AssertionFailure()
         << what << " vs " << c.source << " 'argmax' [" << c.shape.batch << ", " << oh << ", " << ow
         << ", " << ch << "]: " << mismatches << " of " << got.size()
         << " indices differ; first at [" << first / (oh * ow * ch) << ", "
         << first / (ow * ch) % oh << ", " << first / ch % ow << ", " << first % ch << "]: got "
         << got[first] << ", want " << c.argmax[first];
}

struct MaxPoolFns {
  MaxPoolFwdFn fwd;
  MaxPoolBwdFn bwd;
};
struct AvgPoolFns {
  AvgPoolFwdFn fwd;
  AvgPoolBwdFn bwd;
};
struct GlobalAvgPoolFns {
  GlobalAvgPoolFwdFn fwd;
  GlobalAvgPoolBwdFn bwd;
};

void CheckMaxPool(const std::string& name, const PoolCase& c, MaxPoolFns fns) {
  std::vector<float> y = NanBuffer(c.y.size());
  std::vector<int32_t> argmax(c.y.size(), -1);
  fns.fwd(c.shape, c.x.f32.data(), y.data(), argmax.data());
  ExpectGolden(name + " forward y", y, c.y, c.source, c.fwd_terms());
  EXPECT_TRUE(ArgmaxMatches(name + " forward argmax", c, argmax));
  // The backward runs on PyTorch's indices, so it is judged on its own even if the forward's
  // argmax were wrong.
  std::vector<float> dx = NanBuffer(c.dx.size());
  fns.bwd(c.shape, c.dy.f32.data(), c.argmax.data(), dx.data());
  ExpectGolden(name + " backward dx", dx, c.dx, c.source, c.bwd_terms());
}

void CheckAvgPool(const std::string& name, const PoolCase& c, AvgPoolFns fns) {
  std::vector<float> y = NanBuffer(c.y.size()), dx = NanBuffer(c.dx.size());
  fns.fwd(c.shape, c.x.f32.data(), y.data());
  ExpectGolden(name + " forward y", y, c.y, c.source, c.fwd_terms());
  fns.bwd(c.shape, c.dy.f32.data(), dx.data());
  ExpectGolden(name + " backward dx", dx, c.dx, c.source, c.bwd_terms());
}

void CheckGlobalAvgPool(const std::string& name, const PoolCase& c, GlobalAvgPoolFns fns) {
  std::vector<float> y = NanBuffer(c.y.size()), dx = NanBuffer(c.dx.size());
  fns.fwd(c.global, c.x.f32.data(), y.data());
  ExpectGolden(name + " forward y", y, c.y, c.source, c.fwd_terms());
  fns.bwd(c.global, c.dy.f32.data(), dx.data());
  ExpectGolden(name + " backward dx", dx, c.dx, c.source, c.bwd_terms());
}

template <PoolKind kKind>
class PoolGoldenTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    const Status loaded = LoadPoolCase(GetParam(), kKind, &case_);
    ASSERT_TRUE(loaded.ok()) << loaded.ToString();
  }
  PoolCase case_;
};

using MaxPoolGoldenTest = PoolGoldenTest<PoolKind::kMax>;
using AvgPoolGoldenTest = PoolGoldenTest<PoolKind::kAvg>;
using GlobalAvgPoolGoldenTest = PoolGoldenTest<PoolKind::kGlobalAvg>;

const auto kCaseName = [](const auto& info) { return std::string(info.param); };

// --- max pooling -----------------------------------------------------------------------------

TEST_P(MaxPoolGoldenTest, Scalar) {
  CheckMaxPool("f32_maxpool_*__scalar", case_, {f32_maxpool_fwd__scalar, f32_maxpool_bwd__scalar});
}

#if defined(__aarch64__)
TEST_P(MaxPoolGoldenTest, Neon) {
  CheckMaxPool("f32_maxpool_*__neon", case_, {f32_maxpool_fwd__neon, f32_maxpool_bwd__neon});
}
#endif

TEST_P(MaxPoolGoldenTest, Configured) {
  const PoolConfig& config = pool_config();
  CheckMaxPool(std::string("pool_config() ") + config.name, case_,
               {config.maxpool_fwd, config.maxpool_bwd});
}

TEST_P(MaxPoolGoldenTest, XnnpackForward) {
  StatusOr<XnnMaxPool2d> op = XnnMaxPool2d::Create(case_.shape);
  ASSERT_TRUE(op.ok()) << case_.source << ": " << op.status().ToString();
  std::vector<float> y = NanBuffer(case_.y.size());
  const Status run = op->Forward(case_.x.f32.data(), y.data(), nullptr);
  ASSERT_TRUE(run.ok()) << case_.source << ": " << run.ToString();
  ExpectGolden("XnnMaxPool2d forward y", y, case_.y, case_.source, case_.fwd_terms());
}

INSTANTIATE_TEST_SUITE_P(PyTorch, MaxPoolGoldenTest, ::testing::ValuesIn(kMaxCases), kCaseName);

// --- average pooling -------------------------------------------------------------------------

TEST_P(AvgPoolGoldenTest, Scalar) {
  CheckAvgPool("f32_avgpool_*__scalar", case_, {f32_avgpool_fwd__scalar, f32_avgpool_bwd__scalar});
}

#if defined(__aarch64__)
TEST_P(AvgPoolGoldenTest, Neon) {
  CheckAvgPool("f32_avgpool_*__neon", case_, {f32_avgpool_fwd__neon, f32_avgpool_bwd__neon});
}
#endif

TEST_P(AvgPoolGoldenTest, Configured) {
  const PoolConfig& config = pool_config();
  CheckAvgPool(std::string("pool_config() ") + config.name, case_,
               {config.avgpool_fwd, config.avgpool_bwd});
}

TEST_P(AvgPoolGoldenTest, XnnpackForward) {
  StatusOr<XnnAvgPool2d> op = XnnAvgPool2d::Create(case_.shape);
  ASSERT_TRUE(op.ok()) << case_.source << ": " << op.status().ToString();
  std::vector<float> y = NanBuffer(case_.y.size());
  const Status run = op->Forward(case_.x.f32.data(), y.data(), nullptr);
  ASSERT_TRUE(run.ok()) << case_.source << ": " << run.ToString();
  ExpectGolden("XnnAvgPool2d forward y", y, case_.y, case_.source, case_.fwd_terms());
}

INSTANTIATE_TEST_SUITE_P(PyTorch, AvgPoolGoldenTest, ::testing::ValuesIn(kAvgCases), kCaseName);

// --- global average pooling ------------------------------------------------------------------

TEST_P(GlobalAvgPoolGoldenTest, Scalar) {
  CheckGlobalAvgPool("f32_gavgpool_*__scalar", case_,
                     {f32_gavgpool_fwd__scalar, f32_gavgpool_bwd__scalar});
}

#if defined(__aarch64__)
TEST_P(GlobalAvgPoolGoldenTest, Neon) {
  CheckGlobalAvgPool("f32_gavgpool_*__neon", case_,
                     {f32_gavgpool_fwd__neon, f32_gavgpool_bwd__neon});
}
#endif

TEST_P(GlobalAvgPoolGoldenTest, Configured) {
  const PoolConfig& config = pool_config();
  CheckGlobalAvgPool(std::string("pool_config() ") + config.name, case_,
                     {config.gavgpool_fwd, config.gavgpool_bwd});
}

TEST_P(GlobalAvgPoolGoldenTest, XnnpackForward) {
  StatusOr<XnnGlobalAvgPool> op = XnnGlobalAvgPool::Create(case_.global);
  ASSERT_TRUE(op.ok()) << case_.source << ": " << op.status().ToString();
  std::vector<float> y = NanBuffer(case_.y.size());
  const Status run = op->Forward(case_.x.f32.data(), y.data(), nullptr);
  ASSERT_TRUE(run.ok()) << case_.source << ": " << run.ToString();
  ExpectGolden("XnnGlobalAvgPool forward y", y, case_.y, case_.source, case_.fwd_terms());
}

INSTANTIATE_TEST_SUITE_P(PyTorch, GlobalAvgPoolGoldenTest, ::testing::ValuesIn(kGlobalAvgCases),
                         kCaseName);

// Both divisor conventions are covered: PyTorch's default (padding counts) and the one XNNPACK
// uses natively, on otherwise identical inputs, so a kernel that ignores the flag fails one.
TEST(AvgPoolGoldenCoverageTest, FixturesCoverBothDivisorConventions) {
  PoolCase include, exclude;
  Status s = LoadPoolCase("pool_avg_3x3_s1_p1", PoolKind::kAvg, &include);
  ASSERT_TRUE(s.ok()) << s.ToString();
  s = LoadPoolCase("pool_avg_3x3_s1_p1_exclude_pad", PoolKind::kAvg, &exclude);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(include.shape.count_include_pad && include.shape.has_padding());
  EXPECT_FALSE(exclude.shape.count_include_pad);
  EXPECT_EQ(include.x.f32, exclude.x.f32);
  EXPECT_NE(include.y.f32, exclude.y.f32);
}

}  // namespace
}  // namespace golden
}  // namespace persephonee
