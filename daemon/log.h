/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging for the daemon: to stderr, with syslog priority prefixes that
 * journald understands when running under systemd. */
#ifndef BALLOOND_LOG_H
#define BALLOOND_LOG_H

#include "conf.h"

void log_init(enum log_level level);
void log_set_level(enum log_level level);

/* *_warn variants append ": strerror(errno)". */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
