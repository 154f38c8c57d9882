/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sizes and durations as operators type them, and strict integers for
 * values that come from guests. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* More fraction digits than this are refused: nobody types them, and the
 * limit keeps the scaling arithmetic within 64 bits. */
#define FRAC_DIGITS_MAX 9

/* "digits[.digits]" as typed, before its unit is applied. */
struct decimal {
	uint64_t whole;
	uint64_t frac; /* frac / den is the fractional part */
	uint64_t den;
	bool overflow; /* whole did not fit in 64 bits */
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Read "digits[.digits]" at the start of s; returns the characters used or
 * -EINVAL. Overflow of the whole part is reported in ret->overflow so that
 * syntax errors still win over range errors. */
static int decimal_parse(const char *s, struct decimal *ret)
{
	struct decimal d = {.den = 1};
	int i = 0, nfrac = 0;

	if (!is_digit(s[0]))
		return -EINVAL;
	for (; is_digit(s[i]); i++) {
		if (d.whole > (UINT64_MAX - 9) / 10)
			d.overflow = true;
		else
			d.whole = d.whole * 10 + (uint64_t)(s[i] - '0');
	}
	if (s[i] == '.') {
		i++;
		if (!is_digit(s[i]))
			return -EINVAL;
		for (; is_digit(s[i]); i++, nfrac++) {
			if (nfrac >= FRAC_DIGITS_MAX)
				return -EINVAL;
			d.frac = d.frac * 10 + (uint64_t)(s[i] - '0');
			d.den *= 10;
		}
	}
	*ret = d;
	return i;
}

/* d × unit rounded to the nearest integer (halves up), at most max. */
static int decimal_scale(const struct decimal *d, uint64_t unit, uint64_t max, uint64_t *ret)
{
	uint64_t whole, part;

	if (d->overflow || d->whole > max / unit)
		return -ERANGE;
	whole = d->whole * unit;
	/* frac × unit / den without overflow: frac < den ≤ 10^9, so frac × (unit / den)
	 * < unit and frac × (unit % den) < 10^18 */
	part = d->frac * (unit / d->den) + (d->frac * (unit % d->den) + d->den / 2) / d->den;
	if (part > max - whole)
		return -ERANGE;
	*ret = whole + part;
	return 0;
}

static const struct {
	char letter;
	uint64_t kib;
} size_units[] = {
	{'K', 1},
	{'M', UINT64_C(1) << 10},
	{'G', UINT64_C(1) << 20},
	{'T', UINT64_C(1) << 30},
	{'P', UINT64_C(1) << 40},
};

static char ascii_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

int size_parse(const char *s, uint64_t *ret_kib)
{
	struct decimal d;
	const char *suffix;
	uint64_t unit = 0;
	size_t i;
	int n;

	if (!s)
		return -EINVAL;
	n = decimal_parse(s, &d);
	if (n < 0)
		return n;
	suffix = s + n;
	for (i = 0; i < ARRAY_SIZE(size_units); i++)
		if (ascii_upper(*suffix) == size_units[i].letter)
			unit = size_units[i].kib;
	if (!unit)
		return -EINVAL;
	suffix++;
	if (ascii_upper(suffix[0]) == 'I' && ascii_upper(suffix[1]) == 'B')
		suffix += 2;
	else if (ascii_upper(suffix[0]) == 'B')
		suffix++;
	if (*suffix)
		return -EINVAL;
	return decimal_scale(&d, unit, SIZE_MAX_KIB, ret_kib);
}

char *size_format(uint64_t kib, char *buf, size_t len)
{
	size_t u = 0;
	uint64_t unit, whole, tenths;

	if (!buf || !len)
		return buf;
	while (u + 1 < ARRAY_SIZE(size_units) && kib >= size_units[u + 1].kib)
		u++;
	unit = size_units[u].kib;
	whole = kib / unit;
	if (kib % unit == 0) {
		snprintf(buf, len, "%llu%c", (unsigned long long)whole, size_units[u].letter);
		return buf;
	}
	tenths = whole * 10 + (kib % unit * 10 + unit / 2) / unit;
	/* 1023.96M rounds to 1024.0M: say 1.0G instead */
	if (tenths == 10240 && u + 1 < ARRAY_SIZE(size_units)) {
		tenths = 10;
		u++;
	}
	snprintf(buf, len, "%llu.%llu%c", (unsigned long long)(tenths / 10),
		 (unsigned long long)(tenths % 10), size_units[u].letter);
	return buf;
}

void size_format_pair(uint64_t a_kib, uint64_t b_kib, char *ret_a, char *ret_b, size_t len)
{
	size_format(a_kib, ret_a, len);
	size_format(b_kib, ret_b, len);
	if (a_kib == b_kib || strcmp(ret_a, ret_b) != 0)
		return;
	/* Equal at one decimal: MiB with one decimal tells 3.41G from 3.44G;
	 * whole KiB tell any two sizes apart. */
	snprintf(ret_a, len, "%.1fM", a_kib / 1024.0);
	snprintf(ret_b, len, "%.1fM", b_kib / 1024.0);
	if (strcmp(ret_a, ret_b) != 0)
		return;
	snprintf(ret_a, len, "%lluK", (unsigned long long)a_kib);
	snprintf(ret_b, len, "%lluK", (unsigned long long)b_kib);
}

int duration_parse(const char *s, uint64_t *ret_ms)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = {
		{"ms", 1},
		{"s", 1000},
		{"m", 60 * 1000},
		{"h", 3600 * 1000},
		{"d", 24 * 3600 * 1000},
	};
	struct decimal d;
	size_t i;
	int n;

