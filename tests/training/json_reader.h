// A strict JSON reader (RFC 8259) for tests: any deviation from the grammar is an error,
// duplicate keys included. Values are read into a small tree.
#ifndef PERSEPHONEE_TESTS_TRAINING_JSON_READER_H_
#define PERSEPHONEE_TESTS_TRAINING_JSON_READER_H_

#include <string>
#include <utility>
#include <vector>

namespace persephonee {
namespace testing_json {

struct Json {
  enum Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = kNull;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;  ///< In the order read.

  /// The member `key` of an object; a test failure and a null value if there is none.
  const Json& operator[](const std::string& key) const;
  /// Element `i` of an array; a test failure and a null value if there is none.
  const Json& operator[](size_t i) const;
};

/// Reads `text` as one JSON value (surrounded by nothing but white space) into `out`; on failure
/// returns false and says where and why in `error`.
bool ReadJson(const std::string& text, Json* out, std::string* error);

}  // namespace testing_json
}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_TRAINING_JSON_READER_H_
