/* Embedding persephonee in C: personalise a backbone for one user from the app's images,
 * save the exits, and classify with them. Usage: example MODEL.psm OUT.pers */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persephonee/persephonee.h"

static size_t image_bytes;

/* The app's images; here image i is a flat grey, a stand-in for the user's photos. */
static int read_image(void* user, size_t i, uint8_t* pixels) {
  (void)user;
  memset(pixels, (int)(i % 4) * 60, image_bytes);
  return 0;
}

int main(int argc, char** argv) {
  psp_backbone* b = NULL;
  psp_exits* x = NULL;
  psp_model* m = NULL;
  psp_personalise_options o;
  psp_prediction p;
  psp_error* e;
  uint8_t* image = NULL;
  int h, w, c;
  if (argc != 3) return 2;
  if (!(e = psp_backbone_load(argv[1], 1, &b))) {
    psp_backbone_input_shape(b, &h, &w, &c);
    image_bytes = (size_t)h * (size_t)w * (size_t)c;
    psp_personalise_options_init(&o);
    o.exits = 2;
    o.epochs = 2;
    e = psp_personalise(b, 40, read_image, NULL, NULL, NULL, &o, &x);
  }
  if (!e && !(e = psp_exits_save(x, argv[2])) && !(e = psp_model_create(b, x, &m))) {
    image = calloc(image_bytes, 1);
    if (image != NULL && !(e = psp_model_classify_u8(m, image, 1, &p))) {
      printf("class %d at exit %d of %d, %.0f MACs\n", (int)p.label, (int)p.exit,
             psp_exits_count(x), p.macs);
    }
  }
  if (e) fprintf(stderr, "error %d: %s\n", (int)psp_error_code(e), psp_error_message(e));
  free(image);
  psp_error_free(e);
  psp_model_free(m);
  psp_exits_free(x);
  psp_backbone_free(b);
  return e != NULL || image == NULL;
}
