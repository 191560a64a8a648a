#include "training/reservoir.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "base/file_io.h"
#include "base/idx.h"
#include "training/labels.h"

namespace persephonee {
namespace {

// Samples are 2x1x2 images (four bytes: the 4-D IDX form) that spell out their own number, so
// that every test can tell which samples the reservoir holds.
const ImageShape kShape = {2, 1, 2};

uint32_t IdOf(const uint8_t* image) {
  return uint32_t{image[0]} | uint32_t{image[1]} << 8 | uint32_t{image[2]} << 16 |
         uint32_t{image[3]} << 24;
}

// Samples first .. first + n - 1; sample i is labelled i % 10, except every third one.
MemoryImageSource Samples(uint32_t first, uint32_t n) {
  std::vector<uint8_t> pixels(size_t{n} * 4);
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t id = first + i;
    for (int b = 0; b < 4; ++b) pixels[size_t{i} * 4 + b] = static_cast<uint8_t>(id >> (8 * b));
  }
  return MemoryImageSource(std::move(pixels), 4);
}
uint8_t LabelOf(uint32_t id) { return id % 3 == 2 ? kUnlabelled : static_cast<uint8_t>(id % 10); }
std::vector<uint8_t> Labels(uint32_t first, uint32_t n) {
  std::vector<uint8_t> labels(n);
  for (uint32_t i = 0; i < n; ++i) labels[i] = LabelOf(first + i);
  return labels;
}

std::vector<uint32_t> Ids(const Reservoir& r) {
  std::vector<uint32_t> ids;
  for (size_t i = 0; i < r.count(); ++i) ids.push_back(IdOf(r.pixels().data() + i * 4));
  return ids;
}

Reservoir Make(size_t capacity, uint64_t seed) {
  StatusOr<Reservoir> r = Reservoir::Create(capacity, seed, kShape, 10);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

// Offers samples seen() .. seen() + n - 1.
OfferSummary OfferNext(Reservoir* r, uint32_t n) {
  const uint32_t first = static_cast<uint32_t>(r->seen());
  StatusOr<OfferSummary> s = r->Offer(Samples(first, n), Labels(first, n));
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : OfferSummary();
}

std::string TempDir() {
  const char* root = getenv("TEST_TMPDIR");
  std::string pattern = std::string(root != nullptr && *root ? root : "/tmp") + "/reservoir.XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  EXPECT_NE(mkdtemp(buffer.data()), nullptr);
  return buffer.data();
}

std::string Slurp(const std::string& path) {
  StatusOr<std::string> s = ReadFile(path);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : std::string();
}

void Spit(const std::string& path, const std::string& bytes) {
  ASSERT_TRUE(WriteFileAtomically(path, bytes.data(), bytes.size()).ok());
}

std::vector<std::string> Entries(const std::string& dir) {
  StatusOr<std::vector<std::string>> names = ListDirectory(dir);
  EXPECT_TRUE(names.ok()) << names.status().ToString();
  return names.ok() ? *names : std::vector<std::string>();
}

// The version 1 layout (before generations), as that code wrote it.
void WriteVersion1(const Reservoir& r, const std::string& dir) {
  ASSERT_EQ(mkdir(dir.c_str(), 0777), 0);
  const uint32_t n = static_cast<uint32_t>(r.count());
  ASSERT_TRUE(WriteIdx(dir + "/images.idx", {n, 2, 1, 2}, r.pixels().data(), n * 4, false).ok());
  ASSERT_TRUE(WriteIdx(dir + "/labels.idx", {n}, r.labels().data(), n, false).ok());
  std::ostringstream json;
  json << "{\n  \"version\": 1,\n  \"capacity\": " << r.capacity() << ",\n  \"seen\": " << r.seen()
       << ",\n  \"seed\": " << r.seed() << ",\n  \"classes\": " << r.classes()
       << ",\n  \"height\": 2,\n  \"width\": 1,\n  \"channels\": 2,\n  \"count\": " << n << "\n}\n";
  Spit(dir + "/reservoir.json", json.str());
}

TEST(ReservoirTest, FillsBelowCapacityInOrder) {
  Reservoir r = Make(10, 5);
  OfferSummary a = OfferNext(&r, 4);
  EXPECT_EQ(a.offered, 4u);
  EXPECT_EQ(a.kept, 4u);
  OfferSummary b = OfferNext(&r, 3);
  EXPECT_EQ(b.kept, 3u);
  EXPECT_EQ(r.seen(), 7u);
  EXPECT_EQ(r.count(), 7u);
  EXPECT_EQ(Ids(r), (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(r.labels(), Labels(0, 7));
  // Exactly full: still everything, in order.
  EXPECT_EQ(OfferNext(&r, 3).kept, 3u);
  EXPECT_EQ(Ids(r), (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));

  std::unique_ptr<ImageSource> images = r.Images();
  ASSERT_EQ(images->size(), 10u);
  ASSERT_EQ(images->image_bytes(), 4u);
  uint8_t image[4];
  ASSERT_TRUE(images->Read(8, image).ok());
  EXPECT_EQ(IdOf(image), 8u);
  EXPECT_FALSE(images->Read(10, image).ok());
}

TEST(ReservoirTest, BeyondCapacityHoldsCapacityDistinctSamples) {
  Reservoir r = Make(10, 9);
  uint32_t seen = 0;
  for (uint32_t chunk : {7u, 1u, 12u, 5u, 40u}) {
    const std::vector<uint32_t> before = Ids(r);
    OfferSummary s = OfferNext(&r, chunk);
    seen += chunk;
    EXPECT_EQ(r.seen(), seen);
    EXPECT_EQ(r.count(), std::min<size_t>(seen, 10));
    const std::vector<uint32_t> ids = Ids(r);
    EXPECT_EQ(std::set<uint32_t>(ids.begin(), ids.end()).size(), ids.size()) << "duplicates";
    size_t from_chunk = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      ASSERT_LT(ids[i], seen);
      EXPECT_EQ(r.labels()[i], LabelOf(ids[i])) << "label travels with its image, slot " << i;
      if (ids[i] >= seen - chunk) {
        ++from_chunk;
      } else {
        EXPECT_EQ(ids[i], before[i]) << "an old sample stays in its slot or leaves";
      }
    }
    EXPECT_EQ(s.kept, from_chunk);
  }
}

TEST(ReservoirTest, SlotDrawsArePinned) {
  // Which samples a reservoir keeps must not change between builds or platforms, or a reservoir
  // saved by one would continue differently on another. The values were computed apart from
  // this code, by a Python transcription of splitmix64, MixSeed and Rng::Below.
  EXPECT_EQ(ReservoirSlot(1, 100, 40), 40u);
  EXPECT_EQ(ReservoirSlot(1, 106, 40), 37u);
  EXPECT_EQ(ReservoirSlot(1, 107, 40), 12u);
  EXPECT_EQ(ReservoirSlot(1, 113, 40), 6u);
  EXPECT_EQ(ReservoirSlot(12345, 40, 40), 34u);
  EXPECT_EQ(ReservoirSlot(7, 1000000, 1000), 1000u);
  // Any draw is a slot or "dropped".
  for (uint64_t t = 40; t < 2000; ++t) EXPECT_LE(ReservoirSlot(3, t, 40), 40u);
}

TEST(ReservoirTest, DeterministicForASeed) {
  const std::string root = TempDir();
  auto run = [&](uint64_t seed, const std::string& dir) {
    Reservoir r = Make(30, seed);
    for (uint32_t chunk : {25u, 25u, 60u, 3u}) OfferNext(&r, chunk);
    EXPECT_TRUE(r.Save(dir).ok());
    return Ids(r);
  };
  const std::vector<uint32_t> a = run(11, root + "/a");
  const std::vector<uint32_t> b = run(11, root + "/b");
  const std::vector<uint32_t> c = run(12, root + "/c");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c) << "another seed keeps other samples";
  for (const char* f : {"/images.1.idx", "/labels.1.idx", "/reservoir.json"}) {
    EXPECT_EQ(Slurp(root + "/a" + f), Slurp(root + "/b" + f)) << f;
  }
}

TEST(ReservoirTest, SavingBetweenRunsChangesNothing) {
  const std::string root = TempDir();
  Reservoir kept_in_memory = Make(20, 3);
  const std::string dir = root + "/r";
  uint32_t seen = 0;
  for (uint32_t chunk : {15u, 15u, 30u, 1u, 50u}) {
    OfferNext(&kept_in_memory, chunk);
    StatusOr<Reservoir> from_disk =
        seen == 0 ? Reservoir::Create(20, 3, kShape, 10) : Reservoir::Load(dir);
    ASSERT_TRUE(from_disk.ok()) << from_disk.status().ToString();
    OfferNext(&*from_disk, chunk);
    ASSERT_TRUE(from_disk->Save(dir).ok());
    seen += chunk;
    EXPECT_EQ(Ids(*from_disk), Ids(kept_in_memory)) << "after " << seen;
    EXPECT_EQ(from_disk->labels(), kept_in_memory.labels());
  }
}

TEST(ReservoirTest, SaveLoadRoundTrip) {
  const std::string dir = TempDir() + "/r";
  Reservoir r = Make(40, 77);
  OfferNext(&r, 30);
  OfferNext(&r, 30);
  ASSERT_TRUE(r.Save(dir).ok());
  EXPECT_EQ(Slurp(dir + "/reservoir.json"),
            "{\n  \"version\": 2,\n  \"capacity\": 40,\n  \"seen\": 60,\n  \"seed\": 77,\n"
            "  \"classes\": 10,\n  \"height\": 2,\n  \"width\": 1,\n  \"channels\": 2,\n"
            "  \"count\": 40,\n  \"generation\": 1\n}\n");
  StatusOr<IdxArray> images = ReadIdx(dir + "/images.1.idx");
  ASSERT_TRUE(images.ok());
  EXPECT_EQ(images->dims, (std::vector<uint32_t>{40, 2, 1, 2}));
  StatusOr<Reservoir> back = Reservoir::Load(dir);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->capacity(), 40u);
  EXPECT_EQ(back->seen(), 60u);
  EXPECT_EQ(back->seed(), 77u);
  EXPECT_EQ(back->classes(), 10);
  EXPECT_EQ(back->shape(), kShape);
  EXPECT_EQ(back->pixels(), r.pixels());
  EXPECT_EQ(back->labels(), r.labels());

  // One channel is written as a 3-D file, and read back.
  StatusOr<Reservoir> grey = Reservoir::Create(5, 1, ImageShape{1, 4, 1}, 3);
  ASSERT_TRUE(grey.ok());
  ASSERT_TRUE(grey->Offer(Samples(0, 2), {0, 2}).ok());
  ASSERT_TRUE(grey->Save(dir + "-grey").ok());
  images = ReadIdx(dir + "-grey/images.1.idx");
  ASSERT_TRUE(images.ok());
  EXPECT_EQ(images->dims, (std::vector<uint32_t>{2, 1, 4}));
  StatusOr<Reservoir> grey_back = Reservoir::Load(dir + "-grey");
  ASSERT_TRUE(grey_back.ok()) << grey_back.status().ToString();
  EXPECT_EQ(grey_back->pixels(), grey->pixels());
  EXPECT_EQ(grey_back->labels(), (std::vector<uint8_t>{0, 2}));
}

// Offers samples 0..9999 in runs of uneven sizes to capacity-100 reservoirs with many seeds:
// each sample must be kept with probability 100/10000, wherever and in whatever run it arrived.
TEST(ReservoirTest, EverySampleIsKeptWithProbabilityCapacityOverSeen) {
  constexpr uint32_t kSamples = 10000;
  constexpr size_t kCapacity = 100;
  constexpr int kSeeds = 1000;
  std::vector<int> kept(kSamples, 0);
  for (int seed = 0; seed < kSeeds; ++seed) {
    Reservoir r = Make(kCapacity, 1000 + seed);
    uint32_t chunk = 1 + static_cast<uint32_t>(seed % 7);
    while (r.seen() < kSamples) {
      chunk = 1 + (chunk * 37 + 11) % 613;  // 1..613, uneven, differs between seeds
      OfferNext(&r, std::min<uint32_t>(chunk, kSamples - static_cast<uint32_t>(r.seen())));
    }
    ASSERT_EQ(r.count(), kCapacity);
    for (uint32_t id : Ids(r)) ++kept[id];
  }
  // Per sample: kept ~ Binomial(1000, 0.01), mean 10. Pearson's statistic over the 10000
  // samples is near 9900 (sd ~145) for a correct sampler; the bound is 8 sd away. Drawing j
  // from [0, capacity) instead of [0, t], or always replacing a random slot, keeps the last
  // 100 samples 1000 times each and pushes it past 10^6.
  const double expected = static_cast<double>(kSeeds) * kCapacity / kSamples;
  double chi2 = 0;
  int most = 0;
  for (int k : kept) {
    chi2 += (k - expected) * (k - expected) / expected;
    most = std::max(most, k);
  }
  EXPECT_GT(chi2, 8700);
  EXPECT_LT(chi2, 11100) << "most often kept: " << most << " times";
  // P(Binomial(1000, 0.01) >= 36) is about 1e-10: no sample should come near it.
  EXPECT_LE(most, 35);
  // By position: each tenth of the stream holds a tenth of the reservoir (10000 samples over
  // the seeds, sd ~95). A sampler that favours recent or early samples fails here even if its
  // per-sample spread looks plausible.
  double chi2_tenths = 0;
  for (int tenth = 0; tenth < 10; ++tenth) {
    double sum = 0;
    for (uint32_t i = tenth * kSamples / 10; i < (tenth + 1) * kSamples / 10; ++i) sum += kept[i];
    const double e = expected * kSamples / 10;
    chi2_tenths += (sum - e) * (sum - e) / e;
  }
  EXPECT_LT(chi2_tenths, 45) << "chi-square with 9 degrees of freedom; p < 1e-6 above 45";
}

TEST(ReservoirTest, LoadErrorsNameTheFile) {
  const std::string root = TempDir();
  auto saved = [&](const std::string& name) {
    Reservoir r = Make(40, 2);
    OfferNext(&r, 50);
    EXPECT_TRUE(r.Save(root + "/" + name).ok());
    return root + "/" + name;
  };

  const std::string truncated = saved("truncated");
  const std::string bytes = Slurp(truncated + "/images.1.idx");
  Spit(truncated + "/images.1.idx", bytes.substr(0, bytes.size() - 5));
  StatusOr<Reservoir> r = Reservoir::Load(truncated);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("truncated/images.1.idx"), std::string::npos)
      << r.status().message();

