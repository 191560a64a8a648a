// Personalisation benchmark: whole epochs of on-device head training, timed.
//
//   bazel run -c opt //benchmarks:personalise -- --model fmnist_resnet|mobilenet_v2
//       [--images N] [--epochs E] [--batch B] [--backbone-batch BB] [--threads T]
//       [--cache auto|memory|memory-f16|disk|recompute] [--seed S] [--model-seed M]
//       [--holdout F] [--memory-budget B] [--images-idx FILE --labels-idx FILE]
//       [--dump-dir DIR] [--backbone-file FILE]
//       [--sweep-backbone-batch 1,2,4,8,16,32 [--rounds R]]
//       [--compare-caches memory,memory-f16]
//
// What it does, in order:
//   1. Builds the zoo model with weights from --model-seed (default 1), or loads
//      --backbone-file (a model file of the same network, e.g. one `persephonee pretrain`
//      trained), optimises it as the engine runs it and places 4 exits at even fractions of its
//      FLOPs (EvenFractions(4)), with the default heads (1x1 conv + ReLU, global average pool,
//      fully connected).
//   2. Takes N images with a label each: --images-idx / --labels-idx (uint8 IDX, plain or gzip;
//      a plain file holding exactly N images is read from disk as training needs it, as a phone
//      would; otherwise the first N records are read into memory); else for fmnist_resnet the
//      first N Fashion-MNIST test images and labels (N defaults to 1000); else N synthetic
//      images (SplitMix64 from --seed, uniform bytes; N defaults to 64) with labels in 0..9.
//   3. With --dump-dir, writes what a peer needs to repeat exactly this setup: the backbone as
//      a model file (before optimisation, as Personalise receives it), the images and labels as
//      IDX, every head's initial weights as a model file (built with the seeds Personalise
//      uses, BuildHead(exit, classes, seed * 1000 + e)) and setup.json (WriteSetup).
//   4. Runs Personalise with every label given, the held-out fraction --holdout (default 0: all
//      images train; the calibration part is not what is measured) and a memory budget that
//      does not constrain the batch (default 8G; --memory-budget to constrain it), then prints
//      each epoch, the median epoch time, the one-off part (optimising, packing, filling the
//      feature cache), the feature cache's fill alone (images per second at the backbone batch,
//      --backbone-batch, 0 for the planner's default), the total, the planner's choice and the
//      process's peak RSS (VmHWM, read at the end). The last line, "result ...", is key=value pairs
//      for scripts.
//
// Two other measurements replace step 4:
//   --sweep-backbone-batch: the feature cache's fill time per image at each backbone batch
//      listed, one epoch per run, R rounds (default 5) interleaving the batches, so that a
//      noisy machine slows them alike; prints the minimum and median over the rounds and the
//      ratio of each minimum to the last batch's. The training results are the same for every
//      backbone batch; this is what chooses kDefaultBackboneBatch.
//   --compare-caches: personalises once per cache placement listed (forced), with the held-out
//      fraction --holdout (which must be above 0), and prints every exit's held-out accuracy
//      under each, e.g. float32 against float16 features.
//
// A plain program rather than a Google Benchmark: it times whole epochs, each once.
#include "training/personalise.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "base/file_io.h"
#include "base/idx.h"
#include "base/status.h"
#include "graph/graph.h"
#include "graph/model_format.h"
#include "graph/zoo.h"
#include "training/exits.h"
#include "training/feature_store.h"

