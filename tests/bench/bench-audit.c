/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Audit throughput on hosts of 64 GiB, 256 GiB and 1 TiB, contiguous and
 * fragmented frame layouts, next to plain streaming reads measured in the
 * same run with as many threads as the audit: of the P2M and the M2P (16
 * bytes per page, "str16"), and of the P2M, the M2P and the owner array
 * (20 bytes per page, "str20": every byte the audit reads, the baseline
 * of the ratios). The audit runs three ways: "sort" (entries sorted by M2P
 * region block by block: AUDIT_METHOD_SORT, the previous algorithm),
 * "part" (partitioned by M2P slice: AUDIT_METHOD_PARTITION), and "auto"
 * (what balloond uses: the sorted pass, measured faster here); x_*
 * is how many times slower than str20. Prints a table and writes it to
 * argv[1] if given. Not a test: nothing here asserts a time. Usage:
 *   bench-audit [OUT] [MAX_GIB] [THREADS]   (MAX_GIB default 1024; THREADS a
 *   comma-separated list of thread counts, default 1,2) */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"

#define DOM_GIB 64 /* guests of 64 GiB each */
#define PAGES_PER_GIB (1u << 18)

/* CPU time of the whole process (all its threads): on a machine shared
 * with other work, wall-clock time measures the others too. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: a fast, seeded shuffle source. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

struct host {
	uint64_t nframes;
	uint64_t *m2p;
	uint32_t *owner;
	uint64_t *p2m; /* all domains' P2Ms back to back */
	struct audit_domain *doms;
	size_t ndoms;
};

/* Build a host of gib GiB fully given to 64 GiB PV guests. Fragmented:
 * frames handed out in a random order (as after much ballooning). */
static int host_build(struct host *h, uint64_t gib, bool fragmented)
{
	uint64_t f, seed = 0x9e3779b97f4a7c15ULL, *perm;
	size_t d;

	h->nframes = gib * PAGES_PER_GIB;
	h->ndoms = (size_t)(gib / DOM_GIB);
	h->m2p = malloc(h->nframes * sizeof(*h->m2p));
	h->owner = malloc(h->nframes * sizeof(*h->owner));
	h->p2m = malloc(h->nframes * sizeof(*h->p2m));
	h->doms = calloc(h->ndoms, sizeof(*h->doms));
	if (!h->m2p || !h->owner || !h->p2m || !h->doms)
		return -1;
	perm = h->m2p; /* reuse as scratch for the frame order */
	for (f = 0; f < h->nframes; f++)
		perm[f] = f;
	if (fragmented)
		for (f = h->nframes - 1; f > 0; f--) {
			uint64_t j = rnd(&seed) % (f + 1), t = perm[f];

			perm[f] = perm[j];
			perm[j] = t;
		}
	memcpy(h->p2m, perm, h->nframes * sizeof(*perm));
	for (d = 0; d < h->ndoms; d++) {
		uint64_t n = (uint64_t)DOM_GIB * PAGES_PER_GIB, pfn;
		uint64_t *p2m = h->p2m + d * n;

		h->doms[d] = (struct audit_domain){.domid = (uint32_t)d + 1,
						   .guest = AUDIT_GUEST_PV,
						   .width = 64,
						   .p2m = p2m,
						   .npfns = n,
						   .tot_pages = n};
		for (pfn = 0; pfn < n; pfn++)
			h->owner[p2m[pfn]] = (uint32_t)d + 1;
	}
	for (d = 0; d < h->ndoms; d++) {
		uint64_t n = (uint64_t)DOM_GIB * PAGES_PER_GIB, pfn;
		const uint64_t *p2m = h->p2m + d * n;

		for (pfn = 0; pfn < n; pfn++)
			h->m2p[p2m[pfn]] = pfn;
	}
	return 0;
}

static void host_free(struct host *h)
{
	free(h->m2p);
	free(h->owner);
	free(h->p2m);
	free(h->doms);
}

/* One thread's share of the baseline. */
struct stream_part {
	const struct host *h;
	uint64_t begin, end, sum;
	bool owner; /* the owner array too */
	pthread_t th;
};

static void *stream_part(void *arg)
{
	struct stream_part *p = arg;
	uint64_t f, sum = 0;

	if (p->owner)
		for (f = p->begin; f < p->end; f++)
			sum += (p->h->m2p[f] ^ p->h->p2m[f]) + p->h->owner[f];
	else
		for (f = p->begin; f < p->end; f++)
			sum += p->h->m2p[f] ^ p->h->p2m[f];
	p->sum = sum;
	return NULL;
}

/* The baseline: a plain streaming read of the same bytes, every P2M entry
 * and every M2P entry in order (16 bytes per page), no lookups, split in
 * nthreads equal parts. Returns a checksum so the loops are not optimised
 * away. */
