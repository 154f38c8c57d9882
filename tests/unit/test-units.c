/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sizes, durations and strict integers: what operators and guests may
 * type, what is refused, and that formatting reads back. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "units.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define K UINT64_C(1)
#define M (K << 10)
#define G (K << 20)
#define T (K << 30)
#define P (K << 40)
#define SENTINEL UINT64_C(0xdeadbeefcafe)

struct parse_case {
	const char *in;
	int ret;
	uint64_t want; /* when ret == 0 */
};

/* Run parse over cases: the result, the value, and that *ret is left alone
 * on error. */
static void check_parse_cases(const char *what, int (*parse)(const char *, uint64_t *),
			      const struct parse_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t v = SENTINEL;
		int r = parse(cases[i].in, &v);

		if (r != cases[i].ret)
			fail_msg("%s(\"%s\") returned %d, expected %d", what,
				 cases[i].in ? cases[i].in : "(null)", r, cases[i].ret);
		if (r == 0 && v != cases[i].want)
			fail_msg("%s(\"%s\") gave %llu, expected %llu", what, cases[i].in,
				 (unsigned long long)v, (unsigned long long)cases[i].want);
		if (r < 0 && v != SENTINEL)
			fail_msg("%s(\"%s\") failed but changed its output", what,
				 cases[i].in ? cases[i].in : "(null)");
	}
}

static void size_parse_accepts_binary_units_in_any_case(void **state)
{
	static const struct parse_case cases[] = {
		{"512M", 0, 512 * M},
		{"4G", 0, 4 * G},
		{"4GiB", 0, 4 * G},
		{"4gib", 0, 4 * G},
		{"4GIB", 0, 4 * G},
		{"4gb", 0, 4 * G},
		{"4GB", 0, 4 * G},
		{"4Gb", 0, 4 * G},
		{"4g", 0, 4 * G},
		{"900K", 0, 900},
		{"900k", 0, 900},
		{"900KiB", 0, 900},
		{"2T", 0, 2 * T},
		{"2tb", 0, 2 * T},
		{"1P", 0, P},
		{"1m", 0, M},
		{"007M", 0, 7 * M},
	};

	check_parse_cases("size_parse", size_parse, cases, ARRAY_SIZE(cases));
}

static void size_parse_accepts_zero_with_a_unit(void **state)
{
	static const struct parse_case cases[] = {
		{"0M", 0, 0},
		{"0K", 0, 0},
		{"0G", 0, 0},
		{"0.0T", 0, 0},
		{"0P", 0, 0},
	};

	check_parse_cases("size_parse", size_parse, cases, ARRAY_SIZE(cases));
}

static void size_parse_rounds_decimals_to_the_nearest_kib(void **state)
{
	static const struct parse_case cases[] = {
		{"1.5G", 0, G + G / 2},
		{"1.5M", 0, 1536},
		{"0.5M", 0, 512},
		{"2.25T", 0, 2 * T + T / 4},
		{"1.1M", 0, 1126},    /* 1126.4 */
		{"1.9K", 0, 2},       /* 1.9 */
		{"1.25K", 0, 1},      /* 1.25 */
		{"1.5K", 0, 2},       /* a half rounds up */
		{"0.5K", 0, 1},
		{"0.4K", 0, 0},
		{"0.001M", 0, 1},     /* 1.024 */
		{"0.000001G", 0, 1},  /* 1.048576 */
		{"0.0000004G", 0, 0}, /* 0.42 */
		{"1.000000000G", 0, G},
		{"0.999999999G", 0, G}, /* 1048575.99... */
		{"1023.5K", 0, 1024},
	};

	check_parse_cases("size_parse", size_parse, cases, ARRAY_SIZE(cases));
}

