// Shape inference: every op's output shape, and a clear error for every constraint.
#include "graph/shape_inference.h"

#include <gtest/gtest.h>

#include "graph/builder.h"
#include "tests/graph/test_graphs.h"

namespace persephonee {
namespace {

using testing_graphs::RandomFloats;

void ExpectError(const Status& s, StatusCode code, const std::string& needle) {
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), code) << s.ToString();
  EXPECT_NE(s.message().find(needle), std::string::npos)
      << "message: " << s.message() << "\nexpected to contain: " << needle;
}

// Output length along one axis by walking the window over the padded input: the oracle.
int64_t CountWindows(int64_t in, int64_t pad_lo, int64_t pad_hi, int64_t k, int64_t s, int64_t d) {
  int64_t count = 0;
  for (int64_t start = -pad_lo; start + d * (k - 1) <= in - 1 + pad_hi; start += s) ++count;
  return count;
}

TEST(ShapeInferenceTest, ConvOutputMatchesWindowCountForEveryGeometry) {
  int checked = 0;
  for (int64_t h = 1; h <= 8; ++h)
    for (int32_t k = 1; k <= 4; ++k)
      for (int32_t s = 1; s <= 3; ++s)
        for (int32_t d = 1; d <= 3; ++d)
          for (int32_t pt = 0; pt <= 2; ++pt)
            for (int32_t pb = 0; pb <= 2; ++pb) {
              GraphBuilder b;
              TensorId x = b.Input("x", {2, h, 3, 2});
              Conv2dAttrs a;
              a.out_channels = 3;
              a.kernel_h = k;
              a.stride_h = s;
              a.dilation_h = d;
              a.padding = {pt, pb, 0, 0};
              TensorId y = b.Conv2d("conv", x, a, std::vector<float>(3 * k * 2, 0.5f));
              const int64_t expect = CountWindows(h, pt, pb, k, s, d);
              const std::string where = "h=" + std::to_string(h) + " k=" + std::to_string(k) +
                                        " s=" + std::to_string(s) + " d=" + std::to_string(d) +
                                        " pad=" + std::to_string(pt) + "," + std::to_string(pb);
              if (expect == 0) {
                ExpectError(b.status(), StatusCode::kInvalidArgument, "does not fit input 'x'");
              } else {
                ASSERT_TRUE(b.status().ok()) << where << ": " << b.status().ToString();
                EXPECT_EQ(b.shape(y), (Shape{2, expect, 3, 3})) << where;
              }
              ++checked;
            }
  EXPECT_EQ(checked, 8 * 4 * 3 * 3 * 3 * 3);
}

TEST(ShapeInferenceTest, PoolOutputMatchesWindowCountForEveryGeometry) {
  for (int64_t w = 1; w <= 8; ++w)
    for (int32_t k = 1; k <= 4; ++k)
      for (int32_t s = 1; s <= 3; ++s)
        for (int32_t pl = 0; pl < k && pl <= 2; ++pl)
          for (int32_t pr = 0; pr < k && pr <= 2; ++pr)
            for (OpType op : {OpType::kMaxPool, OpType::kAvgPool}) {
              GraphBuilder b;
              TensorId x = b.Input("x", {1, 2, w, 5});
              PoolAttrs a;
              a.kernel_w = k;
              a.stride_w = s;
              a.padding = {0, 0, pl, pr};
              TensorId y = b.AddNode("pool", op, {x}, a);
              const int64_t expect = CountWindows(w, pl, pr, k, s, 1);
              if (expect == 0) {
                ExpectError(b.status(), StatusCode::kInvalidArgument, "window does not fit");
              } else {
                ASSERT_TRUE(b.status().ok()) << b.status().ToString();
                EXPECT_EQ(b.shape(y), (Shape{1, 2, expect, 5}))
                    << "w=" << w << " k=" << k << " s=" << s << " pad=" << pl << "," << pr;
              }
            }
}

