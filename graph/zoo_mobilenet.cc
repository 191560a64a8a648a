// MobileNetV2 (Sandler et al. 2018), width 1.0, in torchvision's layout and module names.
#include <string>

#include "graph/zoo.h"
#include "graph/zoo_layers.h"

namespace persephonee {
namespace {

// Conv + BN + ReLU6 as torchvision's Conv2dNormActivation named `p`: p.0, p.1, p.2.
TensorId ConvBnRelu6(zoo::ZooBuilder* z, const std::string& p, TensorId x,
                     const Conv2dAttrs& attrs) {
  TensorId y = z->ConvBn(p + ".0", p + ".1", x, attrs);
  return z->b().Relu6(p + ".2", y);
}

// An inverted residual block "features.<i>": 1x1 expansion (unless t == 1), 3x3 depthwise,
// 1x1 linear projection; a residual Add when the stride is 1 and the channels are unchanged.
TensorId InvertedResidual(zoo::ZooBuilder* z, int index, TensorId x, int32_t out_channels,
                          int32_t stride, int32_t expand) {
  const std::string p = "features." + std::to_string(index) + ".conv";
  const int32_t in_channels = z->Channels(x);
  const int32_t hidden = in_channels * expand;
  TensorId y = x;
  int layer = 0;
  if (expand != 1) {
    y = ConvBnRelu6(z, p + "." + std::to_string(layer++), y, Conv2dAttrs::Square(hidden, 1));
  }
  y = ConvBnRelu6(z, p + "." + std::to_string(layer++), y,
                  Conv2dAttrs::Square(hidden, 3, stride, 1, /*groups=*/hidden));
  const std::string project = p + "." + std::to_string(layer++);
  const std::string bn = p + "." + std::to_string(layer);
  y = z->ConvBn(project, bn, y, Conv2dAttrs::Square(out_channels, 1));
  if (stride == 1 && in_channels == out_channels) {
    y = z->b().Add("features." + std::to_string(index) + ".add", y, x);
  }
  return y;
}

}  // namespace

StatusOr<Graph> BuildMobilenetV2(uint64_t seed) {
  zoo::ZooBuilder z(seed);
  TensorId x = z.b().Input("image", {1, 224, 224, 3});
  x = ConvBnRelu6(&z, "features.0", x, Conv2dAttrs::Square(32, 3, 2, 1));
  // t (expansion), c (channels), n (blocks), s (stride of the first block): the paper's Table 2.
  struct Stage {
    int32_t t, c, n, s;
  };
  const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                          {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int index = 1;
  for (const Stage& s : stages) {
    for (int i = 0; i < s.n; ++i) {
      x = InvertedResidual(&z, index++, x, s.c, i == 0 ? s.s : 1, s.t);
    }
  }
  x = ConvBnRelu6(&z, "features.18", x, Conv2dAttrs::Square(1280, 1));
  x = z.b().GlobalAvgPool("avgpool", x);
  // torchvision's classifier.0 is Dropout, which inference does not need.
  x = z.Fc("classifier.1", x, 1000);
  z.b().MarkOutput(x);
  return z.b().Build();
}

}  // namespace persephonee
