// The blocked GEMM driver (Goto's algorithm, as BLIS and ruy structure it).
//
// For each block of nc columns of C and each pass over kc steps of the reduction:
//   1. B's kc x nc block is packed into nr-wide panels (it stays in L2/L3 while every row block
//      reads it);
//   2. for each block of mc rows, the mc x kc block of A is packed into a per-thread buffer (it
//      stays in L2), unless the micro-kernel reads A in place, and the micro-kernel runs over
//      every mr x nr tile, B panel outer so the panel stays in L1.
// With several threads, C is cut into (row block, column chunk) tasks in a single parallel call;
// each task runs every pass over its part, packing its own chunk of B. Kernels that broadcast A one
// value at a time read it in
//      place: packing A costs as much as the product when n is small (MobileNetV2's 24-channel
//      layers), and a strided broadcast costs the kernel nothing.
// The first pass writes C (or adds to it when the caller asked to accumulate); later passes add.
// The reduction is split at boundaries that depend only on k and kc, never on the thread count,
// and each tile is computed by one task, so results are bitwise identical for any pool.
#include <cpuinfo.h>

#include <algorithm>
#include <cassert>
#include <cstdlib>

#include "kernels/cpu.h"
#include "kernels/gemm/ukernel.h"

namespace persephonee {
namespace {

size_t DivideRoundUp(size_t a, size_t b) { return (a + b - 1) / b; }
size_t RoundUp(size_t a, size_t b) { return DivideRoundUp(a, b) * b; }

// A growable 64-byte-aligned buffer; one per thread for A, one per calling thread for B, so
// repeated calls do not allocate.
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { std::free(data_); }

