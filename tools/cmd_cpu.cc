// `persephonee cpu`: ISA features, cores and caches, as cpuinfo and XNNPACK see them.
#include <cstdio>

#include "kernels/cpu.h"
#include "tools/commands.h"

namespace persephonee {
namespace cli {

int RunCpu(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::printf("usage: persephonee cpu\n\nPrints the CPU's ISA features, cores and caches.\n");
      return kExitOk;
    }
    std::fprintf(stderr, "persephonee cpu: unexpected argument '%s'\n", a.c_str());
    return kExitUsage;
  }
  StatusOr<CpuReport> report = QueryCpu();
  if (!report.ok()) {
    std::fprintf(stderr, "persephonee cpu: %s\n", report.status().ToString().c_str());
    return kExitFailure;
  }
  std::fputs(FormatCpuReport(*report).c_str(), stdout);
  return report->xnnpack_ok ? kExitOk : kExitFailure;
}

}  // namespace cli
}  // namespace persephonee
