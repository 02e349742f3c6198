/* codec_ref: the codecs' own decode speed on a dump's page data -- the physical limit.
 *
 *   cc -O2 -o codec_ref codec_ref.c -lz [-DHAVE_ZSTD -lzstd] [-DHAVE_LZO -llzo2] [-DHAVE_SNAPPY -lsnappy]
 *   codec_ref [--reps N] FILE.pages
 *
 * FILE.pages is written by `read_all_pages --extract` (crates/kdive-dump/examples): the
 * compressed bytes of every present page of one kdump file, in pfn order. Each page is
 * decoded into one page-sized buffer with the library's fastest whole-buffer call and a
 * reused context (zlib: inflateReset + inflate; zstd: ZSTD_decompressDCtx; lzo:
 * lzo1x_decompress_safe, as crash and makedumpfile call it; snappy: snappy_uncompress;
 * raw pages: memcpy). No file access, lookups or caches are timed: the data is in memory.
 * Prints one JSON line: seconds per repetition and the median, per codec and in total. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#ifdef HAVE_ZSTD
#include <zstd.h>
#endif
#ifdef HAVE_LZO
#include <lzo/lzo1x.h>
#endif
#ifdef HAVE_SNAPPY
#include <snappy-c.h>
#endif

struct rec { uint8_t codec; uint32_t len; const uint8_t *data; };
static const char *names[5] = { "None", "Zlib", "Lzo", "Snappy", "Zstd" };

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmpd(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static uint64_t checksum(uint64_t s, const uint8_t *p, size_t n) {
	for (size_t i = 0; i + 8 <= n; i += 512) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		s = ((s << 5) | (s >> 59)) ^ w;
	}
	return s;
}

static z_stream zs;
#ifdef HAVE_ZSTD
static ZSTD_DCtx *zd;
#endif

/* Decodes one page; 1 on success. */
static int decode(const struct rec *x, uint8_t *page, uint32_t ps, int *missing) {
	switch (x->codec) {
	case 0:
		memcpy(page, x->data, ps);
		return x->len == ps;
	case 1:
		inflateReset(&zs);
		zs.next_in = (Bytef *)x->data; zs.avail_in = x->len;
		zs.next_out = page; zs.avail_out = ps;
		return inflate(&zs, Z_FINISH) == Z_STREAM_END && zs.total_out == ps;
	case 2:
#ifdef HAVE_LZO
	{
		lzo_uint out = ps;
		return lzo1x_decompress_safe(x->data, x->len, page, &out, NULL) == LZO_E_OK && out == ps;
	}
#else
		missing[2] = 1;
		return 1;
#endif
	case 3:
#ifdef HAVE_SNAPPY
	{
		size_t out = ps;
		return snappy_uncompress((const char *)x->data, x->len, (char *)page, &out) == SNAPPY_OK && out == ps;
	}
#else
		missing[3] = 1;
		return 1;
#endif
	case 4:
#ifdef HAVE_ZSTD
		return ZSTD_decompressDCtx(zd, page, ps, x->data, x->len) == ps;
#else
		missing[4] = 1;
		return 1;
#endif
	}
	return 0;
}

int main(int argc, char **argv) {
	int reps = 5;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
		else path = argv[i];
	}
	if (!path || reps < 1) { fprintf(stderr, "usage: codec_ref [--reps N] FILE.pages\n"); return 2; }
	FILE *f = fopen(path, "rb");
	if (!f) { perror(path); return 1; }
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc(size);
	if (!buf || fread(buf, 1, size, f) != (size_t)size) { fprintf(stderr, "read failed\n"); return 1; }
	fclose(f);
	if (size < 12 || memcmp(buf, "KDPAGES1", 8)) { fprintf(stderr, "%s: not a .pages file\n", path); return 1; }
	uint32_t ps;
	memcpy(&ps, buf + 8, 4);
	size_t n = 0, cap = 1024;
	struct rec *r = malloc(cap * sizeof *r);
	for (long off = 12; off + 5 <= size;) {
		if (n == cap) r = realloc(r, (cap *= 2) * sizeof *r);
		r[n].codec = buf[off];
		memcpy(&r[n].len, buf + off + 1, 4);
		r[n].data = buf + off + 5;
		off += 5 + r[n].len;
		if (off > size || r[n].codec > 4) { fprintf(stderr, "corrupt .pages file\n"); return 1; }
		n++;
	}
	uint8_t *page = malloc(ps);
	if (inflateInit(&zs) != Z_OK) return 1;
#ifdef HAVE_ZSTD
	zd = ZSTD_createDCtx();
#endif
#ifdef HAVE_LZO
	if (lzo_init() != LZO_E_OK) return 1;
#endif
	double *per[5], *total = calloc(reps, sizeof(double));
	size_t count[5] = {0};
	int missing[5] = {0};
	for (int c = 0; c < 5; c++) per[c] = calloc(reps, sizeof(double));
	for (size_t i = 0; i < n; i++) count[r[i].codec]++;
	uint64_t sum = 0, check = 0;
	/* One pass per codec per repetition, so no clock is read per page. */
	for (int rep = 0; rep < reps; rep++) {
		for (int c = 0; c < 5; c++) {
			if (!count[c]) continue;
			double t = now();
			for (size_t i = 0; i < n; i++) {
				const struct rec *x = &r[i];
				if (x->codec != c) continue;
				if (!decode(x, page, ps, missing)) {
					fprintf(stderr, "page %zu (%s) did not decode\n", i, names[c]);
					return 1;
				}
				sum = checksum(sum, page, ps);
			}
			double dt = now() - t;
			per[c][rep] = dt;
			total[rep] += dt;
		}
	}
	/* The content checksum in pfn order, untimed, to compare with kdive's. */
	for (size_t i = 0; i < n; i++) {
		decode(&r[i], page, ps, missing);
		check = checksum(check, page, ps);
	}
	(void)sum;
	printf("{\"file\": \"%s\", \"pages\": %zu, \"page_size\": %u, \"reps\": %d, \"zlib\": \"%s\"",
	       path, n, ps, reps, zlibVersion());
#ifdef HAVE_ZSTD
	printf(", \"zstd\": \"%s\"", ZSTD_versionString());
#endif
#ifdef HAVE_LZO
	printf(", \"lzo\": \"%s\"", lzo_version_string());
#endif
	printf(", \"codecs\": {");
	int first = 1;
	for (int c = 0; c < 5; c++) {
		if (!count[c]) continue;
		qsort(per[c], reps, sizeof(double), cmpd);
		printf("%s\"%s\": {\"pages\": %zu, \"median_s\": %.6f%s}", first ? "" : ", ", names[c], count[c],
		       per[c][reps / 2], missing[c] ? ", \"unavailable\": true" : "");
		first = 0;
	}
	printf("}, \"total_s\": [");
	for (int i = 0; i < reps; i++) printf("%s%.6f", i ? ", " : "", total[i]);
	qsort(total, reps, sizeof(double), cmpd);
	int any_missing = missing[2] || missing[3] || missing[4];
	printf("], \"median_s\": %.6f, \"complete\": %s, \"checksum\": %llu}\n", total[reps / 2],
	       any_missing ? "false" : "true", (unsigned long long)check);
	return 0;
}
