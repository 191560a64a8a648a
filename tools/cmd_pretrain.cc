// `persephonee pretrain`: train the Fashion-MNIST backbone with the engine's own kernels.
#include <cstdio>

#include "base/idx.h"
#include "graph/model_format.h"
#include "graph/zoo.h"
#include "tools/commands.h"
#include "tools/engine_cli.h"
#include "tools/personalise_cli.h"
#include "training/pretrain.h"

namespace persephonee {
namespace cli {
namespace {

constexpr const char* kUsage =
    "usage: persephonee pretrain --out FILE [--model zoo:fmnist_resnet] [--epochs E] [--batch N]\n"
    "         [--lr X] [--weight-decay X] [--seed S] [--threads T] [--data DIR] [--train-count N]\n"
    "         [--no-augment] [--no-zero-init]\n"
    "\n"
    "Trains the model (default: the zoo's fmnist_resnet with seeded weights) on Fashion-MNIST\n"
    "train images 0..49999 (--train-count), images 50000..59999 are left for users, and reports\n"
    "the accuracy on the 10k test set after every epoch. BatchNorm is folded and each residual\n"
    "branch's last convolution starts at zero (--no-zero-init: it does not); SGD (Nesterov,\n"
    "--lr 0.05, --weight-decay 5e-4), warm-up then cosine; random 2-pixel shifts and flips\n"
    "(--no-augment: none). Writes the trained model to FILE atomically.\n"
    "--data DIR holds the four IDX files (default /usr/share/datasets/fashion-mnist).\n";

Status Pretrain(const ParsedArgs& a) {
  const auto& v = a.values;
  ENSURE(v.count("--out"), "--out is required");
  PretrainOptions o;
  ASSIGN_OR_RETURN(int64_t epochs, IntFlag(a, "--epochs", 10, 1, 1000));
  ASSIGN_OR_RETURN(int64_t batch, IntFlag(a, "--batch", 128, 1, 4096));
  ASSIGN_OR_RETURN(int64_t seed, IntFlag(a, "--seed", 1, 0, INT64_MAX));
  ASSIGN_OR_RETURN(int64_t threads, IntFlag(a, "--threads", 1, 1, 64));
  ASSIGN_OR_RETURN(int64_t count, IntFlag(a, "--train-count", 50000, 1, 50000));
  o.epochs = static_cast<int>(epochs);
  o.batch = static_cast<int>(batch);
  o.seed = static_cast<uint64_t>(seed);
  o.threads = static_cast<int>(threads);
  o.train_count = static_cast<size_t>(count);
  o.augment = !a.switches.count("--no-augment");
  o.zero_init_residual = !a.switches.count("--no-zero-init");
  if (v.count("--weight-decay")) {
    ASSIGN_OR_RETURN(o.weight_decay, ParseFloat("--weight-decay", v.at("--weight-decay"), 0, 1));
  }
  if (v.count("--lr")) {
    ASSIGN_OR_RETURN(o.learning_rate, ParseFloat("--lr", v.at("--lr"), 1e-6f, 10));
  }
  const std::string model = v.count("--model") ? v.at("--model") : "zoo:fmnist_resnet";
  const std::string dir = v.count("--data") ? v.at("--data") : "/usr/share/datasets/fashion-mnist";
  ASSIGN_OR_RETURN(Graph initial, model.rfind(kZooPrefix, 0) == 0
                                      ? BuildZooModel(model.substr(4), o.seed)
                                      : LoadModelArg(model));
  ASSIGN_OR_RETURN(IdxArray train_images, ReadIdx(dir + "/train-images-idx3-ubyte.gz"));
  ASSIGN_OR_RETURN(IdxArray train_labels, ReadIdx(dir + "/train-labels-idx1-ubyte.gz"));
  ASSIGN_OR_RETURN(IdxArray test_images, ReadIdx(dir + "/t10k-images-idx3-ubyte.gz"));
  ASSIGN_OR_RETURN(IdxArray test_labels, ReadIdx(dir + "/t10k-labels-idx1-ubyte.gz"));
  o.on_batch = [](int epoch, size_t b, size_t batches, double loss, double rate, double left) {
    std::printf("\repoch %d  batch %zu/%zu  loss %.4f  %.0f images/s  %.0f s left   ", epoch, b,
                batches, loss, rate, left);
    std::fflush(stdout);
  };
  o.on_epoch = [&](int epoch, double loss, double accuracy) {
    std::printf("\repoch %d/%d  loss %.4f  test accuracy %.2f%%%30s\n", epoch, o.epochs, loss,
                100 * accuracy, "");
    std::fflush(stdout);
  };
  ASSIGN_OR_RETURN(PretrainResult r, persephonee::Pretrain(initial, train_images, train_labels,
                                                           test_images, test_labels, o));
  RETURN_IF_ERROR(SaveGraph(r.model, v.at("--out")));
  std::printf("test accuracy %.2f%% after %d epochs (%.0f s); wrote %s\n",
              100 * r.test_accuracy.back(), o.epochs, r.seconds, v.at("--out").c_str());
  return Status::Ok();
}

}  // namespace

int RunPretrain(const std::vector<std::string>& args) {
  StatusOr<ParsedArgs> parsed =
      ParseArgs(args,
                {"--out", "--model", "--epochs", "--batch", "--lr", "--seed", "--threads", "--data",
                 "--train-count", "--weight-decay"},
                {"--no-augment", "--no-zero-init"});
  if (!parsed.ok()) return UsageError("pretrain", parsed.status().message(), kUsage);
  if (parsed->help) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (!parsed->positional.empty()) {
    return UsageError("pretrain", "unexpected argument '" + parsed->positional[0] + "'", kUsage);
  }
  Status s = Pretrain(*parsed);
  if (s.code() == StatusCode::kInvalidArgument && s.message().rfind("--", 0) == 0) {
    return UsageError("pretrain", s.message(), kUsage);
  }
  if (!s.ok()) return Failure("pretrain", s);
  return kExitOk;
}

}  // namespace cli
}  // namespace persephonee
