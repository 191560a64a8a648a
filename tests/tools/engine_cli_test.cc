// `persephonee plan`, `run` and `bench`: their figures checked against the engine itself, the
// outputs against an engine run in the test, and the exit codes (0 ok, 1 failure, 2 usage).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "base/idx.h"
#include "engine/engine.h"
#include "graph/builder.h"
#include "graph/flops.h"
#include "graph/model_format.h"
#include "graph/shape_inference.h"
#include "graph/zoo.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/test_graphs.h"
#include "tools/commands.h"

namespace persephonee {
namespace cli {
namespace {

using testing_graphs::EveryOpNet;
using testing_graphs::RandomVector;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteBytes(const std::string& path, const void* data, size_t size) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
}

std::vector<float> ReadFloats(const std::string& path) {
  const std::string bytes = ReadBytes(path);
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

// Saves `graph` under TEST_TMPDIR and returns the path.
std::string SaveModel(const Graph& graph, const std::string& name) {
  const std::string path = TempPath(name);
  Status s = SaveGraph(graph, path);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return path;
}

// The engine's output for `graph` on input `x` (batch `batch`, one thread).
std::vector<float> EngineOutput(const Graph& graph, int64_t batch, const std::vector<float>& x) {
  EngineOptions options;
  options.batch = batch;
  auto engine = Engine::Create(graph, options);
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  if (!engine.ok()) return {};
  std::copy(x.begin(), x.end(), (*engine)->input());
  EXPECT_TRUE((*engine)->Run().ok());
  const Shape& out = (*engine)->graph().tensor((*engine)->graph().outputs()[0]).shape;
  return std::vector<float>((*engine)->output(), (*engine)->output() + NumElements(out));
}

// Largest |a - b| over the largest |b|; 1e9 if the sizes differ.
double RelativeError(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || a.empty()) return 1e9;
  double worst = 0.0, scale = 1e-30;
  for (size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return worst / scale;
}

// A printed top-k entry.
struct Ranked {
  size_t cls;
  double p;
};

// The "image b:" blocks of `run`'s output: per image, its ranked classes in printed order.
std::vector<std::vector<Ranked>> ParseTopK(const std::string& out) {
  std::vector<std::vector<Ranked>> images;
  const std::regex image_re("^image (\\d+):$"), entry_re("^  (\\d+)\\. class (\\d+)  p=([0-9.]+)$");
  std::istringstream lines(out);
  std::string line;
  std::smatch m;
  while (std::getline(lines, line)) {
    if (std::regex_match(line, m, image_re)) {
      EXPECT_EQ(std::stoul(m[1]), images.size()) << line;
      images.emplace_back();
    } else if (std::regex_match(line, m, entry_re) && !images.empty()) {
      EXPECT_EQ(std::stoul(m[1]), images.back().size() + 1) << line;
      images.back().push_back({std::stoul(m[2]), std::stod(m[3])});
    }
  }
  return images;
}

// Checks the printed top-k of every image against probabilities `probs` (batch × classes).
void ExpectTopK(const std::string& out, const std::vector<double>& probs, size_t batch,
                size_t classes) {
  const std::vector<std::vector<Ranked>> images = ParseTopK(out);
  ASSERT_EQ(images.size(), batch) << out;
  for (size_t b = 0; b < batch; ++b) {
    const double* p = probs.data() + b * classes;
    std::vector<size_t> order(classes);
    for (size_t i = 0; i < classes; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return p[x] > p[y]; });
    ASSERT_EQ(images[b].size(), std::min<size_t>(5, classes)) << "image " << b << "\n" << out;
    for (size_t i = 0; i < images[b].size(); ++i) {
      EXPECT_EQ(images[b][i].cls, order[i]) << "image " << b << " rank " << i + 1 << "\n" << out;
      EXPECT_NEAR(images[b][i].p, p[order[i]], 1e-6) << "image " << b << " rank " << i + 1;
    }
  }
}

std::vector<double> SoftmaxRows(const std::vector<float>& logits, size_t classes) {
  std::vector<double> p(logits.size());
  for (size_t r = 0; r < logits.size() / classes; ++r) {
    double max = -INFINITY, sum = 0.0;
    for (size_t i = 0; i < classes; ++i) max = std::max(max, double{logits[r * classes + i]});
    for (size_t i = 0; i < classes; ++i) {
      sum += p[r * classes + i] = std::exp(logits[r * classes + i] - max);
    }
    for (size_t i = 0; i < classes; ++i) p[r * classes + i] /= sum;
  }
  return p;
}

// The number after `key` in `text` (e.g. "median " in "latency ms: median 1.5"); NaN if absent.
double NumberAfter(const std::string& text, const std::string& key) {
  const size_t at = text.find(key);
  return at == std::string::npos ? NAN : std::atof(text.c_str() + at + key.size());
}

TEST(EngineCliTest, PlanReportsTheEnginesArenaWithinItsBounds) {
  auto graph = BuildZooModel("fmnist_resnet", 2);
  ASSERT_TRUE(graph.ok());
  const std::string path = SaveModel(*graph, "plan.psm");
  for (int64_t batch : {1, 3}) {
    EngineOptions options;
    options.batch = batch;
    auto engine = Engine::Create(*graph, options);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    const ArenaReport& want = (*engine)->arena_report();
    Result r = RunArgs({"plan", path, "--json", "--batch", std::to_string(batch)});
    ASSERT_EQ(r.code, kExitOk) << r.err;
    const double arena = NumberAfter(r.out, "\"arena_bytes\": ");
    const double lower = NumberAfter(r.out, "\"lower_bound_bytes\": ");
    const double no_reuse = NumberAfter(r.out, "\"no_reuse_bytes\": ");
    EXPECT_EQ(arena, static_cast<double>(want.arena_bytes)) << r.out;
    EXPECT_EQ(lower, static_cast<double>(want.lower_bound_bytes)) << r.out;
    EXPECT_EQ(no_reuse, static_cast<double>(want.no_reuse_bytes)) << r.out;
    EXPECT_GE(arena, lower);
    EXPECT_LE(arena, no_reuse);
    EXPECT_LT(arena, no_reuse) << "a residual network reuses memory";
    EXPECT_NEAR(NumberAfter(r.out, "\"arena_over_lower_bound\": "), arena / lower, 1e-5);
    EXPECT_EQ(NumberAfter(r.out, "\"buffers\": "), static_cast<double>(want.buffers));
    EXPECT_EQ(NumberAfter(r.out, "\"in_place\": "), static_cast<double>(want.in_place));
    EXPECT_GT(want.in_place, 0u) << "residual adds and ReLUs run in place";
    EXPECT_EQ(NumberAfter(r.out, "\"parameter_bytes\": "),
              static_cast<double>(want.parameter_bytes));
    EXPECT_NE(r.out.find("\"model\": \"" + path + "\""), std::string::npos) << r.out;
    EXPECT_EQ(r.out.front(), '[');
    // Every activation scales with the batch, so does the lower bound.
    auto one = Engine::Create(*graph, {});
    ASSERT_TRUE(one.ok());
    EXPECT_EQ(want.lower_bound_bytes,
              static_cast<size_t>(batch) * (*one)->arena_report().lower_bound_bytes);
  }
}

TEST(EngineCliTest, PlanTextListsEveryFigureForEachModel) {
  Result r = RunArgs({"plan", "zoo:resnet20", "zoo:fmnist_resnet"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const size_t second = r.out.find("model: zoo:fmnist_resnet (batch 1");
  ASSERT_NE(second, std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("model: zoo:resnet20 (batch 1"), 0u) << r.out;
  auto graph = BuildZooModel("resnet20", 1);
  ASSERT_TRUE(graph.ok());
  auto engine = Engine::Create(*graph, {});
  ASSERT_TRUE(engine.ok());
  const ArenaReport& want = (*engine)->arena_report();
  const std::string first = r.out.substr(0, second);
  for (const char* key : {"arena:", "lower bound:", "no reuse:", "arena / lower bound:", "buffers:",
                          "in-place grants:", "parameter bytes:"}) {
    EXPECT_NE(first.find(key), std::string::npos) << key;
    EXPECT_NE(r.out.find(key, second), std::string::npos) << key;
  }
  EXPECT_EQ(NumberAfter(first, "buffers: "), static_cast<double>(want.buffers)) << first;
  EXPECT_EQ(NumberAfter(first, "in-place grants: "), static_cast<double>(want.in_place));
}

TEST(EngineCliTest, RunMatchesTheEngineAndPrintsItsSoftmax) {
  auto graph = BuildZooModel("fmnist_resnet", 4);
  ASSERT_TRUE(graph.ok());
  const std::string model = SaveModel(*graph, "run.psm");
  const size_t batch = 3, classes = 10;
  const std::vector<float> x = RandomVector(batch * 28 * 28, 5, 0.0f, 1.0f);
  const std::string input = TempPath("run_in.f32"), output = TempPath("run_out.f32");
  WriteBytes(input, x.data(), x.size() * sizeof(float));
  Result r = RunArgs(
      {"run", model, "--input", input, "--batch", "3", "--threads", "2", "--output", output});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const std::vector<float> logits = ReadFloats(output);
  const std::vector<float> want = EngineOutput(*graph, 3, x);
  ASSERT_EQ(logits.size(), batch * classes);
  EXPECT_LT(RelativeError(logits, want), 1e-5);
  EXPECT_NE(r.out.find("logits; probabilities = softmax(logits)"), std::string::npos) << r.out;
  ExpectTopK(r.out, SoftmaxRows(logits, classes), batch, classes);
}

TEST(EngineCliTest, RunProbabilitiesSumToOneWithAndWithoutASoftmaxNode) {
  for (bool softmax : {false, true}) {
    auto graph = EveryOpNet(8, 1, 5, softmax);  // five classes: the top-5 is every class
    ASSERT_TRUE(graph.ok()) << graph.status().ToString();
    const std::string model = SaveModel(*graph, softmax ? "sm.psm" : "logits.psm");
    const std::string output = TempPath("every_out.f32");
    Result r = RunArgs({"run", model, "--batch", "2", "--output", output});
    ASSERT_EQ(r.code, kExitOk) << r.err;
    EXPECT_NE(r.out.find(softmax ? "the model's own softmax" : "softmax(logits)"),
              std::string::npos)
        << r.out;
    const std::vector<float> raw = ReadFloats(output);
    ASSERT_EQ(raw.size(), 10u);
    const std::vector<double> probs =
        softmax ? std::vector<double>(raw.begin(), raw.end()) : SoftmaxRows(raw, 5);
    ExpectTopK(r.out, probs, 2, 5);
    for (const std::vector<Ranked>& image : ParseTopK(r.out)) {
      double sum = 0.0;
      for (const Ranked& e : image) sum += e.p;
      EXPECT_NEAR(sum, 1.0, 1e-5) << r.out;
    }
  }
}

TEST(EngineCliTest, RunWithoutInputIsDeterministicAndUsesTheDocumentedValues) {
  const std::string out1 = TempPath("syn1.f32"), out2 = TempPath("syn2.f32");
  Result a = RunArgs({"run", "zoo:resnet20", "--output", out1});
  Result b = RunArgs({"run", "zoo:resnet20", "--output", out2, "--threads", "2"});
  ASSERT_EQ(a.code, kExitOk) << a.err;
  ASSERT_EQ(b.code, kExitOk) << b.err;
  // SplitMix64 seeded with 0x5eed: value i = top 24 bits of the i-th draw / 2^24.
  std::vector<float> x(32 * 32 * 3);
  uint64_t state = 0x5eed;
  for (float& v : x) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    v = static_cast<float>((z ^ (z >> 31)) >> 40) / 16777216.0f;
  }
  auto graph = BuildZooModel("resnet20", 1);
  ASSERT_TRUE(graph.ok());
  EXPECT_LT(RelativeError(ReadFloats(out1), EngineOutput(*graph, 1, x)), 1e-5);
  EXPECT_LT(RelativeError(ReadFloats(out2), ReadFloats(out1)), 1e-5);
  EXPECT_EQ(ParseTopK(a.out).size(), 1u);
}

TEST(EngineCliTest, RunReadsIdxImagesScaledToUnitRange) {
  auto graph = BuildZooModel("fmnist_resnet", 1);
  ASSERT_TRUE(graph.ok());
  const std::string model = SaveModel(*graph, "idx_model.psm");
  std::vector<uint8_t> pixels(4 * 28 * 28);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>((i * 37 + 11) % 256);
  const std::string images = TempPath("images-idx3-ubyte.gz");
  ASSERT_TRUE(WriteIdx(images, {4, 28, 28}, pixels.data(), pixels.size(), /*gzip=*/true).ok());
  const std::string output = TempPath("idx_out.f32");
  Result r = RunArgs({"run", model, "--input", images, "--batch", "2", "--output", output});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  std::vector<float> x(2 * 28 * 28);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(pixels[i]) / 255.0f;
  EXPECT_LT(RelativeError(ReadFloats(output), EngineOutput(*graph, 2, x)), 1e-5);
  ExpectTopK(r.out, SoftmaxRows(ReadFloats(output), 10), 2, 10);

  // More images than the file holds.
  Result few = RunArgs({"run", model, "--input", images, "--batch", "5"});
  EXPECT_EQ(few.code, kExitFailure);
  EXPECT_NE(few.err.find("holds 4 images; --batch asks for 5"), std::string::npos) << few.err;
  // Images of another size than the model's input.
  const std::string small = TempPath("small-idx3-ubyte");
  ASSERT_TRUE(WriteIdx(small, {4, 14, 14}, pixels.data(), 4 * 14 * 14, false).ok());
  Result wrong = RunArgs({"run", model, "--input", small});
  EXPECT_EQ(wrong.code, kExitFailure);
  EXPECT_NE(wrong.err.find("'" + small + "' holds images of [14,14,1]"), std::string::npos)
      << wrong.err;
  EXPECT_NE(wrong.err.find("needs [28,28,1]"), std::string::npos) << wrong.err;
  EXPECT_TRUE(wrong.out.empty());
}

TEST(EngineCliTest, RunRejectsMismatchedAndBadInputFiles) {
  const std::string model = "zoo:fmnist_resnet";
  const std::vector<float> x = RandomVector(28 * 28, 9, 0.0f, 1.0f);
  const std::string input = TempPath("short.f32");
  WriteBytes(input, x.data(), (x.size() - 1) * sizeof(float));
  Result r = RunArgs({"run", model, "--input", input});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_NE(r.err.find("'" + input +
                       "' has 3132 bytes; batch 1 of [28,28,1] float32 needs "
                       "exactly 3136"),
            std::string::npos)
      << r.err;
  WriteBytes(input, x.data(), x.size() * sizeof(float));
  Result batch = RunArgs({"run", model, "--input", input, "--batch", "2"});
  EXPECT_EQ(batch.code, kExitFailure);
  EXPECT_NE(batch.err.find("needs exactly 6272"), std::string::npos) << batch.err;
  std::vector<float> nan = x;
  nan[100] = NAN;
  WriteBytes(input, nan.data(), nan.size() * sizeof(float));
  Result bad = RunArgs({"run", model, "--input", input});
  EXPECT_EQ(bad.code, kExitFailure);
  EXPECT_NE(bad.err.find("value 100 is not finite"), std::string::npos) << bad.err;
  Result missing = RunArgs({"run", model, "--input", TempPath("absent.f32")});
  EXPECT_EQ(missing.code, kExitFailure);
  EXPECT_NE(missing.err.find(TempPath("absent.f32")), std::string::npos) << missing.err;
  const std::string not_idx = TempPath("not-idx");
  WriteBytes(not_idx, "hello world, not an IDX file", 28);
  Result garbage = RunArgs({"run", model, "--input", not_idx});
  EXPECT_EQ(garbage.code, kExitFailure);
  EXPECT_NE(garbage.err.find(not_idx), std::string::npos) << garbage.err;
  for (const Result& f : {r, batch, bad, missing, garbage}) EXPECT_TRUE(f.out.empty());

  // A model whose input is not an image cannot take IDX images.
  GraphBuilder b;
  const TensorId in = b.Input("features", {1, 784});
  b.MarkOutput(b.FullyConnected("fc", in, {3, Activation::kNone}, RandomVector(3 * 784, 1),
                                RandomVector(3, 2)));
  auto flat = b.Build();
  ASSERT_TRUE(flat.ok()) << flat.status().ToString();
  const std::string flat_model = SaveModel(*flat, "flat.psm");
  std::vector<uint8_t> pixels(28 * 28, 7);
  const std::string images = TempPath("flat-idx3-ubyte");
  ASSERT_TRUE(WriteIdx(images, {1, 28, 28}, pixels.data(), pixels.size(), false).ok());
  Result flat_run = RunArgs({"run", flat_model, "--input", images});
  EXPECT_EQ(flat_run.code, kExitFailure);
  EXPECT_NE(flat_run.err.find("IDX images need a model input of rank 4"), std::string::npos)
      << flat_run.err;
  // The same model takes a float32 file; three classes: the top-5 lists all three.
  const std::string features = TempPath("features.f32");
  const std::vector<float> f = RandomVector(784, 3, 0.0f, 1.0f);
  WriteBytes(features, f.data(), f.size() * sizeof(float));
  Result ok = RunArgs({"run", flat_model, "--input", features});
  ASSERT_EQ(ok.code, kExitOk) << ok.err;
  ExpectTopK(ok.out, SoftmaxRows(EngineOutput(*flat, 1, f), 3), 1, 3);
}

TEST(EngineCliTest, RunAndBenchRefuseModelsWithTwoOutputs) {
  GraphBuilder b;
  const TensorId in = b.Input("x", {1, 6});
  b.MarkOutput(b.FullyConnected("a", in, {2, Activation::kNone}, RandomVector(12, 1)));
  b.MarkOutput(b.FullyConnected("b", in, {3, Activation::kNone}, RandomVector(18, 2)));
  auto graph = b.Build();
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  const std::string model = SaveModel(*graph, "two_outputs.psm");
  for (const char* cmd : {"run", "bench"}) {
    Result r = RunArgs({cmd, model});
    EXPECT_EQ(r.code, kExitFailure) << cmd;
    EXPECT_NE(r.err.find("'" + model + "' has 1 inputs and 2 outputs"), std::string::npos) << r.err;
  }
  EXPECT_EQ(RunArgs({"plan", model}).code, kExitOk) << "planning needs no single output";
}

TEST(EngineCliTest, BenchPrintsConsistentPositiveFigures) {
  auto graph = BuildZooModel("fmnist_resnet", 1);
  ASSERT_TRUE(graph.ok());
  const std::string model = SaveModel(*graph, "bench.psm");
  Result r = RunArgs({"bench", model, "--iterations", "5", "--warmup", "1", "--batch", "2"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const double median = NumberAfter(r.out, "median "), min = NumberAfter(r.out, "min ");
  const double p90 = NumberAfter(r.out, "p90 ");
  EXPECT_GT(min, 0.0) << r.out;
  EXPECT_LE(min, median) << r.out;
  EXPECT_LE(median, p90) << r.out;
  EXPECT_NEAR(NumberAfter(r.out, "throughput: "), 2.0 / (median * 1e-3),
              0.01 * 2.0 / (median * 1e-3))
      << r.out;
  Graph batch2 = *graph;
  ASSERT_TRUE(SetBatchSize(&batch2, 2).ok());
  const double gflop = static_cast<double>(ComputeGraphCost(batch2).total.flops) * 1e-9;
  EXPECT_NEAR(NumberAfter(r.out, "GFLOP/s ("), gflop, 1e-4) << r.out;
  EXPECT_NEAR(NumberAfter(r.out, "compute: "), gflop / (median * 1e-3),
              0.01 * gflop / (median * 1e-3))
      << r.out;
  EXPECT_NE(r.out.find("5 timed runs after 1 warm-up"), std::string::npos) << r.out;
}

TEST(EngineCliTest, MissingAndCorruptModelFilesFail) {
  for (const char* cmd : {"plan", "run", "bench"}) {
    Result missing = RunArgs({cmd, TempPath("nope.psm")});
    EXPECT_EQ(missing.code, kExitFailure) << cmd;
    EXPECT_NE(missing.err.find("NOT_FOUND"), std::string::npos) << missing.err;
    EXPECT_NE(missing.err.find(TempPath("nope.psm")), std::string::npos) << missing.err;
  }
  auto graph = BuildZooModel("resnet20", 1);
  ASSERT_TRUE(graph.ok());
  const std::string path = SaveModel(*graph, "corrupt.psm");
  std::string bytes = ReadBytes(path);
  bytes[bytes.size() / 2] ^= 0x04;  // a weight
  WriteBytes(path, bytes.data(), bytes.size());
  for (const char* cmd : {"plan", "run", "bench"}) {
    Result r = RunArgs({cmd, path});
    EXPECT_EQ(r.code, kExitFailure) << cmd;
    EXPECT_NE(r.err.find("DATA_LOSS"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << cmd;
  }
  WriteBytes(path, bytes.data(), 100);
  Result cut = RunArgs({"run", path});
  EXPECT_EQ(cut.code, kExitFailure);
  EXPECT_NE(cut.err.find("truncated"), std::string::npos) << cut.err;
}

TEST(EngineCliTest, UsageErrors) {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const Case cases[] = {
      {{"plan"}, "missing MODEL"},
      {{"plan", "zoo:fmnist_resnet", "--batch", "0"}, "--batch must be an integer in [1, 65536]"},
      {{"plan", "zoo:fmnist_resnet", "--json", "--json"}, "--json given twice"},
      {{"plan", "zoo:vgg16"}, "no zoo model named 'vgg16'; the zoo has: fmnist_resnet"},
      {{"run"}, "missing MODEL"},
      {{"run", "a.psm", "b.psm"}, "unexpected argument 'b.psm'"},
      {{"run", "zoo:resnet20", "--threads", "0"}, "--threads must be an integer in [1, 256]"},
      {{"run", "zoo:resnet20", "--threads", "2x"}, "--threads must be an integer"},
      {{"run", "zoo:resnet20", "--batch"}, "--batch needs a value"},
      {{"run", "zoo:resnet20", "--input", ""}, "--input needs a file name"},
      {{"run", "zoo:resnet20", "--json"}, "unknown option '--json'"},
      {{"bench"}, "missing MODEL"},
      {{"bench", "zoo:resnet20", "--iterations", "0"}, "--iterations must be an integer in [1, "},
      {{"bench", "zoo:resnet20", "--warmup", "-1"}, "--warmup must be an integer in [0, "},
      {{"bench", "zoo:resnet20", "--batch", "99999999999999999999"}, "--batch must be"},
      {{"bench", "zoo:resnet20", "--fast"}, "unknown option '--fast'"},
  };
  for (const Case& c : cases) {
    Result r = RunArgs(c.args);
    std::string cmd;
    for (const std::string& a : c.args) cmd += a + " ";
    EXPECT_EQ(r.code, kExitUsage) << cmd;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << cmd << "\n" << r.err;
    EXPECT_NE(r.err.find("usage: persephonee " + c.args[0]), std::string::npos) << cmd;
    EXPECT_TRUE(r.out.empty()) << cmd;
  }
}

TEST(EngineCliTest, HelpPerCommandAndListed) {
  for (const char* cmd : {"plan", "run", "bench"}) {
    Result r = RunArgs({cmd, "--help"});
    EXPECT_EQ(r.code, kExitOk) << cmd;
    EXPECT_EQ(r.out.find(std::string("usage: persephonee ") + cmd + " MODEL"), 0u) << r.out;
    EXPECT_NE(r.out.find("zoo:NAME"), std::string::npos) << cmd;
    EXPECT_NE(RunArgs({"--help"}).out.find(std::string("  ") + cmd + " "), std::string::npos);
  }
  EXPECT_NE(RunArgs({"run", "--help"}).out.find("byte / 255"), std::string::npos);
}

}  // namespace
}  // namespace cli
}  // namespace persephonee