  const std::string count = saved("count");
  std::string json = Slurp(count + "/reservoir.json");
  json.replace(json.find("\"count\": 40"), 11, "\"count\": 39");
  Spit(count + "/reservoir.json", json);
  r = Reservoir::Load(count);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("count/reservoir.json: count 39"), std::string::npos)
      << r.status().message();

  // The json agrees with itself but not with the images beside it.
  const std::string shape = saved("shape");
  json = Slurp(shape + "/reservoir.json");
  json.replace(json.find("\"height\": 2"), 11, "\"height\": 4");
  json.replace(json.find("\"channels\": 2"), 13, "\"channels\": 1");
  Spit(shape + "/reservoir.json", json);
  r = Reservoir::Load(shape);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("shape/images.1.idx: 40 images of 2x1x2"), std::string::npos)
      << r.status().message();

  const std::string label = saved("label");
  std::vector<uint8_t> labels(40, 3);
  labels[17] = 12;
  ASSERT_TRUE(WriteIdx(label + "/labels.1.idx", {40}, labels.data(), 40, false).ok());
  r = Reservoir::Load(label);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("label/labels.1.idx: label 12 of sample 17"),
            std::string::npos)
      << r.status().message();

  const std::string few = saved("few");
  ASSERT_TRUE(WriteIdx(few + "/labels.1.idx", {39}, labels.data(), 39, false).ok());
  r = Reservoir::Load(few);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("few/labels.1.idx: expected 40 labels"), std::string::npos)
      << r.status().message();

  const std::string garbled = saved("garbled");
  Spit(garbled + "/reservoir.json", "{\"capacity\": 40, \"seen\": -3}");
  r = Reservoir::Load(garbled);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("garbled/reservoir.json: \"seen\" must be"),
            std::string::npos)
      << r.status().message();
  Spit(garbled + "/reservoir.json", Slurp(saved("ok") + "/reservoir.json") + "x");
  r = Reservoir::Load(garbled);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("trailing bytes"), std::string::npos);
  json = Slurp(root + "/ok/reservoir.json");
  json.replace(json.find("\"seed\""), 6, "\"sede\"");
  Spit(garbled + "/reservoir.json", json);
  r = Reservoir::Load(garbled);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown key \"sede\""), std::string::npos)
      << r.status().message();
  ASSERT_TRUE(Reservoir::Load(root + "/ok").ok());
}

