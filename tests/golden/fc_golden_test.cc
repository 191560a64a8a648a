// Fully-connected kernels against PyTorch (F.linear forward, autograd backward) on the fixtures
// made by tools/make_golden_fixtures.py: the scalar oracle, the GEMM path (1 and 2 threads) and
// XNNPACK's forward.
#include <pthreadpool.h>

#include <string>
#include <utility>
#include <vector>

#include "kernels/fc/fc.h"
#include "kernels/fc/xnnpack.h"
#include "tests/golden/compare.h"
#include "tests/golden/fixture.h"

namespace persephonee {
namespace golden {
namespace {

const char* const kFcCases[] = {"fc_batch1", "fc_batch3", "fc_batch5", "fc_batch2_wide"};

struct FcCase {
  std::string source;
  FcShape shape;
  FixtureArray x, w, b, dy, y, dx, dw, db;
};

Status LoadFcCase(const std::string& stem, FcCase* c) {
  ASSIGN_OR_RETURN(Fixture f, Fixture::Load(FixturePath(stem)));
  c->source = f.source();
  ASSIGN_OR_RETURN(const FixtureArray* x, f.Find("x", FixtureDtype::kFloat32, 2));
  ASSIGN_OR_RETURN(const FixtureArray* w, f.Find("w", FixtureDtype::kFloat32, 2));
  c->shape.batch = x->dims[0];
  c->shape.in = x->dims[1];
  c->shape.out = w->dims[0];
  const FcShape& s = c->shape;
  const std::pair<FixtureArray*, std::pair<const char*, std::vector<size_t>>> arrays[] = {
      {&c->x, {"x", {s.batch, s.in}}},  {&c->w, {"w", {s.out, s.in}}},
      {&c->b, {"b", {s.out}}},          {&c->dy, {"dy", {s.batch, s.out}}},
      {&c->y, {"y", {s.batch, s.out}}}, {&c->dx, {"dx", {s.batch, s.in}}},
      {&c->dw, {"dw", {s.out, s.in}}},  {&c->db, {"db", {s.out}}},
  };
  for (const auto& [dst, spec] : arrays) {
    ASSIGN_OR_RETURN(const FixtureArray* a, f.FindFloat(spec.first, spec.second));
    *dst = *a;
  }
  return Status::Ok();
}

class FcGoldenTest : public ::testing::TestWithParam<const char*> {
 protected:
  static void SetUpTestSuite() { pool_ = pthreadpool_create(2); }
  static void TearDownTestSuite() {
    pthreadpool_destroy(pool_);
    pool_ = nullptr;
  }
  void SetUp() override {
    const Status loaded = LoadFcCase(GetParam(), &case_);
    ASSERT_TRUE(loaded.ok()) << loaded.ToString();
  }

  // Forward sums `in` products and the bias; dx sums over `out`; dW and db over the batch.
  void ExpectForward(const std::string& name, const std::vector<float>& y) const {
    ExpectGolden(name + " forward y", y, case_.y, case_.source, case_.shape.in + 1);
  }
  void ExpectBackward(const std::string& name, const std::vector<float>& dx,
                      const std::vector<float>& dw, const std::vector<float>& db) const {
    ExpectGolden(name + " backward-input dx", dx, case_.dx, case_.source, case_.shape.out);
    ExpectGolden(name + " backward-weight dw", dw, case_.dw, case_.source, case_.shape.batch);
    ExpectGolden(name + " backward-weight db", db, case_.db, case_.source, case_.shape.batch);
  }

  static pthreadpool_t pool_;
  FcCase case_;
};
pthreadpool_t FcGoldenTest::pool_ = nullptr;

TEST_P(FcGoldenTest, Scalar) {
  const FcCase& c = case_;
  std::vector<float> y = NanBuffer(c.y.size()), dx = NanBuffer(c.dx.size()),
                     dw = NanBuffer(c.dw.size()), db = NanBuffer(c.db.size());
  f32_fc_fwd__scalar(c.shape, c.x.f32.data(), c.w.f32.data(), c.b.f32.data(), y.data());
  f32_fc_bwd_input__scalar(c.shape, c.dy.f32.data(), c.w.f32.data(), dx.data());
  f32_fc_bwd_weight__scalar(c.shape, c.x.f32.data(), c.dy.f32.data(), dw.data(), db.data());
  ExpectForward("f32_fc_*__scalar", y);
  ExpectBackward("f32_fc_*__scalar", dx, dw, db);
}

TEST_P(FcGoldenTest, Gemm) {
  const FcCase& c = case_;
  for (pthreadpool_t pool : {static_cast<pthreadpool_t>(nullptr), pool_}) {
    const std::string name = pool ? "f32_fc_* (2 threads)" : "f32_fc_* (calling thread)";
    std::vector<float> y = NanBuffer(c.y.size()), dx = NanBuffer(c.dx.size()),
                       dw = NanBuffer(c.dw.size()), db = NanBuffer(c.db.size());
    f32_fc_fwd(c.shape, c.x.f32.data(), c.w.f32.data(), c.b.f32.data(), y.data(), pool);
    f32_fc_bwd_input(c.shape, c.dy.f32.data(), c.w.f32.data(), dx.data(), pool);
    f32_fc_bwd_weight(c.shape, c.x.f32.data(), c.dy.f32.data(), dw.data(), db.data(), pool);
    ExpectForward(name, y);
    ExpectBackward(name, dx, dw, db);
  }
}

TEST_P(FcGoldenTest, XnnpackForward) {
  const FcCase& c = case_;
  StatusOr<XnnFullyConnected> op =
      XnnFullyConnected::Create(c.shape.in, c.shape.out, c.w.f32.data(), c.b.f32.data());
  ASSERT_TRUE(op.ok()) << c.source << ": " << op.status().ToString();
  std::vector<float> y = NanBuffer(c.y.size());
  Status status = op->Setup(c.shape.batch, c.x.f32.data(), y.data(), nullptr);
  ASSERT_TRUE(status.ok()) << c.source << ": " << status.ToString();
  status = op->Run(nullptr);
  ASSERT_TRUE(status.ok()) << c.source << ": " << status.ToString();
  ExpectForward("XnnFullyConnected", y);
}

INSTANTIATE_TEST_SUITE_P(PyTorch, FcGoldenTest, ::testing::ValuesIn(kFcCases),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace golden
}  // namespace persephonee
