// Small graphs with seeded random weights for engine and training tests.
#ifndef PERSEPHONEE_TESTS_TESTING_TEST_GRAPHS_H_
#define PERSEPHONEE_TESTS_TESTING_TEST_GRAPHS_H_

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"

namespace persephonee {
namespace testing_graphs {

/// A tiny network with every op the engine and the trainer run: a strided conv + BatchNorm +
/// ReLU, a residual block (conv, ReLU6, conv, add, ReLU), a depthwise 3x3 conv, max pool,
/// average pool, a second branch through global average pooling, flatten, two fully-connected
/// layers and, if `softmax`, a final softmax. Input [batch, 12, 12, 3], `classes` outputs.
StatusOr<Graph> EveryOpNet(uint64_t seed, int64_t batch = 1, int classes = 5, bool softmax = true);

/// `n` uniform values in [lo, hi) from a fixed-seed generator.
std::vector<float> RandomVector(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f);

/// A narrow four-conv network for 28x28x1 images (8, 16, 16, 32 channels, ReLU, global average
/// pooling, a 10-class classifier), He-uniform weights from a fixed seed: whole pipelines
/// (personalisation, fine-tuning, early-exit inference) in seconds even in an unoptimised build
/// under qemu, where zoo:fmnist_resnet (22 M MACs per image) takes many minutes.
Graph NarrowImageBackbone();

}  // namespace testing_graphs
}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_TESTING_TEST_GRAPHS_H_
