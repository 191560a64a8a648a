/* The C API from plain C (C99, -pedantic): the header stands alone, a user is personalised
 * from a read callback, a run is cancelled from the progress callback, the exits are saved,
 * reloaded and classify as before, and bad arguments give the right code and a message naming
 * what is at fault. Usage: c_api_test BACKBONE.psm FOREIGN.psm (two backbones of the same
 * shape with different weights, written by make_test_models). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persephonee/persephonee.h"

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

/* Checks that `e` has `code` and that its message contains `part`; frees it. */
#define CHECK_ERROR(e, code, part) check_error((e), (code), (part), __LINE__)
static void check_error(psp_error* e, psp_code code, const char* part, int line) {
  if (psp_error_code(e) != code || strstr(psp_error_message(e), part) == NULL) {
    fprintf(stderr, "%s:%d: expected code %d with '%s', got %d: '%s'\n", __FILE__, line, (int)code,
            part, (int)psp_error_code(e), psp_error_message(e));
    ++failures;
  }
  psp_error_free(e);
}

#define CHECK_OK(e) check_ok((e), __LINE__)
static int check_ok(psp_error* e, int line) {
  if (e != NULL) {
    fprintf(stderr, "%s:%d: unexpected error %d: %s\n", __FILE__, line, (int)psp_error_code(e),
            psp_error_message(e));
    ++failures;
    psp_error_free(e);
    return 0;
  }
  return 1;
}

enum { kImages = 48, kSide = 28, kPixels = kSide * kSide, kClasses = 4 };

/* Synthetic images with noise: class 0 horizontal stripes, 1 vertical stripes, 2 a checkerboard,
 * 3 flat grey (textures the backbone's global pooling still tells apart). */
typedef struct images {
  uint8_t pixels[kImages][kPixels];
  int32_t labels[kImages];
  size_t fail_at; /* the read callback fails for this index (kImages: never) */
} images;

static void make_images(images* im) {
  uint32_t state = 12345u;
  size_t i, p;
  for (i = 0; i < kImages; ++i) {
    const int c = (int)(i % kClasses);
    im->labels[i] = c;
    for (p = 0; p < kPixels; ++p) {
      const int row = (int)(p / kSide) / 2, col = (int)(p % kSide) / 2;
      const int on = c == 0 ? row % 2 : c == 1 ? col % 2 : c == 2 ? (row + col) % 2 : 0;
      state = state * 1664525u + 1013904223u;
      im->pixels[i][p] = (uint8_t)((c == 3 ? 100 : 0) + 180 * on + (int)(state >> 26));
    }
  }
  im->fail_at = kImages;
}

static int read_image(void* user, size_t index, uint8_t* pixels) {
  images* im = (images*)user;
  if (index == im->fail_at) return 7;
  memcpy(pixels, im->pixels[index], kPixels);
  return 0;
}

typedef struct progress {
  int calls;
  int cancel_at; /* non-zero return at this epoch (0: never) */
  double last_loss;
} progress;

static int on_progress(void* user, int epoch, int epochs, double loss) {
  progress* p = (progress*)user;
  ++p->calls;
  p->last_loss = loss;
  CHECK(epoch == p->calls && epoch <= epochs);
  return epoch == p->cancel_at;
}

static int file_exists(const char* path) {
  FILE* f = fopen(path, "rb");
  if (f == NULL) return 0;
  fclose(f);
  return 1;
}

/* Writes the first half of file `from` to `to`. */
static int truncate_copy(const char* from, const char* to) {
  static unsigned char bytes[1 << 20];
  size_t n;
  FILE* in = fopen(from, "rb");
  FILE* out;
  if (in == NULL) return 0;
  n = fread(bytes, 1, sizeof(bytes), in);
  fclose(in);
  out = fopen(to, "wb");
  if (out == NULL) return 0;
  fwrite(bytes, 1, n / 2, out);
  fclose(out);
  return n > 0;
}

