// Depthwise 3x3 convolution, stride 1 and 2, NEON (aarch64). Weights HWC: [3][3][channels].
//
// Vectorised over channels, 4 per q register. The nine weight vectors of a channel block stay in
// registers while the kernel walks an output row; inner columns (all three taps inside the
// input) run four outputs at a time so that each loaded input column feeds every output that
// reads it (stride 1: 18 loads for 36 FMAs; stride 2: 27). Columns at the left and right edges
// take a checked path. A tap row outside the input points at a zero vector with a column step
// of 0, which keeps the inner loops branch-free and adds exact zeros. The last 1-3 channels run
// a scalar loop inside the same task.
//
// Backward-input at stride 1 is the forward kernel on dY with the kernel flipped and padding
// 2 - pad; at stride 2 it is a gather over the one or two kernel rows whose parity matches the
// input row: an input column of even parity takes taps kw = 0 and 2, odd parity kw = 1, so
// inner column pairs share their dY columns (two kernel rows: 2 loads for 6 FMAs). Backward-
// weight keeps the nine weight-gradient accumulators (and the bias gradient) of a channel block
// in registers over the whole batch (stride 1: 22 loads for 36 FMAs); threads split channel
// tiles, never the reduction.
#include <arm_neon.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cassert>
#include <cstddef>

#include "kernels/conv2d/conv2d.h"

