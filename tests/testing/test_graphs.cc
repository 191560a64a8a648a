#include "tests/testing/test_graphs.h"

#include <cmath>
#include <random>

#include "graph/builder.h"

namespace persephonee {
namespace testing_graphs {

std::vector<float> RandomVector(size_t n, uint64_t seed, float lo, float hi) {
  std::mt19937_64 rng(seed);
  std::vector<float> v(n);
  for (float& x : v) {
    x = lo + (hi - lo) * static_cast<float>(static_cast<double>(rng() >> 11) * 0x1.0p-53);
  }
  return v;
}

StatusOr<Graph> EveryOpNet(uint64_t seed, int64_t batch, int classes, bool softmax) {
  GraphBuilder b;
  uint64_t s = seed * 1000;
  auto he = [&](size_t n, size_t fan_in) {
    const float r = std::sqrt(6.0f / static_cast<float>(fan_in));
    return RandomVector(n, ++s, -r, r);
  };
  TensorId x = b.Input("image", {batch, 12, 12, 3});
  const std::vector<float> p1 = he(8 * 9 * 3, 27);
  x = b.Conv2d("stem", x, Conv2dAttrs::Square(8, 3, 2, 1), p1);
  std::vector<float> gamma = RandomVector(8, ++s, 0.5f, 1.5f);
  std::vector<float> beta = RandomVector(8, ++s, -0.2f, 0.2f);
  std::vector<float> mean = RandomVector(8, ++s, -0.1f, 0.1f);
  std::vector<float> var = RandomVector(8, ++s, 0.5f, 1.5f);
  x = b.BatchNorm("stem_bn", x, gamma, beta, mean, var);
  const std::vector<float> p2 = he(8 * 9 * 8, 72);
  const std::vector<float> p3 = RandomVector(8, ++s, -0.1f, 0.1f);
  x = b.Relu("stem_relu", x);  // [b,6,6,8]
  TensorId r = b.Conv2d("block_conv1", x, Conv2dAttrs::Square(8, 3, 1, 1), p2, p3);
  r = b.Relu6("block_relu6", r);
  const std::vector<float> p4 = he(8 * 8, 8);
  const std::vector<float> p5 = RandomVector(8, ++s, -0.1f, 0.1f);
  r = b.Conv2d("block_conv2", r, Conv2dAttrs::Square(8, 1), p4, p5);
  x = b.Add("block_add", x, r);
  x = b.Relu("block_relu", x);
  const std::vector<float> p6 = he(8 * 9, 9);
  const std::vector<float> p7 = RandomVector(8, ++s, -0.1f, 0.1f);
  TensorId d = b.Conv2d("dw", x, Conv2dAttrs::Square(8, 3, 1, 1, /*groups=*/8), p6, p7);
  const std::vector<float> p8 = he(16 * 32, 32);
  const std::vector<float> p9 = RandomVector(16, ++s, -0.1f, 0.1f);
  TensorId m = b.MaxPool("maxpool", d, PoolAttrs::Square(2, 2));  // [b,3,3,8]
  TensorId a = b.AvgPool("avgpool", m, PoolAttrs::Square(2, 1));  // [b,2,2,8]
  TensorId f = b.Flatten("flatten", a);                           // [b,32]
  TensorId g = b.GlobalAvgPool("gap", x);                         // [b,8]
  TensorId h = b.FullyConnected("fc1", f, {16, Activation::kRelu}, p8, p9);
  const std::vector<float> p10 = he(16 * 8, 8);
  TensorId h2 = b.FullyConnected("fc_gap", g, {16, Activation::kNone}, p10);
  TensorId sum = b.Add("merge", h, h2);
  const std::vector<float> p11 = he(static_cast<size_t>(classes) * 16, 16);
  const std::vector<float> p12 = RandomVector(static_cast<size_t>(classes), ++s, -0.1f, 0.1f);
  TensorId logits = b.FullyConnected("classifier", sum, {classes, Activation::kNone}, p11, p12);
  if (softmax) {
    b.MarkOutput(b.Softmax("probs", logits));
  } else {
    b.MarkOutput(logits);
  }
  return b.Build();
}

Graph NarrowImageBackbone() {
  uint64_t seed = 7;
  auto he = [&](size_t n, int fan_in) {
    const float r = std::sqrt(6.0f / static_cast<float>(fan_in));
    return RandomVector(n, ++seed, -r, r);
  };
  GraphBuilder b;
  TensorId x = b.Input("image", {1, 28, 28, 1});
  int in = 1;
  const struct { int out, stride; } convs[] = {{8, 1}, {16, 2}, {16, 1}, {32, 2}};
  for (size_t i = 0; i < 4; ++i) {
    const std::string n = "conv" + std::to_string(i + 1);
    x = b.Conv2d(n, x, Conv2dAttrs::Square(convs[i].out, 3, convs[i].stride, 1),
                 he(static_cast<size_t>(convs[i].out * 9 * in), 9 * in),
                 std::vector<float>(static_cast<size_t>(convs[i].out), 0.0f));
    x = b.Relu(n + ".relu", x);
    in = convs[i].out;
  }
  x = b.GlobalAvgPool("avgpool", x);
  x = b.FullyConnected("fc", x, FullyConnectedAttrs{10}, he(10 * 32, 32),
                       std::vector<float>(10, 0.0f));
  b.MarkOutput(x);
  return b.Build().value();
}

}  // namespace testing_graphs
}  // namespace persephonee
