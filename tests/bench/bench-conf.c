/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Config parse and section lookup cost at 1k, 10k and 50k [domain NAME]
 * sections, next to a baseline measured in the same run: parsing a file of
 * the same lines as comments (what reading and splitting the text costs
 * alone). Parse time over baseline stays flat when parsing is linear;
 * lookups/s stays flat when conf_find_domain is O(1). Prints a table and
 * writes it to the file named by argv[1] (if given). Not a test: no timing
 * is asserted anywhere. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"

#define ROUNDS 3

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* n sections "[domain gI]\nweight = W\n", or the same lines commented out. */
static char *text_make(size_t n, bool comments)
{
	size_t cap = n * 48 + 1, pos = 0, i;
	char *t = malloc(cap);

	if (!t)
		exit(1);
	t[0] = '\0';
	for (i = 0; i < n; i++)
		pos += (size_t)snprintf(t + pos, cap - pos, "%s[domain g%zu]\n%sweight = %zu\n",
					comments ? "; " : "", i, comments ? "; " : "",
					i % 10000 + 1);
	return t;
}

/* Best of ROUNDS parses of text, in ms; the last result is kept in c. */
static double parse_ms(const char *text, struct conf *c)
{
	struct conf_error e;
	double best = 1e18, t;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		if (r)
			conf_free(c);
		t = now_ms();
		if (conf_parse_string(text, "bench.conf", c, &e) != 0) {
			fprintf(stderr, "bench-conf: line %u: %s\n", e.line, e.msg);
			exit(1);
		}
		t = now_ms() - t;
		if (t < best)
			best = t;
	}
	return best;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {1000, 10000, 50000};
	FILE *out = argc > 1 ? fopen(argv[1], "w") : NULL;
	char line[256], name[32];
	size_t s, i, found;
	struct conf c, base;

	snprintf(line, sizeof(line), "%9s %10s %12s %7s %14s %12s\n", "sections", "parse ms",
		 "baseline ms", "ratio", "lookups/s", "us/section");
	fputs(line, stdout);
	if (out)
		fputs(line, out);
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s], lookups = 0;
		char *text = text_make(n, false), *comments = text_make(n, true);
		double p = parse_ms(text, &c), b = parse_ms(comments, &base), t0, t;

		found = 0;
		t0 = now_ms();
		do {
			for (i = 0; i < n; i++) {
				snprintf(name, sizeof(name), "g%zu", (i * 7919) % n);
				found += conf_find_domain(&c, name) != NULL;
			}
			lookups += n;
			t = now_ms() - t0;
		} while (t < 200);
		if (found != lookups) {
			fprintf(stderr, "bench-conf: %zu of %zu lookups failed\n", lookups - found,
				lookups);
			return 1;
		}
		snprintf(line, sizeof(line), "%9zu %10.2f %12.2f %7.2f %14.0f %12.3f\n", n, p, b,
			 p / b, (double)lookups / (t / 1e3), p * 1e3 / (double)n);
		fputs(line, stdout);
		if (out)
			fputs(line, out);
		conf_free(&c);
		conf_free(&base);
		free(text);
		free(comments);
	}
	if (out)
		fclose(out);
	return 0;
}