namespace persephonee {
namespace {

constexpr char kFmnistImages[] = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
constexpr char kFmnistLabels[] = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
constexpr int kExits = 4;
constexpr int kSyntheticClasses = 10;

constexpr char kUsage[] =
    "usage: personalise --model fmnist_resnet|mobilenet_v2 [--images N] [--epochs E]\n"
    "         [--batch B] [--backbone-batch BB] [--threads T]\n"
    "         [--cache auto|memory|memory-f16|disk|recompute]\n"
    "         [--seed S] [--model-seed M] [--holdout F] [--memory-budget B]\n"
    "         [--images-idx FILE --labels-idx FILE] [--dump-dir DIR] [--backbone-file FILE]\n"
    "         [--sweep-backbone-batch 1,2,4,8,16,32 [--rounds R]]\n"
    "         [--compare-caches memory,memory-f16]\n";

struct Args {
  std::string model;
  size_t images = 0;  // 0: the default for the data source
  int epochs = 10;
  int batch = 32;
  int backbone_batch = 0;  // 0: the planner's default
  int threads = 1;
  std::string cache = "auto";
  uint64_t seed = 1;
  uint64_t model_seed = 1;
  double holdout = 0.0;
  size_t memory_budget = size_t{8} << 30;
  std::string images_idx, labels_idx, dump_dir, backbone_file;
  std::vector<int> sweep;  // backbone batches to time the cache fill at
  int rounds = 5;
  std::vector<CachePlacement> compare;  // caches to compare the held-out accuracy under
};

// "a,b,c" as a list.
std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

StatusOr<int64_t> ParseInt(const std::string& flag, const std::string& text, int64_t lo,
                           int64_t hi) {
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  ENSURE(end != text.c_str() && *end == '\0' && v >= lo && v <= hi, flag, ": '", text,
         "' is not an integer in [", lo, ", ", hi, "]");
  return static_cast<int64_t>(v);
}

// "64M", "1G", "512K" or a plain number of bytes.
StatusOr<size_t> ParseSize(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  const std::string unit = end == nullptr ? "" : end;
  const std::map<std::string, double> scale = {
      {"", 1.0}, {"K", 1024.0}, {"M", 1024.0 * 1024}, {"G", 1024.0 * 1024 * 1024}};
  ENSURE(end != text.c_str() && v > 0 && scale.count(unit) && v * scale.at(unit) < 1e15, flag,
         ": '", text, "' is not a size (e.g. 64M, 1G, 1048576)");
  return static_cast<size_t>(v * scale.at(unit));
}

StatusOr<Args> ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    ENSURE(i + 1 < argc, flag, " needs a value\n", kUsage);
    const std::string v = argv[i + 1];
    if (flag == "--model") {
      a.model = v;
    } else if (flag == "--images") {
      ASSIGN_OR_RETURN(const int64_t n, ParseInt(flag, v, 1, 1 << 24));
      a.images = static_cast<size_t>(n);
    } else if (flag == "--epochs") {
      ASSIGN_OR_RETURN(const int64_t n, ParseInt(flag, v, 1, 100000));
      a.epochs = static_cast<int>(n);
    } else if (flag == "--batch") {
      ASSIGN_OR_RETURN(const int64_t n, ParseInt(flag, v, 1, 4096));
      a.batch = static_cast<int>(n);
    } else if (flag == "--backbone-batch") {
      ASSIGN_OR_RETURN(const int64_t n, ParseInt(flag, v, 0, 4096));
      a.backbone_batch = static_cast<int>(n);
    } else if (flag == "--threads") {
      ASSIGN_OR_RETURN(const int64_t n, ParseInt(flag, v, 1, 256));
      a.threads = static_cast<int>(n);
    } else if (flag == "--seed") {
      ASSIGN_OR_RETURN(const int64_t n, ParseInt(flag, v, 0, int64_t{1} << 40));
      a.seed = static_cast<uint64_t>(n);
    } else if (flag == "--model-seed") {
      ASSIGN_OR_RETURN(const int64_t n, ParseInt(flag, v, 0, int64_t{1} << 40));
      a.model_seed = static_cast<uint64_t>(n);
    } else if (flag == "--holdout") {
      char* end = nullptr;
      a.holdout = std::strtod(v.c_str(), &end);
      ENSURE(end != v.c_str() && *end == '\0' && a.holdout >= 0.0 && a.holdout < 1.0, flag, ": '",
             v, "' is not a fraction in [0, 1)");
    } else if (flag == "--cache") {
      a.cache = v;
      if (v != "auto") RETURN_IF_ERROR(ParseCachePlacement(v).status().WithContext(flag));
    } else if (flag == "--memory-budget") {
      ASSIGN_OR_RETURN(a.memory_budget, ParseSize(flag, v));
    } else if (flag == "--images-idx") {
      a.images_idx = v;
    } else if (flag == "--labels-idx") {
      a.labels_idx = v;
    } else if (flag == "--dump-dir") {
      a.dump_dir = v;
    } else if (flag == "--backbone-file") {
      a.backbone_file = v;
    } else if (flag == "--sweep-backbone-batch") {
      for (const std::string& item : SplitCommas(v)) {
        ASSIGN_OR_RETURN(const int64_t n, ParseInt(flag, item, 1, 4096));
        a.sweep.push_back(static_cast<int>(n));
      }
    } else if (flag == "--rounds") {
      ASSIGN_OR_RETURN(const int64_t n, ParseInt(flag, v, 1, 1000));
      a.rounds = static_cast<int>(n);
    } else if (flag == "--compare-caches") {
      for (const std::string& item : SplitCommas(v)) {
        ASSIGN_OR_RETURN(CachePlacement c, ParseCachePlacement(item));
        a.compare.push_back(c);
      }
    } else {
      return Error(StatusCode::kInvalidArgument, "unknown flag '", flag, "'\n", kUsage);
    }
  }
  ENSURE(a.model == "fmnist_resnet" || a.model == "mobilenet_v2",
         "--model must be fmnist_resnet or mobilenet_v2, got '", a.model, "'\n", kUsage);
  ENSURE(a.images_idx.empty() == a.labels_idx.empty(), "--images-idx and --labels-idx go together");
  ENSURE(a.dump_dir.empty() || a.holdout == 0.0,
         "--dump-dir needs --holdout 0: the peer trains on every image");
  ENSURE(a.sweep.empty() || a.compare.empty(),
         "--sweep-backbone-batch and --compare-caches are separate runs");
  ENSURE(a.compare.empty() || a.holdout > 0.0,
         "--compare-caches needs --holdout above 0: the accuracy is measured on held-out images");
  return a;
}

