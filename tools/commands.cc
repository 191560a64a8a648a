#include "tools/commands.h"

namespace persephonee {
namespace cli {

const std::vector<Command>& AllCommands() {
  static const std::vector<Command> commands = {
      {"cpu", "print what cpuinfo and XNNPACK report for this machine", RunCpu},
      {"info", "describe a model: per-layer shapes, MACs and parameters; totals", RunInfo},
      {"zoo", "write a zoo model (fmnist_resnet, resnet20, ...) with seeded weights", RunZoo},
      {"plan", "plan a model's memory: arena, lower bound, no-reuse total, parameters", RunPlan},
      {"run", "run a model once; the top-5 classes of each image", RunRun},
      {"bench", "time the engine on a model: median/min/p90 latency, images/s, GFLOP/s", RunBench},
      {"personalise", "train early-exit heads on a user's images; calibrate; save them",
       RunPersonalise},
      {"finetune", "the baselines: fine-tune the whole network or its classifier, same flags",
       RunFineTune},
      {"evaluate", "accuracy, per-exit accuracy, FLOPs, latency and exit histogram", RunEvaluate},
      {"infer", "a prediction and its exit per image, with a personalisation", RunInfer},
      {"pretrain", "train the Fashion-MNIST backbone with the engine's own kernels", RunPretrain},
      {"demo", "the main job: personalise exits for simulated users, compare with the paper",
       RunDemo},
      {"users", "write simulated Fashion-MNIST users' images and labels as IDX files", RunUsers},
  };
  return commands;
}

}  // namespace cli
}  // namespace persephonee
