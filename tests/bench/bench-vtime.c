/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Virtual time at scale: `balloond --simulate` on generated hosts
 * (sim/scengen.c, SCENGEN_STANDARD: cooperative guests, demand shifting at
 * 0, 13.5 and 26.5 s) run for 180 virtual seconds: 10 guests on 16 GiB
 * (the baseline, measured in the same run), 100 on 64 GiB and 1,000 on
 * 256 GiB. For each: virtual seconds, wall seconds, the ratio virtual/wall
 * ("x real time"), the process's user and system CPU seconds, the ratio
 * virtual/CPU (what the machine's load does not change), and its maximum
 * RSS (wait4). Every step checks every invariant, as always. Prints a
 * table and writes it to argv[1]. Not a test: nothing here asserts a time.
 *
 * usage: bench-vtime OUT.txt BALLOOND */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "scengen.h"

#define GIB (UINT64_C(1024) * 1024)
#define UNTIL_S 180
#define OUT_MAX (64u << 20)

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

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct result {
	double virtual_s, wall_s, user_s, sys_s;
	long max_rss_kib;
	int64_t steps, violations;
	bool ok;
};

/* The scenario text run until UNTIL_S; caller frees. */
static char *with_until(const char *text)
{
	json_object *root = json_tokener_parse(text);
	char *s;

	if (!root)
		return NULL;
	json_object_object_add(root, "until", json_object_new_int(UNTIL_S));
	s = strdup(json_object_to_json_string(root));
	json_object_put(root);
	return s;
}

/* Run balloond --simulate on text, timing it and reading its report. */
static int run_one(const char *balloond, const char *text, struct result *r)
{
	char path[] = "/tmp/bench-vtime-XXXXXX";
	int fd = mkstemp(path), pfd[2], status;
	size_t len = strlen(text), got = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	struct rusage ru;
	json_object *rep;
	double t0;
	pid_t pid;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	if (fd < 0 || !buf || write(fd, text, len) != (ssize_t)len || pipe(pfd) < 0) {
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		free(buf);
		return -errno;
	}
	close(fd);
	t0 = now_s();
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execl(balloond, balloond, "--simulate", path, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], buf + got, cap - got - 1)) > 0) {
		got += (size_t)n;
		if (got + 1 == cap && cap < OUT_MAX) {
			char *b = realloc(buf, cap * 2);

			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
	}
	close(pfd[0]);
	if (wait4(pid, &status, 0, &ru) < 0) {
		free(buf);
		unlink(path);
		return -errno;
	}
	r->wall_s = now_s() - t0;
	r->user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	r->sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	r->max_rss_kib = ru.ru_maxrss;
	unlink(path);
	buf[got] = '\0';
	rep = json_tokener_parse(buf);
	free(buf);
	if (!rep)
		return -EINVAL;
	r->virtual_s = json_object_get_double(json_object_object_get(rep, "virtual_seconds"));
	r->steps = json_object_get_int64(json_object_object_get(rep, "steps"));
	r->violations = json_object_get_int64(json_object_object_get(rep, "violations"));
	r->ok = json_object_get_boolean(json_object_object_get(rep, "ok"));
	json_object_put(rep);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		unsigned guests;
		uint64_t host_gib;
	} sizes[] = {{10, 16}, {100, 64}, {1000, 256}};
	double base_cpu_ratio = 0;
	size_t i;

	if (argc != 3) {
		fprintf(stderr, "usage: bench-vtime OUT.txt BALLOOND\n");
		return 2;
	}
	out_file = fopen(argv[1], "w");
	if (!out_file)
		fprintf(stderr, "bench-vtime: cannot write %s; table on stdout only\n", argv[1]);
	emit("Virtual time: balloond --simulate, %d virtual s, every invariant checked at every\n"
	     "step. x real = virtual s / wall s; x cpu = virtual s / (user + sys) s, which the\n"
	     "machine's load does not change; vs 10 = x cpu against the 10-guest host of the\n"
	     "same run; RSS = maximum resident set (wait4).\n\n",
	     UNTIL_S);
	emit("%-7s %5s %9s %8s %9s %7s %7s %9s %7s %9s %6s %4s\n", "guests", "GiB", "virtual s",
	     "wall s", "x real", "user s", "sys s", "x cpu", "vs 10", "RSS MiB", "steps", "ok");
	for (i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		struct scengen_opts o;
		struct result r;
		char *text, *run;
		double cpu, cpu_ratio;

		scengen_opts_init(&o);
		o.kind = SCENGEN_STANDARD;
		o.min_guests = o.max_guests = sizes[i].guests;
		o.min_host_kib = o.max_host_kib = sizes[i].host_gib * GIB;
		if (scengen_generate(1, &o, &text, NULL) < 0)
			continue;
		run = with_until(text);
		free(text);
		if (!run || run_one(argv[2], run, &r) < 0) {
			emit("%-7u could not run (see stderr)\n", sizes[i].guests);
			free(run);
			continue;
		}
		free(run);
		cpu = r.user_s + r.sys_s;
		cpu_ratio = cpu > 0 ? r.virtual_s / cpu : 0;
		if (i == 0)
			base_cpu_ratio = cpu_ratio;
		emit("%-7u %5" PRIu64 " %9.0f %8.2f %9.1f %7.2f %7.2f %9.1f %6.3fx %9.0f %6" PRId64
		     " %4s\n",
		     sizes[i].guests, sizes[i].host_gib, r.virtual_s, r.wall_s,
		     r.wall_s > 0 ? r.virtual_s / r.wall_s : 0, r.user_s, r.sys_s, cpu_ratio,
		     base_cpu_ratio > 0 ? cpu_ratio / base_cpu_ratio : 0,
		     (double)r.max_rss_kib / 1024.0, r.steps, r.ok && !r.violations ? "yes" : "NO");
	}
	if (out_file)
		fclose(out_file);
	return 0;
}
