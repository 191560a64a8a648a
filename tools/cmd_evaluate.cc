// `persephonee evaluate` and `persephonee infer`: a (personalised) model on a set of images.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "graph/flops.h"
#include "tools/commands.h"
#include "tools/engine_cli.h"
#include "tools/personalise_cli.h"
#include "training/early_exit.h"
#include "training/personalisation.h"

namespace persephonee {
namespace cli {
namespace {

constexpr const char* kEvaluateUsage =
    "usage: persephonee evaluate --model M [--exits P] --images I --labels L [--threads T]\n"
    "         [--json]\n"
    "\n"
    "Runs the model M (a model file or zoo:NAME) on the images I (uint8 IDX, pixels scaled by\n"
    "1/255), with the personalisation P's early exits if given (otherwise the original model\n"
    "alone), and reports the accuracy against the labels L, the accuracy of the samples leaving\n"
    "at each exit, the exit histogram, and the mean FLOPs and latency per sample.\n";

constexpr const char* kInferUsage =
    "usage: persephonee infer --model M --exits P --images I [--threads T]\n"
    "\n"
    "Prints, for every image of I, its index, the predicted class, the exit that answered\n"
    "(exitN, or final) and that exit's confidence score.\n";

struct Loaded {
  std::unique_ptr<EarlyExitModel> model;
  std::unique_ptr<ImageSource> images;
  std::vector<std::string> exit_names;
};

StatusOr<Loaded> Load(const ParsedArgs& a, bool need_exits) {
  const auto& v = a.values;
  ENSURE(v.count("--model") && v.count("--images"), "--model and --images are required");
  ENSURE(!need_exits || v.count("--exits"), "--exits is required");
  ASSIGN_OR_RETURN(int64_t threads, IntFlag(a, "--threads", 1, 1, 64));
  ASSIGN_OR_RETURN(Graph backbone, LoadModelArg(v.at("--model")));
  Loaded out;
  Personalisation p;
  if (v.count("--exits")) {
    ASSIGN_OR_RETURN(p, LoadPersonalisation(v.at("--exits")));
  } else {
    // The original model alone: no heads. Its logits are the backbone's last node's output (or
    // that of a final softmax's input).
    const Node& last = backbone.node(backbone.num_nodes() - 1);
    const TensorId logits = last.op == OpType::kSoftmax ? last.inputs[0] : last.output;
    p.classes = static_cast<int>(backbone.tensor(logits).shape.back());
    p.output_tensor = backbone.tensor(logits).name;
    p.backbone_hash = BackboneHash(backbone);
    p.backbone_macs = ComputeGraphCost(backbone).total.macs;
  }
  for (const PersonalisedExit& e : p.exits) out.exit_names.push_back(e.point.name);
  out.exit_names.push_back("final");
  ASSIGN_OR_RETURN(out.model,
                   EarlyExitModel::Create(std::move(backbone), p, static_cast<int>(threads)));
  ASSIGN_OR_RETURN(out.images, OpenIdxImages(v.at("--images")));
  ENSURE(out.images->image_bytes() == out.model->image_size(), v.at("--images"), ": images have ",
         out.images->image_bytes(), " bytes, the model reads ", out.model->image_size(),
         " values per image");
  return out;
}

Status Evaluate(const ParsedArgs& a) {
  ENSURE(a.values.count("--labels"), "--labels is required");
  ASSIGN_OR_RETURN(Loaded m, Load(a, false));
  const size_t n = m.images->size();
  ASSIGN_OR_RETURN(std::vector<uint8_t> labels, ReadLabels(a.values.at("--labels"), n));
  const size_t exits = m.exit_names.size();
  std::vector<int64_t> count(exits), correct(exits);
  int64_t total_correct = 0, evaluated = 0;
  double macs = 0;
  std::vector<double> latency_ms;
  std::vector<float> image(m.model->image_size());
  std::vector<uint8_t> scratch;
  for (size_t i = 0; i < n; ++i) {
    RETURN_IF_ERROR(ReadImageAsFloats(*m.images, i, &scratch, image.data()));
    const auto start = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(ExitAnswer ans, m.model->Infer(image.data()));
    latency_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
    ++count[static_cast<size_t>(ans.exit)];
    macs += static_cast<double>(ans.macs);
    if (labels[i] == 255) continue;
    ++evaluated;
    const bool ok = ans.prediction == labels[i];
    total_correct += ok;
    correct[static_cast<size_t>(ans.exit)] += ok;
  }
  ENSURE(evaluated > 0, "--labels: every label is 255 (unlabelled); nothing to evaluate");
  std::sort(latency_ms.begin(), latency_ms.end());
  const double mean_latency = [&] {
    double s = 0;
    for (double l : latency_ms) s += l;
    return s / static_cast<double>(latency_ms.size());
  }();
  const double accuracy = static_cast<double>(total_correct) / static_cast<double>(evaluated);
  const double mflops = 2e-6 * macs / static_cast<double>(n);
  if (a.switches.count("--json")) {
    std::printf(
        "{\"images\": %zu, \"evaluated\": %lld, \"accuracy\": %.6f, \"mean_mflops\": %.6f,"
        " \"mean_latency_ms\": %.6f, \"median_latency_ms\": %.6f, \"exits\": [",
        n, static_cast<long long>(evaluated), accuracy, mflops, mean_latency,
        latency_ms[latency_ms.size() / 2]);
    for (size_t e = 0; e < exits; ++e) {
      std::printf("%s{\"name\": \"%s\", \"count\": %lld, \"accuracy\": ", e ? ", " : "",
                  m.exit_names[e].c_str(), static_cast<long long>(count[e]));
      if (count[e] > 0) {
        std::printf("%.6f}", static_cast<double>(correct[e]) / static_cast<double>(count[e]));
      } else {
        std::printf("null}");
      }
    }
    std::printf("]}\n");
    return Status::Ok();
  }
  std::printf("images %zu, labelled %lld\n", n, static_cast<long long>(evaluated));
  std::printf("accuracy %.2f%%\n", 100 * accuracy);
  std::printf("mean %.3f MFLOPs per image, latency mean %.3f ms, median %.3f ms\n", mflops,
              mean_latency, latency_ms[latency_ms.size() / 2]);
  std::printf("%-8s %8s %8s %10s\n", "exit", "images", "share", "accuracy");
  for (size_t e = 0; e < exits; ++e) {
    std::printf("%-8s %8lld %7.1f%% ", m.exit_names[e].c_str(), static_cast<long long>(count[e]),
                100.0 * static_cast<double>(count[e]) / static_cast<double>(n));
    if (count[e] > 0) {
      std::printf("%9.2f%%\n",
                  100.0 * static_cast<double>(correct[e]) / static_cast<double>(count[e]));
    } else {
      std::printf("%10s\n", "-");
    }
  }
  return Status::Ok();
}

Status Infer(const ParsedArgs& a) {
  ASSIGN_OR_RETURN(Loaded m, Load(a, true));
  std::vector<float> image(m.model->image_size());
  std::vector<uint8_t> scratch;
  for (size_t i = 0; i < m.images->size(); ++i) {
    RETURN_IF_ERROR(ReadImageAsFloats(*m.images, i, &scratch, image.data()));
    ASSIGN_OR_RETURN(ExitAnswer ans, m.model->Infer(image.data()));
    std::printf("%zu %d %s %.4f\n", i, ans.prediction,
                m.exit_names[static_cast<size_t>(ans.exit)].c_str(), ans.score);
  }
  return Status::Ok();
}

int Dispatch(const char* name, const char* usage, Status (*fn)(const ParsedArgs&),
             const std::vector<std::string>& args, std::vector<std::string> switches) {
  StatusOr<ParsedArgs> parsed =
      ParseArgs(args, {"--model", "--exits", "--images", "--labels", "--threads"}, switches);
  if (!parsed.ok()) return UsageError(name, parsed.status().message(), usage);
  if (parsed->help) {
    std::fputs(usage, stdout);
    return kExitOk;
  }
  if (!parsed->positional.empty()) {
    return UsageError(name, "unexpected argument '" + parsed->positional[0] + "'", usage);
  }
  Status s = fn(*parsed);
  if (s.code() == StatusCode::kInvalidArgument && s.message().rfind("--", 0) == 0) {
    return UsageError(name, s.message(), usage);
  }
  if (!s.ok()) return Failure(name, s);
  return kExitOk;
}

}  // namespace

int RunEvaluate(const std::vector<std::string>& args) {
  return Dispatch("evaluate", kEvaluateUsage, Evaluate, args, {"--json"});
}

int RunInfer(const std::vector<std::string>& args) {
  return Dispatch("infer", kInferUsage, Infer, args, {});
}

}  // namespace cli
}  // namespace persephonee
