// The Winograd driver: filter transform and packing (plan time), and the blocked run (see
// winograd.h for the algorithm). Workspace layout:
//   [zero row: max(Cin, Cout) floats]  patch pointers outside the image and a null bias read it;
//   then one slice per task: V [T²][tile_block][Cin], M [T²][tile_block][Cout], A's packing
//   buffer (kernels that pack A), and a scratch row of Cout floats for outputs past the image.
// Packed weights: for each position p, for each reduction pass (Cin cut into near-equal passes
// of at most kc), U[p][pass rows][0..Cout) packed into nr-wide panels by the config's pack_b.
#include <pthreadpool.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <vector>

#include "kernels/winograd/winograd.h"

namespace persephonee {
namespace {

size_t DivideRoundUp(size_t a, size_t b) { return (a + b - 1) / b; }
size_t RoundUp(size_t a, size_t b) { return DivideRoundUp(a, b) * b; }

constexpr size_t kAlignFloats = 16;  // 64 bytes.

// Everything the run derives from the shape and the configuration alone.
struct Geometry {
  size_t m, t, tt;          // Output tile, patch size, T².
  size_t cin, cout;         // Channels.
  size_t out_h, out_w;      // Output extent.
  size_t tiles_h, tiles_w;  // Tiles per image.
  size_t tiles;             // Over the whole batch.
  size_t block;             // Tiles per block.
  size_t blocks;
  size_t passes, kstep;  // Reduction passes over Cin.
  size_t cout_padded;    // Cout rounded up to nr.
  size_t zero_floats;    // Zero row, rounded to the alignment.
  size_t v_floats, m_floats, a_floats, junk_floats, slice_floats;
};

// Tiles per block, a multiple of mr. Each block reads all of U (T²·Cin·Cout floats) once, and
// its V and M (T²·(Cin + Cout) floats per tile) stay in L2 while they fit in kL2Budget; past
// that they go to L3 and back (counted 4 times: a line written is read for ownership, then
// evicted, then read back). The block minimises that
// traffic, so small layers with wide channels (14x14x256: U is 9.4 MB, V and M of every tile
// 1.2 MB) run as one block instead of re-reading U for a remainder of two tiles. Blocks are
// then evened out so the last one is not a sliver.
constexpr size_t kL2Budget = 384 * 1024;

size_t ChooseBlock(const Geometry& g, size_t mr) {
  const double u_bytes = static_cast<double>(g.tt * g.cin * g.cout * sizeof(float));
  const double vm_per_tile = static_cast<double>(g.tt * (g.cin + g.cout) * sizeof(float));
  const size_t max_block = RoundUp(g.tiles, mr);
  size_t best = mr;
  double best_cost = -1.0;
  for (size_t block = mr; block <= max_block; block += mr) {
    const size_t blocks = DivideRoundUp(g.tiles, block);
    const bool spills = vm_per_tile * static_cast<double>(block) > kL2Budget;
    const double cost = static_cast<double>(blocks) * u_bytes +
                        (spills ? 4.0 * vm_per_tile * static_cast<double>(g.tiles) : 0.0);
    if (best_cost < 0.0 || cost < best_cost) {
      best = block;
      best_cost = cost;
    }
  }
  const size_t blocks = DivideRoundUp(g.tiles, best);
  return RoundUp(DivideRoundUp(g.tiles, blocks), mr);
}

Geometry MakeGeometry(const WinogradParams& params, const WinogradConfig& config) {
  const Conv2dShape& s = params.conv;
  Geometry g;
  g.m = params.tile;
  g.t = g.m + 2;
  g.tt = g.t * g.t;
  g.cin = s.in_c;
  g.cout = s.out_c;
  g.out_h = s.out_h();
  g.out_w = s.out_w();
  g.tiles_h = DivideRoundUp(g.out_h, g.m);
  g.tiles_w = DivideRoundUp(g.out_w, g.m);
  g.tiles = s.batch * g.tiles_h * g.tiles_w;
  if (params.tile_block != 0) {
    g.block = std::min(params.tile_block, RoundUp(g.tiles, config.mr));
  } else {
    g.block = ChooseBlock(g, config.mr);
  }
  g.blocks = DivideRoundUp(g.tiles, g.block);
  g.passes = DivideRoundUp(g.cin, config.kc);
  g.kstep = DivideRoundUp(g.cin, g.passes);
  g.cout_padded = RoundUp(g.cout, config.nr);
  g.zero_floats = RoundUp(std::max(g.cin, g.cout), kAlignFloats);
  g.v_floats = RoundUp(g.tt * g.block * g.cin, kAlignFloats);
  g.m_floats = RoundUp(g.tt * g.block * g.cout, kAlignFloats);
  g.a_floats =
      config.pack_a != nullptr ? RoundUp(RoundUp(g.block, config.mr) * g.kstep, kAlignFloats) : 0;
  g.junk_floats = RoundUp(g.cout, kAlignFloats);
  g.slice_floats = g.v_floats + g.m_floats + g.a_floats + g.junk_floats;
  return g;
}

// G (T x 3) of the filter transform, row-major.
const double kG2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
const double kG4[6][3] = {{1.0 / 4, 0, 0},
                          {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                          {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                          {1.0 / 24, 1.0 / 12, 1.0 / 6},
                          {1.0 / 24, -1.0 / 12, 1.0 / 6},
                          {0, 0, 1}};

struct RunContext {
  const WinogradParams* params;
  const WinogradConfig* config;
  const Geometry* g;
  const float* packed;
  const float* bias;  // Never null (the zero row when the caller passed none).
  const float* input;
  float* output;
  const float* zero;
  float* slices;
  size_t tasks;
};

void TransformInput(const RunContext& r, size_t t0, size_t nt, float* v) {
  const Geometry& g = *r.g;
  const Conv2dShape& s = r.params->conv;
  const WinogradInputFn input_fn =
      g.m == 2 ? r.config->transforms.input_f2 : r.config->transforms.input_f4;
  const float* patch[36];
  for (size_t t = 0; t < nt; ++t) {
    const size_t tile = t0 + t;
    const size_t n = tile / (g.tiles_h * g.tiles_w);
    const size_t th = tile / g.tiles_w % g.tiles_h;
    const size_t tw = tile % g.tiles_w;
    const float* image = r.input + n * s.in_h * s.in_w * g.cin;
    for (size_t i = 0; i < g.t; ++i) {
      const ptrdiff_t ih = static_cast<ptrdiff_t>(th * g.m + i) - static_cast<ptrdiff_t>(s.pad_top);
      const bool row_ok = ih >= 0 && ih < static_cast<ptrdiff_t>(s.in_h);
      for (size_t j = 0; j < g.t; ++j) {
        const ptrdiff_t iw =
            static_cast<ptrdiff_t>(tw * g.m + j) - static_cast<ptrdiff_t>(s.pad_left);
        const bool ok = row_ok && iw >= 0 && iw < static_cast<ptrdiff_t>(s.in_w);
        patch[i * g.t + j] = ok ? image + (ih * s.in_w + iw) * g.cin : r.zero;
      }
    }
    input_fn(g.cin, patch, v + t * g.cin, g.block * g.cin);
  }
}

// M[p] = V[p] · U[p] for positions [p_first, p_last), over the block's nt tiles.
void MultiplyBlock(const RunContext& r, size_t nt, const float* v, float* mt, float* a_buf,
                   size_t p_first, size_t p_last) {
  const Geometry& g = *r.g;
  const WinogradConfig& c = *r.config;
  const size_t panels = g.cout_padded / c.nr;
  for (size_t p = p_first; p < p_last; ++p) {
    const float* vp = v + p * g.block * g.cin;
    float* mp = mt + p * g.block * g.cout;
    const float* up = r.packed + p * g.cout_padded * g.cin;
    for (size_t p0 = 0; p0 < g.cin; p0 += g.kstep) {
      const size_t kb = std::min(g.kstep, g.cin - p0);
      const float* b = up + g.cout_padded * p0;
      const float* a = vp + p0;
      size_t row_stride = g.cin, tile_stride = c.mr * g.cin;
      if (c.pack_a != nullptr) {
        c.pack_a(c.mr, nt, kb, a, g.cin, /*trans=*/false, a_buf);
        a = a_buf;
        row_stride = 1;
        tile_stride = c.mr * kb;
      }
      const size_t a_step = c.pack_a != nullptr ? c.mr : 1;
      for (size_t jp = 0; jp < panels; ++jp) {
        const size_t cols = std::min(c.nr, g.cout - jp * c.nr);
        const float* panel = b + jp * kb * c.nr;
        for (size_t row = 0, rt = 0; row < nt; row += c.mr, ++rt) {
          c.ukernel(std::min(c.mr, nt - row), cols, kb, a + rt * tile_stride, row_stride, a_step,
                    panel, mp + row * g.cout + jp * c.nr, g.cout, /*accumulate=*/p0 != 0);
        }
      }
    }
  }
}

void TransformOutput(const RunContext& r, size_t t0, size_t nt, const float* mt, float* junk) {
  const Geometry& g = *r.g;
  const WinogradOutputFn output_fn =
      g.m == 2 ? r.config->transforms.output_f2 : r.config->transforms.output_f4;
  float* out[16];
  for (size_t t = 0; t < nt; ++t) {
    const size_t tile = t0 + t;
    const size_t n = tile / (g.tiles_h * g.tiles_w);
    const size_t th = tile / g.tiles_w % g.tiles_h;
    const size_t tw = tile % g.tiles_w;
    float* image = r.output + n * g.out_h * g.out_w * g.cout;
    for (size_t i = 0; i < g.m; ++i) {
      const size_t oh = th * g.m + i;
      for (size_t j = 0; j < g.m; ++j) {
        const size_t ow = tw * g.m + j;
        out[i * g.m + j] =
            oh < g.out_h && ow < g.out_w ? image + (oh * g.out_w + ow) * g.cout : junk;
      }
    }
    output_fn(g.cout, mt + t * g.cout, g.block * g.cout, r.bias, r.params->output_min,
              r.params->output_max, out);
  }
}

void RunTask(void* context, size_t task) {
  const RunContext& r = *static_cast<const RunContext*>(context);
  const Geometry& g = *r.g;
  float* slice = r.slices + task * g.slice_floats;
  float* v = slice;
  float* mt = v + g.v_floats;
  float* a_buf = mt + g.m_floats;
  float* junk = a_buf + g.a_floats;
  const size_t first = task * g.blocks / r.tasks;
  const size_t last = (task + 1) * g.blocks / r.tasks;
  for (size_t b = first; b < last; ++b) {
    const size_t t0 = b * g.block;
    const size_t nt = std::min(g.block, g.tiles - t0);
    TransformInput(r, t0, nt, v);
    MultiplyBlock(r, nt, v, mt, a_buf, 0, g.tt);
    TransformOutput(r, t0, nt, mt, junk);
  }
}

// Fewer blocks than threads (small images, wide channels): the threads share each block, one
// phase at a time: tiles of the input transform, positions of the product (each with its own
// slice's packing buffer), tiles of the output transform. Every tile and position is computed
// exactly as one task would, so the bits are the same.
struct SharedBlock {
  const RunContext* r;
  size_t t0, nt;
  float *v, *mt;
};

void SharedInput(void* context, size_t task) {
  const SharedBlock& b = *static_cast<const SharedBlock*>(context);
  const size_t first = task * b.nt / b.r->tasks, last = (task + 1) * b.nt / b.r->tasks;
  TransformInput(*b.r, b.t0 + first, last - first, b.v + first * b.r->g->cin);
}

void SharedMultiply(void* context, size_t task) {
  const SharedBlock& b = *static_cast<const SharedBlock*>(context);
  const Geometry& g = *b.r->g;
  float* a_buf = b.r->slices + task * g.slice_floats + g.v_floats + g.m_floats;
  MultiplyBlock(*b.r, b.nt, b.v, b.mt, a_buf, task * g.tt / b.r->tasks,
                (task + 1) * g.tt / b.r->tasks);
}

void SharedOutput(void* context, size_t task) {
  const SharedBlock& b = *static_cast<const SharedBlock*>(context);
  const Geometry& g = *b.r->g;
  float* junk = b.r->slices + task * g.slice_floats + g.v_floats + g.m_floats + g.a_floats;
  const size_t first = task * b.nt / b.r->tasks, last = (task + 1) * b.nt / b.r->tasks;
  TransformOutput(*b.r, b.t0 + first, last - first, b.mt + first * g.cout, junk);
}

void RunShared(RunContext& r, pthreadpool_t pool) {
  const Geometry& g = *r.g;
  SharedBlock b;
  b.r = &r;
  b.v = r.slices;
  b.mt = r.slices + g.v_floats;
  for (size_t block = 0; block < g.blocks; ++block) {
    b.t0 = block * g.block;
    b.nt = std::min(g.block, g.tiles - b.t0);
    pthreadpool_parallelize_1d(pool, SharedInput, &b, r.tasks, /*flags=*/0);
    pthreadpool_parallelize_1d(pool, SharedMultiply, &b, r.tasks, /*flags=*/0);
    pthreadpool_parallelize_1d(pool, SharedOutput, &b, r.tasks, /*flags=*/0);
  }
}

}  // namespace

bool winograd_supports(const Conv2dShape& s) {
  return s.kernel_h == 3 && s.kernel_w == 3 && s.stride_h == 1 && s.stride_w == 1 &&
         s.dilation_h == 1 && s.dilation_w == 1 && s.groups == 1 && s.Validate().ok();
}

size_t f32_winograd_packed_weights_size(const WinogradParams& params,
                                        const WinogradConfig& config) {
  const Geometry g = MakeGeometry(params, config);
  return g.tt * g.cout_padded * g.cin * sizeof(float);
}

void f32_winograd_pack_weights(const WinogradParams& params, const WinogradConfig& config,
                               const float* weight, void* packed) {
  assert(winograd_supports(params.conv));
  assert(params.tile == 2 || params.tile == 4);
  const Geometry g = MakeGeometry(params, config);
  const double* gm = g.m == 2 ? &kG2[0][0] : &kG4[0][0];
  // u[p][ci][co] in float, then each position's passes packed into panels.
  std::vector<float> u(g.tt * g.cin * g.cout);
  for (size_t co = 0; co < g.cout; ++co) {
    for (size_t ci = 0; ci < g.cin; ++ci) {
      double w[3][3], tmp[6][3];
      for (size_t kh = 0; kh < 3; ++kh) {
        for (size_t kw = 0; kw < 3; ++kw) w[kh][kw] = weight[((co * 3 + kh) * 3 + kw) * g.cin + ci];
      }
      for (size_t i = 0; i < g.t; ++i) {  // tmp = G w
        for (size_t j = 0; j < 3; ++j) {
          tmp[i][j] = gm[i * 3] * w[0][j] + gm[i * 3 + 1] * w[1][j] + gm[i * 3 + 2] * w[2][j];
        }
      }
      for (size_t i = 0; i < g.t; ++i) {  // U = tmp Gᵀ
        for (size_t j = 0; j < g.t; ++j) {
          const double x =
              tmp[i][0] * gm[j * 3] + tmp[i][1] * gm[j * 3 + 1] + tmp[i][2] * gm[j * 3 + 2];
          u[((i * g.t + j) * g.cin + ci) * g.cout + co] = static_cast<float>(x);
        }
      }
    }
  }
  float* dst = static_cast<float*>(packed);
  for (size_t p = 0; p < g.tt; ++p) {
    for (size_t p0 = 0; p0 < g.cin; p0 += g.kstep) {
      const size_t kb = std::min(g.kstep, g.cin - p0);
      config.pack_b(config.nr, kb, g.cout, u.data() + (p * g.cin + p0) * g.cout, g.cout,
                    /*trans=*/false, dst + p * g.cout_padded * g.cin + g.cout_padded * p0);
    }
  }
}

size_t f32_winograd_workspace_size(const WinogradParams& params, const WinogradConfig& config,
                                   size_t threads) {
  const Geometry g = MakeGeometry(params, config);
  return (g.zero_floats + std::max<size_t>(threads, 1) * g.slice_floats) * sizeof(float);
}

void f32_winograd_fwd(const WinogradParams& params, const WinogradConfig& config,
                      const void* packed_weights, const float* bias, const float* input,
                      float* output, void* workspace, pthreadpool_t pool) {
  assert(winograd_supports(params.conv));
  assert(params.tile == 2 || params.tile == 4);
  const Geometry g = MakeGeometry(params, config);
  float* zero = static_cast<float*>(workspace);
  std::fill_n(zero, g.zero_floats, 0.0f);
  RunContext r;
  r.params = &params;
  r.config = &config;
  r.g = &g;
  r.packed = static_cast<const float*>(packed_weights);
  r.bias = bias != nullptr ? bias : zero;
  r.input = input;
  r.output = output;
  r.zero = zero;
  r.slices = zero + g.zero_floats;
  const size_t threads = pool != nullptr ? pthreadpool_get_threads_count(pool) : 1;
  if (threads > 1 && g.blocks < threads) {
    r.tasks = threads;
    RunShared(r, pool);
    return;
  }
  r.tasks = std::max<size_t>(1, std::min(threads, g.blocks));
  if (r.tasks == 1) {
    RunTask(&r, 0);
    return;
  }
  pthreadpool_parallelize_1d(pool, RunTask, &r, r.tasks, /*flags=*/0);
}

}  // namespace persephonee