int main(int argc, char** argv) {
  static images im;
  static psp_prediction before[kImages], after[kImages], original[kImages];
  char saved[1024], truncated[1024], cancelled[1024];
  const char* tmp = getenv("TEST_TMPDIR");
  psp_backbone* b = NULL;
  psp_backbone* foreign = NULL;
  psp_exits* x = NULL;
  psp_exits* y = NULL;
  psp_exits* warm = NULL;
  psp_model* m = NULL;
  psp_model* m2 = NULL;
  psp_model* m0 = NULL;
  psp_personalise_options o;
  progress pr;
  int h = 0, w = 0, c = 0, correct = 0;
  size_t i;

  if (argc != 3) {
    fprintf(stderr, "usage: c_api_test BACKBONE FOREIGN\n");
    return 2;
  }
  if (tmp == NULL) tmp = "/tmp";
  sprintf(saved, "%.900s/user.pers", tmp);
  sprintf(truncated, "%.900s/truncated.pers", tmp);
  sprintf(cancelled, "%.900s/cancelled.pers", tmp);
  remove(saved);
  remove(cancelled);
  make_images(&im);
  CHECK(strlen(psp_version()) > 0);

  /* Loading, and what a backbone says about itself. */
  CHECK_ERROR(psp_backbone_load(NULL, 1, &b), PSP_INVALID_ARGUMENT, "model_path");
  CHECK(b == NULL);
  CHECK_ERROR(psp_backbone_load(argv[1], 1, NULL), PSP_INVALID_ARGUMENT, "out");
  CHECK_ERROR(psp_backbone_load(argv[1], 0, &b), PSP_INVALID_ARGUMENT, "threads");
  CHECK_ERROR(psp_backbone_load("/nonexistent/model.psm", 1, &b), PSP_NOT_FOUND,
              "/nonexistent/model.psm");
  CHECK(b == NULL);
  if (!CHECK_OK(psp_backbone_load(argv[1], 1, &b)) ||
      !CHECK_OK(psp_backbone_load(argv[2], 1, &foreign))) {
    return 1;
  }
  psp_backbone_input_shape(b, &h, &w, &c);
  CHECK(h == kSide && w == kSide && c == 1);
  CHECK(psp_backbone_num_classes(b) == 10);
  CHECK(psp_backbone_macs(b) > 0);
  psp_backbone_input_shape(NULL, &h, &w, NULL);
  CHECK(h == 0 && w == 0);
  CHECK(psp_backbone_num_classes(NULL) == 0);

  /* Options and bad arguments to psp_personalise. */
  psp_personalise_options_init(&o);
  CHECK(o.struct_size == sizeof(o) && o.exits == 4 && o.epochs == 10 && o.threads == 1);
  CHECK(o.memory_budget == (size_t)64 << 20 && o.progress == NULL);
  o.exits = 1;
  o.epochs = 3;
  o.memory_budget = (size_t)1 << 30; /* room for sanitizers; the budget is tested elsewhere */
  CHECK_ERROR(psp_personalise(NULL, kImages, read_image, &im, im.labels, NULL, &o, &x),
              PSP_INVALID_ARGUMENT, "'b'");
  CHECK_ERROR(psp_personalise(b, kImages, NULL, &im, im.labels, NULL, &o, &x), PSP_INVALID_ARGUMENT,
              "'read'");
  CHECK_ERROR(psp_personalise(b, kImages, read_image, &im, im.labels, NULL, &o, NULL),
              PSP_INVALID_ARGUMENT, "'out'");
  o.struct_size = sizeof(o) - 1;
  CHECK_ERROR(psp_personalise(b, kImages, read_image, &im, im.labels, NULL, &o, &x),
              PSP_INVALID_ARGUMENT, "struct_size");
  o.struct_size = sizeof(o) + 8;
  CHECK_ERROR(psp_personalise(b, kImages, read_image, &im, im.labels, NULL, &o, &x),
              PSP_INVALID_ARGUMENT, "struct_size");
  o.struct_size = sizeof(o);
  im.labels[5] = 10;
  CHECK_ERROR(psp_personalise(b, kImages, read_image, &im, im.labels, NULL, &o, &x),
              PSP_INVALID_ARGUMENT, "of image 5");
  im.labels[5] = 5 % kClasses;
  im.fail_at = 9;
  CHECK_ERROR(psp_personalise(b, kImages, read_image, &im, im.labels, NULL, &o, &x),
              PSP_INVALID_ARGUMENT, "image 9: the read callback returned 7");
  im.fail_at = kImages;
  CHECK(x == NULL);

  /* Cancelled from the progress callback after the first epoch: no result, no later epoch. */
  memset(&pr, 0, sizeof(pr));
  pr.cancel_at = 1;
  o.progress = on_progress;
  o.progress_user = &pr;
  CHECK_ERROR(psp_personalise(b, kImages, read_image, &im, im.labels, NULL, &o, &x), PSP_CANCELLED,
              "cancelled");
  CHECK(x == NULL);
  CHECK(pr.calls == 1);
  CHECK_ERROR(psp_exits_save(x, cancelled), PSP_INVALID_ARGUMENT, "'x'");
  CHECK(!file_exists(cancelled));

  /* A whole run, every epoch reported. */
  memset(&pr, 0, sizeof(pr));
  o.epochs = 150;
  if (!CHECK_OK(psp_personalise(b, kImages, read_image, &im, im.labels, NULL, &o, &x))) return 1;
  CHECK(pr.calls == 150);
  CHECK(isfinite(pr.last_loss) && pr.last_loss > 0);
  CHECK(psp_exits_count(x) >= 1);
  CHECK(psp_exits_enabled(x) == 0 || psp_exits_enabled(x) == 1);

  /* Save, reload, and the reloaded exits answer exactly as the ones in memory. */
  CHECK_ERROR(psp_exits_save(x, NULL), PSP_INVALID_ARGUMENT, "'path'");
  CHECK_OK(psp_exits_save(x, saved));
  CHECK_ERROR(psp_exits_load(b, NULL, &y), PSP_INVALID_ARGUMENT, "'path'");
  CHECK_ERROR(psp_exits_load(NULL, saved, &y), PSP_INVALID_ARGUMENT, "'b'");
  if (!CHECK_OK(psp_exits_load(b, saved, &y))) return 1;
  CHECK(psp_exits_count(y) == psp_exits_count(x));
  CHECK(CHECK_OK(psp_model_create(b, x, &m)) && CHECK_OK(psp_model_create(b, y, &m2)) &&
        CHECK_OK(psp_model_create(b, NULL, &m0)));
  if (m == NULL || m2 == NULL || m0 == NULL) return 1;
  CHECK_OK(psp_model_classify_u8(m, &im.pixels[0][0], kImages, before));
  CHECK_OK(psp_model_classify_u8(m2, &im.pixels[0][0], kImages, after));
  CHECK_OK(psp_model_classify_u8(m0, &im.pixels[0][0], kImages, original));
  for (i = 0; i < kImages; ++i) {
    CHECK(before[i].label == after[i].label && before[i].exit == after[i].exit);
    CHECK(before[i].confidence == after[i].confidence && before[i].macs == after[i].macs);
    CHECK(before[i].label >= 0 && before[i].label < 10);
    CHECK(before[i].exit >= 0 && before[i].exit <= psp_exits_count(x));
    CHECK(before[i].macs > 0);
    /* Early exits off: every image goes on to the last exit. */
    if (!psp_exits_enabled(x)) CHECK(before[i].exit >= psp_exits_count(x) - 1);
    /* The original model: its final exit (index 0: it has no heads), the backbone's cost. */
    CHECK(original[i].exit == 0 && original[i].macs == psp_backbone_macs(b));
    correct += before[i].label == im.labels[i];
  }
  /* The bands are easy: the personalised exits learn them (chance is 1 in 4). */
  CHECK(correct >= kImages / 2);
  printf("personalised: %d of %d training images right, %d exits\n", correct, kImages,
         psp_exits_count(x));
  CHECK_ERROR(psp_model_classify_u8(m, NULL, 1, before), PSP_INVALID_ARGUMENT, "'pixels'");
  CHECK_ERROR(psp_model_classify_u8(m, &im.pixels[0][0], 1, NULL), PSP_INVALID_ARGUMENT, "'out'");
  CHECK_ERROR(psp_model_classify_u8(NULL, &im.pixels[0][0], 1, before), PSP_INVALID_ARGUMENT,
              "'m'");
  CHECK_OK(psp_model_classify_u8(m, NULL, 0, NULL));
  psp_model_free(m2);
  psp_exits_free(y);
  m2 = NULL;
  y = NULL;

  /* A personalisation made for another backbone is refused everywhere. */
  CHECK_ERROR(psp_exits_load(foreign, saved, &y), PSP_FAILED_PRECONDITION, "SHA-256");
  CHECK(y == NULL);
  CHECK_ERROR(psp_model_create(foreign, x, &m2), PSP_FAILED_PRECONDITION, "another backbone");
  CHECK(m2 == NULL);
  CHECK_ERROR(psp_personalise(foreign, kImages, read_image, &im, im.labels, x, &o, &warm),
              PSP_FAILED_PRECONDITION, "another backbone");

  /* A truncated file: data loss, naming the file. */
  CHECK(truncate_copy(saved, truncated));
  CHECK_ERROR(psp_exits_load(b, truncated, &y), PSP_DATA_LOSS, truncated);
  CHECK(y == NULL);
  CHECK_ERROR(psp_exits_load(b, "/nonexistent/user.pers", &y), PSP_NOT_FOUND,
              "/nonexistent/user.pers");

  /* Continuing the personalisation (a warm start) keeps its exits; no labels this time. */
  o.epochs = 1;
  memset(&pr, 0, sizeof(pr));
  if (CHECK_OK(psp_personalise(b, kImages, read_image, &im, NULL, x, &o, &warm))) {
    CHECK(psp_exits_count(warm) == psp_exits_count(x));
    CHECK(pr.calls == 1);
  }

  psp_model_free(m);
  psp_model_free(m0);
  psp_exits_free(warm);
  psp_exits_free(x);
  psp_backbone_free(foreign);
  psp_backbone_free(b);
  psp_model_free(NULL);
  psp_exits_free(NULL);
  psp_backbone_free(NULL);
  psp_error_free(NULL);
  CHECK(psp_error_code(NULL) == PSP_OK && strcmp(psp_error_message(NULL), "") == 0);
  if (failures != 0) fprintf(stderr, "%d checks failed\n", failures);
  return failures == 0 ? 0 : 1;
}
