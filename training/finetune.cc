#include "training/finetune.h"

#include <pthreadpool.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "engine/engine.h"
#include "graph/builder.h"
#include "graph/flops.h"
#include "training/exits.h"
#include "training/network.h"
#include "training/objective.h"

namespace persephonee {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// Reads images[idx[0..count)] scaled by 1/255 into `out` (count × image floats).
Status ReadScaled(const ImageSource& images, const size_t* idx, size_t count,
                  std::vector<uint8_t>* pixels, float* out) {
  const size_t image = images.image_bytes();
  for (size_t i = 0; i < count; ++i) {
    RETURN_IF_ERROR(images.Read(idx[i], pixels->data()));
    for (size_t p = 0; p < image; ++p) out[i * image + p] = (*pixels)[p] * (1.0f / 255.0f);
  }
  return Status::Ok();
}

// Runs `engine` over images[idx[...]] and gathers, per kept tensor name, its values per sample
// (in the order of idx).
Status Gather(Engine* engine, const ImageSource& images, const std::vector<size_t>& idx,
              const std::vector<std::string>& names, std::vector<std::vector<float>>* out) {
  const size_t b = static_cast<size_t>(engine->batch());
  const size_t image = images.image_bytes();
  std::vector<uint8_t> pixels(image);
  std::vector<const float*> src;
  std::vector<size_t> sizes;
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(const float* p, engine->TensorData(name));
    ASSIGN_OR_RETURN(TensorId t, engine->graph().FindTensor(name));
    src.push_back(p);
    sizes.push_back(static_cast<size_t>(NumElements(engine->graph().tensor(t).shape)) / b);
  }
  out->assign(names.size(), {});
  for (size_t k = 0; k < names.size(); ++k) (*out)[k].resize(idx.size() * sizes[k]);
  for (size_t first = 0; first < idx.size(); first += b) {
    const size_t count = std::min(b, idx.size() - first);
    float* in = engine->input();
    RETURN_IF_ERROR(ReadScaled(images, idx.data() + first, count, &pixels, in));
    std::fill(in + count * image, in + b * image, 0.0f);
    RETURN_IF_ERROR(engine->Run());
    for (size_t k = 0; k < names.size(); ++k) {
      std::copy(src[k], src[k] + count * sizes[k], (*out)[k].begin() + first * sizes[k]);
    }
  }
  return Status::Ok();
}

// The final classifier of an optimised graph: its FullyConnected node and that node's logits.
StatusOr<NodeId> FinalClassifier(const Graph& g) {
  NodeId last = g.num_nodes() - 1;
  if (g.node(last).op == OpType::kSoftmax && last > 0) --last;
  ENSURE(g.node(last).op == OpType::kFullyConnected, "fine-tune: the model's last layer '",
         g.node(last).name, "' is not a fully-connected classifier");
  return last;
}

}  // namespace

const char* FineTuneScopeName(FineTuneScope scope) {
  return scope == FineTuneScope::kWholeNetwork ? "whole_network" : "classifier";
}

