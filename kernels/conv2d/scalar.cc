// The convolution oracle: direct loops over the definition in conv2d.h, any shape, no tricks.
// Every other convolution implementation is tested against these.
#include <cassert>
#include <cstddef>

#include "kernels/conv2d/conv2d.h"

namespace persephonee {
namespace {

// Input row (or column) read by output position `o` through kernel tap `k`; may be out of range.
inline ptrdiff_t InputCoord(size_t o, size_t k, size_t stride, size_t dilation, size_t pad) {
  return static_cast<ptrdiff_t>(o * stride + k * dilation) - static_cast<ptrdiff_t>(pad);
}

}  // namespace

void f32_conv2d_fwd__scalar(const Conv2dShape& s, const float* input, const float* weight,
                            const float* bias, float* output) {
  assert(s.Validate().ok());
  const size_t oh_n = s.out_h(), ow_n = s.out_w();
  const size_t cig = s.group_in_c(), cog = s.group_out_c();
  for (size_t n = 0; n < s.batch; ++n) {
    for (size_t oh = 0; oh < oh_n; ++oh) {
      for (size_t ow = 0; ow < ow_n; ++ow) {
        float* out = output + ((n * oh_n + oh) * ow_n + ow) * s.out_c;
        for (size_t oc = 0; oc < s.out_c; ++oc) {
          const size_t g = oc / cog;
          float acc = bias != nullptr ? bias[oc] : 0.0f;
          for (size_t kh = 0; kh < s.kernel_h; ++kh) {
            const ptrdiff_t ih = InputCoord(oh, kh, s.stride_h, s.dilation_h, s.pad_top);
            if (ih < 0 || ih >= static_cast<ptrdiff_t>(s.in_h)) continue;
            for (size_t kw = 0; kw < s.kernel_w; ++kw) {
              const ptrdiff_t iw = InputCoord(ow, kw, s.stride_w, s.dilation_w, s.pad_left);
              if (iw < 0 || iw >= static_cast<ptrdiff_t>(s.in_w)) continue;
              const float* in = input + ((n * s.in_h + ih) * s.in_w + iw) * s.in_c + g * cig;
              const float* w = weight + ((oc * s.kernel_h + kh) * s.kernel_w + kw) * cig;
              for (size_t ci = 0; ci < cig; ++ci) acc += in[ci] * w[ci];
            }
          }
          out[oc] = acc;
        }
      }
    }
  }
}

void f32_conv2d_bwd_input__scalar(const Conv2dShape& s, const float* grad_output,
                                  const float* weight, float* grad_input) {
  assert(s.Validate().ok());
  const size_t oh_n = s.out_h(), ow_n = s.out_w();
  const size_t cig = s.group_in_c(), cog = s.group_out_c();
  for (size_t i = 0; i < s.input_size(); ++i) grad_input[i] = 0.0f;
  // Scatter: every output gradient flows back along the taps that produced that output.
  for (size_t n = 0; n < s.batch; ++n) {
    for (size_t oh = 0; oh < oh_n; ++oh) {
      for (size_t ow = 0; ow < ow_n; ++ow) {
        const float* go = grad_output + ((n * oh_n + oh) * ow_n + ow) * s.out_c;
        for (size_t oc = 0; oc < s.out_c; ++oc) {
          const size_t g = oc / cog;
          for (size_t kh = 0; kh < s.kernel_h; ++kh) {
            const ptrdiff_t ih = InputCoord(oh, kh, s.stride_h, s.dilation_h, s.pad_top);
            if (ih < 0 || ih >= static_cast<ptrdiff_t>(s.in_h)) continue;
            for (size_t kw = 0; kw < s.kernel_w; ++kw) {
              const ptrdiff_t iw = InputCoord(ow, kw, s.stride_w, s.dilation_w, s.pad_left);
              if (iw < 0 || iw >= static_cast<ptrdiff_t>(s.in_w)) continue;
              float* gi = grad_input + ((n * s.in_h + ih) * s.in_w + iw) * s.in_c + g * cig;
              const float* w = weight + ((oc * s.kernel_h + kh) * s.kernel_w + kw) * cig;
              for (size_t ci = 0; ci < cig; ++ci) gi[ci] += go[oc] * w[ci];
            }
          }
        }
      }
    }
  }
}

void f32_conv2d_bwd_weight__scalar(const Conv2dShape& s, const float* input,
                                   const float* grad_output, float* grad_weight, float* grad_bias) {
  assert(s.Validate().ok());
  const size_t oh_n = s.out_h(), ow_n = s.out_w();
  const size_t cig = s.group_in_c(), cog = s.group_out_c();
  for (size_t oc = 0; oc < s.out_c; ++oc) {
    const size_t g = oc / cog;
    for (size_t kh = 0; kh < s.kernel_h; ++kh) {
      for (size_t kw = 0; kw < s.kernel_w; ++kw) {
        for (size_t ci = 0; ci < cig; ++ci) {
          float acc = 0.0f;
          for (size_t n = 0; n < s.batch; ++n) {
            for (size_t oh = 0; oh < oh_n; ++oh) {
              const ptrdiff_t ih = InputCoord(oh, kh, s.stride_h, s.dilation_h, s.pad_top);
              if (ih < 0 || ih >= static_cast<ptrdiff_t>(s.in_h)) continue;
              for (size_t ow = 0; ow < ow_n; ++ow) {
                const ptrdiff_t iw = InputCoord(ow, kw, s.stride_w, s.dilation_w, s.pad_left);
                if (iw < 0 || iw >= static_cast<ptrdiff_t>(s.in_w)) continue;
                const float go = grad_output[((n * oh_n + oh) * ow_n + ow) * s.out_c + oc];
                acc += go * input[((n * s.in_h + ih) * s.in_w + iw) * s.in_c + g * cig + ci];
              }
            }
          }
          grad_weight[((oc * s.kernel_h + kh) * s.kernel_w + kw) * cig + ci] = acc;
        }
      }
    }
  }
  if (grad_bias != nullptr) {
    for (size_t oc = 0; oc < s.out_c; ++oc) {
      float acc = 0.0f;
      for (size_t p = 0; p < s.batch * oh_n * ow_n; ++p) acc += grad_output[p * s.out_c + oc];
      grad_bias[oc] = acc;
    }
  }
}

}  // namespace persephonee
