/* Runs api/example.c, the README's embedding example, linked against libpersephonee.so: the
 * example's main, given the backbone and a file under TEST_TMPDIR, must succeed and write it. */
#include <stdio.h>
#include <stdlib.h>

#define main example_main
#include "api/example.c"
#undef main

int main(int argc, char** argv) {
  char out[1024];
  char* args[3];
  const char* tmp = getenv("TEST_TMPDIR");
  FILE* f;
  int rc;
  if (argc != 2) return 2;
  sprintf(out, "%.900s/example.pers", tmp != NULL ? tmp : "/tmp");
  remove(out);
  args[0] = argv[0];
  args[1] = argv[1];
  args[2] = out;
  rc = example_main(3, args);
  f = fopen(out, "rb");
  if (rc != 0 || f == NULL) {
    fprintf(stderr, "example: exit code %d, %s %s\n", rc, out, f != NULL ? "written" : "missing");
    return 1;
  }
  fclose(f);
  return 0;
}
