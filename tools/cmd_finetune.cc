// `persephonee finetune`: the baselines the exits are compared with, on anyone's data: the
// whole network, or only its final classifier, fine-tuned with the same objective, split,
// epochs and labels as `persephonee personalise`.
#include <cstdint>
#include <cstdio>

#include "graph/model_format.h"
#include "tools/commands.h"
#include "tools/engine_cli.h"
#include "tools/personalise_cli.h"
#include "training/finetune.h"
#include "training/personalise.h"

namespace persephonee {
namespace cli {
namespace {

constexpr const char* kUsage =
    "usage: persephonee finetune --mode whole|classifier --model M --images FILE.idx[.gz]\n"
    "         [--labels FILE.idx[.gz]] [--epochs E] [--seed S] [--batch N] [--threads T]\n"
    "         [--optimizer adam|sgd] [--lr X] [--temperature T] [--tau X] [--holdout X]\n"
    "         --out MODEL.psm\n"
    "\n"
    "Fine-tunes the model M (a model file or zoo:NAME) on the user's images as `persephonee\n"
    "personalise` trains its exits: the same flags, the same training part of the images\n"
    "(--holdout, default 0.2, is left out, with the same seed), the same objective (the\n"
    "labels where given, 255 = unlabelled; distillation and confident pseudo-labels from the\n"
    "original model elsewhere) and schedule. --mode whole trains every layer (SGD with\n"
    "momentum unless --optimizer says otherwise, learning rate 0.01), --mode classifier only\n"
    "the final fully-connected layer (Adam, 0.003). Writes the whole fine-tuned model\n"
    "(BatchNorm folded) to MODEL.psm atomically; `persephonee evaluate --model MODEL.psm`\n"
    "measures it. Exit codes: 0 done, 1 the work failed (bad data or files), 2 bad flags.\n";

Status FineTuneCommand(const ParsedArgs& a) {
  const auto& v = a.values;
  ENSURE(v.count("--mode") && v.count("--model") && v.count("--images") && v.count("--out"),
         "--mode, --model, --images and --out are required");
  const std::string& mode = v.at("--mode");
  ENSURE(mode == "whole" || mode == "classifier", "--mode: expected whole or classifier, got '",
         mode, "'");
  const FineTuneScope scope =
      mode == "whole" ? FineTuneScope::kWholeNetwork : FineTuneScope::kClassifier;
  PersonaliseOptions o;
  if (scope == FineTuneScope::kWholeNetwork) {
    o.optimizer = OptimizerKind::kSgd;
    o.learning_rate = 0.01f;
  }
  const bool lr_given = v.count("--lr") > 0;
  RETURN_IF_ERROR(ParseTrainingFlags(a, &o));
  if (scope == FineTuneScope::kWholeNetwork && !lr_given && o.optimizer == OptimizerKind::kSgd) {
    o.learning_rate = 0.01f;  // ParseTrainingFlags sets heads' SGD rate for --optimizer sgd
  }

  ASSIGN_OR_RETURN(Graph model, LoadModelArg(v.at("--model")));
  ASSIGN_OR_RETURN(auto images, OpenIdxImages(v.at("--images")));
  std::vector<uint8_t> labels(images->size(), kUnlabelled);
  if (v.count("--labels")) {
    ASSIGN_OR_RETURN(labels, ReadLabels(v.at("--labels"), images->size()));
  }
  o.on_epoch = [&](int epoch, double loss, double rate, double left) {
    std::printf("epoch %d/%d  loss %.4f  %.0f samples/s  %.1f s left\n", epoch, o.epochs, loss,
                rate, left);
    std::fflush(stdout);
  };
  ASSIGN_OR_RETURN(FineTuneResult r, FineTune(model, scope, *images, labels, o));
  RETURN_IF_ERROR(SaveGraph(r.model, v.at("--out")));
  std::printf(
      "fine-tuned %s on %zu images (%zu labelled) in %.1f s, %.3g training MACs; wrote %s\n",
      FineTuneScopeName(scope), r.train_samples, r.labelled_samples, r.seconds,
      static_cast<double>(r.training_macs), v.at("--out").c_str());
  return Status::Ok();
}

}  // namespace

int RunFineTune(const std::vector<std::string>& args) {
  std::vector<std::string> flags = TrainingFlagNames();
  for (const char* f : {"--mode", "--model", "--images", "--labels", "--out"}) flags.push_back(f);
  StatusOr<ParsedArgs> parsed = ParseArgs(args, flags, {});
  if (!parsed.ok()) return UsageError("finetune", parsed.status().message(), kUsage);
  if (parsed->help) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (!parsed->positional.empty()) {
    return UsageError("finetune", "unexpected argument '" + parsed->positional[0] + "'", kUsage);
  }
  Status s = FineTuneCommand(*parsed);
  if (s.code() == StatusCode::kInvalidArgument && s.message().rfind("--", 0) == 0) {
    return UsageError("finetune", s.message(), kUsage);
  }
  if (!s.ok()) return Failure("finetune", s);
  return kExitOk;
}

}  // namespace cli
}  // namespace persephonee
