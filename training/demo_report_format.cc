// The demo report's shared pieces (training/demo_report_internal.h).
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "training/demo_report_internal.h"
#include "training/feature_store.h"
#include "training/personalise.h"

namespace persephonee {
namespace demo_report_internal {
namespace {

bool SameFraction(double a, double b) { return a == b || std::fabs(a - b) < 1e-12; }

// Decodes the UTF-8 sequence at text[*i], advancing *i past it. Returns false (advancing by one
// byte) for an invalid sequence: a stray continuation byte, a truncated or overlong sequence, a
// surrogate or a code point above U+10FFFF.
bool NextCodePoint(const std::string& text, size_t* i, uint32_t* cp) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t b0 = byte(*i);
  size_t length = 0;
  uint32_t value = 0, min = 0;
  if (b0 < 0x80) {
    *cp = b0;
    ++*i;
    return true;
  } else if ((b0 & 0xE0) == 0xC0) {
    length = 2, value = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    length = 3, value = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    length = 4, value = b0 & 0x07, min = 0x10000;
  } else {
    ++*i;
    return false;
  }
  if (*i + length > text.size()) {
    ++*i;
    return false;
  }
  for (size_t k = 1; k < length; ++k) {
    const uint8_t b = byte(*i + k);
    if ((b & 0xC0) != 0x80) {
      ++*i;
      return false;
    }
    value = (value << 6) | (b & 0x3F);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    ++*i;
    return false;
  }
  *i += length;
  *cp = value;
  return true;
}

const char* Transliterate(uint32_t cp) {
  switch (cp) {
    case 0x00A0:
      return " ";
    case 0x00B1:
      return "+-";
    case 0x00B5:
      return "u";
    case 0x00D7:
      return "x";
    case 0x2010:
    case 0x2011:
    case 0x2012:
    case 0x2013:
    case 0x2212:
      return "-";
    case 0x2014:
      return "--";
    case 0x2018:
    case 0x2019:
      return "'";
    case 0x201C:
    case 0x201D:
      return "\"";
    case 0x2026:
      return "...";
    case 0x2192:
      return "->";
    case 0x2248:
      return "~";
    case 0x2264:
      return "<=";
    case 0x2265:
      return ">=";
    default:
      return "?";
  }
}

const char* OptimizerName(OptimizerKind kind) {
  return kind == OptimizerKind::kSgd ? "SGD" : "Adam";
}

const char* ScheduleName(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::kCosine:
      return "cosine";
    case ScheduleKind::kStep:
      return "step";
    case ScheduleKind::kConstant:
      return "constant";
  }
  return "?";
}

}  // namespace

std::string Printf(const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  std::string out;
  if (n > 0) {
    out.resize(static_cast<size_t>(n) + 1);
    std::vsnprintf(&out[0], out.size(), format, args);
    out.resize(static_cast<size_t>(n));
  }
  va_end(args);
  return out;
}

std::string Num(const char* format, double value) {
  if (std::isnan(value)) return "n/a";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, value);
  return buf;
}

std::string FormatValue(double value, Unit unit) {
  switch (unit) {
    case Unit::kPercent:
      return Num("%.1f", value) + (std::isfinite(value) ? "%" : "");
    case Unit::kPoints:
      return Num("%+.1f", value);
    case Unit::kRatio:
      return Num("%.2f", value) + (std::isfinite(value) ? "x" : "");
  }
  return "?";
}

std::string FormatStddev(double stddev, Unit unit) {
  return Num(unit == Unit::kRatio ? "%.2f" : "%.1f", stddev);
}