  float* Get(size_t floats) {
    if (floats > capacity_) {
      std::free(data_);
      const size_t bytes = RoundUp(floats * sizeof(float), 64);
      data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
      capacity_ = data_ != nullptr ? bytes / sizeof(float) : 0;
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  size_t capacity_ = 0;
};

thread_local Scratch tls_packed_a;
thread_local Scratch tls_packed_b;

struct Pass {
  const GemmArgs* args;
  const GemmKernel* kernel;
  size_t j0;  // First column of this nc block.
  size_t nb;  // Columns in this block.
  size_t p0;  // First reduction step of this pass.
  size_t kb;  // Reduction steps in this pass.
  bool accumulate;
  float* packed_b;
  size_t mc;
  size_t b_panels;  // nr-wide panels in the block.
};

// Packs this pass's kb x nb block of B into pass.packed_b.
void PackB(const Pass& pass) {
  const GemmArgs& g = *pass.args;
  const bool trans = g.trans_b == Transpose::kYes;
  const float* src = trans ? g.b + pass.j0 * g.ldb + pass.p0 : g.b + pass.p0 * g.ldb + pass.j0;
  pass.kernel->pack_b(pass.kernel->nr, pass.kb, pass.nb, src, g.ldb, trans, pass.packed_b);
}

// One pass over rows [i0, i0 + rows) of the block without packing, for when a packing buffer
// cannot be allocated (rounding may then differ from the packed path).
void ComputeUnpacked(const Pass& pass, size_t i0, size_t rows) {
  const GemmArgs& g = *pass.args;
  const bool ta = g.trans_a == Transpose::kYes;
  const bool tb = g.trans_b == Transpose::kYes;
  for (size_t i = i0; i < i0 + rows; ++i) {
    for (size_t j = pass.j0; j < pass.j0 + pass.nb; ++j) {
      float acc = 0.0f;
      for (size_t p = pass.p0; p < pass.p0 + pass.kb; ++p) {
        const float a = ta ? g.a[p * g.lda + i] : g.a[i * g.lda + p];
        const float b = tb ? g.b[j * g.ldb + p] : g.b[p * g.ldb + j];
        acc += a * b;
      }
      float& c = g.c[i * g.ldc + j];
      c = pass.accumulate ? c + acc : acc;
    }
  }
}

// One pass over one block of mc rows: packs A (unless the kernel reads it in place) and runs the
// micro-kernel over every tile of the block.
void ComputeBlock(const Pass& pass, size_t row_block) {
  const GemmArgs& g = *pass.args;
  const GemmKernel& kernel = *pass.kernel;
  const size_t mr = kernel.mr;
  const size_t nr = kernel.nr;
  const size_t i0 = row_block * pass.mc;
  const size_t rows = std::min(pass.mc, g.m - i0);
  const bool trans = g.trans_a == Transpose::kYes;
  const float* src = trans ? g.a + pass.p0 * g.lda + i0 : g.a + i0 * g.lda + pass.p0;
  // A in place (kernels without pack_a) or packed into this thread's buffer.
  const float* a = src;
  size_t row_stride = trans ? 1 : g.lda;
  size_t step_stride = trans ? g.lda : 1;
  size_t tile_stride = mr * row_stride;
  if (kernel.pack_a != nullptr) {
    float* packed_a = tls_packed_a.Get(RoundUp(rows, mr) * pass.kb);
    if (packed_a == nullptr) {
      // No memory for the packed block: compute this block's pass in place, unpacked.
      ComputeUnpacked(pass, i0, rows);
      return;
    }
    kernel.pack_a(mr, rows, pass.kb, src, g.lda, trans, packed_a);
    a = packed_a;
    row_stride = 1;
    step_stride = mr;
    tile_stride = mr * pass.kb;
  }
  for (size_t jp = 0; jp < pass.b_panels; ++jp) {
    const size_t col = jp * nr;
    const size_t cols = std::min(nr, pass.nb - col);
    const float* b_panel = pass.packed_b + jp * pass.kb * nr;
    float* c = g.c + i0 * g.ldc + pass.j0 + col;
    for (size_t row = 0, tile = 0; row < rows; row += mr, ++tile) {
      kernel.ukernel(std::min(mr, rows - row), cols, pass.kb, a + tile * tile_stride, row_stride,
                     step_stride, b_panel, c + row * g.ldc, g.ldc, pass.accumulate);
    }
  }
}

Pass MakePass(const GemmArgs& args, const GemmKernel& kernel, size_t j0, size_t nb, size_t p0,
              size_t kstep, float* packed_b, size_t mc) {
  Pass pass;
  pass.args = &args;
  pass.kernel = &kernel;
  pass.j0 = j0;
  pass.nb = nb;
  pass.p0 = p0;
  pass.kb = std::min(kstep, args.k - p0);
  pass.accumulate = args.accumulate || p0 != 0;
  pass.packed_b = packed_b;
  pass.mc = mc;
  pass.b_panels = DivideRoundUp(nb, kernel.nr);
  return pass;
}

// The multi-threaded work unit: one row block and one chunk of columns, every pass, with the
// chunk of B packed by the task itself.
struct Job {
  const GemmArgs* args;
  const GemmKernel* kernel;
  size_t kstep;
  size_t mc;
  size_t cols_per_chunk;
};

void RunTask(void* context, size_t row_block, size_t chunk) {
  const Job& job = *static_cast<const Job*>(context);
  const GemmArgs& g = *job.args;
  const size_t j0 = chunk * job.cols_per_chunk;
  const size_t nb = std::min(job.cols_per_chunk, g.n - j0);
  float* packed_b = tls_packed_b.Get(RoundUp(nb, job.kernel->nr) * job.kstep);
  for (size_t p0 = 0; p0 < g.k; p0 += job.kstep) {
    const Pass pass = MakePass(g, *job.kernel, j0, nb, p0, job.kstep, packed_b, job.mc);
    const size_t i0 = row_block * job.mc;
    if (packed_b == nullptr) {
      ComputeUnpacked(pass, i0, std::min(job.mc, g.m - i0));
      continue;
    }
    PackB(pass);
    ComputeBlock(pass, row_block);
  }
}

}  // namespace

void f32_gemm_blocked(const GemmArgs& args, const GemmKernel& kernel, pthreadpool_t pool) {
  const bool ta = args.trans_a == Transpose::kYes;
  const bool tb = args.trans_b == Transpose::kYes;
  assert(args.ldc >= args.n);
  assert(args.lda >= (ta ? args.m : args.k));
  assert(args.ldb >= (tb ? args.k : args.n));
  (void)ta;
  (void)tb;
  if (args.m == 0 || args.n == 0) return;
  if (args.k == 0) {
    if (!args.accumulate) {
      for (size_t i = 0; i < args.m; ++i) std::fill_n(args.c + i * args.ldc, args.n, 0.0f);
    }
    return;
  }
  const size_t mr = kernel.mr;
  const size_t nr = kernel.nr;
  const GemmBlocking& blocking = kernel.blocking;
  const size_t threads = pool != nullptr ? pthreadpool_get_threads_count(pool) : 1;

  // Reduction passes of near-equal depth, from k and kc alone.
  const size_t passes = DivideRoundUp(args.k, blocking.kc);
  const size_t kstep = DivideRoundUp(args.k, passes);
  const size_t nc = RoundUp(blocking.nc, nr);

  // Row blocks: mc rows each, fewer when there would not be a block per thread.
  size_t mc = RoundUp(blocking.mc, mr);
  if (threads > 1 && DivideRoundUp(args.m, mc) < threads) {
    mc = RoundUp(DivideRoundUp(args.m, threads), mr);
  }
  const size_t row_blocks = DivideRoundUp(args.m, mc);

  if (threads > 1) {
    // One parallel call for the whole product: each (row block, column chunk) task runs every
    // pass and packs its own B chunk. B is packed once per row block instead of once, but a
    // loaded machine stalls each parallel call until every worker has run, so fewer calls win.
    const size_t total_panels = DivideRoundUp(args.n, nr);
    size_t chunks = std::max<size_t>(1, DivideRoundUp(4 * threads, row_blocks));
    chunks = std::min(total_panels, std::max(chunks, DivideRoundUp(args.n, nc)));
    const size_t panels_per_chunk = DivideRoundUp(total_panels, chunks);
    Job job;
    job.args = &args;
    job.kernel = &kernel;
    job.kstep = kstep;
    job.mc = mc;
    job.cols_per_chunk = panels_per_chunk * nr;
    pthreadpool_parallelize_2d(pool, RunTask, &job, row_blocks,
                               DivideRoundUp(total_panels, panels_per_chunk), 0);
    return;
  }

  float* packed_b = tls_packed_b.Get(RoundUp(std::min(nc, args.n), nr) * kstep);
  if (packed_b == nullptr) {
    // No memory for packing: the plain loops need none.
    f32_gemm__scalar(args);
    return;
  }
  // One thread: B's block is packed once per pass and shared by every row block.
  for (size_t j0 = 0; j0 < args.n; j0 += nc) {
    const size_t nb = std::min(nc, args.n - j0);
    for (size_t p0 = 0; p0 < args.k; p0 += kstep) {
      const Pass pass = MakePass(args, kernel, j0, nb, p0, kstep, packed_b, mc);
      PackB(pass);
      for (size_t row_block = 0; row_block < row_blocks; ++row_block) {
        ComputeBlock(pass, row_block);
      }
    }
  }
}

GemmBlocking gemm_blocking_from_caches(size_t mr, size_t nr) {
  GemmBlocking blocking;
  if (!EnsureCpuinfo().ok()) return blocking;
  const cpuinfo_cache* l1 = cpuinfo_get_l1d_caches_count() > 0 ? cpuinfo_get_l1d_cache(0) : nullptr;
  const cpuinfo_cache* l2 = cpuinfo_get_l2_caches_count() > 0 ? cpuinfo_get_l2_cache(0) : nullptr;
  if (l1 != nullptr && l1->size >= 8 * 1024) {
    // Half of L1 for one kc x nr panel of B; the rest for A's stream and C.
    blocking.kc = std::clamp<size_t>(l1->size / 2 / (nr * sizeof(float)) / 8 * 8, 64, 512);
  }
  if (l2 != nullptr && l2->size >= 64 * 1024) {
    // Half of L2 for the mc x kc block of A.
    const size_t rows = l2->size / 2 / (blocking.kc * sizeof(float));
    blocking.mc = std::clamp<size_t>(rows / mr * mr, mr, 64 * mr);
  } else {
    blocking.mc = RoundUp(blocking.mc, mr);
  }
  blocking.nc = RoundUp(blocking.nc, nr);
  return blocking;
}

}  // namespace persephonee
