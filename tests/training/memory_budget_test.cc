// The whole process stays within the memory budget while personalising MobileNetV2 (224) on
// 512 user images: `persephonee personalise` runs as a child and its peak resident set
// (ru_maxrss from wait4) is compared with the 64 MiB default budget.
//
// Host only: one pass of MobileNetV2 over 512 images is 150 G multiply-accumulates, hours
// under qemu-aarch64.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/idx.h"
#include "graph/model_format.h"
#include "graph/zoo.h"

namespace persephonee {
namespace {

struct Child {
  int status = -1;
  long max_rss_kib = 0;
  std::string output;
};

Child RunChild(const std::vector<std::string>& args, const std::string& log) {
  Child c;
  const pid_t pid = fork();
  if (pid == 0) {
    FILE* out = std::freopen(log.c_str(), "w", stdout);
    (void)out;
    dup2(fileno(stdout), fileno(stderr));
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  rusage usage{};
  wait4(pid, &c.status, 0, &usage);
  c.max_rss_kib = usage.ru_maxrss;
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  c.output = text.str();
  return c;
}

TEST(MemoryBudgetTest, MobilenetV2On512ImagesStaysUnder64MiB) {
  const std::string dir = ::testing::TempDir();
  auto model = BuildZooModel("mobilenet_v2", 1);
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE(SaveGraph(*model, dir + "/mobilenet_v2.psm").ok());
  const uint32_t n = 512, side = 224;
  {
    // Deterministic "photos": smooth gradients with a per-image offset, uint8.
    std::vector<uint8_t> pixels(static_cast<size_t>(n) * side * side * 3);
    for (size_t i = 0; i < pixels.size(); ++i) {
      const size_t image = i / (side * side * 3), p = i % (side * side * 3);
      pixels[i] =
          static_cast<uint8_t>((p / 3 % side + p / (3 * side) + 37 * image + p % 3 * 50) & 0xff);
    }
    ASSERT_TRUE(
        WriteIdx(dir + "/images.idx", {n, side, side, 3}, pixels.data(), pixels.size(), false)
            .ok());
  }
  std::vector<uint8_t> labels(n);
  for (uint32_t i = 0; i < n; ++i)
    labels[i] = static_cast<uint8_t>(i % 5 == 0 ? i % 1000 % 256 : 255);
  ASSERT_TRUE(WriteIdx(dir + "/labels.idx", {n}, labels.data(), n, false).ok());

  const Child c = RunChild(
      {"tools/persephonee", "personalise", "--model", dir + "/mobilenet_v2.psm", "--images",
       dir + "/images.idx", "--epochs", "1", "--memory-budget", "64M", "--out", dir + "/user.pers"},
      dir + "/personalise.log");
  ASSERT_TRUE(WIFEXITED(c.status)) << c.output;
  ASSERT_EQ(WEXITSTATUS(c.status), 0) << c.output;
  EXPECT_NE(c.output.find("plan: batch"), std::string::npos) << c.output;
  const double mib = c.max_rss_kib / 1024.0;
  std::printf("peak RSS of `persephonee personalise` (mobilenet_v2, 512 images): %.1f MiB\n", mib);
  EXPECT_LT(mib, 64.0) << c.output;
}

}  // namespace
}  // namespace persephonee
