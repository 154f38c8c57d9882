/* SPDX-License-Identifier: GPL-2.0-or-later */
/* coexist: xl's autoballoon resolved as xl does, and what balloond makes
 * of it with and without manage_dom0. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "coexist.h"

/* The values xl accepts, and nothing else. */
static void test_parse(void **state)
{
	enum xl_autoballoon a;

	(void)state;
	assert_int_equal(xl_autoballoon_parse("on", &a), 0);
	assert_int_equal(a, XL_AUTOBALLOON_ON);
	assert_int_equal(xl_autoballoon_parse("1", &a), 0);
	assert_int_equal(a, XL_AUTOBALLOON_ON);
	assert_int_equal(xl_autoballoon_parse("off", &a), 0);
	assert_int_equal(a, XL_AUTOBALLOON_OFF);
	assert_int_equal(xl_autoballoon_parse("0", &a), 0);
	assert_int_equal(a, XL_AUTOBALLOON_OFF);
	assert_int_equal(xl_autoballoon_parse("auto", &a), 0);
	assert_int_equal(a, XL_AUTOBALLOON_AUTO);
	assert_int_equal(xl_autoballoon_parse("yes", &a), -EINVAL);
	assert_int_equal(xl_autoballoon_parse("", &a), -EINVAL);
	assert_int_equal(xl_autoballoon_parse("On", &a), -EINVAL);
}

/* dom0_mem counts only as a word of its own with a value. */
static void test_dom0_mem(void **state)
{
	(void)state;
	assert_true(xen_cmdline_has_dom0_mem("dom0_mem=1G"));
	assert_true(xen_cmdline_has_dom0_mem("console=com1 dom0_mem=2048M,max:4G loglvl=all"));
	assert_true(xen_cmdline_has_dom0_mem("placeholder dom0_mem=-1G"));
	assert_false(xen_cmdline_has_dom0_mem(""));
	assert_false(xen_cmdline_has_dom0_mem(NULL));
	assert_false(xen_cmdline_has_dom0_mem("dom0_mem="));
	assert_false(xen_cmdline_has_dom0_mem("dom0_mem= x"));
	assert_false(xen_cmdline_has_dom0_mem("xdom0_mem=1G"));
	assert_false(xen_cmdline_has_dom0_mem("dom0_max_vcpus=2"));
	assert_true(xen_cmdline_has_dom0_mem("xdom0_mem=1G dom0_mem=1G"));
}

static struct coexist judge(enum xl_autoballoon a, bool known, bool dom0_mem, bool manage_dom0)
{
	struct xl_facts f;
	struct coexist c;

	xl_facts_init(&f);
	f.source = XL_CONF_READ;
	f.autoballoon = a;
	f.cmdline_known = known;
	f.dom0_mem = dom0_mem;
	coexist_judge(&f, manage_dom0, "/etc/xen/xl.conf", &c);
	return c;
}

/* auto is on unless dom0_mem is given; on when the command line is unknown. */
static void test_auto(void **state)
{
	(void)state;
	assert_true(judge(XL_AUTOBALLOON_AUTO, true, false, false).autoballoon_on);
	assert_false(judge(XL_AUTOBALLOON_AUTO, true, true, false).autoballoon_on);
	assert_true(judge(XL_AUTOBALLOON_AUTO, false, false, false).autoballoon_on);
	assert_true(judge(XL_AUTOBALLOON_ON, true, true, false).autoballoon_on);
	assert_false(judge(XL_AUTOBALLOON_OFF, true, false, true).autoballoon_on);
}

/* Off is fine either way; on conflicts when balloond manages dom0 and is a
 * note when it does not. */
static void test_verdict(void **state)
{
	struct coexist c;

	(void)state;
	assert_int_equal(judge(XL_AUTOBALLOON_OFF, true, false, true).verdict, COEXIST_OK);
	assert_int_equal(judge(XL_AUTOBALLOON_OFF, true, false, false).verdict, COEXIST_OK);
	assert_int_equal(judge(XL_AUTOBALLOON_AUTO, true, true, true).verdict, COEXIST_OK);
	c = judge(XL_AUTOBALLOON_ON, true, false, true);
	assert_int_equal(c.verdict, COEXIST_CONFLICT);
	assert_non_null(strstr(c.advice, "autoballoon=\"off\" in /etc/xen/xl.conf"));
	assert_non_null(strstr(c.summary, "xl autoballoon on (set on)"));
	c = judge(XL_AUTOBALLOON_AUTO, true, false, true);
	assert_int_equal(c.verdict, COEXIST_CONFLICT);
	assert_non_null(strstr(c.summary, "no dom0_mem"));
	assert_int_equal(judge(XL_AUTOBALLOON_AUTO, true, false, false).verdict, COEXIST_NOTE);
	assert_int_equal(judge(XL_AUTOBALLOON_ON, false, false, false).verdict, COEXIST_NOTE);
}

/* claim_mode off is said; a missing file is said to mean xl's defaults. */
static void test_claim_and_source(void **state)
{
	struct xl_facts f;
	struct coexist c;

	(void)state;
	xl_facts_init(&f);
	assert_true(f.claim_mode);
	assert_int_equal(f.autoballoon, XL_AUTOBALLOON_AUTO);
	f.claim_mode = false;
	f.autoballoon = XL_AUTOBALLOON_OFF;
	coexist_judge(&f, false, "/x/xl.conf", &c);
	assert_non_null(strstr(c.summary, "claim_mode off"));
	assert_non_null(strstr(c.summary, "no such file"));
	assert_non_null(strstr(c.advice, "claims nothing"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_dom0_mem),
		cmocka_unit_test(test_auto),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_claim_and_source),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
