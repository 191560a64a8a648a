#include "tests/kernels/loss/text_fixture.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

namespace persephonee {
namespace {

constexpr size_t kMaxCount = size_t{1} << 20;

struct Token {
  std::string text;
  size_t line = 0;
};

std::vector<Token> Tokenize(const std::string& text) {
  std::vector<Token> tokens;
  size_t line = 1;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      ++i;
    } else if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
    } else {
      const size_t start = i;
      while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\r' &&
             text[i] != '\n' && text[i] != '#') {
        ++i;
      }
      tokens.push_back({text.substr(start, i - start), line});
    }
  }
  return tokens;
}

bool ParseFloat(const std::string& s, float* out) {
  errno = 0;
  char* end = nullptr;
  const float v = std::strtof(s.c_str(), &end);
  if (end != s.c_str() + s.size() || s.empty() || errno == ERANGE || !std::isfinite(v)) {
    return false;
  }
  *out = v;
  return true;
}

bool ParseInt(const std::string& s, int64_t lo, int64_t hi, int64_t* out) {
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (end != s.c_str() + s.size() || s.empty() || errno == ERANGE || v < lo || v > hi) {
    return false;
  }
  *out = v;
  return true;
}

}  // namespace

bool TextCase::Has(const std::string& array) const {
  return f32.count(array) != 0 || i32.count(array) != 0;
}

StatusOr<std::vector<float>> TextCase::Floats(const std::string& array, size_t count) const {
  const auto it = f32.find(array);
  ENSURE_CODE(it != f32.end(), kNotFound, "case ", name, ": no f32 array '", array, "'");
  ENSURE_CODE(count == 0 || it->second.size() == count, kDataLoss, "case ", name, ": array '",
              array, "' holds ", it->second.size(), " values, expected ", count);
  return it->second;
}

StatusOr<std::vector<int32_t>> TextCase::Ints(const std::string& array, size_t count) const {
  const auto it = i32.find(array);
  ENSURE_CODE(it != i32.end(), kNotFound, "case ", name, ": no i32 array '", array, "'");
  ENSURE_CODE(count == 0 || it->second.size() == count, kDataLoss, "case ", name, ": array '",
              array, "' holds ", it->second.size(), " values, expected ", count);
  return it->second;
}

StatusOr<float> TextCase::Float(const std::string& array) const {
  ASSIGN_OR_RETURN(std::vector<float> v, Floats(array, 1));
  return v[0];
}

StatusOr<int32_t> TextCase::Int(const std::string& array) const {
  ASSIGN_OR_RETURN(std::vector<int32_t> v, Ints(array, 1));
  return v[0];
}

StatusOr<std::vector<TextCase>> ParseTextFixture(const std::string& text,
                                                 const std::string& source) {
  const std::vector<Token> tokens = Tokenize(text);
  std::vector<TextCase> cases;
  std::set<std::string> case_names;
  size_t i = 0;
  auto where = [&](size_t at) {
    const size_t line =
        at < tokens.size() ? tokens[at].line : (tokens.empty() ? 1 : tokens.back().line);
    return internal::StrCat(source, ":", line);
  };
  while (i < tokens.size()) {
    ENSURE_CODE(tokens[i].text == "case", kDataLoss, where(i), ": expected 'case', found '",
                tokens[i].text, "'");
    ENSURE_CODE(i + 1 < tokens.size(), kDataLoss, where(i), ": 'case' without a name");
    TextCase c;
    c.name = tokens[i + 1].text;
    ENSURE_CODE(case_names.insert(c.name).second, kDataLoss, where(i + 1), ": case '", c.name,
                "' is repeated");
    i += 2;
    for (;;) {
      ENSURE_CODE(i < tokens.size(), kDataLoss, where(i), ": case '", c.name, "' has no 'end'");
      if (tokens[i].text == "end") {
        ++i;
        break;
      }
      ENSURE_CODE(i + 2 < tokens.size(), kDataLoss, where(i), ": case '", c.name,
                  "': truncated array header");
      const std::string& array = tokens[i].text;
      const std::string& dtype = tokens[i + 1].text;
      ENSURE_CODE(!c.Has(array), kDataLoss, where(i), ": case '", c.name, "': array '", array,
                  "' is repeated");
      ENSURE_CODE(dtype == "f32" || dtype == "i32", kDataLoss, where(i + 1), ": case '", c.name,
                  "': array '", array, "' has unknown dtype '", dtype, "'");
      int64_t count = 0;
      ENSURE_CODE(ParseInt(tokens[i + 2].text, 1, static_cast<int64_t>(kMaxCount), &count),
                  kDataLoss, where(i + 2), ": case '", c.name, "': array '", array,
                  "' has a bad count '", tokens[i + 2].text, "'");
      i += 3;
      ENSURE_CODE(i + static_cast<size_t>(count) <= tokens.size(), kDataLoss, where(i), ": case '",
                  c.name, "': array '", array, "' is truncated");
      if (dtype == "f32") {
        std::vector<float>& values = c.f32[array];
        values.resize(static_cast<size_t>(count));
        for (size_t k = 0; k < values.size(); ++k, ++i) {
          ENSURE_CODE(ParseFloat(tokens[i].text, &values[k]), kDataLoss, where(i), ": case '",
                      c.name, "': array '", array, "'[", k, "] = '", tokens[i].text,
                      "' is not a finite float");
        }
      } else {
        std::vector<int32_t>& values = c.i32[array];
        values.resize(static_cast<size_t>(count));
        for (size_t k = 0; k < values.size(); ++k, ++i) {
          int64_t v = 0;
          ENSURE_CODE(ParseInt(tokens[i].text, std::numeric_limits<int32_t>::min(),
                               std::numeric_limits<int32_t>::max(), &v),
                      kDataLoss, where(i), ": case '", c.name, "': array '", array, "'[", k,
                      "] = '", tokens[i].text, "' is not an int32");
          values[k] = static_cast<int32_t>(v);
        }
      }
    }
    cases.push_back(std::move(c));
  }
  ENSURE_CODE(!cases.empty(), kDataLoss, source, ": no cases");
  return cases;
}

StatusOr<std::vector<TextCase>> LoadTextFixture(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ENSURE_CODE(in.good(), kNotFound, "cannot open ", path);
  std::ostringstream text;
  text << in.rdbuf();
  ENSURE_CODE(!in.bad(), kDataLoss, "cannot read ", path);
  return ParseTextFixture(text.str(), path);
}

}  // namespace persephonee
