/* Sizes and durations as operators type them. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "units.h"

/* Parse "digits[.digits]" at s into a value scaled by 10^frac_digits.
 * Returns the number of characters used, or -EINVAL/-ERANGE. */
static int number_parse(const char *s, uint64_t *ret_int, uint64_t *ret_frac_num,
			uint64_t *ret_frac_den)
{
	uint64_t v = 0, num = 0, den = 1;
	int i = 0;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (s[i] == '.') {
		int d = 0;

		i++;
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		for (; s[i] >= '0' && s[i] <= '9'; i++, d++) {
			if (d >= 9)
				continue; /* further digits cannot matter at KiB/ms resolution */
			num = num * 10 + (uint64_t)(s[i] - '0');
			den *= 10;
		}
	}
	*ret_int = v;
	*ret_frac_num = num;
	*ret_frac_den = den;
	return i;
}

/* value * mult + frac * mult rounded to nearest, bounded by max. */
static int scale(uint64_t v, uint64_t num, uint64_t den, uint64_t mult, uint64_t max,
		 uint64_t *ret)
{
	uint64_t whole, part;

	if (mult && v > max / mult)
		return -ERANGE;
	whole = v * mult;
	/* num < den <= 1e9 and mult <= 2^30: the product fits in 64 bits */
	part = (num * mult + den / 2) / den;
	if (whole > max - part)
		return -ERANGE;
	*ret = whole + part;
	return 0;
}

int size_parse(const char *s, uint64_t *ret_kib)
{
	static const struct {
		char c;
		uint64_t kib;
	} units[] = {
		{'k', 1}, {'m', 1024}, {'g', 1024 * 1024}, {'t', UINT64_C(1024) * 1024 * 1024},
	};
	uint64_t v, num, den, mult = 0, out;
	const char *u;
	size_t i;
	int n, r;

	if (!s)
		return -EINVAL;
	n = number_parse(s, &v, &num, &den);
	if (n < 0)
		return n;
	u = s + n;
	for (i = 0; i < sizeof(units) / sizeof(*units); i++)
		if (u[0] == units[i].c || u[0] == units[i].c - 'a' + 'A')
			mult = units[i].kib;
	if (!mult)
		return -EINVAL; /* no unit, or an unknown one: never guess */
	u++;
	if (*u && strcasecmp(u, "b") != 0 && strcasecmp(u, "ib") != 0)
		return -EINVAL;
	r = scale(v, num, den, mult, SIZE_MAX_KIB, &out);
	if (r < 0)
		return r;
	*ret_kib = out;
	return 0;
}

char *size_format(uint64_t kib, char *buf, size_t len)
{
	static const char suffix[] = "KMGTP";
	uint64_t unit = 1;
	int i = 0;

	while (i < 4 && kib >= unit * 1024) {
		unit *= 1024;
		i++;
	}
	if (kib % unit == 0) {
		snprintf(buf, len, "%llu%c", (unsigned long long)(kib / unit), suffix[i]);
	} else {
		/* one decimal, rounded; 1023.96 rounds to 1024.0 which prints fine */
		uint64_t tenths = (kib * 10 + unit / 2) / unit;

		if (tenths % 10 == 0)
			snprintf(buf, len, "%llu%c", (unsigned long long)(tenths / 10), suffix[i]);
		else
			snprintf(buf, len, "%llu.%llu%c", (unsigned long long)(tenths / 10),
				 (unsigned long long)(tenths % 10), suffix[i]);
	}
	return buf;
}

int duration_parse(const char *s, uint64_t *ret_ms)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = {
		{"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 3600 * 1000}, {"d", 86400 * 1000},
	};
	uint64_t v, num, den, out;
	size_t i;
	int n, r;

	if (!s)
		return -EINVAL;
	n = number_parse(s, &v, &num, &den);
	if (n < 0)
		return n;
	for (i = 0; i < sizeof(units) / sizeof(*units); i++) {
		if (strcmp(s + n, units[i].name) != 0)
			continue;
		r = scale(v, num, den, units[i].ms, DURATION_MAX_MS, &out);
		if (r < 0)
			return r;
		*ret_ms = out;
		return 0;
	}
	return -EINVAL;
}

char *duration_format(uint64_t ms, char *buf, size_t len)
{
	if (ms < 1000 || (ms < 60000 && ms % 1000)) {
		if (ms < 1000)
			snprintf(buf, len, "%llums", (unsigned long long)ms);
		else
			snprintf(buf, len, "%llu.%llus", (unsigned long long)(ms / 1000),
				 (unsigned long long)(ms % 1000 / 100));
	} else if (ms < 60000) {
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	} else if (ms < 3600000) {
		uint64_t s = ms / 1000;

		if (s % 60)
			snprintf(buf, len, "%llum%llus", (unsigned long long)(s / 60),
				 (unsigned long long)(s % 60));
		else
			snprintf(buf, len, "%llum", (unsigned long long)(s / 60));
	} else {
		uint64_t m = ms / 60000;

		if (m % 60)
			snprintf(buf, len, "%lluh%llum", (unsigned long long)(m / 60),
				 (unsigned long long)(m % 60));
		else
			snprintf(buf, len, "%lluh", (unsigned long long)(m / 60));
	}
	return buf;
}

int u64_parse_strict(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i;

	if (!s || !s[0])
		return -EINVAL;
	for (i = 0; s[i]; i++) {
		if (i >= 20 || s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}
