// The scalar pool oracle: shape validation, hand-computed values, an independent double-precision
// forward, and every backward against central finite differences.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/pool/pool.h"
#include "tests/kernels/pool/pool_tester.h"

namespace persephonee {
namespace {

Pool2dShape Shape(size_t in_h, size_t in_w, size_t k, size_t stride, size_t pad) {
  Pool2dShape s;
  s.in_h = in_h;
  s.in_w = in_w;
  s.kernel_h = s.kernel_w = k;
  s.stride_h = s.stride_w = stride;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = pad;
  return s;
}

void ExpectInvalid(const Pool2dShape& s, const std::string& fragment) {
  const Status status = s.Validate();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  EXPECT_NE(status.message().find(fragment), std::string::npos)
      << "message \"" << status.message() << "\" does not mention \"" << fragment << "\"";
}

TEST(Pool2dShapeTest, OutputSizes) {
  const Pool2dShape resnet = Shape(112, 112, 3, 2, 1);  // ResNet-18's stem max pool.
  ASSERT_TRUE(resnet.Validate().ok());
  EXPECT_EQ(resnet.out_h(), 56u);
  EXPECT_EQ(resnet.out_w(), 56u);
  const Pool2dShape odd = Shape(7, 9, 2, 2, 0);  // Floor: the last row and column are dropped.
  ASSERT_TRUE(odd.Validate().ok());
  EXPECT_EQ(odd.out_h(), 3u);
  EXPECT_EQ(odd.out_w(), 4u);
}

TEST(Pool2dShapeTest, RejectsBadShapes) {
  Pool2dShape s = Shape(4, 4, 2, 2, 0);
  s.batch = 0;
  ExpectInvalid(s, "batch");
  s = Shape(4, 4, 2, 2, 0);
  s.channels = 0;
  ExpectInvalid(s, "channels");
  ExpectInvalid(Shape(0, 4, 2, 2, 0), "height and width");
  ExpectInvalid(Shape(4, 4, 0, 2, 0), "kernel");
  ExpectInvalid(Shape(4, 4, 2, 0, 0), "stride");
  ExpectInvalid(Shape(2, 2, 5, 1, 1), "kernel height 5 does not fit");
  ExpectInvalid(Shape(6, 6, 2, 1, 2), "padding 2+2 must be smaller than the kernel height 2");
  s = Shape(5, 5, 3, 1, 0);
  s.pad_right = 3;
  ExpectInvalid(s, "padding 0+3 must be smaller than the kernel width 3");
  s = Shape(4, 4, 3, 3, 0);
  s.pad_bottom = 2;  // Windows start at rows 0 and 3: both hold input rows.
  EXPECT_TRUE(s.Validate().ok()) << s.Validate().ToString();
  s.pad_bottom = 3;  // Bottom padding as large as the kernel: refused.
  ExpectInvalid(s, "padding 0+3 must be smaller than the kernel height 3");
  s = Shape(70000, 70000, 2, 2, 0);
  ExpectInvalid(s, "int32");
}

TEST(GlobalPoolShapeTest, RejectsBadShapes) {
  GlobalPoolShape s;
  s.batch = 0;
  EXPECT_EQ(s.Validate().code(), StatusCode::kInvalidArgument);
  s = GlobalPoolShape();
  s.in_w = 0;
  EXPECT_EQ(s.Validate().code(), StatusCode::kInvalidArgument);
  s = GlobalPoolShape();
  s.channels = 0;
  EXPECT_EQ(s.Validate().code(), StatusCode::kInvalidArgument);
  s = GlobalPoolShape();
  EXPECT_TRUE(s.Validate().ok());
}

// A 4x4 single-channel image, pooled 3x3 with stride 2 and padding 1 (ResNet-18's geometry):
// values worked out by hand.
TEST(PoolScalarTest, HandComputedValues) {
  const std::vector<float> x = {1,  5, 2, 0,  //
                                3,  5, 4, 8,  //
                                -1, 0, 9, 9,  //
                                2,  6, 7, -3};
  Pool2dShape s = Shape(4, 4, 3, 2, 1);
  ASSERT_TRUE(s.Validate().ok());
  ASSERT_EQ(s.out_h(), 2u);
  std::vector<float> y(4);
  std::vector<int32_t> index(4);
  f32_maxpool_fwd__scalar(s, x.data(), y.data(), index.data());
  // Window (0,0): rows 0-1, cols 0-1 -> 5 first at (0,1), tie with (1,1) keeps the first.
  // Window (0,1): rows 0-1, cols 1-3 -> 8 at (1,3). Window (1,0): rows 1-3, cols 0-1 -> 6 at
  // (3,1). Window (1,1): rows 1-3, cols 1-3 -> 9 first at (2,2), tie with (2,3).
  EXPECT_EQ(y, (std::vector<float>{5, 8, 6, 9}));
  EXPECT_EQ(index, (std::vector<int32_t>{1, 7, 13, 10}));

  std::vector<float> grad(16);
  f32_maxpool_bwd__scalar(s, std::vector<float>{1, 2, 3, 4}.data(), index.data(), grad.data());
  std::vector<float> want_grad(16, 0.0f);
  want_grad[1] = 1;
  want_grad[7] = 2;
  want_grad[13] = 3;
  want_grad[10] = 4;
  EXPECT_EQ(grad, want_grad);

  // Average of window (0,0): (1 + 5 + 3 + 5) over 9 (padding counts) or over 4.
  f32_avgpool_fwd__scalar(s, x.data(), y.data());
  EXPECT_FLOAT_EQ(y[0], 14.0f / 9.0f);
  EXPECT_FLOAT_EQ(y[3], (5 + 4 + 8 + 0 + 9 + 9 + 6 + 7 - 3) / 9.0f);
  s.count_include_pad = false;
  f32_avgpool_fwd__scalar(s, x.data(), y.data());
  EXPECT_FLOAT_EQ(y[0], 14.0f / 4.0f);
  EXPECT_FLOAT_EQ(y[1], (5 + 2 + 0 + 5 + 4 + 8) / 6.0f);

  GlobalPoolShape g;
  g.in_h = 4;
  g.in_w = 4;
  float mean = 0.0f;
  f32_gavgpool_fwd__scalar(g, x.data(), &mean);
  EXPECT_FLOAT_EQ(mean, 57.0f / 16.0f);
}

// Overlapping windows (stride 1) that all pick the same input must add their gradients.
TEST(PoolScalarTest, MaxBackwardAccumulatesOverlaps) {
  const std::vector<float> x = {0, 0, 0, 0, 9, 0, 0, 0, 0};
  const Pool2dShape s = Shape(3, 3, 2, 1, 0);
  std::vector<float> y(4), grad(9);
  std::vector<int32_t> index(4);
  f32_maxpool_fwd__scalar(s, x.data(), y.data(), index.data());
  EXPECT_EQ(index, (std::vector<int32_t>{4, 4, 4, 4}));
  f32_maxpool_bwd__scalar(s, std::vector<float>{1, 2, 3, 4}.data(), index.data(), grad.data());
  EXPECT_EQ(grad, (std::vector<float>{0, 0, 0, 0, 10, 0, 0, 0, 0}));
}

TEST(PoolScalarTest, ForwardMatchesDoubleReference) {
  uint32_t seed = 1;
  for (const Pool2dShape& s : PoolTestShapes()) {
    PoolTester().shape(s).seed(seed++).TestReferenceForward();
  }
}

TEST(PoolScalarTest, MaxGradients) {
  uint32_t seed = 100;
  for (const Pool2dShape& s : PoolGradientShapes()) {
    PoolTester().shape(s).seed(seed++).TestMaxGradients(f32_maxpool_fwd__scalar,
                                                        f32_maxpool_bwd__scalar);
  }
}

TEST(PoolScalarTest, AvgGradients) {
  uint32_t seed = 200;
  for (const Pool2dShape& s : PoolGradientShapes()) {
    PoolTester().shape(s).seed(seed++).TestAvgGradients(f32_avgpool_bwd__scalar);
    PoolTester()
        .shape(s)
        .count_include_pad(!s.count_include_pad)
        .seed(seed++)
        .TestAvgGradients(f32_avgpool_bwd__scalar);
  }
}

TEST(GlobalPoolScalarTest, ForwardMatchesDoubleReference) {
  uint32_t seed = 300;
  for (const GlobalPoolShape& s : GlobalPoolTestShapes()) {
    GlobalPoolTester()
        .batch(s.batch)
        .input_size(s.in_h, s.in_w)
        .channels(s.channels)
        .seed(seed++)
        .TestReferenceForward(f32_gavgpool_fwd__scalar);
  }
}

TEST(GlobalPoolScalarTest, Gradients) {
  uint32_t seed = 400;
  for (const GlobalPoolShape& s : GlobalPoolTestShapes()) {
    GlobalPoolTester()
        .batch(s.batch)
        .input_size(s.in_h, s.in_w)
        .channels(s.channels)
        .seed(seed++)
        .TestGradients(f32_gavgpool_bwd__scalar);
  }
}

}  // namespace
}  // namespace persephonee