TEST(ReservoirTest, MissingOrInterruptedSaveIsNeverReadAsAReservoir) {
  const std::string root = TempDir();
  StatusOr<Reservoir> r = Reservoir::Load(root + "/nowhere");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("no reservoir in"), std::string::npos);
  r = Reservoir::Load(root);  // exists, empty
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);

  // A version 1 save (before generations) killed after it removed the old json and replaced
  // the images: the new images must not be read with the old labels.
  const std::string dir = root + "/r";
  Reservoir a = Make(10, 4);
  OfferNext(&a, 10);
  WriteVersion1(a, dir);
  ASSERT_TRUE(Reservoir::Load(dir).ok());
  ASSERT_EQ(unlink((dir + "/reservoir.json").c_str()), 0);
  Reservoir b = Make(10, 4);
  OfferNext(&b, 30);
  ASSERT_TRUE(WriteIdx(dir + "/images.idx", {10, 2, 1, 2}, b.pixels().data(), 40, false).ok());
  r = Reservoir::Load(dir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("no reservoir.json: an earlier save was interrupted"),
            std::string::npos)
      << r.status().message();
  // A complete save over it recovers, and takes the version 1 files away.
  ASSERT_TRUE(b.Save(dir).ok());
  r = Reservoir::Load(dir);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Ids(*r), Ids(b));
  EXPECT_EQ(Entries(dir),
            (std::vector<std::string>{"images.1.idx", "labels.1.idx", "reservoir.json"}));

  // A first save killed before its commit leaves a generation's files and no reservoir.json:
  // there is no reservoir yet, and the next save starts afresh beside them.
  const std::string first = root + "/first";
  ASSERT_EQ(mkdir(first.c_str(), 0777), 0);
  ASSERT_TRUE(WriteIdx(first + "/images.1.idx", {10, 2, 1, 2}, b.pixels().data(), 40, false).ok());
  r = Reservoir::Load(first);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
  ASSERT_TRUE(a.Save(first).ok());
  r = Reservoir::Load(first);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Ids(*r), Ids(a));
  EXPECT_EQ(Entries(first),
            (std::vector<std::string>{"images.2.idx", "labels.2.idx", "reservoir.json"}));
}

