// NEON pooling (aarch64): vectorised over channels, which are contiguous in NHWC.
//
// Every kernel walks the channels of a pixel in blocks of 16 (four q registers: enough
// independent chains to hide the 3-4 cycle latency of fadd/fcmgt), then blocks of 4, then the
// last 1-3 channels with lane loads and stores, through one generic body so that the tail runs
// the same instructions as the rest. The max and average backward gather: each grad_input pixel
// sums the outputs whose windows cover it, so each element is written once, with no zeroing
// pass and no read-modify-write, and in the oracle's order (outputs in raster order).
// The loops over a block's registers carry `#pragma GCC unroll 4`: without it GCC keeps the
// accumulator arrays in memory and loads and stores them on every tap.
#include <arm_neon.h>

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "kernels/pool/pool.h"
#include "kernels/pool/window.h"

namespace persephonee {
namespace {

using pool_internal::AvgDivisor;
using pool_internal::CoveringOutputs;
using pool_internal::Range;
using pool_internal::WindowInputs;

template <bool kTail>
inline float32x4_t Load(const float* p, size_t lanes) {
  if (!kTail) return vld1q_f32(p);
  float32x4_t v = vld1q_lane_f32(p, vdupq_n_f32(0.0f), 0);
  if (lanes > 1) v = vld1q_lane_f32(p + 1, v, 1);
  if (lanes > 2) v = vld1q_lane_f32(p + 2, v, 2);
  return v;
}

template <bool kTail>
inline int32x4_t Load(const int32_t* p, size_t lanes) {
  if (!kTail) return vld1q_s32(p);
  int32x4_t v = vld1q_lane_s32(p, vdupq_n_s32(0), 0);
  if (lanes > 1) v = vld1q_lane_s32(p + 1, v, 1);
  if (lanes > 2) v = vld1q_lane_s32(p + 2, v, 2);
  return v;
}

template <bool kTail>
inline void Store(float* p, float32x4_t v, size_t lanes) {
  if (!kTail) return vst1q_f32(p, v);
  vst1q_lane_f32(p, v, 0);
  if (lanes > 1) vst1q_lane_f32(p + 1, v, 1);
  if (lanes > 2) vst1q_lane_f32(p + 2, v, 2);
}

template <bool kTail>
inline void Store(int32_t* p, int32x4_t v, size_t lanes) {
  if (!kTail) return vst1q_s32(p, v);
  vst1q_lane_s32(p, v, 0);
  if (lanes > 1) vst1q_lane_s32(p + 1, v, 1);
  if (lanes > 2) vst1q_lane_s32(p + 2, v, 2);
}

using Regs4 = std::integral_constant<size_t, 4>;
using Regs1 = std::integral_constant<size_t, 1>;

// Calls body(c, regs, tail, lanes) for channel blocks of 16 (regs = 4), then 4 (regs = 1), then
// the last 1-3 channels (regs = 1, tail = true, lanes = C - c).
template <typename Body>
inline void ForChannelBlocks(size_t C, Body&& body) {
  size_t c = 0;
  for (; c + 16 <= C; c += 16) body(c, Regs4(), std::false_type(), size_t{4});
  for (; c + 4 <= C; c += 4) body(c, Regs1(), std::false_type(), size_t{4});
  if (c < C) body(c, Regs1(), std::true_type(), C - c);
}

template <bool kArgmax>
void MaxPoolFwd(const Pool2dShape& s, const float* input, float* output, int32_t* argmax) {
  const size_t C = s.channels, oh_n = s.out_h(), ow_n = s.out_w();
  for (size_t n = 0; n < s.batch; ++n) {
    const float* image = input + n * s.in_h * s.in_w * C;
    for (size_t oh = 0; oh < oh_n; ++oh) {
      const Range rows = WindowInputs(oh, s.stride_h, s.pad_top, s.kernel_h, s.in_h);
      for (size_t ow = 0; ow < ow_n; ++ow) {
        const Range cols = WindowInputs(ow, s.stride_w, s.pad_left, s.kernel_w, s.in_w);
        const size_t o = ((n * oh_n + oh) * ow_n + ow) * C;
        const size_t first = rows.begin * s.in_w + cols.begin;
        ForChannelBlocks(C, [&](size_t c, auto regs, auto tail, size_t lanes) {
          constexpr size_t kRegs = decltype(regs)::value;
          constexpr bool kTail = decltype(tail)::value;
          float32x4_t best[kRegs];
          int32x4_t index[kRegs];
#pragma GCC unroll 4
          for (size_t r = 0; r < kRegs; ++r) {
            best[r] = Load<kTail>(image + first * C + c + 4 * r, lanes);
            index[r] = vdupq_n_s32(static_cast<int32_t>(first));
          }
          for (size_t ih = rows.begin; ih < rows.end; ++ih) {
            for (size_t iw = cols.begin; iw < cols.end; ++iw) {
              const size_t at = ih * s.in_w + iw;
              const float* p = image + at * C + c;
              const int32x4_t tap = vdupq_n_s32(static_cast<int32_t>(at));
#pragma GCC unroll 4
              for (size_t r = 0; r < kRegs; ++r) {
                // Strictly greater: ties keep the first maximum, NaN never wins.
                const float32x4_t v = Load<kTail>(p + 4 * r, lanes);
                const uint32x4_t greater = vcgtq_f32(v, best[r]);
                best[r] = vbslq_f32(greater, v, best[r]);
                if (kArgmax) index[r] = vbslq_s32(greater, tap, index[r]);
              }
            }
          }
#pragma GCC unroll 4
          for (size_t r = 0; r < kRegs; ++r) {
            Store<kTail>(output + o + c + 4 * r, best[r], lanes);
            if (kArgmax) Store<kTail>(argmax + o + c + 4 * r, index[r], lanes);
          }
        });
      }
    }
  }
}

}  // namespace

void f32_maxpool_fwd__neon(const Pool2dShape& s, const float* input, float* output,
                           int32_t* argmax) {
  assert(s.Validate().ok());
  if (argmax != nullptr) {
    MaxPoolFwd<true>(s, input, output, argmax);
  } else {
    MaxPoolFwd<false>(s, input, output, nullptr);
  }
}

void f32_maxpool_bwd__neon(const Pool2dShape& s, const float* grad_output, const int32_t* argmax,
                           float* grad_input) {
  assert(s.Validate().ok());
  const size_t C = s.channels, oh_n = s.out_h(), ow_n = s.out_w();
  for (size_t n = 0; n < s.batch; ++n) {
    const float* go = grad_output + n * oh_n * ow_n * C;
    const int32_t* am = argmax + n * oh_n * ow_n * C;
    for (size_t ih = 0; ih < s.in_h; ++ih) {
      const Range orows = CoveringOutputs(ih, s.stride_h, s.pad_top, s.kernel_h, oh_n);
      for (size_t iw = 0; iw < s.in_w; ++iw) {
        const Range ocols = CoveringOutputs(iw, s.stride_w, s.pad_left, s.kernel_w, ow_n);
        const int32x4_t here = vdupq_n_s32(static_cast<int32_t>(ih * s.in_w + iw));
        float* gi = grad_input + ((n * s.in_h + ih) * s.in_w + iw) * C;
        ForChannelBlocks(C, [&](size_t c, auto regs, auto tail, size_t lanes) {
          constexpr size_t kRegs = decltype(regs)::value;
          constexpr bool kTail = decltype(tail)::value;
          float32x4_t acc[kRegs];
#pragma GCC unroll 4
          for (size_t r = 0; r < kRegs; ++r) acc[r] = vdupq_n_f32(0.0f);
          for (size_t oh = orows.begin; oh < orows.end; ++oh) {
            for (size_t ow = ocols.begin; ow < ocols.end; ++ow) {
              const size_t o = (oh * ow_n + ow) * C + c;
#pragma GCC unroll 4
              for (size_t r = 0; r < kRegs; ++r) {
                // Adds the gradient in the lanes whose argmax is this pixel, +0 elsewhere.
                const uint32x4_t mine = vceqq_s32(Load<kTail>(am + o + 4 * r, lanes), here);
                const uint32x4_t g = vreinterpretq_u32_f32(Load<kTail>(go + o + 4 * r, lanes));
                acc[r] = vaddq_f32(acc[r], vreinterpretq_f32_u32(vandq_u32(mine, g)));
              }
            }
          }
#pragma GCC unroll 4
          for (size_t r = 0; r < kRegs; ++r) Store<kTail>(gi + c + 4 * r, acc[r], lanes);
        });
      }
    }
  }
}

void f32_avgpool_fwd__neon(const Pool2dShape& s, const float* input, float* output) {
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
        float* out = output + ((n * oh_n + oh) * ow_n + ow) * C;
        ForChannelBlocks(C, [&](size_t c, auto regs, auto tail, size_t lanes) {
          constexpr size_t kRegs = decltype(regs)::value;
          constexpr bool kTail = decltype(tail)::value;
          float32x4_t acc[kRegs];
#pragma GCC unroll 4
          for (size_t r = 0; r < kRegs; ++r) acc[r] = vdupq_n_f32(0.0f);
          for (size_t ih = rows.begin; ih < rows.end; ++ih) {
            for (size_t iw = cols.begin; iw < cols.end; ++iw) {
              const float* p = image + (ih * s.in_w + iw) * C + c;
#pragma GCC unroll 4
              for (size_t r = 0; r < kRegs; ++r) {
                acc[r] = vaddq_f32(acc[r], Load<kTail>(p + 4 * r, lanes));
              }
            }
          }
#pragma GCC unroll 4
          for (size_t r = 0; r < kRegs; ++r) {
            Store<kTail>(out + c + 4 * r, vmulq_n_f32(acc[r], scale), lanes);
          }
        });
      }
    }
  }
}

