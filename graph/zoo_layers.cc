#include "graph/zoo_layers.h"

#include <cmath>

namespace persephonee {
namespace zoo {

uint64_t WeightInit::Next() {
  // splitmix64 (Steele, Lea, Flood 2014).
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

float WeightInit::Symmetric() {
  // 24 random bits -> an integer in [-2^23, 2^23) -> exactly representable, scaled by 2^-23.
  const int32_t k = static_cast<int32_t>(Next() >> 40) - (1 << 23);
  return static_cast<float>(k) * (1.0f / 8388608.0f);
}

std::vector<float> WeightInit::Uniform(size_t n, double bound) {
  const float b = static_cast<float>(bound);
  std::vector<float> v(n);
  for (float& x : v) x = Symmetric() * b;
  return v;
}

std::vector<float> WeightInit::Kaiming(size_t n, int64_t fan_in) {
  return Uniform(n, std::sqrt(6.0 / static_cast<double>(fan_in)));
}

std::vector<float> WeightInit::Range(size_t n, float lo, float hi) {
  const float half = 0.5f * (hi - lo);
  const float mid = 0.5f * (hi + lo);
  std::vector<float> v(n);
  for (float& x : v) {
    const float s = Symmetric() * half;
    x = mid + s;
  }
  return v;
}

int32_t ZooBuilder::Channels(TensorId t) const {
  Shape s = b_.shape(t);
  return s.empty() ? 0 : static_cast<int32_t>(s.back());
}

TensorId ZooBuilder::ConvBn(const std::string& conv, const std::string& bn, TensorId x,
                            const Conv2dAttrs& a) {
  const int64_t in_c = Channels(x);
  const int64_t fan_in = int64_t{a.kernel_h} * a.kernel_w * (in_c / a.groups);
  const size_t n = static_cast<size_t>(a.out_channels * fan_in);
  TensorId y = b_.Conv2d(conv, x, a, init_.Kaiming(n, fan_in > 0 ? fan_in : 1));
  return Bn(bn, y);
}

TensorId ZooBuilder::Bn(const std::string& name, TensorId x) {
  const size_t c = static_cast<size_t>(Channels(x));
  std::vector<float> gamma = init_.Range(c, 0.9f, 1.1f);
  std::vector<float> beta = init_.Range(c, -0.1f, 0.1f);
  std::vector<float> mean = init_.Range(c, -0.1f, 0.1f);
  std::vector<float> var = init_.Range(c, 0.9f, 1.1f);
  return b_.BatchNorm(name, x, std::move(gamma), std::move(beta), std::move(mean), std::move(var),
                      1e-5f);
}

TensorId ZooBuilder::Fc(const std::string& name, TensorId x, int32_t out_features) {
  const int64_t in = Channels(x);
  const double bound = 1.0 / std::sqrt(static_cast<double>(in > 0 ? in : 1));
  std::vector<float> w = init_.Uniform(static_cast<size_t>(in * out_features), bound);
  std::vector<float> bias = init_.Uniform(static_cast<size_t>(out_features), bound);
  FullyConnectedAttrs a;
  a.out_features = out_features;
  return b_.FullyConnected(name, x, a, std::move(w), std::move(bias));
}

TensorId ZooBuilder::BasicBlock(const std::string& p, TensorId x, int32_t out_channels,
                                int32_t stride, const std::string& shortcut) {
  const int32_t in_channels = Channels(x);
  TensorId y = ConvBn(p + ".conv1", p + ".bn1", x, Conv2dAttrs::Square(out_channels, 3, stride, 1));
  y = b_.Relu(p + ".relu", y);
  y = ConvBn(p + ".conv2", p + ".bn2", y, Conv2dAttrs::Square(out_channels, 3, 1, 1));
  TensorId identity = x;
  if (stride != 1 || in_channels != out_channels) {
    const std::string s = p + "." + shortcut;
    identity = ConvBn(s + ".0", s + ".1", x, Conv2dAttrs::Square(out_channels, 1, stride, 0));
  }
  y = b_.Add(p + ".add", y, identity);
  return b_.Relu(p + ".out", y);
}

}  // namespace zoo
}  // namespace persephonee
