/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A harness as a plain program: every file named, or every file in the
 * directories named, goes through LLVMFuzzerTestOneInput with the same
 * oracle. Without arguments it replays tests/fuzz/corpus/NAME and
 * tests/fuzz/crashes/NAME under $top_srcdir (make check). */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#ifndef FUZZ_NAME
#error "FUZZ_NAME names the harness"
#endif

/* Run one file through the harness; -1 if it cannot be read. */
static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap ? 2 * cap : 4096);

			if (!nb) {
				fclose(f);
				free(buf);
				return -1;
			}
			buf = nb;
			cap = cap ? 2 * cap : 4096;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	/* an exact-size copy, so that ASan sees reads past the input */
	uint8_t *exact = malloc(len ? len : 1);

	if (!exact) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

/* Replay path, a file or a directory of files (sorted); count into *n. */
static int replay_path(const char *path, bool must_exist, unsigned *n)
{
	struct dirent **names;
	struct stat st;
	char sub[4096];
	int i, k, r = 0;

	if (stat(path, &st) < 0) {
		if (!must_exist && errno == ENOENT)
			return 0;
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*n)++;
		return replay_file(path);
	}
	k = scandir(path, &names, NULL, alphasort);
	if (k < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < k; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", path, names[i]->d_name);
		if (names[i]->d_name[0] != '.' && stat(sub, &st) == 0 && S_ISREG(st.st_mode)) {
			(*n)++;
			if (replay_file(sub) < 0)
				r = -1;
		}
		free(names[i]);
	}
	free(names);
	return r;
}

int main(int argc, char **argv)
{
	const char *top = getenv("top_srcdir");
	char corpus[4096], crashes[4096];
	unsigned n = 0;
	int i, r = 0;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if (replay_path(argv[i], true, &n) < 0)
				r = 1;
	} else {
		snprintf(corpus, sizeof(corpus), "%s/tests/fuzz/corpus/%s", top ? top : ".",
			 FUZZ_NAME);
		snprintf(crashes, sizeof(crashes), "%s/tests/fuzz/crashes/%s", top ? top : ".",
			 FUZZ_NAME);
		if (replay_path(corpus, true, &n) < 0 || replay_path(crashes, false, &n) < 0)
			r = 1;
		if (n == 0) {
			fprintf(stderr, "replay: no inputs in %s\n", corpus);
			r = 1;
		}
	}
	printf("fuzz %s: %u inputs replayed%s\n", FUZZ_NAME, n, r ? ", some unreadable" : "");
	return r;
}
