/* SPDX-License-Identifier: GPL-2.0-or-later */
/* utf8_prefix: a cut never splits a character, and keeps what fits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "utf8.h"

/* ASCII and short strings are cut at max or kept whole. */
static void test_ascii(void **state)
{
	(void)state;
	assert_int_equal(utf8_prefix("", 64), 0);
	assert_int_equal(utf8_prefix("abc", 64), 3);
	assert_int_equal(utf8_prefix("abcdef", 3), 3);
	assert_int_equal(utf8_prefix("abc", 3), 3);
	assert_int_equal(utf8_prefix("abc", 0), 0);
}

/* A cut that would fall inside a 2-, 3- or 4-byte sequence moves before it;
 * one after a whole character stays. */
static void test_multibyte(void **state)
{
	(void)state;
	/* "a" + "é" (c3 a9) + "b" */
	assert_int_equal(utf8_prefix("a\xc3\xa9" "b", 2), 1);
	assert_int_equal(utf8_prefix("a\xc3\xa9" "b", 3), 3);
	/* "€" (e2 82 ac) */
	assert_int_equal(utf8_prefix("x\xe2\x82\xac", 2), 1);
	assert_int_equal(utf8_prefix("x\xe2\x82\xac", 3), 1);
	assert_int_equal(utf8_prefix("x\xe2\x82\xac", 4), 4);
	/* U+1F600 (f0 9f 98 80) */
	assert_int_equal(utf8_prefix("\xf0\x9f\x98\x80z", 1), 0);
	assert_int_equal(utf8_prefix("\xf0\x9f\x98\x80z", 3), 0);
	assert_int_equal(utf8_prefix("\xf0\x9f\x98\x80z", 4), 4);
}

/* Every cut of a text of mixed characters around byte 64 is valid UTF-8
 * (ends on a boundary) and loses less than one character. */
static void test_every_cut(void **state)
{
	char s[128];
	size_t max;

	(void)state;
	memset(s, 'a', 62);
	strcpy(s + 62, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" "end");
	for (max = 0; max <= strlen(s); max++) {
		size_t n = utf8_prefix(s, max);

		assert_true(n <= max);
		assert_true(max - n < 4);
		assert_false((s[n] & 0xc0) == 0x80);
	}
}

/* Bytes that are not UTF-8 (a run of continuation bytes) are cut at max:
 * nothing to keep whole. */
static void test_not_utf8(void **state)
{
	(void)state;
	assert_int_equal(utf8_prefix("\x80\x80\x80\x80\x80\x80", 5), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii),
		cmocka_unit_test(test_multibyte),
		cmocka_unit_test(test_every_cut),
		cmocka_unit_test(test_not_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
