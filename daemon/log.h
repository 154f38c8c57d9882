/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging for the daemon: one line per message on stderr, or, when stderr
 * is the journal, one journal entry with structured fields (DOMID=,
 * DOMAIN=, MESSAGE_ID=). Repeated messages are rate-limited. */
#ifndef BALLOOND_LOG_H
#define BALLOOND_LOG_H

#include <stdint.h>
#include <syslog.h>

#include "conf.h"

/* MESSAGE_IDs of the journal entries an operator may want to find or
 * alert on (`journalctl MESSAGE_ID=...`); listed in balloond(8). */
#define LOG_MSGID_STATE "ebb64524fead415abbf23f9ebac96993"       /* stalled, uncooperative, recovered */
#define LOG_MSGID_PIN "ea8e82808aaf4a5ea21e436c9777c2f8"         /* pinned, unpinned */
#define LOG_MSGID_RESERVATION "a6f136f512de44b1b215b3d3ad457c4a" /* granted, failed, expired... */
#define LOG_MSGID_AUDIT "7ac0bc5cb3b44dd899ac6a565d4f82a0"       /* confirmed audit findings */
#define LOG_MSGID_COEXIST "f7ff308543594e2ba6b06193813baebb"     /* xl's autoballoon and claim_mode */

/* No domain: the domid of a log_about that names none. */
#define LOG_NO_DOMID UINT32_MAX

/* What a message is about: its journal fields. Any member may be empty. */
struct log_about {
	uint32_t domid;         /* DOMID=, or LOG_NO_DOMID */
	const char *domain;     /* DOMAIN=, or NULL */
	const char *message_id; /* MESSAGE_ID=, or NULL */
};

void log_init(enum log_level level);
void log_set_level(enum log_level level);

/* A message at syslog priority prio (LOG_ERR .. LOG_DEBUG) with the fields
 * of *about (NULL: none). */
void log_about(int prio, const struct log_about *about, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* *_warn variants append ": strerror(errno)". */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Rate limit: at most LOG_BURST messages of one kind about one domain
 * within LOG_INTERVAL_MS; the rest are counted, and the next one let
 * through says how many were suppressed. A message's kind is its format
 * string, or its text where the format is only "%s" (so two different
 * reservations' lines are not one kind). Exposed for the unit test. */
#define LOG_BURST 10
#define LOG_INTERVAL_MS 60000
/* Whether a message of kind key about domid may be emitted at now_ms;
 * *ret_suppressed gets how many like it were suppressed before it. */
int log_ratelimit_allow(uint64_t key, uint32_t domid, uint64_t now_ms,
			unsigned *ret_suppressed);
void log_ratelimit_reset(void);
/* A message's kind: fmt itself, or a hash of msg where fmt is "%s". */
uint64_t log_message_kind(const char *fmt, const char *msg);

#endif
