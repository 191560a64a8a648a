// The demo's report: what `persephonee demo` prints and writes, a pure function of DemoResults
// (training/demo.h).
//
//   DemoTable        the terminal table: the run's facts, one block per label fraction with each
//                    summary figure as mean +- std and min..max over users, then the claims with
//                    their verdicts (read from DemoResults::claims, never recomputed). Plain ASCII,
//                    at most 100 columns; long cells wrap within their column.
//   DemoJson         every figure of DemoResults, options included, as JSON: keys in a fixed
//                    order, doubles as %.9g (more digits, up to 17, where needed to read back
//                    exactly), floats with the fewest digits that read back as the same float,
//                    +inf and -inf as the strings "inf" and "-inf", NaN as null.
//   DemoHtml         one self-contained page (inline CSS and SVG; no scripts, no external
//                    resources): the facts, the summary and claims tables, and per label fraction
//                    a plot of accuracy against latency for every user, the exit histogram at the
//                    calibrated thresholds and the mean training curves.
//   WriteDemoReport  results.json and index.html into a directory, each written atomically.
#ifndef PERSEPHONEE_TRAINING_DEMO_REPORT_H_
#define PERSEPHONEE_TRAINING_DEMO_REPORT_H_

#include <string>

#include "base/status.h"
#include "training/demo.h"

namespace persephonee {

/// The terminal table: header facts, per-label-fraction summaries, the claims table. Lines end
/// with '\n'; none is wider than 100 columns; only printable ASCII (non-ASCII text in the
/// results is transliterated: ">=" for U+2265 and the like, '?' for the rest).
std::string DemoTable(const DemoResults& r);

/// Every figure in `r` as a JSON document (UTF-8; invalid UTF-8 in strings becomes U+FFFD).
std::string DemoJson(const DemoResults& r);

/// The self-contained HTML report (see the top of this file).
std::string DemoHtml(const DemoResults& r);

/// Writes `dir`/results.json (DemoJson) and `dir`/index.html (DemoHtml), each atomically,
/// creating `dir` if it is missing. Fails with kNotFound if the parent of `dir` does not exist,
/// kInvalidArgument if `dir` is empty or names something that is not a directory.
Status WriteDemoReport(const DemoResults& r, const std::string& dir);

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_DEMO_REPORT_H_
