// Conv2d kernels against PyTorch (F.conv2d forward, autograd backward) on the fixtures made by
// tools/make_golden_fixtures.py: the scalar oracle, the GEMM-based path (1 and 2 threads), the
// configured choice, the depthwise kernels (scalar, and NEON on aarch64) and XNNPACK's forward.
#include <pthreadpool.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "kernels/conv2d/conv2d.h"
#include "kernels/conv2d/xnnpack.h"
#include "tests/golden/compare.h"
#include "tests/golden/fixture.h"

namespace persephonee {
namespace golden {
namespace {

const char* const kConvCases[] = {
    "conv2d_3x3_s1_p1",       "conv2d_3x3_s1_p1_wide",      "conv2d_3x3_s2_p1",
    "conv2d_1x1_batch3",      "conv2d_5x5_asym_pad_batch1", "conv2d_3x3_dilation2",
    "conv2d_3x3_groups2",     "conv2d_3x2_s2x1_batch1",     "conv2d_dw3x3_s1",
    "conv2d_dw3x3_s2_batch3", "conv2d_dw3x3_s1_batch1",
};
const char* const kDepthwiseCases[] = {"conv2d_dw3x3_s1", "conv2d_dw3x3_s2_batch3",
                                       "conv2d_dw3x3_s1_batch1"};

// One fixture with its shape, checked against every array's dims.
struct ConvCase {
  std::string source;
  Conv2dShape shape;
  FixtureArray x, w, b, dy, y, dx, dw, db;