// The user's images and labels, and where they came from.
struct Data {
  std::unique_ptr<ImageSource> images;
  std::vector<uint8_t> labels;
  std::string origin;
};

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

StatusOr<Data> ReadIdxData(const std::string& images_path, const std::string& labels_path, size_t n,
                           size_t image_bytes) {
  Data d;
  ASSIGN_OR_RETURN(IdxReader reader, IdxReader::Open(images_path));
  ENSURE(reader.record_bytes() == image_bytes, images_path, ": images of ", reader.record_bytes(),
         " bytes, the model reads ", image_bytes);
  if (n == 0) n = reader.num_records();
  ENSURE(n <= reader.num_records(), images_path, " holds ", reader.num_records(),
         " images, fewer than --images ", n);
  if (!reader.compressed() && n == reader.num_records()) {
    ASSIGN_OR_RETURN(d.images, OpenIdxImages(images_path));  // read from disk as needed
    d.origin = images_path + " (read from disk as needed)";
  } else {
    std::vector<uint8_t> pixels(n * image_bytes);
    RETURN_IF_ERROR(reader.ReadRecords(0, n, pixels.data(), pixels.size()));
    d.images = std::make_unique<MemoryImageSource>(std::move(pixels), image_bytes);
    d.origin = "the first " + std::to_string(n) + " images of " + images_path + " (in memory)";
  }
  ASSIGN_OR_RETURN(IdxArray labels, ReadIdx(labels_path));
  ENSURE(labels.dims.size() == 1 && labels.dims[0] >= n, labels_path,
         ": needs a 1-D IDX file of at least ", n, " labels");
  d.labels.assign(labels.data.begin(), labels.data.begin() + static_cast<std::ptrdiff_t>(n));
  return d;
}

