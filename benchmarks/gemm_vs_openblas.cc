// The project's GEMM against OpenBLAS's cblas_sgemm and (on x86-64) oneDNN's dnnl_sgemm, all
// single-threaded, in one process.
//
// Shapes: what convolution backward asks of the GEMM for ResNet-18-224 and MobileNetV2-224
// (batch 1, NHWC / OHWI: grad input dX_col[pixels][K] = dY[pixels][Cout] · W[Cout][K], and
// grad weight dW[Cout][K] = dYᵀ · X_col with dY stored [pixels][Cout]), plus squares.
// For each shape the sides run alternately, `--reps` times each, every rep long enough
// (`--min_ms`) to time, together with a loop of independent FMAs of the width our kernel uses
// (the core's peak, as benchmarks/peak_fma measures it). The medians are reported with the
// ratios ours / OpenBLAS, ours / oneDNN, ours / the better peer, and ours / peak; the last lines
// are the geometric means: gemm_vs_openblas_geomean=<x>, gemm_vs_onednn_geomean=<x>,
// gemm_vs_best_geomean=<x>.
//
// Time is the calling thread's CPU time by default (every side runs on the calling thread), so a
// machine shared with other jobs slows every side alike instead of whichever side was
// descheduled; --clock=wall measures elapsed time instead.
//
//   bazel run -c opt //benchmarks:gemm_vs_openblas -- [--reps=7] [--min_ms=40] [--filter=str]
//       [--clock=cpu|wall]
#include <cblas.h>
#include <time.h>
#include <unistd.h>

#if defined(PERSEPHONEE_GEMM_PEER_DNNL)
#include <dnnl.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/gemm/config.h"
#include "kernels/gemm/gemm.h"

