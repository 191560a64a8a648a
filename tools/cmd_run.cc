// `persephonee run MODEL [--input FILE] [--batch N] [--threads N] [--output FILE]`: one forward
// pass; the top-5 classes of every image with their probabilities.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/file_io.h"
#include "base/idx.h"
#include "tools/commands.h"
#include "tools/engine_cli.h"

namespace persephonee {
namespace cli {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              ".f32 files are little-endian float32, read and written as host floats");

constexpr const char* kUsage =
    "usage: persephonee run MODEL [--input FILE] [--batch N] [--threads N] [--output FILE]\n"
    "\n"
    "Runs MODEL once on a batch of N images and prints, for every image, the five most\n"
    "probable classes with their probabilities. If the model ends with a Softmax its output\n"
    "is printed as it is; otherwise the output is taken as logits and a softmax is applied.\n"
    "\n"
    "MODEL is a model file (docs/model-format.md), or zoo:NAME for a zoo model built in\n"
    "memory with seed 1 (zoo:fmnist_resnet, zoo:resnet20, zoo:mobilenet_v2, zoo:resnet18).\n"
    "\n"
    "options:\n"
    "  --input FILE   the images. FILE ending in .f32: raw little-endian float32, exactly\n"
    "                 N x H x W x C values (NHWC), used as they are. Any other FILE: an IDX\n"
    "                 file of uint8 images, plain or gzip (e.g. Fashion-MNIST's\n"
    "                 t10k-images-idx3-ubyte.gz), N x H x W (one channel) or N x H x W x C,\n"
    "                 H, W, C matching the model's input; its first N images are used, each\n"
    "                 byte scaled to [0, 1] as byte / 255 (no mean or deviation subtracted).\n"
    "                 Without --input: a synthetic batch, uniform in [0, 1) from SplitMix64\n"
    "                 seeded with 0x5eed (the same on every machine).\n"
    "  --batch N      images per run, 1 to 65536 (default 1)\n"
    "  --threads N    threads, 1 to 256 (default 1)\n"
    "  --output FILE  also write the model's raw output (before any softmax applied here),\n"
    "                 N x classes little-endian float32, to FILE (written atomically)\n";

constexpr int kTopK = 5;

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Reads a raw float32 file of exactly `count` values into `x`.
Status ReadF32(const std::string& path, size_t count, size_t batch, const Shape& image, float* x) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  const size_t want = count * sizeof(float);
  ENSURE(bytes.size() == want, "input file '", path, "' has ", bytes.size(), " bytes; batch ",
         batch, " of ", ShapeToString(image), " float32 needs exactly ", want);
  std::memcpy(x, bytes.data(), want);
  for (size_t i = 0; i < count; ++i) {
    ENSURE(std::isfinite(x[i]), "input file '", path, "': value ", i, " is not finite (", x[i],
           ")");
  }
  return Status::Ok();
}

// Reads the first `batch` uint8 images of an IDX file into `x`, scaled by 1/255.
Status ReadIdxImages(const std::string& path, size_t batch, const Shape& image, float* x) {
  ENSURE(image.size() == 3, "input file '", path, "': IDX images need a model input of rank 4 ",
         "(N, H, W, C); this model's image is ", ShapeToString(image));
  ASSIGN_OR_RETURN(IdxReader reader, IdxReader::Open(path));
  const std::vector<uint32_t>& dims = reader.dims();
  Shape file_image;
  for (size_t i = 1; i < dims.size(); ++i) file_image.push_back(dims[i]);
  if (file_image.size() == 2) file_image.push_back(1);
  ENSURE(file_image == image, "input file '", path, "' holds images of ", ShapeToString(file_image),
         " (H, W, C); the model's input needs ", ShapeToString(image));
  ENSURE(reader.num_records() >= batch, "input file '", path, "' holds ", reader.num_records(),
         " images; --batch asks for ", batch);
  std::vector<uint8_t> bytes(batch * reader.record_bytes());
  RETURN_IF_ERROR(reader.ReadRecords(0, batch, bytes.data(), bytes.size()));
  for (size_t i = 0; i < bytes.size(); ++i) x[i] = static_cast<float>(bytes[i]) / 255.0f;
  return Status::Ok();
}

// Softmax in double, for one image's logits.
std::vector<double> Softmax(const float* logits, size_t n) {
  std::vector<double> p(n);
  double max = -INFINITY, sum = 0.0;
  for (size_t i = 0; i < n; ++i) max = std::max(max, static_cast<double>(logits[i]));
  for (size_t i = 0; i < n; ++i) sum += p[i] = std::exp(static_cast<double>(logits[i]) - max);
  for (double& v : p) v /= sum;
  return p;
}

}  // namespace