TEST(ReservoirTest, Version1DirectoryLoadsAndMigratesOnItsNextSave) {
  const std::string dir = TempDir() + "/old";
  Reservoir r = Make(20, 6);
  OfferNext(&r, 35);
  WriteVersion1(r, dir);
  StatusOr<Reservoir> loaded = Reservoir::Load(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->seen(), 35u);
  EXPECT_EQ(Ids(*loaded), Ids(r));
  EXPECT_EQ(loaded->labels(), r.labels());

  OfferNext(&*loaded, 9);
  OfferNext(&r, 9);
  ASSERT_TRUE(loaded->Save(dir).ok());
  EXPECT_EQ(Entries(dir),
            (std::vector<std::string>{"images.1.idx", "labels.1.idx", "reservoir.json"}));
  EXPECT_NE(Slurp(dir + "/reservoir.json").find("\"generation\": 1"), std::string::npos);
  StatusOr<Reservoir> again = Reservoir::Load(dir);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->seen(), 44u);
  EXPECT_EQ(Ids(*again), Ids(r));

  // A version 1 json that names a generation is not one this code wrote.
  std::string json = Slurp(dir + "/reservoir.json");
  json.replace(json.find("\"version\": 2"), 12, "\"version\": 1");
  Spit(dir + "/reservoir.json", json);
  again = Reservoir::Load(dir);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("version 1 has no \"generation\""), std::string::npos)
      << again.status().message();
  json.replace(json.find("\"version\": 1"), 12, "\"version\": 3");
  Spit(dir + "/reservoir.json", json);
  again = Reservoir::Load(dir);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("reads versions 1 and 2"), std::string::npos)
      << again.status().message();
}

