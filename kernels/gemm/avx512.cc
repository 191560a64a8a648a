// AVX-512F micro-kernel, 14x32: 28 zmm accumulators + 2 for the B row + 1 broadcast of A = 31 of
// the 32 zmm registers. Each step issues 28 FMAs for 2 loads and 14 broadcasts (16 loads), so
// two 512-bit FMA pipes stay busy with loads to spare. A is broadcast one value at a time and
// read in place through its strides (never packed: packing a plain A means gathers or
// transposes that cost as much as the product when n is small); 14 row pointers would not fit
// in the general registers, so full tiles address rows as 5 bases + {0, 1, 2} x row stride.
// B is packed in 32-wide panels with 512-bit moves. Partial tiles store through lane masks.
//
// This file is the only one built with -mavx512f; its helpers have internal linkage so no
// AVX-512 code can be picked by the linker for a caller on a CPU without it.
#include <immintrin.h>

#include <algorithm>
#include <cassert>
#include <cstdint>

#include "kernels/gemm/ukernel.h"

namespace persephonee {
namespace {

constexpr size_t kMr = 14;
constexpr size_t kNr = 32;

inline __mmask16 LowMask(size_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
}

// The step body: 2 B loads, then for each row a broadcast of A and 2 FMAs. ROW_PTR(i) is the
// address of row i's value at this step.
#define PERSEPHONEE_STEP(ROW_PTR)              \
  {                                            \
    const __m512 b0 = _mm512_loadu_ps(b);      \
    const __m512 b1 = _mm512_loadu_ps(b + 16); \
    PERSEPHONEE_ROW(0, ROW_PTR(0))             \
    PERSEPHONEE_ROW(1, ROW_PTR(1))             \
    PERSEPHONEE_ROW(2, ROW_PTR(2))             \
    PERSEPHONEE_ROW(3, ROW_PTR(3))             \
    PERSEPHONEE_ROW(4, ROW_PTR(4))             \
    PERSEPHONEE_ROW(5, ROW_PTR(5))             \
    PERSEPHONEE_ROW(6, ROW_PTR(6))             \
    PERSEPHONEE_ROW(7, ROW_PTR(7))             \
    PERSEPHONEE_ROW(8, ROW_PTR(8))             \
    PERSEPHONEE_ROW(9, ROW_PTR(9))             \
    PERSEPHONEE_ROW(10, ROW_PTR(10))           \
    PERSEPHONEE_ROW(11, ROW_PTR(11))           \
    PERSEPHONEE_ROW(12, ROW_PTR(12))           \
    PERSEPHONEE_ROW(13, ROW_PTR(13))           \
    b += kNr;                                  \
  }
#define PERSEPHONEE_ROW(i, ptr)                     \
  {                                                 \
    const __m512 ai = _mm512_set1_ps(*(ptr));       \
    acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]); \
    acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]); \
  }

// All 14 rows: five base pointers (rows 0, 3, 6, 9, 12) and the row stride as an index, so
// the addresses take 7 general registers whatever the strides; the bases advance by the step
// stride.
inline void Accumulate14(size_t kc, const float* a, size_t rs, size_t ss, const float* b,
                         __m512 (&acc)[kMr][2]) {
  const float* r0 = a;
  const float* r3 = a + 3 * rs;
  const float* r6 = a + 6 * rs;
  const float* r9 = a + 9 * rs;
  const float* r12 = a + 12 * rs;
  const size_t rs2 = 2 * rs;
#define PERSEPHONEE_FULL_ROW(i) \
  ((i) == 0    ? r0             \
   : (i) == 1  ? r0 + rs        \
   : (i) == 2  ? r0 + rs2       \
   : (i) == 3  ? r3             \
   : (i) == 4  ? r3 + rs        \
   : (i) == 5  ? r3 + rs2       \
   : (i) == 6  ? r6             \
   : (i) == 7  ? r6 + rs        \
   : (i) == 8  ? r6 + rs2       \
   : (i) == 9  ? r9             \
   : (i) == 10 ? r9 + rs        \
   : (i) == 11 ? r9 + rs2       \
   : (i) == 12 ? r12            \
               : r12 + rs)
  for (size_t p = 0; p < kc; ++p) {
    PERSEPHONEE_STEP(PERSEPHONEE_FULL_ROW)
    r0 += ss;
    r3 += ss;
    r6 += ss;
    r9 += ss;
    r12 += ss;
  }
#undef PERSEPHONEE_FULL_ROW
}

