/* SPDX-License-Identifier: GPL-2.0-or-later */
/* xen-audit-read - the M2P/P2M as daemon/audit-xen.c reads them, on a real
 * dom0, for the real-Xen tier (tests/xen/dom0-audit.sh) to compare with
 * xen-mfndump and to audit real guests.
 *
 *   xen-audit-read m2p FIRST COUNT [--mfndump]
 *                                    "0xMFN 0xPFN" lines, as the auditor sees them
 *                                    (--mfndump: in xen-mfndump dump-m2p's format)
 *   xen-audit-read p2m DOMID         "0xPFN 0xMFN" lines, the guest's raw entries
 *   xen-audit-read owner MFN...      "0xMFN OWNER" lines from the owner callback
 *                                    the auditor uses for suspects
 *   xen-audit-read owner-sample DOMID...
 *                                    "DOMID 0xMFN OWNER" for the first, middle and
 *                                    last RAM entries of each domain's P2M
 *   xen-audit-read audit [DOMID...]  audit_run, and audit_recheck after 1 s if
 *                                    anything was found; per-domain status and counts
 *
 * Exit status: 0 done (audit: clean), 1 audit findings confirmed, 2 error. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit-xen.h"
#include "audit.h"
#include "log.h"

#define RECHECK_DELAY_S 1
#define EXAMPLES 10

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_u64(const char *s, uint64_t *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(s, &end, 0);
	return errno || end == s || *end || s[0] == '-' ? -EINVAL : 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: xen-audit-read m2p FIRST COUNT [--mfndump] | p2m DOMID | "
			"owner MFN... | owner-sample DOMID... | audit [DOMID...]\n");
	return 2;
}

static const char *guest_name(enum audit_guest g)
{
	return g == AUDIT_GUEST_PV ? "pv" : g == AUDIT_GUEST_PVH ? "pvh" : "hvm";
}

/* Open and read the audit source for the listed domains. */
static struct audit_xen *source_read(const uint32_t *ids, size_t n, struct audit_tables *t)
{
	struct audit_xen *a = NULL;
	char err[256];

	if (audit_xen_open(ids, n, &a, err, sizeof(err)) < 0 ||
	    audit_xen_read(a, t, err, sizeof(err)) < 0) {
		fprintf(stderr, "xen-audit-read: %s\n", err);
		audit_xen_close(a);
		return NULL;
	}
	return a;
}

static int cmd_m2p(int argc, char **argv)
{
	/* No domain has this id: only the M2P is read. */
	const uint32_t none = AUDIT_OWNER_FREE;
	struct audit_tables t;
	struct audit_xen_stats st;
	struct audit_xen *a;
	uint64_t first, count, mfn, end;
	bool mfndump = argc == 3 && strcmp(argv[2], "--mfndump") == 0;

	if ((argc != 2 && !mfndump) || parse_u64(argv[0], &first) < 0 ||
	    parse_u64(argv[1], &count) < 0)
		return usage();
	a = source_read(&none, 1, &t);
	if (!a)
		return 2;
	audit_xen_stats(a, &st);
	fprintf(stderr,
		"m2p: max_page %" PRIu64 ", %" PRIu64 " chunks, %" PRIu64 " hole chunks (%" PRIu64
		" with E820 RAM), %" PRIu64 " RAM frames\n",
		st.nframes, st.m2p_chunks, st.m2p_hole_chunks, st.m2p_e820_disagree, st.ram_frames);
	end = first + count < first || first + count > t.nframes ? t.nframes : first + count;
	for (mfn = first; mfn < end; mfn++)
		printf(mfndump ? "  mfn=0x%" PRIx64 " ==> pfn=0x%" PRIx64 "\n"
			       : "0x%" PRIx64 " 0x%" PRIx64 "\n",
		       mfn, t.m2p[mfn]);
	audit_xen_close(a);
	return 0;
}

static int cmd_p2m(int argc, char **argv)
{
	struct audit_tables t;
	struct audit_xen *a;
	const struct audit_domain *d;
	uint64_t id, pfn;
	uint32_t domid;
	const char *why;

	if (argc != 1 || parse_u64(argv[0], &id) < 0 || id >= AUDIT_OWNER_IO)
		return usage();
	domid = (uint32_t)id;
	a = source_read(&domid, 1, &t);
	if (!a)
		return 2;
	if (t.ndoms != 1) {
		fprintf(stderr, "xen-audit-read: no domain %u\n", domid);
		audit_xen_close(a);
		return 2;
	}
	d = &t.doms[0];
	why = audit_xen_dom_reason(a, 0);
	if (!d->p2m) {
		fprintf(stderr, "xen-audit-read: domain %u (%s): P2M not read: %s\n", domid,
			guest_name(audit_xen_dom_guest(a, 0)), why ? why : "?");
		audit_xen_close(a);
		return 2;
	}
	fprintf(stderr, "p2m: domain %u width %u npfns %" PRIu64 " tot_pages %" PRIu64 "\n", domid,
		d->width, d->npfns, d->tot_pages);
	for (pfn = 0; pfn < d->npfns; pfn++) {
		uint64_t e;

		if (d->width == 64) {
			e = ((const volatile uint64_t *)d->p2m)[pfn];
		} else {
			e = ((const volatile uint32_t *)d->p2m)[pfn];
			if (e == UINT32_MAX)
				e = UINT64_MAX;
		}
		printf("0x%" PRIx64 " 0x%" PRIx64 "\n", pfn, e);
	}
	audit_xen_close(a);
	return 0;
}

