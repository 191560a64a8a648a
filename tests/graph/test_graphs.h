// Small graphs and a naive reference evaluator shared by the graph tests.
#ifndef PERSEPHONEE_TESTS_GRAPH_TEST_GRAPHS_H_
#define PERSEPHONEE_TESTS_GRAPH_TEST_GRAPHS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"

namespace persephonee {
namespace testing_graphs {

/// `n` floats uniform in [lo, hi) from a seeded std::mt19937.
std::vector<float> RandomFloats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f);

/// A small graph ([2,9,9,3] in) that uses every op and every attribute: conv with bias,
/// asymmetric padding and unequal strides, BatchNorm, ReLU6, a dilated depthwise conv with a
/// fused ReLU, a residual Add, MaxPool with asymmetric padding, AvgPool counting padding,
/// GlobalAvgPool, Flatten, FullyConnected (fused ReLU6, and no bias), ReLU and Softmax; two
/// outputs.
StatusOr<Graph> EveryOpGraph(uint32_t seed);

/// Runs `graph` naively in double precision (plain loops straight from the op definitions in
/// graph.h) and returns every tensor's value by name. `inputs` maps input names to data.
std::map<std::string, std::vector<double>> EvaluateReference(
    const Graph& graph, const std::map<std::string, std::vector<float>>& inputs);

}  // namespace testing_graphs
}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_GRAPH_TEST_GRAPHS_H_
