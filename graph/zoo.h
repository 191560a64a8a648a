// The model zoo: reference networks with seeded random weights, built as Graphs.
//
// Weights are deterministic for a seed (the same bits on every machine): convolutions use He
// (Kaiming) uniform initialisation for ReLU networks, U(-b, b) with b = sqrt(6 / fan_in) (so
// the variance is 2 / fan_in); fully-connected layers PyTorch's default U(-1/sqrt(in),
// 1/sqrt(in)) for weights and bias; every BatchNorm is near the identity (gamma in [0.9, 1.1],
// beta and running_mean in [-0.1, 0.1], running_var in [0.9, 1.1], epsilon 1e-5), so folding
// and engine tests exercise every parameter. Convolutions before a BatchNorm have no bias.
//
// Node names follow torchvision's module names (resnet18: "layer2.0.conv1", "layer2.0.bn1",
// "layer2.0.downsample.0"; mobilenet_v2: "features.4.conv.1.0", "classifier.1"), so the
// parameter tensors carry PyTorch state_dict keys ("layer2.0.conv1.weight") and pretrained
// weights can be brought in by name (transposed from OIHW to OHWI). Nodes PyTorch has no module
// for are named "<block>.relu" (the block's inner ReLU), "<block>.add" and "<block>.out" (a
// residual block's final ReLU), and "avgpool". The graphs end with the classifier's logits (no
// Softmax), batch 1; use SetBatchSize() for another batch.
#ifndef PERSEPHONEE_GRAPH_ZOO_H_
#define PERSEPHONEE_GRAPH_ZOO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"

namespace persephonee {

/// What the zoo says about one of its models.
struct ZooModelInfo {
  std::string name;         ///< "fmnist_resnet", "resnet20", "mobilenet_v2", "resnet18".
  std::string description;  ///< One line.
  Shape input_shape;        ///< NHWC, batch 1.
  int64_t num_classes = 0;
  /// Nodes that end each stage (the natural places for early exits), in execution order.
  std::vector<std::string> stage_outputs;
};

/// Every zoo model, in a fixed order.
const std::vector<ZooModelInfo>& ZooModels();

/// The names of ZooModels(), comma-separated: "fmnist_resnet, resnet20, ...".
std::string ZooModelNames();

/// The info of the zoo model `name`; kNotFound listing the valid names otherwise.
StatusOr<ZooModelInfo> FindZooModel(const std::string& name);

/// Builds zoo model `name` with weights drawn from `seed`; kNotFound listing the valid names if
/// there is no such model.
StatusOr<Graph> BuildZooModel(const std::string& name, uint64_t seed = 1);

/// The individual builders.
///
/// Fashion-MNIST ResNet: 28x28x1 in, 10 classes. A 3x3 stem of 32 channels at 28x28, then three
/// stages of two basic residual blocks with 32, 64 and 128 channels, each stage opening with a
/// stride-2 block (14x14, 7x7, 4x4) whose shortcut is a 1x1 stride-2 conv + BatchNorm; global
/// average pool, fully connected. About 22.5 M MACs and 0.70 M parameters.
StatusOr<Graph> BuildFmnistResnet(uint64_t seed);
/// CIFAR ResNet-20 (He et al. 2016): 32x32x3 in, 10 classes; stages of three blocks with 16, 32
/// and 64 channels. Where the channel count changes the shortcut is a 1x1 conv + BatchNorm
/// (option B) rather than the paper's zero-padded identity (option A), which this IR has no op
/// for: +2,752 parameters and +0.26 M MACs over the paper's 0.27 M and 40.55 M.
StatusOr<Graph> BuildResnet20(uint64_t seed);
/// MobileNetV2 (width 1.0, torchvision's layout): 224x224x3 in, 1000 classes.
StatusOr<Graph> BuildMobilenetV2(uint64_t seed);
/// ResNet-18 (torchvision's layout): 224x224x3 in, 1000 classes.
StatusOr<Graph> BuildResnet18(uint64_t seed);

}  // namespace persephonee

#endif  // PERSEPHONEE_GRAPH_ZOO_H_