static uint64_t stream(const struct host *h, unsigned nthreads, bool owner)
{
	struct stream_part p[16];
	uint64_t sum = 0;
	unsigned i;

	for (i = 0; i < nthreads; i++) {
		p[i] = (struct stream_part){.h = h,
					    .owner = owner,
					    .begin = h->nframes * i / nthreads,
					    .end = h->nframes * (i + 1) / nthreads};
		if (i && pthread_create(&p[i].th, NULL, stream_part, &p[i]) != 0) {
			fprintf(stderr, "bench-audit: cannot start a thread\n");
			exit(1);
		}
	}
	stream_part(&p[0]);
	for (i = 0; i < nthreads; i++) {
		if (i)
			pthread_join(p[i].th, NULL);
		sum += p[i].sum;
	}
	return sum;
}

int main(int argc, char **argv)
{
	static const uint64_t sizes[] = {64, 256, 1024};
	uint64_t max_gib = argc > 2 ? strtoull(argv[2], NULL, 10) : 1024;
	FILE *out = argc > 1 && strcmp(argv[1], "-") ? fopen(argv[1], "w") : NULL;
	const char *tlist = argc > 3 ? argv[3] : "1,2";
	uint64_t block = argc > 4 ? strtoull(argv[4], NULL, 10) : 0;
	unsigned threads[16], nthr = 0, ti;
	char line[256];
	size_t k;
	int frag;

	while (*tlist && nthr < 16) {
		char *end;
		unsigned long n = strtoul(tlist, &end, 10);

		if (end == tlist || n < 1 || n > 16) {
			fprintf(stderr, "bench-audit: THREADS is a list of 1..16, e.g. 1,2\n");
			return 2;
		}
		threads[nthr++] = (unsigned)n;
		tlist = *end == ',' ? end + 1 : end;
	}
	snprintf(line, sizeof(line), "%6s %11s %10s %4s %8s %8s %8s %8s %8s %7s %7s %7s\n", "GiB",
		 "layout", "pages", "thr", "str16", "str20", "sort", "part", "auto", "x_sort",
		 "x_part", "x_auto");
	fputs(line, stdout);
	if (out)
		fputs(line, out);
	for (k = 0; k < sizeof(sizes) / sizeof(*sizes) && sizes[k] <= max_gib; k++) {
		for (frag = 0; frag < 2; frag++) {
			struct host h = {0};
			struct audit_tables t;

			if (host_build(&h, sizes[k], frag) < 0) {
				fprintf(stderr, "bench-audit: out of memory at %" PRIu64 " GiB\n",
					sizes[k]);
				return 1;
			}
			t = (struct audit_tables){.m2p = h.m2p,
						  .nframes = h.nframes,
						  .owner_array = h.owner,
						  .doms = h.doms,
						  .ndoms = h.ndoms};
			for (ti = 0; ti < nthr; ti++) {
				static const enum audit_method methods[3] = {
					AUDIT_METHOD_SORT, AUDIT_METHOD_PARTITION, AUDIT_METHOD_AUTO};
				double t0, ts16, ts20, ta[3];
				volatile uint64_t sink;
				unsigned mi;

				t0 = now_s();
				sink = stream(&h, threads[ti], false);
				ts16 = now_s() - t0;
				t0 = now_s();
				sink = stream(&h, threads[ti], true);
				ts20 = now_s() - t0;
				(void)sink;
				for (mi = 0; mi < 3; mi++) {
					struct audit_opts o = {.nthreads = threads[ti],
							       .block_pages = block,
							       .method = methods[mi]};
					struct audit_result *r = NULL;

					t0 = now_s();
					if (audit_run(&t, &o, &r) < 0 || audit_result_total(r) != 0) {
						fprintf(stderr, "bench-audit: the audit failed or "
								"found something\n");
						return 1;
					}
					ta[mi] = now_s() - t0;
					audit_result_free(r);
				}
				snprintf(line, sizeof(line),
					 "%6" PRIu64 " %11s %10" PRIu64
					 " %4u %8.0f %8.0f %8.0f %8.0f %8.0f %7.2f %7.2f %7.2f\n",
					 sizes[k], frag ? "fragmented" : "contiguous", h.nframes,
					 threads[ti], (double)h.nframes / ts16 / 1e6,
					 (double)h.nframes / ts20 / 1e6, (double)h.nframes / ta[0] / 1e6,
					 (double)h.nframes / ta[1] / 1e6, (double)h.nframes / ta[2] / 1e6,
					 ta[0] / ts20, ta[1] / ts20, ta[2] / ts20);
				fputs(line, stdout);
				if (out)
					fputs(line, out);
			}
			host_free(&h);
		}
	}
	if (out)
		fclose(out);
	return 0;
}
