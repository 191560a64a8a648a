/* persephonee: personalise a pretrained CNN on the device with early exits. The C API.
 *
 * C99, no other header of the project needed. Opaque handles are created and freed in pairs.
 * Every call that can fail returns a psp_error* (NULL means success) with a code and a message
 * naming the file, argument or image at fault; no call aborts, throws or prints. On failure the
 * out-parameter is set to NULL and nothing is written to disk.
 *
 * Ownership: a handle returned through an out-parameter belongs to the caller, who frees it with
 * the matching *_free (NULL is accepted by every *_free). Handles do not borrow from each other:
 * they may be freed in any order. Pointers passed in are only read during the call.
 *
 * Threads: a psp_backbone and a psp_exits are immutable; any number of threads may use them at
 * once (load models, personalise, save). A psp_model holds its own buffers: one thread at a
 * time. Errors belong to whoever received them.
 */
#ifndef PERSEPHONEE_PERSEPHONEE_H_
#define PERSEPHONEE_PERSEPHONEE_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What kind of failure an error reports. */
typedef enum psp_code {
  PSP_OK = 0,
  PSP_INVALID_ARGUMENT,    /**< A NULL pointer, a bad size or value, a malformed input. */
  PSP_NOT_FOUND,           /**< A file or node that was named does not exist. */
  PSP_DATA_LOSS,           /**< A file is truncated, corrupt or fails its checksum. */
  PSP_RESOURCE_EXHAUSTED,  /**< Out of memory, or the memory budget cannot be met. */
  PSP_FAILED_PRECONDITION, /**< E.g. a personalisation made for another backbone. */
  PSP_CANCELLED,           /**< The progress callback asked to stop. */
  PSP_UNIMPLEMENTED,       /**< A valid request this build cannot serve. */
  PSP_INTERNAL             /**< A dependency failed unexpectedly. */
} psp_code;

/** An error; NULL means success. Owned by the caller: free it with psp_error_free. */
typedef struct psp_error psp_error;

/** The error's code; PSP_OK for NULL. Thread-safe. */
psp_code psp_error_code(const psp_error* e);
/** The error's message ("" for NULL); valid until psp_error_free(e). Thread-safe. */
const char* psp_error_message(const psp_error* e);
/** Frees an error; NULL is fine. */
void psp_error_free(psp_error* e);

/** The library's version, e.g. "0.1.0"; a static string. Thread-safe. */
const char* psp_version(void);

/** A backbone loaded once: parsed, hashed, optimised. Immutable: shareable across threads and
 * users. */
typedef struct psp_backbone psp_backbone;

/** Loads a model file (docs/model-format.md). `threads` (1..256) is what models created from it
 * run with. On success *out is the caller's, to free with psp_backbone_free. Thread-safe. */
psp_error* psp_backbone_load(const char* model_path, int threads, psp_backbone** out);
/** Frees a backbone; NULL is fine. Models and exits made from it stay valid. */
void psp_backbone_free(psp_backbone* b);
/** The input image's shape (each pointer may be NULL; all 0 when b is NULL). Thread-safe. */
void psp_backbone_input_shape(const psp_backbone* b, int* height, int* width, int* channels);
/** Outputs of the backbone's classifier; 0 when b is NULL. Thread-safe. */
int psp_backbone_num_classes(const psp_backbone* b);
/** Multiply-adds of the whole backbone per image (the original model's cost); 0 when b is NULL.
 * Thread-safe. */
double psp_backbone_macs(const psp_backbone* b);

/** One user's personalisation: the early exits, their heads and thresholds (kilobytes).
 * Immutable: shareable across threads. */
typedef struct psp_exits psp_exits;

/** Loads a personalisation file and checks it was made for `b` (PSP_FAILED_PRECONDITION
 * otherwise; PSP_DATA_LOSS for a truncated or corrupt file, PSP_NOT_FOUND for none). On success
 * *out is the caller's, to free with psp_exits_free. Thread-safe. */
psp_error* psp_exits_load(const psp_backbone* b, const char* path, psp_exits** out);
/** Writes `x` to `path` atomically: the old file or the new one, never a mixture, nothing left
 * beside it on failure. Thread-safe. */
