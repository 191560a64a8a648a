// The terminal table of the demo, and writing the report files. The JSON is in
// demo_report_json.cc, the HTML in demo_report_html.cc.
//
// The text tables are laid out by one small routine: every column starts at its natural width
// (its longest cell); while the table is wider than 100 columns, the column with the largest
// width per weight gives up one character (the claim text has twice the weight of the figures,
// so it keeps about twice their width); cells then wrap at spaces within their column, words
// longer than the column being cut.
#include "training/demo_report.h"

#include <errno.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <vector>

#include "base/file_io.h"
#include "training/demo_report_internal.h"

namespace persephonee {
namespace {

using demo_report_internal::Ascii;
using demo_report_internal::FormatStddev;
using demo_report_internal::FormatValue;
using demo_report_internal::FractionName;
using demo_report_internal::Unit;

constexpr size_t kWidth = 100;
constexpr size_t kIndent = 2;
constexpr size_t kGap = 2;  // Between columns.
constexpr size_t kMinColumn = 6;

struct Column {
  std::string header;
  size_t weight = 1;
  bool right = false;  // Right-aligned.
  size_t min_width = kMinColumn;
};

// `text` in lines of at most `width` characters, broken at spaces; longer words are cut.
std::vector<std::string> Wrap(const std::string& text, size_t width) {
  std::vector<std::string> lines;
  std::string line;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    size_t end = text.find(' ', i);
    if (end == std::string::npos) end = text.size();
    std::string word = text.substr(i, end - i);
    i = end;
    while (!word.empty()) {
      const size_t need = line.empty() ? word.size() : line.size() + 1 + word.size();
      if (need <= width) {
        line += (line.empty() ? "" : " ") + word;
        word.clear();
      } else if (!line.empty()) {
        lines.push_back(line);
        line.clear();
      } else {
        lines.push_back(word.substr(0, width));
        word.erase(0, width);
      }
    }
  }
  if (!line.empty() || lines.empty()) lines.push_back(line);
  return lines;
}

// Renders `rows` under `columns` (no header when every header is empty), indented by kIndent,
// no line wider than kWidth. Cells are ASCII.
std::string RenderTable(const std::vector<Column>& columns,
                        const std::vector<std::vector<std::string>>& rows) {
  const size_t n = columns.size();
  bool header = false;
  std::vector<size_t> width(n, 1);
  for (size_t c = 0; c < n; ++c) {
    header = header || !columns[c].header.empty();
    width[c] = std::max(width[c], columns[c].header.size());
    for (const auto& row : rows) {
      if (c < row.size()) width[c] = std::max(width[c], row[c].size());
    }
  }
  const auto total = [&] {
    size_t sum = kIndent + (n ? (n - 1) * kGap : 0);
    for (size_t w : width) sum += w;
    return sum;
  };
  while (total() > kWidth) {
    size_t widest = n;
    for (size_t c = 0; c < n; ++c) {
      if (width[c] <= columns[c].min_width) continue;
      if (widest == n || width[c] * columns[widest].weight > width[widest] * columns[c].weight) {
        widest = c;
      }
    }
    if (widest == n) break;
    --width[widest];
  }

  std::string out;
  const auto emit = [&](const std::vector<std::string>& cells) {
    std::vector<std::vector<std::string>> wrapped(n);
    size_t lines = 1;
    for (size_t c = 0; c < n; ++c) {
      wrapped[c] = Wrap(c < cells.size() ? cells[c] : "", width[c]);
      lines = std::max(lines, wrapped[c].size());
    }
    for (size_t l = 0; l < lines; ++l) {
      std::string line(kIndent, ' ');
      for (size_t c = 0; c < n; ++c) {
        const std::string& part = l < wrapped[c].size() ? wrapped[c][l] : std::string();
        const std::string pad(width[c] - part.size(), ' ');
        if (c) line += std::string(kGap, ' ');
        line += columns[c].right ? pad + part : part + pad;
      }
      line.erase(line.find_last_not_of(' ') + 1);
      out += line + "\n";
    }
  };
  if (header) {
    std::vector<std::string> headers, rules;
    for (size_t c = 0; c < n; ++c) {
      headers.push_back(columns[c].header);
      rules.push_back(std::string(width[c], '-'));
    }
    emit(headers);
    emit(rules);
  }
  for (const auto& row : rows) emit(row);
  return out;
}

std::string MeanStd(const Spread& s, Unit unit) {
  if (s.n == 0) return "n/a";
  return FormatValue(s.mean, unit) + " +- " + FormatStddev(s.stddev, unit);
}

std::string MinMax(const Spread& s, Unit unit) {
  if (s.n == 0) return "";
  return FormatValue(s.min, unit) + ".." + FormatValue(s.max, unit);
}

Status MakeDirectory(const std::string& dir) {
  if (mkdir(dir.c_str(), 0777) == 0) return Status::Ok();
  const int error = errno;
  struct stat st;
  if (error == EEXIST) {
    ENSURE(stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode), "WriteDemoReport: '", dir,
           "' exists and is not a directory");
    return Status::Ok();
  }
  return Error(error == ENOENT || error == ENOTDIR ? StatusCode::kNotFound : StatusCode::kInternal,
               "WriteDemoReport: cannot create directory '", dir, "'",
               error == ENOENT || error == ENOTDIR ? " (its parent does not exist)" : "", ": ",
               ErrnoText(error));
}

}  // namespace