void f32_avgpool_bwd__neon(const Pool2dShape& s, const float* grad_output, float* grad_input) {
  assert(s.Validate().ok());
  const size_t C = s.channels, oh_n = s.out_h(), ow_n = s.out_w();
  for (size_t n = 0; n < s.batch; ++n) {
    const float* go = grad_output + n * oh_n * ow_n * C;
    for (size_t ih = 0; ih < s.in_h; ++ih) {
      const Range orows = CoveringOutputs(ih, s.stride_h, s.pad_top, s.kernel_h, oh_n);
      for (size_t iw = 0; iw < s.in_w; ++iw) {
        const Range ocols = CoveringOutputs(iw, s.stride_w, s.pad_left, s.kernel_w, ow_n);
        float* gi = grad_input + ((n * s.in_h + ih) * s.in_w + iw) * C;
        ForChannelBlocks(C, [&](size_t c, auto regs, auto tail, size_t lanes) {
          constexpr size_t kRegs = decltype(regs)::value;
          constexpr bool kTail = decltype(tail)::value;
          float32x4_t acc[kRegs];
#pragma GCC unroll 4
          for (size_t r = 0; r < kRegs; ++r) acc[r] = vdupq_n_f32(0.0f);
          for (size_t oh = orows.begin; oh < orows.end; ++oh) {
            const Range rows = WindowInputs(oh, s.stride_h, s.pad_top, s.kernel_h, s.in_h);
            for (size_t ow = ocols.begin; ow < ocols.end; ++ow) {
              const Range cols = WindowInputs(ow, s.stride_w, s.pad_left, s.kernel_w, s.in_w);
              const float scale =
                  1.0f / AvgDivisor(s.count_include_pad, s.kernel_h, s.kernel_w, rows, cols);
              const float* g = go + (oh * ow_n + ow) * C + c;
#pragma GCC unroll 4
              for (size_t r = 0; r < kRegs; ++r) {
                acc[r] = vfmaq_n_f32(acc[r], Load<kTail>(g + 4 * r, lanes), scale);
              }
            }
          }
#pragma GCC unroll 4
          for (size_t r = 0; r < kRegs; ++r) Store<kTail>(gi + c + 4 * r, acc[r], lanes);
        });
      }
    }
  }
}

