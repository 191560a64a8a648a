// The stages of training/image_transform.h added for the second family of simulated users:
// mirror, zoom and shear in the geometry stage, inversion, occlusion and posterise. Each is
// checked pixel by pixel on small images against values worked out by hand, and their
// combination against a hash fixed on x86-64 (the test runs under qemu-aarch64 too).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "training/image_transform.h"

namespace persephonee {
namespace {

using Image = std::vector<uint8_t>;

uint64_t Fnv1a(const void* data, size_t size, uint64_t hash = 0xcbf29ce484222325ull) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) hash = (hash ^ p[i]) * 0x100000001b3ull;
  return hash;
}

Image RandomImage(int h, int w, uint64_t seed) {
  Rng rng(seed);
  Image image(static_cast<size_t>(h) * w);
  for (uint8_t& p : image) p = static_cast<uint8_t>(1 + rng.Below(255));  // no 0: fills show
  return image;
}

// 5x5, row r column c holds 10 r + c + 11 (11..55): every pixel says where it came from.
Image Grid5() {
  Image image(25);
  for (int r = 0; r < 5; ++r) {
    for (int c = 0; c < 5; ++c) image[r * 5 + c] = static_cast<uint8_t>(10 * r + c + 11);
  }
  return image;
}

Image Transform(const PersonalTransform& t, const Image& in, int h, int w, uint64_t seed = 0) {
  Image out(in.size(), 0);
  const Status status = Apply(t, in.data(), out.data(), h, w, seed);
  EXPECT_TRUE(status.ok()) << status.ToString() << " for " << t.ToString();
  return out;
}

// --- Geometry: mirror, zoom, shear ------------------------------------------------------------

TEST(LaterStagesTest, MirrorSwapsLeftAndRight) {
  const Image in = RandomImage(4, 5, 1);  // not square: rows and columns cannot be confused
  PersonalTransform t;
  t.mirror = true;
  EXPECT_FALSE(t.IsIdentity());
  const Image out = Transform(t, in, 4, 5);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 5; ++x) {
      ASSERT_EQ(out[y * 5 + x], in[y * 5 + (4 - x)]) << "y=" << y << " x=" << x;
    }
  }
  // Twice is the identity.
  EXPECT_EQ(Transform(t, out, 4, 5), in);
}

TEST(LaterStagesTest, MirrorComesBeforeRotation) {
  const Image in = Grid5();
  PersonalTransform t;
  t.mirror = true;
  t.rotation_degrees = 90.0;
  // Mirrored, then turned a quarter counter-clockwise: the transpose.
  const Image out = Transform(t, in, 5, 5);
  const Image transposed = {11, 21, 31, 41, 51, 12, 22, 32, 42, 52, 13, 23, 33,
                            43, 53, 14, 24, 34, 44, 54, 15, 25, 35, 45, 55};
  EXPECT_EQ(out, transposed);
  // Mirrored, then turned a quarter clockwise: the other diagonal.
  t.rotation_degrees = -90.0;
  const Image anti = {55, 45, 35, 25, 15, 54, 44, 34, 24, 14, 53, 43, 33,
                      23, 13, 52, 42, 32, 22, 12, 51, 41, 31, 21, 11};
  EXPECT_EQ(Transform(t, in, 5, 5), anti);
}

TEST(LaterStagesTest, ZoomByTwoAboutTheCentre) {
  const Image in = Grid5();
  PersonalTransform t;
  t.zoom = 2.0;
  // Output offset d from the centre (2, 2) reads source offset d / 2: even offsets land on
  // pixels, odd ones halfway between two (or four), averaged and rounded half up. Rows 0..4
  // read source rows 1, 1.5, 2, 2.5, 3, so row 1 is 26 + c for source column c, and so on.
  const Image want = {22, 23, 23, 24, 24,   // 21 + c: 22, 22.5 -> 23, 23, 23.5 -> 24, 24
                      27, 28, 28, 29, 29,   // 26 + c
                      32, 33, 33, 34, 34,   // 31 + c
                      37, 38, 38, 39, 39,   // 36 + c
                      42, 43, 43, 44, 44};  // 41 + c
  EXPECT_EQ(Transform(t, in, 5, 5), want);

  // Zoom 1/2: offset d reads 2 d, so the 3x3 middle reads rows and columns 0, 2, 4 and the
  // border reads outside the image (0).
  t.zoom = 0.5;
  const Image half = {0, 0,  0,  0,  0,  //
                      0, 11, 13, 15, 0,  //
                      0, 31, 33, 35, 0,  //
                      0, 51, 53, 55, 0,  //
                      0, 0,  0,  0,  0};
  EXPECT_EQ(Transform(t, in, 5, 5), half);
}

