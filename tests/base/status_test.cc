#include "base/status.h"

#include <gtest/gtest.h>

#include <memory>

namespace persephonee {
namespace {

Status CheckPositive(int x) {
  ENSURE(x > 0, "x must be positive, got ", x);
  return Status::Ok();
}

Status Chain(int x) {
  RETURN_IF_ERROR(CheckPositive(x));
  return Error(StatusCode::kNotFound, "reached the end with ", x);
}

StatusOr<std::unique_ptr<int>> MakeBox(int x) {
  RETURN_IF_ERROR(CheckPositive(x));
  return std::make_unique<int>(x);
}

Status UseBox(int x, int* out) {
  ASSIGN_OR_RETURN(std::unique_ptr<int> box, MakeBox(x));
  *out = *box;
  return Status::Ok();
}

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, EnsureFormatsMessage) {
  Status s = CheckPositive(-3);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "x must be positive, got -3");
  EXPECT_EQ(s.ToString(), "INVALID_ARGUMENT: x must be positive, got -3");
}

TEST(StatusTest, ReturnIfErrorStopsEarly) {
  EXPECT_EQ(Chain(-1).code(), StatusCode::kInvalidArgument);
  Status s = Chain(4);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "reached the end with 4");
}

TEST(StatusTest, WithContextPrefixesErrorsOnly) {
  EXPECT_TRUE(Status::Ok().WithContext("file.pmod").ok());
  Status s = Error(StatusCode::kDataLoss, "truncated").WithContext("model.pmod");
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.message(), "model.pmod: truncated");
}

TEST(StatusOrTest, HoldsValueOrError) {
  int value = 0;
  EXPECT_TRUE(UseBox(7, &value).ok());
  EXPECT_EQ(value, 7);
  Status s = UseBox(0, &value);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(value, 7);
  StatusOr<int> error = Status(StatusCode::kInternal, "boom");
  EXPECT_FALSE(error.ok());
  EXPECT_EQ(error.status().message(), "boom");
}

TEST(StatusTest, EveryCodeHasAName) {
  for (StatusCode c :
       {StatusCode::kOk, StatusCode::kInvalidArgument, StatusCode::kNotFound, StatusCode::kDataLoss,
        StatusCode::kFailedPrecondition, StatusCode::kResourceExhausted, StatusCode::kUnimplemented,
        StatusCode::kInternal, StatusCode::kCancelled}) {
    EXPECT_STRNE(StatusCodeName(c), "UNKNOWN");
  }
  EXPECT_STREQ(StatusCodeName(StatusCode::kCancelled), "CANCELLED");
}

}  // namespace
}  // namespace persephonee