void f32_gavgpool_fwd__neon(const GlobalPoolShape& s, const float* input, float* output) {
  assert(s.Validate().ok());
  const size_t C = s.channels, P = s.pixels();
  const float scale = 1.0f / static_cast<float>(P);
  for (size_t n = 0; n < s.batch; ++n) {
    const float* x = input + n * P * C;
    float* y = output + n * C;
    // A block of channels stays in registers while the pixels stream past (stride C).
    ForChannelBlocks(C, [&](size_t c, auto regs, auto tail, size_t lanes) {
      constexpr size_t kRegs = decltype(regs)::value;
      constexpr bool kTail = decltype(tail)::value;
      float32x4_t acc[kRegs];
#pragma GCC unroll 4
      for (size_t r = 0; r < kRegs; ++r) acc[r] = vdupq_n_f32(0.0f);
      for (size_t p = 0; p < P; ++p) {
#pragma GCC unroll 4
        for (size_t r = 0; r < kRegs; ++r) {
          acc[r] = vaddq_f32(acc[r], Load<kTail>(x + p * C + c + 4 * r, lanes));
        }
      }
#pragma GCC unroll 4
      for (size_t r = 0; r < kRegs; ++r) {
        Store<kTail>(y + c + 4 * r, vmulq_n_f32(acc[r], scale), lanes);
      }
    });
  }
}

void f32_gavgpool_bwd__neon(const GlobalPoolShape& s, const float* grad_output, float* grad_input) {
  assert(s.Validate().ok());
  const size_t C = s.channels, P = s.pixels();
  const float scale = 1.0f / static_cast<float>(P);
  for (size_t n = 0; n < s.batch; ++n) {
    const float* go = grad_output + n * C;
    float* gi = grad_input + n * P * C;
    // Pixels outer: the gradient is written once, in order; the few multiplies are repeated.
    for (size_t p = 0; p < P; ++p) {
      ForChannelBlocks(C, [&](size_t c, auto regs, auto tail, size_t lanes) {
        constexpr size_t kRegs = decltype(regs)::value;
        constexpr bool kTail = decltype(tail)::value;
#pragma GCC unroll 4
        for (size_t r = 0; r < kRegs; ++r) {
          const float32x4_t g = vmulq_n_f32(Load<kTail>(go + c + 4 * r, lanes), scale);
          Store<kTail>(gi + p * C + c + 4 * r, g, lanes);
        }
      });
    }
  }
}

}  // namespace persephonee
