/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memctl's client of balloond's control socket: connect (bounded by the
 * timeout), send one JSON-RPC request per line, read lines until the reply
 * to it, and turn every failure into a sentence and an exit status. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "jsonrpc.h"
#include "render.h"

#define READ_CHUNK (64u << 10)

/* A warning on stderr: "memctl: " and the sentence, from a va_list. */
void memctl_vwarnx(const char *fmt, va_list ap)
{
	fputs("memctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* A warning on stderr: "memctl: " and the sentence. */
__attribute__((format(printf, 1, 2))) void memctl_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	memctl_vwarnx(fmt, ap);
	va_end(ap);
}

/* The monotonic clock in milliseconds, for deadlines. */
int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Say that balloond's reply to method cannot be read; returns the exit status. */
int malformed(const char *method, const char *what)
{
	memctl_warnx("malformed reply from balloond: %s: %s", method, what);
	return MEMCTL_EXIT_DAEMON;
}

/* ---- the connection ---- */

/* Connect to the control socket (blocking, bounded by the timeout through
 * SO_SNDTIMEO, which Unix sockets apply to connect), then switch to
 * non-blocking I/O driven by poll(). Prints why on failure. */
static int ctl_connect(struct memctl *m)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd, r, e;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", m->socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		memctl_warnx("socket: %s", strerror(errno));
		return MEMCTL_EXIT_CONNECT;
	}
	if (m->timeout_ms > 0) {
		struct timeval tv = {m->timeout_ms / 1000,
				     (suseconds_t)(m->timeout_ms % 1000) * 1000};

		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	do
		r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		e = errno;
		close(fd);
		if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR)
			memctl_warnx("cannot connect to %s: %s \u2014 is balloond running? "
				     "(systemctl status balloond)",
				     m->socket_path, strerror(e));
		else if (e == EACCES || e == EPERM)
			memctl_warnx(
				"cannot connect to %s: %s \u2014 memctl needs root, or membership "
				"of balloond's read_group for read-only commands",
				m->socket_path, strerror(e));
		else if (e == EAGAIN || e == EINPROGRESS)
			memctl_warnx("cannot connect to %s: balloond did not accept the connection "
				     "within %gs",
				     m->socket_path, m->timeout_ms / 1000.0);
		else
			memctl_warnx("cannot connect to %s: %s", m->socket_path, strerror(e));
		return MEMCTL_EXIT_CONNECT;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		memctl_warnx("fcntl: %s", strerror(errno));
		close(fd);
		return MEMCTL_EXIT_CONNECT;
	}
	m->fd = fd;
	return MEMCTL_EXIT_OK;
}

/* Wait until fd is ready for events or the deadline (-1 = none) passes.
 * 0, -ETIMEDOUT or -errno. Hang-ups and errors count as ready: the
 * following read or write reports them. */
static int ctl_wait(struct memctl *m, short events, int64_t deadline)
{
	struct pollfd pfd = {.fd = m->fd, .events = events};
	int r, wait;

	for (;;) {
		if (deadline < 0) {
			wait = -1;
		} else {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			wait = left > INT32_MAX ? INT32_MAX : (int)left;
		}
		r = poll(&pfd, 1, wait);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* Send all of data, waiting for room until the deadline. 0 or -errno. */
static int ctl_send(struct memctl *m, const char *data, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = send(m->fd, data, len, MSG_NOSIGNAL);

		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = ctl_wait(m, POLLOUT, deadline);

			if (r < 0)
				return r;
			continue;
		}
		return n < 0 ? -errno : -EPIPE;
	}
	return 0;
}

/* The next non-empty line from the daemon, without its "\n" (and "\r"),
 * NUL-terminated in m->buf. Returns 0 and its length, -EMSGSIZE when longer
 * than REPLY_MAX, -ECONNRESET on end of file, -ETIMEDOUT, or -errno. */