static void size_parse_refuses_garbage_and_missing_units(void **state)
{
	static const struct parse_case cases[] = {
		{NULL, -EINVAL, 0},
		{"", -EINVAL, 0},
		{"512", -EINVAL, 0},      /* no unit is guessed */
		{"0", -EINVAL, 0},
		{"1.5", -EINVAL, 0},
		{"G", -EINVAL, 0},
		{"GiB", -EINVAL, 0},
		{"M512", -EINVAL, 0},
		{" 512M", -EINVAL, 0},
		{"512M ", -EINVAL, 0},
		{"\t512M", -EINVAL, 0},
		{"512M\n", -EINVAL, 0},
		{"512 M", -EINVAL, 0},
		{"5 12M", -EINVAL, 0},
		{"+512M", -EINVAL, 0},
		{"-512M", -EINVAL, 0},
		{"-0M", -EINVAL, 0},
		{"0x10M", -EINVAL, 0},
		{"0x10", -EINVAL, 0},
		{"1e3", -EINVAL, 0},
		{"1e3M", -EINVAL, 0},
		{"1E3K", -EINVAL, 0},
		{"nan", -EINVAL, 0},
		{"NaNM", -EINVAL, 0},
		{"inf", -EINVAL, 0},
		{"infG", -EINVAL, 0},
		{"512X", -EINVAL, 0},
		{"512B", -EINVAL, 0},     /* bytes: below our resolution */
		{"512Mi", -EINVAL, 0},
		{"512MiBs", -EINVAL, 0},
		{"512MBB", -EINVAL, 0},
		{"512MM", -EINVAL, 0},
		{"1GG", -EINVAL, 0},
		{"512M5", -EINVAL, 0},
		{"1..5G", -EINVAL, 0},
		{"1.G", -EINVAL, 0},
		{".5G", -EINVAL, 0},
		{"1,5G", -EINVAL, 0},
		{"1.5.5G", -EINVAL, 0},
		{"1.0000000001G", -EINVAL, 0}, /* more decimals than anyone types */
		{"½G", -EINVAL, 0},
		{"١M", -EINVAL, 0},       /* not an ASCII digit */
		{"512M\xff", -EINVAL, 0},
	};

	check_parse_cases("size_parse", size_parse, cases, ARRAY_SIZE(cases));
}

static void size_parse_refuses_sizes_above_one_pib(void **state)
{
	static const struct parse_case cases[] = {
		{"1024T", 0, P},
		{"1099511627776K", 0, P},
		{"1099511627777K", -ERANGE, 0},
		{"1048577G", -ERANGE, 0},
		{"1025T", -ERANGE, 0},
		{"1.000000001P", -ERANGE, 0},
		{"1.5P", -ERANGE, 0},
		{"2P", -ERANGE, 0},
		{"9999999P", -ERANGE, 0},
		{"18446744073709551615K", -ERANGE, 0},
		{"18446744073709551616K", -ERANGE, 0},
		{"99999999999999999999999999999999K", -ERANGE, 0},
		{"99999999999999999999999999999999.5T", -ERANGE, 0},
	};

	check_parse_cases("size_parse", size_parse, cases, ARRAY_SIZE(cases));
}

static void size_parse_prefers_syntax_errors_over_range_errors(void **state)
{
	static const struct parse_case cases[] = {
		{"99999999999999999999999999", -EINVAL, 0},
		{"99999999999999999999999999X", -EINVAL, 0},
		{"99999999999999999999999999 T", -EINVAL, 0},
	};

	check_parse_cases("size_parse", size_parse, cases, ARRAY_SIZE(cases));
}

static void size_format_uses_the_largest_unit_and_one_decimal_at_most(void **state)
{
	static const struct {
		uint64_t kib;
		const char *want;
	} cases[] = {
		{0, "0K"},
		{1, "1K"},
		{900, "900K"},
		{1023, "1023K"},
		{M, "1M"},
		{1536, "1.5M"},
		{1126, "1.1M"},
		{512 * M, "512M"},
		{1023 * M, "1023M"},
		{G, "1G"},
		{G + G / 2, "1.5G"},
		{16 * G, "16G"},
		{G + 1, "1.0G"},         /* inexact: shows its decimal */
		{G - 1, "1.0G"},         /* 1023.999M rounds up into the next unit */
		{G + G / 20, "1.0G"},    /* 1.04999 */
		{G + G / 20 + 1, "1.1G"},
		{2 * T, "2T"},
		{T + 3 * T / 10, "1.3T"},
		{P, "1P"},
		{2 * P, "2P"},
		{UINT64_MAX, "16777216.0P"},
	};
	char buf[32];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_ptr_equal(size_format(cases[i].kib, buf, sizeof(buf)), buf);
		if (strcmp(buf, cases[i].want) != 0)
			fail_msg("size_format(%llu) = \"%s\", expected \"%s\"",
				 (unsigned long long)cases[i].kib, buf, cases[i].want);
	}
}