psp_error* psp_exits_save(const psp_exits* x, const char* path);
/** Frees a personalisation; NULL is fine. */
void psp_exits_free(psp_exits* x);
/** Number of exits with a head (early exits, and the personalised final exit if there is one);
 * 0 when x is NULL. psp_prediction.exit equals this for the backbone's own final exit.
 * Thread-safe. */
int psp_exits_count(const psp_exits* x);
/** 1 if the calibration switched the early exits on for this user, 0 if every image goes
 * through the whole network (or x is NULL). Thread-safe. */
int psp_exits_enabled(const psp_exits* x);

/** How one image was answered. */
typedef struct psp_prediction {
  int32_t label;    /**< The class. */
  int32_t exit;     /**< 0-based exit that answered; psp_exits_count() = the backbone's final. */
  float confidence; /**< The answering exit's confidence score. */
  double macs;      /**< Multiply-adds actually computed for this image. */
} psp_prediction;

/** A backbone with one user's exits, ready to classify. One thread at a time. */
typedef struct psp_model psp_model;

/** Plans the backbone and the exits `x` (NULL: the original model, its final exit only) with
 * the backbone's threads. PSP_FAILED_PRECONDITION if `x` was made for another backbone. On
 * success *out is the caller's, to free with psp_model_free. Thread-safe for distinct `out`. */
psp_error* psp_model_create(const psp_backbone* b, const psp_exits* x, psp_model** out);
/** Classifies `count` images, `pixels` holding count x H x W x C bytes (NHWC; each byte p is the
 * value p / 255), writing `count` predictions to `out`. Not thread-safe for one model. */
psp_error* psp_model_classify_u8(psp_model* m, const uint8_t* pixels, size_t count,
                                 psp_prediction* out);
/** Frees a model; NULL is fine. */
void psp_model_free(psp_model* m);

/** Fills `pixels` (H x W x C bytes, NHWC) with image `index` (< count); returns 0 on success,
 * anything else fails the run with PSP_INVALID_ARGUMENT naming the image. Called on the thread
 * that called psp_personalise, one call at a time, any index any number of times. */
typedef int (*psp_read_image_fn)(void* user, size_t index, uint8_t* pixels);
/** Called after each epoch (1-based) with its mean loss, on the calling thread. Return non-zero
 * to cancel: psp_personalise then stops and returns PSP_CANCELLED. */
typedef int (*psp_progress_fn)(void* user, int epoch, int epochs, double loss);

/** Options of psp_personalise. Initialise with psp_personalise_options_init, then change fields;
 * `struct_size` lets the struct grow without breaking older callers. */
typedef struct psp_personalise_options {
  size_t struct_size; /**< sizeof(psp_personalise_options), set by the init function. */
  int exits;          /**< Early exits at even fractions of the FLOPs, 1..16 (default 4). */
  int epochs;         /**< Training epochs, >= 1 (default 10). */
  int threads;        /**< Threads for training, 1..256 (default 1). */
  uint64_t seed;      /**< Seeds the split, the order and the heads (default 1). */
  /** Bytes the call may add to the process's resident memory (default 64 MiB): the engine
   * plans against a peak of the resident set at the call's start plus this. 0: no limit.
   * PSP_RESOURCE_EXHAUSTED, naming the smallest that would do, if it cannot be met. */
  size_t memory_budget;
  psp_progress_fn progress; /**< NULL: no progress reports. */
  void* progress_user;      /**< Passed to `progress`. */
} psp_personalise_options;

/** Sets every field to its default and struct_size to sizeof(*o); NULL is ignored. */
void psp_personalise_options_init(psp_personalise_options* o);

/** Personalises `b` for one user: trains early exits on `count` images read through `read`,
 * calibrates their thresholds, and returns the personalisation in *out (the caller's, to free
 * with psp_exits_free). `labels`: count values, the class or -1 for unlabelled; NULL = none
 * labelled. `warm`: a personalisation of `b` to continue (its exits are kept), NULL = fresh.
 * `o`: NULL = defaults. Nothing is written to disk (psp_exits_save does that). Thread-safe:
 * several users may be personalised at once on one backbone (each call within its own budget,
 * measured on the whole process). */
psp_error* psp_personalise(const psp_backbone* b, size_t count, psp_read_image_fn read,
                           void* read_user, const int32_t* labels, const psp_exits* warm,
                           const psp_personalise_options* o, psp_exits** out);

#ifdef __cplusplus
}
#endif

#endif /* PERSEPHONEE_PERSEPHONEE_H_ */
