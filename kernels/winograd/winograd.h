// Winograd convolution: 3x3, stride 1, dilation 1, one group, any padding, float32.
// Layouts as the conv2d family has them (conv2d.h): activations NHWC, weights OHWI.
//
// F(m x m, 3x3) computes each m x m tile of the output from a T x T patch of the input,
// T = m + 2, with T² products per (tile, in-channel, out-channel) instead of 9·m²:
//   U[p][ci][co] = (G g[co][ci] Gᵀ)[p]      filter transform, once, at plan time (pack);
//   V[p][t][ci]  = (Bᵀ d[t][ci] B)[p]         input transform of tile t's patch d;
//   M[p][t][co]  = Σ_ci V[p][t][ci]·U[p][ci][co]   T² GEMMs, [tiles x Cin]·[Cin x Cout];
//   Y[t][co]     = clamp(Aᵀ M[.][t][co] A + bias[co])   output transform.
// m = 2 (F(2x2,3x3), T² = 16, 2.25x fewer products) and m = 4 (F(4x4,3x3), T² = 36, 4x fewer,
// with the larger transform constants costing about one decimal digit of precision).
//
// The run (f32_winograd_fwd) walks the tiles of the whole batch in blocks of `tile_block` tiles;
// for each block it transforms the input into V, runs the GEMM micro-kernel of the configuration
// (A = V in place, B = U pre-packed into the kernel's panels by f32_winograd_pack_weights) and
// transforms M into the output. With at least as many blocks as threads, each pool task owns
// one slice of the workspace and a fixed range of blocks; with fewer (small images, wide
// channels), the threads share each block phase by phase (tiles, then positions, then tiles).
// A tile's arithmetic never depends on which block or task holds it, so results are bitwise
// identical for any thread count.
//
// The transforms are micro-kernels vectorised across channels (contiguous in NHWC): each reads
// the patch through T² pixel pointers (out-of-image pixels point at a zero row) and writes
// through m² pointers (out-of-image outputs point at a scratch row), so edges need no branches.
#ifndef PERSEPHONEE_KERNELS_WINOGRAD_WINOGRAD_H_
#define PERSEPHONEE_KERNELS_WINOGRAD_WINOGRAD_H_

#include <pthreadpool.h>

#include <cstddef>
#include <limits>

#include "kernels/conv2d/conv2d.h"
#include "kernels/gemm/ukernel.h"

