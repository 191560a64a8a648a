// Writes the small backbones the C API tests load: `make_test_models OUT_A OUT_B` saves the
// same architecture (three strided convolutions, global pooling, a 10-class classifier, for
// 28x28x1 images) with two different random weight seeds, so that a personalisation made for
// one is foreign to the other.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "graph/builder.h"
#include "graph/model_format.h"
#include "tests/testing/test_graphs.h"

namespace persephonee {
namespace {

Status WriteBackbone(uint64_t seed, const std::string& path) {
  GraphBuilder b;
  uint64_t s = seed;
  auto w = [&](size_t n, size_t fan_in) {
    const float r = std::sqrt(6.0f / static_cast<float>(fan_in));
    return testing_graphs::RandomVector(n, ++s, -r, r);
  };
  TensorId x = b.Input("image", {1, 28, 28, 1});
  x = b.Conv2d("conv1", x, Conv2dAttrs::Square(8, 3, 2, 1, 1, Activation::kRelu), w(8 * 9, 9));
  x = b.Conv2d("conv2", x, Conv2dAttrs::Square(16, 3, 2, 1, 1, Activation::kRelu), w(16 * 72, 72));
  x = b.Conv2d("conv3", x, Conv2dAttrs::Square(32, 3, 2, 1, 1, Activation::kRelu),
               w(32 * 144, 144));
  x = b.GlobalAvgPool("gap", x);
  b.MarkOutput(b.FullyConnected("fc", x, {10, Activation::kNone}, w(10 * 32, 32)));
  ASSIGN_OR_RETURN(Graph g, b.Build());
  return SaveGraph(g, path);
}

}  // namespace
}  // namespace persephonee

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_test_models OUT_A OUT_B\n");
    return 2;
  }
  for (int i = 0; i < 2; ++i) {
    const persephonee::Status s = persephonee::WriteBackbone(7 + 100 * i, argv[1 + i]);
    if (!s.ok()) {
      std::fprintf(stderr, "make_test_models: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  return 0;
}
