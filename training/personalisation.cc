// Validation, saving and loading, the backbone hash and equality of personalisations. The bytes
// themselves are in personalisation_codec.cc.
#include "training/personalisation.h"

#include <cmath>
#include <cstring>
#include <ctime>
#include <set>

#include "base/file_io.h"
#include "base/version.h"
#include "graph/model_format.h"
#include "training/personalisation_limits.h"
#include "training/sha256.h"

namespace persephonee {
namespace {

using namespace personalisation_limits;  // NOLINT: the limits are the format's vocabulary.

bool IsLowerHex(const std::string& s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status ValidateExit(const PersonalisedExit& exit, const Personalisation& p) {
  const ExitPoint& e = exit.point;
  ENSURE(!e.tensor.empty() && e.tensor.size() <= kMaxNameBytes, "tensor name has ", e.tensor.size(),
         " bytes, expected 1 to ", kMaxNameBytes);
  bool shape_ok = e.feature_shape.size() == kFeatureRank && e.feature_shape[0] == 1;
  for (int64_t d : e.feature_shape) shape_ok = shape_ok && d >= 1 && d <= kMaxDim;
  ENSURE(shape_ok, "feature shape ", ShapeToString(e.feature_shape),
         " is not [1, H, W, C] with dimensions 1 to ", kMaxDim);
  ENSURE(e.backbone_macs >= 0 && e.backbone_macs <= p.backbone_macs, "backbone MACs ",
         e.backbone_macs, " not in [0, the whole backbone's ", p.backbone_macs, "]");
  ENSURE(std::isfinite(e.flop_fraction) && e.flop_fraction >= 0 && e.flop_fraction <= 1,
         "FLOP fraction ", e.flop_fraction, " not in [0, 1]");
  ENSURE(e.width >= 0 && e.width <= kMaxWidth, "head width ", e.width, " not in [0, ", kMaxWidth,
         "]");
  ENSURE(e.head_macs >= 0 && e.head_macs <= kMaxMacs, "head MACs ", e.head_macs, " not in [0, ",
         kMaxMacs, "]");
  ENSURE(!std::isnan(exit.threshold), "threshold is NaN");
  const Graph& head = exit.head;
  const std::vector<TensorId> inputs = head.inputs();
  const std::vector<TensorId> outputs = head.outputs();
  ENSURE(inputs.size() == 1 && outputs.size() == 1, "the head has ", inputs.size(), " inputs and ",
         outputs.size(), " outputs, expected one of each");
  ENSURE(head.tensor(inputs[0]).shape == e.feature_shape, "the head's input '",
         head.tensor(inputs[0]).name, "' has shape ", ShapeToString(head.tensor(inputs[0]).shape),
         ", the exit's features ", ShapeToString(e.feature_shape));
  const Shape logits = {1, p.classes};
  ENSURE(head.tensor(outputs[0]).shape == logits, "the head's output '",
         head.tensor(outputs[0]).name, "' has shape ", ShapeToString(head.tensor(outputs[0]).shape),
         ", expected ", ShapeToString(logits));
  return Status::Ok();
}

Status ValidateOptimizer(const OptimizerState& opt) {
  ENSURE(!opt.name.empty() && opt.name.size() <= kMaxOptimizerNameBytes, "optimiser name has ",
         opt.name.size(), " bytes, expected 1 to ", kMaxOptimizerNameBytes);
  ENSURE(opt.step >= 0, "optimiser step count ", opt.step, " is negative");
  ENSURE(opt.arrays.size() <= kMaxOptimizerArrays, "optimiser has ", opt.arrays.size(),
         " arrays, at most ", kMaxOptimizerArrays, " allowed");
  std::set<std::string> names;
  for (const OptimizerArray& a : opt.arrays) {
    ENSURE(!a.name.empty() && a.name.size() <= kMaxNameBytes, "optimiser array name has ",
           a.name.size(), " bytes, expected 1 to ", kMaxNameBytes);
    ENSURE(names.insert(a.name).second, "optimiser array '", a.name, "' appears twice");
    for (size_t i = 0; i < a.values.size(); ++i) {
      ENSURE(std::isfinite(a.values[i]), "optimiser array '", a.name, "' value ", i, " is ",
             a.values[i], ", expected a finite value");
    }
  }
  return Status::Ok();
}

bool SameBits(const void* a, const void* b, size_t n) {
  return n == 0 || std::memcmp(a, b, n) == 0;
}

}  // namespace

Status ValidatePersonalisation(const Personalisation& p) {
  ENSURE(!p.exits.empty() && p.exits.size() <= kMaxExits, "personalisation: ", p.exits.size(),
         " exits, expected 1 to ", kMaxExits);
  ENSURE(p.classes >= 1 && static_cast<uint32_t>(p.classes) <= kMaxClasses,
         "personalisation: classes is ", p.classes, ", expected 1 to ", kMaxClasses);
  ENSURE(p.measure == ConfidenceMeasure::kMaxSoftmax || p.measure == ConfidenceMeasure::kEntropy,
         "personalisation: unknown confidence measure ", static_cast<int>(p.measure));
  ENSURE(p.backbone_macs >= 0 && p.backbone_macs <= kMaxMacs, "personalisation: backbone MACs ",
         p.backbone_macs, " not in [0, ", kMaxMacs, "]");
  ENSURE(p.backbone_hash.size() == kHashHexDigits && IsLowerHex(p.backbone_hash),
         "personalisation: backbone hash '", p.backbone_hash,
         "' is not 64 lower-case hex digits (a SHA-256, as BackboneHash gives)");
  ENSURE(!p.output_tensor.empty() && p.output_tensor.size() <= kMaxNameBytes,
         "personalisation: output tensor name has ", p.output_tensor.size(),
         " bytes, expected 1 to ", kMaxNameBytes);
  std::set<std::string> names;
  for (size_t i = 0; i < p.exits.size(); ++i) {
    const std::string& name = p.exits[i].point.name;
    ENSURE(!name.empty() && name.size() <= kMaxNameBytes, "personalisation: exit ", i,
           " has a name of ", name.size(), " bytes, expected 1 to ", kMaxNameBytes);
    ENSURE(names.insert(name).second, "personalisation: exit name '", name, "' appears twice");
    const Status status = ValidateExit(p.exits[i], p);
    if (!status.ok()) return status.WithContext("personalisation: exit '" + name + "'");
  }
  ENSURE(p.metadata.size() <= kMaxMetadataEntries, "personalisation: ", p.metadata.size(),
         " metadata entries, at most ", kMaxMetadataEntries, " allowed");
  for (const auto& [key, value] : p.metadata) {
    ENSURE(!key.empty() && key.size() <= kMaxMetadataKeyBytes, "personalisation: metadata key '",
           key.substr(0, 64), "' has ", key.size(), " bytes, expected 1 to ", kMaxMetadataKeyBytes);
    ENSURE(value.size() <= kMaxMetadataValueBytes, "personalisation: metadata '", key, "' has ",
           value.size(), " bytes, at most ", kMaxMetadataValueBytes, " allowed");
  }
  if (p.optimizer.has_value()) {
    const Status status = ValidateOptimizer(*p.optimizer);
    if (!status.ok()) return status.WithContext("personalisation");
  }
  if (p.personal_final) {
    ENSURE(p.exits.back().threshold == -std::numeric_limits<float>::infinity(),
           "personalisation: the personalised final exit '", p.exits.back().point.name,
           "' must answer every sample (threshold -inf), not ", p.exits.back().threshold);
  }
  if (!p.prior.empty()) {
    ENSURE(p.prior.size() == static_cast<size_t>(p.classes), "personalisation: the prior has ",
           p.prior.size(), " classes, expected ", p.classes);
    double sum = 0;
    for (size_t i = 0; i < p.prior.size(); ++i) {
      ENSURE(std::isfinite(p.prior[i]) && p.prior[i] > 0 && p.prior[i] <= 1,
             "personalisation: prior of class ", i, " is ", p.prior[i], ", expected (0, 1]");
      sum += p.prior[i];
    }
    ENSURE(std::abs(sum - 1.0) < 1e-6, "personalisation: the prior sums to ", sum, ", not 1");
  }
  if (p.calibration.has_value()) {
    const CalibrationRecord& c = *p.calibration;
    ENSURE(c.epsilon >= 0 && c.epsilon <= 1, "personalisation: calibration epsilon ", c.epsilon,
           " is outside [0, 1]");
    ENSURE(c.delta > 0 && c.delta < 1, "personalisation: calibration delta ", c.delta,
           " is outside (0, 1)");
    ENSURE(std::isfinite(c.bound), "personalisation: the calibration bound is not finite");
    ENSURE(c.samples >= 0 && c.labelled >= 0 && c.labelled <= c.samples,
           "personalisation: calibration counts ", c.labelled, " labelled of ", c.samples);
  }
  return Status::Ok();
}

Status SavePersonalisation(const Personalisation& p, const std::string& path) {
  StatusOr<std::vector<uint8_t>> bytes = SerializePersonalisation(p);
  if (!bytes.ok()) return bytes.status().WithContext("cannot save " + path);
  return WriteFileAtomically(path, bytes->data(), bytes->size());
}

StatusOr<Personalisation> LoadPersonalisation(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string bytes, ReadFile(path, kMaxPersonalisationFileBytes));
  return ParsePersonalisation(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
}

std::string BackboneHash(const Graph& backbone) {
  StatusOr<std::vector<uint8_t>> bytes = SerializeGraph(backbone);
  if (!bytes.ok()) return std::string();
  return Sha256Hex(bytes->data(), bytes->size());
}

Status CheckBackbone(const Personalisation& p, const Graph& backbone) {
  const std::string hash = BackboneHash(backbone);
  ENSURE_CODE(!hash.empty(), kInvalidArgument,
              "personalisation: the backbone cannot be serialised to compute its hash");
  ENSURE_CODE(hash == p.backbone_hash, kFailedPrecondition,
              "personalisation: made for the backbone with SHA-256 ", p.backbone_hash,
              ", but this backbone's SHA-256 is ", hash,
              "; its exits cannot be used on another backbone (retrain them on this one)");
  return Status::Ok();
}

bool PersonalisationsEqual(const Personalisation& a, const Personalisation& b, std::string* why) {
  std::string local;
  std::string& w = why != nullptr ? *why : local;
  auto differ = [&](const std::string& what) {
    w = what;
    return false;
  };
  if (a.classes != b.classes) return differ("classes differ");
  if (a.measure != b.measure) return differ("confidence measures differ");
  if (a.output_tensor != b.output_tensor) return differ("output tensors differ");
  if (a.backbone_macs != b.backbone_macs) return differ("backbone MACs differ");
  if (a.backbone_hash != b.backbone_hash) return differ("backbone hashes differ");
  if (a.metadata != b.metadata) return differ("metadata differ");
  if (a.exits.size() != b.exits.size()) return differ("exit counts differ");
  for (size_t i = 0; i < a.exits.size(); ++i) {
    const PersonalisedExit& x = a.exits[i];
    const PersonalisedExit& y = b.exits[i];
    const std::string at = "exit " + std::to_string(i) + " ('" + x.point.name + "'): ";
    if (x.point.name != y.point.name || x.point.tensor != y.point.tensor) {
      return differ(at + "names or tensors differ");
    }
    if (x.point.feature_shape != y.point.feature_shape) return differ(at + "feature shapes differ");
    if (x.point.backbone_macs != y.point.backbone_macs || x.point.head_macs != y.point.head_macs ||
        x.point.width != y.point.width ||
        !SameBits(&x.point.flop_fraction, &y.point.flop_fraction, sizeof(double))) {
      return differ(at + "costs or widths differ");
    }
    if (!SameBits(&x.threshold, &y.threshold, sizeof(float))) {
      return differ(at + "thresholds differ");
    }
    std::string graph_why;
    if (!GraphsEqual(x.head, y.head, &graph_why)) return differ(at + "heads differ: " + graph_why);
  }
  if (a.personal_final != b.personal_final) return differ("personal final flags differ");
  if (a.prior.size() != b.prior.size() ||
      !SameBits(a.prior.data(), b.prior.data(), a.prior.size() * sizeof(double))) {
    return differ("priors differ");
  }
  if (a.calibration.has_value() != b.calibration.has_value()) {
    return differ("one has a calibration record, the other not");
  }
  if (a.calibration.has_value()) {
    const CalibrationRecord& x = *a.calibration;
    const CalibrationRecord& y = *b.calibration;
    if (!SameBits(&x.epsilon, &y.epsilon, 8) || !SameBits(&x.delta, &y.delta, 8) ||
        !SameBits(&x.bound, &y.bound, 8) || x.samples != y.samples || x.labelled != y.labelled ||
        x.exits_on != y.exits_on) {
      return differ("calibration records differ");
    }
  }
  if (a.optimizer.has_value() != b.optimizer.has_value()) {
    return differ("one has optimiser state, the other not");
  }
  if (a.optimizer.has_value()) {
    const OptimizerState& x = *a.optimizer;
    const OptimizerState& y = *b.optimizer;
    if (x.name != y.name || x.step != y.step) return differ("optimiser names or steps differ");
    if (x.arrays.size() != y.arrays.size()) return differ("optimiser array counts differ");
    for (size_t i = 0; i < x.arrays.size(); ++i) {
      const OptimizerArray& u = x.arrays[i];
      const OptimizerArray& v = y.arrays[i];
      if (u.name != v.name || u.values.size() != v.values.size() ||
          !SameBits(u.values.data(), v.values.data(), u.values.size() * sizeof(float))) {
        return differ("optimiser array " + std::to_string(i) + " ('" + u.name + "') differs");
      }
    }
  }
  w.clear();
  return true;
}

std::map<std::string, std::string> StandardMetadata() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char created[32];
  std::strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return {{"created", created}, {"tool", std::string("persephonee ") + PERSEPHONEE_VERSION}};
}

}  // namespace persephonee
