/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memctl: the command-line client of balloond. One table entry per command
 * (name, alias, usage, argument counts, help, exec); JSON-RPC 2.0 over the
 * control socket, one request per line, each reply awaited with a deadline;
 * human tables by default, the daemon's result verbatim with --json.
 *
 * Exit status: 0 ok, 1 balloond answered with an error (or an unreadable
 * reply), 2 usage, 3 balloond could not be reached or went away, 4 the
 * audit found confirmed inconsistencies. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "audit.h"
#include "conf.h"
#include "jsonrpc.h"
#include "units.h"

#define DEFAULT_SOCKET CONF_DEFAULT_SOCKET
#define SOCKET_ENV "BALLOOND_SOCKET"
#define DEFAULT_TIMEOUT_MS 10000
#define MAX_TIMEOUT_S 86400.0
#define REPLY_MAX (16u << 20) /* longest reply line accepted */
#define READ_CHUNK (64u << 10)
#define REPLY_MAX_DEPTH 64
#define NAME_COLS 20 /* NAME column: longer names are cut, ending in '~' */
#define CELL_MAX 256
#define JSON_OUT_FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)

enum memctl_exit {
	MEMCTL_EXIT_OK = 0,
	MEMCTL_EXIT_DAEMON = 1, /* an error reply, or a reply we cannot read */
	MEMCTL_EXIT_USAGE = 2,
	MEMCTL_EXIT_CONNECT = 3, /* cannot connect, dropped, or timed out */
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
	bool no_wait;     /* --no-wait: commands that wait for an outcome return at once */
	int64_t ttl_s;    /* --ttl for reserve; 0 = balloond's reserve_ttl */
	int wait_s;       /* how long reserve waits for its answer */
};

struct cmd_entry {
	const char *name;
	const char *alias; /* NULL when none */
	const char *args;  /* argument synopsis after the name, "" when none */
	int min_args, max_args;
	const char *summary; /* one line for "memctl help" */
	const char *help;    /* paragraph for "memctl COMMAND --help" */
	int (*exec)(struct memctl *m, const struct cmd_entry *cmd, int argc, char **argv);
};

static const struct cmd_entry *cmd_find(const char *name);
static void help_general(FILE *f);
static void help_command(FILE *f, const struct cmd_entry *cmd);

/* ---- small helpers ---- */

static __attribute__((format(printf, 1, 2))) void memctl_warnx(const char *fmt, ...)
{
	va_list ap;

	fputs("memctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Print a usage error with the command's synopsis; returns the usage status. */
static __attribute__((format(printf, 2, 3))) int usage_error(const struct cmd_entry *cmd,
							     const char *fmt, ...)
{
	va_list ap;

	fputs("memctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd)
		fprintf(stderr, "usage: memctl [options] %s%s%s\n", cmd->name,
			cmd->args[0] ? " " : "", cmd->args);
	fprintf(stderr, "Try 'memctl %s%s--help' for more information.\n", cmd ? cmd->name : "",
		cmd ? " " : "");
	return MEMCTL_EXIT_USAGE;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copy s into out as printable ASCII: control bytes become '?', and so does
 * each UTF-8 sequence; cut to max_cols characters (0 = no limit) with a
 * final '~' when cut. Text from the daemon may come from guests or the
 * toolstack: never let it drive the terminal. */
static char *sanitize(const char *s, char *out, size_t outlen, size_t max_cols)
{
	size_t n = 0, limit = outlen - 1;
	const unsigned char *p = (const unsigned char *)s;

	if (max_cols && max_cols < limit)
		limit = max_cols;
	while (*p && n < limit) {
		if (*p >= 0xc0) {
			p++;
			while (*p >= 0x80 && *p < 0xc0)
				p++;
			out[n++] = '?';
			continue;
		}
		out[n++] = (*p >= 0x20 && *p < 0x7f) ? (char)*p : '?';
		p++;
	}
	if (*p && n > 0)
		out[n - 1] = '~';
	out[n] = '\0';
	return out;
}

/* A size in KiB, signed ("-512M" for a deficit); 0 prints as "0". */
static char *fmt_kib(int64_t kib, char *buf, size_t len)
{
	char tmp[32];
	uint64_t mag = kib < 0 ? (uint64_t)0 - (uint64_t)kib : (uint64_t)kib;

	if (kib == 0) {
		snprintf(buf, len, "0");
		return buf;
	}
	size_format(mag, tmp, sizeof(tmp));
	snprintf(buf, len, "%s%s", kib < 0 ? "-" : "", tmp);
	return buf;
}

/* A balloon rate in KiB/s: "-128M/s" shrinking, "+256M/s" growing. */
static char *fmt_rate(int64_t kib_s, char *buf, size_t len)
{
	char tmp[32];

	if (kib_s == 0) {
		snprintf(buf, len, "0/s");
		return buf;
	}
	fmt_kib(kib_s, tmp, sizeof(tmp));
	snprintf(buf, len, "%s%s/s", kib_s > 0 ? "+" : "", tmp);
	return buf;
}

/* Seconds as "3s", "1m30s"; round_up for an ETA (never "0s" while moving),
 * down for an age. */
static char *fmt_secs(double secs, bool round_up, char *buf, size_t len)
{
	uint64_t whole;

	if (!(secs > 0)) /* also NaN */
		secs = 0;
	if (secs > 100.0 * 365 * 86400)
		secs = 100.0 * 365 * 86400;
	whole = (uint64_t)secs;
	if (round_up && (double)whole < secs)
		whole++;
	if (whole == 0) {
		snprintf(buf, len, "0s");
		return buf;
	}
	return duration_format(whole * 1000, buf, len);
}

/* ---- reading fields of a result (strictly: a wrong type is a malformed reply) ---- */

/* Member key of obj as an integer; *ret_null set when it is null and nullable.
 * Returns 0 or -EPROTO with a sentence in err. */
static int get_int(json_object *obj, const char *key, bool nullable, int64_t *ret, bool *ret_null,
		   char *err, size_t errlen)
{
	json_object *v;

	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v)) {
		snprintf(err, errlen, "member \"%s\" is missing", key);
		return -EPROTO;
	}
	if (!v && nullable) {
		*ret_null = true;
		return 0;
	}
	if (!json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "member \"%s\" is not an integer%s", key,
			 nullable ? " or null" : "");
		return -EPROTO;
	}
	if (ret_null)
		*ret_null = false;
	*ret = json_object_get_int64(v);
	return 0;
}

static int get_kib(json_object *obj, const char *key, bool nullable, int64_t *ret, bool *ret_null,
		   char *err, size_t errlen)
{
	bool is_null = false;
	int r = get_int(obj, key, nullable, ret, &is_null, err, errlen);

	if (r == 0 && !is_null && *ret < 0) {
		snprintf(err, errlen, "member \"%s\" is a negative size", key);
		return -EPROTO;
	}
	if (ret_null)
		*ret_null = is_null;
	return r;
}

/* A number (integer or not); nullable like get_int. */
static int get_num(json_object *obj, const char *key, bool nullable, double *ret, bool *ret_null,
		   char *err, size_t errlen)
{
	json_object *v;

	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v)) {
		snprintf(err, errlen, "member \"%s\" is missing", key);
		return -EPROTO;
	}
	if (!v && nullable) {
		*ret_null = true;
		return 0;
	}
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)) {
		snprintf(err, errlen, "member \"%s\" is not a number%s", key,
			 nullable ? " or null" : "");
		return -EPROTO;
	}
	if (ret_null)
		*ret_null = false;
	*ret = json_object_get_double(v);
	return 0;
}

/* A string member; borrowed from obj. */
static int get_str(json_object *obj, const char *key, const char **ret, char *err, size_t errlen)
{
	json_object *v;

	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "member \"%s\" is missing or not a string", key);
		return -EPROTO;
	}
	*ret = json_object_get_string(v);
	return 0;
}

/* How a field of a domain is shown. */
enum field_kind {
	FIELD_INT,	/* integer as is */
	FIELD_STR,	/* string */
	FIELD_NAME,	/* string, cut to NAME_COLS */
	FIELD_KIB,	/* KiB as a human size */
	FIELD_KIB_NULL, /* KiB or null ("-") */
	FIELD_RATE,	/* signed KiB/s or null */
	FIELD_ETA,	/* seconds or null, rounded up */
	FIELD_AGO,	/* seconds, rounded down */
};

struct field {
	const char *label; /* column header or "label:" */
	const char *key;   /* member of the result */
	enum field_kind kind;
};

/* Format obj's member as kind describes. 0 or -EPROTO with err. */
static int field_format(json_object *obj, const struct field *f, char *buf, size_t len, char *err,
			size_t errlen)
{
	bool is_null = false;
	const char *s;
	int64_t i = 0;
	double d = 0;
	int r;

	switch (f->kind) {
	case FIELD_INT:
		r = get_int(obj, f->key, false, &i, NULL, err, errlen);
		if (r == 0)
			snprintf(buf, len, "%" PRId64, i);
		return r;
	case FIELD_STR:
	case FIELD_NAME:
		r = get_str(obj, f->key, &s, err, errlen);
		if (r == 0)
			sanitize(s, buf, len, f->kind == FIELD_NAME ? NAME_COLS : 0);
		return r;
	case FIELD_KIB:
	case FIELD_KIB_NULL:
		r = get_kib(obj, f->key, f->kind == FIELD_KIB_NULL, &i, &is_null, err, errlen);
		if (r == 0 && is_null)
			snprintf(buf, len, "-");
		else if (r == 0)
			fmt_kib(i, buf, len);
		return r;
	case FIELD_RATE:
		r = get_int(obj, f->key, true, &i, &is_null, err, errlen);
		if (r == 0 && is_null)
			snprintf(buf, len, "-");
		else if (r == 0)
			fmt_rate(i, buf, len);
		return r;
	case FIELD_ETA:
	case FIELD_AGO:
		r = get_num(obj, f->key, f->kind == FIELD_ETA, &d, &is_null, err, errlen);
		if (r == 0 && is_null)
			snprintf(buf, len, "-");
		else if (r == 0)
			fmt_secs(d, f->kind == FIELD_ETA, buf, len);
		return r;
	}
	snprintf(err, errlen, "internal: unknown field kind");
	return -EPROTO;
}

static int malformed(const char *method, const char *what)
{
	memctl_warnx("malformed reply from balloond: %s: %s", method, what);
	return MEMCTL_EXIT_DAEMON;
}

/* ---- tables ---- */

/* Rows of fixed-size cells; the first row is the header. */
struct table {
	size_t ncols, nrows, cap;
	const bool *left; /* per column: left-aligned */
	char (*cells)[CELL_MAX];
};

static int table_init(struct table *t, size_t ncols, const bool *left, size_t rows_hint)
{
	t->ncols = ncols;
	t->nrows = 0;
	t->left = left;
	t->cap = rows_hint + 1;
	t->cells = calloc(t->cap * ncols, CELL_MAX);
	return t->cells ? 0 : -ENOMEM;
}

static void table_free(struct table *t)
{
	free(t->cells);
	t->cells = NULL;
}

/* The cells of a new row, or NULL when out of memory. */
static char (*table_add_row(struct table *t))[CELL_MAX]
{
	if (t->nrows == t->cap) {
		size_t ncap = t->cap * 2;
		void *n = realloc(t->cells, ncap * t->ncols * CELL_MAX);

		if (!n)
			return NULL;
		t->cells = n;
		t->cap = ncap;
	}
	memset(t->cells[t->nrows * t->ncols], 0, t->ncols * CELL_MAX);
	return &t->cells[t->nrows++ * t->ncols];
}

/* Print with column widths taken from the content, two spaces apart; the
 * last column is not padded (no trailing blanks). */
