// The text fixture reader: what it accepts, and that each kind of damage is reported.
#include "tests/kernels/loss/text_fixture.h"

#include <gtest/gtest.h>

#include <string>

namespace persephonee {
namespace {

TEST(TextFixtureTest, ParsesCasesArraysAndComments) {
  const std::string text =
      "# header\n"
      "case first  # trailing comment\n"
      "x f32 3\n  1.5 -2 3.25e-3\n"
      "y i32 2 -7 2147483647\n"
      "end\n"
      "case second\nz f32 1 0.333333343\nend\n";
  auto cases = ParseTextFixture(text, "mem");
  ASSERT_TRUE(cases.ok()) << cases.status().ToString();
  ASSERT_EQ(cases->size(), 2u);
  const TextCase& c = (*cases)[0];
  EXPECT_EQ(c.name, "first");
  auto x = c.Floats("x", 3);
  ASSERT_TRUE(x.ok());
  EXPECT_EQ((*x)[0], 1.5f);
  EXPECT_EQ((*x)[1], -2.0f);
  EXPECT_EQ((*x)[2], 3.25e-3f);
  auto y = c.Ints("y");
  ASSERT_TRUE(y.ok());
  EXPECT_EQ((*y)[0], -7);
  EXPECT_EQ((*y)[1], 2147483647);
  auto z = (*cases)[1].Float("z");
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(*z, 1.0f / 3.0f);  // %.9g round-trips float32 exactly.
  EXPECT_EQ(c.Floats("y").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(c.Floats("x", 4).status().code(), StatusCode::kDataLoss);
}

TEST(TextFixtureTest, RejectsDamage) {
  const struct {
    const char* text;
    const char* message_part;
  } bad[] = {
      {"", "no cases"},
      {"x f32 1 1\n", "expected 'case'"},
      {"case a\nx f32 1 1\n", "has no 'end'"},
      {"case a\nx f64 1 1\nend\n", "unknown dtype"},
      {"case a\nx f32 0\nend\n", "bad count"},
      {"case a\nx f32 2 1\nend\n", "not a finite float"},
      {"case a\nx f32 3 1 2\n", "truncated"},
      {"case a\nx f32 1 nan\nend\n", "not a finite float"},
      {"case a\nx f32 1 1e39\nend\n", "not a finite float"},
      {"case a\nx f32 1 1.0x\nend\n", "not a finite float"},
      {"case a\nx i32 1 2147483648\nend\n", "not an int32"},
      {"case a\nx i32 1 1.5\nend\n", "not an int32"},
      {"case a\nx f32 1 1\nx i32 1 1\nend\n", "repeated"},
      {"case a\nend\ncase a\nend\n", "repeated"},
  };
  for (const auto& b : bad) {
    auto cases = ParseTextFixture(b.text, "mem");
    ASSERT_FALSE(cases.ok()) << "accepted: " << b.text;
    EXPECT_EQ(cases.status().code(), StatusCode::kDataLoss) << b.text;
    EXPECT_NE(cases.status().message().find(b.message_part), std::string::npos)
        << "text: " << b.text << "\nmessage: " << cases.status().message();
    EXPECT_NE(cases.status().message().find("mem:"), std::string::npos) << cases.status().message();
  }
}

TEST(TextFixtureTest, MissingFileIsNotFound) {
  auto cases = LoadTextFixture("tests/kernels/loss/testdata/no_such_file.txt");
  ASSERT_FALSE(cases.ok());
  EXPECT_EQ(cases.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace persephonee
