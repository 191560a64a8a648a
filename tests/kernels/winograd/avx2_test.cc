// The AVX2 and AVX-512 transforms against the scalar ones, and the full convolution with them on
// each x86 micro-kernel the CPU can run; each test is skipped on CPUs without its ISA.
#include <cpuinfo.h>
#include <gtest/gtest.h>

#include "kernels/cpu.h"
#include "kernels/gemm/config.h"
#include "kernels/gemm/ukernel.h"
#include "kernels/winograd/winograd.h"
#include "tests/kernels/winograd/winograd_tester.h"

namespace persephonee {
namespace {

class WinogradAvx2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(EnsureCpuinfo().ok());
    if (!cpuinfo_has_x86_avx2() || !cpuinfo_has_x86_fma3()) GTEST_SKIP() << "no AVX2 + FMA3";
  }
};

WinogradConfig Avx2Transforms() {
  WinogradConfig c;
  c.transforms = WinogradTransforms{f32_winograd_input_f2__avx2, f32_winograd_output_f2__avx2,
                                    f32_winograd_input_f4__avx2, f32_winograd_output_f4__avx2};
  return c;
}

TEST_F(WinogradAvx2Test, TransformsF2) {
  TestTransforms(4, f32_winograd_input_f2__avx2, f32_winograd_output_f2__avx2);
}

TEST_F(WinogradAvx2Test, TransformsF4) {
  TestTransforms(6, f32_winograd_input_f4__avx2, f32_winograd_output_f4__avx2);
}

TEST_F(WinogradAvx2Test, ShapesWithAvx2Gemm) {
  WinogradConfig c = Avx2Transforms();
  c.name = "avx2 transforms + avx2 6x16";
  c.ukernel = f32_gemm_ukernel_6x16__avx2;
  c.pack_b = f32_gemm_pack_b_16__avx2;
  c.mr = 6;
  c.nr = 16;
  c.kc = 64;  // Small, so that modest channel counts take several passes.
  TestWinogradShapes(c);
}

class WinogradAvx512Test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(EnsureCpuinfo().ok());
    if (!cpuinfo_has_x86_avx512f()) GTEST_SKIP() << "no AVX-512F";
  }
};

TEST_F(WinogradAvx512Test, TransformsF2) {
  TestTransforms(4, f32_winograd_input_f2__avx512, f32_winograd_output_f2__avx512);
}

TEST_F(WinogradAvx512Test, TransformsF4) {
  TestTransforms(6, f32_winograd_input_f4__avx512, f32_winograd_output_f4__avx512);
}

// The AVX-512 transforms with the AVX-512 14x32 micro-kernel read in place, with a small kc.
TEST_F(WinogradAvx512Test, ShapesWithAvx512Gemm) {
  WinogradConfig c;
  c.name = "avx512 transforms + avx512 14x32";
  c.transforms = WinogradTransforms{f32_winograd_input_f2__avx512, f32_winograd_output_f2__avx512,
                                    f32_winograd_input_f4__avx512, f32_winograd_output_f4__avx512};
  c.ukernel = f32_gemm_ukernel_14x32__avx512;
  c.pack_b = f32_gemm_pack_b_32__avx512;
  c.mr = 14;
  c.nr = 32;
  c.kc = 48;
  TestWinogradShapes(c);
}

}  // namespace
}  // namespace persephonee