namespace persephonee {
namespace {

alignas(16) const float kZeros[4] = {0.0f, 0.0f, 0.0f, 0.0f};

// Channels per backward-weight task.
constexpr size_t kWeightChannelTile = 8;

// A 3x3 correlation y[oh][ow] = bias + Σ x[oh*S - pad_t + kh][ow*S - pad_l + kw] · w[kh][kw],
// in signed coordinates so that backward-input can use negative padding.
struct Geometry {
  size_t batch;
  size_t channels;
  ptrdiff_t in_h, in_w, out_h, out_w, pad_t, pad_l;
};

// Output columns [lo, hi) whose three taps all lie inside the input.
template <int S>
void InnerColumns(const Geometry& g, ptrdiff_t* lo, ptrdiff_t* hi) {
  ptrdiff_t l = g.pad_l > 0 ? (g.pad_l + S - 1) / S : 0;
  const ptrdiff_t last = g.in_w - 3 + g.pad_l;  // ow * S must not exceed this.
  ptrdiff_t h = last < 0 ? 0 : last / S + 1;
  l = std::min(l, g.out_w);
  h = std::max(std::min(h, g.out_w), l);
  *lo = l;
  *hi = h;
}

// Three tap rows of one channel block: rows outside the input read kZeros with step 0.
struct TapRows {
  const float* p[3];
  ptrdiff_t step[3];
};

struct TapRowBases {
  const float* base[3];  // Row start, or nullptr when the row is outside the input.
};

inline TapRows RowsForBlock(const TapRowBases& r, size_t c0, size_t channels) {
  TapRows t;
  for (int k = 0; k < 3; ++k) {
    t.p[k] = r.base[k] != nullptr ? r.base[k] + c0 : kZeros;
    t.step[k] = r.base[k] != nullptr ? static_cast<ptrdiff_t>(channels) : 0;
  }
  return t;
}

inline float32x4_t Load(const TapRows& t, int k, ptrdiff_t col) {
  return vld1q_f32(t.p[k] + col * t.step[k]);
}

// ------------------------------------------------------------------------------------------
// Forward (and backward-input at stride 1, with kFlip).

struct FwdContext {
  Geometry g;
  const float* x;
  const float* w;
  const float* bias;
  float* y;
};

template <int S, bool kFlip>
void FwdRow(void* context, size_t row) {
  const FwdContext& ctx = *static_cast<const FwdContext*>(context);
  const Geometry& g = ctx.g;
  const size_t ch = g.channels;
  const ptrdiff_t n = static_cast<ptrdiff_t>(row) / g.out_h;
  const ptrdiff_t oh = static_cast<ptrdiff_t>(row) % g.out_h;
  const float* image = ctx.x + n * g.in_h * g.in_w * static_cast<ptrdiff_t>(ch);
  float* out = ctx.y + static_cast<ptrdiff_t>(row) * g.out_w * static_cast<ptrdiff_t>(ch);
  TapRowBases rows;
  for (int kh = 0; kh < 3; ++kh) {
    const ptrdiff_t ih = oh * S - g.pad_t + kh;
    rows.base[kh] =
        ih >= 0 && ih < g.in_h ? image + ih * g.in_w * static_cast<ptrdiff_t>(ch) : nullptr;
  }
  ptrdiff_t lo, hi;
  InnerColumns<S>(g, &lo, &hi);
  const auto tap = [](int t) { return kFlip ? 8 - t : t; };

  size_t c0 = 0;
  for (; c0 + 4 <= ch; c0 += 4) {
    float32x4_t w[9];
#pragma GCC unroll 9
    for (int t = 0; t < 9; ++t) w[t] = vld1q_f32(ctx.w + tap(t) * ch + c0);
    const float32x4_t b = ctx.bias != nullptr ? vld1q_f32(ctx.bias + c0) : vdupq_n_f32(0.0f);
    const TapRows r = RowsForBlock(rows, c0, ch);
    const auto edge = [&](ptrdiff_t ow) {
      float32x4_t acc = b;
      for (int kw = 0; kw < 3; ++kw) {
        const ptrdiff_t iw = ow * S - g.pad_l + kw;
        if (iw < 0 || iw >= g.in_w) continue;
        for (int kh = 0; kh < 3; ++kh) acc = vfmaq_f32(acc, Load(r, kh, iw), w[kh * 3 + kw]);
      }
      vst1q_f32(out + ow * ch + c0, acc);
    };
    ptrdiff_t ow = 0;
    for (; ow < lo; ++ow) edge(ow);
    for (; ow + 4 <= hi; ow += 4) {
      // Running column pointers: one add per tap row and column instead of an index multiply.
      const ptrdiff_t iw0 = ow * S - g.pad_l;
      const float* col[3] = {r.p[0] + iw0 * r.step[0], r.p[1] + iw0 * r.step[1],
                             r.p[2] + iw0 * r.step[2]};
      float32x4_t a0 = b, a1 = b, a2 = b, a3 = b;
#pragma GCC unroll 12
      for (int j = 0; j < 3 * S + 3; ++j) {
#pragma GCC unroll 3
        for (int kh = 0; kh < 3; ++kh) {
          const float32x4_t x = vld1q_f32(col[kh]);
          col[kh] += r.step[kh];
          if (j < 3) a0 = vfmaq_f32(a0, x, w[kh * 3 + j]);
          if (j >= S && j - S < 3) a1 = vfmaq_f32(a1, x, w[kh * 3 + j - S]);
          if (j >= 2 * S && j - 2 * S < 3) a2 = vfmaq_f32(a2, x, w[kh * 3 + j - 2 * S]);
          if (j >= 3 * S) a3 = vfmaq_f32(a3, x, w[kh * 3 + j - 3 * S]);
        }
      }
      float* o = out + ow * ch + c0;
      vst1q_f32(o, a0);
      vst1q_f32(o + ch, a1);
      vst1q_f32(o + 2 * ch, a2);
      vst1q_f32(o + 3 * ch, a3);
    }
    for (; ow < hi; ++ow) {
      const ptrdiff_t iw0 = ow * S - g.pad_l;
      float32x4_t acc = b;
#pragma GCC unroll 3
      for (int kw = 0; kw < 3; ++kw) {
#pragma GCC unroll 3
        for (int kh = 0; kh < 3; ++kh) acc = vfmaq_f32(acc, Load(r, kh, iw0 + kw), w[kh * 3 + kw]);
      }
      vst1q_f32(out + ow * ch + c0, acc);
    }
    for (; ow < g.out_w; ++ow) edge(ow);
  }
  for (; c0 < ch; ++c0) {  // Channel tail.
    for (ptrdiff_t ow = 0; ow < g.out_w; ++ow) {
      float acc = ctx.bias != nullptr ? ctx.bias[c0] : 0.0f;
      for (int kh = 0; kh < 3; ++kh) {
        if (rows.base[kh] == nullptr) continue;
        for (int kw = 0; kw < 3; ++kw) {
          const ptrdiff_t iw = ow * S - g.pad_l + kw;
          if (iw < 0 || iw >= g.in_w) continue;
          acc += rows.base[kh][iw * ch + c0] * ctx.w[tap(kh * 3 + kw) * ch + c0];
        }
      }
      out[ow * ch + c0] = acc;
    }
  }
}

Geometry ForwardGeometry(const Conv2dShape& s) {
  return Geometry{s.batch,
                  s.in_c,
                  static_cast<ptrdiff_t>(s.in_h),
                  static_cast<ptrdiff_t>(s.in_w),
                  static_cast<ptrdiff_t>(s.out_h()),
                  static_cast<ptrdiff_t>(s.out_w()),
                  static_cast<ptrdiff_t>(s.pad_top),
                  static_cast<ptrdiff_t>(s.pad_left)};
}

[[maybe_unused]] bool Is3x3(const Conv2dShape& s, size_t stride) {
  return s.is_depthwise() && s.kernel_h == 3 && s.kernel_w == 3 && s.dilation_h == 1 &&
         s.dilation_w == 1 && s.stride_h == stride && s.stride_w == stride;
}

template <int S>
void Forward(const Conv2dShape& s, const float* input, const float* weight_hwc, const float* bias,
             float* output, pthreadpool_t pool) {
  assert(s.ValidateDepthwise().ok() && Is3x3(s, S));
  FwdContext ctx{ForwardGeometry(s), input, weight_hwc, bias, output};
  pthreadpool_parallelize_1d(pool, FwdRow<S, false>, &ctx, s.batch * s.out_h(), /*flags=*/0);
}

// ------------------------------------------------------------------------------------------
// Backward-input, stride 2.

struct BwdInputContext {
  const Conv2dShape* s;
  const float* grad_output;
  const float* w;
  float* grad_input;
};

// One channel block of one input row with R (1 or 2) contributing kernel rows: t.p[r] is the
// dY row and wr[r] the weights of the r-th. Column pairs (2m - pad_l, 2m - pad_l + 1) with
// 1 <= m < ow_n read only dY columns m - 1 and m, so inside the row they run unchecked, sliding
// one loaded column from pair to pair; the columns at either end take the checked path.
template <int R>
void BwdInputS2Block(const TapRows& t, const float32x4_t (&wr)[2][3], ptrdiff_t in_w,
                     ptrdiff_t pad_l, ptrdiff_t ow_n, size_t ch, float* o) {
  const auto pixel = [&](ptrdiff_t iw) {
    const ptrdiff_t tw = iw + pad_l;
    float32x4_t acc = vdupq_n_f32(0.0f);
    if (tw % 2 == 0) {  // kw = 0 reads ow = tw / 2; kw = 2 reads ow = tw / 2 - 1.
      const ptrdiff_t m = tw / 2;
      for (int r = 0; r < R; ++r) {
        if (m < ow_n) acc = vfmaq_f32(acc, Load(t, r, m), wr[r][0]);
        if (m >= 1 && m - 1 < ow_n) acc = vfmaq_f32(acc, Load(t, r, m - 1), wr[r][2]);
      }
    } else {  // kw = 1 reads ow = (tw - 1) / 2.
      const ptrdiff_t m = (tw - 1) / 2;
      if (m < ow_n) {
        for (int r = 0; r < R; ++r) acc = vfmaq_f32(acc, Load(t, r, m), wr[r][1]);
      }
    }
    vst1q_f32(o + iw * static_cast<ptrdiff_t>(ch), acc);
  };
  const ptrdiff_t last = in_w - 2 + pad_l;  // 2m must not exceed this.
  const ptrdiff_t m_lo = std::max<ptrdiff_t>(1, (pad_l + 1) / 2);
  const ptrdiff_t m_hi = std::min<ptrdiff_t>(ow_n - 1, last >= 0 ? last / 2 : -1);
  ptrdiff_t iw = 0;
  if (m_lo <= m_hi) {
    for (; iw < 2 * m_lo - pad_l; ++iw) pixel(iw);
    const float* col[R];
    float32x4_t prev[R];
    for (int r = 0; r < R; ++r) {
      col[r] = t.p[r] + m_lo * t.step[r];
      prev[r] = vld1q_f32(col[r] - t.step[r]);
    }
    for (ptrdiff_t m = m_lo; m <= m_hi; ++m, iw += 2) {
      float32x4_t even = vdupq_n_f32(0.0f), odd = vdupq_n_f32(0.0f);
      for (int r = 0; r < R; ++r) {
        const float32x4_t x = vld1q_f32(col[r]);
        col[r] += t.step[r];
        even = vfmaq_f32(even, x, wr[r][0]);
        even = vfmaq_f32(even, prev[r], wr[r][2]);
        odd = vfmaq_f32(odd, x, wr[r][1]);
        prev[r] = x;
      }
      vst1q_f32(o + iw * static_cast<ptrdiff_t>(ch), even);
      vst1q_f32(o + (iw + 1) * static_cast<ptrdiff_t>(ch), odd);
    }
  }
  for (; iw < in_w; ++iw) pixel(iw);
}

void BwdInputRowS2(void* context, size_t row) {
  const BwdInputContext& ctx = *static_cast<const BwdInputContext*>(context);
  const Conv2dShape& s = *ctx.s;
  const size_t ch = s.in_c;
  const ptrdiff_t oh_n = static_cast<ptrdiff_t>(s.out_h());
  const ptrdiff_t ow_n = static_cast<ptrdiff_t>(s.out_w());
  const ptrdiff_t in_w = static_cast<ptrdiff_t>(s.in_w);
  const size_t n = row / s.in_h, ih = row % s.in_h;
  const float* go = ctx.grad_output + n * oh_n * ow_n * ch;
  float* gi = ctx.grad_input + row * s.in_w * ch;
  // Kernel rows kh with (ih + pad_top - kh) = 2·oh for an oh in range: at most two.
  int kh_of[2] = {0, 0};
  TapRowBases rows{{nullptr, nullptr, nullptr}};
  int nrows = 0;
  for (int kh = 0; kh < 3; ++kh) {
    const ptrdiff_t th = static_cast<ptrdiff_t>(ih + s.pad_top) - kh;
    if (th < 0 || th % 2 != 0 || th / 2 >= oh_n) continue;
    kh_of[nrows] = kh;
    rows.base[nrows] = go + (th / 2) * ow_n * ch;
    ++nrows;
  }
  const ptrdiff_t pad_l = static_cast<ptrdiff_t>(s.pad_left);
  size_t c0 = 0;
  for (; c0 + 4 <= ch; c0 += 4) {
    float32x4_t wr[2][3];  // wr[r][kw]: the weights of the r-th contributing kernel row.
    for (int r = 0; r < 2; ++r) {
      for (int kw = 0; kw < 3; ++kw) {
        wr[r][kw] =
            r < nrows ? vld1q_f32(ctx.w + (kh_of[r] * 3 + kw) * ch + c0) : vdupq_n_f32(0.0f);
      }
    }
    const TapRows t = RowsForBlock(rows, c0, ch);
    if (nrows == 2) {
      BwdInputS2Block<2>(t, wr, in_w, pad_l, ow_n, ch, gi + c0);
    } else if (nrows == 1) {
      BwdInputS2Block<1>(t, wr, in_w, pad_l, ow_n, ch, gi + c0);
    } else {
      for (ptrdiff_t iw = 0; iw < in_w; ++iw) vst1q_f32(gi + iw * ch + c0, vdupq_n_f32(0.0f));
    }
  }
  for (; c0 < ch; ++c0) {  // Channel tail.
    for (ptrdiff_t iw = 0; iw < in_w; ++iw) {
      float acc = 0.0f;
      for (int r = 0; r < nrows; ++r) {
        for (int kw = 0; kw < 3; ++kw) {
          const ptrdiff_t tw = iw + pad_l - kw;
          if (tw < 0 || tw % 2 != 0 || tw / 2 >= ow_n) continue;
          acc += rows.base[r][(tw / 2) * ch + c0] * ctx.w[(kh_of[r] * 3 + kw) * ch + c0];
        }
      }
      gi[iw * ch + c0] = acc;
    }
  }
}

// ------------------------------------------------------------------------------------------
// Backward-weight.

struct BwdWeightContext {
  const Conv2dShape* s;
  const float* input;
  const float* grad_output;
  float* grad_weight;
  float* grad_bias;
};

// The weight-gradient accumulators of one kernel row: taps kw = 0, 1, 2. Named members (not an
// array) so that the compiler keeps all nine of a block in registers across the inner loop.
struct RowTaps {
  float32x4_t k0, k1, k2;
};

inline void AddTap(RowTaps& a, int kw, float32x4_t d, float32x4_t x) {
  if (kw == 0) a.k0 = vfmaq_f32(a.k0, d, x);
  if (kw == 1) a.k1 = vfmaq_f32(a.k1, d, x);
  if (kw == 2) a.k2 = vfmaq_f32(a.k2, d, x);
}

// One kernel row over four consecutive inner output columns with gradients d[0..3]: the 3S + 3
// input columns they read (from `col`, `step` apart) are each loaded once; column j feeds tap
// kw = j - u·S of output u.
template <int S>
inline RowTaps RowGradients(RowTaps a, const float* col, ptrdiff_t step,
                            const float32x4_t (&d)[4]) {
#pragma GCC unroll 12
  for (int j = 0; j < 3 * S + 3; ++j) {
    const float32x4_t x = vld1q_f32(col);
    col += step;
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      if (j - u * S >= 0 && j - u * S < 3) AddTap(a, j - u * S, d[u], x);
    }
  }
  return a;
}

template <int S>
void BwdWeightBlock(const BwdWeightContext& ctx, size_t c0) {
  const Conv2dShape& s = *ctx.s;
  const Geometry g = ForwardGeometry(s);
  const size_t ch = s.in_c;
  ptrdiff_t lo, hi;
  InnerColumns<S>(g, &lo, &hi);
  const float32x4_t zero = vdupq_n_f32(0.0f);
  RowTaps acc0{zero, zero, zero}, acc1{zero, zero, zero}, acc2{zero, zero, zero};
  float32x4_t acc_b = zero;
  // Edge columns accumulate apart (through the lambda's references, in memory).
  float32x4_t edge_acc[9];
  for (int t = 0; t < 9; ++t) edge_acc[t] = zero;
  float32x4_t edge_acc_b = zero;
  for (size_t n = 0; n < s.batch; ++n) {
    const float* image = ctx.input + n * s.in_h * s.in_w * ch;
    for (ptrdiff_t oh = 0; oh < g.out_h; ++oh) {
      TapRowBases rows;
      for (int kh = 0; kh < 3; ++kh) {
        const ptrdiff_t ih = oh * S - g.pad_t + kh;
        rows.base[kh] = ih >= 0 && ih < g.in_h ? image + ih * g.in_w * ch : nullptr;
      }
      const TapRows r = RowsForBlock(rows, c0, ch);
      const float* go = ctx.grad_output + ((n * g.out_h + oh) * g.out_w) * ch + c0;
      const auto edge = [&](ptrdiff_t ow) {
        const float32x4_t d = vld1q_f32(go + ow * ch);
        edge_acc_b = vaddq_f32(edge_acc_b, d);
        for (int kw = 0; kw < 3; ++kw) {
          const ptrdiff_t iw = ow * S - g.pad_l + kw;
          if (iw < 0 || iw >= g.in_w) continue;
          for (int kh = 0; kh < 3; ++kh) {
            edge_acc[kh * 3 + kw] = vfmaq_f32(edge_acc[kh * 3 + kw], d, Load(r, kh, iw));
          }
        }
      };
      ptrdiff_t ow = 0;
      for (; ow < lo; ++ow) edge(ow);
      for (; ow + 4 <= hi; ow += 4) {
        const float32x4_t d[4] = {vld1q_f32(go + ow * ch), vld1q_f32(go + (ow + 1) * ch),
                                  vld1q_f32(go + (ow + 2) * ch), vld1q_f32(go + (ow + 3) * ch)};
        acc_b = vaddq_f32(vaddq_f32(acc_b, vaddq_f32(d[0], d[1])), vaddq_f32(d[2], d[3]));
        const ptrdiff_t iw0 = ow * S - g.pad_l;
        acc0 = RowGradients<S>(acc0, r.p[0] + iw0 * r.step[0], r.step[0], d);
        acc1 = RowGradients<S>(acc1, r.p[1] + iw0 * r.step[1], r.step[1], d);
        acc2 = RowGradients<S>(acc2, r.p[2] + iw0 * r.step[2], r.step[2], d);
      }
      for (; ow < g.out_w; ++ow) edge(ow);  // The inner remainder and the right edge.
    }
  }
  const float32x4_t sums[9] = {acc0.k0, acc0.k1, acc0.k2, acc1.k0, acc1.k1,
                               acc1.k2, acc2.k0, acc2.k1, acc2.k2};
  for (int t = 0; t < 9; ++t) {
    vst1q_f32(ctx.grad_weight + t * ch + c0, vaddq_f32(sums[t], edge_acc[t]));
  }
  if (ctx.grad_bias != nullptr) vst1q_f32(ctx.grad_bias + c0, vaddq_f32(acc_b, edge_acc_b));
}

template <int S>
void BwdWeightChannelTail(const BwdWeightContext& ctx, size_t c0) {
  const Conv2dShape& s = *ctx.s;
  const size_t ch = s.in_c, oh_n = s.out_h(), ow_n = s.out_w();
  float acc[9] = {0.0f};
  float acc_b = 0.0f;
  for (size_t n = 0; n < s.batch; ++n) {
    for (size_t oh = 0; oh < oh_n; ++oh) {
      for (size_t ow = 0; ow < ow_n; ++ow) {
        const float d = ctx.grad_output[((n * oh_n + oh) * ow_n + ow) * ch + c0];
        acc_b += d;
        for (int kh = 0; kh < 3; ++kh) {
          const ptrdiff_t ih =
              static_cast<ptrdiff_t>(oh * S + kh) - static_cast<ptrdiff_t>(s.pad_top);
          if (ih < 0 || ih >= static_cast<ptrdiff_t>(s.in_h)) continue;
          for (int kw = 0; kw < 3; ++kw) {
            const ptrdiff_t iw =
                static_cast<ptrdiff_t>(ow * S + kw) - static_cast<ptrdiff_t>(s.pad_left);
            if (iw < 0 || iw >= static_cast<ptrdiff_t>(s.in_w)) continue;
            acc[kh * 3 + kw] += d * ctx.input[((n * s.in_h + ih) * s.in_w + iw) * ch + c0];
          }
        }
      }
    }
  }
  for (int t = 0; t < 9; ++t) ctx.grad_weight[t * ch + c0] = acc[t];
  if (ctx.grad_bias != nullptr) ctx.grad_bias[c0] = acc_b;
}

template <int S>
void BwdWeightTile(void* context, size_t start, size_t count) {
  const BwdWeightContext& ctx = *static_cast<const BwdWeightContext*>(context);
  size_t c = start;
  for (; c + 4 <= start + count; c += 4) BwdWeightBlock<S>(ctx, c);
  for (; c < start + count; ++c) BwdWeightChannelTail<S>(ctx, c);
}

template <int S>
void BackwardWeight(const Conv2dShape& s, const float* input, const float* grad_output,
                    float* grad_weight_hwc, float* grad_bias, pthreadpool_t pool) {
  assert(s.ValidateDepthwise().ok() && Is3x3(s, S));
  BwdWeightContext ctx{&s, input, grad_output, grad_weight_hwc, grad_bias};
  pthreadpool_parallelize_1d_tile_1d(pool, BwdWeightTile<S>, &ctx, s.in_c, kWeightChannelTile,
                                     /*flags=*/0);
}

}  // namespace

