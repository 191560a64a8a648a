// The second, held-out family of simulated users (training/users.h): what MakeUser draws for
// it, its independence from family 1, its data and user.json, the options that choose it, and
// a hash of family-2 users fixed on x86-64 (the test runs under qemu-aarch64 too). Family 1's
// own pins are in users_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "tests/training/users_testing.h"
#include "training/image_transform.h"
#include "training/users.h"

namespace persephonee {
namespace {

using users_testing::Fnv1a;
using users_testing::HashUser;

// A synthetic labelled data set of `count` random 28x28 images (the size family 2's rectangles
// are placed in), labels spread over the 10 classes; users draw from [begin, count).
struct Synthetic {
  std::vector<uint8_t> images;
  std::vector<uint8_t> labels;
  LabelledImages view;
};

Synthetic MakeSynthetic(size_t count, size_t begin, uint64_t seed) {
  Synthetic s;
  Rng rng(seed);
  s.images.resize(count * 784);
  for (uint8_t& p : s.images) p = static_cast<uint8_t>(rng.Below(256));
  s.labels.resize(count);
  for (size_t r = 0; r < count; ++r) s.labels[r] = static_cast<uint8_t>((r * 7 + r / 13) % 10);
  s.view.images = s.images.data();
  s.view.labels = s.labels.data();
  s.view.count = count;
  s.view.height = 28;
  s.view.width = 28;
  s.view.begin = begin;
  return s;
}

bool SameSpec(const UserSpec& a, const UserSpec& b) {
  return a.seed == b.seed && a.family == b.family && a.classes == b.classes &&
         a.proportions == b.proportions && a.transform.ToString() == b.transform.ToString() &&
         a.transform.gamma == b.transform.gamma && a.transform.zoom == b.transform.zoom &&
         a.transform.shear == b.transform.shear &&
         a.transform.rotation_degrees == b.transform.rotation_degrees;
}

// --- What MakeUser draws ----------------------------------------------------------------------

TEST(UserFamilyTest, FamilyOneIsStillTheDefault) {
  for (uint64_t seed : {0, 1, 2, 17, 1000}) {
    const StatusOr<UserSpec> plain = MakeUser(seed);
    const StatusOr<UserSpec> named = MakeUser(seed, UserFamily::kTuning);
    const StatusOr<UserSpec> options = MakeUser(seed, UserOptionsFor(UserFamily::kTuning));
    ASSERT_TRUE(plain.ok() && named.ok() && options.ok()) << plain.status().ToString();
    EXPECT_EQ(plain->family, UserFamily::kTuning);
    EXPECT_TRUE(SameSpec(*plain, *named)) << seed;
    EXPECT_TRUE(SameSpec(*plain, *options)) << seed;
    EXPECT_FALSE(plain->transform.UsesLaterStages()) << plain->transform.ToString();
  }
  EXPECT_EQ(UserOptionsFor(UserFamily::kTuning).max_classes, 4);
  EXPECT_EQ(UserOptionsFor(UserFamily::kHeldOut).max_classes, 5);
  EXPECT_EQ(UserOptionsFor(UserFamily::kHeldOut).family, UserFamily::kHeldOut);
}

TEST(UserFamilyTest, FamilyTwoDrawsTwoToFiveClassesAndOnlyItsOwnTransforms) {
  const HeldOutRanges r;
  std::vector<int> by_k(6, 0);
  std::vector<int> by_levels(r.posterise_max_levels + 1, 0);
  int mirrored = 0;
  int positive_rotations = 0;
  const int users = 1000;
  for (uint64_t seed = 0; seed < users; ++seed) {
    const StatusOr<UserSpec> spec = MakeUser(seed, UserFamily::kHeldOut);
    ASSERT_TRUE(spec.ok()) << spec.status().ToString();
    ASSERT_EQ(spec->family, UserFamily::kHeldOut);
    const size_t k = spec->classes.size();
    ASSERT_GE(k, 2u) << "seed " << seed;
    ASSERT_LE(k, 5u) << "seed " << seed;
    ++by_k[k];
    ASSERT_EQ(spec->proportions.size(), k);
    double sum = 0;
    for (size_t i = 0; i < k; ++i) {
      if (i > 0) {
        ASSERT_LT(spec->classes[i - 1], spec->classes[i]) << "seed " << seed;
      }
      ASSERT_GE(spec->proportions[i], 0.1 - 1e-12) << "seed " << seed;
      sum += spec->proportions[i];
    }
    ASSERT_NEAR(sum, 1.0, 1e-12) << "seed " << seed;

    const PersonalTransform& t = spec->transform;
    ASSERT_TRUE(ValidateTransform(t).ok()) << t.ToString();
    // None of family 1's photometric stages, nor its shift.
    ASSERT_EQ(t.blur_sigma, 0.0);
    ASSERT_EQ(t.noise_std, 0.0);
    ASSERT_EQ(t.contrast, 1.0);
    ASSERT_EQ(t.brightness, 0.0);
    ASSERT_EQ(t.gamma, 1.0);
    ASSERT_EQ(t.shift_x, 0.0);
    ASSERT_EQ(t.shift_y, 0.0);
    ASSERT_LE(std::fabs(t.rotation_degrees), r.rotation_max_degrees) << "seed " << seed;
    positive_rotations += t.rotation_degrees > 0;
    mirrored += t.mirror;
    ASSERT_GE(t.zoom, r.zoom_min * (1 - 1e-12)) << "seed " << seed;
    ASSERT_LE(t.zoom, r.zoom_max * (1 + 1e-12)) << "seed " << seed;
    ASSERT_LE(std::fabs(t.shear), r.shear_max) << "seed " << seed;
    for (const PixelRect* rect : {&t.inversion, &t.occlusion}) {
      const bool inversion = rect == &t.inversion;
      const int lo = inversion ? r.inversion_min_side : r.occlusion_min_side;
      const int hi = inversion ? r.inversion_max_side : r.occlusion_max_side;
      ASSERT_GE(rect->width, lo) << "seed " << seed;
      ASSERT_LE(rect->width, hi) << "seed " << seed;
      ASSERT_GE(rect->height, lo) << "seed " << seed;
      ASSERT_LE(rect->height, hi) << "seed " << seed;
      ASSERT_GE(rect->x, 0) << "seed " << seed;
      ASSERT_GE(rect->y, 0) << "seed " << seed;
      ASSERT_LE(rect->x + rect->width, 28) << "seed " << seed;
      ASSERT_LE(rect->y + rect->height, 28) << "seed " << seed;
    }
    ASSERT_GE(t.occlusion_level, 0);
    ASSERT_LE(t.occlusion_level, r.occlusion_max_level);
    ASSERT_GE(t.posterise_levels, r.posterise_min_levels) << "seed " << seed;
    ASSERT_LE(t.posterise_levels, r.posterise_max_levels) << "seed " << seed;
    ++by_levels[t.posterise_levels];
  }
  // k uniform on {2, ..., 5}, levels uniform on their range, mirror and sign fair coins (about
  // 4 standard deviations of slack).
  for (int k = 2; k <= 5; ++k) EXPECT_NEAR(by_k[k], users / 4.0, 55) << "k=" << k;
  const int n_levels = r.posterise_max_levels - r.posterise_min_levels + 1;
  for (int n = r.posterise_min_levels; n <= r.posterise_max_levels; ++n) {
    EXPECT_NEAR(by_levels[n], users / static_cast<double>(n_levels), 60) << n << " levels";
  }
  EXPECT_NEAR(mirrored, users * r.mirror_probability, 70);
  EXPECT_NEAR(positive_rotations, users / 2.0, 70);
}

// Family 2 uses random streams of its own: seed s of one family says nothing about seed s of
// the other. Over many seeds the classes agree only as often as two independent draws would.
TEST(UserFamilyTest, FamiliesAreIndependentForTheSameSeed) {
  int same_classes = 0;
  int same_k = 0;
  const int users = 400;
  for (uint64_t seed = 0; seed < users; ++seed) {
    const StatusOr<UserSpec> one = MakeUser(seed, UserFamily::kTuning);
    const StatusOr<UserSpec> two = MakeUser(seed, UserFamily::kHeldOut);
    ASSERT_TRUE(one.ok() && two.ok());
    same_classes += one->classes == two->classes;
    same_k += one->classes.size() == two->classes.size();
    ASSERT_NE(one->proportions, two->proportions) << "seed " << seed;
  }
  // Independent: P(same k) = 3 / (3 * 4) = 1/4 (k in 2..4 against 2..5); the same class set is
  // rarer still (at most 1/45 given the same k).
  EXPECT_NEAR(same_k, users / 4.0, 4 * std::sqrt(users * 0.25 * 0.75));
  EXPECT_LT(same_classes, 15);
}

TEST(UserFamilyTest, RejectsABadFamilyAndBadRanges) {
  const Status bad = MakeUser(1, static_cast<UserFamily>(3)).status();
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("family"), std::string::npos) << bad.ToString();
  UserOptions o;
  o.family = static_cast<UserFamily>(0);
  EXPECT_EQ(MakeUser(1, o).status().code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(*UserFamilyFromNumber(1), UserFamily::kTuning);
  EXPECT_EQ(*UserFamilyFromNumber(2), UserFamily::kHeldOut);
  for (int64_t n : {0, 3, -1}) {
    const Status s = UserFamilyFromNumber(n, "--family").status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << n;
    EXPECT_EQ(s.message().rfind("--family", 0), 0u) << s.ToString();
  }

  const struct {
    const char* name;
    void (*set)(HeldOutRanges&);
  } cases[] = {
      {"zoom_min", [](HeldOutRanges& r) { r.zoom_min = 1.5; }},  // above zoom_max
      {"zoom", [](HeldOutRanges& r) { r.zoom_min = 0.05; }},
      {"shear_max", [](HeldOutRanges& r) { r.shear_max = -0.1; }},
      {"shear_max", [](HeldOutRanges& r) { r.shear_max = 2.5; }},
      {"rotation_max_degrees", [](HeldOutRanges& r) { r.rotation_max_degrees = NAN; }},
      {"mirror_probability", [](HeldOutRanges& r) { r.mirror_probability = 1.5; }},
      {"inversion_max_side", [](HeldOutRanges& r) { r.inversion_max_side = 29; }},
      {"inversion_min_side", [](HeldOutRanges& r) { r.inversion_min_side = 0; }},
      {"occlusion_min_side", [](HeldOutRanges& r) { r.occlusion_min_side = 11; }},
      {"occlusion_max_level", [](HeldOutRanges& r) { r.occlusion_max_level = 256; }},
      {"posterise_min_levels", [](HeldOutRanges& r) { r.posterise_min_levels = 1; }},
      {"posterise_max_levels", [](HeldOutRanges& r) { r.posterise_max_levels = 300; }},
      {"image size", [](HeldOutRanges& r) { r.image_width = 0; }},
  };
  for (const auto& c : cases) {
    UserOptions options = UserOptionsFor(UserFamily::kHeldOut);
    c.set(options.held_out);
    const Status s = MakeUser(1, options).status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(s.message().find(c.name), std::string::npos) << c.name << ": " << s.ToString();
  }
}

// --- Their data -------------------------------------------------------------------------------

class UserFamilyDataTest : public ::testing::Test {
 protected:
  UserFamilyDataTest() : pool_(MakeSynthetic(3000, 1000, 11)), test_(MakeSynthetic(1500, 0, 12)) {}
  StatusOr<UserData> Build(uint64_t seed, UserFamily family, double fraction = 0.1,
                           size_t n_train = 150, size_t n_test = 100) {
    const StatusOr<UserSpec> spec = MakeUser(seed, family);
    if (!spec.ok()) return spec.status();
    UserDataOptions options;
    options.n_train = n_train;
    options.n_test = n_test;
    options.label_fraction = fraction;
    return BuildUserData(*spec, pool_.view, test_.view, options);
  }
  Synthetic pool_;
  Synthetic test_;
};

TEST_F(UserFamilyDataTest, FamilyTwoDataIsItsOwnAndDeterministic) {
  for (uint64_t seed : {1, 2, 3}) {
    const StatusOr<UserData> a = Build(seed, UserFamily::kHeldOut);
    const StatusOr<UserData> b = Build(seed, UserFamily::kHeldOut);
    const StatusOr<UserData> one = Build(seed, UserFamily::kTuning);
    ASSERT_TRUE(a.ok() && b.ok() && one.ok()) << a.status().ToString();
    EXPECT_EQ(HashUser(*a, 0), HashUser(*b, 0)) << "seed " << seed;
    EXPECT_NE(a->train_indices, one->train_indices) << "seed " << seed;
    EXPECT_NE(a->test_indices, one->test_indices) << "seed " << seed;
    EXPECT_NE(a->train_images, one->train_images) << "seed " << seed;

    // Every image is its record through the user's transform.
    const size_t pixels = 784;
    std::vector<uint8_t> want(pixels);
    for (size_t i = 0; i < a->num_test(); ++i) {
      const uint32_t r = a->test_indices[i];
      ASSERT_EQ(a->test_labels[i], test_.labels[r]);
      ASSERT_TRUE(Apply(a->spec.transform, test_.images.data() + r * pixels, want.data(), 28, 28,
                        UserNoiseSeed(seed, true, r, UserFamily::kHeldOut))
                      .ok());
      ASSERT_TRUE(std::equal(want.begin(), want.end(), a->test_images.begin() + i * pixels))
          << "seed " << seed << " test sample " << i;
    }
  }
  // With the same classes and proportions, the records drawn still differ: the sampling
  // streams are the family's own.
  StatusOr<UserSpec> spec = MakeUser(5, UserFamily::kHeldOut);
  ASSERT_TRUE(spec.ok());
  UserSpec as_one = *spec;
  as_one.family = UserFamily::kTuning;
  UserDataOptions options;
  options.n_train = 100;
  options.n_test = 50;
  const StatusOr<UserData> two = BuildUserData(*spec, pool_.view, test_.view, options);
  const StatusOr<UserData> one = BuildUserData(as_one, pool_.view, test_.view, options);
  ASSERT_TRUE(two.ok() && one.ok());
  EXPECT_NE(two->train_indices, one->train_indices);
  EXPECT_NE(two->train_labels, one->train_labels);

  UserSpec bad = *spec;
  bad.family = static_cast<UserFamily>(7);
  const Status s = BuildUserData(bad, pool_.view, test_.view, options).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("family"), std::string::npos) << s.ToString();
}

TEST_F(UserFamilyDataTest, UserJsonRecordsTheFamily) {
  const StatusOr<UserData> two = Build(4, UserFamily::kHeldOut);
  const StatusOr<UserData> one = Build(4, UserFamily::kTuning);
  ASSERT_TRUE(two.ok() && one.ok());
  const std::string json2 = UserJson(*two);
  const std::string json1 = UserJson(*one);
  EXPECT_NE(json2.find("  \"seed\": 4,\n  \"family\": 2,\n"), std::string::npos) << json2;
  const PersonalTransform& t = two->spec.transform;
  EXPECT_NE(json2.find("\"mirror\": " + std::string(t.mirror ? "true" : "false") + ",\n"),
            std::string::npos)
      << json2;
  EXPECT_NE(json2.find("\"posterise_levels\": " + std::to_string(t.posterise_levels) + "\n"),
            std::string::npos)
      << json2;
  EXPECT_NE(json2.find("\"occlusion\": {\"x\": " + std::to_string(t.occlusion.x) +
                       ", \"y\": " + std::to_string(t.occlusion.y) +
                       ", \"width\": " + std::to_string(t.occlusion.width) +
                       ", \"height\": " + std::to_string(t.occlusion.height) + "},\n"),
            std::string::npos)
      << json2;
  EXPECT_NE(json2.find("\"zoom\": "), std::string::npos) << json2;
  // Family 1's user.json has neither (users_test pins it byte for byte).
  EXPECT_EQ(json1.find("family"), std::string::npos) << json1;
  EXPECT_EQ(json1.find("zoom"), std::string::npos) << json1;
}

// The constant was computed on x86-64; under qemu-aarch64 the same family-2 users must come out
// bit for bit the same.
TEST_F(UserFamilyDataTest, FamilyTwoIsPinned) {
  uint64_t hash = Fnv1a(nullptr, 0);
  for (uint64_t seed : {1, 2, 3, 7, 100}) {
    const StatusOr<UserData> data = Build(seed, UserFamily::kHeldOut, 0.1, 120, 80);
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    hash = HashUser(*data, hash);
  }
  EXPECT_EQ(hash, 0x7fcebf40ddc6bdb8ull) << std::hex << hash;
}

}  // namespace
}  // namespace persephonee