std::string DemoTable(const DemoResults& r) {
  std::string out =
      "persephonee demo: early exits personalised for simulated Fashion-MNIST users\n";
  std::vector<std::vector<std::string>> facts;
  for (const auto& fact : demo_report_internal::Facts(r)) {
    facts.push_back({Ascii(fact.first), Ascii(fact.second)});
  }
  out += RenderTable({{"", 1, false}, {"", 4, false}}, facts);

  for (double fraction : demo_report_internal::Fractions(r)) {
    const std::vector<const DemoRun*> runs = demo_report_internal::RunsAt(r, fraction);
    out += "\nLabel fraction " + FractionName(fraction) + ": " + std::to_string(runs.size()) +
           (runs.size() == 1 ? " user, " : " users, ") +
           demo_report_internal::LabelledText(r, runs) + "\n";
    const DemoSummary* summary = demo_report_internal::SummaryAt(r, fraction);
    if (summary == nullptr) {
      out += "  (no summary)\n";
      continue;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& row : demo_report_internal::SummaryRows()) {
      const Spread& s = summary->*row.field;
      rows.push_back({row.label, MeanStd(s, row.unit), MinMax(s, row.unit)});
    }
    out += RenderTable({{"over users", 1, false}, {"mean +- std", 1, true}, {"min..max", 1, true}},
                       rows);
  }

  out += "\nClaims\n";
  if (r.claims.empty()) {
    out += "  (none)\n";
    return out;
  }
  std::vector<std::vector<std::string>> rows;
  size_t met = 0;
  for (const DemoClaim& c : r.claims) {
    met += c.met;
    rows.push_back({Ascii(c.label_fraction), Ascii(c.claim), Ascii(c.paper), Ascii(c.target),
                    Ascii(c.measured), c.met ? "MET" : "NOT MET"});
  }
  out += RenderTable({{"labels", 1, false},
                      {"claim", 2, false},
                      {"paper", 1, false},
                      {"target", 1, false},
                      {"measured", 1, false},
                      {"verdict", 1, false, 7}},
                     rows);
  out += "  " + std::to_string(met) + " of " + std::to_string(r.claims.size()) + " met.\n";
  return out;
}

Status WriteDemoReport(const DemoResults& r, const std::string& dir) {
  ENSURE(!dir.empty(), "WriteDemoReport: empty directory name");
  std::string path = dir;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  RETURN_IF_ERROR(MakeDirectory(path));
  const std::string json = DemoJson(r);
  RETURN_IF_ERROR(WriteFileAtomically(path + "/results.json", json.data(), json.size()));
  const std::string html = DemoHtml(r);
  return WriteFileAtomically(path + "/index.html", html.data(), html.size());
}

}  // namespace persephonee
