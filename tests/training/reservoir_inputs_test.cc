// Reservoir::Load refuses files that are not regular files (a FIFO, a directory, a device)
// without blocking, and files larger than reservoir.json allows, naming the file each time.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/file_io.h"
#include "base/idx.h"
#include "training/reservoir.h"

namespace persephonee {
namespace {

Reservoir Make(size_t capacity, uint64_t seed) {
  StatusOr<Reservoir> r = Reservoir::Create(capacity, seed, ImageShape{2, 1, 2}, 10);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

void OfferNext(Reservoir* r, uint32_t n) {
  std::vector<uint8_t> pixels(size_t{n} * 4, 7);
  EXPECT_TRUE(r->Offer(MemoryImageSource(std::move(pixels), 4), std::vector<uint8_t>(n, 1)).ok());
}

std::string TempDir() {
  const char* root = getenv("TEST_TMPDIR");
  std::string pattern = std::string(root != nullptr && *root ? root : "/tmp") + "/inputs.XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  EXPECT_NE(mkdtemp(buffer.data()), nullptr);
  return buffer.data();
}

TEST(ReservoirInputsTest, FilesThatAreNotRegularOrTooLargeAreRefusedByName) {
  const std::string root = TempDir();
  Reservoir r = Make(10, 2);
  OfferNext(&r, 12);
  // reservoir.json as a FIFO: refused at once (it would block open(2) if read as usual).
  const std::string fifo = root + "/fifo";
  ASSERT_TRUE(r.Save(fifo).ok());
  ASSERT_EQ(unlink((fifo + "/reservoir.json").c_str()), 0);
  ASSERT_EQ(mkfifo((fifo + "/reservoir.json").c_str(), 0600), 0);
  StatusOr<Reservoir> loaded = Reservoir::Load(fifo);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(loaded.status().message().find("fifo/reservoir.json' is a named pipe"),
            std::string::npos)
      << loaded.status().message();
  // The images a FIFO, a directory, then a link to /dev/zero.
  const std::string images = root + "/images";
  ASSERT_TRUE(r.Save(images).ok());
  const std::string path = images + "/images.1.idx";
  ASSERT_EQ(unlink(path.c_str()), 0);
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  loaded = Reservoir::Load(images);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("images/images.1.idx' is a named pipe"),
            std::string::npos)
      << loaded.status().message();
  ASSERT_EQ(unlink(path.c_str()), 0);
  ASSERT_EQ(mkdir(path.c_str(), 0700), 0);
  loaded = Reservoir::Load(images);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("images/images.1.idx' is a directory"),
            std::string::npos)
      << loaded.status().message();
  ASSERT_EQ(rmdir(path.c_str()), 0);
  ASSERT_EQ(symlink("/dev/zero", path.c_str()), 0);
  loaded = Reservoir::Load(images);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("images/images.1.idx' is a character device"),
            std::string::npos)
      << loaded.status().message();
  // A sparse 1 GiB reservoir.json is refused by its size, without reading it.
  const std::string big = root + "/big";
  ASSERT_TRUE(r.Save(big).ok());
  ASSERT_EQ(truncate((big + "/reservoir.json").c_str(), off_t{1} << 30), 0);
  loaded = Reservoir::Load(big);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(loaded.status().message().find("big/reservoir.json' is 1073741824 bytes, more than"),
            std::string::npos)
      << loaded.status().message();
  // Images whose header announces more than reservoir.json gives them are not read.
  const std::string more = root + "/more";
  ASSERT_TRUE(r.Save(more).ok());
  std::vector<uint8_t> pixels(11 * 4, 1);
  ASSERT_TRUE(WriteIdx(more + "/images.1.idx", {11, 2, 1, 2}, pixels.data(), 44, false).ok());
  loaded = Reservoir::Load(more);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("more/images.1.idx': IDX dimensions 11 x 2 x 1 x 2"),
            std::string::npos)
      << loaded.status().message();
}

}  // namespace
}  // namespace persephonee