  // Terms each output element sums: forward over a receptive field (+ bias); backward-input
  // over the filters and taps that touch an input pixel; backward-weight and bias over every
  // output pixel of the batch.
  size_t fwd_terms() const { return shape.kernel_h * shape.kernel_w * shape.group_in_c() + 1; }
  size_t bwd_input_terms() const { return shape.kernel_h * shape.kernel_w * shape.group_out_c(); }
  size_t bwd_weight_terms() const { return shape.batch * shape.out_h() * shape.out_w(); }
};

Status LoadConvCase(const std::string& stem, ConvCase* c) {
  ASSIGN_OR_RETURN(Fixture f, Fixture::Load(FixturePath(stem)));
  c->source = f.source();
  ASSIGN_OR_RETURN(const FixtureArray* x, f.Find("x", FixtureDtype::kFloat32, 4));
  ASSIGN_OR_RETURN(const FixtureArray* w, f.Find("w", FixtureDtype::kFloat32, 4));
  ASSIGN_OR_RETURN(std::vector<int32_t> stride, f.Ints("stride", 2));
  ASSIGN_OR_RETURN(std::vector<int32_t> padding, f.Ints("padding", 4));
  ASSIGN_OR_RETURN(std::vector<int32_t> dilation, f.Ints("dilation", 2));
  ASSIGN_OR_RETURN(std::vector<int32_t> groups, f.Ints("groups", 1));
  for (int32_t v : stride) ENSURE(v > 0, f.source(), ": stride must be positive");
  for (int32_t v : padding) ENSURE(v >= 0, f.source(), ": padding must not be negative");
  for (int32_t v : dilation) ENSURE(v > 0, f.source(), ": dilation must be positive");
  ENSURE(groups[0] > 0, f.source(), ": groups must be positive");

  Conv2dShape& s = c->shape;
  s.batch = x->dims[0];
  s.in_h = x->dims[1];
  s.in_w = x->dims[2];
  s.in_c = x->dims[3];
  s.out_c = w->dims[0];
  s.kernel_h = w->dims[1];
  s.kernel_w = w->dims[2];
  s.stride_h = stride[0];
  s.stride_w = stride[1];
  s.pad_top = padding[0];
  s.pad_left = padding[1];
  s.pad_bottom = padding[2];
  s.pad_right = padding[3];
  s.dilation_h = dilation[0];
  s.dilation_w = dilation[1];
  s.groups = groups[0];
  RETURN_IF_ERROR(s.Validate().WithContext(f.source()));

  const std::vector<size_t> in = {s.batch, s.in_h, s.in_w, s.in_c};
  const std::vector<size_t> out = {s.batch, s.out_h(), s.out_w(), s.out_c};
  const std::vector<size_t> weight = {s.out_c, s.kernel_h, s.kernel_w, s.group_in_c()};
  const std::vector<size_t> bias = {s.out_c};
  const std::pair<FixtureArray*, std::pair<const char*, std::vector<size_t>>> arrays[] = {
      {&c->x, {"x", in}},  {&c->w, {"w", weight}}, {&c->b, {"b", bias}},     {&c->dy, {"dy", out}},
      {&c->y, {"y", out}}, {&c->dx, {"dx", in}},   {&c->dw, {"dw", weight}}, {&c->db, {"db", bias}},
  };
  for (const auto& [dst, spec] : arrays) {
    ASSIGN_OR_RETURN(const FixtureArray* a, f.FindFloat(spec.first, spec.second));
    *dst = *a;
  }
  return Status::Ok();
}

// The three passes of one implementation, writing into NaN-filled buffers.
struct ConvImpl {
  std::function<void(const ConvCase&, float* y)> fwd;
  std::function<void(const ConvCase&, float* dx)> bwd_input;
  std::function<void(const ConvCase&, float* dw, float* db)> bwd_weight;
};

void CheckImpl(const std::string& name, const ConvCase& c, const ConvImpl& impl) {
  std::vector<float> y = NanBuffer(c.y.size());
  impl.fwd(c, y.data());
  ExpectGolden(name + " forward y", y, c.y, c.source, c.fwd_terms());
  if (impl.bwd_input) {
    std::vector<float> dx = NanBuffer(c.dx.size());
    impl.bwd_input(c, dx.data());
    ExpectGolden(name + " backward-input dx", dx, c.dx, c.source, c.bwd_input_terms());
  }
  if (impl.bwd_weight) {
    std::vector<float> dw = NanBuffer(c.dw.size()), db = NanBuffer(c.db.size());
    impl.bwd_weight(c, dw.data(), db.data());
    ExpectGolden(name + " backward-weight dw", dw, c.dw, c.source, c.bwd_weight_terms());
    ExpectGolden(name + " backward-weight db", db, c.db, c.source, c.bwd_weight_terms());
  }
}

ConvImpl GemmImpl(pthreadpool_t pool) {
  // One workspace per call, sized by the kernel's own query.
  auto workspace = [](const ConvCase& c) {
    return std::vector<float>(f32_conv2d_gemm_workspace_size(c.shape) / sizeof(float) + 1);
  };
  return {
      [=](const ConvCase& c, float* y) {
        std::vector<float> ws = workspace(c);
        f32_conv2d_fwd__gemm(c.shape, c.x.f32.data(), c.w.f32.data(), c.b.f32.data(), y, ws.data(),
                             pool);
      },
      [=](const ConvCase& c, float* dx) {
        std::vector<float> ws = workspace(c);
        f32_conv2d_bwd_input__gemm(c.shape, c.dy.f32.data(), c.w.f32.data(), dx, ws.data(), pool);
      },
      [=](const ConvCase& c, float* dw, float* db) {
        std::vector<float> ws = workspace(c);
        f32_conv2d_bwd_weight__gemm(c.shape, c.x.f32.data(), c.dy.f32.data(), dw, db, ws.data(),
                                    pool);
      },
  };
}

// Depthwise kernels take HWC weights: pack the fixture's OHWI weights on the way in and unpack
// the weight gradient on the way out, so the comparison is with PyTorch's OHWI dw.
ConvImpl DepthwiseImpl(Dwconv2dFwdFn fwd, Dwconv2dBwdInputFn bwd_input,
                       Dwconv2dBwdWeightFn bwd_weight, pthreadpool_t pool) {
  auto packed = [](const ConvCase& c) {
    std::vector<float> hwc(c.w.size());
    f32_dwconv2d_pack_weights(c.shape.in_c, c.shape.kernel_h, c.shape.kernel_w, c.w.f32.data(),
                              hwc.data());
    return hwc;
  };
  return {
      [=](const ConvCase& c, float* y) {
        fwd(c.shape, c.x.f32.data(), packed(c).data(), c.b.f32.data(), y, pool);
      },
      [=](const ConvCase& c, float* dx) {
        bwd_input(c.shape, c.dy.f32.data(), packed(c).data(), dx, pool);
      },
      [=](const ConvCase& c, float* dw, float* db) {
        std::vector<float> dw_hwc = NanBuffer(c.dw.size());
        bwd_weight(c.shape, c.x.f32.data(), c.dy.f32.data(), dw_hwc.data(), db, pool);
        f32_dwconv2d_unpack_weights(c.shape.in_c, c.shape.kernel_h, c.shape.kernel_w, dw_hwc.data(),
                                    dw);
      },
  };
}

class GoldenConvTest : public ::testing::TestWithParam<const char*> {
 protected:
  static void SetUpTestSuite() { pool_ = pthreadpool_create(2); }
  static void TearDownTestSuite() {
    pthreadpool_destroy(pool_);
    pool_ = nullptr;
  }
  void SetUp() override {
    const Status loaded = LoadConvCase(GetParam(), &case_);
    ASSERT_TRUE(loaded.ok()) << loaded.ToString();
  }

