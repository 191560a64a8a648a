#include "kernels/cpu.h"

#include <gtest/gtest.h>

namespace persephonee {
namespace {

TEST(CpuTest, ReportsThisMachine) {
  StatusOr<CpuReport> report = QueryCpu();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_GE(report->cores, 1u);
  EXPECT_GE(report->processors, report->cores);
  EXPECT_GE(report->packages, 1u);
  EXPECT_TRUE(report->xnnpack_ok) << report->xnnpack_message;
#if defined(__aarch64__)
  EXPECT_EQ(report->architecture, "aarch64");
  ASSERT_FALSE(report->features.empty());
  EXPECT_EQ(report->features[0].first, "neon");
  EXPECT_TRUE(report->features[0].second) << "every aarch64 CPU has NEON";
#elif defined(__x86_64__)
  EXPECT_EQ(report->architecture, "x86-64");
  ASSERT_FALSE(report->features.empty());
  EXPECT_EQ(report->features[0].first, "sse4.1");
#endif
}

TEST(CpuTest, FormatNamesEveryField) {
  StatusOr<CpuReport> report = QueryCpu();
  ASSERT_TRUE(report.ok());
  const std::string text = FormatCpuReport(*report);
  for (const char* field : {"architecture:", "cores:", "processors:", "features:", "cache L1d:",
                            "cache L2:", "xnnpack:      initialised"}) {
    EXPECT_NE(text.find(field), std::string::npos) << "missing '" << field << "' in\n" << text;
  }
}

}  // namespace
}  // namespace persephonee
