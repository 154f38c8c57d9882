/* SPDX-License-Identifier: GPL-2.0-or-later */
/* daemon/log.c: the rate limit that keeps a flapping guest or a failing
 * peer from flooding the journal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "log.h"

static const char fmt_a[] = "domain %u: a";
static const char fmt_b[] = "domain %u: b";

/* A burst passes, the rest of the window is held back. */
static void ratelimit_lets_a_burst_through_then_holds_the_rest(void **state)
{
	unsigned supp, i, allowed = 0;

	(void)state;
	log_ratelimit_reset();
	for (i = 0; i < 3 * LOG_BURST; i++)
		allowed += (unsigned)log_ratelimit_allow((uintptr_t)fmt_a, 7, 1000 + i, &supp);
	assert_int_equal(allowed, LOG_BURST);
}

/* After the window, the next message passes and says how many were held. */
static void ratelimit_reports_what_it_suppressed_when_the_window_ends(void **state)
{
	unsigned supp = 99, i;

	(void)state;
	log_ratelimit_reset();
	for (i = 0; i < LOG_BURST + 5; i++)
		log_ratelimit_allow((uintptr_t)fmt_a, 7, 1000, &supp);
	assert_int_equal(log_ratelimit_allow((uintptr_t)fmt_a, 7, 1000 + LOG_INTERVAL_MS, &supp), 1);
	assert_int_equal(supp, 5);
	assert_int_equal(log_ratelimit_allow((uintptr_t)fmt_a, 7, 1001 + LOG_INTERVAL_MS, &supp), 1);
	assert_int_equal(supp, 0);
}

/* One domain's flood does not silence another domain or another message. */
static void ratelimit_counts_each_message_and_domain_apart(void **state)
{
	unsigned supp, i;

	(void)state;
	log_ratelimit_reset();
	for (i = 0; i < 5 * LOG_BURST; i++)
		log_ratelimit_allow((uintptr_t)fmt_a, 7, 1000, &supp);
	assert_int_equal(log_ratelimit_allow((uintptr_t)fmt_a, 7, 1000, &supp), 0);
	assert_int_equal(log_ratelimit_allow((uintptr_t)fmt_a, 8, 1000, &supp), 1);
	assert_int_equal(log_ratelimit_allow((uintptr_t)fmt_b, 7, 1000, &supp), 1);
}

/* Lines logged through a bare "%s" (reservations, pressure) are told apart
 * by their text, so one reservation's flood does not hide another's. */
static void ratelimit_tells_bare_string_messages_apart_by_text(void **state)
{
	(void)state;
	assert_true(log_message_kind("%s", "reservation 1: granted") !=
		    log_message_kind("%s", "reservation 2: granted"));
	assert_true(log_message_kind("%s", "reservation 1: granted") ==
		    log_message_kind("%s", "reservation 1: granted"));
	assert_true(log_message_kind(fmt_a, "domain 1: a") == log_message_kind(fmt_a, "domain 2: a"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ratelimit_lets_a_burst_through_then_holds_the_rest),
		cmocka_unit_test(ratelimit_reports_what_it_suppressed_when_the_window_ends),
		cmocka_unit_test(ratelimit_counts_each_message_and_domain_apart),
		cmocka_unit_test(ratelimit_tells_bare_string_messages_apart_by_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