const std::vector<SummaryRow>& SummaryRows() {
  static const std::vector<SummaryRow> rows = {
      {"original accuracy", "original model: accuracy", "original_accuracy",
       &DemoSummary::original_accuracy, Unit::kPercent},
      {"exits, calibrated: accuracy", "exits at calibrated thresholds: accuracy",
       "calibrated_accuracy", &DemoSummary::calibrated_accuracy, Unit::kPercent},
      {"exits, calibrated: gain (points)", "exits at calibrated thresholds: gain (points)",
       "calibrated_gain", &DemoSummary::calibrated_gain, Unit::kPoints},
      {"exits, calibrated: latency speed-up", "exits at calibrated thresholds: latency speed-up",
       "calibrated_speedup", &DemoSummary::calibrated_speedup, Unit::kRatio},
      {"exits, calibrated: MACs reduction", "exits at calibrated thresholds: MACs reduction",
       "calibrated_mac_ratio", &DemoSummary::calibrated_mac_ratio, Unit::kRatio},
      {"exits, calibrated: errors closed", "exits at calibrated thresholds: share of errors closed",
       "close_fraction", &DemoSummary::close_fraction, Unit::kRatio},
      {"original + prior correction: accuracy", "original with the prior correction: accuracy",
       "prior_corrected_accuracy", &DemoSummary::prior_corrected_accuracy, Unit::kPercent},
      {"equal accuracy: latency speed-up", "equal accuracy (test-set front): latency speed-up",
       "equal_accuracy_speedup", &DemoSummary::equal_accuracy_speedup, Unit::kRatio},
      {"equal accuracy: MACs reduction", "equal accuracy (test-set front): MACs reduction",
       "equal_accuracy_mac_ratio", &DemoSummary::equal_accuracy_mac_ratio, Unit::kRatio},
      {"best accuracy gain (points)", "best point of the front: gain (points)", "best_gain",
       &DemoSummary::best_gain, Unit::kPoints},
      {"gain at <= original MACs (points)", "best at \xE2\x89\xA4 original MACs: gain (points)",
       "gain_within_original_cost", &DemoSummary::gain_within_original_cost, Unit::kPoints},
      {"  ... its latency speed-up", "best at \xE2\x89\xA4 original MACs: latency speed-up",
       "within_original_cost_speedup", &DemoSummary::within_original_cost_speedup, Unit::kRatio},
      {"whole-network fine-tuning: accuracy", "whole-network fine-tuning: accuracy",
       "whole_accuracy", &DemoSummary::whole_accuracy, Unit::kPercent},
      {"whole-network: wall time whole/exits", "whole-network: wall time, whole / exits",
       "cost_ratio_whole", &DemoSummary::cost_ratio_whole, Unit::kRatio},
      {"whole-network: peak memory whole/exits", "whole-network: peak memory, whole / exits",
       "memory_ratio_whole", &DemoSummary::memory_ratio_whole, Unit::kRatio},
      {"classifier fine-tuning: accuracy", "classifier fine-tuning: accuracy",
       "classifier_accuracy", &DemoSummary::classifier_accuracy, Unit::kPercent},
  };
  return rows;
}

std::string FractionName(double fraction) { return Printf("%g%%", 100 * fraction); }

std::vector<double> Fractions(const DemoResults& r) {
  std::vector<double> fractions;
  const auto add = [&](double f) {
    for (double g : fractions) {
      if (SameFraction(f, g)) return;
    }
    fractions.push_back(f);
  };
  for (const DemoSummary& s : r.summaries) add(s.label_fraction);
  for (const DemoRun& run : r.runs) add(run.label_fraction);
  return fractions;
}

std::vector<const DemoRun*> RunsAt(const DemoResults& r, double fraction) {
  std::vector<const DemoRun*> runs;
  for (const DemoRun& run : r.runs) {
    if (SameFraction(run.label_fraction, fraction)) runs.push_back(&run);
  }
  return runs;
}

const DemoSummary* SummaryAt(const DemoResults& r, double fraction) {
  for (const DemoSummary& s : r.summaries) {
    if (SameFraction(s.label_fraction, fraction)) return &s;
  }
  return nullptr;
}

std::string Engineering(double value) {
  const double a = std::fabs(value);
  if (!std::isfinite(value)) return Num("%g", value);
  if (a >= 1e9) return Printf("%.3g G", value / 1e9);
  if (a >= 1e6) return Printf("%.3g M", value / 1e6);
  if (a >= 1e3) return Printf("%.3g k", value / 1e3);
  return Printf("%.3g", value);
}