static void size_format_truncates_to_the_buffer_and_terminates(void **state)
{
	char buf[4];

	memset(buf, 'x', sizeof(buf));
	size_format(512 * M, buf, 3);
	assert_string_equal(buf, "51");
	assert_int_equal(buf[3], 'x');
	size_format(512 * M, buf, 1);
	assert_string_equal(buf, "");
	assert_ptr_equal(size_format(512 * M, buf, 0), buf);
	assert_int_equal(buf[1], '1'); /* untouched */
}

static void size_format_then_parse_gives_back_exact_values(void **state)
{
	static const uint64_t units[] = {K, M, G, T};
	char buf[32];
	uint64_t v, back;
	size_t u;

	for (u = 0; u < ARRAY_SIZE(units); u++)
		for (v = 0; v < 1024; v++) {
			uint64_t x = v * units[u];

			size_format(x, buf, sizeof(buf));
			assert_int_equal(size_parse(buf, &back), 0);
			if (back != x)
				fail_msg("%llu -> \"%s\" -> %llu", (unsigned long long)x, buf,
					 (unsigned long long)back);
		}
	/* halves are exact with one decimal */
	for (v = 1; v < 2048; v += 2) {
		uint64_t x = v * (G / 2);

		size_format(x, buf, sizeof(buf));
		assert_int_equal(size_parse(buf, &back), 0);
		assert_int_equal(back, x);
	}
	size_format(SIZE_MAX_KIB, buf, sizeof(buf));
	assert_int_equal(size_parse(buf, &back), 0);
	assert_int_equal(back, SIZE_MAX_KIB);
}

static void size_format_of_any_value_reads_back_within_half_a_tenth(void **state)
{
	uint64_t seed = 88172645463325252ULL;
	char buf[32];
	int i;

	for (i = 0; i < 200000; i++) {
		uint64_t x, back, unit;

		/* xorshift, then a random magnitude so every unit gets hit */
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		x = (seed >> 24) >> (seed % 41);
		size_format(x, buf, sizeof(buf));
		assert_int_equal(size_parse(buf, &back), 0);
		if (!strchr(buf, '.')) {
			if (back != x)
				fail_msg("%llu -> \"%s\" -> %llu", (unsigned long long)x, buf,
					 (unsigned long long)back);
			continue;
		}
		assert_true(strlen(strchr(buf, '.')) == 3); /* ".5G": one decimal */
		unit = strchr(buf, 'K') ? K : strchr(buf, 'M') ? M : strchr(buf, 'G') ? G
			: strchr(buf, 'T') ? T : P;
		if ((back > x ? back - x : x - back) > unit / 20 + 1)
			fail_msg("%llu -> \"%s\" -> %llu: off by more than half a tenth",
				 (unsigned long long)x, buf, (unsigned long long)back);
	}
}

static void duration_parse_accepts_ms_s_m_h_and_decimals(void **state)
{
	static const struct parse_case cases[] = {
		{"250ms", 0, 250},
		{"5s", 0, 5000},
		{"2m", 0, 120000},
		{"1h", 0, 3600000},
		{"1d", 0, 86400000},
		{"1.5s", 0, 1500},
		{"0.25s", 0, 250},
		{"1.5m", 0, 90000},
		{"0.5h", 0, 1800000},
		{"0s", 0, 0},
		{"0ms", 0, 0},
		{"0.5ms", 0, 1},   /* a half rounds up */
		{"0.4ms", 0, 0},
		{"1.0005s", 0, 1001},
		{"30d", 0, DURATION_MAX_MS},
		{"720h", 0, DURATION_MAX_MS},
		{"2592000000ms", 0, DURATION_MAX_MS},
		{"0010s", 0, 10000},
	};

	check_parse_cases("duration_parse", duration_parse, cases, ARRAY_SIZE(cases));
}

