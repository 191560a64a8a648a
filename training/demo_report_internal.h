// Pieces the three renderings of the demo report share: number formats, the list of summary
// figures, the runs of one label fraction, and text sanitising.
#ifndef PERSEPHONEE_TRAINING_DEMO_REPORT_INTERNAL_H_
#define PERSEPHONEE_TRAINING_DEMO_REPORT_INTERNAL_H_

#include <string>
#include <utility>
#include <vector>

#include "training/demo.h"

namespace persephonee {
namespace demo_report_internal {

/// snprintf into a std::string.
std::string Printf(const char* format, ...) __attribute__((format(printf, 1, 2)));

/// `value` with `format` (one double conversion), or "n/a" for NaN, "inf" / "-inf".
std::string Num(const char* format, double value);

/// How a summary figure is shown.
enum class Unit {
  kPercent,  ///< Accuracy already in percent: "87.3%".
  kPoints,   ///< Accuracy difference in points: "+2.1".
  kRatio,    ///< A ratio: "2.31x".
};

/// "87.3%", "+2.1" or "2.31x".
std::string FormatValue(double value, Unit unit);
/// The spread's standard deviation in the unit's precision, without sign or suffix.
std::string FormatStddev(double stddev, Unit unit);

/// One figure of DemoSummary and how to show it.
struct SummaryRow {
  const char* label;       ///< For the terminal table (ASCII).
  const char* html_label;  ///< For the HTML table (UTF-8).
  const char* json_key;    ///< The field's name, as in DemoSummary.
  Spread DemoSummary::*field;
  Unit unit;
};
/// Every figure of DemoSummary, in the order the reports show them.
const std::vector<SummaryRow>& SummaryRows();

/// "0%", "10%", "100%": as training/demo.cc names label fractions.
std::string FractionName(double fraction);

/// The label fractions of the report: the summaries' in order, then any other fraction of a run
/// in order of first appearance.
std::vector<double> Fractions(const DemoResults& r);

/// The runs at label fraction `fraction`, in their order in `r.runs`.
std::vector<const DemoRun*> RunsAt(const DemoResults& r, double fraction);

/// The summary at `fraction`, or null.
const DemoSummary* SummaryAt(const DemoResults& r, double fraction);

/// "1.23 G", "4.56 M", "7.89 k" or "12" (MACs, FLOPs, bytes).
std::string Engineering(double value);

/// The run's facts as (name, value) lines: backbone, exits, users, images, training, time.
std::vector<std::pair<std::string, std::string>> Facts(const DemoResults& r);

/// "N of M" images labelled at a label fraction (or "about N" when the users differ).
std::string LabelledText(const DemoResults& r, const std::vector<const DemoRun*>& runs);

/// `text` with every invalid UTF-8 sequence replaced by U+FFFD.
std::string ValidUtf8(const std::string& text);

/// `text` as printable ASCII: common symbols transliterated (U+2265 ">=", U+00B1 "+-",
/// U+00D7 "x", dashes "-", quotes), other non-ASCII characters and control characters '?'.
std::string Ascii(const std::string& text);

}  // namespace demo_report_internal
}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_DEMO_REPORT_INTERNAL_H_