void f32_dwconv2d_fwd_3x3s1__neon(const Conv2dShape& s, const float* input, const float* weight_hwc,
                                  const float* bias, float* output, pthreadpool_t pool) {
  Forward<1>(s, input, weight_hwc, bias, output, pool);
}

void f32_dwconv2d_fwd_3x3s2__neon(const Conv2dShape& s, const float* input, const float* weight_hwc,
                                  const float* bias, float* output, pthreadpool_t pool) {
  Forward<2>(s, input, weight_hwc, bias, output, pool);
}

void f32_dwconv2d_bwd_input_3x3s1__neon(const Conv2dShape& s, const float* grad_output,
                                        const float* weight_hwc, float* grad_input,
                                        pthreadpool_t pool) {
  assert(s.ValidateDepthwise().ok() && Is3x3(s, 1));
  // dX[ih][iw] = Σ dY[ih + pad_t - kh][iw + pad_l - kw] · w[kh][kw]: a stride-1 forward over dY
  // with the kernel flipped (kh -> 2 - kh) and padding 2 - pad (negative is fine).
  const Geometry g{s.batch,
                   s.in_c,
                   static_cast<ptrdiff_t>(s.out_h()),
                   static_cast<ptrdiff_t>(s.out_w()),
                   static_cast<ptrdiff_t>(s.in_h),
                   static_cast<ptrdiff_t>(s.in_w),
                   2 - static_cast<ptrdiff_t>(s.pad_top),
                   2 - static_cast<ptrdiff_t>(s.pad_left)};
  FwdContext ctx{g, grad_output, weight_hwc, nullptr, grad_input};
  pthreadpool_parallelize_1d(pool, FwdRow<1, true>, &ctx, s.batch * s.in_h, /*flags=*/0);
}

void f32_dwconv2d_bwd_input_3x3s2__neon(const Conv2dShape& s, const float* grad_output,
                                        const float* weight_hwc, float* grad_input,
                                        pthreadpool_t pool) {
  assert(s.ValidateDepthwise().ok() && Is3x3(s, 2));
  BwdInputContext ctx{&s, grad_output, weight_hwc, grad_input};
  pthreadpool_parallelize_1d(pool, BwdInputRowS2, &ctx, s.batch * s.in_h, /*flags=*/0);
}

void f32_dwconv2d_bwd_weight_3x3s1__neon(const Conv2dShape& s, const float* input,
                                         const float* grad_output, float* grad_weight_hwc,
                                         float* grad_bias, pthreadpool_t pool) {
  BackwardWeight<1>(s, input, grad_output, grad_weight_hwc, grad_bias, pool);
}

void f32_dwconv2d_bwd_weight_3x3s2__neon(const Conv2dShape& s, const float* input,
                                         const float* grad_output, float* grad_weight_hwc,
                                         float* grad_bias, pthreadpool_t pool) {
  BackwardWeight<2>(s, input, grad_output, grad_weight_hwc, grad_bias, pool);
}

}  // namespace persephonee
