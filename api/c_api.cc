// The C API (include/persephonee/persephonee.h) over the C++ facade (api/persephonee.h).
//
// Every entry point runs its body inside Guard(), which turns a Status into a psp_error and
// catches whatever a C++ dependency might throw (std::bad_alloc becomes
// PSP_RESOURCE_EXHAUSTED, anything else PSP_INTERNAL), so nothing crosses the C boundary. If
// even the error cannot be allocated, a static one is returned, which psp_error_free ignores.
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "api/persephonee.h"
#include "base/status.h"
#include "base/version.h"
#include "persephonee/persephonee.h"
#include "training/labels.h"

struct psp_error {
  psp_code code;
  std::string message;
};

struct psp_backbone {
  std::shared_ptr<const persephonee::api::Backbone> backbone;
};

struct psp_exits {
  persephonee::Personalisation p;
};

struct psp_model {
  std::unique_ptr<persephonee::api::Model> model;
  std::vector<persephonee::ExitAnswer> answers;
};

namespace {

using persephonee::Status;
using persephonee::StatusCode;

psp_error kOutOfMemory{PSP_RESOURCE_EXHAUSTED, "out of memory (even for this message)"};

psp_code CodeOf(StatusCode c) {
  switch (c) {
    case StatusCode::kOk:
      return PSP_OK;
    case StatusCode::kInvalidArgument:
      return PSP_INVALID_ARGUMENT;
    case StatusCode::kNotFound:
      return PSP_NOT_FOUND;
    case StatusCode::kDataLoss:
      return PSP_DATA_LOSS;
    case StatusCode::kFailedPrecondition:
      return PSP_FAILED_PRECONDITION;
    case StatusCode::kResourceExhausted:
      return PSP_RESOURCE_EXHAUSTED;
    case StatusCode::kUnimplemented:
      return PSP_UNIMPLEMENTED;
    case StatusCode::kCancelled:
      return PSP_CANCELLED;
    case StatusCode::kInternal:
      return PSP_INTERNAL;
  }
  return PSP_INTERNAL;
}

psp_error* MakeError(psp_code code, const char* function, const std::string& message) noexcept {
  try {
    return new psp_error{code, std::string(function) + ": " + message};
  } catch (...) {
    return &kOutOfMemory;
  }
}

// Runs `body` (returning a Status); converts its failure or any exception into a psp_error.
template <typename Body>
psp_error* Guard(const char* function, Body&& body) noexcept {
  try {
    const Status s = body();
    if (s.ok()) return nullptr;
    return MakeError(CodeOf(s.code()), function, s.message());
  } catch (const std::bad_alloc&) {
    return MakeError(PSP_RESOURCE_EXHAUSTED, function, "out of memory");
  } catch (const std::exception& e) {
    return MakeError(PSP_INTERNAL, function, std::string("unexpected exception: ") + e.what());
  } catch (...) {
    return MakeError(PSP_INTERNAL, function, "unexpected exception");
  }
}

// kInvalidArgument naming a NULL argument.
#define PSP_REQUIRE(ptr) \
  ENSURE_CODE((ptr) != nullptr, kInvalidArgument, "argument '" #ptr "' is NULL")

// Images read through the application's callback.
class CallbackImages : public persephonee::ImageSource {
 public:
  CallbackImages(size_t count, size_t image_bytes, psp_read_image_fn read, void* user)
      : count_(count), image_bytes_(image_bytes), read_(read), user_(user) {}
  size_t size() const override { return count_; }
  size_t image_bytes() const override { return image_bytes_; }
  Status Read(size_t index, uint8_t* out) const override {
    ENSURE(index < count_, "image ", index, " requested of ", count_);
    const int r = read_(user_, index, out);
    ENSURE(r == 0, "image ", index, ": the read callback returned ", r);
    return Status::Ok();
  }

 private:
  size_t count_, image_bytes_;
  psp_read_image_fn read_;
  void* user_;
};

}  // namespace

extern "C" {

psp_code psp_error_code(const psp_error* e) { return e == nullptr ? PSP_OK : e->code; }

const char* psp_error_message(const psp_error* e) { return e == nullptr ? "" : e->message.c_str(); }

void psp_error_free(psp_error* e) {
  if (e != &kOutOfMemory) delete e;
}

const char* psp_version(void) { return PERSEPHONEE_VERSION; }

psp_error* psp_backbone_load(const char* model_path, int threads, psp_backbone** out) {
  if (out != nullptr) *out = nullptr;
  return Guard(__func__, [&]() -> Status {
    PSP_REQUIRE(out);
    PSP_REQUIRE(model_path);
    ENSURE(threads >= 1 && threads <= 256, "argument 'threads' must be 1..256, got ", threads);
    ASSIGN_OR_RETURN(auto b, persephonee::api::Backbone::Load(model_path, threads));
    *out = new psp_backbone{std::move(b)};
    return Status::Ok();
  });
}

void psp_backbone_free(psp_backbone* b) { delete b; }

void psp_backbone_input_shape(const psp_backbone* b, int* height, int* width, int* channels) {
  if (height != nullptr) *height = b == nullptr ? 0 : b->backbone->height();
  if (width != nullptr) *width = b == nullptr ? 0 : b->backbone->width();
  if (channels != nullptr) *channels = b == nullptr ? 0 : b->backbone->channels();
}

int psp_backbone_num_classes(const psp_backbone* b) {
  return b == nullptr ? 0 : b->backbone->classes();
}

double psp_backbone_macs(const psp_backbone* b) {
  return b == nullptr ? 0.0 : static_cast<double>(b->backbone->macs());
}

psp_error* psp_exits_load(const psp_backbone* b, const char* path, psp_exits** out) {
  if (out != nullptr) *out = nullptr;
  return Guard(__func__, [&]() -> Status {
    PSP_REQUIRE(out);
    PSP_REQUIRE(b);
    PSP_REQUIRE(path);
    ASSIGN_OR_RETURN(persephonee::Personalisation p,
                     persephonee::api::LoadExits(*b->backbone, path));
    *out = new psp_exits{std::move(p)};
    return Status::Ok();
  });
}

psp_error* psp_exits_save(const psp_exits* x, const char* path) {
  return Guard(__func__, [&]() -> Status {
    PSP_REQUIRE(x);
    PSP_REQUIRE(path);
    return persephonee::api::SaveExits(x->p, path);
  });
}

void psp_exits_free(psp_exits* x) { delete x; }

int psp_exits_count(const psp_exits* x) {
  return x == nullptr ? 0 : static_cast<int>(x->p.exits.size());
}

int psp_exits_enabled(const psp_exits* x) {
  if (x == nullptr) return 0;
  const persephonee::Personalisation& p = x->p;
  if (p.calibration.has_value()) return p.calibration->exits_on ? 1 : 0;
  // Older files: an early exit (not the personalised final one) with a threshold below +inf.
  const size_t early = p.exits.size() - (p.personal_final && !p.exits.empty() ? 1 : 0);
  for (size_t e = 0; e < early; ++e) {
    if (p.exits[e].threshold < std::numeric_limits<float>::infinity()) return 1;
  }
  return 0;
}

psp_error* psp_model_create(const psp_backbone* b, const psp_exits* x, psp_model** out) {
  if (out != nullptr) *out = nullptr;
  return Guard(__func__, [&]() -> Status {
    PSP_REQUIRE(out);
    PSP_REQUIRE(b);
    ASSIGN_OR_RETURN(auto m,
                     persephonee::api::Model::Create(*b->backbone, x == nullptr ? nullptr : &x->p));
    *out = new psp_model{std::move(m), {}};
    return Status::Ok();
  });
}

psp_error* psp_model_classify_u8(psp_model* m, const uint8_t* pixels, size_t count,
                                 psp_prediction* out) {
  return Guard(__func__, [&]() -> Status {
    PSP_REQUIRE(m);
    if (count == 0) return Status::Ok();
    PSP_REQUIRE(pixels);
    PSP_REQUIRE(out);
    m->answers.resize(count);
    RETURN_IF_ERROR(m->model->ClassifyU8(pixels, count, m->answers.data()));
    for (size_t i = 0; i < count; ++i) {
      const persephonee::ExitAnswer& a = m->answers[i];
      out[i].label = a.prediction;
      out[i].exit = a.exit;
      out[i].confidence = a.score;
      out[i].macs = static_cast<double>(a.macs);
    }
    return Status::Ok();
  });
}

void psp_model_free(psp_model* m) { delete m; }

void psp_personalise_options_init(psp_personalise_options* o) {
  if (o == nullptr) return;
  std::memset(o, 0, sizeof(*o));
  o->struct_size = sizeof(*o);
  o->exits = 4;
  o->epochs = 10;
  o->threads = 1;
  o->seed = 1;
  o->memory_budget = size_t{64} << 20;
}

psp_error* psp_personalise(const psp_backbone* b, size_t count, psp_read_image_fn read,
                           void* read_user, const int32_t* labels, const psp_exits* warm,
                           const psp_personalise_options* o, psp_exits** out) {
  if (out != nullptr) *out = nullptr;
  return Guard(__func__, [&]() -> Status {
    PSP_REQUIRE(out);
    PSP_REQUIRE(b);
    PSP_REQUIRE(read);
    psp_personalise_options opts;
    psp_personalise_options_init(&opts);
    if (o != nullptr) {
      // One version of the struct so far: its size is the only one accepted.
      ENSURE(o->struct_size == sizeof(psp_personalise_options), "argument 'o': struct_size is ",
             o->struct_size, ", expected ", sizeof(psp_personalise_options),
             " (call psp_personalise_options_init)");
      opts = *o;
    }
    ENSURE(opts.exits >= 1 && opts.exits <= 16, "argument 'o': exits must be 1..16, got ",
           opts.exits);
    ENSURE(opts.epochs >= 1 && opts.epochs <= 100000, "argument 'o': epochs must be >= 1, got ",
           opts.epochs);
    ENSURE(opts.threads >= 1 && opts.threads <= 256, "argument 'o': threads must be 1..256, got ",
           opts.threads);
    ENSURE(count >= 2, "argument 'count': at least 2 images are needed, got ", count);
    const persephonee::api::Backbone& backbone = *b->backbone;
    std::vector<uint8_t> label_bytes(count, persephonee::kUnlabelled);
    if (labels != nullptr) {
      for (size_t i = 0; i < count; ++i) {
        ENSURE(labels[i] >= -1 && labels[i] < backbone.classes(), "argument 'labels': label ",
               labels[i], " of image ", i, " is not a class (0..", backbone.classes() - 1,
               ") nor -1 (unlabelled)");
        ENSURE_CODE(labels[i] < static_cast<int32_t>(persephonee::kUnlabelled), kUnimplemented,
                    "argument 'labels': label ", labels[i], " of image ", i,
                    ": labels above 254 are not supported yet");
        if (labels[i] >= 0) label_bytes[i] = static_cast<uint8_t>(labels[i]);
      }
    }
    persephonee::api::UserOptions uo;
    uo.exits.exits = opts.exits;
    uo.training.epochs = opts.epochs;
    uo.training.threads = opts.threads;
    uo.training.seed = opts.seed;
    const size_t rss = persephonee::CurrentRssBytes();
    uo.training.memory_budget =
        opts.memory_budget == 0 || opts.memory_budget > std::numeric_limits<size_t>::max() - rss
            ? std::numeric_limits<size_t>::max()
            : rss + opts.memory_budget;
    persephonee::api::ProgressFn progress;
    if (opts.progress != nullptr) {
      progress = [&](int epoch, int epochs, double loss, double, double) {
        return opts.progress(opts.progress_user, epoch, epochs, loss) == 0;
      };
    }
    CallbackImages images(count, backbone.image_bytes(), read, read_user);
    ASSIGN_OR_RETURN(
        persephonee::api::UserRun run,
        persephonee::api::PersonaliseUser(backbone, images, label_bytes, uo,
                                          warm == nullptr ? nullptr : &warm->p, progress));
    *out = new psp_exits{std::move(run.personalisation)};
    return Status::Ok();
  });
}

}  // extern "C"