namespace persephonee {
namespace {

struct Shape {
  const char* name;
  size_t m, n, k;
  bool trans_a, trans_b;
};

// Grad input: m = pixels, n = kh*kw*Cin, k = Cout. Grad weight: m = Cout, n = kh*kw*Cin,
// k = pixels, A (dY) stored transposed.
const Shape kShapes[] = {
    {"resnet18.conv1.bwd_weight", 64, 147, 12544, true, false},
    {"resnet18.layer1.bwd_input", 3136, 576, 64, false, false},
    {"resnet18.layer1.bwd_weight", 64, 576, 3136, true, false},
    {"resnet18.layer2.bwd_input", 784, 1152, 128, false, false},
    {"resnet18.layer2.bwd_weight", 128, 1152, 784, true, false},
    {"resnet18.layer3.bwd_input", 196, 2304, 256, false, false},
    {"resnet18.layer3.bwd_weight", 256, 2304, 196, true, false},
    {"resnet18.layer4.bwd_input", 49, 4608, 512, false, false},
    {"resnet18.layer4.bwd_weight", 512, 4608, 49, true, false},
    {"mobilenetv2.b2.expand.bwd_input", 3136, 24, 144, false, false},
    {"mobilenetv2.b2.expand.bwd_weight", 144, 24, 3136, true, false},
    {"mobilenetv2.b4.project.bwd_input", 784, 192, 32, false, false},
    {"mobilenetv2.b4.project.bwd_weight", 32, 192, 784, true, false},
    {"mobilenetv2.b8.expand.bwd_input", 196, 64, 384, false, false},
    {"mobilenetv2.b8.expand.bwd_weight", 384, 64, 196, true, false},
    {"mobilenetv2.b15.expand.bwd_input", 49, 160, 960, false, false},
    {"mobilenetv2.b15.expand.bwd_weight", 960, 160, 49, true, false},
    {"mobilenetv2.head.bwd_input", 49, 320, 1280, false, false},
    {"mobilenetv2.head.bwd_weight", 1280, 320, 49, true, false},
    {"square.256", 256, 256, 256, false, false},
    {"square.512", 512, 512, 512, false, false},
    {"square.1024", 1024, 1024, 1024, false, false},
};

bool g_cpu_clock = true;

double Seconds() {
  if (g_cpu_clock) {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

// The peak: 12 independent FMA chains of the vector width our micro-kernel uses (benchmarks/
// peak_fma's loop). Returns the FLOPs done.
constexpr int kPeakInner = 4096;
#if defined(__x86_64__)
#define PERSEPHONEE_PEAK_LOOP(V, FMA, SET, LANES)                                       \
  V x0 = SET(0.0f), x1 = SET(0.1f), x2 = SET(0.2f), x3 = SET(0.3f), x4 = SET(0.4f);     \
  V x5 = SET(0.5f), x6 = SET(0.6f), x7 = SET(0.7f), x8 = SET(0.8f), x9 = SET(0.9f);     \
  V x10 = SET(1.0f), x11 = SET(1.1f);                                                   \
  const V a = SET(0.999999f), b = SET(1e-7f);                                           \
  for (int i = 0; i < kPeakInner; ++i) {                                                \
    x0 = FMA(x0, a, b), x1 = FMA(x1, a, b), x2 = FMA(x2, a, b), x3 = FMA(x3, a, b);     \
    x4 = FMA(x4, a, b), x5 = FMA(x5, a, b), x6 = FMA(x6, a, b), x7 = FMA(x7, a, b);     \
    x8 = FMA(x8, a, b), x9 = FMA(x9, a, b), x10 = FMA(x10, a, b), x11 = FMA(x11, a, b); \
  }                                                                                     \
  V sum = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11;                  \
  volatile float sink = sum[0];                                                         \
  (void)sink;                                                                           \
  return 2.0 * kPeakInner * 12 * (LANES)

__attribute__((target("avx512f"))) double PeakAvx512() {
  PERSEPHONEE_PEAK_LOOP(__m512, _mm512_fmadd_ps, _mm512_set1_ps, 16);
}
__attribute__((target("avx2,fma"))) double PeakAvx2() {
  PERSEPHONEE_PEAK_LOOP(__m256, _mm256_fmadd_ps, _mm256_set1_ps, 8);
}
#undef PERSEPHONEE_PEAK_LOOP
#endif

// The peak loop matching our kernel's width, or null when there is none for this build.
double (*PeakLoop())() {
#if defined(__x86_64__)
  const std::string name = gemm_config().name;
  if (name.rfind("avx512", 0) == 0) return PeakAvx512;
  if (name.rfind("avx2", 0) == 0) return PeakAvx2;
#endif
  return nullptr;
}

template <typename F>
double TimeOnce(const F& f, size_t iters) {
  const double start = Seconds();
  for (size_t i = 0; i < iters; ++i) f();
  return (Seconds() - start) / static_cast<double>(iters);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t h = v.size() / 2;
  return v.size() % 2 == 1 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

bool ParseFlag(const char* arg, const char* name, std::string* value) {
  const size_t len = std::strlen(name);
  if (std::strncmp(arg, name, len) != 0 || arg[len] != '=') return false;
  *value = arg + len + 1;
  return true;
}

int Main(int argc, char** argv) {
  int reps = 7;
  double min_ms = 40.0;
  std::string filter;
  for (int i = 1; i < argc; ++i) {
    std::string v;
    if (ParseFlag(argv[i], "--reps", &v)) {
      reps = std::max(1, std::atoi(v.c_str()));
    } else if (ParseFlag(argv[i], "--min_ms", &v)) {
      min_ms = std::max(1.0, std::atof(v.c_str()));
    } else if (ParseFlag(argv[i], "--filter", &v)) {
      filter = v;
    } else if (ParseFlag(argv[i], "--clock", &v) && (v == "cpu" || v == "wall")) {
      g_cpu_clock = v == "cpu";
    } else {
      std::fprintf(stderr,
                   "usage: %s [--reps=N] [--min_ms=MS] [--filter=SUBSTRING] [--clock=cpu|wall]\n",
                   argv[0]);
      return 2;
    }
  }
  openblas_set_num_threads(1);
  const GemmBlocking& blk = gemm_config().blocking;
  std::printf("ours: %s (kc=%zu mc=%zu nc=%zu), single thread; OpenBLAS: %s, %d thread(s)\n",
              gemm_config().name, blk.kc, blk.mc, blk.nc, openblas_get_config(),
              openblas_get_num_threads());
#if defined(PERSEPHONEE_GEMM_PEER_DNNL)
  const dnnl_version_t* dv = dnnl_version();
  std::printf("oneDNN: %d.%d.%d (cpu runtime %u), OMP_NUM_THREADS=%s\n", dv->major, dv->minor,
              dv->patch, dv->cpu_runtime,
              std::getenv("OMP_NUM_THREADS") ? std::getenv("OMP_NUM_THREADS") : "unset");
  const bool have_dnnl = true;
#else
  std::printf("oneDNN: not in this build\n");
  const bool have_dnnl = false;
#endif
  double (*peak_loop)() = PeakLoop();
  std::printf("clock: %s; GFLOP/s columns: ours, OpenBLAS, oneDNN, peak (FMA loop of our width)\n",
              g_cpu_clock ? "thread CPU time" : "wall");
  std::printf("%-34s %5s %5s %5s %2s %7s %7s %7s %7s %6s %6s %6s %6s\n", "shape", "m", "n", "k",
              "t", "ours", "oblas", "onednn", "peak", "/oblas", "/dnnl", "/best", "/peak");
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1, 1);
  double log_sum = 0, log_sum_dnnl = 0, log_sum_best = 0;
  int count = 0;
  for (const Shape& s : kShapes) {
    if (!filter.empty() && std::string(s.name).find(filter) == std::string::npos) continue;
    std::vector<float> a(s.m * s.k), b(s.k * s.n), c(s.m * s.n), c_ref(s.m * s.n);
    for (float& x : a) x = dist(rng);
    for (float& x : b) x = dist(rng);
    GemmArgs g;
    g.trans_a = s.trans_a ? Transpose::kYes : Transpose::kNo;
    g.trans_b = s.trans_b ? Transpose::kYes : Transpose::kNo;
    g.m = s.m, g.n = s.n, g.k = s.k;
    g.a = a.data(), g.lda = s.trans_a ? s.m : s.k;
    g.b = b.data(), g.ldb = s.trans_b ? s.k : s.n;
    g.c = c.data(), g.ldc = s.n;
    const auto ours = [&] { f32_gemm(g, nullptr); };
    const auto theirs = [&] {
      cblas_sgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans,
                  s.trans_b ? CblasTrans : CblasNoTrans, static_cast<blasint>(s.m),
                  static_cast<blasint>(s.n), static_cast<blasint>(s.k), 1.0f, a.data(),
                  static_cast<blasint>(g.lda), b.data(), static_cast<blasint>(g.ldb), 0.0f,
                  c_ref.data(), static_cast<blasint>(s.n));
    };
    // Warm up both (packing buffers, page faults), then check they agree before timing.
    ours();
    theirs();
    double max_diff = 0;
    for (size_t i = 0; i < c.size(); ++i) {
      max_diff = std::max(max_diff, static_cast<double>(std::fabs(c[i] - c_ref[i])));
    }
    if (max_diff > 1e-3 * std::sqrt(static_cast<double>(s.k))) {
      std::fprintf(stderr, "%s: results differ from OpenBLAS by %g\n", s.name, max_diff);
      return 1;
    }
#if defined(PERSEPHONEE_GEMM_PEER_DNNL)
    std::vector<float> c_dnnl(s.m * s.n);
    const auto dnnl = [&] {
      dnnl_sgemm(s.trans_a ? 'T' : 'N', s.trans_b ? 'T' : 'N', static_cast<dnnl_dim_t>(s.m),
                 static_cast<dnnl_dim_t>(s.n), static_cast<dnnl_dim_t>(s.k), 1.0f, a.data(),
                 static_cast<dnnl_dim_t>(g.lda), b.data(), static_cast<dnnl_dim_t>(g.ldb), 0.0f,
                 c_dnnl.data(), static_cast<dnnl_dim_t>(s.n));
    };
    dnnl();
    for (size_t i = 0; i < c.size(); ++i) {
      max_diff = std::max(max_diff, static_cast<double>(std::fabs(c_dnnl[i] - c_ref[i])));
    }
    if (max_diff > 1e-3 * std::sqrt(static_cast<double>(s.k))) {
      std::fprintf(stderr, "%s: oneDNN differs from OpenBLAS by %g\n", s.name, max_diff);
      return 1;
    }
#endif
    const double once = std::max(TimeOnce(ours, 1), 1e-7);
    const size_t iters = std::max<size_t>(1, static_cast<size_t>(min_ms * 1e-3 / once));
    double peak_flops = 0;
    size_t peak_iters = 0;
    if (peak_loop != nullptr) {
      const double peak_once = std::max(TimeOnce(peak_loop, 1), 1e-7);
      peak_flops = peak_loop();
      peak_iters = std::max<size_t>(1, static_cast<size_t>(min_ms * 1e-3 / peak_once));
    }
    std::vector<double> t_ours, t_theirs, t_dnnl, t_peak;
    for (int r = 0; r < reps; ++r) {
      t_ours.push_back(TimeOnce(ours, iters));
      t_theirs.push_back(TimeOnce(theirs, iters));
#if defined(PERSEPHONEE_GEMM_PEER_DNNL)
      t_dnnl.push_back(TimeOnce(dnnl, iters));
#endif
      if (peak_loop != nullptr) t_peak.push_back(TimeOnce(peak_loop, peak_iters));
    }
    const double flops = 2.0 * s.m * s.n * s.k;
    const double gf_ours = flops / Median(t_ours) * 1e-9;
    const double gf_theirs = flops / Median(t_theirs) * 1e-9;
    const double gf_dnnl = have_dnnl ? flops / Median(t_dnnl) * 1e-9 : 0.0;
    const double gf_peak = peak_loop != nullptr ? peak_flops / Median(t_peak) * 1e-9 : 0.0;
    const double ratio = gf_ours / gf_theirs;
    const double ratio_dnnl = have_dnnl ? gf_ours / gf_dnnl : 0.0;
    const double ratio_best = gf_ours / std::max(gf_theirs, gf_dnnl);
    log_sum += std::log(ratio);
    if (have_dnnl) log_sum_dnnl += std::log(ratio_dnnl);
    log_sum_best += std::log(ratio_best);
    ++count;
    std::printf("%-34s %5zu %5zu %5zu %c%c %7.1f %7.1f %7.1f %7.1f %6.3f %6.3f %6.3f %6.3f\n",
                s.name, s.m, s.n, s.k, s.trans_a ? 'T' : 'N', s.trans_b ? 'T' : 'N', gf_ours,
                gf_theirs, gf_dnnl, gf_peak, ratio, ratio_dnnl, ratio_best,
                gf_peak > 0 ? gf_ours / gf_peak : 0.0);
    std::fflush(stdout);
  }
  if (count == 0) {
    std::fprintf(stderr, "no shape matches --filter=%s\n", filter.c_str());
    return 1;
  }
  std::printf("gemm_vs_openblas_geomean=%.3f\n", std::exp(log_sum / count));
  if (have_dnnl) std::printf("gemm_vs_onednn_geomean=%.3f\n", std::exp(log_sum_dnnl / count));
  std::printf("gemm_vs_best_geomean=%.3f\n", std::exp(log_sum_best / count));
  return 0;
}

}  // namespace
}  // namespace persephonee

int main(int argc, char** argv) {
  // OpenBLAS starts its thread server when it loads, and idle server threads spin on
  // sched_yield, taking a core from whichever side runs. openblas_set_num_threads(1) comes too
  // late for that; the environment variable, read at load, does not. Set it and start again.
  // oneDNN's OpenMP runtime reads OMP_NUM_THREADS the same way.
  if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr || std::getenv("OMP_NUM_THREADS") == nullptr) {
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    setenv("OMP_NUM_THREADS", "1", 1);
    execv("/proc/self/exe", argv);
    // If exec fails, carry on: openblas_set_num_threads(1) still keeps the GEMM single-threaded.
  }
  return persephonee::Main(argc, argv);
}
