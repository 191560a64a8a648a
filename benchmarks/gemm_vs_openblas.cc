// The project's GEMM against OpenBLAS's cblas_sgemm, both single-threaded, in one process.
//
// Shapes: what convolution backward asks of the GEMM for ResNet-18-224 and MobileNetV2-224
// (batch 1, NHWC / OHWI: grad input dX_col[pixels][K] = dY[pixels][Cout] · W[Cout][K], and
// grad weight dW[Cout][K] = dYᵀ · X_col with dY stored [pixels][Cout]), plus squares.
// For each shape the two sides run alternately, `--reps` times each, every rep long enough
// (`--min_ms`) to time; the medians are reported with their ratio (ours / OpenBLAS), and the
// last line is the geometric mean of the ratios: gemm_vs_openblas_geomean=<x>.
//
//   bazel run -c opt //benchmarks:gemm_vs_openblas -- [--reps=7] [--min_ms=40] [--filter=str]
#include <cblas.h>
#include <unistd.h>

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

double Seconds() {
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
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
    } else {
      std::fprintf(stderr, "usage: %s [--reps=N] [--min_ms=MS] [--filter=SUBSTRING]\n", argv[0]);
      return 2;
    }
  }
  openblas_set_num_threads(1);
  std::printf("ours: %s, single thread; OpenBLAS: %s, %d thread(s)\n", gemm_config().name,
              openblas_get_config(), openblas_get_num_threads());
  std::printf("%-36s %6s %6s %6s %3s %10s %10s %7s\n", "shape", "m", "n", "k", "t", "ours",
              "openblas", "ratio");
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1, 1);
  double log_sum = 0;
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
    const double once = std::max(TimeOnce(ours, 1), 1e-7);
    const size_t iters = std::max<size_t>(1, static_cast<size_t>(min_ms * 1e-3 / once));
    std::vector<double> t_ours, t_theirs;
    for (int r = 0; r < reps; ++r) {
      t_ours.push_back(TimeOnce(ours, iters));
      t_theirs.push_back(TimeOnce(theirs, iters));
    }
    const double flops = 2.0 * s.m * s.n * s.k;
    const double gf_ours = flops / Median(t_ours) * 1e-9;
    const double gf_theirs = flops / Median(t_theirs) * 1e-9;
    const double ratio = gf_ours / gf_theirs;
    log_sum += std::log(ratio);
    ++count;
    std::printf("%-36s %6zu %6zu %6zu %c%c %10.1f %10.1f %7.3f\n", s.name, s.m, s.n, s.k,
                s.trans_a ? 'T' : 'N', s.trans_b ? 'T' : 'N', gf_ours, gf_theirs, ratio);
    std::fflush(stdout);
  }
  if (count == 0) {
    std::fprintf(stderr, "no shape matches --filter=%s\n", filter.c_str());
    return 1;
  }
  std::printf("gemm_vs_openblas_geomean=%.3f\n", std::exp(log_sum / count));
  return 0;
}

}  // namespace
}  // namespace persephonee

int main(int argc, char** argv) {
  // OpenBLAS starts its thread server when it loads, and idle server threads spin on
  // sched_yield, taking a core from whichever side runs. openblas_set_num_threads(1) comes too
  // late for that; the environment variable, read at load, does not. Set it and start again.
  if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr) {
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    execv("/proc/self/exe", argv);
    // If exec fails, carry on: openblas_set_num_threads(1) still keeps the GEMM single-threaded.
  }
  return persephonee::Main(argc, argv);
}
