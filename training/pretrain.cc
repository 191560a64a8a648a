#include "training/pretrain.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>

#include "engine/engine.h"
#include "kernels/loss/loss.h"
#include "kernels/optim/optim.h"
#include "training/network.h"

namespace persephonee {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t Uniform(std::mt19937_64& rng, uint64_t n) {  // portable: no std distributions
  return ((rng() >> 32) * n) >> 32;
}

// One image, shifted by (dy, dx) with zero fill and optionally mirrored, scaled to [0, 1].
void Augment(const uint8_t* in, size_t h, size_t w, size_t c, int dy, int dx, bool flip,
             float* out) {
  for (size_t y = 0; y < h; ++y) {
    for (size_t x = 0; x < w; ++x) {
      const long sy = static_cast<long>(y) - dy;
      long sx = static_cast<long>(x) - dx;
      if (flip) sx = static_cast<long>(w) - 1 - sx;
      const bool inside =
          sy >= 0 && sx >= 0 && sy < static_cast<long>(h) && sx < static_cast<long>(w);
      for (size_t k = 0; k < c; ++k) {
        out[(y * w + x) * c + k] =
            inside ? in[(static_cast<size_t>(sy) * w + static_cast<size_t>(sx)) * c + k] / 255.0f
                   : 0.0f;
      }
    }
  }
}

Status CheckData(const IdxArray& images, const IdxArray& labels, const Shape& input,
                 const char* what) {
  ENSURE(images.dims.size() >= 3 && labels.dims.size() == 1, what,
         ": images must be N x H x W [x C] and labels N");
  ENSURE(images.dims[0] == labels.dims[0], what, ": ", images.dims[0], " images but ",
         labels.dims[0], " labels");
  size_t per = 1;
  for (size_t d = 1; d < images.dims.size(); ++d) per *= images.dims[d];
  ENSURE(per == static_cast<size_t>(NumElements(input) / input[0]), what, ": images have ", per,
         " values, the model's input ", ShapeToString(input), " needs ",
         NumElements(input) / input[0]);
  return Status::Ok();
}

}  // namespace

StatusOr<double> TestAccuracy(const Graph& model, const IdxArray& images, const IdxArray& labels,
                              size_t count, int threads) {
  const Shape& in = model.tensor(model.inputs()[0]).shape;
  RETURN_IF_ERROR(CheckData(images, labels, in, "test"));
  count = std::min<size_t>(count, images.dims[0]);
  ENSURE(count > 0, "test: no images");
  const int64_t batch = 100;
  EngineOptions eo;
  eo.batch = batch;
  eo.threads = threads;
  ASSIGN_OR_RETURN(auto engine, Engine::Create(model, eo));
  const size_t image = static_cast<size_t>(NumElements(in) / in[0]);
  const Shape& out = engine->graph().tensor(engine->graph().outputs()[0]).shape;
  const size_t classes = static_cast<size_t>(out.back());
  size_t correct = 0;
  for (size_t first = 0; first < count; first += batch) {
    const size_t n = std::min<size_t>(batch, count - first);
    float* x = engine->input();
    for (size_t i = 0; i < static_cast<size_t>(batch) * image; ++i) {
      x[i] = i < n * image ? images.data[first * image + i] / 255.0f : 0.0f;
    }
    RETURN_IF_ERROR(engine->Run());
    for (size_t i = 0; i < n; ++i) {
      const float* row = engine->output() + i * classes;
      const size_t pred = static_cast<size_t>(std::max_element(row, row + classes) - row);
      correct += pred == labels.data[first + i];
    }
  }
  return static_cast<double>(correct) / static_cast<double>(count);
}

