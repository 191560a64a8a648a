#include "tests/training/json_reader.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>

namespace persephonee {
namespace testing_json {
namespace {

class JsonReader {
 public:
  explicit JsonReader(const std::string& text) : s_(text) {}

  // Parses the whole text as one value; on failure says where.
  bool Read(Json* out, std::string* error) {
    Space();
    if (!Value(out, 0)) {
      *error = "at byte " + std::to_string(i_) + ": " + error_;
      return false;
    }
    Space();
    if (i_ != s_.size()) {
      *error = "trailing text at byte " + std::to_string(i_);
      return false;
    }
    return true;
  }

 private:
  bool Fail(const std::string& why) {
    error_ = why;
    return false;
  }
  void Space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool Eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool Literal(const char* word) {
    const std::string w = word;
    if (s_.compare(i_, w.size(), w) != 0) return Fail("bad literal");
    i_ += w.size();
    return true;
  }
  bool Value(Json* v, int depth) {
    if (depth > 64) return Fail("too deep");
    if (i_ >= s_.size()) return Fail("unexpected end");
    switch (s_[i_]) {
      case '{':
        return Object(v, depth);
      case '[':
        return Array(v, depth);
      case '"':
        v->type = Json::kString;
        return String(&v->string);
      case 't':
        v->type = Json::kBool, v->boolean = true;
        return Literal("true");
      case 'f':
        v->type = Json::kBool, v->boolean = false;
        return Literal("false");
      case 'n':
        v->type = Json::kNull;
        return Literal("null");
      default:
        v->type = Json::kNumber;
        return Number(&v->number);
    }
  }
  bool Object(Json* v, int depth) {
    v->type = Json::kObject;
    ++i_;
    Space();
    if (Eat('}')) return true;
    while (true) {
      Space();
      std::string key;
      if (i_ >= s_.size() || s_[i_] != '"') return Fail("expected a key");
      if (!String(&key)) return false;
      for (const auto& member : v->object) {
        if (member.first == key) return Fail("duplicate key " + key);
      }
      Space();
      if (!Eat(':')) return Fail("expected ':'");
      Space();
      Json value;
      if (!Value(&value, depth + 1)) return false;
      v->object.emplace_back(key, std::move(value));
      Space();
      if (Eat('}')) return true;
      if (!Eat(',')) return Fail("expected ',' or '}'");
    }
  }
  bool Array(Json* v, int depth) {
    v->type = Json::kArray;
    ++i_;
    Space();
    if (Eat(']')) return true;
    while (true) {
      Space();
      Json value;
      if (!Value(&value, depth + 1)) return false;
      v->array.push_back(std::move(value));
      Space();
      if (Eat(']')) return true;
      if (!Eat(',')) return Fail("expected ',' or ']'");
    }
  }
  static void Utf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      *out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      *out += static_cast<char>(0xC0 | (cp >> 6));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      *out += static_cast<char>(0xE0 | (cp >> 12));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      *out += static_cast<char>(0xF0 | (cp >> 18));
      *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  bool Hex4(uint32_t* cp) {
    if (i_ + 4 > s_.size()) return Fail("short \\u escape");
    *cp = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      const int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
      if (d < 0) return Fail("bad \\u escape");
      *cp = *cp * 16 + static_cast<uint32_t>(d);
    }
    return true;
  }
  bool String(std::string* out) {
    ++i_;  // '"'
    while (true) {
      if (i_ >= s_.size()) return Fail("unterminated string");
      const unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20) return Fail("raw control character in a string");
      if (c != '\\') {
        *out += static_cast<char>(c);
        ++i_;
        continue;
      }
      ++i_;
      if (i_ >= s_.size()) return Fail("unterminated escape");
      const char e = s_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          *out += e;
          break;
        case 'b':
          *out += '\b';
          break;
        case 'f':
          *out += '\f';
          break;
        case 'n':
          *out += '\n';
          break;
        case 'r':
          *out += '\r';
          break;
        case 't':
          *out += '\t';
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low = 0;
            if (!Eat('\\') || !Eat('u') || !Hex4(&low) || low < 0xDC00 || low > 0xDFFF) {
              return Fail("unpaired surrogate");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Fail("unpaired surrogate");
          }
          Utf8(cp, out);
          break;
        }
        default:
          return Fail("bad escape");
      }
    }
  }
  bool Digits() {
    const size_t start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    return i_ > start;
  }
  bool Number(double* out) {
    const size_t start = i_;
    Eat('-');
    if (Eat('0')) {
      if (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') return Fail("leading zero");
    } else if (!Digits()) {
      return Fail("expected a value");
    }
    if (Eat('.') && !Digits()) return Fail("no digits after '.'");
    if (Eat('e') || Eat('E')) {
      if (!Eat('+')) Eat('-');
      if (!Digits()) return Fail("no digits in the exponent");
    }
    *out = std::strtod(s_.substr(start, i_ - start).c_str(), nullptr);
    return true;
  }

  const std::string& s_;
  size_t i_ = 0;
  std::string error_;
};

}  // namespace

const Json& Json::operator[](const std::string& key) const {
  static const Json missing;
  for (const auto& member : object) {
    if (member.first == key) return member.second;
  }
  ADD_FAILURE() << "no key '" << key << "'";
  return missing;
}
const Json& Json::operator[](size_t i) const {
  static const Json missing;
  if (type == kArray && i < array.size()) return array[i];
  ADD_FAILURE() << "no element " << i;
  return missing;
}

bool ReadJson(const std::string& text, Json* out, std::string* error) {
  return JsonReader(text).Read(out, error);
}

}  // namespace testing_json
}  // namespace persephonee