static void table_print(const struct table *t, FILE *f)
{
	size_t width[32] = {0}, r, c;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols && c < 32; c++) {
			size_t w = strlen(t->cells[r * t->ncols + c]);

			if (w > width[c])
				width[c] = w;
		}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols && c < 32; c++) {
			const char *s = t->cells[r * t->ncols + c];
			bool last = c + 1 == t->ncols;

			if (c > 0)
				fputs("  ", f);
			if (t->left[c])
				fprintf(f, "%-*s", last ? 0 : (int)width[c], s);
			else
				fprintf(f, "%*s", (int)width[c], s);
		}
		fputc('\n', f);
	}
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
static int ctl_read_line(struct memctl *m, int64_t deadline, size_t *ret_len)
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
static int report_error(struct memctl *m, const char *method, int code, const char *message,
			json_object *data)
{
	const char *name = rpc_error_name(code);
	char msg[512];
	json_object *min, *max;

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
static int null_id_error(json_object *obj, int *ret_code, const char **ret_message,
			 json_object **ret_data)
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
static bool is_notification(json_object *obj)
{
	return json_object_is_type(obj, json_type_object) &&
	       json_object_object_get_ex(obj, "method", NULL) &&
	       !json_object_object_get_ex(obj, "id", NULL);
}

/* Send one request and wait for its reply. On success returns 0 with
 * *ret_reply (new reference: the whole reply) and *ret_result (borrowed
 * from it). Otherwise prints why (unless quiet and the daemon answered
 * this request with an error) and returns the exit status. params is taken. */
static int ctl_call(struct memctl *m, const char *method, json_object *params, bool quiet,
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
	if (r < 0)
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

static void print_json(json_object *obj)
{
	printf("%s\n", json_object_to_json_string_ext(obj, JSON_OUT_FLAGS));
}

/* ---- arguments ---- */

/* DOM on the command line: a domid when all digits, else a name. Returns a
 * new reference, or NULL after printing a usage error. */
static json_object *domain_arg(const struct cmd_entry *cmd, const char *s)
{
	const char *p;
	uint64_t v = 0;

	if (!s[0]) {
		usage_error(cmd, "%s: DOM is empty", cmd->name);
		return NULL;
	}
	for (p = s; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX) {
			usage_error(cmd, "%s: domain id %s is too large", cmd->name, s);
			return NULL;
		}
	}
	if (*p == '\0')
		return json_object_new_int64((int64_t)v);
	return json_object_new_string(s);
}

/* {"domain": DOM} */
static json_object *domain_params(const struct cmd_entry *cmd, const char *dom)
{
	json_object *d = domain_arg(cmd, dom), *p;

	if (!d)
		return NULL;
	p = json_object_new_object();
	json_object_object_add(p, "domain", d);
	return p;
}

/* ---- output of domains ---- */

static const struct field domain_columns[] = {
	{"DOMID", "domid", FIELD_INT},	      {"NAME", "name", FIELD_NAME},
	{"TYPE", "type", FIELD_STR},	      {"MODE", "mode", FIELD_STR},
	{"STATE", "state", FIELD_STR},	      {"ACTUAL", "actual", FIELD_KIB},
	{"TARGET", "target", FIELD_KIB_NULL}, {"DMIN", "dmin", FIELD_KIB},
	{"DMAX", "dmax", FIELD_KIB},	      {"MAXMEM", "maxmem", FIELD_KIB},
	{"RATE", "rate", FIELD_RATE},	      {"ETA", "eta", FIELD_ETA},
};
#define N_DOMAIN_COLUMNS (sizeof(domain_columns) / sizeof(*domain_columns))
static const bool domain_left[N_DOMAIN_COLUMNS] = {false, true, true, true, true};

/* The domains array of a domain.list result (borrowed), or NULL. */
static json_object *list_domains(json_object *result)
{
	json_object *doms;

	if (!json_object_is_type(result, json_type_object) ||
	    !json_object_object_get_ex(result, "domains", &doms) ||
	    !json_object_is_type(doms, json_type_array))
		return NULL;
	return doms;
}

/* The domain table (list, status). */
static int print_domains(const char *method, json_object *doms)
{
	size_t i, c, n = json_object_array_length(doms);
	struct table t;
	char(*row)[CELL_MAX];
	char err[256], what[320];

	if (n == 0) {
		printf("no domains\n");
		return MEMCTL_EXIT_OK;
	}
	if (table_init(&t, N_DOMAIN_COLUMNS, domain_left, n) < 0) {
		memctl_warnx("out of memory");
		return MEMCTL_EXIT_DAEMON;
	}
	row = table_add_row(&t);
	for (c = 0; c < N_DOMAIN_COLUMNS; c++)
		snprintf(row[c], CELL_MAX, "%s", domain_columns[c].label);
	for (i = 0; i < n; i++) {
		json_object *dom = json_object_array_get_idx(doms, i);

		row = table_add_row(&t);
		if (!row) {
			table_free(&t);
			memctl_warnx("out of memory");
			return MEMCTL_EXIT_DAEMON;
		}
		for (c = 0; c < N_DOMAIN_COLUMNS; c++)
			if (field_format(dom, &domain_columns[c], row[c], CELL_MAX, err,
					 sizeof(err)) < 0) {
				table_free(&t);
				snprintf(what, sizeof(what), "domains[%zu]: %s", i, err);
				return malformed(method, what);
			}
	}
	table_print(&t, stdout);
	table_free(&t);
	return MEMCTL_EXIT_OK;
}

/* ---- commands ---- */

static int cmd_list(struct memctl *m, const struct cmd_entry *cmd, int argc, char **argv)
{
	json_object *reply = NULL, *result = NULL, *doms;
	int r;

	r = ctl_call(m, "domain.list", NULL, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	doms = list_domains(result);
	if (!doms)
		r = malformed("domain.list", "member \"domains\" is missing or not an array");
	else if (m->json)
		print_json(result);
	else
		r = print_domains("domain.list", doms);
	json_object_put(reply);
	return r;
}

static const char *pressure_words(const char *p)
{
	if (strcmp(p, "none") == 0)
		return "none (every target honoured)";
	if (strcmp(p, "tight") == 0)
		return "tight (some domains held at dynamic-min: the host is short)";
	if (strcmp(p, "critical") == 0)
		return "critical (host free memory is below the safety pool)";
	return NULL;
}

/* The host summary of status, from a host.status result. */
static int print_host(json_object *h)
{
	static const char *const sizes[] = {"total",	 "free",      "pool",
					    "committed", "available", "reserved"};
	static const char *const counts[] = {"domains", "managed", "converging", "stalled",
					     "uncooperative"};
	int64_t kib[6], n[5];
	const char *backend, *mode, *pressure, *words;
	char s[6][32], err[256], buf[64], up[32];
	double uptime;
	size_t i;

	for (i = 0; i < 6; i++)
		if (get_int(h, sizes[i], false, &kib[i], NULL, err, sizeof(err)) < 0)
			return malformed("host.status", err);
	for (i = 0; i < 5; i++)
		if (get_int(h, counts[i], false, &n[i], NULL, err, sizeof(err)) < 0)
			return malformed("host.status", err);
	if (get_str(h, "backend", &backend, err, sizeof(err)) < 0 ||
	    get_str(h, "mode", &mode, err, sizeof(err)) < 0 ||
	    get_str(h, "pressure", &pressure, err, sizeof(err)) < 0 ||
	    get_num(h, "uptime", false, &uptime, NULL, err, sizeof(err)) < 0)
		return malformed("host.status", err);
	for (i = 0; i < 6; i++)
		fmt_kib(kib[i], s[i], sizeof(s[i]));
	printf("memory:    %s total, %s free, pool %s, committed %s, available %s, reserved %s\n",
	       s[0], s[1], s[2], s[3], s[4], s[5]);
	words = pressure_words(pressure);
	printf("pressure:  %s\n", words ? words : sanitize(pressure, buf, sizeof(buf), 32));
	printf("mode:      %s", sanitize(mode, buf, sizeof(buf), 32));
	printf(" (backend %s, up %s)\n", sanitize(backend, buf, sizeof(buf), 32),
	       fmt_secs(uptime, false, up, sizeof(up)));
	printf("domains:   %" PRId64 ", %" PRId64 " managed, %" PRId64 " converging, %" PRId64
	       " stalled, %" PRId64 " uncooperative\n",
	       n[0], n[1], n[2], n[3], n[4]);
	return MEMCTL_EXIT_OK;
}

static int cmd_status(struct memctl *m, const struct cmd_entry *cmd, int argc, char **argv)
{
	json_object *hreply = NULL, *host = NULL, *lreply = NULL, *list = NULL, *doms;
	int r;

	r = ctl_call(m, "host.status", NULL, false, &hreply, &host);
	if (r != MEMCTL_EXIT_OK)
		return r;
	r = ctl_call(m, "domain.list", NULL, false, &lreply, &list);
	if (r != MEMCTL_EXIT_OK) {
		json_object_put(hreply);
		return r;
	}
	doms = list_domains(list);
	if (!json_object_is_type(host, json_type_object)) {
		r = malformed("host.status", "the result is not an object");
	} else if (!doms) {
		r = malformed("domain.list", "member \"domains\" is missing or not an array");
	} else if (m->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "host", json_object_get(host));
		json_object_object_add(o, "domains", json_object_get(doms));
		print_json(o);
		json_object_put(o);
	} else {
		r = print_host(host);
		if (r == MEMCTL_EXIT_OK) {
			printf("\n");
			r = print_domains("domain.list", doms);
		}
	}
	json_object_put(hreply);
	json_object_put(lreply);
	return r;
}

static const struct field show_fields[] = {
	{"domid", "domid", FIELD_INT},
	{"name", "name", FIELD_STR},
	{"type", "type", FIELD_STR},
	{"mode", "mode", FIELD_STR},
	{"state", "state", FIELD_STR},
	{"actual", "actual", FIELD_KIB},
	{"target", "target", FIELD_KIB_NULL},
	{"maxmem", "maxmem", FIELD_KIB},
	{"dynamic-min", "dmin", FIELD_KIB},
	{"dynamic-max", "dmax", FIELD_KIB},
	{"static-max", "static_max", FIELD_KIB},
	{"weight", "weight", FIELD_INT},
	{"demand", "demand", FIELD_KIB_NULL},
	{"rate", "rate", FIELD_RATE},
	{"eta", "eta", FIELD_ETA},
};

static const struct field decision_columns[] = {
	{"AGO", "ago", FIELD_AGO},
	{"OLD", "old", FIELD_KIB_NULL},
	{"NEW", "new", FIELD_KIB},
	{"REASON", "reason", FIELD_STR},
};
static const bool decision_left[] = {false, false, false, true};

/* One "key: value" line, values aligned. */
static void print_kv(const char *key, const char *value)
{
	size_t n = strlen(key);

	printf("%s:%*s %s\n", key, n < 12 ? (int)(12 - n) : 0, "", value);
}

/* "key: value" lines, bounds, the reason, then the decisions table. */
static int print_domain_detail(json_object *dom)
{
	const char *method = "domain.get", *dmin_src, *dmax_src, *reason;
	json_object *bounds, *decs;
	char val[CELL_MAX], err[256], what[320], c[32];
	int64_t ceiling;
	struct table t;
	size_t i, k, n;

	for (i = 0; i < sizeof(show_fields) / sizeof(*show_fields); i++) {
		if (field_format(dom, &show_fields[i], val, sizeof(val), err, sizeof(err)) < 0)
			return malformed(method, err);
		print_kv(show_fields[i].label, val);
	}
	if (!json_object_object_get_ex(dom, "bounds", &bounds) ||
	    get_str(bounds, "dmin_source", &dmin_src, err, sizeof(err)) < 0 ||
	    get_str(bounds, "dmax_source", &dmax_src, err, sizeof(err)) < 0 ||
	    get_kib(bounds, "ceiling", false, &ceiling, NULL, err, sizeof(err)) < 0) {
		if (!bounds)
			snprintf(err, sizeof(err), "member \"bounds\" is missing");
		snprintf(what, sizeof(what), "bounds: %s", err);
		return malformed(method, what);
	}
	snprintf(what, sizeof(what), "%s (dynamic-min from %s, ", fmt_kib(ceiling, c, sizeof(c)),
		 sanitize(dmin_src, val, 32, 0));
	snprintf(what + strlen(what), sizeof(what) - strlen(what), "dynamic-max from %s)",
		 sanitize(dmax_src, val, 32, 0));
	print_kv("ceiling", what);
	if (get_str(dom, "reason", &reason, err, sizeof(err)) < 0)
		return malformed(method, err);
	print_kv("reason", sanitize(reason, val, sizeof(val), 0));

	if (!json_object_object_get_ex(dom, "decisions", &decs) ||
	    !json_object_is_type(decs, json_type_array))
		return malformed(method, "member \"decisions\" is missing or not an array");
	n = json_object_array_length(decs);
	printf("\n");
	if (n == 0) {
		printf("no decisions yet\n");
		return MEMCTL_EXIT_OK;
	}
	printf("recent decisions (newest first):\n");
	if (table_init(&t, 4, decision_left, n) < 0) {
		memctl_warnx("out of memory");
		return MEMCTL_EXIT_DAEMON;
	}
	{
		char(*row)[CELL_MAX] = table_add_row(&t);

		for (k = 0; k < 4; k++)
			snprintf(row[k], CELL_MAX, "%s", decision_columns[k].label);
		for (i = 0; i < n; i++) {
			json_object *d = json_object_array_get_idx(decs, i);

			row = table_add_row(&t);
			if (!row) {
				table_free(&t);
				memctl_warnx("out of memory");
				return MEMCTL_EXIT_DAEMON;
			}
			for (k = 0; k < 4; k++)
				if (field_format(d, &decision_columns[k], row[k], CELL_MAX, err,
						 sizeof(err)) < 0) {
					table_free(&t);
					snprintf(what, sizeof(what), "decisions[%zu]: %s", i, err);
					return malformed(method, what);
				}
		}
	}
	table_print(&t, stdout);
	table_free(&t);
	return MEMCTL_EXIT_OK;
}

static int cmd_show(struct memctl *m, const struct cmd_entry *cmd, int argc, char **argv)
{
	json_object *params = domain_params(cmd, argv[0]), *reply = NULL, *result = NULL;
	int r;

	if (!params)
		return MEMCTL_EXIT_USAGE;
	r = ctl_call(m, "domain.get", params, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (m->json)
		print_json(result);
	else
		r = print_domain_detail(result);
	json_object_put(reply);
	return r;
}

/* "NAME: " for a one-line confirmation; name sanitized into buf. */
static const char *result_name(json_object *dom, char *buf, size_t len)
{
	const char *name;
	char err[64];

	if (get_str(dom, "name", &name, err, sizeof(err)) < 0)
		return NULL;
	return sanitize(name, buf, len, 0);
}

static int cmd_set_target(struct memctl *m, const struct cmd_entry *cmd, int argc, char **argv)
{
	json_object *params, *reply = NULL, *result = NULL, *dom;
	char name[128], a[32], b[32], err[256];
	bool old_known = false, old_null = false, is_null = false;
	int64_t old = 0, target = 0;
	uint64_t kib;
	int r;

	/* Everything is checked before connecting. */
	r = size_parse(argv[1], &kib);
	if (r == -ERANGE)
		return usage_error(cmd, "%s: size \"%s\" is too large", cmd->name, argv[1]);
	if (r < 0)
		return usage_error(cmd,
				   "%s: bad size \"%s\": give a number and a unit (K, M, G, T), "
				   "e.g. 1536M or 1.5G",
				   cmd->name, argv[1]);
	dom = domain_arg(cmd, argv[0]);
	if (!dom)
		return MEMCTL_EXIT_USAGE;

	/* For "(was ...)": the target before. A failure here is not reported;
	 * set_target gives the real answer. */
	if (!m->json) {
		params = json_object_new_object();
		json_object_object_add(params, "domain", json_object_get(dom));
		r = ctl_call(m, "domain.get", params, true, &reply, &result);
		if (r != MEMCTL_EXIT_OK && !m->error_reply) {
			json_object_put(dom);
			return r;
		}
		if (r == MEMCTL_EXIT_OK) {
			old_known = get_kib(result, "target", true, &old, &old_null, err,
					    sizeof(err)) == 0;
			json_object_put(reply);
		}
	}

	params = json_object_new_object();
	json_object_object_add(params, "domain", dom);
	json_object_object_add(params, "target", json_object_new_int64((int64_t)kib));
	r = ctl_call(m, "domain.set_target", params, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (m->json) {
		print_json(result);
		json_object_put(reply);
		return MEMCTL_EXIT_OK;
	}
	if (!result_name(result, name, sizeof(name)) ||
	    get_kib(result, "target", true, &target, &is_null, err, sizeof(err)) < 0) {
		json_object_put(reply);
		return malformed("domain.set_target", "the result is not a domain");
	}
	/* The pin is what was asked for; memory/target follows it unless
	 * balloond is paused. */
	printf("%s: pinned at %s", name, fmt_kib((int64_t)kib, a, sizeof(a)));
	if (old_known)
		printf(" (was %s)", old_null ? "unset" : fmt_kib(old, b, sizeof(b)));
	if (!is_null && target != (int64_t)kib)
		printf("; memory/target is still %s", fmt_kib(target, b, sizeof(b)));
	printf("\n");
	json_object_put(reply);
	return MEMCTL_EXIT_OK;
}

static int cmd_unpin(struct memctl *m, const struct cmd_entry *cmd, int argc, char **argv)
{
	json_object *params = domain_params(cmd, argv[0]), *reply = NULL, *result = NULL;
	char name[128], mode[32], t[32], err[256];
	const char *mode_s;
	bool is_null = false;
	int64_t target = 0;
	int r;

	if (!params)
		return MEMCTL_EXIT_USAGE;
	r = ctl_call(m, "domain.unpin", params, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (m->json) {
		print_json(result);
		json_object_put(reply);
		return MEMCTL_EXIT_OK;
	}
	if (!result_name(result, name, sizeof(name)) ||
	    get_str(result, "mode", &mode_s, err, sizeof(err)) < 0 ||
	    get_kib(result, "target", true, &target, &is_null, err, sizeof(err)) < 0) {
		json_object_put(reply);
		return malformed("domain.unpin", "the result is not a domain");
	}
	printf("%s: unpinned, back to %s (target %s)\n", name,
	       sanitize(mode_s, mode, sizeof(mode), 0),
	       is_null ? "unset" : fmt_kib(target, t, sizeof(t)));
	json_object_put(reply);
	return MEMCTL_EXIT_OK;
}

static int cmd_hello(struct memctl *m, const struct cmd_entry *cmd, int argc, char **argv)
{
	json_object *reply = NULL, *result = NULL;
	const char *version, *backend;
	char err[256], v[64], b[64];
	int64_t api;
	int r;

	r = ctl_call(m, "hello", NULL, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (get_str(result, "version", &version, err, sizeof(err)) < 0 ||
	    get_int(result, "api", false, &api, NULL, err, sizeof(err)) < 0 ||
	    get_str(result, "backend", &backend, err, sizeof(err)) < 0) {
		json_object_put(reply);
		return malformed("hello", err);
	}
	if (m->json) {
		print_json(result);
	} else {
		printf("balloond %s\n", sanitize(version, v, sizeof(v), 0));
		printf("api:     %" PRId64 "\n", api);
		printf("backend: %s\n", sanitize(backend, b, sizeof(b), 0));
	}
	if (api != RPC_API_VERSION)
		memctl_warnx("warning: balloond speaks API %" PRId64 ", this memctl API %d", api,
			     RPC_API_VERSION);
	json_object_put(reply);
	return MEMCTL_EXIT_OK;
}

/* Call a method without params whose result has one string member, and
 * print it (sanitized) between before and after. */
static int call_and_say(struct memctl *m, const char *method, const char *key, const char *before,
			const char *after)
{
	json_object *reply = NULL, *result = NULL;
	const char *v;
	char err[256], val[CELL_MAX];
	int r;

	r = ctl_call(m, method, NULL, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (get_str(result, key, &v, err, sizeof(err)) < 0) {
		json_object_put(reply);
		return malformed(method, err);
	}
	if (m->json)
		print_json(result);
	else
		printf("%s%s%s\n", before, sanitize(v, val, sizeof(val), 0), after);
	json_object_put(reply);
	return MEMCTL_EXIT_OK;
}

static int cmd_pause(struct memctl *m, const struct cmd_entry *cmd, int argc, char **argv)
{
	return call_and_say(m, "pause", "mode",
			    "balloond: ", "; no target or maxmem is written until 'memctl resume'");
}

static int cmd_resume(struct memctl *m, const struct cmd_entry *cmd, int argc, char **argv)
{
	return call_and_say(m, "resume", "mode", "balloond: ", "");
}

static int cmd_reload(struct memctl *m, const struct cmd_entry *cmd, int argc, char **argv)
{
	return call_and_say(m, "config.reload", "config", "balloond: configuration reloaded from ",
			    "");
}

/* set-policy DOM KEY=VALUE...: dmin, dmax, weight, mode, or reset. */
static int cmd_set_policy(struct memctl *m, const struct cmd_entry *cmd, int argc, char **argv)
{
	json_object *params, *dom, *reply = NULL, *result = NULL;
	char name[128];
	int i, r;

	dom = domain_arg(cmd, argv[0]);
	if (!dom)
		return MEMCTL_EXIT_USAGE;
	params = json_object_new_object();
	json_object_object_add(params, "domain", dom);
	for (i = 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		uint64_t v;

		if (strcmp(argv[i], "reset") == 0) {
			json_object_object_add(params, "reset", json_object_new_boolean(true));
			continue;
		}
		if (eq && (strncmp(argv[i], "dmin=", 5) == 0 || strncmp(argv[i], "dmax=", 5) == 0)) {
			if (size_parse(eq + 1, &v) < 0) {
				json_object_put(params);
				return usage_error(cmd, "%s: bad size in \"%s\"", cmd->name, argv[i]);
			}
			json_object_object_add(params, argv[i][1] == 'm' && argv[i][2] == 'i' ? "dmin"
												: "dmax",
					       json_object_new_int64((int64_t)v));
		} else if (eq && strncmp(argv[i], "weight=", 7) == 0) {
			if (u64_parse_strict(eq + 1, 10000, &v) < 0 || !v) {
				json_object_put(params);
				return usage_error(cmd, "%s: weight must be 1 to 10000", cmd->name);
			}
			json_object_object_add(params, "weight", json_object_new_int64((int64_t)v));
		} else if (eq && strncmp(argv[i], "mode=", 5) == 0) {
			json_object_object_add(params, "mode", json_object_new_string(eq + 1));
		} else {
			json_object_put(params);
			return usage_error(cmd,
					   "%s: \"%s\" is not dmin=SIZE, dmax=SIZE, weight=N, "
					   "mode=auto|frozen|excluded or reset",
					   cmd->name, argv[i]);
		}
	}
	r = ctl_call(m, "domain.set_policy", params, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (m->json) {
		print_json(result);
	} else if (!result_name(result, name, sizeof(name))) {
		r = malformed("domain.set_policy", "the result is not a domain");
	} else {
		printf("%s: policy set\n", name);
		r = print_domain_detail(result);
	}
	json_object_put(reply);
	return r;
}

/* explain DOM: the decisive reason first, then the whole picture. */
static int cmd_explain(struct memctl *m, const struct cmd_entry *cmd, int argc, char **argv)
{
	json_object *params = domain_params(cmd, argv[0]), *reply = NULL, *result = NULL;
	const char *reason, *state, *mode, *report = NULL, *source = NULL;
	char name[128], r1[CELL_MAX], s1[32], m1[32], a[32], t[32], err[256];
	int64_t actual, target = 0, used = 0, demand = 0;
	bool tnull = false, unull = true, dnull = true;
	json_object *v;
	int r;

	if (!params)
		return MEMCTL_EXIT_USAGE;
	r = ctl_call(m, "domain.get", params, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (m->json) {
		print_json(result);
		json_object_put(reply);
		return MEMCTL_EXIT_OK;
	}
	if (!result_name(result, name, sizeof(name)) ||
	    get_str(result, "reason", &reason, err, sizeof(err)) < 0 ||
	    get_str(result, "state", &state, err, sizeof(err)) < 0 ||
	    get_str(result, "mode", &mode, err, sizeof(err)) < 0 ||
	    get_kib(result, "actual", false, &actual, NULL, err, sizeof(err)) < 0 ||
	    get_kib(result, "target", true, &target, &tnull, err, sizeof(err)) < 0) {
		json_object_put(reply);
		return malformed("domain.get", err);
	}
	get_kib(result, "used", true, &used, &unull, err, sizeof(err));
	get_kib(result, "demand", true, &demand, &dnull, err, sizeof(err));
	if (json_object_object_get_ex(result, "report", &v) && json_object_is_type(v, json_type_string))
		report = json_object_get_string(v);
	printf("%s: target %s, actual %s (%s, %s)\n", name,
	       tnull ? "unset" : fmt_kib(target, t, sizeof(t)), fmt_kib(actual, a, sizeof(a)),
	       sanitize(mode, m1, sizeof(m1), 0), sanitize(state, s1, sizeof(s1), 0));
	printf("decided by: %s\n", sanitize(reason, r1, sizeof(r1), 0));
	if (json_object_object_get_ex(result, "report_source", &v) &&
	    json_object_is_type(v, json_type_string))
		source = json_object_get_string(v);
	if (!unull && !dnull && report && strcmp(report, "used") == 0)
		printf("demand:     uses %s by its own report (%s), needs %s (used + demand_buffer)\n",
		       fmt_kib(used, a, sizeof(a)), sanitize(source ? source : "?", r1, sizeof(r1), 0),
		       fmt_kib(demand, t, sizeof(t)));
	else if (!unull && !dnull)
		printf("demand:     under memory pressure: needs %s\n", fmt_kib(demand, t, sizeof(t)));
	else
		printf("demand:     %s\n",
		       report && strncmp(report, "rejected", 8) == 0
			       ? "its report was rejected as implausible"
		       : report && strcmp(report, "stale") == 0
			       ? "its report is stale (not renewed since it was resized): the weighted fair share decides"
			       : "no report: the weighted fair share decides");
	if (json_object_object_get_ex(result, "offset", &v) && json_object_is_type(v, json_type_int) &&
	    json_object_get_int64(v) != 0) {
		int64_t off = json_object_get_int64(v);
		json_object *l = NULL;

		json_object_object_get_ex(result, "offset_learned", &l);
		printf("offset:     rests %s%s from its target (%s)\n", off < 0 ? "-" : "+",
		       fmt_kib((uint64_t)(off < 0 ? -off : off), a, sizeof(a)),
		       l && json_object_get_boolean(l) ? "learned at rest" : "videoram");
	}
	if (json_object_object_get_ex(result, "damped", &v) && json_object_get_boolean(v))
		printf("damping:    its target reversed too often: held back for now\n");
	if (strcmp(state, "uncooperative") == 0)
		printf("state:      uncooperative: counted as it is, not asked to give memory\n");
	else if (strcmp(state, "stalled") == 0)
		printf("state:      stalled: its target is re-armed\n");
	printf("\n");
	r = print_domain_detail(result);
	json_object_put(reply);
	return r;
}

static int cmd_plan(struct memctl *m, const struct cmd_entry *cmd, int argc, char **argv)
{
	static const bool left[] = {false, true, true, false, false, true};
	json_object *reply = NULL, *result = NULL, *acts, *notes, *v;
	struct table t;
	size_t i, n;
	int r;

	r = ctl_call(m, "plan", NULL, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (m->json) {
		print_json(result);
		json_object_put(reply);
		return MEMCTL_EXIT_OK;
	}
	if (!json_object_object_get_ex(result, "actions", &acts) ||
	    !json_object_is_type(acts, json_type_array) ||
	    !json_object_object_get_ex(result, "notes", &notes) ||
	    !json_object_is_type(notes, json_type_array)) {
		json_object_put(reply);
		return malformed("plan", "no \"actions\" or \"notes\" array");
	}
	if (json_object_object_get_ex(result, "paused", &v) && json_object_get_boolean(v))
		printf("balloond is paused; after 'memctl resume' it would:\n");
	n = json_object_array_length(acts);
	if (n == 0)
		printf("nothing to change: every target stands\n");
	if (n && table_init(&t, 6, left, n) == 0) {
		static const char *const head[] = {"DOMID", "NAME", "WHAT", "FROM", "TO", "WHY"};
		char(*row)[CELL_MAX] = table_add_row(&t);

		for (i = 0; i < 6; i++)
			snprintf(row[i], CELL_MAX, "%s", head[i]);
		for (i = 0; i < n; i++) {
			json_object *o = json_object_array_get_idx(acts, i);
			const char *s;
			char err[128];
			int64_t x;
			bool isnull;

			row = table_add_row(&t);
			if (!row)
				break;
			if (get_int(o, "domid", false, &x, NULL, err, sizeof(err)) == 0)
				snprintf(row[0], CELL_MAX, "%" PRId64, x);
			if (get_str(o, "name", &s, err, sizeof(err)) == 0)
				sanitize(s, row[1], CELL_MAX, NAME_COLS);
			if (get_str(o, "what", &s, err, sizeof(err)) == 0)
				sanitize(s, row[2], CELL_MAX, 0);
			if (get_kib(o, "from", true, &x, &isnull, err, sizeof(err)) == 0)
				isnull ? snprintf(row[3], CELL_MAX, "-") : (void)fmt_kib(x, row[3], CELL_MAX);
			if (get_kib(o, "to", false, &x, NULL, err, sizeof(err)) == 0)
				fmt_kib(x, row[4], CELL_MAX);
			if (get_str(o, "reason", &s, err, sizeof(err)) == 0)
				sanitize(s, row[5], CELL_MAX, 0);
			else
				snprintf(row[5], CELL_MAX, "-");
		}
		table_print(&t, stdout);
		table_free(&t);
	}
	for (i = 0; i < json_object_array_length(notes); i++) {
		char s[CELL_MAX];

		printf("note: %s\n", sanitize(json_object_get_string(json_object_array_get_idx(notes, i)),
					      s, sizeof(s), 0));
	}
	json_object_put(reply);
	return MEMCTL_EXIT_OK;
}

/* ---- reservations ---- */

/* "4G" or "2G..3G" into KiB. 0 or -EINVAL/-ERANGE. */
static int range_parse(const char *s, uint64_t *ret_min, uint64_t *ret_max)
{
	const char *dots = strstr(s, "..");
	char lo[64];
	int r;

	if (!dots) {
		r = size_parse(s, ret_min);
		*ret_max = *ret_min;
		return r;
	}
	if ((size_t)(dots - s) >= sizeof(lo))
		return -EINVAL;
	memcpy(lo, s, (size_t)(dots - s));
	lo[dots - s] = '\0';
	r = size_parse(lo, ret_min);
	if (r == 0)
		r = size_parse(dots + 2, ret_max);
	if (r == 0 && *ret_min > *ret_max)
		return -EINVAL;
	return r;
}

/* One reservation in words: "3 granted 4G (held 4G, expires in 4m 58s)". */
static int resv_describe(json_object *o, char *buf, size_t len)
{
	const char *state, *why = NULL, *dom = NULL;
	char err[128], a[32], b[32], c[32], st[32], w[200], dn[64];
	int64_t id, amount, mn, mx;
	double in = 0;
	bool has_in = false, dummy;
	json_object *v;

	if (get_int(o, "id", false, &id, NULL, err, sizeof(err)) < 0 ||
	    get_str(o, "state", &state, err, sizeof(err)) < 0 ||
	    get_kib(o, "amount", false, &amount, NULL, err, sizeof(err)) < 0 ||
	    get_kib(o, "min", false, &mn, NULL, err, sizeof(err)) < 0 ||
	    get_kib(o, "max", false, &mx, NULL, err, sizeof(err)) < 0)
		return -EPROTO;
	has_in = get_num(o, "expires_in", false, &in, &dummy, err, sizeof(err)) == 0 ||
		 get_num(o, "answer_in", false, &in, &dummy, err, sizeof(err)) == 0;
	if (json_object_object_get_ex(o, "why", &v) && json_object_is_type(v, json_type_string))
		why = json_object_get_string(v);
	if (json_object_object_get_ex(o, "domain", &v) && json_object_is_type(v, json_type_string))
		dom = json_object_get_string(v);
	snprintf(buf, len, "reservation %" PRId64 " %s: %s%s%s%s%s%s%s%s", id,
		 sanitize(state, st, sizeof(st), 0), fmt_kib(amount, a, sizeof(a)),
		 mn != mx ? " (asked " : "", mn != mx ? fmt_kib(mn, b, sizeof(b)) : "",
		 mn != mx ? ".." : "", mn != mx ? fmt_kib(mx, c, sizeof(c)) : "",
		 mn != mx ? ")" : "", dom ? " for " : "", dom ? sanitize(dom, dn, sizeof(dn), 0) : "");
	if (has_in) {
		char t[32];

		snprintf(buf + strlen(buf), len - strlen(buf), "; %s in %s",
			 strcmp(state, "pending") == 0 ? "answer due" : "expires",
			 fmt_secs(in, true, t, sizeof(t)));
	}
	if (why)
		snprintf(buf + strlen(buf), len - strlen(buf), "; %s",
			 sanitize(why, w, sizeof(w), 0));
	return 0;
}

/* The reservation id from the list, or NULL (borrowed from result). */
static json_object *resv_pick(json_object *result, int64_t id)
{
	json_object *arr;
	size_t i;

	if (!json_object_object_get_ex(result, "reservations", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return NULL;
	for (i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		int64_t v;
		char err[64];

		if (get_int(o, "id", false, &v, NULL, err, sizeof(err)) == 0 && v == id)
			return o;
	}
	return NULL;
}

static int cmd_reserve(struct memctl *m, const struct cmd_entry *cmd, int argc, char **argv)
{
	json_object *params, *reply = NULL, *result = NULL, *cur;
	uint64_t mn, mx;
	int64_t id, deadline;
	const char *state;
	char line[512], err[256];
	int r;

	r = range_parse(argv[0], &mn, &mx);
	if (r < 0 || !mn)
		return usage_error(cmd, "%s: bad size \"%s\": give SIZE (e.g. 4G) or MIN..MAX "
					"(e.g. 2G..4G)", cmd->name, argv[0]);
	params = json_object_new_object();
	if (mn == mx) {
		json_object_object_add(params, "size", json_object_new_int64((int64_t)mn));
	} else {
		json_object_object_add(params, "min", json_object_new_int64((int64_t)mn));
		json_object_object_add(params, "max", json_object_new_int64((int64_t)mx));
	}
	if (m->ttl_s)
		json_object_object_add(params, "ttl", json_object_new_int64(m->ttl_s));
	r = ctl_call(m, "reserve", params, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (get_int(result, "id", false, &id, NULL, err, sizeof(err)) < 0) {
		json_object_put(reply);
		return malformed("reserve", err);
	}
	cur = json_object_get(result);
	json_object_put(reply);
	/* Wait for the answer unless told not to: balloond frees memory now. */
	deadline = now_ms() + (int64_t)m->wait_s * 1000;
	while (!m->no_wait && get_str(cur, "state", &state, err, sizeof(err)) == 0 &&
	       strcmp(state, "pending") == 0 && now_ms() < deadline) {
		json_object *found;

		usleep(200 * 1000);
		r = ctl_call(m, "reservation.list", NULL, false, &reply, &result);
		if (r != MEMCTL_EXIT_OK) {
			json_object_put(cur);
			return r;
		}
		found = resv_pick(result, id);
		if (found) {
			json_object_put(cur);
			cur = json_object_get(found);
		}
		json_object_put(reply);
		if (!found)
			break;
	}
	if (m->json) {
		print_json(cur);
	} else if (resv_describe(cur, line, sizeof(line)) < 0) {
		json_object_put(cur);
		return malformed("reservation.list", "a reservation lacks a member");
	} else {
		printf("%s\n", line);
	}
	r = get_str(cur, "state", &state, err, sizeof(err)) == 0 &&
			    (strcmp(state, "failed") == 0 || strcmp(state, "expired") == 0 ||
			     strcmp(state, "cancelled") == 0)
		    ? MEMCTL_EXIT_DAEMON
		    : MEMCTL_EXIT_OK;
	if (!m->json && r == MEMCTL_EXIT_OK && strcmp(state, "granted") == 0)
		printf("hand it to the new domain with: memctl transfer %" PRId64 " DOM\n", id);
	json_object_put(cur);
	return r;
}

static int cmd_reservations(struct memctl *m, const struct cmd_entry *cmd, int argc,
			    char **argv)
{
	static const bool left[] = {false, true, false, false, false, false, true, false, true};
	json_object *reply = NULL, *result = NULL, *arr;
	struct table t;
	size_t i;
	int r;

	r = ctl_call(m, "reservation.list", NULL, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (m->json) {
		print_json(result);
		json_object_put(reply);
		return MEMCTL_EXIT_OK;
	}
	if (!json_object_object_get_ex(result, "reservations", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		json_object_put(reply);
		return malformed("reservation.list", "no \"reservations\" array");
	}
	if (json_object_array_length(arr) == 0) {
		printf("no reservation\n");
		json_object_put(reply);
		return MEMCTL_EXIT_OK;
	}
	if (table_init(&t, 9, left, json_object_array_length(arr)) < 0) {
		json_object_put(reply);
		return MEMCTL_EXIT_DAEMON;
	}
	{
		static const char *const head[] = {"ID",   "STATE",  "AMOUNT", "MIN", "MAX",
						   "HELD", "DOMAIN", "IN",     "WHY"};
		char(*row)[CELL_MAX] = table_add_row(&t);

		for (i = 0; i < 9; i++)
			snprintf(row[i], CELL_MAX, "%s", head[i]);
	}
	for (i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i), *v;
		char(*row)[CELL_MAX] = table_add_row(&t);
		char err[128];
		const char *s;
		int64_t x;
		double in;
		bool dummy;

		if (!row)
			break;
		if (get_int(o, "id", false, &x, NULL, err, sizeof(err)) < 0 ||
		    get_str(o, "state", &s, err, sizeof(err)) < 0) {
			table_free(&t);
			json_object_put(reply);
			return malformed("reservation.list", err);
		}
		snprintf(row[0], CELL_MAX, "%" PRId64, x);
		sanitize(s, row[1], CELL_MAX, 0);
		if (get_kib(o, "amount", false, &x, NULL, err, sizeof(err)) == 0)
			fmt_kib(x, row[2], CELL_MAX);
		if (get_kib(o, "min", false, &x, NULL, err, sizeof(err)) == 0)
			fmt_kib(x, row[3], CELL_MAX);
		if (get_kib(o, "max", false, &x, NULL, err, sizeof(err)) == 0)
			fmt_kib(x, row[4], CELL_MAX);
		if (get_kib(o, "held", false, &x, NULL, err, sizeof(err)) == 0)
			fmt_kib(x, row[5], CELL_MAX);
		if (json_object_object_get_ex(o, "domain", &v) &&
		    json_object_is_type(v, json_type_string))
			sanitize(json_object_get_string(v), row[6], CELL_MAX, NAME_COLS);
		else
			snprintf(row[6], CELL_MAX, "-");
		if (get_num(o, "expires_in", false, &in, &dummy, err, sizeof(err)) == 0 ||
		    get_num(o, "answer_in", false, &in, &dummy, err, sizeof(err)) == 0)
			fmt_secs(in, true, row[7], CELL_MAX);
		else
			snprintf(row[7], CELL_MAX, "-");
		if (json_object_object_get_ex(o, "why", &v) &&
		    json_object_is_type(v, json_type_string))
			sanitize(json_object_get_string(v), row[8], CELL_MAX, 0);
		else
			snprintf(row[8], CELL_MAX, "-");
	}
	table_print(&t, stdout);
	table_free(&t);
	json_object_put(reply);
	return MEMCTL_EXIT_OK;
}

/* A reservation id argument; -1 when it is not one. */
static int64_t resv_id_arg(const char *s)
{
	uint64_t v;

	return u64_parse_strict(s, UINT32_MAX, &v) == 0 && v ? (int64_t)v : -1;
}

/* cancel ID / transfer ID DOM: call, then say what became of it. */
static int resv_call(struct memctl *m, const struct cmd_entry *cmd, const char *method,
		     json_object *params)
{
	json_object *reply = NULL, *result = NULL;
	char line[512];
	int r = ctl_call(m, method, params, false, &reply, &result);

	if (r != MEMCTL_EXIT_OK)
		return r;
	if (m->json)
		print_json(result);
	else if (resv_describe(result, line, sizeof(line)) < 0)
		r = malformed(method, "the result is not a reservation");
	else
		printf("%s\n", line);
	json_object_put(reply);
	return r;
}

static int cmd_cancel(struct memctl *m, const struct cmd_entry *cmd, int argc, char **argv)
{
	int64_t id = resv_id_arg(argv[0]);
	json_object *params;

	if (id < 0)
		return usage_error(cmd, "%s: \"%s\" is not a reservation id", cmd->name, argv[0]);
	params = json_object_new_object();
	json_object_object_add(params, "id", json_object_new_int64(id));
	return resv_call(m, cmd, "reservation.cancel", params);
}

static int cmd_transfer(struct memctl *m, const struct cmd_entry *cmd, int argc, char **argv)
{
	int64_t id = resv_id_arg(argv[0]);
	json_object *params, *dom;

	if (id < 0)
		return usage_error(cmd, "%s: \"%s\" is not a reservation id", cmd->name, argv[0]);
	dom = domain_arg(cmd, argv[1]);
	if (!dom)
		return MEMCTL_EXIT_USAGE;
	params = json_object_new_object();
	json_object_object_add(params, "id", json_object_new_int64(id));
	json_object_object_add(params, "domain", dom);
	return resv_call(m, cmd, "reservation.transfer", params);
}

/* ---- events and metrics ---- */

/* An integer member, or -1 when missing or not an integer. */
static int64_t member_int(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

/* A string member sanitized into buf, or NULL when missing or not a string. */
static const char *member_str(json_object *o, const char *key, char *buf, size_t len)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return sanitize(json_object_get_string(v), buf, len, 0);
}

/* A size member in words: "2G", or "unset" when null or missing. */
static const char *member_kib(json_object *o, const char *key, char *buf, size_t len)
{
	int64_t v = member_int(o, key);

	if (v < 0)
		snprintf(buf, len, "unset");
	else
		fmt_kib(v, buf, len);
	return buf;
}

/* One event notification's params as one line of words: local time, topic,
 * the domain, what changed and why. Unknown kinds show their members. */
static void print_event(json_object *p)
{
	char when[32] = "?", topic[32], name[NAME_COLS + 1], what[320], reason[256];
	char a[64], b[64], c[32];
	const char *kind;
	double t = 0;
	int64_t domid = member_int(p, "domid");

	if (get_num(p, "time", false, &t, NULL, what, sizeof(what)) == 0) {
		time_t secs = (time_t)t;
		struct tm tm;

		if (localtime_r(&secs, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	}
	if (!member_str(p, "topic", topic, sizeof(topic)))
		snprintf(topic, sizeof(topic), "?");
	kind = member_str(p, "kind", c, sizeof(c));
	if (!kind)
		kind = "";
	what[0] = '\0';
	if (strcmp(topic, "dropped") == 0)
		snprintf(what, sizeof(what),
			 "%" PRId64 " events were dropped: this client read too slowly",
			 member_int(p, "dropped"));
	else if (strcmp(kind, "target") == 0)
		snprintf(what, sizeof(what), "target %s -> %s", member_kib(p, "old", a, sizeof(a)),
			 member_kib(p, "new", b, sizeof(b)));
	else if (strcmp(kind, "pin") == 0)
		snprintf(what, sizeof(what), "pinned at %s", member_kib(p, "new", a, sizeof(a)));
	else if (strcmp(kind, "unpin") == 0)
		snprintf(what, sizeof(what), "unpinned");
	else if (strcmp(kind, "new") == 0 || strcmp(kind, "gone") == 0)
		snprintf(what, sizeof(what), "%s", kind[0] == 'n' ? "appeared" : "is gone");
	else if (strcmp(kind, "state") == 0 || strcmp(kind, "pressure") == 0)
		snprintf(what, sizeof(what), "%s%s -> %s", kind[0] == 'p' ? "pressure " : "",
			 member_str(p, "old", a, sizeof(a)) ? a : "?",
			 member_str(p, "new", b, sizeof(b)) ? b : "?");
	else if (strcmp(kind, "reservation") == 0)
		snprintf(what, sizeof(what), "reservation %" PRId64 " %s, %s", member_int(p, "id"),
			 member_str(p, "state", a, sizeof(a)) ? a : "?",
			 member_kib(p, "amount", b, sizeof(b)));
	else
		sanitize(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN), what,
			 sizeof(what), 200);
	printf("%s  %-11s ", when, topic);
	if (domid >= 0)
		printf("%s (%" PRId64 "): ",
		       member_str(p, "name", name, sizeof(name)) ? name : "?", domid);
	printf("%s", what);
	if (member_str(p, "reason", reason, sizeof(reason)) && reason[0])
		printf(": %s", reason);
	printf("\n");
}

static int cmd_events(struct memctl *m, const struct cmd_entry *cmd, int argc, char **argv)
{
	json_object *params = NULL, *reply = NULL, *result = NULL, *msg, *method, *p;
	char err[256];
	size_t len;
	int i, r;

	if (argc > 0) {
		json_object *topics = json_object_new_array();

		for (i = 0; i < argc; i++)
			json_object_array_add(topics, json_object_new_string(argv[i]));
		params = json_object_new_object();
		json_object_object_add(params, "topics", topics);
	}
	r = ctl_call(m, "events.subscribe", params, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	json_object_put(reply);
	for (;;) {
		r = ctl_read_line(m, -1, &len);
		if (r == -ECONNRESET || r == -EPIPE) {
			memctl_warnx("events: balloond closed the connection (%s)", m->socket_path);
			return MEMCTL_EXIT_CONNECT;
		}
		if (r == -EMSGSIZE)
			return malformed("events", "notification longer than 16 MiB");
		if (r < 0) {
			memctl_warnx("events: %s: %s", m->socket_path, strerror(-r));
			return MEMCTL_EXIT_CONNECT;
		}
		if (rpc_parse(m->buf, len, REPLY_MAX_DEPTH, &msg, err, sizeof(err)) != 0) {
			char what[300];

			snprintf(what, sizeof(what), "not JSON (%s)", err);
			return malformed("events", what);
		}
		if (!is_notification(msg) || !json_object_object_get_ex(msg, "method", &method) ||
		    !json_object_is_type(method, json_type_string) ||
		    strcmp(json_object_get_string(method), "event") != 0 ||
		    !json_object_object_get_ex(msg, "params", &p) ||
		    !json_object_is_type(p, json_type_object)) {
			int code;
			const char *message;
			json_object *data;

			/* The daemon may say why it drops the connection. */
			if (null_id_error(msg, &code, &message, &data)) {
				r = report_error(m, "events", code, message, data);
				json_object_put(msg);
				return r;
			}
			json_object_put(msg);
			continue;
		}
		if (m->json)
			printf("%s\n", json_object_to_json_string_ext(
					       p, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE));
		else
			print_event(p);
		json_object_put(msg);
		if (fflush(stdout) != 0)
			return MEMCTL_EXIT_DAEMON; /* main reports the write error */
	}
}

/* The labels object of a sample as "k=v,k=v", sanitized. */
static const char *labels_format(json_object *labels, char *buf, size_t len)
{
	char tmp[CELL_MAX * 2] = "";
	size_t n = 0;

	if (json_object_is_type(labels, json_type_object)) {
		json_object_object_foreach(labels, key, val)
		{
			int w = snprintf(tmp + n, sizeof(tmp) - n, "%s%s=%s", n ? "," : "", key,
					 json_object_get_string(val));

			if (w < 0 || (size_t)w >= sizeof(tmp) - n)
				break;
			n += (size_t)w;
		}
	}
	return sanitize(tmp, buf, len, 0);
}

/* The metrics table: NAME, LABELS, VALUE (sizes in words). */
static int print_metrics(json_object *result)
{
	static const bool left[3] = {true, true, false};
	json_object *list, *fam, *name, *samples, *s, *labels, *value;
	char(*row)[CELL_MAX];
	struct table t;
	size_t i, j;

	if (!json_object_object_get_ex(result, "metrics", &list) ||
	    !json_object_is_type(list, json_type_array))
		return malformed("metrics", "member \"metrics\" is missing or not an array");
	if (table_init(&t, 3, left, 64) < 0) {
		memctl_warnx("out of memory");
		return MEMCTL_EXIT_DAEMON;
	}
	row = table_add_row(&t);
	snprintf(row[0], CELL_MAX, "METRIC");
	snprintf(row[1], CELL_MAX, "LABELS");
	snprintf(row[2], CELL_MAX, "VALUE");
	for (i = 0; i < json_object_array_length(list); i++) {
		fam = json_object_array_get_idx(list, i);
		if (!json_object_object_get_ex(fam, "name", &name) ||
		    !json_object_is_type(name, json_type_string) ||
		    !json_object_object_get_ex(fam, "samples", &samples) ||
		    !json_object_is_type(samples, json_type_array)) {
			table_free(&t);
			return malformed("metrics", "a metric without a name or samples");
		}
		for (j = 0; j < json_object_array_length(samples); j++) {
			const char *n = json_object_get_string(name);
			size_t nl = strlen(n);

			s = json_object_array_get_idx(samples, j);
			if (!json_object_object_get_ex(s, "labels", &labels) ||
			    !json_object_object_get_ex(s, "value", &value) ||
			    (!json_object_is_type(value, json_type_int) &&
			     !json_object_is_type(value, json_type_double))) {
				table_free(&t);
				return malformed("metrics", "a sample without labels or value");
			}
			row = table_add_row(&t);
			if (!row) {
				table_free(&t);
				memctl_warnx("out of memory");
				return MEMCTL_EXIT_DAEMON;
			}
			sanitize(n, row[0], CELL_MAX, 0);
			labels_format(labels, row[1], CELL_MAX);
			if (json_object_is_type(value, json_type_double))
				snprintf(row[2], CELL_MAX, "%.3f", json_object_get_double(value));
			else if (nl > 6 && strcmp(n + nl - 6, "_bytes") == 0)
				fmt_kib(json_object_get_int64(value) / 1024, row[2], CELL_MAX);
			else
				snprintf(row[2], CELL_MAX, "%" PRId64,
					 json_object_get_int64(value));
		}
	}
	table_print(&t, stdout);
	table_free(&t);
	return MEMCTL_EXIT_OK;
}

static int cmd_metrics(struct memctl *m, const struct cmd_entry *cmd, int argc, char **argv)
{
	json_object *params = json_object_new_object(), *reply = NULL, *result = NULL;
	const char *text;
	char err[256];
	int r;

	json_object_object_add(params, "format",
			       json_object_new_string(m->prometheus ? "prometheus" : "json"));
	r = ctl_call(m, "metrics", params, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (m->json)
		print_json(result);
	else if (!m->prometheus)
		r = print_metrics(result);
	else if (get_str(result, "text", &text, err, sizeof(err)) < 0)
		r = malformed("metrics", err);
	else
		fputs(text, stdout);
	json_object_put(reply);
	return r;
}

/* ---- audit ---- */

#define AUDIT_POLL_MS 200

/* An audit's state from audit.status: whether one runs, and its id (0 when
 * none). 0 or an exit status (printed). */
static int audit_state(struct memctl *m, bool *ret_running, int64_t *ret_id)
{
	json_object *reply = NULL, *result = NULL, *v;
	bool is_null = false;
	char err[256];
	int r;

	r = ctl_call(m, "audit.status", NULL, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (!json_object_object_get_ex(result, "running", &v) ||
	    !json_object_is_type(v, json_type_boolean) ||
	    get_int(result, "id", true, ret_id, &is_null, err, sizeof(err)) < 0) {
		json_object_put(reply);
		return malformed("audit.status", "member \"running\" or \"id\" is missing");
	}
	*ret_running = json_object_get_boolean(v);
	if (is_null)
		*ret_id = 0;
	json_object_put(reply);
	return MEMCTL_EXIT_OK;
}

/* Poll every 200 ms while audit id (0: any) runs, until deadline (-1: none). */
static int audit_wait(struct memctl *m, int64_t id, int64_t deadline)
{
	bool running = false;
	int64_t cur = 0;
	int r;

	for (;;) {
		r = audit_state(m, &running, &cur);
		if (r != MEMCTL_EXIT_OK)
			return r;
		if (!running || (id && cur != id))
			return MEMCTL_EXIT_OK;
		if (deadline >= 0 && now_ms() + AUDIT_POLL_MS > deadline) {
			memctl_warnx("audit %" PRId64 " is still running after %gs; see 'memctl "
				     "--json audit --no-wait' and audit.status",
				     cur, m->timeout_ms / 1000.0);
			return MEMCTL_EXIT_CONNECT;
		}
		usleep(AUDIT_POLL_MS * 1000);
	}
}

/* A frame number member in hex, "-" when null. NULL when not a number. */
static const char *fmt_frame(json_object *o, const char *key, char *buf, size_t len)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !v) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (!json_object_is_type(v, json_type_int))
		return NULL;
	snprintf(buf, len, "0x%" PRIx64, json_object_get_uint64(v));
	return buf;
}

/* One finding as a line: where it is and what disagrees. */
static int print_finding(json_object *f)
{
	const char *cls, *name;
	char n[64], pfn[24], mfn[24], m2p[24], other[24], err[128];
	int64_t domid, delta = 0;
	bool no_delta = true;

	if (get_str(f, "class", &cls, err, sizeof(err)) < 0 ||
	    get_str(f, "name", &name, err, sizeof(err)) < 0 ||
	    get_int(f, "domid", false, &domid, NULL, err, sizeof(err)) < 0 ||
	    get_int(f, "delta", true, &delta, &no_delta, err, sizeof(err)) < 0 ||
	    !fmt_frame(f, "pfn", pfn, sizeof(pfn)) || !fmt_frame(f, "mfn", mfn, sizeof(mfn)) ||
	    !fmt_frame(f, "m2p", m2p, sizeof(m2p)) || !fmt_frame(f, "other", other, sizeof(other)))
		return malformed("audit.findings", "a finding lacks a member");
	printf("  %s (domid %" PRId64 "): ", sanitize(name, n, sizeof(n), NAME_COLS), domid);
	if (!no_delta) {
		printf("tot_pages - mapped RAM entries = %" PRId64 "\n", delta);
	} else if (strcmp(pfn, "-") == 0) {
		printf("its P2M could not be read\n");
	} else if (strcmp(cls, "P2M_ALIAS") == 0) {
		printf("pfn %s  mfn %s  m2p %s  (also mapped at pfn %s)\n", pfn, mfn, m2p, other);
	} else if (strcmp(other, "-") != 0) {
		uint64_t owner = strtoull(other, NULL, 16);

		printf("pfn %s  mfn %s  m2p %s  (frame owner: ", pfn, mfn, m2p);
		if (owner == AUDIT_OWNER_FREE)
			printf("none, free)\n");
		else if (owner == AUDIT_OWNER_XEN)
			printf("Xen)\n");
		else
			printf("domain %" PRIu64 ")\n", owner);
	} else {
		printf("pfn %s  mfn %s  m2p %s\n", pfn, mfn, m2p);
	}
	return MEMCTL_EXIT_OK;
}

/* The report of one audit: its domains, then its findings by class. Returns
 * the exit status: 4 with confirmed findings, 1 when it failed. */
static int print_audit(json_object *st, json_object *fi)
{
	const char *method = "audit.status", *result, *status, *type, *name;
	json_object *last, *doms, *counts, *list, *err_v = NULL;
	int64_t id, pages, findings, unconfirmed, v;
	size_t i, nd, audited = 0;
	double duration;
	struct table t;
	char(*hrow)[CELL_MAX];
	char err[256], buf[64];
	static const bool left[] = {false, true, true, true, false, false};
	static const char *const head[] = {"DOMID", "NAME", "TYPE", "STATUS", "SCANNED", "FINDINGS"};

	if (!json_object_object_get_ex(st, "last", &last) || !last ||
	    !json_object_object_get_ex(st, "domains", &doms) ||
	    !json_object_is_type(doms, json_type_array) ||
	    get_int(last, "id", false, &id, NULL, err, sizeof(err)) < 0 ||
	    get_str(last, "result", &result, err, sizeof(err)) < 0 ||
	    get_int(last, "pages", false, &pages, NULL, err, sizeof(err)) < 0 ||
	    get_int(last, "findings", false, &findings, NULL, err, sizeof(err)) < 0 ||
	    get_int(last, "unconfirmed", false, &unconfirmed, NULL, err, sizeof(err)) < 0 ||
	    get_num(last, "duration", false, &duration, NULL, err, sizeof(err)) < 0)
		return malformed(method, "member \"last\" or \"domains\" is missing or incomplete");
	nd = json_object_array_length(doms);
	if (table_init(&t, 6, left, nd) < 0) {
		memctl_warnx("out of memory");
		return MEMCTL_EXIT_DAEMON;
	}
	hrow = table_add_row(&t);
	for (i = 0; hrow && i < 6; i++)
		snprintf(hrow[i], CELL_MAX, "%s", head[i]);
	for (i = 0; i < nd; i++) {
		json_object *d = json_object_array_get_idx(doms, i);
		char(*row)[CELL_MAX] = table_add_row(&t);
		bool is_null = false;
		int64_t dom;

		if (!row || get_int(d, "domid", false, &dom, NULL, err, sizeof(err)) < 0 ||
		    get_str(d, "name", &name, err, sizeof(err)) < 0 ||
		    get_str(d, "type", &type, err, sizeof(err)) < 0 ||
		    get_str(d, "status", &status, err, sizeof(err)) < 0) {
			table_free(&t);
			return malformed(method, "a domain row lacks a member");
		}
		snprintf(row[0], CELL_MAX, "%" PRId64, dom);
		sanitize(name, row[1], CELL_MAX, NAME_COLS);
		sanitize(type, row[2], CELL_MAX, 8);
		sanitize(status, row[3], CELL_MAX, 32);
		if (strcmp(status, "audited") == 0)
			audited++;
		if (get_int(d, "scanned", true, &v, &is_null, err, sizeof(err)) < 0)
			snprintf(row[4], CELL_MAX, "?");
		else
			snprintf(row[4], CELL_MAX, is_null || strcmp(status, "audited") ? "-"
							     : "%" PRId64, v);
		if (get_int(d, "findings", true, &v, &is_null, err, sizeof(err)) < 0)
			snprintf(row[5], CELL_MAX, "?");
		else
			snprintf(row[5], CELL_MAX, is_null || strcmp(status, "audited") ? "-"
							     : "%" PRId64, v);
	}
	printf("audit %" PRId64 ": %zu PV domain%s audited, %" PRId64 " pages in %.3fs\n", id,
	       audited, audited == 1 ? "" : "s", pages, duration);
	table_print(&t, stdout);
	table_free(&t);
	for (i = 0; i < nd; i++) {
		json_object *d = json_object_array_get_idx(doms, i);
		char nm[64];

		if (get_str(d, "status", &status, err, sizeof(err)) < 0 ||
		    get_str(d, "name", &name, err, sizeof(err)) < 0 ||
		    get_str(d, "type", &type, err, sizeof(err)) < 0)
			continue;
		if (strcmp(status, "not auditable") == 0)
			printf("%s: not auditable (%s)\n", sanitize(name, nm, sizeof(nm), NAME_COLS),
			       strcmp(type, "pv") == 0 ? "its P2M could not be read"
						       : "the P2M is inside Xen");
		else if (strcmp(status, "skipped") == 0)
			printf("%s: skipped (dying, shut down or being built)\n",
			       sanitize(name, nm, sizeof(nm), NAME_COLS));
	}
	if (strcmp(result, "failed") == 0) {
		json_object_object_get_ex(last, "error", &err_v);
		memctl_warnx("audit %" PRId64 " failed: %s", id,
			     err_v && json_object_is_type(err_v, json_type_string)
				     ? sanitize(json_object_get_string(err_v), err, sizeof(err), 0)
				     : "no reason given");
		return MEMCTL_EXIT_DAEMON;
	}
	if (unconfirmed)
		printf("%" PRId64 " further findings could not be re-checked (too many to keep)\n",
		       unconfirmed);
	if (findings == 0 && !unconfirmed && audited == 0)
		printf("nothing audited: no PV domain in this audit could be checked\n");
	else if (findings == 0 && !unconfirmed)
		printf("clean: %zu PV domain%s, %" PRId64 " pages, no finding\n", audited,
		       audited == 1 ? "" : "s", pages);
	if (findings == 0)
		return MEMCTL_EXIT_OK;
	if (!json_object_object_get_ex(fi, "counts", &counts) ||
	    !json_object_is_type(counts, json_type_object) ||
	    !json_object_object_get_ex(fi, "findings", &list) ||
	    !json_object_is_type(list, json_type_array))
		return malformed("audit.findings", "member \"counts\" or \"findings\" is missing");
	printf("\n%" PRId64 " confirmed finding%s:\n", findings, findings == 1 ? "" : "s");
	json_object_object_foreach(counts, cls, cnt)
	{
		size_t shown = 0;
		const char *c;

		printf("%s: %" PRId64 "\n", sanitize(cls, buf, sizeof(buf), 32),
		       json_object_get_int64(cnt));
		for (i = 0; i < json_object_array_length(list); i++) {
			json_object *f = json_object_array_get_idx(list, i);

			if (get_str(f, "class", &c, err, sizeof(err)) < 0 || strcmp(c, cls) != 0)
				continue;
			if (print_finding(f) != MEMCTL_EXIT_OK)
				return MEMCTL_EXIT_DAEMON;
			shown++;
		}
		if ((int64_t)shown < json_object_get_int64(cnt))
			printf("  ... and %" PRId64 " more\n",
			       json_object_get_int64(cnt) - (int64_t)shown);
	}
	printf("\nA finding is usually a guest bug or attack (a PV guest may write the M2P\n"
	       "entries of its own frames), not a hypervisor fault.\n");
	return MEMCTL_EXIT_FINDINGS;
}

static int cmd_audit(struct memctl *m, const struct cmd_entry *cmd, int argc, char **argv)
{
	json_object *dom = NULL, *params, *reply = NULL, *result = NULL, *st_reply = NULL, *st;
	json_object *fi_reply = NULL, *fi = NULL, *last;
	int64_t id = 0, deadline = m->timeout_ms > 0 ? now_ms() + m->timeout_ms : -1, cur;
	bool running;
	char err[256];
	int r;

	if (argc == 1 && !(dom = domain_arg(cmd, argv[0])))
		return MEMCTL_EXIT_USAGE;
	for (;;) {
		params = json_object_new_object();
		if (dom)
			json_object_object_add(params, "domain", json_object_get(dom));
		/* Quiet when it may be "busy": then wait for that audit and ask again. */
		r = ctl_call(m, "audit.run", params, !m->no_wait, &reply, &result);
		if (r == MEMCTL_EXIT_OK || !m->error_reply || m->no_wait)
			break;
		if (m->error_code != RPC_ERR_BUSY || (deadline >= 0 && now_ms() >= deadline)) {
			/* Refused for another reason (or for too long): ask again and show it. */
			params = json_object_new_object();
			if (dom)
				json_object_object_add(params, "domain", json_object_get(dom));
			r = ctl_call(m, "audit.run", params, false, &reply, &result);
			break;
		}
		r = audit_state(m, &running, &cur);
		if (r == MEMCTL_EXIT_OK && running)
			r = audit_wait(m, cur, deadline);
		else if (r == MEMCTL_EXIT_OK) /* the backend is not ready yet */
			usleep(AUDIT_POLL_MS * 1000);
		if (r != MEMCTL_EXIT_OK)
			break;
	}
	json_object_put(dom);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (get_int(result, "id", false, &id, NULL, err, sizeof(err)) < 0) {
		json_object_put(reply);
		return malformed("audit.run", err);
	}
	if (m->no_wait) {
		if (m->json)
			print_json(result);
		else
			printf("audit %" PRId64 " started; see 'memctl audit' or audit.status\n", id);
		json_object_put(reply);
		return MEMCTL_EXIT_OK;
	}
	json_object_put(reply);
	r = audit_wait(m, id, deadline);
	if (r != MEMCTL_EXIT_OK)
		return r;
	params = json_object_new_object();
	json_object_object_add(params, "id", json_object_new_int64(id));
	r = ctl_call(m, "audit.status", params, false, &st_reply, &st);
	if (r != MEMCTL_EXIT_OK)
		return r;
	params = json_object_new_object();
	json_object_object_add(params, "id", json_object_new_int64(id));
	r = ctl_call(m, "audit.findings", params, false, &fi_reply, &fi);
	if (r != MEMCTL_EXIT_OK) {
		json_object_put(st_reply);
		return r;
	}
	if (m->json) {
		json_object *o = json_object_new_object();
		const char *res = "";
		int64_t n = 0;

		json_object_object_add(o, "status", json_object_get(st));
		json_object_object_add(o, "findings", json_object_get(fi));
		print_json(o);
		json_object_put(o);
		if (!json_object_object_get_ex(st, "last", &last) ||
		    get_str(last, "result", &res, err, sizeof(err)) < 0 ||
		    get_int(last, "findings", false, &n, NULL, err, sizeof(err)) < 0)
			r = malformed("audit.status", err);
		else
			r = strcmp(res, "failed") == 0 ? MEMCTL_EXIT_DAEMON
			    : n > 0		      ? MEMCTL_EXIT_FINDINGS
						      : MEMCTL_EXIT_OK;
	} else {
		r = print_audit(st, fi);
	}
	json_object_put(st_reply);
	json_object_put(fi_reply);
	return r;
}

static int cmd_help(struct memctl *m, const struct cmd_entry *cmd, int argc, char **argv)
{
	const struct cmd_entry *c;

	if (argc == 0) {
		help_general(stdout);
		return MEMCTL_EXIT_OK;
	}
	c = cmd_find(argv[0]);
	if (!c)
		return usage_error(cmd, "help: unknown command \"%s\"", argv[0]);
	help_command(stdout, c);
	return MEMCTL_EXIT_OK;
}

/* The commands, in the order "memctl help" lists them. */
static const struct cmd_entry commands[] = {
	{"status", NULL, "", 0, 0, "host summary, then every domain",
	 "Show the host's memory (total, free, the safety pool, memory committed to\n"
	 "targets still being reached, what is available, reservations), the\n"
	 "pressure level and mode, then the domain table of 'memctl list'.\n"
	 "With --json: {\"host\": <host.status>, \"domains\": [<domain>...]}.",
	 cmd_status},
	{"list", "ls", "", 0, 0, "every domain as a table",
	 "One line per domain: id, name, type, mode (auto, pinned, frozen, excluded),\n"
	 "balloon state (idle, converging, stalled, uncooperative, building, dying),\n"
	 "actual memory, target, dynamic-min, dynamic-max, maxmem, the rate the\n"
	 "balloon moves at (negative: shrinking) and the time left to reach the\n"
	 "target. \"-\" means unknown or not applicable. Names longer than 20\n"
	 "characters are cut and end in \"~\".",
	 cmd_list},
	{"show", NULL, "DOM", 1, 1, "one domain: bounds, why its target, recent decisions",
	 "Every field of one domain, where its bounds come from, the reason for its\n"
	 "current target, and balloond's last decisions about it (newest first).\n"
	 "DOM is a domain id (all digits) or a name.",
	 cmd_show},
	{"explain", NULL, "DOM", 1, 1, "why a domain has its target",
	 "What decided DOM's target (a bound, its demand, its weight's fair share, a\n"
	 "pin, its balloon state), what it reports using, then every field and\n"
	 "balloond's recent decisions about it, newest first.",
	 cmd_explain},
	{"plan", NULL, "", 0, 0, "dry run: what balloond would change now",
	 "Ask balloond to decide on the host as it is now without writing anything:\n"
	 "the targets and maxmem values it would write, from what to what and why,\n"
	 "and reservation or state changes it would make. When balloond is paused,\n"
	 "what it would do after 'memctl resume'.",
	 cmd_plan},
	{"set-target", NULL, "DOM SIZE", 2, 2, "pin a domain's balloon target",
	 "Pin DOM at SIZE: balloond writes that target (raising maxmem first when\n"
	 "needed) and stops balancing the domain until 'memctl unpin'. SIZE takes a\n"
	 "binary unit: 1536M, 1.5G, 2GiB. It must lie within the domain's\n"
	 "dynamic-min..static-max (an administrator may go above dynamic-max), and\n"
	 "the host must be able to provide it; otherwise balloond refuses and\n"
	 "nothing changes.\n"
	 "Example: memctl set-target web1 2G",
	 cmd_set_target},
	{"set-policy", NULL, "DOM KEY=VALUE...", 2, 6, "override a domain's bounds, weight or mode",
	 "Set DOM's dynamic-min, dynamic-max, weight or mode at run time, over what\n"
	 "balloond.conf and XenStore say, until 'reset': dmin=SIZE dmax=SIZE\n"
	 "weight=1..10000 mode=auto|frozen|excluded, or reset (drop every override;\n"
	 "given first, then new values apply). Kept in XenStore: a restart keeps\n"
	 "them. A dynamic-min the host cannot provide is refused.\n"
	 "Example: memctl set-policy db dmin=4G weight=300",
	 cmd_set_policy},
	{"unpin", NULL, "DOM", 1, 1, "give a pinned domain back to balloond",
	 "Undo 'memctl set-target' (or an external xl mem-set): DOM returns to\n"
	 "automatic balancing.",
	 cmd_unpin},
	{"hello", "version", "", 0, 0, "balloond's version, API and backend",
	 "Ask balloond for its version, the control protocol API it speaks and the\n"
	 "backend it runs on (xen or sim). A quick check that it is up.",
	 cmd_hello},
	{"pause", NULL, "", 0, 0, "stop writing targets until resume",
	 "Stop balloond from writing any target or maxmem; it keeps observing the\n"
	 "balloons (status still shows them moving toward the targets already\n"
	 "written). For maintenance, or to take over by hand for a while.",
	 cmd_pause},
	{"resume", NULL, "", 0, 0, "start balancing again after pause",
	 "Undo 'memctl pause': balloond decides and writes targets again.", cmd_resume},
	{"reload", NULL, "", 0, 0, "re-read balloond.conf",
	 "Ask balloond to re-read its configuration file, like SIGHUP. A file that\n"
	 "does not parse is refused (the error names file:line) and the running\n"
	 "configuration stays in force.",
	 cmd_reload},
	{"reserve", NULL, "SIZE|MIN..MAX", 1, 1, "free memory for a VM about to start",
	 "Ask balloond to free SIZE (or as much as it can between MIN and MAX) and\n"
	 "hold it for a new domain: guests give memory back first, and the\n"
	 "reservation is granted once host free memory covers it beyond the safety\n"
	 "pool. memctl waits for the answer (up to reserve_timeout; --no-wait returns\n"
	 "at once) and exits 1 when it failed, naming the guests that did not give\n"
	 "memory back. A granted reservation is held for --ttl (default\n"
	 "reserve_ttl in balloond.conf) until 'memctl transfer' hands it to the new\n"
	 "domain or 'memctl cancel' gives it back. Reservations survive a restart\n"
	 "of balloond.\n"
	 "Example: memctl reserve 4G --ttl 10m; memctl reserve 2G..4G",
	 cmd_reserve},
	{"reservations", NULL, "", 0, 0, "reservations and what became of them",
	 "One line per reservation: id, state (pending, granted, transferred, failed,\n"
	 "expired, cancelled, done), the amount, the range asked for, what it holds\n"
	 "now, the domain it was transferred to, the time left (to its answer while\n"
	 "pending, to its expiry after) and why it ended. Ended ones are listed\n"
	 "for a minute.",
	 cmd_reservations},
	{"transfer", NULL, "ID DOM", 2, 2, "hand a granted reservation to its domain",
	 "The domain DOM (just created for it) takes reservation ID's memory: the\n"
	 "reservation holds what the domain has not populated yet and ends when the\n"
	 "domain runs. DOM may be a domid balloond has not seen yet.",
	 cmd_transfer},
	{"cancel", NULL, "ID", 1, 1, "give a reservation's memory back",
	 "End reservation ID now; its memory returns to the guests.", cmd_cancel},
	{"events", NULL, "[TOPIC...]", 0, 8, "follow balloond's events as they happen",
	 "Print one line per event until interrupted: the local time, the topic, the\n"
	 "domain and what changed, and why. TOPIC is target (targets written, pins),\n"
	 "state (balloon states), domain (domains appearing and going), pressure,\n"
	 "reservation or audit; without one, every topic. With --json, each event's\n"
	 "params object on its own line. If memctl reads too slowly, balloond drops\n"
	 "events and then says how many. Exits 3 when balloond goes away.\n"
	 "Example: memctl events target state",
	 cmd_events},
	{"audit", NULL, "[DOM]", 0, 1, "check the M2P/P2M of PV guests (exit 4 on findings)",
	 "Audit every PV guest's P2M (or DOM's only) against Xen's M2P and the owner\n"
	 "of each frame, wait for the result (up to --timeout) and report it: a table\n"
	 "of domains (DOMID NAME TYPE STATUS SCANNED FINDINGS), then per class of\n"
	 "finding its count and first examples (pfn, mfn and M2P entry in hex). A\n"
	 "finding counts only if it is still there when checked again a moment later\n"
	 "(audit_settle). HVM and PVH guests are not auditable: their P2M is inside\n"
	 "Xen. A finding is usually a guest bug or attack, not a hypervisor fault.\n"
	 "If an audit is running already, memctl waits for it and then starts its own.\n"
	 "--no-wait starts it and returns at once; --json prints {\"status\":\n"
	 "<audit.status>, \"findings\": <audit.findings>}. Exit status 4: confirmed\n"
	 "findings; 0: clean.",
	 cmd_audit},
	{"metrics", NULL, "", 0, 0, "host, domain and daemon metrics",
	 "Every metric balloond exports: host memory, each domain's sizes, type, mode\n"
	 "and state, and counters (decision rounds, target and maxmem writes, failed\n"
	 "actions, control connections, events sent and dropped), as a table.\n"
	 "--prometheus prints the Prometheus text exposition format (0.0.4) instead,\n"
	 "e.g. for node_exporter's textfile collector; --json the result verbatim.",
	 cmd_metrics},
	{"help", NULL, "[COMMAND]", 0, 1, "this help, or one command's",
	 "Without an argument, list the commands and options; with one, explain\n"
	 "that command (the same as 'memctl COMMAND --help').",
	 cmd_help},
};
#define N_COMMANDS (sizeof(commands) / sizeof(*commands))

static const struct cmd_entry *cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0 ||
		    (commands[i].alias && strcmp(commands[i].alias, name) == 0))
			return &commands[i];
	return NULL;
}

static void help_general(FILE *f)
{
	size_t i;

	fprintf(f, "usage: memctl [--socket PATH] [--json] [--timeout SECONDS] COMMAND [ARGS]\n"
		   "\n"
		   "Control balloond, the memory balloon manager for Xen hosts.\n"
		   "\n"
		   "Commands:\n");
	for (i = 0; i < N_COMMANDS; i++) {
		char syn[64];

		snprintf(syn, sizeof(syn), "%s%s%s%s%s", commands[i].name,
			 commands[i].args[0] ? " " : "", commands[i].args,
			 commands[i].alias ? ", " : "", commands[i].alias ? commands[i].alias : "");
		fprintf(f, "  %-22s %s\n", syn, commands[i].summary);
	}
	fprintf(f,
		"\n"
		"Options:\n"
		"  -s, --socket PATH      control socket (default: $" SOCKET_ENV ", else\n"
		"                         " DEFAULT_SOCKET ")\n"
		"  -j, --json             print balloond's result as JSON, for scripts\n"
		"  -t, --timeout SECONDS  wait at most this long for each reply (default 10,\n"
		"                         0 = no limit)\n"
		"  -W, --no-wait          reserve, audit: return at once, do not wait for the\n"
		"                         answer\n"
		"  -T, --ttl DURATION     reserve: hold the memory this long (1s to 24h)\n"
		"      --prometheus       metrics: the Prometheus text format\n"
		"  -h, --help             this help; after a command, that command's help\n"
		"  -V, --version          memctl's own version\n"
		"\n"
		"DOM is a domain id (all digits) or a name. SIZE has a binary unit: K, M, G, T.\n"
		"Exit status: 0 ok, 1 balloond reported an error, 2 usage error,\n"
		"3 balloond cannot be reached, 4 the audit found confirmed inconsistencies.\n"
		"See memctl(1).\n");
}

static void help_command(FILE *f, const struct cmd_entry *cmd)
{
	fprintf(f, "usage: memctl [options] %s%s%s\n", cmd->name, cmd->args[0] ? " " : "",
		cmd->args);
	if (cmd->alias)
		fprintf(f, "   or: memctl [options] %s%s%s\n", cmd->alias, cmd->args[0] ? " " : "",
			cmd->args);
	fprintf(f, "\n%s\n", cmd->help);
}

/* --timeout: seconds, possibly fractional ("2.5"), or a duration ("500ms").
 * 0 or -EINVAL. */
static int timeout_parse(const char *s, int *ret_ms)
{
	char *end;
	double v;
	uint64_t ms;

	errno = 0;
	v = strtod(s, &end);
	if (end != s && *end == '\0' && errno == 0 && isfinite(v) && v >= 0 && v <= MAX_TIMEOUT_S &&
	    (s[0] >= '0' && s[0] <= '9')) {
		*ret_ms = (int)(v * 1000 + 0.5);
		if (*ret_ms == 0 && v > 0)
			*ret_ms = 1;
		return 0;
	}
	if (duration_parse(s, &ms) == 0 && ms <= (uint64_t)(MAX_TIMEOUT_S * 1000)) {
		*ret_ms = (int)ms;
		return 0;
	}
	return -EINVAL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},  {"json", no_argument, NULL, 'j'},
		{"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},	   {"no-wait", no_argument, NULL, 'W'},
		{"ttl", required_argument, NULL, 'T'},
		{"prometheus", no_argument, NULL, 'P'},
		{NULL, 0, NULL, 0},
	};
	struct memctl mm = {.fd = -1, .next_id = 1, .timeout_ms = DEFAULT_TIMEOUT_MS,
			    .wait_s = 3600},
		      *m = &mm;
	const struct cmd_entry *cmd;
	const char *env;
	bool help = false;
	int c, r, nargs;

	/* Options may come before or after the command ("memctl show web1
	 * --json"); "--" ends them. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:jt:hVWT:", opts, NULL)) != -1) {
		switch (c) {
		case 'W': m->no_wait = true; break;
		case 'P': m->prometheus = true; break;
		case 'T': {
			uint64_t ms;

			if (duration_parse(optarg, &ms) < 0 || ms < 1000 || ms > 86400000)
				return usage_error(NULL, "--ttl: \"%s\" is not a duration from 1s "
							 "to 24h (e.g. 90s, 10m)",
						   optarg);
			m->ttl_s = (int64_t)((ms + 999) / 1000);
			break;
		}
		case 's': m->socket_path = optarg; break;
		case 'j': m->json = true; break;
		case 't':
			if (timeout_parse(optarg, &m->timeout_ms) < 0)
				return usage_error(NULL,
						   "--timeout: \"%s\" is not a number of seconds "
						   "(0 to %.0f)",
						   optarg, MAX_TIMEOUT_S);
			break;
		case 'h': help = true; break;
		case 'V':
			printf("memctl %s (balloond control protocol API %d)\n", PACKAGE_VERSION,
			       RPC_API_VERSION);
			return MEMCTL_EXIT_OK;
		case ':': return usage_error(NULL, "option %s needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				return usage_error(NULL, "unknown option -%c", optopt);
			return usage_error(NULL, "unknown option %s", argv[optind - 1]);
		}
	}

	if (optind >= argc) {
		if (help) {
			help_general(stdout);
			return MEMCTL_EXIT_OK;
		}
		memctl_warnx("no command given");
		fprintf(stderr, "usage: memctl [--socket PATH] [--json] [--timeout SECONDS] "
				"COMMAND [ARGS]\n"
				"Try 'memctl help' for the list of commands.\n");
		return MEMCTL_EXIT_USAGE;
	}
	cmd = cmd_find(argv[optind]);
	if (!cmd) {
		memctl_warnx("unknown command \"%s\"", argv[optind]);
		fprintf(stderr, "Try 'memctl help' for the list of commands.\n");
		return MEMCTL_EXIT_USAGE;
	}
	if (help) {
		help_command(stdout, cmd);
		return MEMCTL_EXIT_OK;
	}
	if (m->prometheus && strcmp(cmd->name, "metrics") != 0)
		return usage_error(cmd, "--prometheus applies to 'memctl metrics' only");
	nargs = argc - optind - 1;
	if (nargs < cmd->min_args || nargs > cmd->max_args)
		return usage_error(cmd, "%s: %s", cmd->name,
				   nargs < cmd->min_args ? "missing argument"
							 : "too many arguments");

	if (!m->socket_path) {
		env = getenv(SOCKET_ENV);
		m->socket_path = env && env[0] ? env : DEFAULT_SOCKET;
	}
	if (!m->socket_path[0] ||
	    strlen(m->socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return usage_error(NULL, "socket path \"%.40s%s\" is %s", m->socket_path,
				   strlen(m->socket_path) > 40 ? "..." : "",
				   m->socket_path[0] ? "too long" : "empty");

	r = cmd->exec(m, cmd, nargs, argv + optind + 1);

	if (m->fd >= 0)
		close(m->fd);
	free(m->buf);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		memctl_warnx("writing the output: %s", strerror(errno));
		if (r == MEMCTL_EXIT_OK)
			r = MEMCTL_EXIT_DAEMON;
	}
	return r;
}
