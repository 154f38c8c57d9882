/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control plane at 10 and 1,000 domains: balloond --backend sim on a
 * generated host (sim/scengen.c, SCENGEN_STANDARD: 10 guests on 16 GiB,
 * 1,000 on 256 GiB), and from a client over the socket, one call at a
 * time: domain.list, hello (the cheapest method: the baseline), and
 * hello while audits run back to back (audit.run: a stall of the event
 * loop shows in its tail); then `memctl status` as a process (fork, exec,
 * connect, host.status + domain.list, render), next to `memctl --version`
 * (fork and exec alone). Each row gives p50, p99 and max in ms, wall
 * clock, and the daemon's CPU time per call (utime + stime from /proc,
 * which the machine's load does not inflate). The first calls are made
 * while the guests still converge (demand shifts at 0, 13.5 and 26.5 s),
 * the "settled" ones after 30 s. Prints a table and writes it to argv[1].
 * Not a test: nothing here asserts a time.
 *
 * usage: bench-control OUT.txt BALLOOND MEMCTL [CALLS] */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "scengen.h"

#define GIB (UINT64_C(1024) * 1024)
#define REPLY_MAX (64u << 20)

static FILE *out_file;

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void emit(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	if (out_file) {
		va_start(ap, fmt);
		vfprintf(out_file, fmt, ap);
		va_end(ap);
	}
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The daemon's CPU time so far (utime + stime), in ms. */
static double cpu_ms(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

struct daemon {
	pid_t pid;
	char dir[64], sock[128];
};

static int connect_to(const char *sock)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Read up to a reply's newline; its length or -1. */
static ssize_t read_line(int fd, char *buf, size_t cap)
{
	size_t got = 0;

	for (;;) {
		ssize_t n = read(fd, buf + got, cap - got - 1);

		if (n <= 0)
			return -1;
		got += (size_t)n;
		if (buf[got - 1] == '\n')
			break;
		if (got + 1 >= cap)
			return -1;
	}
	buf[got] = '\0';
	return (ssize_t)got;
}

/* Send one request line and read its reply. */
static ssize_t call(int fd, const char *line, char *buf, size_t cap)
{
	size_t len = strlen(line);

	if (write(fd, line, len) != (ssize_t)len)
		return -1;
	return read_line(fd, buf, cap);
}

static int daemon_start(struct daemon *d, const char *balloond, const char *scenario_text)
{
	char conf[160], scn[160];
	FILE *f;
	int i;

	snprintf(d->dir, sizeof(d->dir), "/tmp/bench-control-XXXXXX");
	if (!mkdtemp(d->dir))
		return -errno;
	snprintf(conf, sizeof(conf), "%s/balloond.conf", d->dir);
	snprintf(scn, sizeof(scn), "%s/host.json", d->dir);
	snprintf(d->sock, sizeof(d->sock), "%s/control.sock", d->dir);
	f = fopen(conf, "w");
	if (!f)
		return -errno;
	fputs("[balloond]\n", f);
	fclose(f);
	f = fopen(scn, "w");
	if (!f)
		return -errno;
	fputs(scenario_text, f);
	fclose(f);
	d->pid = fork();
	if (d->pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl(balloond, balloond, "--foreground", "--config", conf, "--socket", d->sock,
		      "--backend", "sim", "--scenario", scn, "--log-level", "err", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 600; i++) {
		int fd = connect_to(d->sock);
		char buf[4096];

		if (fd >= 0) {
			ssize_t n = call(fd, "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"id\":1}\n", buf,
					 sizeof(buf));

			close(fd);
			if (n > 0)
				return 0;
		}
		usleep(50000);
	}
	return -ETIMEDOUT;
}

static void daemon_stop(struct daemon *d)
{
	char path[160];

	kill(d->pid, SIGTERM);
	waitpid(d->pid, NULL, 0);
	snprintf(path, sizeof(path), "%s/balloond.conf", d->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/host.json", d->dir);
	unlink(path);
	rmdir(d->dir);
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stats {
	double p50, p99, max, cpu_per_call, client_cpu;
	size_t n;
};

static void stats_of(double *lat, size_t n, double cpu, struct stats *s)
{
	qsort(lat, n, sizeof(*lat), dbl_cmp);
	s->n = n;
	s->p50 = n ? lat[(n - 1) / 2] : 0;
	s->p99 = n ? lat[(size_t)((double)(n - 1) * 0.99 + 0.5)] : 0;
	s->max = n ? lat[n - 1] : 0;
	s->cpu_per_call = n ? cpu / (double)n : 0;
	s->client_cpu = -1;
}

static void row(const char *what, unsigned doms, const char *phase, const struct stats *s)
{
	char client[16] = "-";

	if (s->client_cpu >= 0)
		snprintf(client, sizeof(client), "%.2f", s->client_cpu);
	emit("%-28s %6u %-10s %6zu %8.2f %8.2f %8.2f %9.3f %9s\n", what, doms, phase, s->n,
	     s->p50, s->p99, s->max, s->cpu_per_call, client);
}

/* n calls of line, one at a time on one connection. */
static int time_calls(const struct daemon *d, const char *line, size_t n, struct stats *s)
{
	double *lat = calloc(n, sizeof(*lat)), c0;
	char *buf = malloc(REPLY_MAX);
	int fd = connect_to(d->sock);
	size_t i;

	if (!lat || !buf || fd < 0) {
		free(lat);
		free(buf);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	c0 = cpu_ms(d->pid);
	for (i = 0; i < n; i++) {
		double t0 = now_ms();

		if (call(fd, line, buf, REPLY_MAX) < 0)
			break;
		lat[i] = now_ms() - t0;
	}
	stats_of(lat, i, cpu_ms(d->pid) - c0, s);
	close(fd);
	free(lat);
	free(buf);
	return i == n ? 0 : -1;
}

/* hello, one at a time, while another connection keeps audits running
 * (audit.run every 10 hellos, refused while one runs); n hellos. Then the
 * last audit's loop_time (audit.status), in ms. */
static int time_during_audits(const struct daemon *d, size_t n, struct stats *s,
			      unsigned *audits, double *loop_ms)
{
	static const char status[] = "{\"jsonrpc\":\"2.0\",\"method\":\"audit.status\",\"id\":2}\n";
	static const char run[] = "{\"jsonrpc\":\"2.0\",\"method\":\"audit.run\",\"id\":3}\n";
	static const char hello[] = "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"id\":1}\n";
	double *lat = calloc(n, sizeof(*lat)), c0;
	char *buf = malloc(REPLY_MAX);
	int fd = connect_to(d->sock), afd = connect_to(d->sock);
	size_t i;

	*audits = 0;
	if (!lat || !buf || fd < 0 || afd < 0) {
		free(lat);
		free(buf);
		if (fd >= 0)
			close(fd);
		if (afd >= 0)
			close(afd);
		return -1;
	}
	c0 = cpu_ms(d->pid);
	for (i = 0; i < n; i++) {
		double t0;

		bool asked = i % 10 == 0;

		/* audit.run first, its reply read after the hello: the hello
		 * waits for whatever starting the audit does on the loop
		 * (refused while one runs, which is cheap) */
		if (asked && write(afd, run, strlen(run)) != (ssize_t)strlen(run))
			break;
		t0 = now_ms();
		if (call(fd, hello, buf, REPLY_MAX) < 0)
			break;
		lat[i] = now_ms() - t0;
		if (asked && read_line(afd, buf, REPLY_MAX) > 0 && !strstr(buf, "\"error\""))
			(*audits)++;
		usleep(5000);
	}
	stats_of(lat, i, cpu_ms(d->pid) - c0, s);
	*loop_ms = -1;
	if (call(afd, status, buf, REPLY_MAX) > 0) {
		const char *p = strstr(buf, "\"loop_time\":");

		if (p)
			*loop_ms = strtod(p + strlen("\"loop_time\":"), NULL) * 1000.0;
	}
	close(fd);
	close(afd);
	free(lat);
	free(buf);
	return i == n ? 0 : -1;
}

/* n runs of memctl ARGS... as a process, its output thrown away. */
static int time_process(const struct daemon *d, const char *memctl, bool version, size_t n,
			struct stats *s)
{
	double *lat = calloc(n, sizeof(*lat)), c0, child = 0;
	size_t i;

	if (!lat)
		return -1;
	c0 = cpu_ms(d->pid);
	for (i = 0; i < n; i++) {
		double t0 = now_ms();
		struct rusage ru;
		int status;
		pid_t pid = fork();

		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 1);
			if (version)
				execl(memctl, memctl, "--version", (char *)NULL);
			else
				execl(memctl, memctl, "--socket", d->sock, "status", (char *)NULL);
			_exit(127);
		}
		if (pid < 0 || wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			break;
		lat[i] = now_ms() - t0;
		child += (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
			 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	}
	stats_of(lat, i, cpu_ms(d->pid) - c0, s);
	s->client_cpu = i ? child / (double)i : 0;
	free(lat);
	return i == n ? 0 : -1;
}

static const char list_line[] = "{\"jsonrpc\":\"2.0\",\"method\":\"domain.list\",\"id\":1}\n";
static const char hello_line[] = "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"id\":1}\n";

/* The rows of one phase. */
static void phase(const struct daemon *d, const char *memctl, unsigned doms, const char *name,
		  size_t calls)
{
	struct stats s;

	if (time_calls(d, list_line, calls, &s) == 0)
		row("domain.list", doms, name, &s);
	else
		emit("domain.list at %u domains: failed\n", doms);
	if (time_calls(d, hello_line, calls, &s) == 0)
		row("hello (baseline)", doms, name, &s);
	if (time_process(d, memctl, false, calls / 4, &s) == 0)
		row("memctl status (process)", doms, name, &s);
	else
		emit("memctl status at %u domains: failed\n", doms);
	if (time_process(d, memctl, true, calls / 4, &s) == 0)
		row("memctl --version (baseline)", doms, name, &s);
}

int main(int argc, char **argv)
{
	static const struct {
		unsigned guests;
		uint64_t host_gib;
	} sizes[] = {{10, 16}, {1000, 256}};
	size_t calls = argc > 4 ? strtoul(argv[4], NULL, 10) : 400, i;

	if (argc < 4) {
		fprintf(stderr, "usage: bench-control OUT.txt BALLOOND MEMCTL [CALLS]\n");
		return 2;
	}
	if (calls < 8)
		calls = 8;
	out_file = fopen(argv[1], "w");
	if (!out_file)
		fprintf(stderr, "bench-control: cannot write %s; table on stdout only\n", argv[1]);
	emit("Control plane: balloond --backend sim on generated hosts; calls one at a time.\n"
	     "p50/p99/max: wall-clock latency in ms (this machine's load included); cpu/call:\n"
	     "the daemon's CPU ms per call (utime + stime); memctl: the process's own CPU ms\n"
	     "(user + sys, from wait4). Baselines in the same run: hello\n"
	     "(the cheapest method) and memctl --version (fork + exec, no socket).\n"
	     "converging: the first calls (guests still moving); settled: after 30 s.\n\n");
	emit("%-28s %6s %-10s %6s %8s %8s %8s %9s %9s\n", "call", "doms", "phase", "n", "p50", "p99",
	     "max", "cpu/call", "memctl");
	for (i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		struct scengen_opts o;
		struct daemon d;
		struct stats s;
		unsigned audits;
		char *text;
		double t0, loop_ms;

		scengen_opts_init(&o);
		o.kind = SCENGEN_STANDARD;
		o.min_guests = o.max_guests = sizes[i].guests;
		o.min_host_kib = o.max_host_kib = sizes[i].host_gib * GIB;
		if (scengen_generate(1, &o, &text, NULL) < 0)
			continue;
		if (daemon_start(&d, argv[2], text) < 0) {
			emit("balloond with %u guests did not start\n", sizes[i].guests);
			free(text);
			continue;
		}
		free(text);
		t0 = now_ms();
		phase(&d, argv[3], sizes[i].guests + 1, "converging", calls);
		while (now_ms() - t0 < 30000)
			usleep(100000);
		phase(&d, argv[3], sizes[i].guests + 1, "settled", calls);
		if (time_during_audits(&d, 2 * calls, &s, &audits, &loop_ms) == 0) {
			char what[48];

			snprintf(what, sizeof(what), "hello during %u audits", audits);
			row(what, sizes[i].guests + 1, "settled", &s);
			emit("%-28s %6u %-10s %6s %8.2f   (the last audit's loop_time, ms)\n",
			     "audit snapshot on the loop", sizes[i].guests + 1, "settled", "1",
			     loop_ms);
		}
		daemon_stop(&d);
	}
	if (out_file)
		fclose(out_file);
	return 0;
}
