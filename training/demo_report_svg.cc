// The demo report's SVG charts (training/demo_report_svg.h).
#include "training/demo_report_svg.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "training/demo_report_internal.h"

namespace persephonee {
namespace demo_report_internal {
namespace {

// Margins of the plot area inside the chart, in pixels.
constexpr double kLeft = 50, kRight = 12, kTop = 24, kBottom = 38;
constexpr double kMarkerRadius = 4;

struct Axis {
  double lo = 0, hi = 1, step = 1;
};

// A 1-2-5 step giving about `target` intervals over [lo, hi] padded by `pad_fraction` of its
// span, and the range widened to whole steps. An empty or degenerate range is widened first. On
// an axis of `integers` (epochs) the step is at least 1 and the padded range is kept as it is, so
// the first and last points do not sit on the frame.
Axis NiceAxis(double lo, double hi, double pad_fraction, int target, bool integers = false) {
  if (!(lo <= hi)) lo = 0, hi = 1;
  if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) {
    const double d = integers ? 0.5 : std::fabs(lo) > 0 ? 0.05 * std::fabs(lo) : 0.5;
    lo -= d, hi += d;
  }
  const double pad = pad_fraction * (hi - lo);
  lo -= pad, hi += pad;
  const double raw = (hi - lo) / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / magnitude;
  double step = (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * magnitude;
  Axis a;
  if (integers) {
    a.step = std::max(1.0, step);
    a.lo = lo, a.hi = hi;
    return a;
  }
  a.step = step;
  a.lo = std::floor(lo / step + 1e-9) * step;
  a.hi = std::ceil(hi / step - 1e-9) * step;
  return a;
}

// The ticks of `a`: the multiples of its step within its range.
std::vector<double> Ticks(const Axis& a) {
  std::vector<double> ticks;
  const long long first = std::llround(std::ceil(a.lo / a.step - 1e-9));
  for (long long k = first; k * a.step <= a.hi + 1e-9 * a.step && ticks.size() < 100; ++k) {
    ticks.push_back(static_cast<double>(k) * a.step);
  }
  return ticks;
}

std::string TickText(double v, double step) {
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  if (std::fabs(v) < step * 1e-6) v = 0;  // No "-0".
  return Printf("%.*f", decimals, v);
}

std::string F(double v) { return Printf("%.1f", v); }

std::string Title(const std::string& tooltip) {
  return tooltip.empty() ? "" : "<title>" + HtmlEscape(tooltip) + "</title>";
}

std::string MarkerSvg(Marker marker, double x, double y, const std::string& color,
                      const std::string& tooltip) {
  const double r = kMarkerRadius;
  const std::string t = Title(tooltip);
  switch (marker) {
    case Marker::kNone:
      return "";
    case Marker::kDot:
      return "<circle cx=\"" + F(x) + "\" cy=\"" + F(y) + "\" r=\"2\" fill=\"" + color + "\">" + t +
             "</circle>";
    case Marker::kCircle:
      return "<circle cx=\"" + F(x) + "\" cy=\"" + F(y) + "\" r=\"" + F(r) + "\" fill=\"" + color +
             "\" stroke=\"#fff\" stroke-width=\"0.8\">" + t + "</circle>";
    case Marker::kSquare:
      return "<rect x=\"" + F(x - r) + "\" y=\"" + F(y - r) + "\" width=\"" + F(2 * r) +
             "\" height=\"" + F(2 * r) + "\" fill=\"" + color +
             "\" stroke=\"#fff\" stroke-width=\"0.8\">" + t + "</rect>";
    case Marker::kDiamond: {
      const double d = r + 1.5;
      return "<polygon points=\"" + F(x) + "," + F(y - d) + " " + F(x + d) + "," + F(y) + " " +
             F(x) + "," + F(y + d) + " " + F(x - d) + "," + F(y) + "\" fill=\"" + color +
             "\" stroke=\"#fff\" stroke-width=\"0.8\">" + t + "</polygon>";
    }
    case Marker::kTriangle: {
      const double d = r + 1;
      return "<polygon points=\"" + F(x) + "," + F(y - d) + " " + F(x + d) + "," + F(y + r) + " " +
             F(x - d) + "," + F(y + r) + "\" fill=\"" + color +
             "\" stroke=\"#fff\" stroke-width=\"0.8\">" + t + "</polygon>";
    }
    case Marker::kCross:
      return "<path d=\"M" + F(x - r) + " " + F(y - r) + "L" + F(x + r) + " " + F(y + r) + "M" +
             F(x - r) + " " + F(y + r) + "L" + F(x + r) + " " + F(y - r) + "\" stroke=\"" + color +
             "\" stroke-width=\"2.2\" fill=\"none\">" + t + "</path>";
  }
  return "";
}

// A legend entry: its symbol centred at (x, y), its label after it.
std::string LegendItem(const LegendEntry& e, double x, double y) {
  std::string out;
  if (e.line) {
    out += "<line x1=\"" + F(x - 10) + "\" y1=\"" + F(y) + "\" x2=\"" + F(x + 10) + "\" y2=\"" +
           F(y) + "\" stroke=\"" + e.color + "\" stroke-width=\"2\"/>";
  }
  out += MarkerSvg(e.marker, x, y, e.color, "");
  out += "<text x=\"" + F(x + 15) + "\" y=\"" + F(y + 4) + "\">" + HtmlEscape(e.label) + "</text>";
  return out;
}

// A rough width of `text` at 11 px (no font metrics are available).
double TextWidth(const std::string& text) { return 5.8 * static_cast<double>(text.size()); }

}  // namespace

std::string HtmlEscape(const std::string& text) {
  std::string out;
  for (char c : ValidUtf8(text)) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string SvgLegend(const std::vector<LegendEntry>& entries, int width) {
  std::string items;
  double x = 16, y = 14;
  for (const LegendEntry& e : entries) {
    const double w = 30 + TextWidth(e.label);
    if (x > 16 && x + w > width) x = 16, y += 20;
    items += LegendItem(e, x, y);
    x += w;
  }
  return Printf("<svg class=\"legend\" width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\">",
                width, y + 10, width, y + 10) +
         items + "</svg>";
}

void SvgChart::Line(const Points& points, const std::string& color, Marker marker,
                    const std::vector<std::string>& tooltips) {
  lines_.push_back({points, color, marker, tooltips});
}

void SvgChart::Point(double x, double y, Marker marker, const std::string& color,
                     const std::string& tooltip) {
  points_.push_back({x, y, marker, color, tooltip});
}

void SvgChart::Bar(size_t category, double value, const std::string& color,
                   const std::string& tooltip) {
  bars_.push_back({category, value, color, tooltip});
}

std::string SvgChart::Render(const std::string& css_class) const {
  // The ranges, from everything drawn.
  constexpr double kInf = std::numeric_limits<double>::infinity();
  double x_lo = kInf, x_hi = -kInf, y_lo = kInf, y_hi = -kInf;
  const auto take = [&](double x, double y) {
    if (!std::isfinite(x) || !std::isfinite(y)) return;
    x_lo = std::min(x_lo, x), x_hi = std::max(x_hi, x);
    y_lo = std::min(y_lo, y), y_hi = std::max(y_hi, y);
  };
  for (const LineItem& l : lines_) {
    for (const auto& p : l.points) take(p.first, p.second);
  }
  for (const PointItem& p : points_) take(p.x, p.y);
  for (const BarItem& b : bars_) take(0, b.value);
  for (double y : extra_y_) take(std::isfinite(x_lo) ? x_lo : 0, y);
  const bool categorical = !categories_.empty();
  const Axis xa = NiceAxis(x_lo, x_hi, 0.04, std::max(2, (width_ - 70) / 60), x_integers_);
  // Bars stand on their base: room above the tallest for its label, none added below.
  if (!bars_.empty() && y_lo <= y_hi) y_hi += 0.12 * std::max(y_hi - y_lo, 1e-9);
  Axis ya = NiceAxis(y_lo, y_hi, bars_.empty() ? 0.04 : 0.0, std::max(2, height_ / 50));
  if (ya.hi > y_max_ && y_hi <= y_max_ && y_max_ > ya.lo) ya.hi = y_max_;

  const double pw = width_ - kLeft - kRight, ph = height_ - kTop - kBottom;
  const double slot = categorical ? pw / static_cast<double>(categories_.size()) : 0;
  const auto sx = [&](double x) { return kLeft + (x - xa.lo) / (xa.hi - xa.lo) * pw; };
  const auto sy = [&](double y) { return kTop + ph - (y - ya.lo) / (ya.hi - ya.lo) * ph; };

  std::string out = "<svg";
  if (!css_class.empty()) out += " class=\"" + HtmlEscape(css_class) + "\"";
  out += Printf(" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">", width_, height_,
                width_, height_);
  if (!title_.empty()) {
    out += "<text class=\"title\" x=\"" + F(width_ / 2.0) + "\" y=\"15\" text-anchor=\"middle\">" +
           HtmlEscape(title_) + "</text>";
  }
  // Grid, ticks and tick labels.
  out += "<g class=\"axes\">";
  for (double v : Ticks(ya)) {
    const double y = sy(v);
    out += "<line class=\"gridline\" x1=\"" + F(kLeft) + "\" y1=\"" + F(y) + "\" x2=\"" +
           F(kLeft + pw) + "\" y2=\"" + F(y) + "\"/>";
    out += "<text x=\"" + F(kLeft - 5) + "\" y=\"" + F(y + 4) + "\" text-anchor=\"end\">" +
           TickText(v, ya.step) + "</text>";
  }
  if (categorical) {
    const size_t max_chars = static_cast<size_t>(std::max(3.0, slot / 5.8));
    for (size_t i = 0; i < categories_.size(); ++i) {
      std::string name = categories_[i];
      if (name.size() > max_chars) name = name.substr(0, max_chars - 1) + "~";
      out += "<text x=\"" + F(kLeft + (i + 0.5) * slot) + "\" y=\"" + F(kTop + ph + 14) +
             "\" text-anchor=\"middle\">" + Title(categories_[i]) + HtmlEscape(name) + "</text>";
    }
  } else {
    for (double v : Ticks(xa)) {
      const double x = sx(v);
      out += "<line class=\"gridline\" x1=\"" + F(x) + "\" y1=\"" + F(kTop) + "\" x2=\"" + F(x) +
             "\" y2=\"" + F(kTop + ph) + "\"/>";
      out += "<text x=\"" + F(x) + "\" y=\"" + F(kTop + ph + 14) + "\" text-anchor=\"middle\">" +
             TickText(v, xa.step) + "</text>";
    }
  }
  out += "<rect class=\"frame\" x=\"" + F(kLeft) + "\" y=\"" + F(kTop) + "\" width=\"" + F(pw) +
         "\" height=\"" + F(ph) + "\"/>";
  if (!x_label_.empty()) {
    out += "<text x=\"" + F(kLeft + pw / 2) + "\" y=\"" + F(height_ - 6.0) +
           "\" text-anchor=\"middle\">" + HtmlEscape(x_label_) + "</text>";
  }
  if (!y_label_.empty()) {
    out += "<text transform=\"translate(12," + F(kTop + ph / 2) +
           ") rotate(-90)\" text-anchor=\"middle\">" + HtmlEscape(y_label_) + "</text>";
  }
  out += "</g>";

  // Content: bars, then lines, then single markers on top.
  for (const BarItem& b : bars_) {
    if (!categorical || b.category >= categories_.size() || !std::isfinite(b.value)) continue;
    const double x = kLeft + (b.category + 0.15) * slot, top = sy(std::max(b.value, ya.lo));
    const double base = sy(std::max(0.0, ya.lo));
    out += "<rect x=\"" + F(x) + "\" y=\"" + F(std::min(top, base)) + "\" width=\"" +
           F(0.7 * slot) + "\" height=\"" + F(std::fabs(base - top)) + "\" fill=\"" + b.color +
           "\">" + Title(b.tooltip) + "</rect>";
    out += "<text x=\"" + F(x + 0.35 * slot) + "\" y=\"" + F(std::min(top, base) - 3) +
           "\" text-anchor=\"middle\">" + Printf("%.0f", b.value) + "</text>";
  }
  for (const LineItem& l : lines_) {
    std::string path, marks;
    for (size_t i = 0; i < l.points.size(); ++i) {
      const double x = l.points[i].first, y = l.points[i].second;
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      path += (path.empty() ? "" : " ") + F(sx(x)) + "," + F(sy(y));
      marks += MarkerSvg(l.marker, sx(x), sy(y), l.color,
                         i < l.tooltips.size() ? l.tooltips[i] : std::string());
    }
    if (!path.empty()) {
      out += "<polyline points=\"" + path + "\" fill=\"none\" stroke=\"" + l.color +
             "\" stroke-width=\"1.6\" stroke-linejoin=\"round\"/>";
    }
    out += marks;
  }
  for (const PointItem& p : points_) {
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
    out += MarkerSvg(p.marker, sx(p.x), sy(p.y), p.color, p.tooltip);
  }

  // The legend, top right inside the frame.
  if (!legend_.empty()) {
    double w = 0;
    for (const LegendEntry& e : legend_) w = std::max(w, 36 + TextWidth(e.label));
    const double x0 = kLeft + pw - w - 4, y0 = kTop + 4;
    out += "<rect class=\"legend-box\" x=\"" + F(x0) + "\" y=\"" + F(y0) + "\" width=\"" + F(w) +
           "\" height=\"" + F(18.0 * legend_.size() + 4) + "\"/>";
    for (size_t i = 0; i < legend_.size(); ++i) {
      out += LegendItem(legend_[i], x0 + 14, y0 + 12 + 18.0 * i);
    }
  }
  return out + "</svg>";
}

}  // namespace demo_report_internal
}  // namespace persephonee