TEST(LaterStagesTest, ShearMovesRowsInProportionToTheirDistanceFromTheCentre) {
  const Image in = Grid5();
  PersonalTransform t;
  t.shear = 1.0;  // row r moves r - 2 pixels right
  const Image out = Transform(t, in, 5, 5);
  const Image want = {13, 14, 15, 0,  0,    // row 0: two left
                      22, 23, 24, 25, 0,    // row 1: one left
                      31, 32, 33, 34, 35,   // row 2: stays
                      0,  41, 42, 43, 44,   // row 3: one right
                      0,  0,  51, 52, 53};  // row 4: two right
  EXPECT_EQ(out, want);

  // Half a pixel per row: row 1 moves half a pixel left, each pixel the mean of itself and
  // its right neighbour, rounded half up.
  t.shear = 0.5;
  const Image half = Transform(t, in, 5, 5);
  const Image row1 = {22, 23, 24, 25, 13};  // (21+22)/2 = 21.5 -> 22, ..., (25+0)/2 -> 13
  EXPECT_EQ(Image(half.begin() + 5, half.begin() + 10), row1);
  const Image row2 = {31, 32, 33, 34, 35};
  EXPECT_EQ(Image(half.begin() + 10, half.begin() + 15), row2);
  const Image row0 = {12, 13, 14, 15, 0};  // a whole pixel left
  EXPECT_EQ(Image(half.begin(), half.begin() + 5), row0);
}

// The order is mirror, shear, zoom, rotation, shift. A quarter turn of a square image loses
// nothing, so doing the rest first and turning afterwards must give the same bytes; turning
// first would not (a uniform zoom commutes with the turn, so only mirror and shear can tell).
TEST(LaterStagesTest, MirrorShearAndZoomComeBeforeRotation) {
  const Image in = RandomImage(7, 7, 2);
  PersonalTransform turn;
  turn.rotation_degrees = 90.0;
  for (int which = 0; which < 3; ++which) {
    PersonalTransform first;
    if (which == 0) first.shear = 1.0;
    if (which == 1) first.mirror = true;
    if (which == 2) first.zoom = 2.0;
    PersonalTransform both = first;
    both.rotation_degrees = 90.0;
    const Image want = Transform(turn, Transform(first, in, 7, 7), 7, 7);
    EXPECT_EQ(Transform(both, in, 7, 7), want) << first.ToString();
    if (which < 2) {
      EXPECT_NE(Transform(first, Transform(turn, in, 7, 7), 7, 7), want) << first.ToString();
    }
  }
  // Shear and zoom together on a dot two rows below the centre of a 9x9: the shear moves it 2
  // right, the zoom doubles its offset, (0, 2) -> (2, 2) -> (4, 4): the corner (8, 8). Output
  // (y, x) reads source row 4 + (y - 4) / 2, column 4 + (x - 4) / 2 - (y - 4) / 2, so row 8
  // reads source row 6 and row 7 reads halfway between rows 5 and 6.
  Image dot(81, 0);
  dot[6 * 9 + 4] = 255;
  PersonalTransform sz;
  sz.shear = 1.0;
  sz.zoom = 2.0;
  Image want(81, 0);
  want[8 * 9 + 8] = 255;  // column 4
  want[8 * 9 + 7] = 128;  // column 3.5: 127.5, half up
  want[7 * 9 + 7] = 128;  // row 5.5, column 4
  want[7 * 9 + 6] = 64;   // row 5.5, column 3.5: 63.75
  want[7 * 9 + 8] = 64;   // row 5.5, column 4.5
  EXPECT_EQ(Transform(sz, dot, 9, 9), want);
}

