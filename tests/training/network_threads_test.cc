// Network on a thread pool: the forward output, every parameter gradient and the input gradient
// of EveryOpNet are bitwise identical with no pool and with pools of 1 and 2 threads, and so are
// the parameters after two training steps whose loss and SGD update run on the same pool. The
// batches are large enough that the ReLU, Add, max-pool and global-pool nodes are cut into
// several tiles (the kernel tests cover the tiling itself), one of them odd.
#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/loss/loss.h"
#include "kernels/optim/optim.h"
#include "tests/testing/test_graphs.h"
#include "training/network.h"

namespace persephonee {
namespace {

using testing_graphs::EveryOpNet;
using testing_graphs::RandomVector;

using PoolPtr = std::unique_ptr<pthreadpool, decltype(&pthreadpool_destroy)>;

// What one run produced: every output, gradient and parameter, flattened in order.
struct Trace {
  std::vector<std::vector<float>> arrays;
  std::vector<std::string> names;

  void Add(const std::string& name, const float* data, size_t size) {
    names.push_back(name);
    arrays.emplace_back(data, data + size);
  }
};

void ExpectSameBits(const Trace& got, const Trace& want, const std::string& what) {
  ASSERT_EQ(got.arrays.size(), want.arrays.size()) << what;
  for (size_t a = 0; a < got.arrays.size(); ++a) {
    const std::vector<float>& x = got.arrays[a];
    const std::vector<float>& y = want.arrays[a];
    ASSERT_EQ(x.size(), y.size()) << what << ": " << want.names[a];
    if (std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0) continue;
    for (size_t i = 0; i < x.size(); ++i) {
      if (std::memcmp(&x[i], &y[i], sizeof(float)) != 0) {
        ADD_FAILURE() << what << ": " << want.names[a] << "[" << i << "] is " << x[i]
                      << ", with no pool " << y[i];
        break;
      }
    }
  }
}

// Forward and backward at two batch sizes, then `steps` SGD steps on a cross-entropy loss, all
// on `pool`.
Trace TrainOn(pthreadpool_t pool, int steps) {
  Trace trace;
  auto graph = EveryOpNet(31, 1, 5, /*softmax=*/true);
  EXPECT_TRUE(graph.ok()) << graph.status().ToString();
  if (!graph.ok()) return trace;
  const int64_t max_batch = 64;
  auto made = Network::Create(*graph, max_batch, pool);
  EXPECT_TRUE(made.ok()) << made.status().ToString();
  if (!made.ok()) return trace;
  Network& net = **made;
  const size_t classes = net.output_size();

  for (int64_t batch : {max_batch, int64_t{61}}) {
    const std::string at = "batch " + std::to_string(batch) + " ";
    const std::vector<float> x = RandomVector(net.input_size() * batch, 40 + batch, 0.0f, 1.0f);
    const std::vector<float> r = RandomVector(classes * batch, 50 + batch);
    std::vector<float> grad_x(x.size());
    EXPECT_TRUE(net.Forward(x.data(), batch).ok());
    trace.Add(at + "output", net.output(), classes * batch);
    EXPECT_TRUE(net.Backward(r.data(), grad_x.data()).ok());
    trace.Add(at + "input gradient", grad_x.data(), grad_x.size());
    for (const ParamRef& p : net.params()) trace.Add(at + p.name + " gradient", p.grad, p.size);
  }

  std::vector<std::vector<float>> momentum;
  for (const ParamRef& p : net.params()) momentum.emplace_back(p.size);
  SgdParams sgd;
  sgd.lr = 0.05f;
  sgd.momentum = 0.9f;
  sgd.weight_decay = 1e-4f;
  std::vector<int32_t> labels(static_cast<size_t>(max_batch));
  std::vector<float> grad(classes * max_batch);
  for (int step = 1; step <= steps; ++step) {
    const std::string at = "step " + std::to_string(step) + " ";
    const std::vector<float> x = RandomVector(net.input_size() * max_batch, 100 + step, 0.0f, 1.0f);
    for (size_t b = 0; b < labels.size(); ++b) labels[b] = static_cast<int32_t>((b * 7 + step) % 5);
    EXPECT_TRUE(net.Forward(x.data(), max_batch).ok());
    float loss = 0.0f;
    EXPECT_TRUE(SoftmaxCrossEntropy(max_batch, classes, net.output(), labels.data(), nullptr,
                                    1.0f / max_batch, nullptr, grad.data(), &loss, pool)
                    .ok());
    trace.Add(at + "loss", &loss, 1);
    EXPECT_TRUE(net.Backward(grad.data()).ok());
    for (size_t p = 0; p < net.params().size(); ++p) {
      const ParamRef& ref = net.params()[p];
      EXPECT_TRUE(SgdStep(ref.size, sgd, step, ref.data, ref.grad, momentum[p].data(), pool).ok());
    }
  }
  for (const ParamRef& p : net.params()) trace.Add("trained " + p.name, p.data, p.size);
  return trace;
}

TEST(NetworkThreadsTest, BitwiseIdenticalForAnyThreadCount) {
  const Trace want = TrainOn(nullptr, 2);
  ASSERT_GT(want.arrays.size(), 10u);
  for (size_t threads : {1, 2}) {
    PoolPtr pool(pthreadpool_create(threads), pthreadpool_destroy);
    ASSERT_NE(pool.get(), nullptr);
    ASSERT_EQ(pthreadpool_get_threads_count(pool.get()), threads);
    ExpectSameBits(TrainOn(pool.get(), 2), want, std::to_string(threads) + " threads");
  }
}

}  // namespace
}  // namespace persephonee