TEST(ShapeInferenceTest, GroupedAndDepthwiseConvolution) {
  GraphBuilder b;
  TensorId x = b.Input("x", {3, 10, 7, 4});
  // Depthwise with channel multiplier 2: groups = 4, weights [8, 3, 3, 1].
  TensorId dw = b.Conv2d("dw", x, Conv2dAttrs::Square(8, 3, 2, 1, 4), RandomFloats(72, 1));
  // Grouped: 8 -> 6 channels in 2 groups, weights [6, 1, 1, 4].
  TensorId g = b.Conv2d("grouped", dw, Conv2dAttrs::Square(6, 1, 1, 0, 2), RandomFloats(24, 2));
  ASSERT_TRUE(b.status().ok()) << b.status().ToString();
  EXPECT_EQ(b.shape(dw), (Shape{3, 5, 4, 8}));
  EXPECT_EQ(b.shape(g), (Shape{3, 5, 4, 6}));
  b.Conv2d("bad", g, Conv2dAttrs::Square(4, 1, 1, 0, 4), RandomFloats(16, 3));
  ExpectError(b.status(), StatusCode::kInvalidArgument,
              "node 'bad' (Conv2d): input 'grouped' has 6 channels, not divisible by groups 4");
}

TEST(ShapeInferenceTest, OutChannelsMustDivideByGroups) {
  GraphBuilder b;
  TensorId x = b.Input("x", {1, 4, 4, 4});
  b.Conv2d("c", x, Conv2dAttrs::Square(6, 1, 1, 0, 4), RandomFloats(6, 1));
  ExpectError(b.status(), StatusCode::kInvalidArgument,
              "node 'c' (Conv2d): out_channels 6 is not divisible by groups 4");
}

TEST(ShapeInferenceTest, ElementwisePoolingAndReshapingOps) {
  GraphBuilder b;
  TensorId x = b.Input("x", {2, 5, 7, 3});
  EXPECT_EQ(b.shape(b.Relu("relu", x)), (Shape{2, 5, 7, 3}));
  EXPECT_EQ(b.shape(b.Relu6("relu6", x)), (Shape{2, 5, 7, 3}));
  EXPECT_EQ(b.shape(b.Add("add", x, x)), (Shape{2, 5, 7, 3}));
  EXPECT_EQ(b.shape(b.GlobalAvgPool("gap", x)), (Shape{2, 3}));
  TensorId f = b.Flatten("flat", x);
  EXPECT_EQ(b.shape(f), (Shape{2, 105}));
  EXPECT_EQ(b.shape(b.Softmax("softmax", f)), (Shape{2, 105}));
  TensorId bn = b.BatchNorm("bn", f, RandomFloats(105, 1), RandomFloats(105, 2),
                            RandomFloats(105, 3), RandomFloats(105, 4, 0.5f, 1.0f));
  EXPECT_EQ(b.shape(bn), (Shape{2, 105}));
  ASSERT_TRUE(b.status().ok()) << b.status().ToString();
}

TEST(ShapeInferenceTest, AddRequiresEqualShapes) {
  GraphBuilder b;
  TensorId x = b.Input("x", {1, 4, 4, 8});
  TensorId y = b.Input("y", {1, 4, 4, 4});
  b.Add("sum", x, y);
  ExpectError(b.status(), StatusCode::kInvalidArgument,
              "node 'sum' (Add): inputs 'x' [1,4,4,8] and 'y' [1,4,4,4] differ in shape");
}

TEST(ShapeInferenceTest, RankErrors) {
  {
    GraphBuilder b;
    b.FullyConnected("fc", b.Input("x", {1, 2, 2, 3}), FullyConnectedAttrs{4, Activation::kNone},
                     RandomFloats(48, 1));
    ExpectError(b.status(), StatusCode::kInvalidArgument,
                "node 'fc' (FullyConnected): input 'x' has shape [1,2,2,3]; expected rank 2");
  }
  {
    GraphBuilder b;
    b.GlobalAvgPool("gap", b.Input("x", {1, 3}));
    ExpectError(b.status(), StatusCode::kInvalidArgument,
                "node 'gap' (GlobalAvgPool): input 'x' has shape [1,3]; expected rank 4");
  }
  {
    GraphBuilder b;
    b.Conv2d("c", b.Input("x", {4, 4, 3}), Conv2dAttrs::Square(2, 1), RandomFloats(6, 1));
    ExpectError(b.status(), StatusCode::kInvalidArgument,
                "node 'c' (Conv2d): input 'x' has shape [4,4,3]; expected rank 4");
  }
  {
    GraphBuilder b;
    b.MaxPool("mp", b.Input("x", {4, 4}), PoolAttrs::Square(2, 2));
    ExpectError(b.status(), StatusCode::kInvalidArgument,
                "node 'mp' (MaxPool): input 'x' has shape [4,4]; expected rank 4");
  }
}