// --- Inversion and occlusion ------------------------------------------------------------------

TEST(LaterStagesTest, InversionNegatesARectangleClippedToTheImage) {
  const Image in = {10, 20,  30, 40,  //
                    50, 60,  70, 80,  //
                    0,  255, 1,  2,   //
                    3,  4,   5,  6};
  PersonalTransform t;
  t.inversion = {1, 1, 2, 3};  // columns 1..2 of rows 1..3
  EXPECT_FALSE(t.IsIdentity());
  const Image want = {10, 20,  30,  40,  //
                      50, 195, 185, 80,  //
                      0,  0,   254, 2,   //
                      3,  251, 250, 6};
  EXPECT_EQ(Transform(t, in, 4, 4), want);

  t.inversion = {-2, 2, 3, 10};             // only column 0 of rows 2 and 3 is inside
  const Image clipped = {10,  20,  30, 40,  //
                         50,  60,  70, 80,  //
                         255, 255, 1,  2,   //
                         252, 4,   5,  6};
  EXPECT_EQ(Transform(t, in, 4, 4), clipped);

  t.inversion = {4, 0, 3, 3};  // wholly outside: nothing changes
  EXPECT_EQ(Transform(t, in, 4, 4), in);
  t.inversion = {0, 0, 4, 4};  // the whole image: a negative
  for (size_t i = 0; i < in.size(); ++i) ASSERT_EQ(Transform(t, in, 4, 4)[i], 255 - in[i]) << i;
}

TEST(LaterStagesTest, OcclusionFillsARectangleClippedToTheImage) {
  const Image in = Grid5();
  PersonalTransform t;
  t.occlusion = {3, -1, 4, 2};  // columns 3..6 of rows -1..0: inside, columns 3, 4 of row 0
  t.occlusion_level = 200;
  EXPECT_FALSE(t.IsIdentity());
  Image want = in;
  want[3] = want[4] = 200;
  EXPECT_EQ(Transform(t, in, 5, 5), want);

  t.occlusion = {1, 2, 2, 2};
  t.occlusion_level = 0;
  want = in;
  want[2 * 5 + 1] = want[2 * 5 + 2] = want[3 * 5 + 1] = want[3 * 5 + 2] = 0;
  EXPECT_EQ(Transform(t, in, 5, 5), want);

  // Inversion comes first, so where they overlap the occluder's level wins; and both act on
  // the geometry's output (the occluder does not turn with the picture).
  t.occlusion = {0, 0, 2, 1};
  t.occlusion_level = 77;
  t.inversion = {1, 0, 2, 1};
  t.rotation_degrees = 180.0;
  const Image out = Transform(t, in, 5, 5);
  EXPECT_EQ(out[0], 77);
  EXPECT_EQ(out[1], 77);
  EXPECT_EQ(out[2], 255 - 53);  // row 0 column 2 after a half turn is row 4 column 2
  EXPECT_EQ(out[3], 52);
  EXPECT_EQ(out[24], 11);
}

// --- Posterise --------------------------------------------------------------------------------

TEST(LaterStagesTest, PosteriseKeepsNEvenlySpacedLevels) {
  Image ramp(256);
  for (int i = 0; i < 256; ++i) ramp[i] = static_cast<uint8_t>(i);
  PersonalTransform t;
  t.posterise_levels = 2;
  Image out = Transform(t, ramp, 16, 16);
  for (int i = 0; i < 256; ++i) ASSERT_EQ(out[i], i < 128 ? 0 : 255) << i;

  t.posterise_levels = 4;  // bins of 64 grey levels, to 0, 85, 170, 255
  out = Transform(t, ramp, 16, 16);
  for (int i = 0; i < 256; ++i) {
    const int want = i < 64 ? 0 : i < 128 ? 85 : i < 192 ? 170 : 255;
    ASSERT_EQ(out[i], want) << i;
  }

  t.posterise_levels = 3;  // bins 0..85, 86..170, 171..255, to 0, 127.5 -> 128, 255
  out = Transform(t, ramp, 16, 16);
  for (int i = 0; i < 256; ++i) {
    const int want = i <= 85 ? 0 : i <= 170 ? 128 : 255;
    ASSERT_EQ(out[i], want) << i;
  }

  t.posterise_levels = 256;  // every level its own bin
  EXPECT_EQ(Transform(t, ramp, 16, 16), ramp);

  // It is the last stage: after brightness, on the rounded value (100 + 27.6 = 127.6 rounds to
  // 128, in the upper bin of 2).
  Image grey(16, 100);
  t = PersonalTransform();
  t.brightness = 27.6;
  t.posterise_levels = 2;
  EXPECT_EQ(Transform(t, grey, 4, 4), Image(16, 255));
  t.brightness = 27.4;
  EXPECT_EQ(Transform(t, grey, 4, 4), Image(16, 0));
}

