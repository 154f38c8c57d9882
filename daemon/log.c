/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging: one line per message on stderr. Under systemd (JOURNAL_STREAM
 * set) each line carries a "<N>" priority prefix for journald; on a
 * terminal it carries a readable level word instead. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static enum log_level log_level = LOG_LEVEL_INFO;
static int log_journal;

void log_init(enum log_level level)
{
	log_level = level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

static void log_emit(int prio, enum log_level need, int with_errno, const char *fmt, va_list ap)
{
	static const char *const words[] = {
		[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
		[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
	};
	int saved = errno;
	char msg[1024];

	if (need > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journal)
		fprintf(stderr, "<%d>%s%s%s\n", prio, msg, with_errno ? ": " : "",
			with_errno ? strerror(saved) : "");
	else
		fprintf(stderr, "balloond: %s: %s%s%s\n", words[prio], msg, with_errno ? ": " : "",
			with_errno ? strerror(saved) : "");
	errno = saved;
}

#define LOG_FN(fn, prio, need, with_errno)              \
	void fn(const char *fmt, ...)                   \
	{                                               \
		va_list ap;                             \
		va_start(ap, fmt);                      \
		log_emit(prio, need, with_errno, fmt, ap); \
		va_end(ap);                             \
	}

LOG_FN(log_debug, LOG_DEBUG, LOG_LEVEL_DEBUG, 0)
LOG_FN(log_info, LOG_INFO, LOG_LEVEL_INFO, 0)
LOG_FN(log_notice, LOG_NOTICE, LOG_LEVEL_INFO, 0)
LOG_FN(log_warnx, LOG_WARNING, LOG_LEVEL_WARNING, 0)
LOG_FN(log_warn, LOG_WARNING, LOG_LEVEL_WARNING, 1)
LOG_FN(log_errx, LOG_ERR, LOG_LEVEL_ERR, 0)

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_ERR, LOG_LEVEL_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_ERR, LOG_LEVEL_ERR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}
