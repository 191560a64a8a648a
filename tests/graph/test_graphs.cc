#include "tests/graph/test_graphs.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "graph/builder.h"

namespace persephonee {
namespace testing_graphs {

std::vector<float> RandomFloats(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

StatusOr<Graph> EveryOpGraph(uint32_t seed) {
  GraphBuilder b;
  const uint32_t s = seed * 100;
  TensorId x = b.Input("image", {2, 9, 9, 3});
  Conv2dAttrs c1 = Conv2dAttrs::Square(8, 3);
  c1.kernel_w = 2;
  c1.stride_h = 2;
  c1.padding = {1, 0, 0, 1};
  TensorId y = b.Conv2d("c1", x, c1, RandomFloats(8 * 3 * 2 * 3, s + 1), RandomFloats(8, s + 2));
  y = b.BatchNorm("bn1", y, RandomFloats(8, s + 3, 0.5f, 1.5f), RandomFloats(8, s + 4),
                  RandomFloats(8, s + 5), RandomFloats(8, s + 6, 0.5f, 2.0f), 1e-3f);
  y = b.Relu6("r1", y);
  Conv2dAttrs dw = Conv2dAttrs::Square(8, 3, 1, 2, /*groups=*/8, Activation::kRelu);
  dw.dilation_h = dw.dilation_w = 2;
  TensorId z = b.Conv2d("dw", y, dw, RandomFloats(8 * 3 * 3, s + 7), RandomFloats(8, s + 8));
  y = b.Add("add", y, z);
  PoolAttrs mp = PoolAttrs::Square(2, 1);
  mp.padding = {0, 1, 1, 0};
  TensorId m = b.MaxPool("mp", y, mp);
  PoolAttrs ap = PoolAttrs::Square(3, 2, 1);
  ap.count_include_pad = true;
  TensorId a = b.AvgPool("ap", m, ap);
  TensorId f = b.Flatten("flat", a);
  FullyConnectedAttrs fc1{5, Activation::kRelu6};
  const int64_t features = b.shape(f).empty() ? 0 : b.shape(f)[1];
  f = b.FullyConnected("fc1", f, fc1, RandomFloats(static_cast<size_t>(5 * features), s + 9),
                       RandomFloats(5, s + 10));
  b.MarkOutput(b.Softmax("prob", f));
  TensorId g = b.GlobalAvgPool("gap", m);
  g = b.FullyConnected("fc2", g, FullyConnectedAttrs{4, Activation::kNone},
                       RandomFloats(4 * 8, s + 11));
  b.MarkOutput(b.Relu("r2", g));
  return b.Build();
}

namespace {

double Activate(double v, Activation a) {
  switch (a) {
    case Activation::kRelu:
      return std::max(v, 0.0);
    case Activation::kRelu6:
      return std::min(std::max(v, 0.0), 6.0);
    case Activation::kNone:
      break;
  }
  return v;
}

std::vector<double> ToDouble(const std::vector<float>& v) { return {v.begin(), v.end()}; }

}  // namespace

std::map<std::string, std::vector<double>> EvaluateReference(
    const Graph& g, const std::map<std::string, std::vector<float>>& inputs) {
  std::map<std::string, std::vector<double>> values;
  for (const Tensor& t : g.tensors()) {
    if (t.kind == TensorKind::kParameter) values[t.name] = ToDouble(t.data);
    if (t.kind == TensorKind::kInput) values[t.name] = ToDouble(inputs.at(t.name));
  }
  for (const Node& n : g.nodes()) {
    const Tensor& xt = g.tensor(n.inputs[0]);
    const std::vector<double>& x = values.at(xt.name);
    const Shape& xs = xt.shape;
    const Shape& os = g.tensor(n.output).shape;
    std::vector<double> y(static_cast<size_t>(NumElements(os)), 0.0);
    auto param = [&](size_t i) -> const std::vector<double>& {
      return values.at(g.tensor(n.inputs[i]).name);
    };
    switch (n.op) {
      case OpType::kConv2d: {
        const Conv2dAttrs& a = *n.conv2d();
        const std::vector<double>& w = param(1);
        const std::vector<double>* bias = n.inputs.size() > 2 ? &param(2) : nullptr;
        const int64_t C = xs[3], H = xs[1], W = xs[2], OC = os[3];
        const int64_t cg = C / a.groups, og = OC / a.groups;
        for (int64_t b = 0; b < os[0]; ++b)
          for (int64_t oh = 0; oh < os[1]; ++oh)
            for (int64_t ow = 0; ow < os[2]; ++ow)
              for (int64_t oc = 0; oc < OC; ++oc) {
                double acc = bias ? (*bias)[static_cast<size_t>(oc)] : 0.0;
                const int64_t group = oc / og;
                for (int64_t kh = 0; kh < a.kernel_h; ++kh)
                  for (int64_t kw = 0; kw < a.kernel_w; ++kw) {
                    const int64_t ih = oh * a.stride_h - a.padding.top + kh * a.dilation_h;
                    const int64_t iw = ow * a.stride_w - a.padding.left + kw * a.dilation_w;
                    if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                    for (int64_t i = 0; i < cg; ++i) {
                      acc += x[static_cast<size_t>(((b * H + ih) * W + iw) * C + group * cg + i)] *
                             w[static_cast<size_t>(((oc * a.kernel_h + kh) * a.kernel_w + kw) * cg +
                                                   i)];
                    }
                  }
                y[static_cast<size_t>(((b * os[1] + oh) * os[2] + ow) * OC + oc)] =
                    Activate(acc, a.activation);
              }
        break;
      }
      case OpType::kBatchNorm: {
        const double eps = n.batch_norm()->epsilon;
        const size_t C = static_cast<size_t>(xs.back());
        const std::vector<double>& gamma = param(1);
        const std::vector<double>& beta = param(2);
        const std::vector<double>& mean = param(3);
        const std::vector<double>& var = param(4);
        for (size_t i = 0; i < x.size(); ++i) {
          const size_t c = i % C;
          y[i] = gamma[c] * (x[i] - mean[c]) / std::sqrt(var[c] + eps) + beta[c];
        }
        break;
      }
      case OpType::kRelu:
      case OpType::kRelu6:
        for (size_t i = 0; i < x.size(); ++i) {
          y[i] = Activate(x[i], n.op == OpType::kRelu ? Activation::kRelu : Activation::kRelu6);
        }
        break;
      case OpType::kAdd: {
        const std::vector<double>& x2 = values.at(g.tensor(n.inputs[1]).name);
        for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] + x2[i];
        break;
      }
      case OpType::kMaxPool:
      case OpType::kAvgPool: {
        const PoolAttrs& a = *n.pool();
        const int64_t H = xs[1], W = xs[2], C = xs[3];
        for (int64_t b = 0; b < os[0]; ++b)
          for (int64_t oh = 0; oh < os[1]; ++oh)
            for (int64_t ow = 0; ow < os[2]; ++ow)
              for (int64_t c = 0; c < C; ++c) {
                double best = -INFINITY, sum = 0.0;
                int count = 0;
                for (int64_t kh = 0; kh < a.kernel_h; ++kh)
                  for (int64_t kw = 0; kw < a.kernel_w; ++kw) {
                    const int64_t ih = oh * a.stride_h - a.padding.top + kh;
                    const int64_t iw = ow * a.stride_w - a.padding.left + kw;
                    if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                    const double v = x[static_cast<size_t>(((b * H + ih) * W + iw) * C + c)];
                    best = std::max(best, v);
                    sum += v;
                    ++count;
                  }
                const double divisor = a.count_include_pad ? a.kernel_h * a.kernel_w : count;
                y[static_cast<size_t>(((b * os[1] + oh) * os[2] + ow) * C + c)] =
                    n.op == OpType::kMaxPool ? best : sum / divisor;
              }
        break;
      }
      case OpType::kGlobalAvgPool: {
        const int64_t HW = xs[1] * xs[2], C = xs[3];
        for (int64_t b = 0; b < xs[0]; ++b)
          for (int64_t c = 0; c < C; ++c) {
            double sum = 0.0;
            for (int64_t p = 0; p < HW; ++p) sum += x[static_cast<size_t>((b * HW + p) * C + c)];
            y[static_cast<size_t>(b * C + c)] = sum / static_cast<double>(HW);
          }
        break;
      }
      case OpType::kFlatten:
        y = x;
        break;
      case OpType::kFullyConnected: {
        const FullyConnectedAttrs& a = *n.fully_connected();
        const int64_t in = xs[1];
        const std::vector<double>& w = param(1);
        const std::vector<double>* bias = n.inputs.size() > 2 ? &param(2) : nullptr;
        for (int64_t b = 0; b < os[0]; ++b)
          for (int64_t o = 0; o < a.out_features; ++o) {
            double acc = bias ? (*bias)[static_cast<size_t>(o)] : 0.0;
            for (int64_t i = 0; i < in; ++i) {
              acc += x[static_cast<size_t>(b * in + i)] * w[static_cast<size_t>(o * in + i)];
            }
            y[static_cast<size_t>(b * a.out_features + o)] = Activate(acc, a.activation);
          }
        break;
      }
      case OpType::kSoftmax: {
        const size_t C = static_cast<size_t>(xs.back());
        for (size_t row = 0; row < x.size() / C; ++row) {
          double m = -INFINITY, sum = 0.0;
          for (size_t c = 0; c < C; ++c) m = std::max(m, x[row * C + c]);
          for (size_t c = 0; c < C; ++c) sum += std::exp(x[row * C + c] - m);
          for (size_t c = 0; c < C; ++c) y[row * C + c] = std::exp(x[row * C + c] - m) / sum;
        }
        break;
      }
    }
    values[g.tensor(n.output).name] = std::move(y);
  }
  return values;
}

}  // namespace testing_graphs
}  // namespace persephonee
