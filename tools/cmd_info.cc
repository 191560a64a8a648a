// `persephonee info MODEL`: per-layer name, op, output shape, MACs and parameters, and totals.
#include <cstdio>
#include <string>
#include <vector>

#include "graph/flops.h"
#include "graph/model_format.h"
#include "graph/zoo.h"
#include "tools/commands.h"

namespace persephonee {
namespace cli {
namespace {

constexpr const char* kUsage =
    "usage: persephonee info MODEL\n"
    "\n"
    "Describes a model: for every node its name, op, attributes, output shape, MACs,\n"
    "parameters and the share of the model's FLOPs spent up to it; then the totals.\n"
    "MODEL is a model file (docs/model-format.md), or zoo:NAME for a zoo model built in\n"
    "memory (seed 1). MACs count Conv2d and FullyConnected multiply-accumulates;\n"
    "FLOPs = 2 x MACs; parameters include BatchNorm running statistics.\n";

// 1234567 -> "1,234,567".
std::string Grouped(int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

// 22464256 -> "22.46 M".
std::string Scaled(double v) {
  const char* units[] = {"", " K", " M", " G", " T"};
  int u = 0;
  while (v >= 1000.0 && u < 4) {
    v /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f%s" : "%.2f%s", v, units[u]);
  return buf;
}

std::string Attrs(const Node& n) {
  char buf[96] = "";
  auto act = [](Activation a) {
    return a == Activation::kNone ? std::string() : std::string(" +") + ActivationName(a);
  };
  if (const Conv2dAttrs* a = n.conv2d()) {
    std::snprintf(buf, sizeof(buf), "%dx%d s%d", a->kernel_h, a->kernel_w, a->stride_h);
    std::string s = buf;
    if (a->stride_w != a->stride_h) s += "," + std::to_string(a->stride_w);
    const Padding& p = a->padding;
    if (p.top || p.bottom || p.left || p.right) {
      s += " p" + std::to_string(p.top);
      if (p.bottom != p.top || p.left != p.top || p.right != p.top) {
        s += "," + std::to_string(p.bottom) + "," + std::to_string(p.left) + "," +
             std::to_string(p.right);
      }
    }
    if (a->dilation_h != 1 || a->dilation_w != 1) {
      s += " d" + std::to_string(a->dilation_h) + "," + std::to_string(a->dilation_w);
    }
    if (a->groups != 1) s += " g" + std::to_string(a->groups);
    return s + act(a->activation);
  }
  if (const PoolAttrs* a = n.pool()) {
    std::snprintf(buf, sizeof(buf), "%dx%d s%d p%d%s", a->kernel_h, a->kernel_w, a->stride_h,
                  a->padding.top, a->count_include_pad ? " incl-pad" : "");
    return buf;
  }
  if (const FullyConnectedAttrs* a = n.fully_connected()) {
    return a->activation == Activation::kNone ? "" : ActivationName(a->activation);
  }
  if (const BatchNormAttrs* a = n.batch_norm()) {
    std::snprintf(buf, sizeof(buf), "eps %g", static_cast<double>(a->epsilon));
    return buf;
  }
  return "";
}

std::string Pad(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

std::string PadLeft(const std::string& s, size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

void PrintGraph(const Graph& g, const std::string& title) {
  const GraphCost cost = ComputeGraphCost(g);
  const std::vector<int64_t> cumulative = CumulativeFlops(g);
  std::printf("model: %s\n", title.c_str());
  for (TensorId t : g.inputs()) {
    std::printf("input:  %s %s\n", g.tensor(t).name.c_str(),
                ShapeToString(g.tensor(t).shape).c_str());
  }
  for (TensorId t : g.outputs()) {
    std::printf("output: %s %s\n", g.tensor(t).name.c_str(),
                ShapeToString(g.tensor(t).shape).c_str());
  }
  size_t name_w = 4, op_w = 2, attr_w = 5, shape_w = 12;
  for (const Node& n : g.nodes()) {
    name_w = std::max(name_w, n.name.size());
    op_w = std::max(op_w, std::string(OpTypeName(n.op)).size());
    attr_w = std::max(attr_w, Attrs(n).size());
    shape_w = std::max(shape_w, ShapeToString(g.tensor(n.output).shape).size());
  }
  std::printf("\n%s  %s  %s  %s  %s  %s  %s  %s\n", PadLeft("#", 4).c_str(),
              Pad("name", name_w).c_str(), Pad("op", op_w).c_str(), Pad("attrs", attr_w).c_str(),
              Pad("output shape", shape_w).c_str(), PadLeft("MACs", 13).c_str(),
              PadLeft("params", 10).c_str(), PadLeft("cum FLOPs", 9).c_str());
  const double total_flops = static_cast<double>(cost.total.flops);
  for (NodeId i = 0; i < g.num_nodes(); ++i) {
    const Node& n = g.node(i);
    const NodeCost& c = cost.nodes[static_cast<size_t>(i)];
    char share[16];
    std::snprintf(share, sizeof(share), "%.1f%%",
                  total_flops > 0 ? 100.0 * static_cast<double>(cumulative[i]) / total_flops : 0.0);
    std::printf("%s  %s  %s  %s  %s  %s  %s  %s\n", PadLeft(std::to_string(i), 4).c_str(),
                Pad(n.name, name_w).c_str(), Pad(OpTypeName(n.op), op_w).c_str(),
                Pad(Attrs(n), attr_w).c_str(),
                Pad(ShapeToString(g.tensor(n.output).shape), shape_w).c_str(),
                PadLeft(c.macs ? Grouped(c.macs) : "-", 13).c_str(),
                PadLeft(c.params ? Grouped(c.params) : "-", 10).c_str(), PadLeft(share, 9).c_str());
  }
  std::printf("\ntotals: %d nodes, %d tensors\n", g.num_nodes(), g.num_tensors());
  std::printf("  MACs:        %s (%s)\n", Grouped(cost.total.macs).c_str(),
              Scaled(static_cast<double>(cost.total.macs)).c_str());
  std::printf("  FLOPs:       %s (%s; 2 x MACs)\n", Grouped(cost.total.flops).c_str(),
              Scaled(total_flops).c_str());
  std::printf("  params:      %s (%s; %s bytes as float32)\n", Grouped(cost.total.params).c_str(),
              Scaled(static_cast<double>(cost.total.params)).c_str(),
              Grouped(cost.total.params * 4).c_str());
  std::printf("  activations: %s bytes (every node's output, no reuse)\n",
              Grouped(cost.total.activation_bytes).c_str());
}

}  // namespace

int RunInfo(const std::vector<std::string>& args) {
  std::string model;
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    }
    if (a.rfind("-", 0) == 0) {
      std::fprintf(stderr, "persephonee info: unknown option '%s'\n\n%s", a.c_str(), kUsage);
      return kExitUsage;
    }
    if (!model.empty()) {
      std::fprintf(stderr, "persephonee info: unexpected argument '%s'\n\n%s", a.c_str(), kUsage);
      return kExitUsage;
    }
    model = a;
  }
  if (model.empty()) {
    std::fprintf(stderr, "persephonee info: missing MODEL\n\n%s", kUsage);
    return kExitUsage;
  }
  const std::string zoo_prefix = "zoo:";
  if (model.rfind(zoo_prefix, 0) == 0) {
    const std::string name = model.substr(zoo_prefix.size());
    if (!FindZooModel(name).ok()) {
      std::fprintf(stderr, "persephonee info: %s\n", FindZooModel(name).status().message().c_str());
      return kExitUsage;
    }
    StatusOr<Graph> g = BuildZooModel(name, 1);
    if (!g.ok()) {
      std::fprintf(stderr, "persephonee info: %s\n", g.status().ToString().c_str());
      return kExitFailure;
    }
    PrintGraph(*g, name + " (zoo, seed 1)");
    return kExitOk;
  }
  StatusOr<Graph> g = LoadGraph(model);
  if (!g.ok()) {
    std::fprintf(stderr, "persephonee info: %s\n", g.status().ToString().c_str());
    return kExitFailure;
  }
  PrintGraph(*g, model);
  return kExitOk;
}

}  // namespace cli
}  // namespace persephonee
