// Convolution on top of f32_gemm.
//
// Per image and group, with P = out_h·out_w output pixels, K = kernel_h·kernel_w·Cig taps:
//   forward          col[P][K] = im2col(X);       Y[P][Cog]  = col · W_gᵀ      (+ bias)
//   backward-input   dcol[P][K] = dY · W_g;        dX = col2im(dcol)
//   backward-weight  col[P][K] = im2col(X);       dW_g[Cog][K] += dYᵀ · col   (image by image)
// The col buffer is the caller's workspace. A patch row of col is laid out (kh, kw, ci), which is
// exactly a row of the OHWI weights, so W_g is used in place. Pointwise convolutions (1x1,
// stride 1, no padding) have col == X and run as one GEMM over every pixel of the batch.
//
// col2im is written as a gather (each input pixel sums the dcol entries that read it), so rows
// can be split over threads without atomics and the sum order never depends on the split.
#include "kernels/gemm/gemm.h"

#include <pthreadpool.h>

#include <cassert>
#include <cstddef>
#include <cstring>

#include "kernels/conv2d/conv2d.h"

namespace persephonee {
namespace {

struct ColContext {
  const Conv2dShape* s;
  size_t group;
  const float* image;  // One image of X (im2col) or of dX (col2im), NHWC.
  float* image_out;
  float* col;  // P x K.
  const float* col_in;
};

// Writes the rows of col that belong to output row `oh`.
void Im2colRow(void* context, size_t oh) {
  const ColContext& c = *static_cast<const ColContext*>(context);
  const Conv2dShape& s = *c.s;
  const size_t ow_n = s.out_w(), cig = s.group_in_c();
  const size_t k_total = s.kernel_h * s.kernel_w * cig;
  for (size_t ow = 0; ow < ow_n; ++ow) {
    float* dst = c.col + (oh * ow_n + ow) * k_total;
    for (size_t kh = 0; kh < s.kernel_h; ++kh) {
      const ptrdiff_t ih = static_cast<ptrdiff_t>(oh * s.stride_h + kh * s.dilation_h) -
                           static_cast<ptrdiff_t>(s.pad_top);
      const bool row_ok = ih >= 0 && ih < static_cast<ptrdiff_t>(s.in_h);
      for (size_t kw = 0; kw < s.kernel_w; ++kw, dst += cig) {
        const ptrdiff_t iw = static_cast<ptrdiff_t>(ow * s.stride_w + kw * s.dilation_w) -
                             static_cast<ptrdiff_t>(s.pad_left);
        if (row_ok && iw >= 0 && iw < static_cast<ptrdiff_t>(s.in_w)) {
          const float* src = c.image + (ih * s.in_w + iw) * s.in_c + c.group * cig;
          std::memcpy(dst, src, cig * sizeof(float));
        } else {
          std::memset(dst, 0, cig * sizeof(float));
        }
      }
    }
  }
}

// Fills input row `ih` of dX (this group's channels) from dcol.
void Col2imRow(void* context, size_t ih) {
  const ColContext& c = *static_cast<const ColContext*>(context);
  const Conv2dShape& s = *c.s;
  const size_t oh_n = s.out_h(), ow_n = s.out_w(), cig = s.group_in_c();
  const size_t k_total = s.kernel_h * s.kernel_w * cig;
  for (size_t iw = 0; iw < s.in_w; ++iw) {
    float* dst = c.image_out + (ih * s.in_w + iw) * s.in_c + c.group * cig;
    for (size_t ci = 0; ci < cig; ++ci) dst[ci] = 0.0f;
    for (size_t kh = 0; kh < s.kernel_h; ++kh) {
      // oh * stride_h = ih + pad_top - kh * dilation_h must hold for a whole oh in range.
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
        const float* src = c.col_in + (oh * ow_n + ow) * k_total + (kh * s.kernel_w + kw) * cig;
        for (size_t ci = 0; ci < cig; ++ci) dst[ci] += src[ci];
      }
    }
  }
}

void Im2col(const Conv2dShape& s, size_t group, const float* image, float* col,
            pthreadpool_t pool) {
  ColContext c{&s, group, image, nullptr, col, nullptr};
  pthreadpool_parallelize_1d(pool, Im2colRow, &c, s.out_h(), /*flags=*/0);
}

void Col2im(const Conv2dShape& s, size_t group, const float* col, float* image,
            pthreadpool_t pool) {
  ColContext c{&s, group, nullptr, image, nullptr, col};
  pthreadpool_parallelize_1d(pool, Col2imRow, &c, s.in_h, /*flags=*/0);
}

}  // namespace

size_t f32_conv2d_gemm_workspace_size(const Conv2dShape& s) {
  if (s.is_pointwise()) return 0;
  return s.out_h() * s.out_w() * s.kernel_h * s.kernel_w * s.group_in_c() * sizeof(float);
}

