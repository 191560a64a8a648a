// Status: the error type returned at every API boundary of persephonee.
//
// Nothing in the engine throws or aborts on bad input. Functions that can fail return a
// `Status` (or a `StatusOr<T>`), whose message names the file, node or argument at fault.
// `RETURN_IF_ERROR(expr)` and `ENSURE(cond, msg...)` keep the call sites short, in the manner
// of TensorFlow Lite's TF_LITE_ENSURE.
#ifndef PERSEPHONEE_BASE_STATUS_H_
#define PERSEPHONEE_BASE_STATUS_H_

#include <cassert>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

namespace persephonee {

/// What kind of failure a Status reports.
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     ///< The caller passed something malformed (a shape, a flag, a value).
  kNotFound,            ///< A file, node or tensor that was named does not exist.
  kDataLoss,            ///< A file is truncated, corrupt or fails its checksum.
  kFailedPrecondition,  ///< The object is not in a state that allows the call.
  kResourceExhausted,   ///< A memory budget or other limit cannot be met.
  kUnimplemented,       ///< A valid request this build cannot serve (e.g. an op on this CPU).
  kInternal,            ///< A dependency (XNNPACK, the OS) failed unexpectedly.
  kCancelled,           ///< The caller asked the operation to stop (e.g. from a progress callback).
};

/// Returns the upper-case name of a code, e.g. "INVALID_ARGUMENT".
const char* StatusCodeName(StatusCode code);

/// The result of an operation that can fail: a code and a message for people.
class [[nodiscard]] Status {
 public:
  /// An OK status.
  Status() = default;
  /// A status with `code` and `message`; `code` should not be kOk.
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  /// "OK" or "<CODE>: <message>".
  std::string ToString() const;

  /// Returns a copy whose message is prefixed with `context` ("context: message").
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

namespace internal {
// Concatenates any streamable values into one string.
template <typename... Args>
std::string StrCat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}
}  // namespace internal

/// Builds an error Status from any streamable pieces: Error(kNotFound, "no file ", path).
template <typename... Args>
Status Error(StatusCode code, const Args&... args) {
  return Status(code, internal::StrCat(args...));
}

/// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  /// An error; `status` must not be OK.
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok());
    if (status_.ok()) status_ = Status(StatusCode::kInternal, "StatusOr built from OK status");
  }
  /// A value.
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  /// The value; only valid when ok().
  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace persephonee

#define PERSEPHONEE_CONCAT_INNER_(a, b) a##b
#define PERSEPHONEE_CONCAT_(a, b) PERSEPHONEE_CONCAT_INNER_(a, b)

/// Returns the Status of `expr` from the enclosing function if it is not OK.
#define RETURN_IF_ERROR(expr)                                  \
  do {                                                         \
    ::persephonee::Status persephonee_status_ = (expr);        \
    if (!persephonee_status_.ok()) return persephonee_status_; \
  } while (0)

/// Returns kInvalidArgument with the message pieces `...` if `cond` is false.
#define ENSURE(cond, ...)                                                                    \
  do {                                                                                       \
    if (!(cond))                                                                             \
      return ::persephonee::Error(::persephonee::StatusCode::kInvalidArgument, __VA_ARGS__); \
  } while (0)

/// Like ENSURE but with an explicit code: ENSURE_CODE(n > 0, kDataLoss, "empty file ", p).
#define ENSURE_CODE(cond, code, ...)                                                        \
  do {                                                                                      \
    if (!(cond)) return ::persephonee::Error(::persephonee::StatusCode::code, __VA_ARGS__); \
  } while (0)

/// Evaluates `rexpr` (a StatusOr); on error returns its Status, otherwise moves the value
/// into `lhs`, which may be a declaration: ASSIGN_OR_RETURN(auto graph, LoadGraph(path));
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  ASSIGN_OR_RETURN_IMPL_(PERSEPHONEE_CONCAT_(persephonee_or_, __LINE__), lhs, rexpr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                           \
  if (!tmp.ok()) return tmp.status();           \
  lhs = std::move(tmp).value()

#endif  // PERSEPHONEE_BASE_STATUS_H_
