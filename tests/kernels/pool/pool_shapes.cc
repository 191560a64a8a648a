// The shape sweeps of the pool tests (declared in pool_tester.h).
#include <cstddef>
#include <vector>

#include "kernels/pool/pool.h"
#include "tests/kernels/pool/pool_tester.h"

namespace persephonee {

namespace {

Pool2dShape MakeShape(size_t batch, size_t in_h, size_t in_w, size_t channels, size_t kh, size_t kw,
                      size_t stride, size_t pt, size_t pl, size_t pb, size_t pr, bool include_pad) {
  Pool2dShape s;
  s.batch = batch;
  s.in_h = in_h;
  s.in_w = in_w;
  s.channels = channels;
  s.kernel_h = kh;
  s.kernel_w = kw;
  s.stride_h = s.stride_w = stride;
  s.pad_top = pt;
  s.pad_left = pl;
  s.pad_bottom = pb;
  s.pad_right = pr;
  s.count_include_pad = include_pad;
  return s;
}

const size_t kChannels[] = {1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 19, 23, 32, 37};

}  // namespace

std::vector<Pool2dShape> PoolTestShapes() {
  struct Window {
    size_t kh, kw;
  };
  const Window windows[] = {{2, 2}, {3, 3}, {2, 3}};
  std::vector<Pool2dShape> shapes;
  size_t i = 0;
  for (size_t channels : kChannels) {
    for (const Window& k : windows) {
      for (size_t stride : {1, 2}) {
        for (int pad = 0; pad < 3; ++pad, ++i) {
          const size_t batch = i % 2 == 0 ? 1 : 3;
          const size_t in_h = 4 + i % 4, in_w = 5 + (i / 4) % 3;
          const size_t p = k.kh / 2;  // Symmetric padding within PyTorch's pad <= kernel / 2.
          const bool include_pad = (i / 3) % 2 == 0;
          if (pad == 0) {
            shapes.push_back(MakeShape(batch, in_h, in_w, channels, k.kh, k.kw, stride, 0, 0, 0, 0,
                                       include_pad));
          } else if (pad == 1) {
            shapes.push_back(MakeShape(batch, in_h, in_w, channels, k.kh, k.kw, stride, p, k.kw / 2,
                                       p, k.kw / 2, include_pad));
          } else {  // TensorFlow-SAME-like: padding only after, or only before.
            shapes.push_back(MakeShape(batch, in_h, in_w, channels, k.kh, k.kw, stride, 0, 1, 1, 0,
                                       include_pad));
          }
        }
      }
    }
  }
  for (size_t channels : {3, 16, 21}) {
    // Stride larger than the kernel: some inputs are in no window.
    shapes.push_back(MakeShape(2, 8, 7, channels, 2, 2, 3, 0, 0, 0, 0, true));
    // One window covering the whole (padded) input.
    shapes.push_back(MakeShape(1, 3, 3, channels, 3, 3, 1, 0, 0, 0, 0, true));
    shapes.push_back(MakeShape(1, 2, 3, channels, 3, 3, 2, 1, 0, 0, 0, false));
    // 1x1 windows with stride 2: a subsampling copy.
    shapes.push_back(MakeShape(3, 5, 6, channels, 1, 1, 2, 0, 0, 0, 0, true));
    // A single input row.
    shapes.push_back(MakeShape(1, 1, 9, channels, 1, 3, 2, 0, 1, 0, 1, true));
    // ResNet-18's stem pool (3x3, stride 2, pad 1) on a small plane, odd and even sizes.
    shapes.push_back(MakeShape(1, 12, 12, channels, 3, 3, 2, 1, 1, 1, 1, true));
    shapes.push_back(MakeShape(3, 11, 9, channels, 3, 3, 2, 1, 1, 1, 1, true));
  }
  return shapes;
}

std::vector<Pool2dShape> PoolGradientShapes() {
  std::vector<Pool2dShape> shapes;
  size_t i = 0;
  for (size_t channels : {1, 3, 4, 5, 8, 16, 17}) {
    for (size_t k : {2, 3}) {
      for (size_t stride : {1, 2}) {
        const size_t batch = i % 2 == 0 ? 1 : 3;
        const size_t p = (i / 2) % 2 == 0 ? k / 2 : 0;
        shapes.push_back(
            MakeShape(batch, 5 + i % 2, 6, channels, k, k, stride, p, p, p, 0, i % 3 != 0));
        ++i;
      }
    }
  }
  shapes.push_back(MakeShape(2, 8, 7, 5, 2, 2, 3, 0, 0, 0, 0, true));  // Inputs in no window.
  shapes.push_back(MakeShape(1, 4, 5, 6, 1, 1, 2, 0, 0, 0, 0, true));  // 1x1 windows.
  return shapes;
}

std::vector<GlobalPoolShape> GlobalPoolTestShapes() {
  std::vector<GlobalPoolShape> shapes;
  size_t i = 0;
  for (size_t channels : kChannels) {
    for (size_t hw : {1, 2, 7, 5}) {
      GlobalPoolShape s;
      s.batch = i++ % 2 == 0 ? 1 : 3;
      s.in_h = hw;
      s.in_w = hw == 2 ? 3 : (hw == 5 ? 4 : hw);
      s.channels = channels;
      shapes.push_back(s);
    }
  }
  return shapes;
}

}  // namespace persephonee
