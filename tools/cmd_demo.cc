// `persephonee demo`: the main job. Personalise early exits for simulated Fashion-MNIST users and
// set the figures beside the PersEPhonEE paper's claims (training/demo.h).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "base/file_io.h"
#include "graph/model_format.h"
#include "tools/commands.h"
#include "tools/engine_cli.h"
#include "tools/personalise_cli.h"
#include "training/demo.h"
#include "training/demo_report.h"
#include "training/sha256.h"

namespace persephonee {
namespace cli {
namespace {

constexpr const char* kUsage =
    "usage: persephonee demo [--backbone FILE] [--users N] [--first-seed S] [--family 1|2]\n"
    "         [--epochs E] [--train N] [--test N] [--exits K] [--threads T] [--memory-budget B]\n"
    "         [--latency-images N] [--backbone-test-images N] [--head-weights int8|float32]\n"
    "         [--data DIR] [--report DIR] [--epsilon X] [--delta X] [--no-baselines]\n"
    "\n"
    "Personalises early exits of the pretrained Fashion-MNIST backbone for N simulated users\n"
    "(default 20) at 0%, 10% and 100% labels, against the original model, whole-network\n"
    "fine-tuning and final-classifier fine-tuning with the same objective, data and epochs\n"
    "(default 5), and prints a table beside the PersEPhonEE paper's claims, each marked MET or\n"
    "NOT MET. --report DIR writes DIR/index.html (plots) and DIR/results.json.\n"
    "--family 1 (default) draws the users the method was tuned on; --family 2 the held-out\n"
    "family (other image transforms, 2 to 5 classes; see `persephonee users --help`), whose\n"
    "figures are the honest ones: nothing was tuned on them.\n"
    "\n"
    "The backbone (default models/fmnist_resnet.psm) must match the SHA-256 in FILE.sha256;\n"
    "if it does not (or is missing), it is retrained first with the `persephonee pretrain`\n"
    "commands recorded in FILE.pretrain (one per line, {out} standing for FILE), which takes\n"
    "about an hour on one core.\n"
    "--data DIR holds Fashion-MNIST's IDX files (default /usr/share/datasets/fashion-mnist).\n"
    "--head-weights: how the exits' weights are stored, as in `persephonee personalise`.\n"
    "--epsilon, --delta: the calibration's guarantee, as in `persephonee personalise`.\n"
    "--no-baselines: skip both fine-tuning baselines (a quicker look; their claims are then\n"
    "not measured and show as NOT MET).\n";

std::string FirstToken(const std::string& text) {
  std::istringstream in(text);
  std::string token;
  in >> token;
  return token;
}

// The backbone at `path`, checked against path.sha256 and retrained with path.pretrain when it
// does not match. Says on stdout what it did.
StatusOr<Graph> CheckedBackbone(const std::string& path, std::string* origin) {
  StatusOr<std::string> expected = ReadFile(path + ".sha256");
  ENSURE_CODE(expected.ok(), kNotFound, "the backbone's checksum file ", path,
              ".sha256 is missing: ", expected.status().message());
  const std::string want = FirstToken(*expected);
  StatusOr<std::string> bytes = ReadFile(path);
  if (bytes.ok() && Sha256Hex(bytes->data(), bytes->size()) == want) {
    *origin = path + " (sha256 " + want.substr(0, 16) + "..., matches " + path + ".sha256)";
    return ParseGraph(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size(), path);
  }
  std::printf("backbone %s: %s; retraining it\n", path.c_str(),
              bytes.ok() ? "its SHA-256 does not match the recorded one" : "missing");
  ASSIGN_OR_RETURN(std::string recorded, ReadFile(path + ".pretrain"));
  // One `pretrain ...` command per line, run in order, each with --out FILE added; "{out}"
  // stands for FILE (a later step may continue from an earlier one's result).
  std::istringstream lines(recorded);
  std::string line;
  int steps = 0;
  while (std::getline(lines, line)) {
    std::vector<std::string> args;
    std::istringstream in(line);
    std::string word;
    while (in >> word) args.push_back(word == "{out}" ? path : word);
    if (args.empty() || args[0][0] == '#') continue;
    ENSURE(args[0] == "pretrain", path, ".pretrain: every line must be a `pretrain` command, not '",
           line, "'");
    args.erase(args.begin());
    args.push_back("--out");
    args.push_back(path);
    std::printf("running: persephonee pretrain");
    for (const std::string& a : args) std::printf(" %s", a.c_str());
    std::printf("\n");
    std::fflush(stdout);
    ENSURE_CODE(RunPretrain(args) == kExitOk, kInternal, "pretraining the backbone failed");
    ++steps;
  }
  ENSURE(steps > 0, path, ".pretrain holds no `pretrain` command");
  ASSIGN_OR_RETURN(bytes, ReadFile(path));
  const std::string got = Sha256Hex(bytes->data(), bytes->size());
  if (got == want) {
    *origin = path + " (retrained; sha256 matches the recorded one)";
  } else {
    std::printf(
        "note: the retrained backbone's SHA-256 %s differs from the recorded %s (another CPU\n"
        "      picks other kernels, so the float sums differ); using it.\n",
        got.c_str(), want.c_str());
    *origin = path + " (retrained here; sha256 " + got.substr(0, 16) + "...)";
  }
  return ParseGraph(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size(), path);
}

std::string MinSec(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%ldm%02lds", s / 60, s % 60);
  return buf;
}

Status Demo(const ParsedArgs& a) {
  const auto& v = a.values;
  DemoOptions o;
  ASSIGN_OR_RETURN(int64_t users, IntFlag(a, "--users", 20, 1, 1000));
  ASSIGN_OR_RETURN(int64_t first, IntFlag(a, "--first-seed", 1, 0, INT32_MAX));
  ASSIGN_OR_RETURN(int64_t family, IntFlag(a, "--family", 1, 1, 2));
  ASSIGN_OR_RETURN(int64_t epochs, IntFlag(a, "--epochs", 5, 1, 1000));
  ASSIGN_OR_RETURN(int64_t train, IntFlag(a, "--train", 500, 10, 10000));
  ASSIGN_OR_RETURN(int64_t test, IntFlag(a, "--test", 500, 10, 10000));
  ASSIGN_OR_RETURN(int64_t exits, IntFlag(a, "--exits", 4, 1, 16));
  ASSIGN_OR_RETURN(int64_t threads, IntFlag(a, "--threads", 2, 1, 64));
  ASSIGN_OR_RETURN(int64_t latency, IntFlag(a, "--latency-images", 200, 1, 10000));
  ASSIGN_OR_RETURN(int64_t backbone_test, IntFlag(a, "--backbone-test-images", 10000, 1, 10000));
  o.backbone_test_images = static_cast<size_t>(backbone_test);
  o.users = static_cast<int>(users);
  o.first_seed = static_cast<uint64_t>(first);
  o.family = static_cast<int>(family);
  o.personalise.epochs = static_cast<int>(epochs);
  o.train_images = static_cast<size_t>(train);
  o.test_images = static_cast<size_t>(test);
  o.exits = static_cast<int>(exits);
  o.threads = static_cast<int>(threads);
  o.personalise.threads = o.threads;
  o.latency_images = static_cast<size_t>(latency);
  o.baselines = !a.switches.count("--no-baselines");
  if (v.count("--epsilon")) {
    ASSIGN_OR_RETURN(float e, ParseFloat("--epsilon", v.at("--epsilon"), 0, 1));
    o.guarantee.epsilon = e;
  }
  if (v.count("--delta")) {
    ASSIGN_OR_RETURN(float d, ParseFloat("--delta", v.at("--delta"), 1e-6f, 0.999f));
    o.guarantee.delta = d;
  }
  if (v.count("--head-weights")) {
    ASSIGN_OR_RETURN(o.personalise.head_storage, ParseHeadWeights(v.at("--head-weights")));
  }
  if (v.count("--memory-budget")) {
    ASSIGN_OR_RETURN(o.personalise.memory_budget,
                     ParseBytes("--memory-budget", v.at("--memory-budget")));
  }
  const std::string backbone_path =
      v.count("--backbone") ? v.at("--backbone") : "models/fmnist_resnet.psm";
  const std::string dir = v.count("--data") ? v.at("--data") : "/usr/share/datasets/fashion-mnist";
  if (v.count("--report")) {
    // Fail before an hour of work, not after it.
    const std::string& report = v.at("--report");
    const size_t slash = report.find_last_of('/');
    const std::string parent = slash == std::string::npos ? "." : report.substr(0, slash + 1);
    ENSURE(access(report.c_str(), W_OK) == 0 || access(parent.c_str(), W_OK) == 0,
           "--report: cannot write ", report, " (its parent must exist)");
  }

  ASSIGN_OR_RETURN(FashionMnist data, LoadFashionMnist(dir));
  std::string origin;
  ASSIGN_OR_RETURN(Graph backbone, CheckedBackbone(backbone_path, &origin));
  // The demo's own data (Fashion-MNIST, ~55 MB) stays resident: the budget is for what
  // personalisation adds on top of it.
  o.personalise.memory_budget += CurrentRssBytes();

  const auto start = std::chrono::steady_clock::now();
  const bool tty = isatty(fileno(stdout)) != 0;
  o.on_progress = [&](size_t done, size_t total, const std::string& what) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const int width = 24;
    const int filled = static_cast<int>(width * done / std::max<size_t>(total, 1));
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(static_cast<size_t>(width), '.');
    std::string left = done > 0 ? ", ~" + MinSec(elapsed / done * (total - done)) + " left" : "";
    std::printf("%s[%s] %zu/%zu  %s  %s%s%s", tty ? "\r" : "", bar.c_str(), done, total,
                MinSec(elapsed).c_str(), what.c_str(), left.c_str(), tty ? "\033[K" : "\n");
    std::fflush(stdout);
  };
  std::printf(
      "demo: %d family-%d users x %zu label fractions, %zu on-device and %zu test images each, "
      "%d epochs, %d threads\n",
      o.users, o.family, o.label_fractions.size(), o.train_images, o.test_images,
      o.personalise.epochs, o.threads);
  ASSIGN_OR_RETURN(DemoResults r, persephonee::RunDemo(backbone, data, o));
  r.backbone = origin;
  if (tty) std::printf("\n");
  std::printf("\n%s", DemoTable(r).c_str());
  if (v.count("--report")) {
    RETURN_IF_ERROR(WriteDemoReport(r, v.at("--report")));
    std::printf("report: %s/index.html and %s/results.json\n", v.at("--report").c_str(),
                v.at("--report").c_str());
  }
  return Status::Ok();
}

}  // namespace

int RunDemo(const std::vector<std::string>& args) {
  StatusOr<ParsedArgs> parsed = ParseArgs(
      args,
      {"--backbone", "--users", "--first-seed", "--family", "--epochs", "--train", "--test",
       "--exits", "--threads", "--memory-budget", "--latency-images", "--backbone-test-images",
       "--data", "--report", "--head-weights", "--epsilon", "--delta"},
      {"--no-baselines"});
  if (!parsed.ok()) return UsageError("demo", parsed.status().message(), kUsage);
  if (parsed->help) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (!parsed->positional.empty()) {
    return UsageError("demo", "unexpected argument '" + parsed->positional[0] + "'", kUsage);
  }
  Status s = Demo(*parsed);
  if (s.code() == StatusCode::kInvalidArgument && s.message().rfind("--", 0) == 0) {
    return UsageError("demo", s.message(), kUsage);
  }
  if (!s.ok()) return Failure("demo", s);
  return kExitOk;
}

}  // namespace cli
}  // namespace persephonee
