/* libvips peer for the thumbnail benchmark (issue 4): one decode serves all
 * three sizes. The JPEG is loaded once with libvips' shrink-on-load (the
 * largest power-of-two shrink, at most 8, that leaves at least a factor 2 for
 * the final reduce to the largest thumbnail: vips_thumbnail's rule in 8.14), EXIF-rotated, copied to
 * memory; the large size is made from that with vips_thumbnail_image (Lanczos-3
 * reduce), the medium from the large and the small from the medium (the same
 * cascade libmediastore uses) and saved as a JPEG at Q 85 with all metadata stripped.
 * One core: concurrency 1; the operation cache is off so every repetition
 * really decodes.
 *
 *   vips_one serve [FORMAT]        "REPS PATH" lines on stdin; answers
 *                                  "ok CPU_MS,... WALL_MS,..." (process CPU time)
 *   vips_one write PATH OUTDIR [FORMAT]  writes small.EXT medium.EXT large.EXT
 *
 * FORMAT: jpeg (default; jpegsave Q 85), webp (webpsave Q 88, effort 4, as
 * libmediastore's WebP) or avif (heifsave AV1, Q 78, effort 1 = aom speed 8,
 * 4:2:0, as libmediastore's AVIF); every format strips metadata.
 *
 * Built by bench/thumbnails/run.sh with libvips-dev (cc ... `pkg-config --cflags --libs vips`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vips/vips.h>

static const int kBox[3][2] = {{800, 600}, {300, 300}, {150, 150}};
static const char* kName[3] = {"large", "medium", "small"};
static const char* g_format = "jpeg";

static int save(VipsImage* t, void** buf, size_t* len) {
  if (strcmp(g_format, "webp") == 0)
    return vips_webpsave_buffer(t, buf, len, "Q", 88, "effort", 4, "strip", TRUE, NULL);
  if (strcmp(g_format, "avif") == 0)
    return vips_heifsave_buffer(t, buf, len, "Q", 78, "compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1, "effort", 1,
                                "subsample_mode", VIPS_FOREIGN_SUBSAMPLE_ON, "strip", TRUE, NULL);
  return vips_jpegsave_buffer(t, buf, len, "Q", 85, "strip", TRUE, NULL);
}
static const char* ext(void) { return strcmp(g_format, "jpeg") == 0 ? "jpg" : g_format; }

static double now_ms(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Makes the three thumbnails; writes them to outdir when given. 0 on success. */
static int thumbs(const char* path, const char* outdir) {
  VipsImage* head = vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
  if (!head) return -1;
  int w = vips_image_get_width(head), h = vips_image_get_height(head);
  int orient = vips_image_get_orientation(head);
  g_object_unref(head);
  if (orient >= 5 && orient <= 8) {
    int t = w;
    w = h;
    h = t;
  }
  double scale = (double)kBox[0][0] / w;
  if ((double)kBox[0][1] / h < scale) scale = (double)kBox[0][1] / h;
  int shrink = 1;
  while (shrink < 8 && 1.0 / scale >= 4 * shrink) shrink *= 2;

  VipsImage* img = NULL;
  if (vips_jpegload(path, &img, "shrink", shrink, "autorotate", TRUE, NULL)) return -1;
  VipsImage* mem = vips_image_copy_memory(img); /* the one decode */
  g_object_unref(img);
  if (!mem) return -1;
  int rc = 0;
  for (int i = 0; i < 3 && rc == 0; ++i) {
    VipsImage* t = NULL;
    if (vips_thumbnail_image(mem, &t, kBox[i][0], "height", kBox[i][1], "size", VIPS_SIZE_DOWN, NULL)) {
      rc = -1;
      break;
    }
    /* The next (smaller) size is made from this one, computed once: a direct
     * Lanczos reduce by 8x or more from the decoded image costs libvips 3-5x
     * more than this cascade (measured: 95 ms for 2560x1600 -> 300x188). */
    VipsImage* computed = vips_image_copy_memory(t);
    g_object_unref(t);
    if (!computed) {
      rc = -1;
      break;
    }
    t = computed;
    void* buf = NULL;
    size_t len = 0;
    if (save(t, &buf, &len)) rc = -1;
    if (rc == 0 && outdir) {
      char out[4096];
      snprintf(out, sizeof out, "%s/%s.%s", outdir, kName[i], ext());
      FILE* f = fopen(out, "wb");
      if (!f || fwrite(buf, 1, len, f) != len) rc = -1;
      if (f) fclose(f);
      printf("%s %dx%d\n", kName[i], vips_image_get_width(t), vips_image_get_height(t));
    }
    g_free(buf);
    g_object_unref(mem);
    mem = t; /* the source of the next size */
  }
  g_object_unref(mem);
  return rc;
}

int main(int argc, char** argv) {
  if (VIPS_INIT(argv[0])) vips_error_exit(NULL);
  vips_concurrency_set(1);
  vips_cache_set_max(0);
  if ((argc == 4 || argc == 5) && strcmp(argv[1], "write") == 0) {
    if (argc == 5) g_format = argv[4];
    return thumbs(argv[2], argv[3]) ? 1 : 0;
  }
  if (argc == 3 && strcmp(argv[1], "serve") == 0) g_format = argv[2];
  if ((argc != 2 && argc != 3) || strcmp(argv[1], "serve") != 0) {
    fprintf(stderr, "usage: vips_one serve [FORMAT] | write PATH OUTDIR [FORMAT]\n");
    return 2;
  }
  char line[8192];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    char* sp = strchr(line, ' ');
    int reps = atoi(line);
    if (!sp || reps <= 0 || reps > 1000) {
      printf("error bad request\n");
      fflush(stdout);
      continue;
    }
    const char* path = sp + 1;
    if (thumbs(path, NULL)) { /* warm-up */
      printf("error %s\n", vips_error_buffer());
      vips_error_clear();
      fflush(stdout);
      continue;
    }
    double cpu[1000], wall[1000];
    for (int i = 0; i < reps; ++i) {
      double c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID), w0 = now_ms(CLOCK_MONOTONIC);
      if (thumbs(path, NULL)) return 1;
      cpu[i] = now_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
      wall[i] = now_ms(CLOCK_MONOTONIC) - w0;
    }
    printf("ok");
    for (int k = 0; k < 2; ++k) {
      const double* v = k ? wall : cpu;
      for (int i = 0; i < reps; ++i) printf("%s%.3f", i ? "," : " ", v[i]);
    }
    printf("\n");
    fflush(stdout);
  }
  vips_shutdown();
  return 0;
}