TEST(ReservoirTest, EachSaveIsANewGenerationAndOnlyItsFilesRemain) {
  const std::string root = TempDir();
  const std::string dir = root + "/r";
  Reservoir r = Make(10, 2);
  for (uint64_t generation = 1; generation <= 3; ++generation) {
    OfferNext(&r, 4);
    ASSERT_TRUE(r.Save(dir).ok());
    const std::string g = std::to_string(generation);
    EXPECT_EQ(Entries(dir), (std::vector<std::string>{"images." + g + ".idx",
                                                      "labels." + g + ".idx", "reservoir.json"}));
  }
  // Leftovers of a killed save (a later generation's files, temporaries of a writer that has
  // ended) are ignored by Load and removed by the next save; files that are not the
  // reservoir's stay.
  const pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  const std::string dead = std::to_string(child);
  for (const std::string& name : {std::string("images.9.idx"), "labels.9.idx.tmp." + dead + ".3",
                                  "reservoir.json.tmp." + dead + ".4", std::string("notes.txt")}) {
    Spit(dir + "/" + name, "junk");
  }
  StatusOr<Reservoir> loaded = Reservoir::Load(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(Ids(*loaded), Ids(r));
  OfferNext(&r, 4);
  ASSERT_TRUE(r.Save(dir).ok());
  EXPECT_EQ(Entries(dir), (std::vector<std::string>{"images.10.idx", "labels.10.idx", "notes.txt",
                                                    "reservoir.json"}));
}

TEST(ReservoirTest, BadOffersLeaveTheReservoirAsItWas) {
  Reservoir r = Make(5, 1);
  OfferNext(&r, 7);
  const std::vector<uint32_t> before = Ids(r);
  const std::vector<uint8_t> labels_before = r.labels();

  std::vector<uint8_t> labels = Labels(7, 6);
  labels[4] = 12;
  StatusOr<OfferSummary> s = r.Offer(Samples(7, 6), labels);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("label 12 of sample 4"), std::string::npos)
      << s.status().message();
  s = r.Offer(Samples(7, 6), Labels(7, 5));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("6 images offered with 5 labels"), std::string::npos);
  s = r.Offer(MemoryImageSource(std::vector<uint8_t>(12), 3), Labels(7, 4));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("3 bytes each"), std::string::npos);

  // An image that cannot be read (a source that fails on its fourth image).
  class Failing : public ImageSource {
   public:
    size_t size() const override { return 50; }
    size_t image_bytes() const override { return 4; }
    Status Read(size_t index, uint8_t* out) const override {
      if (index == 3) return Error(StatusCode::kDataLoss, "image 3 is unreadable");
      for (int b = 0; b < 4; ++b) out[b] = 0xEE;
      return Status::Ok();
    }
  };
  // Into 60 slots all 50 are kept, so image 3 is read: the offer fails whole.
  Reservoir small = Make(60, 1);
  s = small.Offer(Failing(), std::vector<uint8_t>(50, kUnlabelled));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(small.count(), 0u);
  EXPECT_EQ(small.seen(), 0u);

  EXPECT_EQ(r.seen(), 7u);
  EXPECT_EQ(Ids(r), before);
  EXPECT_EQ(r.labels(), labels_before);
}

TEST(ReservoirTest, CreateAndSaveRefuseWhatCannotBeStored) {
  EXPECT_FALSE(Reservoir::Create(0, 1, kShape, 10).ok());
  EXPECT_FALSE(Reservoir::Create(kMaxReservoirCapacity + 1, 1, kShape, 10).ok());
  EXPECT_FALSE(Reservoir::Create(10, 1, ImageShape{0, 4, 1}, 10).ok());
  EXPECT_FALSE(Reservoir::Create(10, 1, kShape, 0).ok());
  EXPECT_FALSE(Reservoir::Create(10, 1, kShape, 255).ok());
  StatusOr<Reservoir> huge = Reservoir::Create(100000, 1, ImageShape{224, 224, 3}, 10);
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find("exceed one IDX file's limit"), std::string::npos);

  const std::string root = TempDir();
  Reservoir empty = Make(10, 1);
  Status s = empty.Save(root + "/empty");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  Reservoir one = Make(10, 1);
  OfferNext(&one, 1);
  s = one.Save(root + "/missing/parent");
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  Spit(root + "/file", "x");
  s = one.Save(root + "/file");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
}

}  // namespace
}  // namespace persephonee
