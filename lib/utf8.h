/* SPDX-License-Identifier: GPL-2.0-or-later */
/* UTF-8: well-formed sequences, and text cut to a size without splitting a
 * character (what the daemon echoes of a client's text in an error must
 * stay valid JSON text). */
#ifndef BALLOOND_UTF8_H
#define BALLOOND_UTF8_H

#include <stddef.h>

/* The length of the longest prefix of s (a NUL-terminated string) that is
 * at most max bytes and does not end inside a multi-byte UTF-8 sequence:
 * for "%.*s", (int)utf8_prefix(s, max), s. */
size_t utf8_prefix(const char *s, size_t max);

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: shortest form,
 * no surrogates, at most U+10FFFF) within n bytes (n > 0), or 0 if there is
 * none. For text that goes out in messages and JSON. */
size_t utf8_char_len(const unsigned char *s, size_t n);

#endif
