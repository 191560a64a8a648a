#include "tests/testing/thread_pools.h"

#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <cmath>
#include <cstring>

namespace persephonee {
namespace testing_threads {
namespace {

template <typename T>
void ExpectSameElements(const std::vector<T>& got, const std::vector<T>& want,
                        const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  if (std::memcmp(got.data(), want.data(), got.size() * sizeof(T)) == 0) return;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::memcmp(&got[i], &want[i], sizeof(T)) != 0) {
      ADD_FAILURE() << what << ": element " << i << " of " << got.size() - kGuard << " is "
                    << got[i] << ", the single-threaded kernel's is " << want[i];
      return;
    }
  }
}

}  // namespace

TestPools::TestPools() {
  for (size_t threads : {1, 2, 3}) {
    owned_.emplace_back(pthreadpool_create(threads), pthreadpool_destroy);
    EXPECT_NE(owned_.back().get(), nullptr);
    EXPECT_EQ(pthreadpool_get_threads_count(owned_.back().get()), threads);
  }
}

std::vector<pthreadpool_t> TestPools::all() const {
  std::vector<pthreadpool_t> pools = {nullptr};
  for (const auto& p : owned_) pools.push_back(p.get());
  return pools;
}

std::string TestPools::Name(pthreadpool_t pool) {
  return pool == nullptr ? "no pool"
                         : std::to_string(pthreadpool_get_threads_count(pool)) + " threads";
}

std::vector<float> NanOutput(size_t size) { return Guarded(size, std::nanf(""), kGuardValue); }

std::vector<int32_t> IndexOutput(size_t size) { return Guarded<int32_t>(size, -7, kGuardIndex); }

void ExpectSameBits(const std::vector<float>& got, const std::vector<float>& want,
                    const std::string& what) {
  ExpectSameElements(got, want, what);
}

void ExpectSameBits(const std::vector<int32_t>& got, const std::vector<int32_t>& want,
                    const std::string& what) {
  ExpectSameElements(got, want, what);
}

void ExpectSameBits(float got, float want, const std::string& what) {
  EXPECT_EQ(std::memcmp(&got, &want, sizeof(float)), 0)
      << what << ": total " << got << ", the single-threaded kernel's " << want;
}

}  // namespace testing_threads
}  // namespace persephonee