// --- Neutral values, validation, text ---------------------------------------------------------

TEST(LaterStagesTest, NeutralValuesChangeNothing) {
  const Image in = RandomImage(28, 28, 4);
  PersonalTransform t;
  EXPECT_TRUE(t.IsIdentity());
  EXPECT_FALSE(t.UsesLaterStages());
  // Neutral by value: no change, though the stages run.
  t.zoom = 1.0;
  t.shear = 0.0;
  t.inversion = {3, 3, 0, 5};  // zero width
  t.occlusion = {3, 3, 5, 0};  // zero height
  t.occlusion_level = 255;
  EXPECT_TRUE(t.IsIdentity());
  t.posterise_levels = 256;
  EXPECT_FALSE(t.IsIdentity());
  EXPECT_EQ(Transform(t, in, 28, 28), in);
  t = PersonalTransform();
  t.occlusion = {40, 0, 5, 5};  // outside the image
  EXPECT_EQ(Transform(t, in, 28, 28), in);

  // A transform of the first kind reads as it always did.
  PersonalTransform old;
  old.rotation_degrees = 5.0;
  old.shift_x = 1.0;
  old.shift_y = -0.5;
  old.blur_sigma = 0.5;
  old.contrast = 1.1;
  old.brightness = -3.0;
  old.gamma = 1.2;
  old.noise_std = 4.0;
  EXPECT_EQ(old.ToString(),
            "rotation=5deg shift=(1,-0.5) blur=0.5 contrast=1.1 brightness=-3 gamma=1.2 noise=4");
  old.mirror = true;
  old.zoom = 1.2;
  old.shear = -0.25;
  old.inversion = {1, 2, 3, 4};
  old.occlusion = {5, 6, 7, 8};
  old.occlusion_level = 90;
  old.posterise_levels = 5;
  EXPECT_EQ(old.ToString(),
            "rotation=5deg shift=(1,-0.5) blur=0.5 contrast=1.1 brightness=-3 gamma=1.2 noise=4 "
            "mirror=1 zoom=1.2 shear=-0.25 inversion=3x4@(1,2) occlusion=7x8@(5,6)/90 "
            "posterise=5");
}

