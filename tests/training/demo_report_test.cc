#include "training/demo_report.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "base/file_io.h"
#include "base/status.h"
#include "tests/training/json_reader.h"
#include "training/demo.h"

namespace persephonee {
namespace {

using testing_json::Json;
using testing_json::ReadJson;

constexpr float kInf = std::numeric_limits<float>::infinity();

Json ParseJson(const std::string& text) {
  Json value;
  std::string error;
  EXPECT_TRUE(ReadJson(text, &value, &error)) << error;
  return value;
}

TEST(JsonReaderTest, RejectsWhatIsNotJson) {
  for (const char* bad : {"", "{", "{\"a\":1,}", "[1 2]", "{\"a\":1,\"a\":2}", "01", "1.", "inf",
                          "NaN", "\"\x01\"", "\"\\x\"", "[1]x", "{a:1}", "\"\\ud800\""}) {
    Json value;
    std::string error;
    EXPECT_FALSE(ReadJson(bad, &value, &error)) << bad;
  }
  Json value;
  std::string error;
  ASSERT_TRUE(
      ReadJson(" {\"a\": [1, -2.5e-3, \"x\\u00e9\\ud83d\\ude00\", true, null]} ", &value, &error))
      << error;
  EXPECT_EQ(value["a"][1].number, -2.5e-3);
  EXPECT_EQ(value["a"][2].string, "x\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(value["a"][4].type, Json::kNull);
}

// ---------------------------------------------------------------------------------------------
// Synthetic results: 2 users x 2 label fractions, every field set.

DemoPoint Point(std::vector<float> thresholds, double accuracy, double macs, double latency_ms,
                std::vector<int64_t> counts) {
  DemoPoint p;
  p.thresholds = std::move(thresholds);
  p.accuracy = accuracy;
  p.mean_macs = macs;
  p.latency_ms = latency_ms;
  p.exit_counts = std::move(counts);
  return p;
}

Spread MakeSpread(double mean, double stddev, double min, double max) {
  Spread s;
  s.mean = mean, s.stddev = stddev, s.min = min, s.max = max, s.n = 2;
  return s;
}

DemoResults Synthetic() {
  DemoResults r;
  r.backbone = "models/fmnist \"v2\" <b>&</b>";
  r.backbone_accuracy = 0.8781;
  r.backbone_macs = 2345678;
  r.exit_names = {"block1", "block2", "final"};
  r.exit_fractions = {0.25, 0.5};
  r.options.users = 2;
  r.options.first_seed = 7;
  r.options.label_fractions = {0.1, 1.0};
  r.options.train_images = 100;
  r.options.test_images = 80;
  r.options.exits = 2;
  r.options.personalise.epochs = 3;
  r.seconds = 12.5;
  for (double fraction : {0.1, 1.0}) {
    for (uint64_t user : {7, 8}) {
      const double u = static_cast<double>(user - 7);
      DemoRun run;
      run.user = user;
      run.classes = {1, 8};
      run.proportions = {0.6, 0.4};
      run.label_fraction = fraction;
      run.labelled = static_cast<size_t>(std::lround(100 * fraction));
      run.cache = "memory";
      run.original.accuracy = 0.70 + 0.01 * u;
      run.original.mean_macs = 1e6;
      run.original.latency_ms = 2.0;
      run.exits.accuracy = 0.75;
      run.exits.mean_macs = 6e5;
      run.exits.latency_ms = 1.3;
      run.exits.train_seconds = 1.5;
      run.exits.peak_memory_bytes = 1e6;
      run.exits.epoch_loss = {1.0, 0.6, 0.4 + 0.1 * u};
      run.exit_accuracy = {0.6, 0.7, 0.72};
      run.exit_macs = {2.5e5, 5e5, 1e6};
      run.calibrated =
          Point({0.9f, kInf}, 0.75, 6e5, 1.3,
                user == 7 ? std::vector<int64_t>{30, 20, 30} : std::vector<int64_t>{33, 20, 27});
      run.curve = {Point({0.5f, 0.5f}, 0.6, 2.5e5, 0, {80, 0, 0}),
                   Point({0.8f, 0.5f}, 0.74, 5e5, 0, {40, 40, 0}),
                   Point({0.9f, 0.95f}, 0.78, 8e5, 0, {20, 20, 40})};
      run.equal_accuracy = run.curve[1];
      run.equal_accuracy.latency_ms = 1.1;
      run.best = run.curve[2];
      run.best.latency_ms = 1.7;
      run.best_within_original_cost = run.best;
      run.whole.accuracy = 0.8;
      run.whole.train_seconds = 4.0;
      run.whole.peak_memory_bytes = 3e6;
      run.whole.epoch_loss = {1.2, 0.7, 0.5};
      run.classifier.accuracy = 0.72;
      run.classifier.train_seconds = 0.5;
      run.classifier.epoch_loss = {1.1, 0.9, 0.85};
      r.runs.push_back(run);
    }
    DemoSummary s;
    s.label_fraction = fraction;
    s.original_accuracy = MakeSpread(70.54, 0.71, 70.0, 71.0);
    s.calibrated_accuracy = MakeSpread(75, 0, 75, 75);
    s.calibrated_gain = MakeSpread(3.04, 0.7, 4.0, 5.0);
    s.calibrated_speedup = MakeSpread(2.314, 0.12, 1.5384, 1.5384);
    s.equal_accuracy_speedup = MakeSpread(1.818, 0, 1.818, 1.818);
    s.equal_accuracy_mac_ratio = MakeSpread(2, 0, 2, 2);
    s.best_gain = MakeSpread(7.5, 0.7, 7, 8);
    s.gain_within_original_cost = MakeSpread(-1.24, 0.7, -2, -0.5);
    s.whole_accuracy = MakeSpread(80, 0, 80, 80);
    s.classifier_accuracy = MakeSpread(72, 0, 72, 72);
    s.cost_ratio_whole = MakeSpread(2.667, 0, 2.667, 2.667);
    s.memory_ratio_whole = MakeSpread(NAN, NAN, NAN, NAN);
    r.summaries.push_back(s);
  }
  r.runs[0].whole.peak_memory_bytes = NAN;
  r.claims.push_back(
      {"10%", "lower latency at equal accuracy", "2.2-3.2x", ">= 3.2x", "1.82x", false});
  r.claims.push_back({"100%", "accuracy gain at calibrated thresholds", "up to +15.9 points",
                      "> 0 points", "+5.00 points", true});
  return r;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The one line of `text` that contains `part` (a failure if none or several do).
std::string LineWith(const std::string& text, const std::string& part) {
  std::string found;
  int count = 0;
  for (const std::string& line : Lines(text)) {
    if (line.find(part) != std::string::npos) found = line, ++count;
  }
  EXPECT_EQ(count, 1) << "lines with '" << part << "' in:\n" << text;
  return found;
}

size_t Count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---------------------------------------------------------------------------------------------

TEST(DemoTableTest, ShowsFactsSummariesAndVerdicts) {
  const DemoResults r = Synthetic();
  const std::string table = DemoTable(r);
  for (const std::string& line : Lines(table)) {
    EXPECT_LE(line.size(), 100u) << line;
    for (char c : line) EXPECT_TRUE(c >= 0x20 && c < 0x7F) << line;
  }
  EXPECT_TRUE(Has(table, "models/fmnist \"v2\" <b>&</b>")) << table;
  EXPECT_TRUE(Has(table, "87.81% on the 10k test split")) << table;
  EXPECT_TRUE(Has(table, "2.35 M per image")) << table;
  EXPECT_TRUE(Has(table, "2 (seeds 7..8), family 1 (the users the method was tuned on)")) << table;
  DemoResults held_out = r;
  held_out.options.family = 2;
  EXPECT_TRUE(Has(DemoTable(held_out), "2 (seeds 7..8), family 2 (held out: nothing was tuned"))
      << DemoTable(held_out);
  EXPECT_EQ(ParseJson(DemoJson(held_out))["options"]["user_family"].number, 2);
  EXPECT_TRUE(Has(table, "100 on-device, 80 test")) << table;
  EXPECT_TRUE(Has(table, "3 epochs")) << table;
  EXPECT_TRUE(Has(table, "12.5 s")) << table;

  EXPECT_TRUE(Has(table, "Label fraction 10%: 2 users, 10 of 100 on-device images labelled"))
      << table;
  EXPECT_TRUE(Has(table, "Label fraction 100%: 2 users, 100 of 100")) << table;
  EXPECT_EQ(Count(table, "original accuracy"), 2u);
}

TEST(DemoTableTest, FormatsEachKindOfFigure) {
  DemoResults r = Synthetic();
  r.summaries.resize(1);
  r.runs.resize(2);
  const std::string table = DemoTable(r);
  // The row of `label` shows `mean_std`, then (right-aligned, last) `range`.
  const auto row = [&](const std::string& label, const std::string& mean_std,
                       const std::string& range) {
    const std::string line = LineWith(table, label);
    EXPECT_TRUE(Has(line, mean_std + "  ")) << line;
    EXPECT_TRUE(line.size() >= range.size() &&
                line.compare(line.size() - range.size(), range.size(), range) == 0)
        << line;
  };
  row("original accuracy", "70.5% +- 0.7", "70.0%..71.0%");
  row("exits, calibrated: gain", "+3.0 +- 0.7", "+4.0..+5.0");
  row("exits, calibrated: latency", "2.31x +- 0.12", "1.54x..1.54x");
  row("gain at <= original", "-1.2 +- 0.7", "-2.0..-0.5");
  row("whole-network: wall time", "2.67x +- 0.00", "2.67x..2.67x");
  row("peak memory", "n/a +- n/a", "n/a..n/a");
  row("classifier fine-tuning", "72.0% +- 0.0", "72.0%..72.0%");
}

// Reads the claims table of DemoTable back: the columns from the rule under the header, a new
// row wherever the first column is not empty, wrapped pieces joined by a space.
std::vector<std::vector<std::string>> ReadClaims(const std::string& table) {
  const std::vector<std::string> lines = Lines(table);
  size_t i = 0;
  while (i < lines.size() && lines[i] != "Claims") ++i;
  EXPECT_LT(i + 2, lines.size()) << table;
  if (i + 2 >= lines.size()) return {};
  const std::string& rule = lines[i + 2];
  std::vector<std::pair<size_t, size_t>> columns;  // [begin, end)
  for (size_t c = 0; c < rule.size();) {
    if (rule[c] != '-') {
      ++c;
      continue;
    }
    const size_t begin = c;
    while (c < rule.size() && rule[c] == '-') ++c;
    columns.emplace_back(begin, c);
  }
  std::vector<std::vector<std::string>> rows;
  for (i += 3; i < lines.size() && lines[i].find(" met.") == std::string::npos; ++i) {
    std::vector<std::string> cells;
    for (const auto& col : columns) {
      std::string cell =
          col.first < lines[i].size() ? lines[i].substr(col.first, col.second - col.first) : "";
      cell.erase(0, std::min(cell.size(), cell.find_first_not_of(' ')));
      cell.erase(cell.find_last_not_of(' ') + 1);
      cells.push_back(cell);
    }
    if (!cells[0].empty() || rows.empty()) {
      rows.push_back(cells);
      continue;
    }
    for (size_t c = 0; c < cells.size(); ++c) {
      if (!cells[c].empty()) rows.back()[c] += (rows.back()[c].empty() ? "" : " ") + cells[c];
    }
  }
  return rows;
}

TEST(DemoTableTest, ClaimsCarryTheirVerdicts) {
  const DemoResults r = Synthetic();
  const std::string table = DemoTable(r);
  const std::vector<std::vector<std::string>> rows = ReadClaims(table);
  ASSERT_EQ(rows.size(), 2u) << table;
  EXPECT_EQ(rows[0], (std::vector<std::string>{"10%", "lower latency at equal accuracy", "2.2-3.2x",
                                               ">= 3.2x", "1.82x", "NOT MET"}))
      << table;
  EXPECT_EQ(rows[1],
            (std::vector<std::string>{"100%", "accuracy gain at calibrated thresholds",
                                      "up to +15.9 points", "> 0 points", "+5.00 points", "MET"}))
      << table;
  EXPECT_EQ(Count(table, "NOT MET"), 1u);
  EXPECT_TRUE(Has(table, "1 of 2 met.")) << table;

  // The verdict is read, never recomputed: flipping it flips the table.
  DemoResults flipped = r;
  flipped.claims[0].met = true;
  flipped.claims[1].met = false;
  const std::vector<std::vector<std::string>> flipped_rows = ReadClaims(DemoTable(flipped));
  ASSERT_EQ(flipped_rows.size(), 2u);
  EXPECT_EQ(flipped_rows[0][5], "MET");
  EXPECT_EQ(flipped_rows[1][5], "NOT MET");
}

TEST(DemoTableTest, LongAndNonAsciiClaimsWrapWithin100Columns) {
  DemoResults r = Synthetic();
  const std::string words =
      "cheaper to personalise than whole-network fine-tuning measured as wall time over every "
      "simulated user and every seed of the run, with a very-long-unbreakable-token-that-goes-"
      "on-and-on-beyond-any-column";
  r.claims.push_back({"all", words, "\xE2\x89\xA5 2.2\xC3\x97 (Table 3)",
                      "\xE2\x89\xA4 1.0 \xCE\xBB \xFF", "2.31x \xC2\xB1 0.1", false});
  const std::string table = DemoTable(r);
  for (const std::string& line : Lines(table)) {
    EXPECT_LE(line.size(), 100u) << line;
    for (char c : line) EXPECT_TRUE(c >= 0x20 && c < 0x7F) << line;
  }
  const std::vector<std::vector<std::string>> rows = ReadClaims(table);
  ASSERT_EQ(rows.size(), 3u) << table;
  const auto squeeze = [](std::string s) {
    s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
    return s;
  };
  EXPECT_EQ(squeeze(rows[2][1]), squeeze(words)) << table;
  EXPECT_EQ(rows[2][2], ">= 2.2x (Table 3)") << table;
  EXPECT_EQ(rows[2][3], "<= 1.0 ? ?") << table;
  EXPECT_EQ(rows[2][4], "2.31x +- 0.1") << table;
  EXPECT_EQ(rows[2][5], "NOT MET") << table;
  // The short rows are unchanged by the long one.
  EXPECT_EQ(rows[1][1], "accuracy gain at calibrated thresholds") << table;
}

TEST(DemoJsonTest, IsValidAndHoldsEveryFigure) {
  DemoResults r = Synthetic();
  r.backbone += "\n\t\x01\\ caf\xC3\xA9 \xFF";
  const Json j = ParseJson(DemoJson(r));
  ASSERT_EQ(j.type, Json::kObject);
  EXPECT_EQ(j["backbone"].string,
            "models/fmnist \"v2\" <b>&</b>\n\t\x01\\ caf\xC3\xA9 \xEF\xBF\xBD");
  EXPECT_EQ(j["backbone_accuracy"].number, 0.8781);
  EXPECT_EQ(j["backbone_macs"].number, 2345678);
  EXPECT_EQ(j["exit_names"][2].string, "final");
  EXPECT_EQ(j["exit_fractions"][1].number, 0.5);
  EXPECT_EQ(j["seconds"].number, 12.5);

  const Json& o = j["options"];
  EXPECT_EQ(o["users"].number, 2);
  EXPECT_EQ(o["first_seed"].number, 7);
  EXPECT_EQ(o["user_family"].number, 1);
  EXPECT_EQ(o["label_fractions"][0].number, 0.1);
  EXPECT_EQ(o["train_images"].number, 100);
  EXPECT_EQ(o["test_images"].number, 80);
  EXPECT_EQ(o["threads"].number, r.options.threads);
  EXPECT_EQ(static_cast<float>(o["whole_learning_rate"].number), r.options.whole_learning_rate);
  EXPECT_EQ(o["personalise"]["epochs"].number, 3);
  EXPECT_EQ(static_cast<float>(o["personalise"]["learning_rate"].number),
            r.options.personalise.learning_rate);
  EXPECT_EQ(o["personalise"]["optimizer"].string, "adam");
  EXPECT_EQ(static_cast<float>(o["personalise"]["loss"]["temperature"].number),
            r.options.personalise.loss.temperature);

  ASSERT_EQ(j["runs"].array.size(), 4u);
  const Json& run = j["runs"][1];
  EXPECT_EQ(run["user"].number, 8);
  EXPECT_EQ(run["label_fraction"].number, 0.1);
  EXPECT_EQ(run["classes"][1].number, 8);
  EXPECT_EQ(run["original"]["accuracy"].number, r.runs[1].original.accuracy);
  EXPECT_EQ(run["exits"]["epoch_loss"][2].number, r.runs[1].exits.epoch_loss[2]);
  const Json& calibrated = run["calibrated"];
  EXPECT_EQ(static_cast<float>(calibrated["thresholds"][0].number), 0.9f);
  EXPECT_EQ(calibrated["thresholds"][1].type, Json::kString);
  EXPECT_EQ(calibrated["thresholds"][1].string, "inf");
  EXPECT_EQ(calibrated["exit_counts"][2].number, 27);
  ASSERT_EQ(run["curve"].array.size(), 3u);
  EXPECT_EQ(run["curve"][1]["mean_macs"].number, 5e5);
  EXPECT_EQ(run["equal_accuracy"]["latency_ms"].number, 1.1);
  EXPECT_EQ(run["best_within_original_cost"]["accuracy"].number, 0.78);
  EXPECT_EQ(run["whole"]["peak_memory_bytes"].number, 3e6);
  EXPECT_EQ(j["runs"][0]["whole"]["peak_memory_bytes"].type, Json::kNull);

  ASSERT_EQ(j["summaries"].array.size(), 2u);
  EXPECT_EQ(j["summaries"][1]["label_fraction"].number, 1.0);
  EXPECT_EQ(j["summaries"][0]["calibrated_speedup"]["mean"].number, 2.314);
  EXPECT_EQ(j["summaries"][0]["calibrated_speedup"]["n"].number, 2);
  EXPECT_EQ(j["summaries"][0]["memory_ratio_whole"]["mean"].type, Json::kNull);

  ASSERT_EQ(j["claims"].array.size(), 2u);
  EXPECT_EQ(j["claims"][0]["claim"].string, "lower latency at equal accuracy");
  EXPECT_EQ(j["claims"][0]["met"].type, Json::kBool);
  EXPECT_FALSE(j["claims"][0]["met"].boolean);
  EXPECT_TRUE(j["claims"][1]["met"].boolean);
}

TEST(DemoJsonTest, NumbersReadBackExactly) {
  DemoResults r = Synthetic();
  r.seconds = 1.0 / 3.0;
  r.backbone_accuracy = 0.1 + 0.2;
  r.runs[0].original.latency_ms = -kInf;
  r.runs[0].calibrated.thresholds = {1.0f / 3.0f, 0.7f, -kInf};
  const Json j = ParseJson(DemoJson(r));
  EXPECT_EQ(j["seconds"].number, 1.0 / 3.0);
  EXPECT_EQ(j["backbone_accuracy"].number, 0.1 + 0.2);
  EXPECT_EQ(j["runs"][0]["original"]["latency_ms"].string, "-inf");
  const Json& t = j["runs"][0]["calibrated"]["thresholds"];
  EXPECT_EQ(static_cast<float>(t[0].number), 1.0f / 3.0f);
  EXPECT_EQ(static_cast<float>(t[1].number), 0.7f);
  EXPECT_EQ(t[2].string, "-inf");
  // An empty result is valid JSON too.
  const Json empty = ParseJson(DemoJson(DemoResults()));
  EXPECT_EQ(empty["runs"].type, Json::kArray);
  EXPECT_TRUE(empty["runs"].array.empty());
}

// ---------------------------------------------------------------------------------------------

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

void RemoveTree(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    for (const std::string& name : Entries(path)) RemoveTree(path + "/" + name);
    rmdir(path.c_str());
  } else {
    unlink(path.c_str());
  }
}

class TempDir {
 public:
  TempDir() {
    const char* root = getenv("TEST_TMPDIR");
    std::string pattern = std::string(root && *root ? root : "/tmp") + "/demo_report.XXXXXX";
    if (mkdtemp(&pattern[0]) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    if (!path_.empty()) RemoveTree(path_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(DemoHtmlTest, IsSelfContainedAndDrawsEveryUser) {
  const DemoResults r = Synthetic();
  const std::string html = DemoHtml(r);
  EXPECT_FALSE(Has(html, "http://"));
  EXPECT_FALSE(Has(html, "https://"));
  EXPECT_FALSE(Has(html, "<script"));
  EXPECT_FALSE(Has(html, "<link"));
  EXPECT_TRUE(Has(html, "models/fmnist &quot;v2&quot; &lt;b&gt;&amp;&lt;/b&gt;"));
  EXPECT_FALSE(Has(html, "<b>&</b>"));
  EXPECT_EQ(Count(html, "<svg"), Count(html, "</svg>"));
  EXPECT_EQ(Count(html, "class=\"user-plot\""), 4u);
  EXPECT_EQ(Count(html, "class=\"histogram\""), 2u);
  EXPECT_EQ(Count(html, "class=\"loss\""), 2u);
  EXPECT_EQ(Count(html, "<td class=\"notmet\">NOT MET</td>"), 1u);
  EXPECT_EQ(Count(html, "<td class=\"met\">MET</td>"), 1u);
  // The front's latency comes from MACs: 5e5 MACs at 2 ms per 1e6 MACs.
  EXPECT_TRUE(Has(html, "<title>front: 1.000 ms (from MACs), 74.0%</title>"));
  // Measured points keep their latency; the fine-tuned models sit at the original's.
  EXPECT_TRUE(Has(html, "<title>calibrated: 1.300 ms, 75.0%</title>"));
  EXPECT_TRUE(Has(html, "<title>whole network fine-tuned: 2.000 ms, 80.0%</title>"));
  // The histogram sums the users' calibrated exit counts: final 30 + 27.
  EXPECT_EQ(Count(html, "<title>final: 57 images ("), 2u);
  EXPECT_EQ(Count(html, "<title>block2: 40 images ("), 2u);
  // Training curves average the users: epoch 3 of the heads is (0.4 + 0.5) / 2.
  EXPECT_EQ(Count(html, "<title>exit heads, epoch 3: 0.4500</title>"), 2u);
}

TEST(WriteDemoReportTest, WritesBothFilesAndRewrites) {
  const DemoResults r = Synthetic();
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  const std::string dir = tmp.path() + "/report";
  for (int round = 0; round < 2; ++round) {
    const Status status = WriteDemoReport(r, round == 0 ? dir : dir + "/");
    ASSERT_TRUE(status.ok()) << status.ToString();
    EXPECT_EQ(Entries(dir), (std::vector<std::string>{"index.html", "results.json"}));
    const StatusOr<std::string> json = ReadFile(dir + "/results.json");
    ASSERT_TRUE(json.ok()) << json.status().ToString();
    EXPECT_EQ(*json, DemoJson(r));
    const StatusOr<std::string> html = ReadFile(dir + "/index.html");
    ASSERT_TRUE(html.ok()) << html.status().ToString();
    EXPECT_EQ(*html, DemoHtml(r));
    EXPECT_TRUE(Has(*html, "<svg"));
    EXPECT_FALSE(Has(*html, "http://") || Has(*html, "https://"));
  }
}

// With the claims and summaries training/demo.cc makes (long claim texts), the table still fits
// and every claim reads back whole with its own verdict. DEMO_REPORT_SAMPLE_DIR=<dir> also
// writes this report and its table there, to look at.
TEST(DemoReportTest, RendersSummarisedResults) {
  DemoResults r = Synthetic();
  Summarise(&r);
  ASSERT_GE(r.claims.size(), 3u);
  const std::string table = DemoTable(r);
  for (const std::string& line : Lines(table)) EXPECT_LE(line.size(), 100u) << line;
  const std::vector<std::vector<std::string>> rows = ReadClaims(table);
  ASSERT_EQ(rows.size(), r.claims.size()) << table;
  const auto squeeze = [](std::string s) {
    s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
    return s;
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    const DemoClaim& c = r.claims[i];
    EXPECT_EQ(rows[i][0], c.label_fraction) << table;
    EXPECT_EQ(squeeze(rows[i][1]), squeeze(c.claim)) << table;
    EXPECT_EQ(squeeze(rows[i][4]), squeeze(c.measured)) << table;
    EXPECT_EQ(rows[i][5], c.met ? "MET" : "NOT MET") << table;
  }
  const Json j = ParseJson(DemoJson(r));
  ASSERT_EQ(j["claims"].array.size(), r.claims.size());
  if (const char* sample = getenv("DEMO_REPORT_SAMPLE_DIR")) {
    const Status status = WriteDemoReport(r, sample);
    EXPECT_TRUE(status.ok()) << status.ToString();
    EXPECT_TRUE(
        WriteFileAtomically(std::string(sample) + "/table.txt", table.data(), table.size()).ok());
  }
}

TEST(WriteDemoReportTest, RefusesMissingParentsAndFiles) {
  const DemoResults r = Synthetic();
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  const Status missing = WriteDemoReport(r, tmp.path() + "/no/report");
  EXPECT_EQ(missing.code(), StatusCode::kNotFound) << missing.ToString();
  EXPECT_TRUE(Entries(tmp.path()).empty());

  const std::string file = tmp.path() + "/file";
  ASSERT_TRUE(WriteFileAtomically(file, "x", 1).ok());
  EXPECT_EQ(WriteDemoReport(r, file).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteDemoReport(r, file + "/report").code(), StatusCode::kNotFound);
  EXPECT_EQ(WriteDemoReport(r, "").code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace persephonee