int ctl_read_line(struct memctl *m, int64_t deadline, size_t *ret_len)
{
	size_t scanned = 0;

	if (m->consumed) {
		memmove(m->buf, m->buf + m->consumed, m->len - m->consumed);
		m->len -= m->consumed;
		m->consumed = 0;
	}
	for (;;) {
		char *nl =
			m->len > scanned ? memchr(m->buf + scanned, '\n', m->len - scanned) : NULL;
		ssize_t n;

		if (nl) {
			size_t len = (size_t)(nl - m->buf);

			if (len > REPLY_MAX)
				return -EMSGSIZE;
			m->consumed = len + 1;
			if (len > 0 && m->buf[len - 1] == '\r')
				len--;
			m->buf[len] = '\0';
			if (len == 0) { /* blank line: skip it */
				memmove(m->buf, m->buf + m->consumed, m->len - m->consumed);
				m->len -= m->consumed;
				m->consumed = 0;
				scanned = 0;
				continue;
			}
			*ret_len = len;
			return 0;
		}
		scanned = m->len;
		if (m->len > REPLY_MAX)
			return -EMSGSIZE;
		if (m->eof)
			return -ECONNRESET;
		if (m->cap - m->len < READ_CHUNK) {
			size_t ncap = m->cap ? m->cap * 2 : (size_t)2 * READ_CHUNK;
			char *nb;

			if (ncap > REPLY_MAX + READ_CHUNK + 1)
				ncap = REPLY_MAX + READ_CHUNK + 1;
			if (ncap > m->cap) {
				nb = realloc(m->buf, ncap);
				if (!nb)
					return -ENOMEM;
				m->buf = nb;
				m->cap = ncap;
			}
		}
		n = read(m->fd, m->buf + m->len, m->cap - m->len - 1);
		if (n > 0) {
			m->len += (size_t)n;
			continue;
		}
		if (n == 0) {
			m->eof = true;
			continue; /* a last line without "\n" is still incomplete */
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			int r = ctl_wait(m, POLLIN, deadline);

			if (r < 0)
				return r;
			continue;
		}
		return -errno;
	}
}

/* Print an error reply: a sentence on stderr and, with --json, the error
 * object on stdout (code, message and data, verbatim). */
int report_error(struct memctl *m, const char *method, int code, const char *message,
		 json_object *data)
{
	const char *name = rpc_error_name(code);
	char msg[512];
	json_object *min, *max, *need, *avail;

	sanitize(message, msg, sizeof(msg), 0);
	if (strcmp(msg, name) == 0)
		memctl_warnx("%s: %s", method, msg);
	else
		memctl_warnx("%s: %s (%s)", method, msg, name);
	if (m->json) {
		json_object *e = json_object_new_object();

		json_object_object_add(e, "code", json_object_new_int(code));
		json_object_object_add(e, "message", json_object_new_string(message));
		if (data)
			json_object_object_add(e, "data", json_object_get(data));
		printf("%s\n", json_object_to_json_string_ext(e, JSON_OUT_FLAGS));
		json_object_put(e);
	} else if (data && json_object_object_get_ex(data, "min", &min) &&
		   json_object_object_get_ex(data, "max", &max) &&
		   json_object_is_type(min, json_type_int) &&
		   json_object_is_type(max, json_type_int)) {
		char a[32], b[32];

		memctl_warnx("allowed range: %s to %s",
			     fmt_kib(json_object_get_int64(min), a, sizeof(a)),
			     fmt_kib(json_object_get_int64(max), b, sizeof(b)));
	} else if (data && json_object_object_get_ex(data, "needed", &need) &&
		   json_object_object_get_ex(data, "available", &avail) &&
		   json_object_is_type(need, json_type_int) &&
		   json_object_is_type(avail, json_type_int) &&
		   json_object_get_int64(need) > json_object_get_int64(avail)) {
		char a[32], b[32], c[32];

		memctl_warnx("%s missing: %s needed, at most %s can be freed",
			     fmt_kib(json_object_get_int64(need) - json_object_get_int64(avail), a,
				     sizeof(a)),
			     fmt_kib(json_object_get_int64(need), b, sizeof(b)),
			     fmt_kib(json_object_get_int64(avail), c, sizeof(c)));
	} else if (data) {
		char d[512];

		sanitize(json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN), d, sizeof(d),
			 200);
		memctl_warnx("details: %s", d);
	}
	return MEMCTL_EXIT_DAEMON;
}

/* An error reply whose id is null: the daemon could not tie it to our
 * request (it refused the connection, e.g. "too many clients"). Returns 1
 * with the fields set when obj is one, else 0. All borrowed. */
int null_id_error(json_object *obj, int *ret_code, const char **ret_message, json_object **ret_data)
{
	json_object *id, *e, *code, *msg, *data = NULL;

	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, "id", &id) || id ||
	    !json_object_object_get_ex(obj, "error", &e) ||
	    !json_object_is_type(e, json_type_object) ||
	    !json_object_object_get_ex(e, "code", &code) ||
	    !json_object_is_type(code, json_type_int) ||
	    !json_object_object_get_ex(e, "message", &msg) ||
	    !json_object_is_type(msg, json_type_string))
		return 0;
	json_object_object_get_ex(e, "data", &data);
	*ret_code = json_object_get_int(code);
	*ret_message = json_object_get_string(msg);
	*ret_data = data;
	return 1;
}