TEST(LaterStagesTest, RejectsBadParametersNamingThem) {
  const Image in(28 * 28, 0);
  Image out(28 * 28, 0);
  const struct {
    const char* name;
    void (*set)(PersonalTransform&);
  } cases[] = {
      {"zoom", [](PersonalTransform& t) { t.zoom = 0.0; }},
      {"zoom", [](PersonalTransform& t) { t.zoom = 0.09; }},
      {"zoom", [](PersonalTransform& t) { t.zoom = 10.5; }},
      {"zoom", [](PersonalTransform& t) { t.zoom = NAN; }},
      {"shear", [](PersonalTransform& t) { t.shear = 2.01; }},
      {"shear", [](PersonalTransform& t) { t.shear = -2.5; }},
      {"shear", [](PersonalTransform& t) { t.shear = INFINITY; }},
      {"inversion.x", [](PersonalTransform& t) { t.inversion.x = 4097; }},
      {"inversion.y", [](PersonalTransform& t) { t.inversion.y = -4097; }},
      {"inversion.width", [](PersonalTransform& t) { t.inversion.width = -1; }},
      {"inversion.height", [](PersonalTransform& t) { t.inversion.height = 5000; }},
      {"occlusion.x", [](PersonalTransform& t) { t.occlusion.x = -5000; }},
      {"occlusion.y", [](PersonalTransform& t) { t.occlusion.y = 4097; }},
      {"occlusion.width", [](PersonalTransform& t) { t.occlusion.width = 4097; }},
      {"occlusion.height", [](PersonalTransform& t) { t.occlusion.height = -3; }},
      {"occlusion_level", [](PersonalTransform& t) { t.occlusion_level = 256; }},
      {"occlusion_level", [](PersonalTransform& t) { t.occlusion_level = -1; }},
      {"posterise_levels", [](PersonalTransform& t) { t.posterise_levels = 1; }},
      {"posterise_levels", [](PersonalTransform& t) { t.posterise_levels = 257; }},
      {"posterise_levels", [](PersonalTransform& t) { t.posterise_levels = -2; }},
  };
  for (const auto& c : cases) {
    PersonalTransform t;
    c.set(t);
    const Status status = Apply(t, in.data(), out.data(), 28, 28, 0);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << c.name << ": " << t.ToString();
    EXPECT_NE(status.message().find(std::string(c.name) + " "), std::string::npos)
        << status.ToString();
    EXPECT_EQ(ValidateTransform(t).code(), StatusCode::kInvalidArgument) << c.name;
  }
  // The ends of the ranges are valid.
  PersonalTransform edge;
  edge.zoom = 0.1;
  edge.shear = -2.0;
  edge.inversion = {-4096, 4096, 4096, 0};
  edge.occlusion = {4096, -4096, 0, 4096};
  edge.occlusion_level = 255;
  edge.posterise_levels = 2;
  EXPECT_TRUE(ValidateTransform(edge).ok()) << ValidateTransform(edge).ToString();
  edge.zoom = 10.0;
  edge.shear = 2.0;
  edge.posterise_levels = 256;
  EXPECT_TRUE(ValidateTransform(edge).ok()) << ValidateTransform(edge).ToString();
  EXPECT_TRUE(Apply(edge, in.data(), out.data(), 28, 28, 0).ok());
}

// --- Portability ------------------------------------------------------------------------------

// A fixed 28x28 picture: a bright ellipse with a darker stripe on a 0 background (as in
// image_transform_test).
Image Pattern28() {
  Image image(28 * 28, 0);
  for (int y = 0; y < 28; ++y) {
    for (int x = 0; x < 28; ++x) {
      const double dx = (x - 13.0) / 9.0;
      const double dy = (y - 14.5) / 12.0;
      if (dx * dx + dy * dy <= 1.0) image[y * 28 + x] = static_cast<uint8_t>(120 + 4 * x + y);
      if (y >= 12 && y <= 14 && x >= 6 && x <= 20) image[y * 28 + x] = 60;
    }
  }
  return image;
}

// The constant was computed on x86-64; the same test under qemu-aarch64 (bazel test
// --config=aarch64) must reproduce it bit for bit.
TEST(LaterStagesPortabilityTest, HashesMatchTheHost) {
  PersonalTransform t;
  t.mirror = true;
  t.rotation_degrees = 8.3;
  t.zoom = 1.137;
  t.shear = -0.213;
  t.shift_x = 0.4;
  t.inversion = {3, 17, 9, 6};
  t.occlusion = {15, 4, 7, 8};
  t.occlusion_level = 143;
  t.blur_sigma = 0.6;
  t.gamma = 0.9;
  t.noise_std = 5.0;
  t.posterise_levels = 5;
  const Image in = Pattern28();
  uint64_t hash = Fnv1a(nullptr, 0);
  for (uint64_t seed = 0; seed < 8; ++seed) {
    const Image out = Transform(t, in, 28, 28, MixSeed(91, seed));
    hash = Fnv1a(out.data(), out.size(), hash);
  }
  // And each geometric stage alone at a value that is not exact (zoom 0.83, shear 0.37).
  for (int which = 0; which < 2; ++which) {
    PersonalTransform g;
    if (which == 0) g.zoom = 0.83;
    if (which == 1) g.shear = 0.37;
    const Image out = Transform(g, in, 28, 28);
    hash = Fnv1a(out.data(), out.size(), hash);
  }
  EXPECT_EQ(hash, 0x94d7d82c3316bcfcull) << std::hex << hash;
}

}  // namespace
}  // namespace persephonee
