#include "kernels/cpu.h"

#include <cpuinfo.h>
#include <xnnpack.h>

#include <mutex>
#include <sstream>

namespace persephonee {

const char* XnnStatusName(int xnn_status) {
  switch (static_cast<enum xnn_status>(xnn_status)) {
    case xnn_status_success:
      return "success";
    case xnn_status_uninitialized:
      return "uninitialized";
    case xnn_status_invalid_parameter:
      return "invalid parameter";
    case xnn_status_invalid_state:
      return "invalid state";
    case xnn_status_unsupported_parameter:
      return "unsupported parameter";
    case xnn_status_unsupported_hardware:
      return "unsupported hardware";
    case xnn_status_out_of_memory:
      return "out of memory";
  }
  return "unknown status";
}

Status XnnStatusToStatus(int xnn_status, const char* what) {
  switch (static_cast<enum xnn_status>(xnn_status)) {
    case xnn_status_success:
      return Status::Ok();
    case xnn_status_invalid_parameter:
      return Error(StatusCode::kInvalidArgument, what, ": XNNPACK rejected a parameter");
    case xnn_status_unsupported_parameter:
      return Error(StatusCode::kUnimplemented, what, ": XNNPACK does not support this shape");
    case xnn_status_unsupported_hardware:
      return Error(StatusCode::kUnimplemented, what, ": XNNPACK does not support this CPU");
    case xnn_status_out_of_memory:
      return Error(StatusCode::kResourceExhausted, what, ": XNNPACK ran out of memory");
    case xnn_status_uninitialized:
      return Error(StatusCode::kFailedPrecondition, what, ": XNNPACK is not initialised");
    case xnn_status_invalid_state:
      return Error(StatusCode::kFailedPrecondition, what, ": XNNPACK operator in invalid state");
  }
  return Error(StatusCode::kInternal, what, ": XNNPACK returned status ", xnn_status);
}

namespace {

std::string UarchName(cpuinfo_uarch uarch) {
  switch (uarch) {
    case cpuinfo_uarch_unknown:
      return "unknown";
    case cpuinfo_uarch_sky_lake:
      return "Sky Lake";
    case cpuinfo_uarch_haswell:
      return "Haswell";
    case cpuinfo_uarch_broadwell:
      return "Broadwell";
    case cpuinfo_uarch_zen:
      return "Zen";
    case cpuinfo_uarch_zen2:
      return "Zen 2";
    case cpuinfo_uarch_zen3:
      return "Zen 3";
    case cpuinfo_uarch_cortex_a53:
      return "Cortex-A53";
    case cpuinfo_uarch_cortex_a55:
      return "Cortex-A55";
    case cpuinfo_uarch_cortex_a57:
      return "Cortex-A57";
    case cpuinfo_uarch_cortex_a72:
      return "Cortex-A72";
    case cpuinfo_uarch_cortex_a76:
      return "Cortex-A76";
    case cpuinfo_uarch_cortex_a78:
      return "Cortex-A78";
    case cpuinfo_uarch_neoverse_n1:
      return "Neoverse N1";
    default: {
      std::ostringstream out;
      out << "uarch 0x" << std::hex << static_cast<uint32_t>(uarch);
      return out.str();
    }
  }
}

void AddCache(const char* name, uint32_t count, const cpuinfo_cache* first,
              std::vector<CacheLevel>* out) {
  CacheLevel level;
  level.name = name;
  level.count = count;
  if (count > 0 && first != nullptr) {
    level.size = first->size;
    level.line = first->line_size;
  }
  out->push_back(level);
}

}  // namespace

Status EnsureCpuinfo() {
  static const bool ok = cpuinfo_initialize();
  ENSURE_CODE(ok, kInternal, "cpuinfo could not read this machine's CPU description");
  return Status::Ok();
}

Status EnsureXnnpack() {
  static const xnn_status status = xnn_initialize(/*allocator=*/nullptr);
  ENSURE_CODE(status == xnn_status_success, kInternal,
              "XNNPACK failed to initialise: ", XnnStatusName(status));
  return Status::Ok();
}

StatusOr<CpuReport> QueryCpu() {
  RETURN_IF_ERROR(EnsureCpuinfo());
  CpuReport r;
#if CPUINFO_ARCH_X86_64
  r.architecture = "x86-64";
  r.features = {
      {"sse4.1", cpuinfo_has_x86_sse4_1()},     {"avx", cpuinfo_has_x86_avx()},
      {"avx2", cpuinfo_has_x86_avx2()},         {"fma3", cpuinfo_has_x86_fma3()},
      {"f16c", cpuinfo_has_x86_f16c()},         {"avx512f", cpuinfo_has_x86_avx512f()},
      {"avx512bw", cpuinfo_has_x86_avx512bw()}, {"avx512vnni", cpuinfo_has_x86_avx512vnni()},
  };
#elif CPUINFO_ARCH_ARM64
  r.architecture = "aarch64";
  r.features = {
      {"neon", cpuinfo_has_arm_neon()},
      {"neon-fma", cpuinfo_has_arm_neon_fma()},
      {"fp16-arith", cpuinfo_has_arm_neon_fp16_arith()},
      {"dot", cpuinfo_has_arm_neon_dot()},
      {"sve", cpuinfo_has_arm_sve()},
  };
#else
  r.architecture = "other";
#endif
  r.packages = cpuinfo_get_packages_count();
  r.cores = cpuinfo_get_cores_count();
  r.processors = cpuinfo_get_processors_count();
  if (const cpuinfo_package* package = cpuinfo_get_package(0)) r.package_name = package->name;
  if (const cpuinfo_core* core = cpuinfo_get_core(0)) r.uarch = UarchName(core->uarch);
  AddCache("L1d", cpuinfo_get_l1d_caches_count(), cpuinfo_get_l1d_cache(0), &r.caches);
  AddCache("L2", cpuinfo_get_l2_caches_count(), cpuinfo_get_l2_cache(0), &r.caches);
  AddCache("L3", cpuinfo_get_l3_caches_count(), cpuinfo_get_l3_cache(0), &r.caches);

  Status xnn = EnsureXnnpack();
  r.xnnpack_ok = xnn.ok();
  r.xnnpack_message = xnn.ok() ? "initialised" : xnn.message();
  return r;
}

std::string FormatCpuReport(const CpuReport& r) {
  std::ostringstream out;
  out << "architecture: " << r.architecture << "\n";
  out << "package:      " << (r.package_name.empty() ? "(unnamed)" : r.package_name) << "\n";
  out << "uarch:        " << r.uarch << "\n";
  out << "packages:     " << r.packages << "\n";
  out << "cores:        " << r.cores << "\n";
  out << "processors:   " << r.processors << "\n";
  out << "features:    ";
  for (const auto& [name, present] : r.features) out << " " << (present ? "+" : "-") << name;
  out << "\n";
  for (const CacheLevel& c : r.caches) {
    out << "cache " << c.name << ":" << std::string(7 - c.name.size(), ' ');
    if (c.count == 0) {
      out << "none\n";
    } else {
      out << c.size / 1024 << " KiB x " << c.count << ", " << c.line << " B lines\n";
    }
  }
  out << "xnnpack:      " << r.xnnpack_message << "\n";
  return out.str();
}

}  // namespace persephonee