TEST(ShapeInferenceTest, InvalidAttributesAreNamed) {
  auto conv_error = [](Conv2dAttrs a, const std::string& needle) {
    GraphBuilder b;
    TensorId x = b.Input("x", {1, 6, 6, 2});
    TensorId w = b.Parameter("w", {2, 3, 3, 2}, RandomFloats(36, 1));
    b.AddNode("c", OpType::kConv2d, {x, w}, a);
    ExpectError(b.status(), StatusCode::kInvalidArgument, "node 'c' (Conv2d): " + needle);
  };
  Conv2dAttrs a = Conv2dAttrs::Square(2, 3);
  a.stride_w = 0;
  conv_error(a, "stride must be >= 1, got 1x0");
  a = Conv2dAttrs::Square(2, 3);
  a.dilation_h = 0;
  conv_error(a, "dilation must be >= 1, got 0x1");
  a = Conv2dAttrs::Square(2, 3);
  a.padding.left = -1;
  conv_error(a, "padding must be >= 0");
  a = Conv2dAttrs::Square(2, 3);
  a.groups = 0;
  conv_error(a, "groups must be >= 1, got 0");
  conv_error(Conv2dAttrs::Square(3, 3), "weights 'w' has shape [2,3,3,2], expected [3,3,3,2]");

  GraphBuilder b;
  TensorId x = b.Input("x", {1, 6, 6, 2});
  PoolAttrs p = PoolAttrs::Square(2, 2, 2);
  b.MaxPool("mp", x, p);
  ExpectError(b.status(), StatusCode::kInvalidArgument,
              "node 'mp' (MaxPool): padding must be smaller than the 2x2 window");
  GraphBuilder b2;
  p = PoolAttrs::Square(2, 2);
  p.count_include_pad = true;
  b2.MaxPool("mp", b2.Input("x", {1, 6, 6, 2}), p);
  ExpectError(b2.status(), StatusCode::kInvalidArgument, "count_include_pad applies to AvgPool");
  GraphBuilder b3;
  b3.BatchNorm("bn", b3.Input("x", {1, 2}), {1, 1}, {0, 0}, {0, 0}, {1, 1}, 0.0f);
  ExpectError(b3.status(), StatusCode::kInvalidArgument,
              "node 'bn' (BatchNorm): epsilon must be finite and > 0, got 0");
}

TEST(ShapeInferenceTest, ParameterShapesAreCheckedAgainstTheInput) {
  // Parameters built by hand, with the wrong sizes, through the general AddNode.
  GraphBuilder b;
  TensorId x = b.Input("x", {1, 4, 4, 4});
  TensorId g = b.Parameter("g", {3}, {1, 1, 1});
  b.AddNode("bn", OpType::kBatchNorm, {x, g, g, g, g}, BatchNormAttrs{});
  ExpectError(b.status(), StatusCode::kInvalidArgument,
              "node 'bn' (BatchNorm): input 'x' has 4 channels, gamma 'g' has shape [3]");

  GraphBuilder c;
  x = c.Input("x", {1, 4, 4, 4});
  TensorId w = c.Parameter("w", {2, 1, 1, 4}, RandomFloats(8, 1));
  TensorId bias = c.Parameter("bias", {3}, RandomFloats(3, 2));
  c.AddNode("conv", OpType::kConv2d, {x, w, bias}, Conv2dAttrs::Square(2, 1));
  ExpectError(c.status(), StatusCode::kInvalidArgument,
              "node 'conv' (Conv2d): bias 'bias' has shape [3], expected [2]");

  GraphBuilder d;
  x = d.Input("x", {2, 6});
  w = d.Parameter("w", {4, 6}, RandomFloats(24, 1));
  d.AddNode("fc", OpType::kFullyConnected, {x, w}, FullyConnectedAttrs{5, Activation::kNone});
  ExpectError(d.status(), StatusCode::kInvalidArgument,
              "node 'fc' (FullyConnected): weights 'w' has shape [4,6], expected [5,6]");
}

TEST(ShapeInferenceTest, HugeOutputsAreRejected) {
  GraphBuilder b;
  TensorId x = b.Input("x", {1, 1, 1, 1});
  Conv2dAttrs a = Conv2dAttrs::Square(1 << 20, 1);
  a.padding = Padding::Same(1 << 20);
  TensorId w = b.Parameter("w", {1 << 20, 1, 1, 1}, std::vector<float>(1 << 20, 0.0f));
  b.AddNode("c", OpType::kConv2d, {x, w}, a);
  ExpectError(b.status(), StatusCode::kInvalidArgument,
              "node 'c' (Conv2d): output shape [1,2097153,2097153,1048576] is empty or has more "
              "than 2^40 elements");
}

}  // namespace
}  // namespace persephonee
