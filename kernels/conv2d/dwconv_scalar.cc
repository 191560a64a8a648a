// Depthwise convolution, plain loops: any kernel, stride, padding and dilation. Weights HWC.
//
// Loops run channel-innermost so each tap is a unit-stride pass over a pixel's channels. Work is
// split over output rows (forward), input rows (backward-input, written as a gather so every
// input element is produced by one task) and channel blocks (backward-weight), never over a
// reduction.
#include <pthreadpool.h>

#include <cassert>
#include <cstddef>

#include "kernels/conv2d/conv2d.h"

namespace persephonee {
namespace {

// Channels per backward-weight task: enough to keep loops long, few enough to split work.
constexpr size_t kWeightChannelTile = 16;

struct DwContext {
  const Conv2dShape* s;
  const float* x;  // input (fwd, bwd-weight) or grad_output (bwd-input)
  const float* w;  // weights (fwd, bwd-input) or grad_output (bwd-weight)
  const float* bias;
  float* y;  // output, grad_input or grad_weight
  float* grad_bias;
};

void FwdRow(void* context, size_t row) {
  const DwContext& c = *static_cast<const DwContext*>(context);
  const Conv2dShape& s = *c.s;
  const size_t ch = s.in_c, oh_n = s.out_h(), ow_n = s.out_w();
  const size_t n = row / oh_n, oh = row % oh_n;
  const float* image = c.x + n * s.in_h * s.in_w * ch;
  for (size_t ow = 0; ow < ow_n; ++ow) {
    float* out = c.y + (row * ow_n + ow) * ch;
    for (size_t k = 0; k < ch; ++k) out[k] = c.bias != nullptr ? c.bias[k] : 0.0f;
    for (size_t kh = 0; kh < s.kernel_h; ++kh) {
      const ptrdiff_t ih = static_cast<ptrdiff_t>(oh * s.stride_h + kh * s.dilation_h) -
                           static_cast<ptrdiff_t>(s.pad_top);
      if (ih < 0 || ih >= static_cast<ptrdiff_t>(s.in_h)) continue;
      for (size_t kw = 0; kw < s.kernel_w; ++kw) {
        const ptrdiff_t iw = static_cast<ptrdiff_t>(ow * s.stride_w + kw * s.dilation_w) -
                             static_cast<ptrdiff_t>(s.pad_left);
        if (iw < 0 || iw >= static_cast<ptrdiff_t>(s.in_w)) continue;
        const float* in = image + (ih * s.in_w + iw) * ch;
        const float* w = c.w + (kh * s.kernel_w + kw) * ch;
        for (size_t k = 0; k < ch; ++k) out[k] += in[k] * w[k];
      }
    }
  }
}

void BwdInputRow(void* context, size_t row) {
  const DwContext& c = *static_cast<const DwContext*>(context);
  const Conv2dShape& s = *c.s;
  const size_t ch = s.in_c, oh_n = s.out_h(), ow_n = s.out_w();
  const size_t n = row / s.in_h, ih = row % s.in_h;
  const float* grad_out = c.x + n * oh_n * ow_n * ch;
  for (size_t iw = 0; iw < s.in_w; ++iw) {
    float* gi = c.y + (row * s.in_w + iw) * ch;
    for (size_t k = 0; k < ch; ++k) gi[k] = 0.0f;
    for (size_t kh = 0; kh < s.kernel_h; ++kh) {
      const ptrdiff_t th =
          static_cast<ptrdiff_t>(ih + s.pad_top) - static_cast<ptrdiff_t>(kh * s.dilation_h);
      if (th < 0 || th % static_cast<ptrdiff_t>(s.stride_h) != 0) continue;
      const size_t oh = static_cast<size_t>(th) / s.stride_h;
      if (oh >= oh_n) continue;
      for (size_t kw = 0; kw < s.kernel_w; ++kw) {
        const ptrdiff_t tw =
            static_cast<ptrdiff_t>(iw + s.pad_left) - static_cast<ptrdiff_t>(kw * s.dilation_w);
        if (tw < 0 || tw % static_cast<ptrdiff_t>(s.stride_w) != 0) continue;
        const size_t ow = static_cast<size_t>(tw) / s.stride_w;
        if (ow >= ow_n) continue;
        const float* go = grad_out + (oh * ow_n + ow) * ch;
        const float* w = c.w + (kh * s.kernel_w + kw) * ch;
        for (size_t k = 0; k < ch; ++k) gi[k] += go[k] * w[k];
      }
    }
  }
}

void BwdWeightChannels(void* context, size_t c0, size_t count) {
  const DwContext& c = *static_cast<const DwContext*>(context);
  const Conv2dShape& s = *c.s;
  const size_t ch = s.in_c, oh_n = s.out_h(), ow_n = s.out_w();
  const size_t taps = s.kernel_h * s.kernel_w;
  for (size_t t = 0; t < taps; ++t) {
    for (size_t k = c0; k < c0 + count; ++k) c.y[t * ch + k] = 0.0f;
  }
  if (c.grad_bias != nullptr) {
    for (size_t k = c0; k < c0 + count; ++k) c.grad_bias[k] = 0.0f;
  }
  for (size_t n = 0; n < s.batch; ++n) {
    const float* image = c.x + n * s.in_h * s.in_w * ch;
    for (size_t oh = 0; oh < oh_n; ++oh) {
      for (size_t ow = 0; ow < ow_n; ++ow) {
        const float* go = c.w + ((n * oh_n + oh) * ow_n + ow) * ch;
        if (c.grad_bias != nullptr) {
          for (size_t k = c0; k < c0 + count; ++k) c.grad_bias[k] += go[k];
        }
        for (size_t kh = 0; kh < s.kernel_h; ++kh) {
          const ptrdiff_t ih = static_cast<ptrdiff_t>(oh * s.stride_h + kh * s.dilation_h) -
                               static_cast<ptrdiff_t>(s.pad_top);
          if (ih < 0 || ih >= static_cast<ptrdiff_t>(s.in_h)) continue;
          for (size_t kw = 0; kw < s.kernel_w; ++kw) {
            const ptrdiff_t iw = static_cast<ptrdiff_t>(ow * s.stride_w + kw * s.dilation_w) -
                                 static_cast<ptrdiff_t>(s.pad_left);
            if (iw < 0 || iw >= static_cast<ptrdiff_t>(s.in_w)) continue;
            const float* in = image + (ih * s.in_w + iw) * ch;
            float* gw = c.y + (kh * s.kernel_w + kw) * ch;
            for (size_t k = c0; k < c0 + count; ++k) gw[k] += go[k] * in[k];
          }
        }
      }
    }
  }
}

}  // namespace

void f32_dwconv2d_pack_weights(size_t channels, size_t kernel_h, size_t kernel_w,
                               const float* weight_ohwi, float* weight_hwc) {
  const size_t taps = kernel_h * kernel_w;
  for (size_t k = 0; k < channels; ++k) {
    for (size_t t = 0; t < taps; ++t) weight_hwc[t * channels + k] = weight_ohwi[k * taps + t];
  }
}

void f32_dwconv2d_unpack_weights(size_t channels, size_t kernel_h, size_t kernel_w,
                                 const float* weight_hwc, float* weight_ohwi) {
  const size_t taps = kernel_h * kernel_w;
  for (size_t k = 0; k < channels; ++k) {
    for (size_t t = 0; t < taps; ++t) weight_ohwi[k * taps + t] = weight_hwc[t * channels + k];
  }
}

void f32_dwconv2d_fwd__scalar(const Conv2dShape& s, const float* input, const float* weight_hwc,
                              const float* bias, float* output, pthreadpool_t pool) {
  assert(s.ValidateDepthwise().ok());
  DwContext c{&s, input, weight_hwc, bias, output, nullptr};
  pthreadpool_parallelize_1d(pool, FwdRow, &c, s.batch * s.out_h(), /*flags=*/0);
}

void f32_dwconv2d_bwd_input__scalar(const Conv2dShape& s, const float* grad_output,
                                    const float* weight_hwc, float* grad_input,
                                    pthreadpool_t pool) {
  assert(s.ValidateDepthwise().ok());
  DwContext c{&s, grad_output, weight_hwc, nullptr, grad_input, nullptr};
  pthreadpool_parallelize_1d(pool, BwdInputRow, &c, s.batch * s.in_h, /*flags=*/0);
}

void f32_dwconv2d_bwd_weight__scalar(const Conv2dShape& s, const float* input,
                                     const float* grad_output, float* grad_weight_hwc,
                                     float* grad_bias, pthreadpool_t pool) {
  assert(s.ValidateDepthwise().ok());
  DwContext c{&s, input, grad_output, nullptr, grad_weight_hwc, grad_bias};
  pthreadpool_parallelize_1d_tile_1d(pool, BwdWeightChannels, &c, s.in_c, kWeightChannelTile,
                                     /*flags=*/0);
}

}  // namespace persephonee
