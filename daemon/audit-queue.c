/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The queue of automatic audits (audit-queue.h): domains whose balloons came
 * to rest, coalesced into one audit; a list too long becomes "every
 * domain". Pure: the scheduler owns the timers. */
#include "config.h"

#include "audit-queue.h"

void audit_queue_add(struct audit_queue *q, uint32_t domid)
{
	size_t i;

	if (q->all)
		return;
	if (domid == UINT32_MAX) {
		q->all = true;
		q->n = 0;
		return;
	}
	for (i = 0; i < q->n; i++)
		if (q->domids[i] == domid)
			return;
	if (q->n == AUDIT_QUEUE_MAX) {
		q->all = true;
		q->n = 0;
		return;
	}
	q->domids[q->n++] = domid;
}

void audit_queue_covered(struct audit_queue *q, const uint32_t *domids, size_t n)
{
	size_t i, j, k;

	if (n == 0) {
		q->all = false;
		q->n = 0;
		return;
	}
	for (i = 0, k = 0; i < q->n; i++) {
		for (j = 0; j < n && domids[j] != q->domids[i]; j++)
			;
		if (j == n)
			q->domids[k++] = q->domids[i];
	}
	q->n = k;
}

bool audit_queue_empty(const struct audit_queue *q)
{
	return !q->all && q->n == 0;
}