StatusOr<Data> LoadData(const Args& a, size_t image_bytes) {
  if (!a.images_idx.empty()) return ReadIdxData(a.images_idx, a.labels_idx, a.images, image_bytes);
  if (a.model == "fmnist_resnet") {
    return ReadIdxData(kFmnistImages, kFmnistLabels, a.images == 0 ? 1000 : a.images, image_bytes);
  }
  const size_t n = a.images == 0 ? 64 : a.images;
  Data d;
  uint64_t state = a.seed ^ 0x5eed5eed5eedull;
  std::vector<uint8_t> pixels(n * image_bytes);
  for (uint8_t& p : pixels) p = static_cast<uint8_t>(SplitMix64(&state) >> 56);
  for (size_t i = 0; i < n; ++i) {
    d.labels.push_back(static_cast<uint8_t>(SplitMix64(&state) % kSyntheticClasses));
  }
  d.images = std::make_unique<MemoryImageSource>(std::move(pixels), image_bytes);
  d.origin = std::to_string(n) + " synthetic images (SplitMix64, seed " + std::to_string(a.seed) +
             ", uniform bytes; labels 0.." + std::to_string(kSyntheticClasses - 1) + ")";
  return d;
}

std::string JsonShape(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Writes the backbone, the images, the labels and the initial heads into `dir`.
Status WriteData(const std::string& dir, const Graph& backbone, const ExitPlan& plan,
                 const Data& data, const Shape& input_shape, uint64_t seed) {
  ENSURE_CODE(mkdir(dir.c_str(), 0777) == 0 || errno == EEXIST, kInternal, "--dump-dir: cannot ",
              "create '", dir, "': ", ErrnoText(errno));
  RETURN_IF_ERROR(SaveGraph(backbone, dir + "/backbone.psm"));
  const size_t n = data.images->size(), bytes = data.images->image_bytes();
  std::vector<uint8_t> pixels(n * bytes);
  for (size_t i = 0; i < n; ++i) RETURN_IF_ERROR(data.images->Read(i, pixels.data() + i * bytes));
  std::vector<uint32_t> dims = {static_cast<uint32_t>(n)};
  for (size_t i = 1; i < input_shape.size(); ++i)
    dims.push_back(static_cast<uint32_t>(input_shape[i]));
  RETURN_IF_ERROR(WriteIdx(dir + "/images.idx", dims, pixels.data(), pixels.size(), false));
  RETURN_IF_ERROR(WriteIdx(dir + "/labels.idx", {static_cast<uint32_t>(n)}, data.labels.data(),
                           data.labels.size(), false));
  for (size_t e = 0; e < plan.exits.size(); ++e) {
    // The seeds personalise.cc gives BuildHead: options.seed * 1000 + e.
    ASSIGN_OR_RETURN(Graph head, BuildHead(plan.exits[e], plan.classes, seed * 1000 + e));
    RETURN_IF_ERROR(SaveGraph(head, dir + "/head" + std::to_string(e + 1) + ".psm"));
  }
  return Status::Ok();
}

// setup.json: everything the peer needs besides the files WriteData wrote.
Status WriteSetup(const std::string& dir, const Args& a, const ExitPlan& plan, const Data& data,
                  const Shape& input_shape, const PersonaliseOptions& o,
                  const PersonaliseResult& r) {
  std::ostringstream j;
  j.precision(7);
  j << "{\n  \"model\": " << JsonString(a.model) << ",\n  \"model_seed\": " << a.model_seed
    << ",\n  \"backbone\": \"backbone.psm\",\n  \"backbone_note\": \"as BuildZooModel returns it "
    << "(BatchNorm not folded); the engine folds BatchNorm and fuses activations first\",\n"
    << "  \"input_shape\": " << JsonShape(input_shape) << ",\n  \"input_layout\": \"NHWC\",\n"
    << "  \"pixel_scale\": \"uint8 p becomes p / 255, nothing else\",\n"
    << "  \"images\": \"images.idx\",\n  \"labels\": \"labels.idx\",\n  \"num_images\": "
    << data.images->size() << ",\n  \"data_origin\": " << JsonString(data.origin)
    << ",\n  \"classes\": " << plan.classes
    << ",\n  \"output_tensor\": " << JsonString(plan.output_tensor) << ",\n  \"exits\": [\n";
  for (size_t e = 0; e < plan.exits.size(); ++e) {
    const ExitPoint& x = plan.exits[e];
    j << "    {\"name\": " << JsonString(x.name) << ", \"tensor\": " << JsonString(x.tensor)
      << ", \"feature_shape\": " << JsonShape(x.feature_shape) << ", \"width\": " << x.width
      << ", \"flop_fraction\": " << x.flop_fraction << ", \"head_macs\": " << x.head_macs
      << ", \"head\": \"head" << e + 1 << ".psm\", \"head_seed\": " << o.seed * 1000 + e << "}"
      << (e + 1 < plan.exits.size() ? "," : "") << "\n";
  }
  j << "  ],\n  \"head_layout\": \"1x1 conv (ReLU) -> global average pool -> fully connected\",\n"
    << "  \"holdout_fraction\": " << o.holdout_fraction
    << ",\n  \"train\": \"all images (holdout 0: no held-out part)\",\n  \"train_samples\": "
    << r.train_samples << ",\n  \"labelled_samples\": " << r.labelled_samples
    << ",\n  \"epochs\": " << o.epochs << ",\n  \"requested_batch\": " << o.batch
    << ",\n  \"batch\": " << r.budget.batch
    << ",\n  \"backbone_batch\": " << r.budget.backbone_batch
    << ",\n  \"last_batch\": \"partial (not dropped)\""
    << ",\n  \"threads\": " << o.threads << ",\n  \"seed\": " << o.seed
    << ",\n  \"optimizer\": {\"kind\": \"adam\", \"lr\": " << o.learning_rate
    << ", \"betas\": [0.9, 0.999], \"eps\": 1e-08, \"weight_decay\": " << o.weight_decay
    << ", \"weight_decay_kind\": \"L2 added to the gradient, as torch.optim.Adam\", "
    << "\"applies_to\": \"every head parameter (weights and biases)\"},\n"
    << "  \"schedule\": {\"kind\": \"cosine\", \"stepped\": \"every batch\", \"eta_min\": 0, "
    << "\"formula\": \"lr * 0.5 * (1 + cos(pi * s / (epochs * batches_per_epoch))), s = 0, 1, "
    << "... the batch index over the whole run\"},\n"
    << "  \"loss\": {\"kind\": \"cross_entropy\", \"on\": \"the user's labels (every image is "
    << "labelled, so distillation and pseudo-labels are inactive)\", \"labelled_weight\": "
    << o.loss.labelled_weight << ", \"reduction\": \"mean over the batch per head; heads are "
    << "independent (their losses summed for backward); the reported loss is the mean over "
    << "heads\"},\n  \"cache\": " << JsonString(CachePlacementName(r.budget.cache))
    << ",\n  \"planner\": " << JsonString(r.budget.explanation) << "\n}\n";
  const std::string text = j.str();
  return WriteFileAtomically(dir + "/setup.json", text.data(), text.size());
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// --sweep-backbone-batch: the cache fill's seconds per image at each backbone batch.
Status SweepBackboneBatch(const Args& a, const Graph& backbone, const ExitPlan& plan,
                          const Data& data, PersonaliseOptions o) {
  o.epochs = 1;
  o.on_epoch = nullptr;
  ENSURE(o.cache != CachePlacement::kRecompute || !o.force_cache,
         "--sweep-backbone-batch: recompute fills no cache");
  std::vector<std::vector<double>> per_image(a.sweep.size());
  for (int round = 0; round < a.rounds; ++round) {
    for (size_t i = 0; i < a.sweep.size(); ++i) {
      o.backbone_batch = a.sweep[i];
      ASSIGN_OR_RETURN(PersonaliseResult r,
                       Personalise(backbone, plan, *data.images, data.labels, o));
      ENSURE(r.budget.backbone_batch == a.sweep[i], "--sweep-backbone-batch: the planner ran ",
             r.budget.backbone_batch, " images per pass for ", a.sweep[i], " (batch ",
             r.budget.batch, ")");
      per_image[i].push_back(r.cache_seconds / static_cast<double>(r.train_samples));
    }
  }
  const double last = *std::min_element(per_image.back().begin(), per_image.back().end());
  std::printf("feature cache fill, %s, %zu images, %d rounds, %d thread(s):\n", a.model.c_str(),
              data.images->size(), a.rounds, a.threads);
  for (size_t i = 0; i < a.sweep.size(); ++i) {
    const double best = *std::min_element(per_image[i].begin(), per_image[i].end());
    std::printf(
        "  backbone batch %3d: %8.3f ms per image (min), %8.3f (median); min / min at %d: "
        "%.3f\n",
        a.sweep[i], best * 1e3, Median(per_image[i]) * 1e3, a.sweep.back(), best / last);
  }
  return Status::Ok();
}

// --compare-caches: every exit's held-out accuracy with the features cached each way.
Status CompareCaches(const Args& a, const Graph& backbone, const ExitPlan& plan, const Data& data,
                     PersonaliseOptions o) {
  o.on_epoch = nullptr;
  o.force_cache = true;
  std::vector<std::vector<double>> accuracy;
  size_t held = 0;
  for (CachePlacement c : a.compare) {
    o.cache = c;
    ASSIGN_OR_RETURN(PersonaliseResult r,
                     Personalise(backbone, plan, *data.images, data.labels, o));
    const HeldOut& h = r.held_out;
    const size_t exits = static_cast<size_t>(h.num_exits);
    held = h.labels.size();
    ENSURE(held > 0, "--compare-caches: no held-out images");
    accuracy.emplace_back();
    for (size_t e = 0; e < exits; ++e) {
      size_t right = 0;
      for (size_t i = 0; i < held; ++i) right += h.prediction[i * exits + e] == h.labels[i];
      accuracy.back().push_back(100.0 * static_cast<double>(right) / static_cast<double>(held));
    }
    std::printf("cache %s: trained on %zu images, loss %.4f -> %.4f\n", CachePlacementName(c),
                r.train_samples, r.epoch_loss.front(), r.epoch_loss.back());
  }
  std::printf("held-out accuracy (%zu images, %s, %d epochs, batch %d):\n", held,
              a.backbone_file.empty() ? "zoo weights" : a.backbone_file.c_str(), o.epochs, o.batch);
  for (size_t e = 0; e < accuracy[0].size(); ++e) {
    std::printf("  %-22s", e + 1 == accuracy[0].size() ? "final exit (backbone)"
                                                       : ("exit" + std::to_string(e + 1)).c_str());
    for (size_t c = 0; c < a.compare.size(); ++c) {
      std::printf("  %s %5.1f%%", CachePlacementName(a.compare[c]), accuracy[c][e]);
      if (c > 0) std::printf(" (%+.1f)", accuracy[c][e] - accuracy[0][e]);
    }
    std::printf("\n");
  }
  return Status::Ok();
}

Status Main(int argc, char** argv) {
  ASSIGN_OR_RETURN(const Args a, ParseArgs(argc, argv));
  Graph backbone;
  if (a.backbone_file.empty()) {
    ASSIGN_OR_RETURN(backbone, BuildZooModel(a.model, a.model_seed));
  } else {
    ASSIGN_OR_RETURN(backbone, LoadGraph(a.backbone_file));
  }
  const Shape input_shape = backbone.tensor(backbone.inputs().at(0)).shape;
  const size_t image_bytes = static_cast<size_t>(NumElements(input_shape));
  ExitPlan plan;
  {
    ASSIGN_OR_RETURN(Graph optimized, OptimizeBackbone(backbone));
    ASSIGN_OR_RETURN(plan, PlaceExitsByFraction(optimized, EvenFractions(kExits)));
  }
  ASSIGN_OR_RETURN(Data data, LoadData(a, image_bytes));
  for (uint8_t label : data.labels) {
    ENSURE(label < plan.classes, "label ", static_cast<int>(label), " is not one of the model's ",
           plan.classes, " classes (every image must be labelled)");
  }

  PersonaliseOptions o;
  o.epochs = a.epochs;
  o.batch = a.batch;
  o.backbone_batch = a.backbone_batch;
  o.seed = a.seed;
  o.threads = a.threads;
  o.holdout_fraction = a.holdout;
  o.memory_budget = a.memory_budget;
  if (a.cache != "auto") {
    o.force_cache = true;
    ASSIGN_OR_RETURN(o.cache, ParseCachePlacement(a.cache));
  }
  o.on_epoch = [](int epoch, double loss, double samples_per_second, double) {
    std::printf("epoch %d: loss %.4f, %.1f samples/s\n", epoch, loss, samples_per_second);
    std::fflush(stdout);
  };

  std::printf("personalise %s (model seed %llu): %s, %d exits, holdout %g%s\n", a.model.c_str(),
              static_cast<unsigned long long>(a.model_seed), data.origin.c_str(), kExits, a.holdout,
              a.holdout == 0.0 ? " (all images train)" : "");
  for (const ExitPoint& e : plan.exits) {
    std::printf("  %s on '%s' %s, %.0f%% of %.1f MMACs, head width %d, %.2f MMACs\n",
                e.name.c_str(), e.tensor.c_str(), ShapeToString(e.feature_shape).c_str(),
                100.0 * e.flop_fraction, plan.backbone_macs * 1e-6, e.width, e.head_macs * 1e-6);
  }
  if (!a.dump_dir.empty()) {
    RETURN_IF_ERROR(WriteData(a.dump_dir, backbone, plan, data, input_shape, a.seed));
    std::printf("dumped the backbone, images, labels and initial heads to %s\n",
                a.dump_dir.c_str());
  }

  if (!a.sweep.empty()) return SweepBackboneBatch(a, backbone, plan, data, o);
  if (!a.compare.empty()) return CompareCaches(a, backbone, plan, data, o);

  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(PersonaliseResult r,
                   Personalise(std::move(backbone), plan, *data.images, data.labels, o));
  const double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double epochs_sum = 0;
  for (double s : r.epoch_seconds) epochs_sum += s;
  const double median = Median(r.epoch_seconds);
  const auto [lo, hi] = std::minmax_element(r.epoch_seconds.begin(), r.epoch_seconds.end());
  const double peak_mib = PeakRssBytes() / 1048576.0;
  if (!a.dump_dir.empty()) {
    RETURN_IF_ERROR(WriteSetup(a.dump_dir, a, plan, data, input_shape, o, r));
  }

  std::printf("planner: %s\n", r.budget.explanation.c_str());
  std::printf(
      "time per epoch: median %.4f s (min %.4f, max %.4f) over %d epochs, batch %d, "
      "%d thread(s)\n",
      median, *lo, *hi, a.epochs, r.budget.batch, a.threads);
  std::printf(
      "one-off (optimise, pack, fill the feature cache): %.4f s; total %.4f s; "
      "per epoch over the run: %.4f s\n",
      total - epochs_sum, total, total / a.epochs);
  if (r.cache_seconds > 0) {
    std::printf("feature cache fill: %.4f s, %.1f images/s at backbone batch %d\n", r.cache_seconds,
                r.train_samples / r.cache_seconds, r.budget.backbone_batch);
  }
  std::printf("loss: first epoch %.4f, last %.4f; training %.2f GMACs\n", r.epoch_loss.front(),
              r.epoch_loss.back(), r.training_macs * 1e-9);
  std::printf("peak RSS: %.1f MiB (VmHWM)\n", peak_mib);
  std::printf(
      "result model=%s images=%zu epochs=%d batch=%d backbone_batch=%d threads=%d cache=%s "
      "epoch_median_s=%.6f total_s=%.6f per_epoch_total_s=%.6f cache_fill_s=%.6f "
      "peak_rss_mib=%.1f loss_first=%.6f loss_last=%.6f\n",
      a.model.c_str(), data.images->size(), a.epochs, r.budget.batch, r.budget.backbone_batch,
      a.threads, CachePlacementName(r.budget.cache), median, total, total / a.epochs,
      r.cache_seconds, peak_mib, r.epoch_loss.front(), r.epoch_loss.back());
  return Status::Ok();
}

}  // namespace
}  // namespace persephonee

int main(int argc, char** argv) {
  const persephonee::Status status = persephonee::Main(argc, argv);
  if (!status.ok()) {
    std::fprintf(stderr, "personalise: %s\n", status.ToString().c_str());
    return status.code() == persephonee::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}