static int cmd_owner(int argc, char **argv)
{
	const uint32_t none = AUDIT_OWNER_FREE;
	struct audit_tables t;
	struct audit_xen *a;
	int i;

	if (argc < 1)
		return usage();
	a = source_read(&none, 1, &t);
	if (!a)
		return 2;
	for (i = 0; i < argc; i++) {
		uint64_t mfn;

		if (parse_u64(argv[i], &mfn) < 0) {
			audit_xen_close(a);
			return usage();
		}
		printf("0x%" PRIx64 " %u\n", mfn, t.owner(t.owner_arg, mfn));
	}
	audit_xen_close(a);
	return 0;
}

/* The i-th entry of d's P2M in the 64-bit encoding. */
static uint64_t p2m_entry(const struct audit_domain *d, uint64_t i)
{
	uint32_t e;

	if (d->width == 64)
		return ((const volatile uint64_t *)d->p2m)[i];
	e = ((const volatile uint32_t *)d->p2m)[i];
	if (e == UINT32_MAX)
		return AUDIT_P2M_INVALID;
	return (e & 0x80000000u ? AUDIT_P2M_FOREIGN : 0) |
	       (e & 0x40000000u ? AUDIT_P2M_IDENTITY : 0) | (e & 0x3fffffffu);
}

static int cmd_owner_sample(int argc, char **argv)
{
	struct audit_tables t;
	struct audit_xen *a;
	uint32_t *ids;
	size_t i;
	int k;

	if (argc < 1)
		return usage();
	ids = calloc((size_t)argc, sizeof(*ids));
	if (!ids)
		return 2;
	for (k = 0; k < argc; k++) {
		uint64_t v;

		if (parse_u64(argv[k], &v) < 0 || v >= AUDIT_OWNER_IO) {
			free(ids);
			return usage();
		}
		ids[k] = (uint32_t)v;
	}
	a = source_read(ids, (size_t)argc, &t);
	free(ids);
	if (!a)
		return 2;
	for (i = 0; i < t.ndoms; i++) {
		const struct audit_domain *d = &t.doms[i];
		uint64_t pfn, ram = 0, pick[3], n = 0, want[3];

		if (!d->p2m)
			continue;
		for (pfn = 0; pfn < d->npfns; pfn++)
			ram += p2m_entry(d, pfn) < t.nframes;
		want[0] = 0, want[1] = ram / 2, want[2] = ram ? ram - 1 : 0;
		for (pfn = 0, ram = 0; pfn < d->npfns && n < 3; pfn++) {
			uint64_t e = p2m_entry(d, pfn);

			if (e >= t.nframes)
				continue;
			while (n < 3 && ram == want[n])
				pick[n++] = e;
			ram++;
		}
		for (k = 0; k < (int)n; k++)
			printf("%u 0x%" PRIx64 " %u\n", d->domid, pick[k],
			       t.owner(t.owner_arg, pick[k]));
	}
	audit_xen_close(a);
	return 0;
}

static void print_examples(const struct audit_result *r)
{
	unsigned c;

	for (c = 0; c < AUDIT_NCLASSES; c++) {
		size_t n, i;
		const struct audit_finding *f = audit_result_findings(r, c, &n);

		for (i = 0; i < n && i < EXAMPLES; i++)
			printf("finding %s dom=%u pfn=%#" PRIx64 " mfn=%#" PRIx64 " m2p=%#" PRIx64
			       " other=%#" PRIx64 " delta=%" PRId64 "\n",
			       audit_class_name(c), f[i].domid, f[i].pfn, f[i].mfn, f[i].m2p,
			       f[i].other, f[i].delta);
	}
}

