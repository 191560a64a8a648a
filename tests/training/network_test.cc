#include "training/network.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/engine.h"
#include "kernels/loss/loss.h"
#include "kernels/optim/optim.h"
#include "tests/testing/test_graphs.h"

namespace persephonee {
namespace {

using testing_graphs::EveryOpNet;
using testing_graphs::RandomVector;

// L = Σ output · r, in double.
double Loss(Network& net, const std::vector<float>& x, int64_t batch, const std::vector<float>& r) {
  EXPECT_TRUE(net.Forward(x.data(), batch).ok());
  double l = 0.0;
  for (size_t i = 0; i < r.size(); ++i) l += static_cast<double>(net.output()[i]) * r[i];
  return l;
}

// Central differences on a sample of every parameter tensor and of the input.
TEST(NetworkTest, GradientsMatchFiniteDifferences) {
  auto graph = EveryOpNet(21, 1, 4, /*softmax=*/false);
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  const int64_t batch = 3;
  auto made = Network::Create(*graph, batch, nullptr);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  Network& net = **made;
  std::vector<float> x = RandomVector(net.input_size() * batch, 5, 0.0f, 1.0f);
  const std::vector<float> r = RandomVector(net.output_size() * batch, 6);
  Loss(net, x, batch, r);
  std::vector<float> grad_x(x.size());
  ASSERT_TRUE(net.Backward(r.data(), grad_x.data()).ok());
  std::vector<std::vector<float>> grads;
  for (const ParamRef& p : net.params()) grads.emplace_back(p.grad, p.grad + p.size);

  // A ReLU, ReLU6 or max-pool kink between x - eps and x + eps makes the central difference
  // meaningless there; such points show as one-sided differences that disagree, and are
  // skipped (they must stay rare).
  const float eps = 1e-3f;
  const double base = Loss(net, x, batch, r);
  int checked = 0, skipped = 0;
  auto check = [&](float* value, float analytic, const std::string& what) {
    const float saved = *value;
    *value = saved + eps;
    const double up = Loss(net, x, batch, r);
    *value = saved - eps;
    const double down = Loss(net, x, batch, r);
    *value = saved;
    const double forward = (up - base) / eps, backward = (base - down) / eps;
    const double fd = (up - down) / (2.0 * eps);
    ++checked;
    if (std::fabs(forward - backward) > 2e-3 + 1e-2 * std::fabs(fd)) {
      ++skipped;
      return;
    }
    EXPECT_NEAR(analytic, fd, 3e-3 + 3e-2 * std::fabs(fd)) << what;
  };
  for (size_t p = 0; p < net.params().size(); ++p) {
    const ParamRef& ref = net.params()[p];
    const size_t stride = std::max<size_t>(1, ref.size / 7);
    for (size_t i = 0; i < ref.size; i += stride) {
      check(ref.data + i, grads[p][i], ref.name + "[" + std::to_string(i) + "]");
    }
  }
  for (size_t i = 0; i < x.size(); i += 37) {
    check(&x[i], grad_x[i], "input[" + std::to_string(i) + "]");
  }
  EXPECT_GT(checked, 100);
  EXPECT_LE(skipped * 10, checked) << skipped << " of " << checked << " points sat on a kink";
}

TEST(NetworkTest, BatchGradientIsSumOfSampleGradients) {
  auto graph = EveryOpNet(22, 1, 3, false);
  ASSERT_TRUE(graph.ok());
  auto made = Network::Create(*graph, 4, nullptr);
  ASSERT_TRUE(made.ok());
  Network& net = **made;
  const std::vector<float> x = RandomVector(net.input_size() * 2, 8, 0.0f, 1.0f);
  const std::vector<float> r = RandomVector(net.output_size() * 2, 9);
  ASSERT_TRUE(net.Forward(x.data(), 2).ok());
  ASSERT_TRUE(net.Backward(r.data()).ok());
  std::vector<std::vector<float>> both;
  for (const ParamRef& p : net.params()) both.emplace_back(p.grad, p.grad + p.size);
  std::vector<std::vector<float>> sum(both.size());
  for (int s = 0; s < 2; ++s) {
    ASSERT_TRUE(net.Forward(x.data() + s * net.input_size(), 1).ok());
    ASSERT_TRUE(net.Backward(r.data() + s * net.output_size()).ok());
    for (size_t p = 0; p < both.size(); ++p) {
      sum[p].resize(both[p].size());
      for (size_t i = 0; i < sum[p].size(); ++i) sum[p][i] += net.params()[p].grad[i];
    }
  }
  for (size_t p = 0; p < both.size(); ++p) {
    for (size_t i = 0; i < both[p].size(); ++i) {
      ASSERT_NEAR(both[p][i], sum[p][i], 1e-5 + 1e-4 * std::fabs(sum[p][i]))
          << net.params()[p].name << "[" << i << "]";
    }
  }
}

// A learnable toy task: the class is which of three image regions is brightest.
TEST(NetworkTest, LossGoesDownAndExportRunsInTheEngine) {
  auto graph = EveryOpNet(23, 1, 3, /*softmax=*/true);
  ASSERT_TRUE(graph.ok());
  const int64_t batch = 16;
  auto made = Network::Create(*graph, batch, nullptr);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  Network& net = **made;
  ASSERT_EQ(net.output_size(), 3u) << "the final softmax is dropped: outputs are logits";
  std::vector<float> x(net.input_size() * batch);
  std::vector<int32_t> labels(batch);
  std::vector<float> grad(net.output_size() * batch);
  std::vector<std::vector<float>> momentum;
  for (const ParamRef& p : net.params()) momentum.emplace_back(p.size);
  SgdParams sgd;
  sgd.lr = 0.01f;
  sgd.momentum = 0.9f;
  double first = 0.0, last = 0.0;
  for (int step = 1; step <= 40; ++step) {
    const std::vector<float> noise = RandomVector(x.size(), 1000 + step, 0.0f, 0.5f);
    for (int64_t b = 0; b < batch; ++b) {
      labels[b] = static_cast<int32_t>((b + step) % 3);
      for (size_t i = 0; i < net.input_size(); ++i) {
        const size_t row = (i / (12 * 3)) / 4;  // three bands of 4 rows
        x[b * net.input_size() + i] = noise[b * net.input_size() + i] +
                                      (static_cast<int32_t>(row) == labels[b] ? 0.7f : 0.0f);
      }
    }
    ASSERT_TRUE(net.Forward(x.data(), batch).ok());
    const float loss = f32_softmax_xent__scalar(batch, 3, net.output(), labels.data(), nullptr,
                                                1.0f / batch, nullptr, grad.data());
    ASSERT_TRUE(std::isfinite(loss)) << "step " << step;
    if (step <= 5) first += loss / batch / 5;
    if (step > 35) last += loss / batch / 5;
    ASSERT_TRUE(net.Backward(grad.data()).ok());
    for (size_t p = 0; p < net.params().size(); ++p) {
      const ParamRef& ref = net.params()[p];
      ASSERT_TRUE(SgdStep(ref.size, sgd, step, ref.data, ref.grad, momentum[p].data()).ok());
    }
  }
  EXPECT_LT(last, 0.2 * first) << "first " << first << " last " << last;

  // The trained weights, exported, run in the inference engine to the same logits.
  auto engine = Engine::Create(net.ExportGraph(), {batch, 1, {}, true});
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  std::copy(x.begin(), x.end(), (*engine)->input());
  ASSERT_TRUE((*engine)->Run().ok());
  ASSERT_TRUE(net.Forward(x.data(), batch).ok());
  for (size_t i = 0; i < grad.size(); ++i) {
    EXPECT_NEAR((*engine)->output()[i], net.output()[i], 1e-4 + 1e-4 * std::fabs(net.output()[i]));
  }
}

TEST(NetworkTest, RejectsBadArguments) {
  auto graph = EveryOpNet(24);
  ASSERT_TRUE(graph.ok());
  EXPECT_FALSE(Network::Create(*graph, 0, nullptr).ok());
  auto made = Network::Create(*graph, 2, nullptr);
  ASSERT_TRUE(made.ok());
  std::vector<float> x((*made)->input_size() * 3);
  EXPECT_FALSE((*made)->Forward(x.data(), 3).ok());
  EXPECT_EQ((*made)->Backward(x.data()).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace persephonee
