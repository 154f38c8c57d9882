/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every harness in tests/fuzz/ shares: the libFuzzer entry point
 * (also driven by replay.c under gcc) and the oracle's assertion, which
 * aborts so that libFuzzer keeps the input and a replay fails. */
#ifndef BALLOOND_FUZZ_H
#define BALLOOND_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The oracle failed: say what and abort (never compiled out). */
#define FUZZ_CHECK(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: oracle: %s: ", __FILE__, __LINE__, #cond);         \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
