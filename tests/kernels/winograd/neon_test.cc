// The NEON transforms against the scalar ones, and the full convolution with the NEON
// transforms and the NEON 8x8 micro-kernel (which packs A). aarch64 only; runs under qemu.
#include <gtest/gtest.h>

#include "kernels/gemm/ukernel.h"
#include "kernels/winograd/winograd.h"
#include "tests/kernels/winograd/winograd_tester.h"

namespace persephonee {
namespace {

TEST(WinogradNeonTest, TransformsF2) {
  TestTransforms(4, f32_winograd_input_f2__neon, f32_winograd_output_f2__neon);
}

TEST(WinogradNeonTest, TransformsF4) {
  TestTransforms(6, f32_winograd_input_f4__neon, f32_winograd_output_f4__neon);
}

TEST(WinogradNeonTest, ShapesWithNeonGemm) {
  WinogradConfig c;
  c.name = "neon transforms + neon 8x8";
  c.transforms = WinogradTransforms{f32_winograd_input_f2__neon, f32_winograd_output_f2__neon,
                                    f32_winograd_input_f4__neon, f32_winograd_output_f4__neon};
  c.ukernel = f32_gemm_ukernel_8x8__neon;
  c.pack_a = f32_gemm_pack_a_8__neon;
  c.pack_b = f32_gemm_pack_b_8__neon;
  c.mr = 8;
  c.nr = 8;
  c.kc = 64;
  TestWinogradShapes(c);
}

}  // namespace
}  // namespace persephonee
