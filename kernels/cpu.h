// What this machine's CPU offers, as cpuinfo and XNNPACK report it.
//
// The kernel configuration (which micro-kernels to use) is chosen from this once at start-up;
// `persephonee cpu` prints it.
#ifndef PERSEPHONEE_KERNELS_CPU_H_
#define PERSEPHONEE_KERNELS_CPU_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace persephonee {

/// One level of cache: its total size and how many instances the machine has.
struct CacheLevel {
  std::string name;    ///< "L1d", "L2", "L3".
  uint32_t size = 0;   ///< Bytes per instance.
  uint32_t count = 0;  ///< Number of instances (0 when the level is absent).
  uint32_t line = 0;   ///< Line size in bytes.
};

/// A snapshot of the CPU: names, counts, ISA features and caches.
struct CpuReport {
  std::string architecture;  ///< "x86-64" or "aarch64".
  std::string package_name;  ///< Marketing name of package 0, when the OS tells it.
  std::string uarch;         ///< Microarchitecture of core 0 as cpuinfo names it.
  uint32_t packages = 0;
  uint32_t cores = 0;
  uint32_t processors = 0;  ///< Logical processors (hardware threads).
  /// ISA features relevant to the kernels, in a fixed order, with whether each is present.
  std::vector<std::pair<std::string, bool>> features;
  std::vector<CacheLevel> caches;
  bool xnnpack_ok = false;      ///< xnn_initialize() succeeded.
  std::string xnnpack_message;  ///< Its status, spelled out.
};

/// Initialises cpuinfo and XNNPACK (once per process) and reports what they see.
/// Fails with kInternal if cpuinfo cannot read the machine.
StatusOr<CpuReport> QueryCpu();

/// Initialises cpuinfo once; returns an error if it cannot.
Status EnsureCpuinfo();

/// Initialises XNNPACK once; returns an error naming XNNPACK's status if it cannot.
Status EnsureXnnpack();

/// XNNPACK's status code spelled out ("invalid parameter", ...).
const char* XnnStatusName(int xnn_status);

/// An XNNPACK status as a Status: OK for success, otherwise the closest code with a message
/// that starts with `what` (e.g. "XnnConv2d: XNNPACK does not support this shape").
Status XnnStatusToStatus(int xnn_status, const char* what);

/// Human-readable multi-line rendering of a report.
std::string FormatCpuReport(const CpuReport& report);

}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_CPU_H_
