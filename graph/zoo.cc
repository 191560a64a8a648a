#include "graph/zoo.h"

namespace persephonee {

const std::vector<ZooModelInfo>& ZooModels() {
  static const std::vector<ZooModelInfo> models = {
      {"fmnist_resnet",
       "Fashion-MNIST residual network: 3 stages of 2 blocks (32/64/128 ch), ~22.5 M MACs",
       {1, 28, 28, 1},
       10,
       {"layer1.1.out", "layer2.1.out", "layer3.1.out"}},
      {"resnet20",
       "CIFAR ResNet-20 (He et al. 2016), 3 stages of 3 blocks (16/32/64 ch), ~41 M MACs",
       {1, 32, 32, 3},
       10,
       {"layer1.2.out", "layer2.2.out", "layer3.2.out"}},
      {"mobilenet_v2",
       "MobileNetV2 width 1.0 (Sandler et al. 2018), ImageNet 224x224, ~300 M MACs",
       {1, 224, 224, 3},
       1000,
       {"features.3.add", "features.6.add", "features.10.add", "features.13.add", "features.16.add",
        "features.18.2"}},
      {"resnet18",
       "ResNet-18 (He et al. 2016), ImageNet 224x224, ~1.82 G MACs",
       {1, 224, 224, 3},
       1000,
       {"layer1.1.out", "layer2.1.out", "layer3.1.out", "layer4.1.out"}},
  };
  return models;
}

std::string ZooModelNames() {
  std::string names;
  for (const ZooModelInfo& m : ZooModels()) names += (names.empty() ? "" : ", ") + m.name;
  return names;
}

StatusOr<ZooModelInfo> FindZooModel(const std::string& name) {
  for (const ZooModelInfo& m : ZooModels()) {
    if (m.name == name) return m;
  }
  return Error(StatusCode::kNotFound, "no zoo model named '", name,
               "'; the zoo has: ", ZooModelNames());
}

StatusOr<Graph> BuildZooModel(const std::string& name, uint64_t seed) {
  RETURN_IF_ERROR(FindZooModel(name).status());
  if (name == "fmnist_resnet") return BuildFmnistResnet(seed);
  if (name == "resnet20") return BuildResnet20(seed);
  if (name == "mobilenet_v2") return BuildMobilenetV2(seed);
  return BuildResnet18(seed);
}

}  // namespace persephonee