	if (!s)
		return -EINVAL;
	n = decimal_parse(s, &d);
	if (n < 0)
		return n;
	for (i = 0; i < ARRAY_SIZE(units); i++)
		if (strcmp(s + n, units[i].name) == 0)
			return decimal_scale(&d, units[i].ms, DURATION_MAX_MS, ret_ms);
	return -EINVAL;
}

static void append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Append to buf at *pos what fmt gives, never past len. */
static void append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*pos >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += (size_t)n;
}

char *duration_format(uint64_t ms, char *buf, size_t len)
{
	uint64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
	size_t pos = 0;

	if (!buf || !len)
		return buf;
	buf[0] = '\0';
	if (ms < 1000) {
		append(buf, len, &pos, "%llums", (unsigned long long)ms);
		return buf;
	}
	if (h)
		append(buf, len, &pos, "%lluh", (unsigned long long)h);
	if (m)
		append(buf, len, &pos, "%llum", (unsigned long long)m);
	if (frac) {
		append(buf, len, &pos, "%llu.", (unsigned long long)s);
		/* milliseconds as up to three decimals, trailing zeros dropped */
		if (frac % 100 == 0)
			append(buf, len, &pos, "%llus", (unsigned long long)(frac / 100));
		else if (frac % 10 == 0)
			append(buf, len, &pos, "%02llus", (unsigned long long)(frac / 10));
		else
			append(buf, len, &pos, "%03llus", (unsigned long long)frac);
	} else if (s) {
		append(buf, len, &pos, "%llus", (unsigned long long)s);
	}
	return buf;
}

int u64_parse_strict(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	bool overflow = false;
	size_t i;

	if (!s || !s[0])
		return -EINVAL;
	for (i = 0; s[i]; i++) {
		if (i >= 20 || !is_digit(s[i]))
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			overflow = true;
		else
			v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (overflow || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
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

char *text_escape(const char *src, char *dst, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)src;
	size_t in = 0, out = 0, n = strlen(src), k;

	if (!dst || !len)
		return dst;
	while (in < n) {
		k = s[in] < 0x20 || s[in] == 0x7f ? 0 : utf8_char_len(s + in, n - in);
		if (k == 0) {
			if (out + 4 >= len)
				break;
			dst[out++] = '\\';
			dst[out++] = 'x';
			dst[out++] = hex[s[in] >> 4];
			dst[out++] = hex[s[in] & 15];
			in++;
			continue;
		}
		if (out + k >= len)
			break;
		memcpy(dst + out, s + in, k);
		out += k;
		in += k;
	}
	dst[out] = '\0';
	return dst;
}

#define XEN_LOW_MEM_DEFAULT_KIB (UINT64_C(64) << 10)
#define XEN_LOW_MEM_MAX_KIB (UINT64_C(1) << 20)

/* One size as Xen's command line reads it, in bytes; false if garbage. */
static bool xen_size_parse(const char *s, const char **end, uint64_t *ret)
{
	unsigned long long v;
	unsigned shift = 10; /* no suffix: KiB */
	char *e;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &e, 0);
	if (errno)
		return false;
	switch (*e) {
	case 'T': case 't': shift = 40; e++; break;
	case 'G': case 'g': shift = 30; e++; break;
	case 'M': case 'm': shift = 20; e++; break;
	case 'K': case 'k': shift = 10; e++; break;
	case 'B': case 'b': shift = 0; e++; break;
	default: break;
	}
	if (*e && *e != ' ')
		return false;
	*ret = v > (UINT64_MAX >> shift) ? UINT64_MAX : (uint64_t)v << shift;
	*end = e;
	return true;
}

uint64_t xen_low_mem_virq_kib(const char *cmdline)
{
	static const char opt[] = "low_mem_virq_limit=";
	uint64_t bytes = XEN_LOW_MEM_DEFAULT_KIB << 10, v, pages, p;
	const char *s = cmdline, *end;

	while (s && (s = strstr(s, opt))) {
		bool at_word = s == cmdline || s[-1] == ' ';

		s += sizeof(opt) - 1;
		if (at_word && xen_size_parse(s, &end, &v)) {
			bytes = v;
			s = end;
		}
	}
	if (bytes == 0)
		return 0;
	if (bytes > XEN_LOW_MEM_MAX_KIB << 10)
		bytes = XEN_LOW_MEM_MAX_KIB << 10;
	pages = bytes >> 12;
	if (!pages)
		pages = 1;
	for (p = 1; p <= pages / 2; p <<= 1)
		;
	return p * 4;
}
