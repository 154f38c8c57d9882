/* SPDX-License-Identifier: GPL-2.0-or-later */
/* UTF-8 text cut to a size without splitting a character: what the daemon
 * echoes of a client's text in an error must stay valid JSON text. */
#ifndef BALLOOND_UTF8_H
#define BALLOOND_UTF8_H

#include <stddef.h>

/* The length of the longest prefix of s (a NUL-terminated string) that is
 * at most max bytes and does not end inside a multi-byte UTF-8 sequence:
 * for "%.*s", (int)utf8_prefix(s, max), s. */
size_t utf8_prefix(const char *s, size_t max);

#endif