int RunRun(const std::vector<std::string>& args) {
  StatusOr<ParsedArgs> parsed =
      ParseArgs(args, {"--input", "--batch", "--threads", "--output"}, {});
  if (!parsed.ok()) return UsageError("run", parsed.status().message(), kUsage);
  if (parsed->help) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (parsed->positional.empty()) return UsageError("run", "missing MODEL", kUsage);
  if (parsed->positional.size() > 1) {
    return UsageError("run", "unexpected argument '" + parsed->positional[1] + "'", kUsage);
  }
  const std::string& model = parsed->positional[0];
  StatusOr<int64_t> batch = IntFlag(*parsed, "--batch", 1, 1, 65536);
  if (!batch.ok()) return UsageError("run", batch.status().message(), kUsage);
  StatusOr<int64_t> threads = IntFlag(*parsed, "--threads", 1, 1, 256);
  if (!threads.ok()) return UsageError("run", threads.status().message(), kUsage);
  for (const char* flag : {"--input", "--output"}) {
    auto it = parsed->values.find(flag);
    if (it != parsed->values.end() && it->second.empty()) {
      return UsageError("run", std::string(flag) + " needs a file name", kUsage);
    }
  }
  Status known = CheckZooName(model);
  if (!known.ok()) return UsageError("run", known.message(), kUsage);

  StatusOr<Graph> graph = LoadModelArg(model);
  if (!graph.ok()) return Failure("run", graph.status());
  StatusOr<std::unique_ptr<Engine>> made =
      MakeEngine(std::move(*graph), model, *batch, static_cast<int>(*threads));
  if (!made.ok()) return Failure("run", made.status());
  Engine& engine = **made;
  Status one = CheckOneInputOneOutput(engine, model);
  if (!one.ok()) return Failure("run", one);
  const Graph& g = engine.graph();
  const Shape& in_shape = g.tensor(g.inputs()[0]).shape;
  const Shape image(in_shape.begin() + 1, in_shape.end());
  const size_t n = static_cast<size_t>(*batch);
  const size_t in_count = n * InputElementsPerImage(engine);

  std::string source;
  auto input = parsed->values.find("--input");
  if (input == parsed->values.end()) {
    FillSyntheticInput(engine.input(), in_count);
    source = "synthetic, uniform in [0, 1) (SplitMix64, seed 0x5eed)";
  } else if (EndsWith(input->second, ".f32")) {
    Status s = ReadF32(input->second, in_count, n, image, engine.input());
    if (!s.ok()) return Failure("run", s);
    source = "'" + input->second + "' (float32, as is)";
  } else {
    Status s = ReadIdxImages(input->second, n, image, engine.input());
    if (!s.ok()) return Failure("run", s);
    source = "'" + input->second + "' (IDX uint8, first " + std::to_string(n) +
             " images, scaled by 1/255)";
  }

  Status ran = engine.Run();
  if (!ran.ok()) return Failure("run", ran);
  const size_t classes = OutputElementsPerImage(engine);
  const float* out = engine.output();
  for (size_t i = 0; i < n * classes; ++i) {
    if (!std::isfinite(out[i])) {
      return Failure("run", Error(StatusCode::kInternal, "output value ", i, " of '", model,
                                  "' is not finite (", out[i], ")"));
    }
  }
  auto output = parsed->values.find("--output");
  if (output != parsed->values.end()) {
    Status s = WriteFileAtomically(output->second, out, n * classes * sizeof(float));
    if (!s.ok()) return Failure("run", s);
  }

  const TensorId out_id = g.outputs()[0];
  const NodeId producer = g.Producer(out_id);
  const bool is_softmax = producer != kNoNode && g.node(producer).op == OpType::kSoftmax;
  std::printf("model: %s (batch %zu, threads %lld)\n", model.c_str(), n,
              static_cast<long long>(*threads));
  std::printf("input: %s %s\n", ShapeToString(in_shape).c_str(), source.c_str());
  std::printf("output: '%s' %s, %s\n", g.tensor(out_id).name.c_str(),
              ShapeToString(g.tensor(out_id).shape).c_str(),
              is_softmax ? "the model's own softmax" : "logits; probabilities = softmax(logits)");
  if (output != parsed->values.end()) {
    std::printf("wrote %s: %zu float32 (raw output)\n", output->second.c_str(), n * classes);
  }
  const size_t k = std::min<size_t>(kTopK, classes);
  for (size_t b = 0; b < n; ++b) {
    const float* row = out + b * classes;
    std::vector<double> p =
        is_softmax ? std::vector<double>(row, row + classes) : Softmax(row, classes);
    std::vector<size_t> order(classes);
    for (size_t i = 0; i < classes; ++i) order[i] = i;
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                      [&](size_t a, size_t c) { return p[a] > p[c] || (p[a] == p[c] && a < c); });
    std::printf("image %zu:\n", b);
    for (size_t i = 0; i < k; ++i) {
      std::printf("  %zu. class %zu  p=%.6f\n", i + 1, order[i], p[order[i]]);
    }
  }
  return kExitOk;
}

}  // namespace cli
}  // namespace persephonee