// m < 14 rows: exactly R rows, one pointer each, so a tile of 2 rows costs 2 rows of FMAs.
// Above 7 rows the pointers no longer all fit in registers, but this only runs on the last row
// tile of a matrix (or of a Winograd block).
template <size_t R>
void AccumulateRows(size_t kc, const float* a, size_t rs, size_t ss, const float* b,
                    __m512 (&acc)[kMr][2]) {
  const float* row[R];
  for (size_t i = 0; i < R; ++i) row[i] = a + i * rs;
  size_t off = 0;
  for (size_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_loadu_ps(b);
    const __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 14
    for (size_t i = 0; i < R; ++i) {
      const __m512 ai = _mm512_set1_ps(row[i][off]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    off += ss;
    b += kNr;
  }
}

void AccumulatePartial(size_t m, size_t kc, const float* a, size_t rs, size_t ss, const float* b,
                       __m512 (&acc)[kMr][2]) {
  switch (m) {
    case 1:
      return AccumulateRows<1>(kc, a, rs, ss, b, acc);
    case 2:
      return AccumulateRows<2>(kc, a, rs, ss, b, acc);
    case 3:
      return AccumulateRows<3>(kc, a, rs, ss, b, acc);
    case 4:
      return AccumulateRows<4>(kc, a, rs, ss, b, acc);
    case 5:
      return AccumulateRows<5>(kc, a, rs, ss, b, acc);
    case 6:
      return AccumulateRows<6>(kc, a, rs, ss, b, acc);
    case 7:
      return AccumulateRows<7>(kc, a, rs, ss, b, acc);
    case 8:
      return AccumulateRows<8>(kc, a, rs, ss, b, acc);
    case 9:
      return AccumulateRows<9>(kc, a, rs, ss, b, acc);
    case 10:
      return AccumulateRows<10>(kc, a, rs, ss, b, acc);
    case 11:
      return AccumulateRows<11>(kc, a, rs, ss, b, acc);
    case 12:
      return AccumulateRows<12>(kc, a, rs, ss, b, acc);
    default:
      return AccumulateRows<13>(kc, a, rs, ss, b, acc);
  }
}

#undef PERSEPHONEE_ROW
#undef PERSEPHONEE_STEP

}  // namespace

void f32_gemm_ukernel_14x32__avx512(size_t m, size_t n, size_t kc, const float* __restrict a,
                                    size_t a_row_stride, size_t a_step_stride,
                                    const float* __restrict b_panel, float* __restrict c,
                                    size_t ldc, bool accumulate) {
  assert(m >= 1 && m <= kMr && n >= 1 && n <= kNr && kc >= 1);
  __m512 acc[kMr][2];
  for (size_t i = 0; i < kMr; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  if (m == kMr) {
    Accumulate14(kc, a, a_row_stride, a_step_stride, b_panel, acc);
  } else {
    AccumulatePartial(m, kc, a, a_row_stride, a_step_stride, b_panel, acc);
  }
  if (n == kNr) {
    for (size_t i = 0; i < m; ++i) {
      float* row = c + i * ldc;
      __m512 lo = acc[i][0];
      __m512 hi = acc[i][1];
      if (accumulate) {
        lo = _mm512_add_ps(lo, _mm512_loadu_ps(row));
        hi = _mm512_add_ps(hi, _mm512_loadu_ps(row + 16));
      }
      _mm512_storeu_ps(row, lo);
      _mm512_storeu_ps(row + 16, hi);
    }
    return;
  }
  const __mmask16 mask_lo = LowMask(n);
  const __mmask16 mask_hi = LowMask(n > 16 ? n - 16 : 0);
  for (size_t i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    __m512 lo = acc[i][0];
    __m512 hi = acc[i][1];
    if (accumulate) {
      lo = _mm512_add_ps(lo, _mm512_maskz_loadu_ps(mask_lo, row));
      hi = _mm512_add_ps(hi, _mm512_maskz_loadu_ps(mask_hi, row + 16));
    }
    _mm512_mask_storeu_ps(row, mask_lo, lo);
    _mm512_mask_storeu_ps(row + 16, mask_hi, hi);
  }
}

void f32_gemm_pack_b_32__avx512(size_t nr, size_t k, size_t n, const float* b, size_t ldb,
                                bool trans, float* __restrict packed) {
  assert(nr == kNr);
  (void)nr;
  const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i index = _mm512_mullo_epi32(lane, _mm512_set1_epi32(static_cast<int>(ldb)));
  for (size_t j0 = 0; j0 < n; j0 += kNr) {
    const size_t cols = std::min(kNr, n - j0);
    const __mmask16 lo = LowMask(cols), hi = LowMask(cols > 16 ? cols - 16 : 0);
    if (trans) {
      // Stored n x k: gather one value from each of the panel's rows of storage per step.
      const float* src = b + j0 * ldb;
      for (size_t p = 0; p < k; ++p) {
        _mm512_storeu_ps(packed + p * kNr,
                         _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lo, index, src + p, 4));
        _mm512_storeu_ps(
            packed + p * kNr + 16,
            _mm512_mask_i32gather_ps(_mm512_setzero_ps(), hi, index, src + 16 * ldb + p, 4));
      }
    } else {
      const float* src = b + j0;
      for (size_t p = 0; p < k; ++p) {
        _mm512_storeu_ps(packed + p * kNr, _mm512_maskz_loadu_ps(lo, src + p * ldb));
        _mm512_storeu_ps(packed + p * kNr + 16, _mm512_maskz_loadu_ps(hi, src + p * ldb + 16));
      }
    }
    packed += k * kNr;
  }
}

namespace {

// Whether the 14 rows of a plain A, `lda` floats apart, crowd a single L1 set: with a row stride
// that is a multiple of 4 KB they all fall into one 64-set x 64-byte L1 set and evict each
// other (square 1024 ran at half the rate of square 512). More than 7 rows per set (12-way L1s) is
// the cut.
bool RowsCrowdL1Sets(size_t lda) {
  constexpr size_t kSets = 64, kLine = 64;
  size_t count[kSets] = {};
  size_t most = 0;
  for (size_t i = 0; i < kMr; ++i) {
    const size_t set = (i * lda * sizeof(float) / kLine) % kSets;
    most = std::max(most, ++count[set]);
  }
  return most > 7;
}

}  // namespace

void f32_gemm__avx512(const GemmArgs& args, pthreadpool_t pool) {
  static const GemmKernel in_place = [] {
    GemmKernel k;
    k.ukernel = f32_gemm_ukernel_14x32__avx512;
    k.pack_a = nullptr;  // Reads A in place.
    k.pack_b = f32_gemm_pack_b_32__avx512;
    k.mr = kMr;
    k.nr = kNr;
    k.blocking = gemm_blocking_from_caches(k.mr, k.nr);
    return k;
  }();
  static const GemmKernel packed = [] {
    GemmKernel k = in_place;
    k.pack_a = f32_gemm_pack_a__scalar;  // Contiguous reads, 14-float rows written.
    return k;
  }();
  // The same kernel and reduction order either way: the choice never changes the bits.
  const bool crowded = args.trans_a == Transpose::kNo && RowsCrowdL1Sets(args.lda);
  f32_gemm_blocked(args, crowded ? packed : in_place, pool);
}

}  // namespace persephonee