void f32_conv2d_fwd__gemm(const Conv2dShape& s, const float* input, const float* weight,
                          const float* bias, float* output, void* workspace, pthreadpool_t pool) {
  assert(s.Validate().ok());
  const size_t pixels = s.out_h() * s.out_w();
  const size_t cig = s.group_in_c(), cog = s.group_out_c();
  const size_t k_total = s.kernel_h * s.kernel_w * cig;
  if (bias != nullptr) {
    for (size_t p = 0; p < s.batch * pixels; ++p) {
      std::memcpy(output + p * s.out_c, bias, s.out_c * sizeof(float));
    }
  }
  GemmArgs g;
  g.trans_b = Transpose::kYes;  // W_g is stored [Cog][K]: op(B) = W_gᵀ.
  g.n = cog;
  g.k = k_total;
  g.ldb = k_total;
  g.ldc = s.out_c;
  g.accumulate = bias != nullptr;
  if (s.is_pointwise()) {
    g.m = s.batch * pixels;
    g.lda = s.in_c;
    for (size_t grp = 0; grp < s.groups; ++grp) {
      g.a = input + grp * cig;
      g.b = weight + grp * cog * k_total;
      g.c = output + grp * cog;
      f32_gemm(g, pool);
    }
    return;
  }
  assert(workspace != nullptr);
  float* col = static_cast<float*>(workspace);
  g.m = pixels;
  g.a = col;
  g.lda = k_total;
  for (size_t n = 0; n < s.batch; ++n) {
    const float* image = input + n * s.in_h * s.in_w * s.in_c;
    for (size_t grp = 0; grp < s.groups; ++grp) {
      Im2col(s, grp, image, col, pool);
      g.b = weight + grp * cog * k_total;
      g.c = output + n * pixels * s.out_c + grp * cog;
      f32_gemm(g, pool);
    }
  }
}

void f32_conv2d_bwd_input__gemm(const Conv2dShape& s, const float* grad_output, const float* weight,
                                float* grad_input, void* workspace, pthreadpool_t pool) {
  assert(s.Validate().ok());
  const size_t pixels = s.out_h() * s.out_w();
  const size_t cig = s.group_in_c(), cog = s.group_out_c();
  const size_t k_total = s.kernel_h * s.kernel_w * cig;
  GemmArgs g;
  g.k = cog;
  g.lda = s.out_c;
  g.ldb = k_total;  // W_g as stored, [Cog][K].
  if (s.is_pointwise()) {
    g.m = s.batch * pixels;
    g.n = cig;
    g.ldc = s.in_c;
    for (size_t grp = 0; grp < s.groups; ++grp) {
      g.a = grad_output + grp * cog;
      g.b = weight + grp * cog * k_total;
      g.c = grad_input + grp * cig;
      f32_gemm(g, pool);
    }
    return;
  }
  assert(workspace != nullptr);
  float* col = static_cast<float*>(workspace);
  g.m = pixels;
  g.n = k_total;
  g.c = col;
  g.ldc = k_total;
  for (size_t n = 0; n < s.batch; ++n) {
    float* image = grad_input + n * s.in_h * s.in_w * s.in_c;
    for (size_t grp = 0; grp < s.groups; ++grp) {
      g.a = grad_output + n * pixels * s.out_c + grp * cog;
      g.b = weight + grp * cog * k_total;
      f32_gemm(g, pool);
      Col2im(s, grp, col, image, pool);
    }
  }
}

void f32_conv2d_bwd_weight__gemm(const Conv2dShape& s, const float* input, const float* grad_output,
                                 float* grad_weight, float* grad_bias, void* workspace,
                                 pthreadpool_t pool) {
  assert(s.Validate().ok());
  const size_t pixels = s.out_h() * s.out_w();
  const size_t cig = s.group_in_c(), cog = s.group_out_c();
  const size_t k_total = s.kernel_h * s.kernel_w * cig;
  GemmArgs g;
  g.trans_a = Transpose::kYes;  // dY is stored [pixels][out_c]: op(A) = dY_gᵀ.
  g.m = cog;
  g.n = k_total;
  g.lda = s.out_c;
  g.ldc = k_total;
  if (s.is_pointwise()) {
    g.k = s.batch * pixels;
    g.ldb = s.in_c;
    for (size_t grp = 0; grp < s.groups; ++grp) {
      g.a = grad_output + grp * cog;
      g.b = input + grp * cig;
      g.c = grad_weight + grp * cog * k_total;
      f32_gemm(g, pool);
    }
  } else {
    assert(workspace != nullptr);
    float* col = static_cast<float*>(workspace);
    g.k = pixels;
    g.b = col;
    g.ldb = k_total;
    for (size_t n = 0; n < s.batch; ++n) {
      const float* image = input + n * s.in_h * s.in_w * s.in_c;
      for (size_t grp = 0; grp < s.groups; ++grp) {
        Im2col(s, grp, image, col, pool);
        g.a = grad_output + n * pixels * s.out_c + grp * cog;
        g.c = grad_weight + grp * cog * k_total;
        g.accumulate = n > 0;
        f32_gemm(g, pool);
      }
    }
  }
  if (grad_bias != nullptr) {
    for (size_t oc = 0; oc < s.out_c; ++oc) grad_bias[oc] = 0.0f;
    for (size_t p = 0; p < s.batch * pixels; ++p) {
      const float* go = grad_output + p * s.out_c;
      for (size_t oc = 0; oc < s.out_c; ++oc) grad_bias[oc] += go[oc];
    }
  }
}

}  // namespace persephonee