static void duration_parse_refuses_bare_numbers_and_garbage(void **state)
{
	static const struct parse_case cases[] = {
		{NULL, -EINVAL, 0},
		{"", -EINVAL, 0},
		{"5", -EINVAL, 0},
		{"250", -EINVAL, 0},
		{"1.5", -EINVAL, 0},
		{"s", -EINVAL, 0},
		{"ms", -EINVAL, 0},
		{"5S", -EINVAL, 0},
		{"5MS", -EINVAL, 0},
		{"5H", -EINVAL, 0},
		{"5M", -EINVAL, 0},  /* minutes or months? refused */
		{"5 s", -EINVAL, 0},
		{" 5s", -EINVAL, 0},
		{"5s ", -EINVAL, 0},
		{"-5s", -EINVAL, 0},
		{"+5s", -EINVAL, 0},
		{"5sec", -EINVAL, 0},
		{"5min", -EINVAL, 0},
		{"5ss", -EINVAL, 0},
		{"5us", -EINVAL, 0},
		{"1e3ms", -EINVAL, 0},
		{"0x5s", -EINVAL, 0},
		{".5s", -EINVAL, 0},
		{"5.s", -EINVAL, 0},
		{"1h30m", -EINVAL, 0},
		{"nans", -EINVAL, 0},
		{"infs", -EINVAL, 0},
		{"1.0000000001s", -EINVAL, 0},
	};

	check_parse_cases("duration_parse", duration_parse, cases, ARRAY_SIZE(cases));
}

static void duration_parse_refuses_more_than_thirty_days(void **state)
{
	static const struct parse_case cases[] = {
		{"31d", -ERANGE, 0},
		{"721h", -ERANGE, 0},
		{"30.001d", -ERANGE, 0},
		{"2592000001ms", -ERANGE, 0},
		{"18446744073709551616ms", -ERANGE, 0},
		{"99999999999999999999999999h", -ERANGE, 0},
	};

	check_parse_cases("duration_parse", duration_parse, cases, ARRAY_SIZE(cases));
}

static void duration_format_is_short_and_exact(void **state)
{
	static const struct {
		uint64_t ms;
		const char *want;
	} cases[] = {
		{0, "0ms"},
		{1, "1ms"},
		{250, "250ms"},
		{999, "999ms"},
		{1000, "1s"},
		{1500, "1.5s"},
		{1050, "1.05s"},
		{1001, "1.001s"},
		{5000, "5s"},
		{59000, "59s"},
		{60000, "1m"},
		{90000, "1m30s"},
		{90500, "1m30.5s"},
		{300000, "5m"},
		{3600000, "1h"},
		{3661000, "1h1m1s"},
		{3600500, "1h0.5s"},
		{5400000, "1h30m"},
		{7200000, "2h"},
		{86400000, "24h"},
		{DURATION_MAX_MS, "720h"},
	};
	char buf[32];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_ptr_equal(duration_format(cases[i].ms, buf, sizeof(buf)), buf);
		if (strcmp(buf, cases[i].want) != 0)
			fail_msg("duration_format(%llu) = \"%s\", expected \"%s\"",
				 (unsigned long long)cases[i].ms, buf, cases[i].want);
	}
	duration_format(UINT64_MAX, buf, sizeof(buf));
	assert_string_equal(buf, "5124095576030h25m51.615s");
	duration_format(90000, buf, 4);
	assert_string_equal(buf, "1m3");
	assert_ptr_equal(duration_format(90000, buf, 0), buf);
}

static void duration_format_then_parse_gives_back_single_unit_values(void **state)
{
	char buf[32];
	uint64_t ms, back;

	for (ms = 0; ms < 200000; ms += 7) {
		duration_format(ms, buf, sizeof(buf));
		if (strchr(buf, 'm') && strchr(buf, 'm')[1] != 's' && strchr(buf, 'm')[1] != '\0')
			continue; /* "1m30s" is for reading only */
		assert_int_equal(duration_parse(buf, &back), 0);
		if (back != ms)
			fail_msg("%llu -> \"%s\" -> %llu", (unsigned long long)ms, buf,
				 (unsigned long long)back);
	}
}

static void u64_parse_strict_accepts_plain_digits_up_to_max(void **state)
{
	static const struct {
		const char *in;
		uint64_t max;
		uint64_t want;
	} cases[] = {
		{"0", 0, 0},
		{"7", 10, 7},
		{"100", 100, 100},
		{"00042", 100, 42},
		{"32751", 0x7fef, 0x7fef},
		{"1099511627776", SIZE_MAX_KIB, SIZE_MAX_KIB},
		{"18446744073709551615", UINT64_MAX, UINT64_MAX},
		{"00000000000000000001", UINT64_MAX, 1}, /* 20 characters */
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t v = SENTINEL;

		if (u64_parse_strict(cases[i].in, cases[i].max, &v) != 0)
			fail_msg("u64_parse_strict(\"%s\", %llu) failed", cases[i].in,
				 (unsigned long long)cases[i].max);
		assert_int_equal(v, cases[i].want);
	}
}

