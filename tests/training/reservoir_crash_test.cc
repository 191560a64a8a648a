// Kills, tears, fails and fills the disk under Reservoir::Save at every one of its file system
// calls (tests/testing/file_faults.h), from every starting state a phone can be in: no
// reservoir yet, a reservoir of this version, one of version 1 (before generations), and one
// with the leftovers of an earlier killed save. After each fault the directory must load as
// the old reservoir or the new one (never neither, never a mixture), exactly the old one up to
// the commit (the rename of reservoir.json) and the new one after it when the process is
// killed, and a further save must work and leave nothing behind but its own three files.
#include <dirent.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/file_io.h"
#include "base/idx.h"
#include "tests/testing/file_faults.h"
#include "training/labels.h"
#include "training/reservoir.h"

namespace persephonee {
namespace {

using file_faults::FaultAction;
using testing::ChildOutcome;
using testing::FaultActionName;
using testing::LogCalls;
using testing::RunInChild;

const ImageShape kShape = {2, 1, 2};

// A reservoir of capacity 10 that has seen `seen` samples (sample i's image spells out i).
Reservoir MakeSeen(uint32_t seen) {
  Reservoir r = Reservoir::Create(10, 7, kShape, 10).value();
  std::vector<uint8_t> pixels(size_t{seen} * 4);
  std::vector<uint8_t> labels(seen);
  for (uint32_t i = 0; i < seen; ++i) {
    for (int b = 0; b < 4; ++b) pixels[size_t{i} * 4 + b] = static_cast<uint8_t>(i >> (8 * b));
    labels[i] = i % 4 == 3 ? kUnlabelled : static_cast<uint8_t>(i % 10);
  }
  EXPECT_TRUE(r.Offer(MemoryImageSource(std::move(pixels), 4), labels).ok());
  return r;
}

bool Same(const Reservoir& a, const Reservoir& b) {
  return a.seen() == b.seen() && a.capacity() == b.capacity() && a.pixels() == b.pixels() &&
         a.labels() == b.labels();
}

std::string Root() {
  const char* root = getenv("TEST_TMPDIR");
  std::string pattern = std::string(root != nullptr && *root ? root : "/tmp") + "/crash.XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  EXPECT_NE(mkdtemp(buffer.data()), nullptr);
  return buffer.data();
}

void RemoveTree(const std::string& dir) {
  StatusOr<std::vector<std::string>> names = ListDirectory(dir);
  if (names.ok()) {
    for (const std::string& n : *names) unlink((dir + "/" + n).c_str());
  }
  rmdir(dir.c_str());
}

std::vector<std::string> Entries(const std::string& dir) {
  StatusOr<std::vector<std::string>> names = ListDirectory(dir);
  return names.ok() ? *names : std::vector<std::string>{"<cannot list>"};
}

// The version 1 layout, as the code before generations wrote it.
void WriteVersion1(const Reservoir& r, const std::string& dir) {
  ASSERT_EQ(mkdir(dir.c_str(), 0777), 0);
  ASSERT_TRUE(WriteIdx(dir + "/images.idx", {static_cast<uint32_t>(r.count()), 2, 1, 2},
                       r.pixels().data(), r.pixels().size(), false)
                  .ok());
  ASSERT_TRUE(WriteIdx(dir + "/labels.idx", {static_cast<uint32_t>(r.count())}, r.labels().data(),
                       r.labels().size(), false)
                  .ok());
  const std::string json =
      "{\n  \"version\": 1,\n  \"capacity\": 10,\n  \"seen\": " + std::to_string(r.seen()) +
      ",\n  \"seed\": 7,\n  \"classes\": 10,\n  \"height\": 2,\n"
      "  \"width\": 1,\n  \"channels\": 2,\n  \"count\": " +
      std::to_string(r.count()) + "\n}\n";
  ASSERT_TRUE(WriteFileAtomically(dir + "/reservoir.json", json.data(), json.size()).ok());
}

enum class Start { kNothing, kCurrent, kVersion1, kLeftovers };

const char* StartName(Start s) {
  switch (s) {
    case Start::kNothing:
      return "no reservoir";
    case Start::kCurrent:
      return "a reservoir";
    case Start::kVersion1:
      return "a version 1 reservoir";
    case Start::kLeftovers:
      return "a reservoir with leftovers";
  }
  return "?";
}

// Puts `old` into `dir` as `start` says (nothing for kNothing).
void Prepare(Start start, const Reservoir& old, const std::string& dir) {
  RemoveTree(dir);
  switch (start) {
    case Start::kNothing:
      return;
    case Start::kCurrent:
      ASSERT_TRUE(old.Save(dir).ok());
      return;
    case Start::kVersion1:
      WriteVersion1(old, dir);
      return;
    case Start::kLeftovers: {
      // Two saves, so that the current generation is 2; then what a save killed before its
      // commit leaves: generation 3's images (garbage), and a temporary of its labels whose
      // writer (a finished child process) is gone.
      ASSERT_TRUE(old.Save(dir).ok());
      ASSERT_TRUE(old.Save(dir).ok());
      const pid_t child = fork();
      if (child == 0) _exit(0);
      ASSERT_GT(child, 0);
      int status = 0;
      ASSERT_EQ(waitpid(child, &status, 0), child);
      for (const std::string& name :
           {std::string("images.3.idx"), "labels.3.idx.tmp." + std::to_string(child) + ".0"}) {
        ASSERT_TRUE(WriteFileAtomically(dir + "/" + name, "junk", 4).ok());
      }
      return;
    }
  }
}

// Which reservoir `dir` holds: 0 none (kNotFound), 1 `old`, 2 `next`, -1 anything else.
int Which(const std::string& dir, const Reservoir& old, const Reservoir& next, std::string* why) {
  StatusOr<Reservoir> loaded = Reservoir::Load(dir);
  if (!loaded.ok()) {
    *why = loaded.status().ToString();
    return loaded.status().code() == StatusCode::kNotFound ? 0 : -1;
  }
  if (Same(*loaded, old)) return 1;
  if (Same(*loaded, next)) return 2;
  *why = "a reservoir that has seen " + std::to_string(loaded->seen());
  return -1;
}

// The 1-based number of the call that commits: the rename of reservoir.json's temporary.
size_t CommitCall(const std::vector<std::string>& log) {
  for (size_t i = 0; i < log.size(); ++i) {
    if (log[i].rfind("rename ", 0) == 0 &&
        log[i].find("/reservoir.json.tmp.") != std::string::npos) {
      return i + 1;
    }
  }
  return 0;
}

class ReservoirCrashTest : public ::testing::TestWithParam<Start> {};

TEST_P(ReservoirCrashTest, EveryFaultLeavesTheOldOrTheNewReservoir) {
  const Start start = GetParam();
  const std::string root = Root();
  const std::string dir = root + "/reservoir";
  const Reservoir old = MakeSeen(15);
  const Reservoir next = MakeSeen(22);
  const Reservoir third = MakeSeen(30);
  const int old_state = start == Start::kNothing ? 0 : 1;

  Prepare(start, old, dir);
  const std::vector<std::string> log = LogCalls([&] { return next.Save(dir); });
  ASSERT_FALSE(log.empty()) << "the save itself fails";
  const size_t commit = CommitCall(log);
  ASSERT_GT(commit, 0u) << "no rename of reservoir.json among " << log.size() << " calls";
  std::string calls;
  for (size_t i = 0; i < log.size(); ++i) calls += std::to_string(i + 1) + " " + log[i] + "\n";
  SCOPED_TRACE(std::string("from ") + StartName(start) + ", calls of the save:\n" + calls);

  // What a process kill cannot show, a power cut would: the order of syncs. Every file renamed
  // into place was fsynced first; the directory is fsynced after the last data file's rename
  // and before the commit, and after the commit before anything is removed.
  size_t last_data_rename = 0, dir_sync_before_commit = 0, dir_sync_after_commit = 0;
  size_t first_unlink = 0;
  for (size_t i = 0; i < log.size(); ++i) {
    const std::string& call = log[i];
    if (call.rfind("rename ", 0) == 0) {
      const std::string temp = call.substr(7);
      bool synced = false;
      for (size_t j = 0; j < i; ++j) synced = synced || log[j] == "fsync " + temp;
      EXPECT_TRUE(synced) << "renamed before it was fsynced: " << temp;
      if (i + 1 < commit) last_data_rename = i + 1;
    }
    if (call.rfind("fsync-dir " + dir, 0) == 0 && call.size() == 10 + dir.size()) {
      if (i + 1 < commit && i + 1 > last_data_rename) dir_sync_before_commit = i + 1;
      if (i + 1 > commit && dir_sync_after_commit == 0) dir_sync_after_commit = i + 1;
    }
    if (call.rfind("unlink ", 0) == 0 && i + 1 > commit && first_unlink == 0) first_unlink = i + 1;
  }
  EXPECT_GT(last_data_rename, 0u);
  EXPECT_GT(dir_sync_before_commit, last_data_rename) << "data renames not synced before commit";
  EXPECT_GT(dir_sync_after_commit, commit) << "the commit itself is not synced";
  if (first_unlink != 0) {
    EXPECT_LT(dir_sync_after_commit, first_unlink) << "removed before the commit was synced";
  }

  for (FaultAction action :
       {FaultAction::kExit, FaultAction::kTornWrite, FaultAction::kFail, FaultAction::kNoSpace}) {
    int saw_old = 0, saw_new = 0;
    for (size_t at = 1; at <= log.size(); ++at) {
      SCOPED_TRACE(std::string(FaultActionName(action)) + " at call " + std::to_string(at) + ": " +
                   log[at - 1]);
      Prepare(start, old, dir);
      const ChildOutcome outcome = RunInChild([&] { return next.Save(dir); }, at, action);
      const bool kills = action == FaultAction::kExit || action == FaultAction::kTornWrite;
      if (kills) {
        ASSERT_TRUE(outcome.killed_by_fault) << outcome.error;
      } else {
        ASSERT_FALSE(outcome.killed_by_fault);
        // A failure is reported, naming the file, unless it struck the tidying after the
        // commit (which a later save finishes).
        if (!outcome.succeeded) {
          EXPECT_NE(outcome.error.find(dir), std::string::npos) << outcome.error;
          EXPECT_NE(outcome.error.find(action == FaultAction::kFail ? "Input/output error"
                                                                    : "No space left on device"),
                    std::string::npos)
              << outcome.error;
        } else {
          EXPECT_GT(at, commit) << "a fault before the commit went unreported";
        }
      }

      std::string why;
      const int state = Which(dir, old, next, &why);
      ASSERT_TRUE(state == old_state || state == 2)
          << "neither the old nor the new reservoir: " << why
          << "; files: " << ::testing::PrintToString(Entries(dir));
      if (kills) {
        // Killed before the commit's rename: the old one; from the rename on: the new one.
        EXPECT_EQ(state, at <= commit ? old_state : 2);
      } else if (at <= commit) {
        EXPECT_EQ(state, old_state) << "a failed save must not half-commit";
      }
      (state == 2 ? saw_new : saw_old)++;

      // The next run saves again, and that leaves exactly its own generation.
      const Status saved = third.Save(dir);
      ASSERT_TRUE(saved.ok()) << saved.ToString();
      StatusOr<Reservoir> back = Reservoir::Load(dir);
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      EXPECT_TRUE(Same(*back, third));
      const std::vector<std::string> files = Entries(dir);
      ASSERT_EQ(files.size(), 3u) << ::testing::PrintToString(files);
      EXPECT_EQ(files[0].rfind("images.", 0), 0u);
      EXPECT_EQ(files[1].rfind("labels.", 0), 0u);
      EXPECT_EQ(files[2], "reservoir.json");
    }
    // Both sides of the commit were reached, so the faults above did land on both sides.
    EXPECT_GT(saw_old, 0) << FaultActionName(action);
    if (action != FaultAction::kFail && action != FaultAction::kNoSpace) {
      EXPECT_GT(saw_new, 0) << FaultActionName(action);
    }
  }
  RemoveTree(dir);
  rmdir(root.c_str());
}

INSTANTIATE_TEST_SUITE_P(AllStarts, ReservoirCrashTest,
                         ::testing::Values(Start::kNothing, Start::kCurrent, Start::kVersion1,
                                           Start::kLeftovers),
                         [](const ::testing::TestParamInfo<Start>& info) {
                           switch (info.param) {
                             case Start::kNothing:
                               return std::string("Nothing");
                             case Start::kCurrent:
                               return std::string("Current");
                             case Start::kVersion1:
                               return std::string("Version1");
                             case Start::kLeftovers:
                               return std::string("Leftovers");
                           }
                           return std::string("Unknown");
                         });

}  // namespace
}  // namespace persephonee
