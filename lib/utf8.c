/* SPDX-License-Identifier: GPL-2.0-or-later */
/* UTF-8: well-formed sequences; cutting text at a character boundary. */
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

size_t utf8_char_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xc2)
		return 0;
	if (s[0] < 0xe0) {
		len = 2;
	} else if (s[0] < 0xf0) {
		len = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] < 0xf5) {
		len = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}
