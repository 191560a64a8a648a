// Hashing simulated users for the tests that pin them (users_test, users_family_test).
#ifndef PERSEPHONEE_TESTS_TRAINING_USERS_TESTING_H_
#define PERSEPHONEE_TESTS_TRAINING_USERS_TESTING_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "training/users.h"

namespace persephonee {
namespace users_testing {

/// 64-bit FNV-1a of `size` bytes, continuing from `hash`.
inline uint64_t Fnv1a(const void* data, size_t size, uint64_t hash = 0xcbf29ce484222325ull) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) hash = (hash ^ p[i]) * 0x100000001b3ull;
  return hash;
}

/// A hash of everything a user is made of: its images, labels, source records (little-endian)
/// and user.json (which has the proportions and transform parameters to 17 digits).
inline uint64_t HashUser(const UserData& d, uint64_t hash) {
  for (const std::vector<uint8_t>* bytes :
       {&d.train_images, &d.train_labels, &d.train_true_labels, &d.test_images, &d.test_labels}) {
    hash = Fnv1a(bytes->data(), bytes->size(), hash);
  }
  for (const std::vector<uint32_t>* indices : {&d.train_indices, &d.test_indices}) {
    for (uint32_t r : *indices) {
      const uint8_t bytes[4] = {static_cast<uint8_t>(r), static_cast<uint8_t>(r >> 8),
                                static_cast<uint8_t>(r >> 16), static_cast<uint8_t>(r >> 24)};
      hash = Fnv1a(bytes, 4, hash);
    }
  }
  const std::string json = UserJson(d);
  return Fnv1a(json.data(), json.size(), hash);
}

}  // namespace users_testing
}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_TRAINING_USERS_TESTING_H_
