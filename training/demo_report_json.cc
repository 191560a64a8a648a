// DemoJson: every figure of DemoResults as JSON.
//
// Keys appear in the order this file writes them, always the same. Doubles are written with the
// fewest significant digits, from 9 up to 17, that read back as the same double; floats (the
// thresholds, the learning rates) with the fewest, from 6 up to 9, that read back as the same
// float. JSON has no infinities and no NaN: +inf and -inf become the strings "inf" and "-inf",
// NaN becomes null. Objects are indented by two spaces; arrays of numbers, the operating points
// and the curve's points stay on one line each.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "training/demo_report.h"
#include "training/demo_report_internal.h"
#include "training/feature_store.h"

namespace persephonee {
namespace {

std::string DoubleText(double v) {
  if (std::isnan(v)) return "null";
  if (std::isinf(v)) return v > 0 ? "\"inf\"" : "\"-inf\"";
  char buf[40];
  for (int precision = 9; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string FloatText(float v) {
  if (!std::isfinite(v)) return DoubleText(v);
  char buf[40];
  for (int precision = 6; precision <= 9; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return buf;
}

// `s` as a JSON string literal.
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char ch : demo_report_internal::ValidUtf8(s)) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += demo_report_internal::Printf("\\u%04x", c);
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

// Writes JSON text with commas, line breaks and indentation in place; the caller nests calls
// properly. A compact container, and everything inside it, stays on one line.
class JsonWriter {
 public:
  std::string Take() { return std::move(out_) + "\n"; }

  void BeginObject(const char* key = nullptr, bool compact = false) { Open(key, '{', compact); }
  void EndObject() { Close('}'); }
  void BeginArray(const char* key = nullptr, bool compact = false) { Open(key, '[', compact); }
  void EndArray() { Close(']'); }

  void Str(const char* key, const std::string& v) { Value(key, Quote(v)); }
  void Dbl(const char* key, double v) { Value(key, DoubleText(v)); }
  void Flt(const char* key, float v) { Value(key, FloatText(v)); }
  void Int(const char* key, int64_t v) {
    Value(key, demo_report_internal::Printf("%lld", static_cast<long long>(v)));
  }
  void Uint(const char* key, uint64_t v) {
    Value(key, demo_report_internal::Printf("%llu", static_cast<unsigned long long>(v)));
  }
  void Bool(const char* key, bool v) { Value(key, v ? "true" : "false"); }

  template <typename T, typename Write>
  void Array(const char* key, const std::vector<T>& values, Write write) {
    BeginArray(key, true);
    for (const T& v : values) write(v);
    EndArray();
  }
  void Doubles(const char* key, const std::vector<double>& v) {
    Array(key, v, [&](double x) { Dbl(nullptr, x); });
  }

 private:
  struct Level {
    bool compact;
    bool empty;
  };

  void Value(const char* key, const std::string& text) {
    Separate(key);
    out_ += text;
  }
  void Open(const char* key, char bracket, bool compact) {
    Separate(key);
    out_ += bracket;
    stack_.push_back({compact || (!stack_.empty() && stack_.back().compact), true});
  }
  void Close(char bracket) {
    const Level level = stack_.back();
    stack_.pop_back();
    if (!level.empty && !level.compact) NewLine();
    out_ += bracket;
  }
  // Before a value: the comma, the line break, the key.
  void Separate(const char* key) {
    if (!stack_.empty()) {
      Level& level = stack_.back();
      if (!level.empty) out_ += level.compact ? ", " : ",";
      if (!level.compact) NewLine();
      level.empty = false;
    }
    if (key != nullptr) out_ += Quote(key) + ": ";
  }
  void NewLine() {
    out_ += '\n';
    out_.append(2 * stack_.size(), ' ');
  }

  std::string out_;
  std::vector<Level> stack_;
};

const char* OptimizerKey(OptimizerKind kind) {
  return kind == OptimizerKind::kSgd ? "sgd" : "adam";
}

const char* ScheduleKey(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::kCosine:
      return "cosine";
    case ScheduleKind::kStep:
      return "step";
    case ScheduleKind::kConstant:
      return "constant";
  }
  return "unknown";
}

void WriteOptions(const DemoOptions& o, JsonWriter& w) {
  w.BeginObject("options");
  w.Int("users", o.users);
  w.Uint("first_seed", o.first_seed);
  w.Int("user_family", o.family);
  w.Doubles("label_fractions", o.label_fractions);
  w.Uint("train_images", o.train_images);
  w.Uint("test_images", o.test_images);
  w.Int("exits", o.exits);
  w.Int("threads", o.threads);
  w.Uint("latency_images", o.latency_images);
  w.Flt("whole_learning_rate", o.whole_learning_rate);
  w.Flt("classifier_learning_rate", o.classifier_learning_rate);
  const PersonaliseOptions& p = o.personalise;
  w.BeginObject("personalise");
  w.Int("epochs", p.epochs);
  w.Int("batch", p.batch);
  w.Uint("seed", p.seed);
  w.Str("optimizer", OptimizerKey(p.optimizer));
  w.Flt("learning_rate", p.learning_rate);
  w.Flt("momentum", p.momentum);
  w.Flt("weight_decay", p.weight_decay);
  w.Str("schedule", ScheduleKey(p.schedule));
  w.Int("step_epochs", p.step_epochs);
  w.Flt("step_gamma", p.step_gamma);
  w.BeginObject("loss");
  w.Flt("labelled_weight", p.loss.labelled_weight);
  w.Flt("distill_weight", p.loss.distill_weight);
  w.Flt("temperature", p.loss.temperature);
  w.Flt("pseudo_label_weight", p.loss.pseudo_label_weight);
  w.Flt("pseudo_label_threshold", p.loss.pseudo_label_threshold);
  w.EndObject();
  w.Dbl("holdout_fraction", p.holdout_fraction);
  w.Uint("memory_budget", p.memory_budget);
  w.Bool("force_cache", p.force_cache);
  w.Str("cache", CachePlacementName(p.cache));
  w.Str("spill_dir", p.spill_dir);
  w.Int("threads", p.threads);
  w.EndObject();
  w.EndObject();
}

void WriteMethod(const char* key, const MethodResult& m, JsonWriter& w) {
  w.BeginObject(key);
  w.Dbl("accuracy", m.accuracy);
  w.Dbl("mean_macs", m.mean_macs);
  w.Dbl("latency_ms", m.latency_ms);
  w.Dbl("train_seconds", m.train_seconds);
  w.Dbl("train_macs", m.train_macs);
  w.Dbl("peak_memory_bytes", m.peak_memory_bytes);
  w.Doubles("epoch_loss", m.epoch_loss);
  w.EndObject();
}

void WritePoint(const char* key, const DemoPoint& p, JsonWriter& w) {
  w.BeginObject(key, true);
  w.Array("thresholds", p.thresholds, [&](float t) { w.Flt(nullptr, t); });
  w.Dbl("accuracy", p.accuracy);
  w.Dbl("mean_macs", p.mean_macs);
  w.Dbl("latency_ms", p.latency_ms);
  w.Array("exit_counts", p.exit_counts, [&](int64_t c) { w.Int(nullptr, c); });
  w.EndObject();
}

void WriteRun(const DemoRun& r, JsonWriter& w) {
  w.BeginObject();
  w.Uint("user", r.user);
  w.Array("classes", r.classes, [&](int c) { w.Int(nullptr, c); });
  w.Doubles("proportions", r.proportions);
  w.Dbl("label_fraction", r.label_fraction);
  w.Uint("labelled", r.labelled);
  w.Str("cache", r.cache);
  WriteMethod("original", r.original, w);
  WriteMethod("exits", r.exits, w);
  w.Doubles("exit_accuracy", r.exit_accuracy);
  w.Doubles("exit_macs", r.exit_macs);
  WritePoint("calibrated", r.calibrated, w);
  WritePoint("equal_accuracy", r.equal_accuracy, w);
  WritePoint("best", r.best, w);
  WritePoint("best_within_original_cost", r.best_within_original_cost, w);
  WriteMethod("whole", r.whole, w);
  WriteMethod("classifier", r.classifier, w);
  WriteMethod("prior_corrected", r.prior_corrected, w);
  w.Bool("exits_on", r.exits_on);
  w.Dbl("guarantee_bound", r.guarantee_bound);
  w.Dbl("teacher_trust", r.teacher_trust);
  w.Bool("final_trained", r.final_trained);
  w.BeginArray("curve");
  for (const DemoPoint& p : r.curve) WritePoint(nullptr, p, w);
  w.EndArray();
  w.EndObject();
}

void WriteSpread(const char* key, const Spread& s, JsonWriter& w) {
  w.BeginObject(key, true);
  w.Dbl("mean", s.mean);
  w.Dbl("stddev", s.stddev);
  w.Dbl("min", s.min);
  w.Dbl("max", s.max);
  w.Uint("n", s.n);
  w.EndObject();
}

}  // namespace

std::string DemoJson(const DemoResults& r) {
  JsonWriter w;
  w.BeginObject();
  w.Str("format", "persephonee-demo-results");
  w.Int("format_version", 1);
  w.BeginObject("units");
  w.Str("runs",
        "accuracies are fractions in [0, 1]; MACs per image; latency in ms per image at batch 1; "
        "train_seconds wall time; peak_memory_bytes growth of the peak resident set");
  w.Str("summaries", "accuracies in percent, gains in percentage points, ratios as plain numbers");
  w.Str("thresholds", "max-softmax thresholds per head; \"inf\" turns a head off");
  w.EndObject();
  w.Str("backbone", r.backbone);
  w.Dbl("backbone_accuracy", r.backbone_accuracy);
  w.Int("backbone_macs", r.backbone_macs);
  w.Array("exit_names", r.exit_names, [&](const std::string& s) { w.Str(nullptr, s); });
  w.Doubles("exit_fractions", r.exit_fractions);
  w.Dbl("seconds", r.seconds);
  WriteOptions(r.options, w);

  w.BeginArray("summaries");
  for (const DemoSummary& s : r.summaries) {
    w.BeginObject();
    w.Dbl("label_fraction", s.label_fraction);
    for (const auto& row : demo_report_internal::SummaryRows()) {
      WriteSpread(row.json_key, s.*row.field, w);
    }
    w.Uint("users_below_1_point", s.users_below_1);
    w.Uint("users_below_3_points", s.users_below_3);
    w.Uint("users_exits_on", s.exits_on);
    w.EndObject();
  }
  w.EndArray();

  w.BeginArray("claims");
  for (const DemoClaim& c : r.claims) {
    w.BeginObject();
    w.Str("label_fraction", c.label_fraction);
    w.Str("claim", c.claim);
    w.Str("paper", c.paper);
    w.Str("target", c.target);
    w.Str("measured", c.measured);
    w.Bool("met", c.met);
    w.EndObject();
  }
  w.EndArray();

  w.BeginArray("runs");
  for (const DemoRun& run : r.runs) WriteRun(run, w);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace persephonee