  static pthreadpool_t pool_;
  ConvCase case_;
};
pthreadpool_t GoldenConvTest::pool_ = nullptr;

using Conv2dGoldenTest = GoldenConvTest;
using Dwconv2dGoldenTest = GoldenConvTest;

TEST_P(Conv2dGoldenTest, Scalar) {
  CheckImpl("f32_conv2d_*__scalar", case_,
            {[](const ConvCase& c, float* y) {
               f32_conv2d_fwd__scalar(c.shape, c.x.f32.data(), c.w.f32.data(), c.b.f32.data(), y);
             },
             [](const ConvCase& c, float* dx) {
               f32_conv2d_bwd_input__scalar(c.shape, c.dy.f32.data(), c.w.f32.data(), dx);
             },
             [](const ConvCase& c, float* dw, float* db) {
               f32_conv2d_bwd_weight__scalar(c.shape, c.x.f32.data(), c.dy.f32.data(), dw, db);
             }});
}

TEST_P(Conv2dGoldenTest, Gemm) { CheckImpl("f32_conv2d_*__gemm", case_, GemmImpl(nullptr)); }

TEST_P(Conv2dGoldenTest, GemmTwoThreads) {
  ASSERT_NE(pool_, nullptr);
  CheckImpl("f32_conv2d_*__gemm (2 threads)", case_, GemmImpl(pool_));
}

// What the engine runs: conv2d_config()'s general convolution, and for depthwise shapes the
// kernels dwconv2d_kernels_for() picks.
TEST_P(Conv2dGoldenTest, Configured) {
  const Conv2dConfig& config = conv2d_config();
  CheckImpl(
      std::string("conv2d_config() ") + config.conv_name, case_,
      {[&](const ConvCase& c, float* y) {
         std::vector<float> ws(f32_conv2d_gemm_workspace_size(c.shape) / sizeof(float) + 1);
         config.fwd(c.shape, c.x.f32.data(), c.w.f32.data(), c.b.f32.data(), y, ws.data(), pool_);
       },
       [&](const ConvCase& c, float* dx) {
         std::vector<float> ws(f32_conv2d_gemm_workspace_size(c.shape) / sizeof(float) + 1);
         config.bwd_input(c.shape, c.dy.f32.data(), c.w.f32.data(), dx, ws.data(), pool_);
       },
       [&](const ConvCase& c, float* dw, float* db) {
         std::vector<float> ws(f32_conv2d_gemm_workspace_size(c.shape) / sizeof(float) + 1);
         config.bwd_weight(c.shape, c.x.f32.data(), c.dy.f32.data(), dw, db, ws.data(), pool_);
       }});
  if (case_.shape.is_depthwise()) {
    const Dwconv2dKernels& dw = dwconv2d_kernels_for(case_.shape);
    CheckImpl(std::string("dwconv2d_kernels_for() ") + config.dwconv_name, case_,
              DepthwiseImpl(dw.fwd, dw.bwd_input, dw.bwd_weight, pool_));
  }
}

TEST_P(Conv2dGoldenTest, XnnpackForward) {
  const ConvCase& c = case_;
  StatusOr<XnnConv2d> op = XnnConv2d::Create(c.shape, c.w.f32.data(), c.b.f32.data());
  ASSERT_TRUE(op.ok()) << c.source << ": " << op.status().ToString();
  std::vector<float> y = NanBuffer(c.y.size());
  const Status run = op->Forward(c.x.f32.data(), y.data(), nullptr);
  ASSERT_TRUE(run.ok()) << c.source << ": " << run.ToString();
  ExpectGolden("XnnConv2d forward y", y, c.y, c.source, c.fwd_terms());
}

INSTANTIATE_TEST_SUITE_P(PyTorch, Conv2dGoldenTest, ::testing::ValuesIn(kConvCases),
                         [](const auto& info) { return std::string(info.param); });

TEST_P(Dwconv2dGoldenTest, Scalar) {
  ASSERT_TRUE(case_.shape.is_depthwise()) << case_.source;
  CheckImpl("f32_dwconv2d_*__scalar", case_,
            DepthwiseImpl(f32_dwconv2d_fwd__scalar, f32_dwconv2d_bwd_input__scalar,
                          f32_dwconv2d_bwd_weight__scalar, pool_));
}

#if defined(__aarch64__)
TEST_P(Dwconv2dGoldenTest, Neon) {
  const Conv2dShape& s = case_.shape;
  ASSERT_TRUE(s.is_depthwise() && s.kernel_h == 3 && s.kernel_w == 3 && s.dilation_h == 1 &&
              s.dilation_w == 1 && s.stride_h == s.stride_w && (s.stride_h == 1 || s.stride_h == 2))
      << case_.source << " is not a 3x3 stride 1 or 2 depthwise case";
  if (s.stride_h == 1) {
    CheckImpl("f32_dwconv2d_*_3x3s1__neon", case_,
              DepthwiseImpl(f32_dwconv2d_fwd_3x3s1__neon, f32_dwconv2d_bwd_input_3x3s1__neon,
                            f32_dwconv2d_bwd_weight_3x3s1__neon, pool_));
  } else {
    CheckImpl("f32_dwconv2d_*_3x3s2__neon", case_,
              DepthwiseImpl(f32_dwconv2d_fwd_3x3s2__neon, f32_dwconv2d_bwd_input_3x3s2__neon,
                            f32_dwconv2d_bwd_weight_3x3s2__neon, pool_));
  }
}
#endif  // defined(__aarch64__)

INSTANTIATE_TEST_SUITE_P(PyTorch, Dwconv2dGoldenTest, ::testing::ValuesIn(kDepthwiseCases),
                         [](const auto& info) { return std::string(info.param); });

// The fixtures cover what the GEMM path special-cases: a pointwise (no im2col) shape and
// shapes that need im2col.
TEST(Conv2dGoldenCoverageTest, FixturesIncludePointwiseAndDepthwiseShapes) {
  size_t pointwise = 0, depthwise = 0;
  for (const char* stem : kConvCases) {
    ConvCase c;
    const Status loaded = LoadConvCase(stem, &c);
    ASSERT_TRUE(loaded.ok()) << loaded.ToString();
    pointwise += c.shape.is_pointwise();
    depthwise += c.shape.is_depthwise();
  }
  EXPECT_GE(pointwise, 1u);
  EXPECT_EQ(depthwise, sizeof(kDepthwiseCases) / sizeof(kDepthwiseCases[0]));
}

}  // namespace
}  // namespace golden
}  // namespace persephonee
