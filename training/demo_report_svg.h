// A small SVG chart for the demo's HTML report: a frame with a linear y axis and either a linear
// or a categorical x axis, ticks at 1-2-5 steps with labels and light grid lines, axis labels, a
// title, and inside it lines, markers and bars, each with an optional tooltip (an SVG <title>).
// The ranges come from what is drawn (non-finite values are left out), padded a little and
// widened to whole ticks. The output is inline SVG for HTML5 (no namespace URL, no script).
#ifndef PERSEPHONEE_TRAINING_DEMO_REPORT_SVG_H_
#define PERSEPHONEE_TRAINING_DEMO_REPORT_SVG_H_

#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace persephonee {
namespace demo_report_internal {

/// `text` escaped for HTML text and attribute values (& < > " '), invalid UTF-8 replaced.
std::string HtmlEscape(const std::string& text);

enum class Marker { kNone, kDot, kCircle, kSquare, kDiamond, kTriangle, kCross };

/// One entry of a legend: a line (when `line`), a marker, or both.
struct LegendEntry {
  std::string label;
  std::string color;
  Marker marker = Marker::kNone;
  bool line = false;
};

/// A legend on its own, one row of entries (for a grid of charts that share it).
std::string SvgLegend(const std::vector<LegendEntry>& entries, int width);

class SvgChart {
 public:
  using Points = std::vector<std::pair<double, double>>;

  SvgChart(int width, int height) : width_(width), height_(height) {}

  void SetTitle(const std::string& title) { title_ = title; }
  void SetXLabel(const std::string& label) { x_label_ = label; }
  void SetYLabel(const std::string& label) { y_label_ = label; }
  /// Ticks the x axis at whole numbers only (epochs).
  void SetXIntegers() { x_integers_ = true; }
  /// Makes the x axis categorical: one slot per name, for Bar().
  void SetCategories(std::vector<std::string> names) { categories_ = std::move(names); }
  /// Ends the y axis at `y_max` at most (100 for percentages) when nothing drawn lies above it.
  void SetYMax(double y_max) { y_max_ = y_max; }
  /// Keeps `y` within the y range (e.g. 0 under bars).
  void IncludeY(double y) { extra_y_.push_back(y); }
  /// A legend inside the frame, at its top right.
  void AddLegend(const LegendEntry& entry) { legend_.push_back(entry); }

  /// A polyline through `points` (in order; non-finite points are skipped), with `marker` at
  /// each point and `tooltips[i]` on point i where given.
  void Line(const Points& points, const std::string& color, Marker marker = Marker::kNone,
            const std::vector<std::string>& tooltips = {});
  /// A single marker.
  void Point(double x, double y, Marker marker, const std::string& color,
             const std::string& tooltip = "");
  /// A bar of height `value` in category slot `category`.
  void Bar(size_t category, double value, const std::string& color,
           const std::string& tooltip = "");

  /// The <svg> element; `css_class` is set as its class when not empty.
  std::string Render(const std::string& css_class = "") const;

 private:
  struct LineItem {
    Points points;
    std::string color;
    Marker marker;
    std::vector<std::string> tooltips;
  };
  struct PointItem {
    double x, y;
    Marker marker;
    std::string color, tooltip;
  };
  struct BarItem {
    size_t category;
    double value;
    std::string color, tooltip;
  };

  int width_, height_;
  std::string title_, x_label_, y_label_;
  bool x_integers_ = false;
  double y_max_ = std::numeric_limits<double>::infinity();
  std::vector<std::string> categories_;
  std::vector<double> extra_y_;
  std::vector<LegendEntry> legend_;
  std::vector<LineItem> lines_;
  std::vector<PointItem> points_;
  std::vector<BarItem> bars_;
};

}  // namespace demo_report_internal
}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_DEMO_REPORT_SVG_H_
