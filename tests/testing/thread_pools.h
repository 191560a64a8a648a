// Scaffolding for the tests of threaded kernel entry points (tests/kernels/*/threaded_test.cc):
// every pool a test runs on (none, 1, 2 and 3 threads), outputs that show an element never
// written (NaN) or written past the end (guards), and bitwise comparisons.
#ifndef PERSEPHONEE_TESTS_TESTING_THREAD_POOLS_H_
#define PERSEPHONEE_TESTS_TESTING_THREAD_POOLS_H_

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace persephonee {
namespace testing_threads {

/// Elements past the end of every guarded buffer.
constexpr size_t kGuard = 5;
/// What the guards of a float buffer hold.
constexpr float kGuardValue = 1234.5f;
/// What the guards of an index buffer hold.
constexpr int32_t kGuardIndex = 0x5A5A5A5A;

/// No pool, then pools of 1, 2 and 3 threads, created once and destroyed with this object. A
/// pool that cannot be created, or that has another thread count, fails the test.
class TestPools {
 public:
  TestPools();
  TestPools(const TestPools&) = delete;
  TestPools& operator=(const TestPools&) = delete;

  /// nullptr, then the pools of 1, 2 and 3 threads.
  std::vector<pthreadpool_t> all() const;
  /// "no pool" or "<n> threads", for failure messages.
  static std::string Name(pthreadpool_t pool);

 private:
  std::vector<std::unique_ptr<pthreadpool, decltype(&pthreadpool_destroy)>> owned_;
};

/// `size` elements of `fill`, then kGuard elements of `guard`.
template <typename T>
std::vector<T> Guarded(size_t size, T fill, T guard) {
  std::vector<T> v(size + kGuard, fill);
  for (size_t i = size; i < v.size(); ++i) v[i] = guard;
  return v;
}

/// An output of `size` floats: NaN (an element never written fails a bitwise comparison with
/// a written one), then guards of kGuardValue.
std::vector<float> NanOutput(size_t size);
/// An output of `size` indices: -7, then guards of kGuardIndex.
std::vector<int32_t> IndexOutput(size_t size);

/// Fails the test, naming `what`, the first differing element and the count without guards,
/// unless `got` and `want` are the same size and bitwise identical (guards included).
void ExpectSameBits(const std::vector<float>& got, const std::vector<float>& want,
                    const std::string& what);
void ExpectSameBits(const std::vector<int32_t>& got, const std::vector<int32_t>& want,
                    const std::string& what);
/// Fails the test, naming `what`, unless the totals `got` and `want` are bitwise identical.
void ExpectSameBits(float got, float want, const std::string& what);

}  // namespace testing_threads
}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_TESTING_THREAD_POOLS_H_
