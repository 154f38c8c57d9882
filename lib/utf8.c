/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Cutting UTF-8 text at a character boundary. */
#include "utf8.h"

#include <string.h>

/* A continuation byte (10xxxxxx) never starts a character. */
static int utf8_is_continuation(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

size_t utf8_prefix(const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strnlen(s, max);

	if (n < max || u[n] == '\0')
		return n;
	/* u[n] is the first byte left out: when it continues a character,
	 * leave out that character's first bytes too (at most 3 back, the
	 * longest sequence; past that the text was not UTF-8 anyway). */
	while (n > 0 && max - n < 3 && utf8_is_continuation(u[n]))
		n--;
	return utf8_is_continuation(u[n]) ? max : n;
}
