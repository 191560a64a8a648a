// DemoHtml: the demo's report as one self-contained page: inline CSS and SVG, no script, no
// external resource, every piece of text from the results escaped.
//
// Per label fraction it draws, for every user, accuracy against latency: the test-set front of
// the exits as a line (its points carry MACs, not a measured latency, so their latency is the
// user's original latency scaled by MACs: latency = MACs x original latency_ms / original
// mean_macs), and as points the original model, the calibrated and equal-accuracy operating
// points (measured latency; scaled from MACs like the front only where none was measured) and
// both fine-tuned models (whose latency is the original's: they keep its architecture). Then the
// exit histogram at the calibrated thresholds summed over the users, and the training curves
// (loss per epoch) of the heads, the whole network and the classifier, averaged over the users.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "training/demo_report.h"
#include "training/demo_report_internal.h"
#include "training/demo_report_svg.h"

namespace persephonee {
namespace {

using demo_report_internal::FormatStddev;
using demo_report_internal::FormatValue;
using demo_report_internal::FractionName;
using demo_report_internal::HtmlEscape;
using demo_report_internal::LegendEntry;
using demo_report_internal::Marker;
using demo_report_internal::Num;
using demo_report_internal::Printf;
using demo_report_internal::SvgChart;

constexpr const char* kStyle = R"(
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 14px; color: #222;
       margin: 24px; max-width: 1500px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ccc; }
h3 { font-size: 15px; margin-bottom: 4px; }
table { border-collapse: collapse; margin: 6px 0 14px; }
th, td { border: 1px solid #d0d0d0; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.facts th { background: none; border: none; padding: 1px 12px 1px 0; font-weight: normal;
                 color: #555; white-space: nowrap; }
table.facts td { border: none; padding: 1px 0; }
.met { color: #1a7f37; font-weight: bold; }
.notmet { color: #cf222e; font-weight: bold; }
small, .note { color: #666; font-size: 12px; }
.grid { display: flex; flex-wrap: wrap; gap: 10px; }
figure { margin: 0; }
figcaption { font-size: 12px; color: #555; max-width: 300px; }
.wide figcaption { max-width: 480px; }
svg text { font-size: 11px; fill: #333; }
svg .title { font-size: 12px; font-weight: bold; }
svg .gridline { stroke: #e6e6e6; stroke-width: 1; }
svg .frame { fill: none; stroke: #999; }
svg .legend-box { fill: #fff; fill-opacity: 0.85; stroke: #ccc; }
)";

// Colours and markers, the same in every chart.
constexpr const char* kFrontColor = "#8a8a8a";
constexpr const char* kOriginalColor = "#222222";
constexpr const char* kExitsColor = "#1f77b4";
constexpr const char* kEqualColor = "#ff7f0e";
constexpr const char* kWholeColor = "#d62728";
constexpr const char* kClassifierColor = "#9467bd";

const char* const kClassNames[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

std::string ClassName(int c) { return c >= 0 && c < 10 ? kClassNames[c] : Printf("class %d", c); }

std::string Percent(double fraction) { return Num("%.1f", 100 * fraction) + "%"; }

std::string Ms(double ms) { return Num("%.3f", ms) + " ms"; }

std::string Cell(const std::string& text, bool number = false) {
  return std::string(number ? "<td class=\"num\">" : "<td>") + HtmlEscape(text) + "</td>";
}

std::string FactsTable(const DemoResults& r) {
  std::string out = "<table class=\"facts\">\n";
  for (const auto& fact : demo_report_internal::Facts(r)) {
    out += "<tr><th>" + HtmlEscape(fact.first) + "</th><td>" + HtmlEscape(fact.second) +
           "</td></tr>\n";
  }
  return out + "</table>\n";
}

std::string SummaryTable(const DemoResults& r, const std::vector<double>& fractions) {
  std::string out =
      "<table>\n<tr><th>over users: mean &plusmn; std<br><small>min..max</small></th>";
  for (double f : fractions) out += "<th>labels " + HtmlEscape(FractionName(f)) + "</th>";
  out += "</tr>\n";
  for (const auto& row : demo_report_internal::SummaryRows()) {
    out += "<tr><td>" + HtmlEscape(row.html_label) + "</td>";
    for (double f : fractions) {
      const DemoSummary* s = demo_report_internal::SummaryAt(r, f);
      if (s == nullptr || (s->*row.field).n == 0) {
        out += "<td class=\"num\">n/a</td>";
        continue;
      }
      const Spread& v = s->*row.field;
      out += "<td class=\"num\">" + HtmlEscape(FormatValue(v.mean, row.unit)) + " &plusmn; " +
             HtmlEscape(FormatStddev(v.stddev, row.unit)) + "<br><small>" +
             HtmlEscape(FormatValue(v.min, row.unit) + ".." + FormatValue(v.max, row.unit)) +
             "</small></td>";
    }
    out += "</tr>\n";
  }
  return out + "</table>\n";
}

std::string ClaimsTable(const DemoResults& r) {
  if (r.claims.empty()) return "<p>No claims.</p>\n";
  size_t met = 0;
  std::string out =
      "<table>\n<tr><th>labels</th><th>claim</th><th>paper</th><th>target</th><th>measured</th>"
      "<th>verdict</th></tr>\n";
  for (const DemoClaim& c : r.claims) {
    met += c.met;
    out += "<tr>" + Cell(c.label_fraction) + Cell(c.claim) + Cell(c.paper) + Cell(c.target) +
           Cell(c.measured) +
           (c.met ? "<td class=\"met\">MET</td>" : "<td class=\"notmet\">NOT MET</td>") + "</tr>\n";
  }
  out += "</table>\n";
  return out + Printf("<p>%zu of %zu claims met.</p>\n", met, r.claims.size());
}

// Where a run's operating point sits on the latency axis: measured, or scaled from its MACs.
double PointLatency(const DemoPoint& p, double ms_per_mac, bool* estimated) {
  *estimated = !(p.latency_ms > 0);
  return *estimated ? p.mean_macs * ms_per_mac : p.latency_ms;
}

std::string UserPlot(const DemoRun& run) {
  SvgChart chart(300, 220);
  chart.SetTitle(Printf("user %llu", static_cast<unsigned long long>(run.user)));
  chart.SetXLabel("latency per image (ms)");
  chart.SetYLabel("accuracy (%)");
  chart.SetYMax(100);
  const MethodResult& o = run.original;
  const double ms_per_mac = o.mean_macs > 0 ? o.latency_ms / o.mean_macs : NAN;

  SvgChart::Points front;
  std::vector<std::string> tips;
  for (const DemoPoint& p : run.curve) {
    front.emplace_back(p.mean_macs * ms_per_mac, 100 * p.accuracy);
    tips.push_back("front: " + Ms(p.mean_macs * ms_per_mac) + " (from MACs), " +
                   Percent(p.accuracy));
  }
  chart.Line(front, kFrontColor, Marker::kDot, tips);
  chart.Point(o.latency_ms, 100 * o.accuracy, Marker::kSquare, kOriginalColor,
              "original: " + Ms(o.latency_ms) + ", " + Percent(o.accuracy));
  const auto operating = [&](const DemoPoint& p, const char* name, Marker m, const char* color) {
    bool estimated = false;
    const double x = PointLatency(p, ms_per_mac, &estimated);
    chart.Point(x, 100 * p.accuracy, m, color,
                std::string(name) + ": " + Ms(x) + (estimated ? " (from MACs)" : "") + ", " +
                    Percent(p.accuracy));
  };
  operating(run.equal_accuracy, "equal accuracy", Marker::kDiamond, kEqualColor);
  operating(run.calibrated, "calibrated", Marker::kCircle, kExitsColor);
  chart.Point(o.latency_ms, 100 * run.whole.accuracy, Marker::kTriangle, kWholeColor,
              "whole network fine-tuned: " + Ms(o.latency_ms) + ", " + Percent(run.whole.accuracy));
  chart.Point(
      o.latency_ms, 100 * run.classifier.accuracy, Marker::kCross, kClassifierColor,
      "classifier fine-tuned: " + Ms(o.latency_ms) + ", " + Percent(run.classifier.accuracy));

  std::string caption;
  for (size_t i = 0; i < run.classes.size(); ++i) {
    caption += (i ? ", " : "") + ClassName(run.classes[i]);
    if (i < run.proportions.size()) caption += " " + Num("%.0f", 100 * run.proportions[i]) + "%";
  }
  caption += Printf("; %zu labelled", run.labelled);
  if (!run.cache.empty()) caption += "; cache " + run.cache;
  return "<figure>" + chart.Render("user-plot") + "<figcaption>" + HtmlEscape(caption) +
         "</figcaption></figure>\n";
}

std::string ExitHistogram(const DemoResults& r, const std::vector<const DemoRun*>& runs) {
  std::vector<int64_t> counts;
  for (const DemoRun* run : runs) {
    const std::vector<int64_t>& c = run->calibrated.exit_counts;
    if (counts.size() < c.size()) counts.resize(c.size(), 0);
    for (size_t i = 0; i < c.size(); ++i) counts[i] += c[i];
  }
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  std::vector<std::string> names;
  for (size_t i = 0; i < counts.size(); ++i) {
    names.push_back(counts.size() == r.exit_names.size() ? r.exit_names[i]
                                                         : Printf("exit %zu", i + 1));
  }
  SvgChart chart(480, 260);
  chart.SetTitle("exit histogram at the calibrated thresholds");
  chart.SetXLabel("exit (final last)");
  chart.SetYLabel("test images");
  chart.SetCategories(names);
  chart.IncludeY(0);
  for (size_t i = 0; i < counts.size(); ++i) {
    const double share = total > 0 ? 100.0 * static_cast<double>(counts[i]) / total : 0.0;
    chart.Bar(i, static_cast<double>(counts[i]), kExitsColor,
              Printf("%s: %lld images (%.1f%%)", names[i].c_str(),
                     static_cast<long long>(counts[i]), share));
  }
  return "<figure class=\"wide\">" + chart.Render("histogram") +
         Printf(
             "<figcaption>Test images answered at each exit at the calibrated thresholds, "
             "summed over the %zu users (%lld images).</figcaption></figure>\n",
             runs.size(), static_cast<long long>(total));
}

// The mean over runs of each epoch's loss (over the runs that have that epoch, finite values).
SvgChart::Points MeanCurve(const std::vector<const DemoRun*>& runs,
                           const MethodResult DemoRun::*method) {
  std::vector<double> sum;
  std::vector<int> n;
  for (const DemoRun* run : runs) {
    const std::vector<double>& loss = (run->*method).epoch_loss;
    if (sum.size() < loss.size()) sum.resize(loss.size(), 0), n.resize(loss.size(), 0);
    for (size_t e = 0; e < loss.size(); ++e) {
      if (std::isfinite(loss[e])) sum[e] += loss[e], ++n[e];
    }
  }
  SvgChart::Points points;
  for (size_t e = 0; e < sum.size(); ++e) {
    points.emplace_back(static_cast<double>(e + 1), n[e] ? sum[e] / n[e] : NAN);
  }
  return points;
}

std::string TrainingCurves(const std::vector<const DemoRun*>& runs) {
  SvgChart chart(480, 260);
  chart.SetTitle("training loss, mean over users");
  chart.SetXLabel("epoch");
  chart.SetXIntegers();
  chart.SetYLabel("loss");
  const struct {
    const char* name;
    const MethodResult DemoRun::*method;
    const char* color;
    Marker marker;
  } series[] = {{"exit heads", &DemoRun::exits, kExitsColor, Marker::kCircle},
                {"whole network", &DemoRun::whole, kWholeColor, Marker::kTriangle},
                {"classifier", &DemoRun::classifier, kClassifierColor, Marker::kCross}};
  for (const auto& s : series) {
    const SvgChart::Points points = MeanCurve(runs, s.method);
    std::vector<std::string> tips;
    for (const auto& p : points) {
      tips.push_back(Printf("%s, epoch %.0f: ", s.name, p.first) + Num("%.4f", p.second));
    }
    chart.Line(points, s.color, s.marker, tips);
    chart.AddLegend({s.name, s.color, s.marker, true});
  }
  return "<figure class=\"wide\">" + chart.Render("loss") +
         "<figcaption>Loss per epoch on the training images (the same objective for all three), "
         "averaged over the users.</figcaption></figure>\n";
}

std::string UserTable(const std::vector<const DemoRun*>& runs) {
  std::string out =
      "<table>\n<tr><th>user</th><th>labelled</th><th>original</th><th>calibrated</th>"
      "<th>speed-up</th><th>equal-accuracy speed-up</th><th>best</th><th>best at &le; "
      "original MACs</th><th>whole network</th><th>classifier</th><th>each exit alone</th>"
      "<th>train s: exits / whole / classifier</th></tr>\n";
  for (const DemoRun* run : runs) {
    const MethodResult& o = run->original;
    std::string exits;
    for (double a : run->exit_accuracy) exits += (exits.empty() ? "" : " ") + Percent(a);
    out +=
        "<tr>" + Cell(Printf("%llu", static_cast<unsigned long long>(run->user)), true) +
        Cell(Printf("%zu", run->labelled), true) + Cell(Percent(o.accuracy), true) +
        Cell(Percent(run->calibrated.accuracy), true) +
        Cell(Num("%.2f", o.latency_ms / run->calibrated.latency_ms) + "x", true) +
        Cell(Num("%.2f", o.latency_ms / run->equal_accuracy.latency_ms) + "x", true) +
        Cell(Percent(run->best.accuracy), true) +
        Cell(Percent(run->best_within_original_cost.accuracy), true) +
        Cell(Percent(run->whole.accuracy), true) + Cell(Percent(run->classifier.accuracy), true) +
        Cell(exits, true) +
        Cell(Num("%.1f", run->exits.train_seconds) + " / " + Num("%.1f", run->whole.train_seconds) +
                 " / " + Num("%.1f", run->classifier.train_seconds),
             true) +
        "</tr>\n";
  }
  return out + "</table>\n";
}

std::string FractionSection(const DemoResults& r, double fraction) {
  const std::vector<const DemoRun*> runs = demo_report_internal::RunsAt(r, fraction);
  std::string out =
      "<section>\n<h2>Label fraction " + HtmlEscape(FractionName(fraction)) + " <small>" +
      HtmlEscape(Printf("%zu users, ", runs.size()) + demo_report_internal::LabelledText(r, runs)) +
      "</small></h2>\n";
  if (runs.empty()) return out + "<p>No runs.</p>\n</section>\n";
  out += "<h3>Accuracy against latency, per user (test set)</h3>\n";
  out += demo_report_internal::SvgLegend(
      {{"exits: test-set front", kFrontColor, Marker::kDot, true},
       {"original model", kOriginalColor, Marker::kSquare, false},
       {"exits at calibrated thresholds", kExitsColor, Marker::kCircle, false},
       {"equal accuracy (front)", kEqualColor, Marker::kDiamond, false},
       {"whole network fine-tuned", kWholeColor, Marker::kTriangle, false},
       {"classifier fine-tuned", kClassifierColor, Marker::kCross, false}},
      1200);
  out +=
      "<p class=\"note\">The front's points were not timed: their latency is the user's original "
      "latency scaled by MACs (latency = MACs &times; original latency / original MACs). The "
      "original model, the calibrated and equal-accuracy points are measured (batch 1); the "
      "fine-tuned models keep the original's architecture and are drawn at its latency. Hover a "
      "point for its figures.</p>\n<div class=\"grid\">\n";
  for (const DemoRun* run : runs) out += UserPlot(*run);
  out += "</div>\n<div class=\"grid\">\n" + ExitHistogram(r, runs) + TrainingCurves(runs) +
         "</div>\n<h3>Per user</h3>\n" + UserTable(runs) + "</section>\n";
  return out;
}

}  // namespace

std::string DemoHtml(const DemoResults& r) {
  const std::vector<double> fractions = demo_report_internal::Fractions(r);
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>persephonee demo report</title>\n<style>" +
      std::string(kStyle) + "</style>\n</head>\n<body>\n";
  out += "<h1>persephonee demo: early exits personalised for simulated Fashion-MNIST users</h1>\n";
  out += FactsTable(r);
  out += "<h2>Summary</h2>\n" + SummaryTable(r, fractions);
  out += "<h2>Claims</h2>\n" + ClaimsTable(r);
  for (double f : fractions) out += FractionSection(r, f);
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace persephonee
