// Helpers for tests that run a 28x28x1 backbone on images (early_exit_test, teacher_trust_test).
#ifndef PERSEPHONEE_TESTS_TRAINING_IMAGE_MODEL_TESTING_H_
#define PERSEPHONEE_TESTS_TRAINING_IMAGE_MODEL_TESTING_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/engine.h"
#include "graph/graph.h"

namespace persephonee {
namespace image_model_testing {

constexpr size_t kPixels = 28 * 28;

/// Pixels p / 255, as training scales them.
inline std::vector<float> Scaled(const std::vector<uint8_t>& p) {
  std::vector<float> f(p.size());
  for (size_t i = 0; i < p.size(); ++i) f[i] = p[i] * (1.0f / 255.0f);
  return f;
}

/// The original model's 10 logits for each of `n` images, from the engine alone at batch 1.
inline std::vector<float> OriginalLogits(const Graph& backbone, const std::vector<float>& images,
                                         size_t n) {
  EngineOptions eo;
  auto engine = Engine::Create(backbone, eo).value();
  std::vector<float> logits;
  for (size_t i = 0; i < n; ++i) {
    std::copy_n(images.begin() + static_cast<std::ptrdiff_t>(i * kPixels), kPixels,
                engine->input());
    EXPECT_TRUE(engine->Run().ok());
    logits.insert(logits.end(), engine->output(), engine->output() + 10);
  }
  return logits;
}

}  // namespace image_model_testing
}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_TRAINING_IMAGE_MODEL_TESTING_H_