std::vector<std::pair<std::string, std::string>> Facts(const DemoResults& r) {
  const DemoOptions& o = r.options;
  const PersonaliseOptions& p = o.personalise;
  std::vector<std::pair<std::string, std::string>> facts;
  facts.emplace_back("backbone", r.backbone.empty() ? "(unnamed)" : r.backbone);
  facts.emplace_back("backbone accuracy",
                     Num("%.2f", 100 * r.backbone_accuracy) + "% on the 10k test split");
  facts.emplace_back("backbone MACs",
                     Engineering(static_cast<double>(r.backbone_macs)) + " per image");
  std::string exits;
  for (size_t i = 0; i < r.exit_names.size(); ++i) {
    if (i) exits += ", ";
    exits += r.exit_names[i];
    if (i < r.exit_fractions.size()) exits += " (" + Num("%.3g", 100 * r.exit_fractions[i]) + "%)";
  }
  facts.emplace_back("exits", Printf("%d heads", o.exits) + (exits.empty() ? "" : ": " + exits) +
                                  " (share of the backbone's MACs)");
  facts.emplace_back(
      "users", o.users > 0 ? Printf("%d (seeds %llu..%llu)", o.users,
                                    static_cast<unsigned long long>(o.first_seed),
                                    static_cast<unsigned long long>(o.first_seed + o.users - 1))
                           : Printf("%d", o.users));
  facts.back().second += o.family == 2
                             ? ", family 2 (held out: nothing was tuned on them)"
                             : Printf(", family %d (the users the method was tuned on)", o.family);
  facts.emplace_back("images per user",
                     Printf("%zu on-device, %zu test; latency timed on %zu, batch 1",
                            o.train_images, o.test_images, o.latency_images));
  std::string fractions;
  for (double f : o.label_fractions) fractions += (fractions.empty() ? "" : ", ") + FractionName(f);
  facts.emplace_back("label fractions", fractions);
  facts.emplace_back(
      "heads' training",
      Printf("%d epochs, batch <= %d, %s lr %g, %s schedule, weight decay %g, seed %llu", p.epochs,
             p.batch, OptimizerName(p.optimizer), p.learning_rate, ScheduleName(p.schedule),
             p.weight_decay, static_cast<unsigned long long>(p.seed)) +
          Printf("; %g%% held out for calibration; memory budget %.0f MiB, cache %s",
                 100 * p.holdout_fraction, static_cast<double>(p.memory_budget) / (1 << 20),
                 p.force_cache ? CachePlacementName(p.cache) : "chosen by the planner"));
  facts.emplace_back("objective",
                     Printf("labels x%g, distillation x%g at T = %g, pseudo-labels x%g at tau = %g",
                            p.loss.labelled_weight, p.loss.distill_weight, p.loss.temperature,
                            p.loss.pseudo_label_weight, p.loss.pseudo_label_threshold));
  facts.emplace_back("baselines",
                     Printf("whole network lr %g (SGD with momentum), classifier lr %g; same "
                            "objective, split, epochs and labels",
                            o.whole_learning_rate, o.classifier_learning_rate));
  facts.emplace_back("threads", Printf("%d", o.threads));
  facts.emplace_back("wall time", Num("%.1f", r.seconds) + " s");
  return facts;
}

std::string LabelledText(const DemoResults& r, const std::vector<const DemoRun*>& runs) {
  if (runs.empty()) return "no users";
  bool same = true;
  double sum = 0;
  for (const DemoRun* run : runs) {
    same = same && run->labelled == runs[0]->labelled;
    sum += static_cast<double>(run->labelled);
  }
  const std::string of = Printf(" of %zu on-device images labelled", r.options.train_images);
  if (same) return Printf("%zu", runs[0]->labelled) + of;
  return Printf("%.1f on average", sum / static_cast<double>(runs.size())) + of;
}

std::string ValidUtf8(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    uint32_t cp = 0;
    if (NextCodePoint(text, &i, &cp)) {
      out.append(text, start, i - start);
    } else {
      out += "\xEF\xBF\xBD";
    }
  }
  return out;
}

std::string Ascii(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    uint32_t cp = 0;
    if (!NextCodePoint(text, &i, &cp)) {
      out += '?';
    } else if (cp == '\t' || cp == '\n' || cp == '\r') {
      out += ' ';
    } else if (cp < 0x20 || cp == 0x7F) {
      out += '?';
    } else if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else {
      out += Transliterate(cp);
    }
  }
  return out;
}

}  // namespace demo_report_internal
}  // namespace persephonee
