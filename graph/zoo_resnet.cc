// The residual networks of the zoo: fmnist_resnet, resnet20 (CIFAR) and resnet18 (ImageNet).
#include <string>

#include "graph/zoo.h"
#include "graph/zoo_layers.h"

namespace persephonee {
namespace {

// Stages of `blocks` basic blocks: stage i has `channels[i]` channels and opens with stride
// `strides[i]`. Nodes are "layer<i+1>.<block>.*".
TensorId ResidualStages(zoo::ZooBuilder* z, TensorId x, const std::vector<int32_t>& channels,
                        const std::vector<int32_t>& strides, int blocks,
                        const std::string& shortcut) {
  for (size_t stage = 0; stage < channels.size(); ++stage) {
    for (int block = 0; block < blocks; ++block) {
      const std::string p = "layer" + std::to_string(stage + 1) + "." + std::to_string(block);
      x = z->BasicBlock(p, x, channels[stage], block == 0 ? strides[stage] : 1, shortcut);
    }
  }
  return x;
}

// GAP, then the classifier; marks its logits as the output.
StatusOr<Graph> Head(zoo::ZooBuilder* z, TensorId x, int32_t classes, const char* fc_name) {
  x = z->b().GlobalAvgPool("avgpool", x);
  x = z->Fc(fc_name, x, classes);
  z->b().MarkOutput(x);
  return z->b().Build();
}

}  // namespace

StatusOr<Graph> BuildFmnistResnet(uint64_t seed) {
  zoo::ZooBuilder z(seed);
  TensorId x = z.b().Input("image", {1, 28, 28, 1});
  x = z.ConvBn("conv1", "bn1", x, Conv2dAttrs::Square(32, 3, 1, 1));
  x = z.b().Relu("relu", x);
  x = ResidualStages(&z, x, {32, 64, 128}, {2, 2, 2}, 2, "downsample");
  return Head(&z, x, 10, "fc");
}

StatusOr<Graph> BuildResnet20(uint64_t seed) {
  zoo::ZooBuilder z(seed);
  TensorId x = z.b().Input("image", {1, 32, 32, 3});
  x = z.ConvBn("conv1", "bn1", x, Conv2dAttrs::Square(16, 3, 1, 1));
  x = z.b().Relu("relu", x);
  x = ResidualStages(&z, x, {16, 32, 64}, {1, 2, 2}, 3, "shortcut");
  return Head(&z, x, 10, "fc");
}

StatusOr<Graph> BuildResnet18(uint64_t seed) {
  zoo::ZooBuilder z(seed);
  TensorId x = z.b().Input("image", {1, 224, 224, 3});
  x = z.ConvBn("conv1", "bn1", x, Conv2dAttrs::Square(64, 7, 2, 3));
  x = z.b().Relu("relu", x);
  x = z.b().MaxPool("maxpool", x, PoolAttrs::Square(3, 2, 1));
  x = ResidualStages(&z, x, {64, 128, 256, 512}, {1, 2, 2, 2}, 2, "downsample");
  return Head(&z, x, 1000, "fc");
}

}  // namespace persephonee
