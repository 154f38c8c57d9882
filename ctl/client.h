/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memctl's JSON-RPC 2.0 client: one connection to balloond's control
 * socket, one request per line, each reply awaited with a deadline, and
 * what a failure means as memctl's exit status. */
#ifndef MEMCTL_CLIENT_H
#define MEMCTL_CLIENT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "conf.h"

#define DEFAULT_SOCKET CONF_DEFAULT_SOCKET
#define SOCKET_ENV "BALLOOND_SOCKET"
#define REPLY_MAX (16u << 20) /* longest reply line accepted */
#define REPLY_MAX_DEPTH 64

enum memctl_exit {
	MEMCTL_EXIT_OK = 0,
	MEMCTL_EXIT_DAEMON = 1, /* an error reply, or a reply we cannot read */
	MEMCTL_EXIT_USAGE = 2,
	MEMCTL_EXIT_CONNECT = 3,  /* cannot connect, dropped, or timed out */
	MEMCTL_EXIT_FINDINGS = 4, /* audit: confirmed M2P/P2M inconsistencies */
};

/* The client's state: options and the one connection it makes. */
struct memctl {
	const char *socket_path;
	bool json;
	int timeout_ms; /* per request; 0 = wait as long as it takes */
	int fd;		/* -1 until the first request */
	int64_t next_id;
	char *buf; /* received bytes; [0, consumed) is the line already handed out */
	size_t len, cap, consumed;
	bool eof;
	bool error_reply; /* the last call failed because balloond refused it */
	int error_code;	  /* and the code it gave */
	bool prometheus;  /* metrics --prometheus: the text exposition format */
	bool no_wait;	  /* --no-wait: commands that wait for an outcome return at once */
	int64_t ttl_s;	  /* --ttl for reserve; 0 = balloond's reserve_ttl */
	const char *for_name; /* --for for reserve: the domain it is handed to */
	int wait_s;	  /* how long reserve waits for its answer */
};

__attribute__((format(printf, 1, 0))) void memctl_vwarnx(const char *fmt, va_list ap);
__attribute__((format(printf, 1, 2))) void memctl_warnx(const char *fmt, ...);
int64_t now_ms(void);
int malformed(const char *method, const char *what);

int ctl_read_line(struct memctl *m, int64_t deadline, size_t *ret_len);
int report_error(struct memctl *m, const char *method, int code, const char *message,
		 json_object *data);
int null_id_error(json_object *obj, int *ret_code, const char **ret_message,
		  json_object **ret_data);
bool is_notification(json_object *obj);
/* Close the connection (the next call opens a new one): before waiting
 * longer than balloond's client_timeout for something else. */
void ctl_disconnect(struct memctl *m);
int ctl_call(struct memctl *m, const char *method, json_object *params, bool quiet,
	     json_object **ret_reply, json_object **ret_result);

#endif
