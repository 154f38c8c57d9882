/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the sim backend (daemon/backend-sim.c): an audit snapshot
 * is the host of the instant audit_open was called, although the copy is
 * made later on the worker (audit_read) and the loop goes on observing and
 * acting meanwhile; and observing again while XenStore is unchanged gives
 * what reading it all again would. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend-sim.h"
#include "backend.h"
#include "simhost.h"
#include "simxs.h"

#ifdef HAVE_XEN
/* daemon/backend.c lists the Xen backend too; this test never picks it. */
const struct backend_ops backend_xen_ops = {.name = "xen"};
#endif

/* A PV guest of 1 GiB whose balloon moves at 256 MiB/s. */
static const char scenario[] =
	"{\"host\": {\"memory\": \"8G\", \"xen_reserved\": \"128M\", \"dom0\": \"1G\"},"
	" \"domains\": [{\"name\": \"pv1\", \"type\": \"pv\", \"memory\": \"1G\","
	" \"static_max\": \"2G\", \"dynamic_min\": \"256M\", \"dynamic_max\": \"2G\"}],"
	" \"until\": 60}";

static uint64_t obs_tot(const struct engine_obs *obs, uint32_t domid)
{
	size_t i;

	for (i = 0; i < obs->n; i++)
		if (obs->doms[i].domid == domid)
			return obs->doms[i].tot_kib;
	fail_msg("domain %u not observed", domid);
	return 0;
}

static void snapshot_is_the_host_at_open(void **state)
{
	struct backend *b;
	struct engine_obs obs;
	struct audit_tables t;
	uint64_t vclock = 0, nframes, *m2p_at_open, *p2m_at_open, npfns, tot_at_open;
	const uint64_t *m2p;
	struct backend_audit *snap;
	char err[256];
	size_t i, ad;

	(void)state;
	assert_int_equal(backend_sim_open_virtual_text(&b, "test", scenario, &vclock, err,
						       sizeof(err)),
			 0);
	assert_int_equal(b->ops->observe(b, &obs), 0);
	tot_at_open = obs_tot(&obs, 1);
	m2p = simhost_m2p(backend_sim_host(b), &nframes);
	m2p_at_open = malloc(nframes * sizeof(*m2p_at_open));
	assert_non_null(m2p_at_open);
	memcpy(m2p_at_open, m2p, nframes * sizeof(*m2p));
	assert_non_null(simhost_p2m(backend_sim_host(b), 1, &npfns));
	p2m_at_open = malloc(npfns * 8);
	assert_non_null(p2m_at_open);
	memcpy(p2m_at_open, simhost_p2m(backend_sim_host(b), 1, NULL), npfns * 8);

	assert_int_equal(b->ops->audit_open(b, NULL, 0, &snap, err, sizeof(err)), 0);
	/* The loop goes on: a new target, ten seconds, observations. */
	assert_int_equal(b->ops->set_target(b, 1, 512 * 1024), 0);
	vclock = 10000;
	assert_int_equal(b->ops->observe(b, &obs), 0);
	assert_int_equal(obs_tot(&obs, 1), tot_at_open); /* the host is held for the copy */

	assert_int_equal(b->ops->audit_read(snap, &t, err, sizeof(err)), 0);
	assert_int_equal(t.nframes, nframes);
	assert_memory_equal(t.m2p, m2p_at_open, nframes * sizeof(*m2p));
	for (ad = 0, i = 0; i < t.ndoms; i++)
		if (t.doms[i].domid == 1)
			ad = i + 1;
	assert_true(ad != 0);
	assert_int_equal(t.doms[ad - 1].npfns, npfns);
	assert_memory_equal(t.doms[ad - 1].p2m, p2m_at_open, npfns * 8);

	/* Copied: the host runs again and the balloon follows its target. */
	assert_int_equal(b->ops->observe(b, &obs), 0);
	assert_int_equal(obs_tot(&obs, 1), 512 * 1024);
	assert_memory_equal(t.m2p, m2p_at_open, nframes * sizeof(*m2p)); /* still the snapshot */
	b->ops->audit_close(snap);
	free(m2p_at_open);
	free(p2m_at_open);
	b->ops->close(b);
}

/* A snapshot closed without being read lets the host run again. */
static void unread_snapshot_releases_the_host(void **state)
{
	struct backend *b;
	struct engine_obs obs;
	struct backend_audit *snap;
	uint64_t vclock = 0;
	char err[256];

	(void)state;
	assert_int_equal(backend_sim_open_virtual_text(&b, "test", scenario, &vclock, err,
						       sizeof(err)),
			 0);
	assert_int_equal(b->ops->audit_open(b, NULL, 0, &snap, err, sizeof(err)), 0);
	b->ops->audit_close(snap);
	assert_int_equal(b->ops->set_target(b, 1, 512 * 1024), 0);
	vclock = 10000;
	assert_int_equal(b->ops->observe(b, &obs), 0);
	assert_int_equal(obs_tot(&obs, 1), 512 * 1024);
	b->ops->close(b);
}

/* Observing twice with XenStore unchanged, then after a change. */
static void observation_follows_xenstore(void **state)
{
	struct backend *b;
	struct engine_obs obs;
	uint64_t vclock = 0;
	char err[256];
	size_t i;

	(void)state;
	assert_int_equal(backend_sim_open_virtual_text(&b, "test", scenario, &vclock, err,
						       sizeof(err)),
			 0);
	assert_int_equal(b->ops->observe(b, &obs), 0);
	assert_int_equal(b->ops->observe(b, &obs), 0);
	for (i = 0; i < obs.n && obs.doms[i].domid != 1; i++)
		;
	assert_true(i < obs.n);
	assert_string_equal(obs.doms[i].name, "pv1");
	assert_true(obs.doms[i].has_xs_dmin);
	assert_int_equal(obs.doms[i].xs_dmin_kib, 256 * 1024);
	assert_int_equal(simxs_write(simhost_xs(backend_sim_host(b)), 0,
				     "/local/domain/1/memory/dynamic-min", "300000"),
			 0);
	assert_int_equal(b->ops->observe(b, &obs), 0);
	assert_int_equal(obs.doms[i].xs_dmin_kib, 300000);
	b->ops->close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(snapshot_is_the_host_at_open),
		cmocka_unit_test(unread_snapshot_releases_the_host),
		cmocka_unit_test(observation_follows_xenstore),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