namespace persephonee {

/// V[p * v_stride + c] = (Bᵀ d B)[p] for c < channels, with d[i][j] = patch[i * T + j][c].
using WinogradInputFn = void (*)(size_t channels, const float* const* patch, float* v,
                                 size_t v_stride);
/// out[i * m + j][c] = min(max((Aᵀ M A)[i][j] + bias[c], out_min), out_max) for c < channels,
/// with M[p] = mt[p * m_stride + c]. `bias` is never null (the driver passes zeros).
using WinogradOutputFn = void (*)(size_t channels, const float* mt, size_t m_stride,
                                  const float* bias, float out_min, float out_max,
                                  float* const* out);

/// Transforms for F(2x2,3x3) (patch 4x4, output 2x2) and F(4x4,3x3) (patch 6x6, output 4x4).
struct WinogradTransforms {
  WinogradInputFn input_f2 = nullptr;
  WinogradOutputFn output_f2 = nullptr;
  WinogradInputFn input_f4 = nullptr;
  WinogradOutputFn output_f4 = nullptr;
};

/// One Winograd implementation: its transforms and the GEMM micro-kernel of the transformed
/// domain (with its packing and reduction depth). Packed weights are only valid for the
/// configuration that packed them.
struct WinogradConfig {
  const char* name = "";  ///< e.g. "avx2 transforms + avx512 16x32 gemm".
  WinogradTransforms transforms;
  GemmUkernelFn ukernel = nullptr;
  GemmPackAFn pack_a = nullptr;  ///< Null when the micro-kernel reads A in place.
  GemmPackBFn pack_b = nullptr;
  size_t mr = 0;
  size_t nr = 0;
  size_t kc = 0;  ///< Reduction steps per micro-kernel call (Cin is cut into near-equal passes).
};

/// The configuration for this machine, chosen once from cpuinfo: the vector transforms the CPU
/// supports and the micro-kernel gemm_config() uses.
const WinogradConfig& winograd_config();

/// The scalar transforms with the portable 4x4 GEMM micro-kernel (the oracle configuration).
WinogradConfig winograd_config_scalar();

/// A convolution run with Winograd. `conv` must satisfy winograd_supports().
struct WinogradParams {
  Conv2dShape conv;
  size_t tile = 4;  ///< Output tile m: 2 for F(2x2,3x3), 4 for F(4x4,3x3).
  float output_min = -std::numeric_limits<float>::infinity();
  float output_max = std::numeric_limits<float>::infinity();
  /// Tiles per block (0: chosen from the shape so a block's V and M stay in L2).
  size_t tile_block = 0;
};

/// Whether Winograd computes `conv`: 3x3, stride 1, dilation 1, groups 1, valid shape.
bool winograd_supports(const Conv2dShape& conv);

/// Bytes of the packed (transformed) weights for `params` under `config`.
size_t f32_winograd_packed_weights_size(const WinogradParams& params, const WinogradConfig& config);

/// The filter transform (in double precision, rounded once) packed into `config`'s GEMM panels.
/// @param weight OHWI weights of params.conv.
/// @param packed f32_winograd_packed_weights_size() bytes, aligned to alignof(float).
void f32_winograd_pack_weights(const WinogradParams& params, const WinogradConfig& config,
                               const float* weight, void* packed);

/// Bytes of workspace f32_winograd_fwd needs when run on a pool of up to `threads` threads.
size_t f32_winograd_workspace_size(const WinogradParams& params, const WinogradConfig& config,
                                   size_t threads);

/// output = clamp(conv(input, weight) + bias). `bias` may be null. `workspace` holds
/// f32_winograd_workspace_size(params, config, threads) bytes (64-byte alignment is best) with
/// threads >= the pool's thread count. `pool` may be null.
void f32_winograd_fwd(const WinogradParams& params, const WinogradConfig& config,
                      const void* packed_weights, const float* bias, const float* input,
                      float* output, void* workspace, pthreadpool_t pool);

// Transform micro-kernels, one set per implementation.
void f32_winograd_input_f2__scalar(size_t channels, const float* const* patch, float* v,
                                   size_t v_stride);
void f32_winograd_output_f2__scalar(size_t channels, const float* mt, size_t m_stride,
                                    const float* bias, float out_min, float out_max,
                                    float* const* out);
void f32_winograd_input_f4__scalar(size_t channels, const float* const* patch, float* v,
                                   size_t v_stride);
void f32_winograd_output_f4__scalar(size_t channels, const float* mt, size_t m_stride,
                                    const float* bias, float out_min, float out_max,
                                    float* const* out);

#if defined(__x86_64__)
/// AVX2 (8 channels per ymm, masked tails). Call only when the CPU has AVX2 and FMA3.
void f32_winograd_input_f2__avx2(size_t channels, const float* const* patch, float* v,
                                 size_t v_stride);
void f32_winograd_output_f2__avx2(size_t channels, const float* mt, size_t m_stride,
                                  const float* bias, float out_min, float out_max,
                                  float* const* out);
void f32_winograd_input_f4__avx2(size_t channels, const float* const* patch, float* v,
                                 size_t v_stride);
void f32_winograd_output_f4__avx2(size_t channels, const float* mt, size_t m_stride,
                                  const float* bias, float out_min, float out_max,
                                  float* const* out);
#endif

#if defined(__x86_64__)
/// AVX-512F (16 channels per zmm, masked tails). Call only when the CPU has AVX-512F.
void f32_winograd_input_f2__avx512(size_t channels, const float* const* patch, float* v,
                                   size_t v_stride);
void f32_winograd_output_f2__avx512(size_t channels, const float* mt, size_t m_stride,
                                    const float* bias, float out_min, float out_max,
                                    float* const* out);
void f32_winograd_input_f4__avx512(size_t channels, const float* const* patch, float* v,
                                   size_t v_stride);
void f32_winograd_output_f4__avx512(size_t channels, const float* mt, size_t m_stride,
                                    const float* bias, float out_min, float out_max,
                                    float* const* out);
#endif

#if defined(__aarch64__)
/// NEON (4 channels per q register, scalar tails).
void f32_winograd_input_f2__neon(size_t channels, const float* const* patch, float* v,
                                 size_t v_stride);
void f32_winograd_output_f2__neon(size_t channels, const float* mt, size_t m_stride,
                                  const float* bias, float out_min, float out_max,
                                  float* const* out);
void f32_winograd_input_f4__neon(size_t channels, const float* const* patch, float* v,
                                 size_t v_stride);
void f32_winograd_output_f4__neon(size_t channels, const float* mt, size_t m_stride,
                                  const float* bias, float out_min, float out_max,
                                  float* const* out);
#endif

}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_WINOGRAD_WINOGRAD_H_