static void u64_parse_strict_refuses_signs_spaces_and_junk(void **state)
{
	static const char *const bad[] = {
		NULL, "", " ", " 1", "1 ", "\t1", "1\n", "+1", "-1", "-0", "1a", "a1", "0x10",
		"1.0", "1e3", "1,000", "1_000", "١", "12\xff", "000000000000000000001",
		"999999999999999999999999", "nan", "inf",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t v = SENTINEL;
		int r = u64_parse_strict(bad[i], UINT64_MAX, &v);

		if (r != -EINVAL)
			fail_msg("u64_parse_strict(\"%s\") returned %d, expected -EINVAL",
				 bad[i] ? bad[i] : "(null)", r);
		assert_int_equal(v, SENTINEL);
	}
}

static void u64_parse_strict_refuses_values_above_max(void **state)
{
	static const struct {
		const char *in;
		uint64_t max;
	} cases[] = {
		{"1", 0},
		{"101", 100},
		{"32768", 0x7fef},
		{"1099511627777", SIZE_MAX_KIB},
		{"18446744073709551616", UINT64_MAX},
		{"99999999999999999999", UINT64_MAX},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t v = SENTINEL;

		if (u64_parse_strict(cases[i].in, cases[i].max, &v) != -ERANGE)
			fail_msg("u64_parse_strict(\"%s\", %llu) was not -ERANGE", cases[i].in,
				 (unsigned long long)cases[i].max);
		assert_int_equal(v, SENTINEL);
	}
}

static void random_strings_are_refused_unless_well_formed(void **state)
{
	static const char alphabet[] = "0123456789..KkMmGgTtPpiIbBsShd +-eEx%\xff";
	uint64_t seed = 0x2545f4914f6cdd1dULL;
	char s[16];
	int i;

	for (i = 0; i < 300000; i++) {
		size_t n, k;
		uint64_t v = SENTINEL;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		n = seed % 12;
		for (k = 0; k < n; k++)
			s[k] = alphabet[(seed >> (4 + 5 * k % 56)) % (sizeof(alphabet) - 1)];
		s[n] = '\0';
		if (size_parse(s, &v) == 0) {
			if (!(s[0] >= '0' && s[0] <= '9') || strspn(s, "0123456789.KkMmGgTtPpiIbB") != n ||
			    v > SIZE_MAX_KIB || strchr(s, '.') != strrchr(s, '.'))
				fail_msg("size_parse accepted \"%s\" (%llu)", s, (unsigned long long)v);
		} else {
			assert_int_equal(v, SENTINEL);
		}
		v = SENTINEL;
		if (duration_parse(s, &v) == 0) {
			if (!(s[0] >= '0' && s[0] <= '9') || strspn(s, "0123456789.mshd") != n ||
			    v > DURATION_MAX_MS || strchr(s, '.') != strrchr(s, '.'))
				fail_msg("duration_parse accepted \"%s\" (%llu)", s,
					 (unsigned long long)v);
		} else {
			assert_int_equal(v, SENTINEL);
		}
		v = SENTINEL;
		if (u64_parse_strict(s, UINT64_MAX, &v) == 0 && strspn(s, "0123456789") != n)
			fail_msg("u64_parse_strict accepted \"%s\"", s);
	}
}