StatusOr<PretrainResult> Pretrain(const Graph& initial, const IdxArray& train_images,
                                  const IdxArray& train_labels, const IdxArray& test_images,
                                  const IdxArray& test_labels, const PretrainOptions& o) {
  const Clock::time_point start = Clock::now();
  ENSURE(o.epochs >= 1 && o.batch >= 1, "pretrain: epochs and batch must be positive");
  const Shape& in = initial.tensor(initial.inputs()[0]).shape;
  RETURN_IF_ERROR(CheckData(train_images, train_labels, in, "pretrain"));
  ENSURE(o.train_first + o.train_count <= train_images.dims[0], "pretrain: images [", o.train_first,
         ", ", o.train_first + o.train_count, ") outside the ", train_images.dims[0], " given");
  ENSURE(in.size() == 4, "pretrain: the model's input must be NHWC");
  const size_t h = static_cast<size_t>(in[1]), w = static_cast<size_t>(in[2]),
               c = static_cast<size_t>(in[3]);
  const size_t image = h * w * c;

  pthreadpool_t pool = o.threads > 1 ? pthreadpool_create(static_cast<size_t>(o.threads)) : nullptr;
  struct PoolGuard {
    pthreadpool_t p;
    ~PoolGuard() {
      if (p != nullptr) pthreadpool_destroy(p);
    }
  } guard{pool};
  ASSIGN_OR_RETURN(auto net, Network::Create(initial, o.batch, pool));
  const size_t classes = net->output_size();
  if (o.zero_init_residual) {
    // The last convolution of each residual branch: of the convolutions feeding an Add, the one
    // whose own input nothing else reads (a projection shortcut reads the block's input, which
    // the branch reads too).
    const Graph g = net->ExportGraph();
    const std::vector<std::vector<NodeId>> consumers = g.Consumers();
    for (const Node& n : g.nodes()) {
      if (n.op != OpType::kAdd) continue;
      std::vector<NodeId> convs;
      for (TensorId t : n.inputs) {
        const NodeId p = g.Producer(t);
        if (p != kNoNode && g.node(p).op == OpType::kConv2d) convs.push_back(p);
      }
      if (convs.size() == 2) {
        auto readers = [&](NodeId p) { return consumers[g.node(p).inputs[0]].size(); };
        convs = {readers(convs[0]) <= readers(convs[1]) ? convs[0] : convs[1]};
      }
      for (NodeId p : convs) {
        const std::string& weight = g.tensor(g.node(p).inputs[1]).name;
        for (const ParamRef& param : net->params()) {
          if (param.name == weight) std::fill(param.data, param.data + param.size, 0.0f);
        }
      }
    }
  }
  std::vector<std::vector<float>> momentum;
  for (const ParamRef& p : net->params()) momentum.emplace_back(p.size, 0.0f);

  std::vector<float> x(static_cast<size_t>(o.batch) * image),
      grad(static_cast<size_t>(o.batch) * classes);
  std::vector<int32_t> labels(static_cast<size_t>(o.batch));
  std::mt19937_64 rng(o.seed);
  std::vector<size_t> order(o.train_count);
  const size_t batches = o.train_count / static_cast<size_t>(o.batch);  // drop the last partial
  ENSURE(batches > 0, "pretrain: fewer images than one batch");
  const double total_steps = static_cast<double>(batches) * o.epochs;
  PretrainResult result;
  int64_t step = 0;
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    for (size_t i = 0; i < order.size(); ++i) order[i] = o.train_first + i;
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[Uniform(rng, i)]);
    double loss_sum = 0;
    const Clock::time_point epoch_start = Clock::now();
    for (size_t b = 0; b < batches; ++b) {
      for (size_t i = 0; i < static_cast<size_t>(o.batch); ++i) {
        const size_t idx = order[b * o.batch + i];
        const int dy = o.augment ? static_cast<int>(Uniform(rng, 5)) - 2 : 0;
        const int dx = o.augment ? static_cast<int>(Uniform(rng, 5)) - 2 : 0;
        const bool flip = o.augment && Uniform(rng, 2) == 1;
        Augment(&train_images.data[idx * image], h, w, c, dy, dx, flip, &x[i * image]);
        labels[i] = train_labels.data[idx];
      }
      RETURN_IF_ERROR(net->Forward(x.data(), o.batch));
      const float loss =
          loss_config().xent(static_cast<size_t>(o.batch), classes, net->output(), labels.data(),
                             nullptr, 1.0f / o.batch, nullptr, grad.data());
      ENSURE_CODE(std::isfinite(loss), kInternal, "pretrain: the loss diverged at epoch ",
                  epoch + 1, " batch ", b + 1, " (try a lower --lr)");
      loss_sum += loss / o.batch;
      RETURN_IF_ERROR(net->Backward(grad.data()));
      ++step;
      const double warm = o.warmup_epochs * batches;
      SgdParams sgd;
      sgd.lr = static_cast<float>(
          step <= warm
              ? o.learning_rate * step / warm
              : o.learning_rate * 0.5 *
                    (1 + std::cos(M_PI * (step - warm) / std::max(1.0, total_steps - warm))));
      sgd.momentum = o.momentum;
      sgd.nesterov = true;
      sgd.weight_decay = o.weight_decay;
      for (size_t p = 0; p < net->params().size(); ++p) {
        const ParamRef& ref = net->params()[p];
        optim_config().sgd(ref.size, sgd, step, ref.data, ref.grad, momentum[p].data());
      }
      if (o.on_batch && ((b + 1) % static_cast<size_t>(o.report_every) == 0 || b + 1 == batches)) {
        const double elapsed = std::chrono::duration<double>(Clock::now() - epoch_start).count();
        const double rate = static_cast<double>((b + 1) * o.batch) / elapsed;
        const double left =
            (total_steps - static_cast<double>(step)) * o.batch / std::max(rate, 1e-9);
        o.on_batch(epoch + 1, b + 1, batches, loss_sum / static_cast<double>(b + 1), rate, left);
      }
    }
    result.epoch_loss.push_back(loss_sum / static_cast<double>(batches));
    double accuracy = -1;
    if (o.test_count > 0) {
      ASSIGN_OR_RETURN(accuracy, TestAccuracy(net->ExportGraph(), test_images, test_labels,
                                              o.test_count, o.threads));
      result.test_accuracy.push_back(accuracy);
    }
    if (o.on_epoch) o.on_epoch(epoch + 1, result.epoch_loss.back(), accuracy);
  }
  result.model = net->ExportGraph();
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace persephonee
