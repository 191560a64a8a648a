// Scalar pooling: plain loops over the windows, the oracle every other implementation is
// compared with, and the implementation on CPUs without NEON. Float accumulators, taps in
// row-major window order; the channel loop is innermost (contiguous in NHWC) and branch-free,
// so that the compiler can vectorise it.
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/pool/pool.h"
#include "kernels/pool/window.h"

namespace persephonee {

using pool_internal::AvgDivisor;
using pool_internal::Range;
using pool_internal::WindowInputs;

void f32_maxpool_fwd__scalar(const Pool2dShape& s, const float* input, float* output,
                             int32_t* argmax) {
  assert(s.Validate().ok());
  const size_t C = s.channels, oh_n = s.out_h(), ow_n = s.out_w();
  for (size_t n = 0; n < s.batch; ++n) {
    const float* image = input + n * s.in_h * s.in_w * C;
    for (size_t oh = 0; oh < oh_n; ++oh) {
      const Range rows = WindowInputs(oh, s.stride_h, s.pad_top, s.kernel_h, s.in_h);
      for (size_t ow = 0; ow < ow_n; ++ow) {
        const Range cols = WindowInputs(ow, s.stride_w, s.pad_left, s.kernel_w, s.in_w);
        const size_t o = ((n * oh_n + oh) * ow_n + ow) * C;
        float* best = output + o;  // The running maximum of each channel.
        const size_t first = rows.begin * s.in_w + cols.begin;
        for (size_t c = 0; c < C; ++c) best[c] = image[first * C + c];
        if (argmax != nullptr) {
          for (size_t c = 0; c < C; ++c) argmax[o + c] = static_cast<int32_t>(first);
        }
        // Taps in row-major order; a tap wins only if strictly greater (first maximum kept).
        for (size_t ih = rows.begin; ih < rows.end; ++ih) {
          for (size_t iw = cols.begin; iw < cols.end; ++iw) {
            const size_t index = ih * s.in_w + iw;
            const float* x = image + index * C;
            if (argmax != nullptr) {
              int32_t* best_index = argmax + o;
              for (size_t c = 0; c < C; ++c) {
                // The index as a bit-select on an all-ones "keep" mask: GCC vectorises this
                // form, not two selects on one comparison.
                const float v = x[c], b = best[c];
                const int32_t keep = -static_cast<int32_t>(!(v > b));
                best[c] = v > b ? v : b;
                best_index[c] = (best_index[c] & keep) | (static_cast<int32_t>(index) & ~keep);
              }
            } else {
              for (size_t c = 0; c < C; ++c) best[c] = x[c] > best[c] ? x[c] : best[c];
            }
          }
        }
      }
    }
  }
}

void f32_maxpool_bwd__scalar(const Pool2dShape& s, const float* grad_output, const int32_t* argmax,
                             float* grad_input) {
  assert(s.Validate().ok());
  const size_t C = s.channels, plane = s.in_h * s.in_w, out_plane = s.out_h() * s.out_w();
  std::memset(grad_input, 0, s.input_size() * sizeof(float));
  for (size_t n = 0; n < s.batch; ++n) {
    float* gi = grad_input + n * plane * C;
    for (size_t p = 0; p < out_plane; ++p) {
      const size_t o = (n * out_plane + p) * C;
      for (size_t c = 0; c < C; ++c) {
        const int32_t index = argmax[o + c];
        assert(index >= 0 && static_cast<size_t>(index) < plane);
        gi[static_cast<size_t>(index) * C + c] += grad_output[o + c];
      }
    }
  }
}

void f32_avgpool_fwd__scalar(const Pool2dShape& s, const float* input, float* output) {
  assert(s.Validate().ok());
  const size_t C = s.channels, oh_n = s.out_h(), ow_n = s.out_w();
  for (size_t n = 0; n < s.batch; ++n) {
    const float* image = input + n * s.in_h * s.in_w * C;
    for (size_t oh = 0; oh < oh_n; ++oh) {
      const Range rows = WindowInputs(oh, s.stride_h, s.pad_top, s.kernel_h, s.in_h);
      for (size_t ow = 0; ow < ow_n; ++ow) {
        const Range cols = WindowInputs(ow, s.stride_w, s.pad_left, s.kernel_w, s.in_w);
        const float scale =
            1.0f / AvgDivisor(s.count_include_pad, s.kernel_h, s.kernel_w, rows, cols);
        float* sum = output + ((n * oh_n + oh) * ow_n + ow) * C;  // Sums, then averages.
        for (size_t c = 0; c < C; ++c) sum[c] = 0.0f;
        for (size_t ih = rows.begin; ih < rows.end; ++ih) {
          for (size_t iw = cols.begin; iw < cols.end; ++iw) {
            const float* x = image + (ih * s.in_w + iw) * C;
            for (size_t c = 0; c < C; ++c) sum[c] += x[c];
          }
        }
        for (size_t c = 0; c < C; ++c) sum[c] *= scale;
      }
    }
  }
}

void f32_avgpool_bwd__scalar(const Pool2dShape& s, const float* grad_output, float* grad_input) {
  assert(s.Validate().ok());
  const size_t C = s.channels, oh_n = s.out_h(), ow_n = s.out_w();
  std::memset(grad_input, 0, s.input_size() * sizeof(float));
  for (size_t n = 0; n < s.batch; ++n) {
    float* gi = grad_input + n * s.in_h * s.in_w * C;
    for (size_t oh = 0; oh < oh_n; ++oh) {
      const Range rows = WindowInputs(oh, s.stride_h, s.pad_top, s.kernel_h, s.in_h);
      for (size_t ow = 0; ow < ow_n; ++ow) {
        const Range cols = WindowInputs(ow, s.stride_w, s.pad_left, s.kernel_w, s.in_w);
        const float scale =
            1.0f / AvgDivisor(s.count_include_pad, s.kernel_h, s.kernel_w, rows, cols);
        const float* go = grad_output + ((n * oh_n + oh) * ow_n + ow) * C;
        for (size_t ih = rows.begin; ih < rows.end; ++ih) {
          for (size_t iw = cols.begin; iw < cols.end; ++iw) {
            float* g = gi + (ih * s.in_w + iw) * C;
            for (size_t c = 0; c < C; ++c) g[c] += go[c] * scale;
          }
        }
      }
    }
  }
}

void f32_gavgpool_fwd__scalar(const GlobalPoolShape& s, const float* input, float* output) {
  assert(s.Validate().ok());
  const size_t C = s.channels, P = s.pixels();
  const float scale = 1.0f / static_cast<float>(P);
  for (size_t n = 0; n < s.batch; ++n) {
    const float* x = input + n * P * C;
    float* y = output + n * C;
    // Pixels outer, channels inner: the input is read once, in order.
    for (size_t c = 0; c < C; ++c) y[c] = 0.0f;
    for (size_t p = 0; p < P; ++p) {
      for (size_t c = 0; c < C; ++c) y[c] += x[p * C + c];
    }
    for (size_t c = 0; c < C; ++c) y[c] *= scale;
  }
}

void f32_gavgpool_bwd__scalar(const GlobalPoolShape& s, const float* grad_output,
                              float* grad_input) {
  assert(s.Validate().ok());
  const size_t C = s.channels, P = s.pixels();
  const float scale = 1.0f / static_cast<float>(P);
  for (size_t n = 0; n < s.batch; ++n) {
    const float* go = grad_output + n * C;
    float* gi = grad_input + n * P * C;
    for (size_t p = 0; p < P; ++p) {
      for (size_t c = 0; c < C; ++c) gi[p * C + c] = go[c] * scale;
    }
  }
}

}  // namespace persephonee