static void xen_low_mem_virq_follows_the_hypervisor_command_line(void **state)
{
	(void)state;
	assert_int_equal(xen_low_mem_virq_kib(NULL), 64 * 1024);
	assert_int_equal(xen_low_mem_virq_kib(""), 64 * 1024);
	assert_int_equal(xen_low_mem_virq_kib("console=com1 dom0_mem=512M"), 64 * 1024);
	assert_int_equal(xen_low_mem_virq_kib("low_mem_virq_limit=128M"), 128 * 1024);
	/* no suffix is KiB, as Xen reads sizes; rounded down to a power of two */
	assert_int_equal(xen_low_mem_virq_kib("low_mem_virq_limit=100000"), 64 * 1024);
	assert_int_equal(xen_low_mem_virq_kib("a=1 low_mem_virq_limit=0x20000 b=2"), 128 * 1024);
	assert_int_equal(xen_low_mem_virq_kib("low_mem_virq_limit=3G"), 1024 * 1024);
	assert_int_equal(xen_low_mem_virq_kib("low_mem_virq_limit=0"), 0);
	assert_int_equal(xen_low_mem_virq_kib("low_mem_virq_limit=1b"), 4);
	/* the last one counts; garbage and other words are ignored */
	assert_int_equal(xen_low_mem_virq_kib("low_mem_virq_limit=32M low_mem_virq_limit=256M"),
			 256 * 1024);
	assert_int_equal(xen_low_mem_virq_kib("low_mem_virq_limit=lots"), 64 * 1024);
	assert_int_equal(xen_low_mem_virq_kib("low_mem_virq_limit=12Q"), 64 * 1024);
	assert_int_equal(xen_low_mem_virq_kib("xlow_mem_virq_limit=8M"), 64 * 1024);
	assert_int_equal(xen_low_mem_virq_kib("low_mem_virq_limit=99999999999999999999999"),
			 64 * 1024);
}

/* Two sizes that differ are never shown the same: the log's
 * "target 3.4G -> 3.4G" said nothing. */
static void size_format_pair_shows_two_different_sizes_differently(void **state)
{
	static const uint64_t pairs[][2] = {
		{3565158, 3565158 + 4096}, /* 3.4G and 3.4G + 4M */
		{3565158, 3565159},        /* one KiB apart */
		{1048576, 1048576 + 1},
		{512 * 1024, 2 * 1024 * 1024},
	};
	char a[32], b[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		size_format_pair(pairs[i][0], pairs[i][1], a, b, sizeof(a));
		assert_string_not_equal(a, b);
	}
	/* Sizes that one decimal tells apart keep the short form. */
	size_format_pair(512 * 1024, 2 * 1024 * 1024, a, b, sizeof(a));
	assert_string_equal(a, "512M");
	assert_string_equal(b, "2G");
	/* 3.40G and 3.41G: MiB with one decimal. */
	size_format_pair(3565158, 3565158 + 4096, a, b, sizeof(a));
	assert_string_equal(a, "3481.6M");
	assert_string_equal(b, "3485.6M");
	/* One KiB apart: whole KiB. */
	size_format_pair(3565158, 3565159, a, b, sizeof(a));
	assert_string_equal(a, "3565158K");
	assert_string_equal(b, "3565159K");
	/* Equal sizes stay as size_format shows them. */
	size_format_pair(3565158, 3565158, a, b, sizeof(a));
	assert_string_equal(a, b);
	assert_string_equal(a, "3.4G");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(size_parse_accepts_binary_units_in_any_case),
		cmocka_unit_test(size_parse_accepts_zero_with_a_unit),
		cmocka_unit_test(size_parse_rounds_decimals_to_the_nearest_kib),
		cmocka_unit_test(size_parse_refuses_garbage_and_missing_units),
		cmocka_unit_test(size_parse_refuses_sizes_above_one_pib),
		cmocka_unit_test(size_parse_prefers_syntax_errors_over_range_errors),
		cmocka_unit_test(size_format_uses_the_largest_unit_and_one_decimal_at_most),
		cmocka_unit_test(size_format_truncates_to_the_buffer_and_terminates),
		cmocka_unit_test(size_format_then_parse_gives_back_exact_values),
		cmocka_unit_test(size_format_of_any_value_reads_back_within_half_a_tenth),
		cmocka_unit_test(size_format_pair_shows_two_different_sizes_differently),
		cmocka_unit_test(duration_parse_accepts_ms_s_m_h_and_decimals),
		cmocka_unit_test(duration_parse_refuses_bare_numbers_and_garbage),
		cmocka_unit_test(duration_parse_refuses_more_than_thirty_days),
		cmocka_unit_test(duration_format_is_short_and_exact),
		cmocka_unit_test(duration_format_then_parse_gives_back_single_unit_values),
		cmocka_unit_test(u64_parse_strict_accepts_plain_digits_up_to_max),
		cmocka_unit_test(u64_parse_strict_refuses_signs_spaces_and_junk),
		cmocka_unit_test(u64_parse_strict_refuses_values_above_max),
		cmocka_unit_test(random_strings_are_refused_unless_well_formed),
		cmocka_unit_test(xen_low_mem_virq_follows_the_hypervisor_command_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
