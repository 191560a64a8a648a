// NEON micro-kernel (8x8, fmla by lane) with its packing, for aarch64.
//
// Register budget: 16 accumulators (8 rows x 2 q-registers of 4 columns), 2 q-registers of A
// (8 rows) and 2 of B (8 columns) = 20 of the 32 vector registers, leaving room for the
// compiler to software-pipeline the next step's loads. Each step issues 16 fmla for 4 q loads:
// every A value is used by lane, so no dup/broadcast instructions are needed.
#include <arm_neon.h>

#include <algorithm>
#include <cassert>

#include "kernels/gemm/ukernel.h"

namespace persephonee {
namespace {

constexpr size_t kMr = 8;
constexpr size_t kNr = 8;

// dst[p * 8 + j] = src[p * ld + j] for j < cols, 0 for cols <= j < 8.
void CopyPanel8(size_t k, size_t cols, const float* src, size_t ld, float* __restrict dst) {
  if (cols == 8) {
    for (size_t p = 0; p < k; ++p) {
      vst1q_f32(dst, vld1q_f32(src));
      vst1q_f32(dst + 4, vld1q_f32(src + 4));
      src += ld;
      dst += 8;
    }
    return;
  }
  for (size_t p = 0; p < k; ++p) {
    size_t j = 0;
    for (; j < cols; ++j) dst[j] = src[j];
    for (; j < 8; ++j) dst[j] = 0.0f;
    src += ld;
    dst += 8;
  }
}

// Columns p..p+3 of four rows, transposed: out[q] = {r0[q], r1[q], r2[q], r3[q]}.
void Transpose4x4(float32x4_t r0, float32x4_t r1, float32x4_t r2, float32x4_t r3,
                  float32x4_t out[4]) {
  const float64x2_t t0 = vreinterpretq_f64_f32(vtrn1q_f32(r0, r1));
  const float64x2_t t1 = vreinterpretq_f64_f32(vtrn2q_f32(r0, r1));
  const float64x2_t t2 = vreinterpretq_f64_f32(vtrn1q_f32(r2, r3));
  const float64x2_t t3 = vreinterpretq_f64_f32(vtrn2q_f32(r2, r3));
  out[0] = vreinterpretq_f32_f64(vtrn1q_f64(t0, t2));
  out[1] = vreinterpretq_f32_f64(vtrn1q_f64(t1, t3));
  out[2] = vreinterpretq_f32_f64(vtrn2q_f64(t0, t2));
  out[3] = vreinterpretq_f32_f64(vtrn2q_f64(t1, t3));
}

// dst[p * 8 + j] = src[j * ld + p] for j < cols, 0 for cols <= j < 8.
void TransposePanel8(size_t k, size_t cols, const float* src, size_t ld, float* __restrict dst) {
  size_t p = 0;
  if (cols == 8) {
    for (; p + 4 <= k; p += 4) {
      float32x4_t lo[4];
      float32x4_t hi[4];
      Transpose4x4(vld1q_f32(src + 0 * ld + p), vld1q_f32(src + 1 * ld + p),
                   vld1q_f32(src + 2 * ld + p), vld1q_f32(src + 3 * ld + p), lo);
      Transpose4x4(vld1q_f32(src + 4 * ld + p), vld1q_f32(src + 5 * ld + p),
                   vld1q_f32(src + 6 * ld + p), vld1q_f32(src + 7 * ld + p), hi);
      for (size_t q = 0; q < 4; ++q) {
        vst1q_f32(dst + (p + q) * 8, lo[q]);
        vst1q_f32(dst + (p + q) * 8 + 4, hi[q]);
      }
    }
  }
  for (; p < k; ++p) {
    size_t j = 0;
    for (; j < cols; ++j) dst[p * 8 + j] = src[j * ld + p];
    for (; j < 8; ++j) dst[p * 8 + j] = 0.0f;
  }
}

// One reduction step of the 8x8 tile: 16 fmla by lane, A's 8 values used in place.
inline __attribute__((always_inline)) void FmaStep(
    float32x4_t a0123, float32x4_t a4567, float32x4_t bl, float32x4_t bh, float32x4_t* c0l,
    float32x4_t* c0h, float32x4_t* c1l, float32x4_t* c1h, float32x4_t* c2l, float32x4_t* c2h,
    float32x4_t* c3l, float32x4_t* c3h, float32x4_t* c4l, float32x4_t* c4h, float32x4_t* c5l,
    float32x4_t* c5h, float32x4_t* c6l, float32x4_t* c6h, float32x4_t* c7l, float32x4_t* c7h) {
  *c0l = vfmaq_laneq_f32(*c0l, bl, a0123, 0);
  *c0h = vfmaq_laneq_f32(*c0h, bh, a0123, 0);
  *c1l = vfmaq_laneq_f32(*c1l, bl, a0123, 1);
  *c1h = vfmaq_laneq_f32(*c1h, bh, a0123, 1);
  *c2l = vfmaq_laneq_f32(*c2l, bl, a0123, 2);
  *c2h = vfmaq_laneq_f32(*c2h, bh, a0123, 2);
  *c3l = vfmaq_laneq_f32(*c3l, bl, a0123, 3);
  *c3h = vfmaq_laneq_f32(*c3h, bh, a0123, 3);
  *c4l = vfmaq_laneq_f32(*c4l, bl, a4567, 0);
  *c4h = vfmaq_laneq_f32(*c4h, bh, a4567, 0);
  *c5l = vfmaq_laneq_f32(*c5l, bl, a4567, 1);
  *c5h = vfmaq_laneq_f32(*c5h, bh, a4567, 1);
  *c6l = vfmaq_laneq_f32(*c6l, bl, a4567, 2);
  *c6h = vfmaq_laneq_f32(*c6h, bh, a4567, 2);
  *c7l = vfmaq_laneq_f32(*c7l, bl, a4567, 3);
  *c7h = vfmaq_laneq_f32(*c7h, bh, a4567, 3);
}

}  // namespace

void f32_gemm_pack_a_8__neon(size_t mr, size_t m, size_t k, const float* a, size_t lda, bool trans,
                             float* __restrict packed) {
  assert(mr == kMr);
  for (size_t i0 = 0; i0 < m; i0 += kMr) {
    const size_t rows = std::min(kMr, m - i0);
    if (trans) {
      CopyPanel8(k, rows, a + i0, lda, packed);
    } else {
      TransposePanel8(k, rows, a + i0 * lda, lda, packed);
    }
    packed += k * kMr;
  }
}

void f32_gemm_pack_b_8__neon(size_t nr, size_t k, size_t n, const float* b, size_t ldb, bool trans,
                             float* __restrict packed) {
  assert(nr == kNr);
  for (size_t j0 = 0; j0 < n; j0 += kNr) {
    const size_t cols = std::min(kNr, n - j0);
    if (trans) {
      TransposePanel8(k, cols, b + j0 * ldb, ldb, packed);
    } else {
      CopyPanel8(k, cols, b + j0, ldb, packed);
    }
    packed += k * kNr;
  }
}

void f32_gemm_ukernel_8x8__neon(size_t m, size_t n, size_t kc, const float* __restrict a,
                                size_t a_row_stride, size_t a_step_stride,
                                const float* __restrict b_panel, float* __restrict c, size_t ldc,
                                bool accumulate) {
  assert(m >= 1 && m <= kMr && n >= 1 && n <= kNr && kc >= 1);
  assert(a_row_stride == 1);
  (void)a_row_stride;
  float32x4_t c0l = vdupq_n_f32(0.0f), c0h = vdupq_n_f32(0.0f);
  float32x4_t c1l = vdupq_n_f32(0.0f), c1h = vdupq_n_f32(0.0f);
  float32x4_t c2l = vdupq_n_f32(0.0f), c2h = vdupq_n_f32(0.0f);
  float32x4_t c3l = vdupq_n_f32(0.0f), c3h = vdupq_n_f32(0.0f);
  float32x4_t c4l = vdupq_n_f32(0.0f), c4h = vdupq_n_f32(0.0f);
  float32x4_t c5l = vdupq_n_f32(0.0f), c5h = vdupq_n_f32(0.0f);
  float32x4_t c6l = vdupq_n_f32(0.0f), c6h = vdupq_n_f32(0.0f);
  float32x4_t c7l = vdupq_n_f32(0.0f), c7h = vdupq_n_f32(0.0f);
  const float* b = b_panel;
  // Software-pipelined: the next step's A and B are loaded while this step's 16 fmla run, so an
  // in-order core (Cortex-A53/A55) does not wait on load latency; two steps per iteration.
  float32x4_t a0123 = vld1q_f32(a);
  float32x4_t a4567 = vld1q_f32(a + 4);
  float32x4_t bl = vld1q_f32(b);
  float32x4_t bh = vld1q_f32(b + 4);
  size_t p = 1;
  for (; p + 2 <= kc; p += 2) {
    const float* a_next = a + a_step_stride;
    const float32x4_t na0123 = vld1q_f32(a_next);
    const float32x4_t na4567 = vld1q_f32(a_next + 4);
    const float32x4_t nbl = vld1q_f32(b + kNr);
    const float32x4_t nbh = vld1q_f32(b + kNr + 4);
    FmaStep(a0123, a4567, bl, bh, &c0l, &c0h, &c1l, &c1h, &c2l, &c2h, &c3l, &c3h, &c4l, &c4h, &c5l,
            &c5h, &c6l, &c6h, &c7l, &c7h);
    a = a_next + a_step_stride;
    b += 2 * kNr;
    a0123 = vld1q_f32(a);
    a4567 = vld1q_f32(a + 4);
    bl = vld1q_f32(b);
    bh = vld1q_f32(b + 4);
    FmaStep(na0123, na4567, nbl, nbh, &c0l, &c0h, &c1l, &c1h, &c2l, &c2h, &c3l, &c3h, &c4l, &c4h,
            &c5l, &c5h, &c6l, &c6h, &c7l, &c7h);
  }
  if (p < kc) {
    // One more step beyond the loaded one (kc even).
    const float* a_next = a + a_step_stride;
    const float32x4_t na0123 = vld1q_f32(a_next);
    const float32x4_t na4567 = vld1q_f32(a_next + 4);
    const float32x4_t nbl = vld1q_f32(b + kNr);
    const float32x4_t nbh = vld1q_f32(b + kNr + 4);
    FmaStep(a0123, a4567, bl, bh, &c0l, &c0h, &c1l, &c1h, &c2l, &c2h, &c3l, &c3h, &c4l, &c4h, &c5l,
            &c5h, &c6l, &c6h, &c7l, &c7h);
    a0123 = na0123;
    a4567 = na4567;
    bl = nbl;
    bh = nbh;
  }
  // The last loaded step.
  FmaStep(a0123, a4567, bl, bh, &c0l, &c0h, &c1l, &c1h, &c2l, &c2h, &c3l, &c3h, &c4l, &c4h, &c5l,
          &c5h, &c6l, &c6h, &c7l, &c7h);
  const float32x4_t acc[kMr][2] = {{c0l, c0h}, {c1l, c1h}, {c2l, c2h}, {c3l, c3h},
                                   {c4l, c4h}, {c5l, c5h}, {c6l, c6h}, {c7l, c7h}};
  if (m == kMr && n == kNr) {
    for (size_t i = 0; i < kMr; ++i) {
      float* row = c + i * ldc;
      float32x4_t lo = acc[i][0];
      float32x4_t hi = acc[i][1];
      if (accumulate) {
        lo = vaddq_f32(lo, vld1q_f32(row));
        hi = vaddq_f32(hi, vld1q_f32(row + 4));
      }
      vst1q_f32(row, lo);
      vst1q_f32(row + 4, hi);
    }
    return;
  }
  // Partial tile: spill the registers and store only the m x n corner.
  float tile[kMr][kNr];
  for (size_t i = 0; i < kMr; ++i) {
    vst1q_f32(tile[i], acc[i][0]);
    vst1q_f32(tile[i] + 4, acc[i][1]);
  }
  for (size_t i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    for (size_t j = 0; j < n; ++j) row[j] = accumulate ? row[j] + tile[i][j] : tile[i][j];
  }
}

void f32_gemm__neon(const GemmArgs& args, pthreadpool_t pool) {
  static const GemmKernel kernel = [] {
    GemmKernel k;
    k.ukernel = f32_gemm_ukernel_8x8__neon;
    k.pack_a = f32_gemm_pack_a_8__neon;
    k.pack_b = f32_gemm_pack_b_8__neon;
    k.mr = kMr;
    k.nr = kNr;
    k.blocking = gemm_blocking_from_caches(k.mr, k.nr);
    return k;
  }();
  f32_gemm_blocked(args, kernel, pool);
}

}  // namespace persephonee
