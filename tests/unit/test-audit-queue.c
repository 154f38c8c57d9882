/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The queue of automatic audits (daemon/audit-queue.c): domains whose
 * balloons came to rest are coalesced without duplicates, a list too long
 * or a periodic request becomes "every domain", and an audit removes what
 * it covers and nothing else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "audit-queue.h"

static void a_new_queue_is_empty(void **state)
{
	struct audit_queue q = {0};

	assert_true(audit_queue_empty(&q));
	audit_queue_add(&q, 3);
	assert_false(audit_queue_empty(&q));
}

static void a_domain_queued_twice_is_listed_once(void **state)
{
	struct audit_queue q = {0};

	audit_queue_add(&q, 3);
	audit_queue_add(&q, 5);
	audit_queue_add(&q, 3);
	assert_false(q.all);
	assert_int_equal(q.n, 2);
	assert_int_equal(q.domids[0], 3);
	assert_int_equal(q.domids[1], 5);
}

static void more_domains_than_the_list_holds_become_every_domain(void **state)
{
	struct audit_queue q = {0};
	uint32_t d;

	for (d = 1; d <= AUDIT_QUEUE_MAX; d++)
		audit_queue_add(&q, d);
	assert_false(q.all);
	assert_int_equal(q.n, AUDIT_QUEUE_MAX);
	audit_queue_add(&q, AUDIT_QUEUE_MAX + 1);
	assert_true(q.all);
	assert_int_equal(q.n, 0);
	audit_queue_add(&q, 7); /* already covered */
	assert_true(q.all);
	assert_int_equal(q.n, 0);
}

static void every_domain_is_asked_with_uint32_max(void **state)
{
	struct audit_queue q = {0};

	audit_queue_add(&q, 2);
	audit_queue_add(&q, UINT32_MAX);
	assert_true(q.all);
	assert_int_equal(q.n, 0);
}

static void an_audit_of_some_domains_removes_only_those(void **state)
{
	struct audit_queue q = {0};
	const uint32_t done[] = {5, 9};

	audit_queue_add(&q, 3);
	audit_queue_add(&q, 5);
	audit_queue_add(&q, 7);
	audit_queue_covered(&q, done, 2);
	assert_int_equal(q.n, 2);
	assert_int_equal(q.domids[0], 3);
	assert_int_equal(q.domids[1], 7);
	audit_queue_covered(&q, (const uint32_t[]){3, 7}, 2);
	assert_true(audit_queue_empty(&q));
}

static void an_audit_of_some_domains_leaves_every_domain_queued(void **state)
{
	struct audit_queue q = {.all = true};
	const uint32_t done[] = {1};

	audit_queue_covered(&q, done, 1);
	assert_true(q.all);
	assert_false(audit_queue_empty(&q));
}

static void an_audit_of_every_domain_empties_the_queue(void **state)
{
	struct audit_queue q = {0};

	audit_queue_add(&q, 3);
	audit_queue_covered(&q, NULL, 0);
	assert_true(audit_queue_empty(&q));
	q.all = true;
	audit_queue_covered(&q, NULL, 0);
	assert_true(audit_queue_empty(&q));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_new_queue_is_empty),
		cmocka_unit_test(a_domain_queued_twice_is_listed_once),
		cmocka_unit_test(more_domains_than_the_list_holds_become_every_domain),
		cmocka_unit_test(every_domain_is_asked_with_uint32_max),
		cmocka_unit_test(an_audit_of_some_domains_removes_only_those),
		cmocka_unit_test(an_audit_of_some_domains_leaves_every_domain_queued),
		cmocka_unit_test(an_audit_of_every_domain_empties_the_queue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