/* One line per domain: status, scan counts, findings per class, reason. */
static void print_doms(const struct audit_result *r, const struct audit_result *first,
		       const struct audit_xen *a)
{
	size_t i;

	for (i = 0; i < audit_result_ndoms(r); i++) {
		const struct audit_dom_result *d = audit_result_dom(r, i);
		const struct audit_dom_result *d0 = audit_result_dom(first, i);
		const char *why = audit_xen_dom_reason(a, i);
		char status[32];
		unsigned c;

		snprintf(status, sizeof(status), "%s", audit_status_name(d->status));
		for (char *p = status; *p; p++)
			if (*p == ' ')
				*p = '-';
		printf("dom %u %s %s scanned=%" PRIu64 " ram=%" PRIu64 " ballooned=%" PRIu64
		       " foreign=%" PRIu64 " identity=%" PRIu64 " mmio=%" PRIu64
		       " tot_pages=%" PRIu64 " first_pass=%" PRIu64 " findings=%" PRIu64,
		       d->domid, guest_name(audit_xen_dom_guest(a, i)), status, d->scanned, d->ram,
		       d->ballooned, d->foreign, d->identity, d->mmio, d->tot_pages,
		       d0 ? d0->nfindings : 0, d->nfindings);
		for (c = 0; c < AUDIT_NCLASSES; c++)
			if (d->count[c])
				printf(" %s=%" PRIu64, audit_class_name(c), d->count[c]);
		if (why)
			printf(" reason: %s", why);
		printf("\n");
	}
}

static int cmd_audit(int argc, char **argv)
{
	struct audit_tables t, t2;
	struct audit_xen *a, *a2 = NULL;
	struct audit_result *r = NULL, *r2 = NULL;
	struct audit_xen_stats st;
	uint32_t *ids = NULL;
	uint64_t scanned = 0, found;
	double t0, t1, t2s;
	size_t i;
	int rc, ret = 2;

	if (argc > 0) {
		ids = calloc((size_t)argc, sizeof(*ids));
		if (!ids)
			return 2;
	}
	for (i = 0; i < (size_t)argc; i++) {
		uint64_t v;

		if (parse_u64(argv[i], &v) < 0 || v >= AUDIT_OWNER_IO) {
			free(ids);
			return usage();
		}
		ids[i] = (uint32_t)v;
	}
	t0 = now_s();
	a = source_read(ids, (size_t)argc, &t);
	if (!a)
		goto out;
	t1 = now_s();
	rc = audit_run(&t, NULL, &r);
	t2s = now_s();
	if (rc < 0) {
		fprintf(stderr, "xen-audit-read: audit_run: %s\n", strerror(-rc));
		goto out;
	}
	audit_xen_stats(a, &st);
	for (i = 0; i < audit_result_ndoms(r); i++)
		scanned += audit_result_dom(r, i)->scanned;
	printf("audit: read %.3f s (max_page %" PRIu64 ", %" PRIu64 " M2P chunks, %" PRIu64
	       " holes, %" PRIu64 " P2M pages), scan %.3f s, %" PRIu64 " entries, %.1f Mentries/s,"
	       " owner lookups %" PRIu64 " (%" PRIu64 " hypercalls)\n",
	       t1 - t0, st.nframes, st.m2p_chunks, st.m2p_hole_chunks, st.leaf_pages, t2s - t1,
	       scanned, t2s > t1 ? (double)scanned / (t2s - t1) / 1e6 : 0.0, st.owner_calls,
	       st.owner_hypercalls);
	found = audit_result_total(r);
	if (found == 0) {
		print_doms(r, r, a);
		printf("result: clean\n");
		ret = 0;
		goto out;
	}
	printf("first pass: %" PRIu64 " findings; re-check in %d s\n", found, RECHECK_DELAY_S);
	print_examples(r);
	sleep(RECHECK_DELAY_S);
	a2 = source_read(ids, (size_t)argc, &t2);
	if (!a2)
		goto out;
	rc = audit_recheck(r, &t2, &r2);
	if (rc < 0) {
		fprintf(stderr, "xen-audit-read: audit_recheck: %s\n", strerror(-rc));
		goto out;
	}
	print_doms(r2, r, a2);
	found = audit_result_total(r2);
	if (found == 0 && audit_result_unconfirmed(r2) == 0) {
		printf("result: clean (first-pass findings gone on re-check)\n");
		ret = 0;
	} else {
		print_examples(r2);
		printf("result: findings %" PRIu64 " confirmed, %" PRIu64 " unconfirmed\n", found,
		       audit_result_unconfirmed(r2));
		ret = 1;
	}
out:
	audit_result_free(r);
	audit_result_free(r2);
	audit_xen_close(a);
	audit_xen_close(a2);
	free(ids);
	return ret;
}

int main(int argc, char **argv)
{
	log_init(getenv("XEN_AUDIT_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "m2p") == 0)
		return cmd_m2p(argc - 2, argv + 2);
	if (strcmp(argv[1], "p2m") == 0)
		return cmd_p2m(argc - 2, argv + 2);
	if (strcmp(argv[1], "owner-sample") == 0)
		return cmd_owner_sample(argc - 2, argv + 2);
	if (strcmp(argv[1], "owner") == 0)
		return cmd_owner(argc - 2, argv + 2);
	if (strcmp(argv[1], "audit") == 0)
		return cmd_audit(argc - 2, argv + 2);
	return usage();
}
