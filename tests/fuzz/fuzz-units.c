/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sizes, durations and strict integers (lib/units.c). The first byte picks
 * the function, the rest is its text (or 8 bytes of a number). Oracle:
 * format(parse(x)) parses back within the rounding size_format promises
 * (one decimal of its unit: half a tenth of the unit, plus half a KiB);
 * durations come back exactly; nothing exceeds its documented maximum;
 * u64_parse_strict agrees with a plain decimal reading; the Xen alarm
 * threshold is 0 or a power of two pages, at most 1 GiB. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "units.h"

/* The unit size_format writes kib in (the largest not above it), in KiB. */
static uint64_t format_unit(uint64_t kib)
{
	uint64_t u = 1;

	while (u < (UINT64_C(1) << 40) && kib >= u << 10)
		u <<= 10;
	return u;
}

static void size_round_trip(uint64_t kib)
{
	char buf[64];
	uint64_t back = 0, unit = format_unit(kib), diff;
	int r;

	size_format(kib, buf, sizeof(buf));
	FUZZ_CHECK(buf[0] && strlen(buf) < sizeof(buf) - 1, "format of %llu: \"%s\"",
		   (unsigned long long)kib, buf);
	r = size_parse(buf, &back);
	if (r == -ERANGE) {
		FUZZ_CHECK(kib > SIZE_MAX_KIB - unit / 20 - 1, "\"%s\" (%llu) out of range", buf,
			   (unsigned long long)kib);
		return;
	}
	FUZZ_CHECK(r == 0, "\"%s\" (from %llu) does not parse: %d", buf, (unsigned long long)kib,
		   r);
	diff = back > kib ? back - kib : kib - back;
	FUZZ_CHECK(diff * 20 <= unit + 20, "%llu -> \"%s\" -> %llu", (unsigned long long)kib, buf,
		   (unsigned long long)back);
	if (kib % unit == 0)
		FUZZ_CHECK(back == kib, "exact %llu -> \"%s\" -> %llu", (unsigned long long)kib,
			   buf, (unsigned long long)back);
}

/* Read duration_format's compound "1h2m3.5s" / "250ms" back, in ms. */
static bool compound_parse(const char *s, uint64_t *ret)
{
	uint64_t total = 0, whole, frac, den;

	if (!*s)
		return false;
	while (*s) {
		whole = 0, frac = 0, den = 1;
		if (*s < '0' || *s > '9')
			return false;
		while (*s >= '0' && *s <= '9')
			whole = whole * 10 + (uint64_t)(*s++ - '0');
		if (*s == '.') {
			s++;
			while (*s >= '0' && *s <= '9') {
				frac = frac * 10 + (uint64_t)(*s++ - '0');
				den *= 10;
			}
		}
		if (strncmp(s, "ms", 2) == 0) {
			total += whole;
			s += 2;
		} else if (*s == 'h' || *s == 'm' || *s == 's') {
			uint64_t unit = *s == 'h' ? 3600000 : *s == 'm' ? 60000 : 1000;

			total += whole * unit + frac * unit / den;
			s++;
		} else {
			return false;
		}
	}
	*ret = total;
	return true;
}

static void duration_round_trip(uint64_t ms)
{
	char buf[64];
	const char *rest;
	uint64_t back = 0;

	duration_format(ms, buf, sizeof(buf));
	FUZZ_CHECK(compound_parse(buf, &back), "duration_format(%llu) = \"%s\"",
		   (unsigned long long)ms, buf);
	FUZZ_CHECK(back == ms, "%llu ms -> \"%s\" -> %llu", (unsigned long long)ms, buf,
		   (unsigned long long)back);
	rest = buf + strspn(buf, "0123456789.");
	if (!strcmp(rest, "ms") || !strcmp(rest, "s") || !strcmp(rest, "m") || !strcmp(rest, "h"))
		/* a single unit: duration_parse reads it back exactly */
		FUZZ_CHECK(duration_parse(buf, &back) == 0 && back == ms, "\"%s\" vs %llu", buf,
			   (unsigned long long)ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[256];
	uint64_t v = 0, max, n;
	size_t len, i;
	int r;

	if (size < 1)
		return 0;
	len = size - 1 < sizeof(text) - 1 ? size - 1 : sizeof(text) - 1;
	memcpy(text, data + 1, len);
	text[len] = '\0';
	switch (data[0] % 6) {
	case 0:
		r = size_parse(text, &v);
		FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE, "size_parse: %d", r);
		if (r == 0) {
			FUZZ_CHECK(v <= SIZE_MAX_KIB, "\"%s\" -> %llu", text,
				   (unsigned long long)v);
			size_round_trip(v);
		}
		break;
	case 1:
		r = duration_parse(text, &v);
		FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE, "duration_parse: %d", r);
		if (r == 0) {
			FUZZ_CHECK(v <= DURATION_MAX_MS, "\"%s\" -> %llu", text,
				   (unsigned long long)v);
			duration_round_trip(v);
		}
		break;
	case 2:
		memcpy(&n, text, sizeof(n) <= len ? sizeof(n) : len);
		if (len < sizeof(n))
			break;
		size_round_trip(n % (SIZE_MAX_KIB + 1));
		duration_round_trip(n % (DURATION_MAX_MS + 1));
		{ /* any u64 formats without overflow */
			char buf[64];

			size_format(n, buf, sizeof(buf));
			FUZZ_CHECK(buf[0], "size_format(%llu)", (unsigned long long)n);
			duration_format(n, buf, sizeof(buf));
			FUZZ_CHECK(buf[0], "duration_format(%llu)", (unsigned long long)n);
		}
		break;
	case 3:
		max = len ? (uint64_t)(unsigned char)text[0] * UINT64_C(0x0101010101010101) : 0;
		r = u64_parse_strict(len ? text + 1 : text, max, &v);
		if (r == 0) {
			const char *s = len ? text + 1 : text;
			uint64_t w = 0;

			FUZZ_CHECK(v <= max, "%llu above %llu", (unsigned long long)v,
				   (unsigned long long)max);
			for (i = 0; s[i]; i++) {
				FUZZ_CHECK(s[i] >= '0' && s[i] <= '9', "accepted \"%s\"", s);
				w = w * 10 + (uint64_t)(s[i] - '0');
			}
			FUZZ_CHECK(i > 0 && i <= 20 && w == v, "\"%s\" -> %llu", s,
				   (unsigned long long)v);
		}
		break;
	case 4:
		v = xen_low_mem_virq_kib(text);
		FUZZ_CHECK(v == 0 ||
				   (v % 4 == 0 && ((v / 4) & (v / 4 - 1)) == 0 && v <= (1u << 20)),
			   "low_mem_virq %llu from \"%s\"", (unsigned long long)v, text);
		break;
	case 5: {
		char out[64];
		size_t k = data[0] / 6 % sizeof(out) + 1, j;

		text_escape(text, out, k);
		FUZZ_CHECK(strlen(out) < k, "text_escape overran %zu", k);
		for (j = 0; out[j];
		     j += utf8_char_len((const unsigned char *)out + j, strlen(out + j)))
			FUZZ_CHECK((unsigned char)out[j] >= 0x20 && out[j] != 0x7f &&
					   utf8_char_len((const unsigned char *)out + j,
							 strlen(out + j)),
				   "text_escape left byte 0x%02x", (unsigned char)out[j]);
		break;
	}
	}
	return 0;
}
