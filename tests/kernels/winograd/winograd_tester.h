// WinogradTester: a fluent tester for the Winograd convolution (XNNPACK's ConvolutionOperator-
// Tester is the model). Set the shape (3x3, stride 1 is implied), the output tile m (2 or 4),
// bias, clamp, threads and tile block, then Test(config) packs the weights, runs
// f32_winograd_fwd under `config` and compares every output with the project's direct
// convolution (f32_conv2d_fwd__scalar, clamped), and checks that nothing past the output was
// written. Tolerance, per element: kRelTol[m] · S + 1e-6, with S = Σ|x·w| + |bias| over the
// element's 9·Cin terms (the oracle run on |inputs|). The transforms multiply round-off by
// their constants, F(4x4,3x3) (entries up to 8 in Aᵀ, 5 in Bᵀ) far more than F(2x2,3x3):
//   F(2x2,3x3): 1e-5 · S      F(4x4,3x3): 1e-4 · S
// With threads(n > 1) the run is repeated on a pool of n threads and must be bitwise equal.
#ifndef PERSEPHONEE_TESTS_KERNELS_WINOGRAD_WINOGRAD_TESTER_H_
#define PERSEPHONEE_TESTS_KERNELS_WINOGRAD_WINOGRAD_TESTER_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "kernels/conv2d/conv2d.h"
#include "kernels/winograd/winograd.h"

namespace persephonee {

class WinogradTester {
 public:
  WinogradTester() {
    s_.kernel_h = s_.kernel_w = 3;
    s_.in_h = s_.in_w = 5;
  }
  WinogradTester& batch(size_t v) {
    s_.batch = v;
    return *this;
  }
  WinogradTester& input_size(size_t h, size_t w) {
    s_.in_h = h;
    s_.in_w = w;
    return *this;
  }
  WinogradTester& channels(size_t in, size_t out) {
    s_.in_c = in;
    s_.out_c = out;
    return *this;
  }
  WinogradTester& padding(size_t top, size_t left, size_t bottom, size_t right) {
    s_.pad_top = top;
    s_.pad_left = left;
    s_.pad_bottom = bottom;
    s_.pad_right = right;
    return *this;
  }
  WinogradTester& padding(size_t p) { return padding(p, p, p, p); }
  /// Output tile m: 2 for F(2x2,3x3), 4 for F(4x4,3x3).
  WinogradTester& tile(size_t v) {
    tile_ = v;
    return *this;
  }
  WinogradTester& bias(bool v) {
    bias_ = v;
    return *this;
  }
  WinogradTester& clamp(float lo, float hi) {
    min_ = lo;
    max_ = hi;
    return *this;
  }
  WinogradTester& threads(size_t v) {
    threads_ = v;
    return *this;
  }
  /// Tiles per block (0: the driver's choice).
  WinogradTester& tile_block(size_t v) {
    tile_block_ = v;
    return *this;
  }
  WinogradTester& seed(uint32_t v) {
    seed_ = v;
    return *this;
  }

  /// Runs the Winograd convolution under `config` and compares it with the direct oracle.
  void Test(const WinogradConfig& config) const;

  /// "batch=.. in=HxWxC out=HxWxC pad=t,l,b,r m=.. bias=.. clamp=[..] threads=.. block=..".
  std::string Describe() const;

 private:
  Conv2dShape s_;
  size_t tile_ = 4;
  bool bias_ = true;
  float min_ = -std::numeric_limits<float>::infinity();
  float max_ = std::numeric_limits<float>::infinity();
  size_t threads_ = 1;
  size_t tile_block_ = 0;
  uint32_t seed_ = 1;
};

/// Tests a transform pair against the scalar transforms, for every channel count in 1..40:
/// patch rows at unrelated addresses, strided V / M, guards past the last channel (must stay
/// untouched), bias and clamp. `t` is the patch size (4 or 6).
void TestTransforms(size_t t, WinogradInputFn input, WinogradOutputFn output);

/// Runs `config` through the standard shape matrix, for m = 2 and 4: spatial sizes below, at and
/// above the tile (not multiples of it, odd, 1x1 outputs), padding 0/1/2 and asymmetric, channel
/// counts below/at/above the micro-kernel's mr and nr and the transforms' vector width, Cin
/// above kc (several reduction passes), batch 1 and 3, bias off, clamps, tile blocks that split
/// the tiles unevenly, and 2 and 3 threads (bitwise equal to one).
void TestWinogradShapes(const WinogradConfig& config);

}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_KERNELS_WINOGRAD_WINOGRAD_TESTER_H_
