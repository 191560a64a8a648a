// The XNNPACK pooling operators against the scalar oracle, and their errors as Status.
#include "kernels/pool/xnnpack.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "tests/kernels/pool/pool_tester.h"

namespace persephonee {
namespace {

TEST(XnnPoolTest, MaxForward) {
  uint32_t seed = 1;
  for (const Pool2dShape& s : PoolTestShapes()) {
    if (s.kernel_h * s.kernel_w == 1) continue;  // XNNPACK refuses 1x1 windows (tested below).
    PoolTester().shape(s).seed(seed++).TestXnnMaxForward();
  }
}

// Both divisors: XNNPACK's own (taps inside the input) and PyTorch's (the whole window), which
// the wrapper gets by rescaling the padded windows.
TEST(XnnPoolTest, AvgForward) {
  uint32_t seed = 1000;
  for (const Pool2dShape& s : PoolTestShapes()) {
    if (s.kernel_h * s.kernel_w == 1) continue;
    PoolTester().shape(s).count_include_pad(true).seed(seed++).TestXnnAvgForward();
    PoolTester().shape(s).count_include_pad(false).seed(seed++).TestXnnAvgForward();
  }
}

TEST(XnnPoolTest, GlobalAvgForward) {
  uint32_t seed = 2000;
  for (const GlobalPoolShape& s : GlobalPoolTestShapes()) {
    GlobalPoolTester()
        .batch(s.batch)
        .input_size(s.in_h, s.in_w)
        .channels(s.channels)
        .seed(seed++)
        .TestXnnForward();
  }
}

Pool2dShape Small() {
  Pool2dShape s;
  s.in_h = s.in_w = 4;
  s.channels = 3;
  s.kernel_h = s.kernel_w = 2;
  s.stride_h = s.stride_w = 2;
  return s;
}

TEST(XnnPoolTest, RejectsInvalidShapes) {
  Pool2dShape s = Small();
  s.stride_h = 0;
  auto max = XnnMaxPool2d::Create(s);
  ASSERT_FALSE(max.ok());
  EXPECT_EQ(max.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(max.status().message().find("XnnMaxPool2d"), std::string::npos)
      << max.status().message();
  auto avg = XnnAvgPool2d::Create(s);
  ASSERT_FALSE(avg.ok());
  EXPECT_EQ(avg.status().code(), StatusCode::kInvalidArgument);
  GlobalPoolShape g;
  g.channels = 0;
  auto global = XnnGlobalAvgPool::Create(g);
  ASSERT_FALSE(global.ok());
  EXPECT_EQ(global.status().code(), StatusCode::kInvalidArgument);
}

TEST(XnnPoolTest, OneByOneWindowIsUnimplemented) {
  Pool2dShape s = Small();
  s.kernel_h = s.kernel_w = 1;
  auto max = XnnMaxPool2d::Create(s);
  ASSERT_FALSE(max.ok());
  EXPECT_EQ(max.status().code(), StatusCode::kUnimplemented) << max.status().ToString();
  auto avg = XnnAvgPool2d::Create(s);
  ASSERT_FALSE(avg.ok());
  EXPECT_EQ(avg.status().code(), StatusCode::kUnimplemented) << avg.status().ToString();
}

TEST(XnnPoolTest, RunBeforeSetupAndBadBuffers) {
  auto max = XnnMaxPool2d::Create(Small());
  ASSERT_TRUE(max.ok()) << max.status().ToString();
  EXPECT_EQ(max->Run(nullptr).code(), StatusCode::kFailedPrecondition);
  std::vector<float> x(Small().input_size()), y(Small().output_size());
  EXPECT_EQ(max->Setup(1, nullptr, y.data(), nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(max->Setup(0, x.data(), y.data(), nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(max->Run(nullptr).code(), StatusCode::kFailedPrecondition);

  auto avg = XnnAvgPool2d::Create(Small());
  ASSERT_TRUE(avg.ok()) << avg.status().ToString();
  EXPECT_EQ(avg->Run(nullptr).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(avg->Setup(1, x.data(), nullptr, nullptr).code(), StatusCode::kInvalidArgument);

  GlobalPoolShape g;
  g.in_h = g.in_w = 2;
  auto global = XnnGlobalAvgPool::Create(g);
  ASSERT_TRUE(global.ok()) << global.status().ToString();
  EXPECT_EQ(global->Run(nullptr).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(global->Setup(1, nullptr, y.data(), nullptr).code(), StatusCode::kInvalidArgument);
}

TEST(XnnPoolTest, MovedFromOperatorFailsCleanly) {
  auto created = XnnMaxPool2d::Create(Small());
  ASSERT_TRUE(created.ok());
  XnnMaxPool2d op = std::move(created).value();
  std::vector<float> x(Small().input_size(), 1.0f), y(Small().output_size());
  ASSERT_TRUE(op.Forward(x.data(), y.data(), nullptr).ok());
  XnnMaxPool2d other = std::move(op);
  EXPECT_EQ(op.Run(nullptr).code(), StatusCode::kFailedPrecondition);  // NOLINT: use after move
  EXPECT_TRUE(other.Run(nullptr).ok());
  EXPECT_EQ(y, std::vector<float>(y.size(), 1.0f));
}

}  // namespace
}  // namespace persephonee