StatusOr<FineTuneResult> FineTune(const Graph& backbone, FineTuneScope scope,
                                  const ImageSource& images, const std::vector<uint8_t>& labels,
                                  const PersonaliseOptions& options) {
  const Clock::time_point start = Clock::now();
  ENSURE(options.epochs >= 1 && options.batch >= 1, "fine-tune: epochs and batch must be >= 1");
  ENSURE(labels.size() == images.size(), "fine-tune: ", images.size(), " images but ",
         labels.size(), " labels");
  ASSIGN_OR_RETURN(Graph model, OptimizeBackbone(backbone));
  const Shape& in_shape = model.tensor(model.inputs().at(0)).shape;
  const size_t image = static_cast<size_t>(NumElements(in_shape) / in_shape[0]);
  ENSURE(images.image_bytes() == image, "fine-tune: images have ", images.image_bytes(),
         " bytes each, the model's input ", ShapeToString(in_shape), " needs ", image);
  ASSIGN_OR_RETURN(NodeId fc, FinalClassifier(model));
  const Node fc_node = model.node(fc);
  const std::string logits_name = model.tensor(fc_node.output).name;
  const std::string features_name = model.tensor(fc_node.inputs[0]).name;
  const int classes = static_cast<int>(model.tensor(fc_node.output).shape.back());
  for (size_t i = 0; i < labels.size(); ++i) {
    ENSURE(labels[i] == kUnlabelled || labels[i] < classes, "fine-tune: label ",
           static_cast<int>(labels[i]), " of image ", i, " is not a class nor 255");
  }
  std::vector<size_t> train, hold;
  SplitHoldout(images.size(), options.holdout_fraction, options.seed, &train, &hold);
  ENSURE(!train.empty(), "fine-tune: no training images left after the held-out part");

  FineTuneResult result;
  result.train_samples = train.size();
  for (size_t i : train) result.labelled_samples += labels[i] != kUnlabelled ? 1 : 0;
  const int64_t backbone_macs = ComputeGraphCost(model).total.macs;

  // The teacher's logits (and, for the classifier, its input features), once, in train order.
  const size_t b = static_cast<size_t>(options.batch);
  std::vector<std::vector<float>> gathered;
  {
    EngineOptions eo;
    eo.batch = options.batch;
    eo.threads = options.threads;
    eo.optimize = false;
    eo.keep = {logits_name};
    if (scope == FineTuneScope::kClassifier) eo.keep.push_back(features_name);
    ASSIGN_OR_RETURN(auto engine, Engine::Create(model, eo));
    RETURN_IF_ERROR(Gather(engine.get(), images, train, eo.keep, &gathered));
    result.training_macs += backbone_macs * static_cast<int64_t>(train.size());
  }
  const std::vector<float>& teacher = gathered[0];

  // What trains: the whole model, or a graph of the classifier alone (its input: the features).
  Graph trainee;
  if (scope == FineTuneScope::kWholeNetwork) {
    trainee = model;
  } else {
    GraphBuilder gb;
    Shape feature_shape = model.tensor(fc_node.inputs[0]).shape;
    feature_shape[0] = 1;
    const TensorId x = gb.Input("features", feature_shape);
    const FullyConnectedAttrs* attrs = fc_node.fully_connected();
    ENSURE(attrs != nullptr, "fine-tune: classifier without attributes");
    std::vector<float> bias;
    if (fc_node.inputs.size() > 2 && fc_node.inputs[2] != kNoTensor) {
      bias = model.tensor(fc_node.inputs[2]).data;
    }
    gb.MarkOutput(gb.FullyConnected(fc_node.name, x, *attrs, model.tensor(fc_node.inputs[1]).data,
                                    std::move(bias)));
    ASSIGN_OR_RETURN(trainee, gb.Build());
  }
  pthreadpool_t pool =
      options.threads > 1 ? pthreadpool_create(static_cast<size_t>(options.threads)) : nullptr;
  struct PoolGuard {
    pthreadpool_t p;
    ~PoolGuard() {
      if (p != nullptr) pthreadpool_destroy(p);
    }
  } guard{pool};
  ASSIGN_OR_RETURN(auto net, Network::Create(trainee, options.batch, pool));
  const size_t in_size = net->input_size();
  const int64_t step_macs = 3 * net->forward_macs_per_sample();  // forward + two backward GEMMs
  std::vector<std::vector<float>> state;
  AddOptimizerState(options.optimizer, net->params(), &state);
  Objective objective(options.loss, classes, b);
  std::vector<float> x(b * in_size), t(b * static_cast<size_t>(classes)),
      grad(b * static_cast<size_t>(classes));
  std::vector<uint8_t> batch_labels(b), pixels(image);
  std::vector<size_t> where(b);  // positions in `train` of the batch's samples

  const size_t batches = (train.size() + b - 1) / b;
  const double total_batches = static_cast<double>(batches) * options.epochs;
  int64_t step = 0;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    const Clock::time_point epoch_start = Clock::now();
    const std::vector<size_t> perm =
        SeededPermutation(train.size(), options.seed + 7919 * (epoch + 1));
    double loss = 0;
    for (size_t batch = 0; batch < batches; ++batch) {
      const size_t first = batch * b;
      const size_t count = std::min(b, train.size() - first);
      std::vector<size_t> idx(count);
      for (size_t i = 0; i < count; ++i) {
        where[i] = perm[first + i];
        idx[i] = train[where[i]];
        batch_labels[i] = labels[idx[i]];
        std::copy_n(teacher.begin() + static_cast<std::ptrdiff_t>(where[i] * classes), classes,
                    t.begin() + static_cast<std::ptrdiff_t>(i * classes));
      }
      if (scope == FineTuneScope::kWholeNetwork) {
        RETURN_IF_ERROR(ReadScaled(images, idx.data(), count, &pixels, x.data()));
      } else {
        for (size_t i = 0; i < count; ++i) {
          std::copy_n(gathered[1].begin() + static_cast<std::ptrdiff_t>(where[i] * in_size),
                      in_size, x.begin() + static_cast<std::ptrdiff_t>(i * in_size));
        }
      }
      objective.SetBatch(t.data(), batch_labels.data(), count);
      RETURN_IF_ERROR(net->Forward(x.data(), static_cast<int64_t>(count)));
      loss += objective.LossAndGradient(net->output(), grad.data()) / static_cast<double>(count);
      RETURN_IF_ERROR(net->Backward(grad.data()));
      ++step;
      const double progress = (static_cast<double>(epoch * batches + batch)) / total_batches;
      size_t next = 0;
      OptimizerStep(options, net->params(), ScheduledLearningRate(options, epoch, progress), step,
                    &state, &next);
      result.training_macs += step_macs * static_cast<int64_t>(count);
    }
    result.epoch_loss.push_back(loss / static_cast<double>(batches));
    ENSURE_CODE(std::isfinite(result.epoch_loss.back()), kInternal,
                "fine-tune: the loss diverged in epoch ", epoch + 1,
                " (try a lower learning rate)");
    if (options.on_epoch) {
      const double per_epoch = Seconds(start) / (epoch + 1);
      options.on_epoch(epoch + 1, result.epoch_loss.back(),
                       static_cast<double>(train.size()) / Seconds(epoch_start),
                       per_epoch * (options.epochs - epoch - 1));
    }
  }

  if (scope == FineTuneScope::kWholeNetwork) {
    result.model = net->ExportGraph();
  } else {
    const Graph trained = net->ExportGraph();
    const Node& tfc = trained.node(trained.num_nodes() - 1);
    for (size_t i = 1; i < fc_node.inputs.size() && i < tfc.inputs.size(); ++i) {
      if (fc_node.inputs[i] == kNoTensor) continue;
      model.mutable_tensor(fc_node.inputs[i]).data = trained.tensor(tfc.inputs[i]).data;
    }
    result.model = std::move(model);
  }
  result.seconds = Seconds(start);
  return result;
}

}  // namespace persephonee
