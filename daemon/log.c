/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging: one line per message on stderr, with a readable level word on a
 * terminal. When stderr is connected to the journal (JOURNAL_STREAM names
 * the device and inode of fd 2, as systemd documents), each message goes
 * to the journal directly with its priority and structured fields; if that
 * send fails, the line goes to stderr with a "<N>" priority prefix that
 * journald understands. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include <systemd/sd-journal.h>

#include "log.h"

static enum log_level log_level = LOG_LEVEL_INFO;
static int log_journal;

/* Whether JOURNAL_STREAM ("DEV:INODE") names what fd 2 is. */
static int stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(enum log_level level)
{
	log_level = level;
	log_journal = stderr_is_journal();
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

/* ---- rate limit ---- */

#define LOG_SLOTS 256

static struct log_slot {
	uint64_t key; /* 0: free */
	uint32_t domid;
	uint64_t start_ms;
	unsigned count;
	unsigned suppressed;
} log_slots[LOG_SLOTS];

void log_ratelimit_reset(void)
{
	memset(log_slots, 0, sizeof(log_slots));
}

int log_ratelimit_allow(uint64_t key, uint32_t domid, uint64_t now_ms,
			unsigned *ret_suppressed)
{
	size_t h = (size_t)((key >> 3 ^ key >> 29 ^ (uint64_t)domid * 2654435761u) % LOG_SLOTS);
	struct log_slot *s = &log_slots[h];

	*ret_suppressed = 0;
	/* A slot taken by another message is handed over once its window has
	 * passed; until then the newcomer is not limited (the table bounds
	 * memory, not the count of distinct messages). */
	if (s->key != key || s->domid != domid) {
		if (s->key && now_ms < s->start_ms + LOG_INTERVAL_MS)
			return 1;
		*s = (struct log_slot){.key = key, .domid = domid, .start_ms = now_ms};
	}
	if (now_ms >= s->start_ms + LOG_INTERVAL_MS) {
		*ret_suppressed = s->suppressed;
		s->start_ms = now_ms;
		s->count = 0;
		s->suppressed = 0;
	}
	if (s->count >= LOG_BURST) {
		s->suppressed++;
		return 0;
	}
	s->count++;
	return 1;
}

uint64_t log_message_kind(const char *fmt, const char *msg)
{
	uint64_t h = 14695981039346656037ull;

	if (strcmp(fmt, "%s") != 0)
		return (uint64_t)(uintptr_t)fmt;
	for (; *msg; msg++)
		h = (h ^ (unsigned char)*msg) * 1099511628211ull;
	return h ? h : 1;
}

static uint64_t log_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- output ---- */

static enum log_level prio_level(int prio)
{
	switch (prio) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return LOG_LEVEL_ERR;
	case LOG_WARNING:
		return LOG_LEVEL_WARNING;
	case LOG_NOTICE:
	case LOG_INFO:
		return LOG_LEVEL_INFO;
	default:
		return LOG_LEVEL_DEBUG;
	}
}

/* One journal entry with the fields of *about; 0 or -errno. */
static int journal_send(int prio, const struct log_about *about, const char *msg)
{
	char message[1300], priority[16], domid[32], domain[128], msgid[64];
	struct iovec iov[6];
	int n = 0;

	snprintf(message, sizeof(message), "MESSAGE=%s", msg);
	snprintf(priority, sizeof(priority), "PRIORITY=%d", prio);
	iov[n++] = (struct iovec){message, strlen(message)};
	iov[n++] = (struct iovec){priority, strlen(priority)};
	iov[n++] = (struct iovec){(char *)"SYSLOG_IDENTIFIER=balloond", 26};
	if (about && about->domid != LOG_NO_DOMID) {
		snprintf(domid, sizeof(domid), "DOMID=%" PRIu32, about->domid);
		iov[n++] = (struct iovec){domid, strlen(domid)};
	}
	if (about && about->domain) {
		snprintf(domain, sizeof(domain), "DOMAIN=%s", about->domain);
		iov[n++] = (struct iovec){domain, strlen(domain)};
	}
	if (about && about->message_id) {
		snprintf(msgid, sizeof(msgid), "MESSAGE_ID=%s", about->message_id);
		iov[n++] = (struct iovec){msgid, strlen(msgid)};
	}
	return sd_journal_sendv(iov, n);
}

static void log_emit(int prio, const struct log_about *about, int with_errno, const char *fmt,
		     va_list ap)
{
	static const char *const words[] = {
		[LOG_EMERG] = "error", [LOG_ALERT] = "error", [LOG_CRIT] = "error",
		[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
		[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
	};
	int saved = errno;
	uint32_t domid = about ? about->domid : LOG_NO_DOMID;
	unsigned suppressed;
	char msg[1024], line[1200];

	if (prio < LOG_EMERG || prio > LOG_DEBUG)
		prio = LOG_ERR;
	if (prio_level(prio) > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!log_ratelimit_allow(log_message_kind(fmt, msg), domid, log_now_ms(), &suppressed)) {
		errno = saved;
		return;
	}
	snprintf(line, sizeof(line), "%s%s%s", msg, with_errno ? ": " : "",
		 with_errno ? strerror(saved) : "");
	if (suppressed) {
		size_t l = strlen(line);

		snprintf(line + l, sizeof(line) - l,
			 " (%u more like this suppressed in the last %us)", suppressed,
			 LOG_INTERVAL_MS / 1000);
	}
	if (!log_journal || journal_send(prio, about, line) < 0) {
		if (log_journal)
			fprintf(stderr, "<%d>%s\n", prio, line);
		else
			fprintf(stderr, "balloond: %s: %s\n", words[prio], line);
	}
	errno = saved;
}

void log_about(int prio, const struct log_about *about, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(prio, about, 0, fmt, ap);
	va_end(ap);
}

#define LOG_FN(fn, prio, with_errno)                        \
	void fn(const char *fmt, ...)                       \
	{                                                   \
		va_list ap;                                 \
		va_start(ap, fmt);                          \
		log_emit(prio, NULL, with_errno, fmt, ap);  \
		va_end(ap);                                 \
	}

LOG_FN(log_debug, LOG_DEBUG, 0)
LOG_FN(log_info, LOG_INFO, 0)
LOG_FN(log_notice, LOG_NOTICE, 0)
LOG_FN(log_warnx, LOG_WARNING, 0)
LOG_FN(log_warn, LOG_WARNING, 1)
LOG_FN(log_errx, LOG_ERR, 0)

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_ERR, NULL, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_ERR, NULL, 1, fmt, ap);
	va_end(ap);
	exit(1);
}
