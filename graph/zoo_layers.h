// Building blocks of the zoo models (internal to graph/): a seeded weight initialiser and the
// conv + BatchNorm (+ ReLU) units and residual blocks the models are made of.
#ifndef PERSEPHONEE_GRAPH_ZOO_LAYERS_H_
#define PERSEPHONEE_GRAPH_ZOO_LAYERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "graph/builder.h"
#include "graph/graph.h"

namespace persephonee {
namespace zoo {

/// Deterministic random numbers (splitmix64) and the initialisations of zoo.h. Only integer
/// arithmetic and single IEEE operations, so the same seed gives the same bits everywhere.
class WeightInit {
 public:
  explicit WeightInit(uint64_t seed) : state_(seed) {}
  /// A uniform float in [-1, 1).
  float Symmetric();
  /// `n` values U(-bound, bound).
  std::vector<float> Uniform(size_t n, double bound);
  /// He uniform: `n` values U(-b, b), b = sqrt(6 / fan_in).
  std::vector<float> Kaiming(size_t n, int64_t fan_in);
  /// `n` values U(lo, hi).
  std::vector<float> Range(size_t n, float lo, float hi);

 private:
  uint64_t Next();
  uint64_t state_;
};

/// A GraphBuilder and a WeightInit, with the units the zoo models share.
class ZooBuilder {
 public:
  explicit ZooBuilder(uint64_t seed) : init_(seed) {}
  GraphBuilder& b() { return b_; }
  WeightInit& init() { return init_; }

  /// Conv2d (no bias, He-initialised) named `conv`, then BatchNorm named `bn`.
  TensorId ConvBn(const std::string& conv, const std::string& bn, TensorId x,
                  const Conv2dAttrs& attrs);
  /// A near-identity BatchNorm (see zoo.h).
  TensorId Bn(const std::string& name, TensorId x);
  /// Fully connected with PyTorch's default initialisation.
  TensorId Fc(const std::string& name, TensorId x, int32_t out_features);
  /// A basic residual block (two 3x3 convs) named `p` ("layer2.0"): conv1/bn1/relu,
  /// conv2/bn2, a shortcut (`shortcut` + ".0"/".1": 1x1 conv + BN, when the stride is not 1 or
  /// the channel count changes; identity otherwise), add, out (ReLU).
  TensorId BasicBlock(const std::string& p, TensorId x, int32_t out_channels, int32_t stride,
                      const std::string& shortcut);
  /// Channels (last dimension) of `t`.
  int32_t Channels(TensorId t) const;

 private:
  GraphBuilder b_;
  WeightInit init_;
};

}  // namespace zoo
}  // namespace persephonee

#endif  // PERSEPHONEE_GRAPH_ZOO_LAYERS_H_