/* A JSON-RPC notification (a "method" and no "id"): not a reply. */
bool is_notification(json_object *obj)
{
	return json_object_is_type(obj, json_type_object) &&
	       json_object_object_get_ex(obj, "method", NULL) &&
	       !json_object_object_get_ex(obj, "id", NULL);
}

/* Send one request and wait for its reply. On success returns 0 with
 * *ret_reply (new reference: the whole reply) and *ret_result (borrowed
 * from it). Otherwise prints why (unless quiet and the daemon answered
 * this request with an error) and returns the exit status. params is taken. */
void ctl_disconnect(struct memctl *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	m->len = m->consumed = 0;
	m->eof = false;
}

int ctl_call(struct memctl *m, const char *method, json_object *params, bool quiet,
	     json_object **ret_reply, json_object **ret_result)
{
	json_object *req, *reply = NULL, *result = NULL, *data = NULL;
	const char *s, *message = NULL;
	int64_t id, deadline;
	char err[256], *line;
	size_t len;
	int r, code = 0;

	m->error_reply = false;
	if (m->fd < 0) {
		r = ctl_connect(m);
		if (r != MEMCTL_EXIT_OK) {
			json_object_put(params);
			return r;
		}
	}
	id = m->next_id++;
	req = rpc_make_request(id, method, params);
	if (!req) {
		memctl_warnx("out of memory");
		return MEMCTL_EXIT_DAEMON;
	}
	s = json_object_to_json_string_ext(req,
					   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(s);
	line = malloc(len + 2);
	if (!line) {
		json_object_put(req);
		memctl_warnx("out of memory");
		return MEMCTL_EXIT_DAEMON;
	}
	memcpy(line, s, len);
	line[len++] = '\n';
	json_object_put(req);
	deadline = m->timeout_ms > 0 ? now_ms() + m->timeout_ms : -1;
	r = ctl_send(m, line, len, deadline);
	free(line);
	/* A daemon that refuses the connection (too many clients) sends its
	 * error and closes, maybe before the request is sent: read that. */
	if (r < 0 && r != -EPIPE && r != -ECONNRESET)
		goto io_error;

	for (;;) {
		r = ctl_read_line(m, deadline, &len);
		if (r < 0)
			goto io_error;
		if (rpc_parse(m->buf, len, REPLY_MAX_DEPTH, &reply, err, sizeof(err)) != 0) {
			char what[300];

			snprintf(what, sizeof(what), "not JSON (%s)", err);
			return malformed(method, what);
		}
		if (is_notification(reply)) {
			json_object_put(reply);
			reply = NULL;
			continue;
		}
		break;
	}
	if (null_id_error(reply, &code, &message, &data)) {
		/* Not about this request but the connection: always said. */
		r = report_error(m, method, code, message, data);
		json_object_put(reply);
		return r;
	}
	r = rpc_response_parse(reply, id, &result, &code, &message, &data, err, sizeof(err));
	if (r == 0) {
		*ret_reply = reply;
		*ret_result = result;
		return MEMCTL_EXIT_OK;
	}
	if (r == 1) {
		m->error_reply = true;
		m->error_code = code;
		r = quiet ? MEMCTL_EXIT_DAEMON
			  : report_error(m, method, code, message ? message : "", data);
		json_object_put(reply);
		return r;
	}
	json_object_put(reply);
	return malformed(method, err);

io_error:
	switch (r) {
	case -ETIMEDOUT:
		memctl_warnx("%s: no reply from balloond within %gs (%s)", method,
			     m->timeout_ms / 1000.0, m->socket_path);
		return MEMCTL_EXIT_CONNECT;
	case -EMSGSIZE: return malformed(method, "reply longer than 16 MiB");
	case -ENOMEM: memctl_warnx("out of memory"); return MEMCTL_EXIT_DAEMON;
	case -ECONNRESET:
	case -EPIPE:
		memctl_warnx("%s: balloond closed the connection before replying (%s)", method,
			     m->socket_path);
		return MEMCTL_EXIT_CONNECT;
	default:
		memctl_warnx("%s: %s: %s", method, m->socket_path, strerror(-r));
		return MEMCTL_EXIT_CONNECT;
	}
}
