/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a settled host costs: k stuck guests (k = 0, 1, 4, 16) beside two
 * cooperative ones, run by `balloond --simulate` in virtual time, each
 * twice in the same run: as configured (balloond), and as the baseline
 * with the re-arm backoff off (uncooperative_retry_max = 0: every stuck
 * guest re-armed every uncooperative_timeout, as before). The window is
 * from WARMUP (every stuck guest uncooperative, the others settled) to
 * WARMUP + WINDOW, measured as the difference of two runs (until = WARMUP,
 * until = WARMUP + WINDOW), so only the settled host is counted. Prints,
 * per minute: engine wake-ups (decision rounds: each is a wake-up of the
 * daemon, its timer or a XenStore watch), memory/target writes, and all of
 * dom0's XenStore writes. The daemon's own periodic timers are not in the
 * simulation; they are listed from their schedule below the table. Not a
 * test: nothing here asserts anything about time.
 *
 * usage: bench-idle OUT.txt BALLOOND */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#define WARMUP_S 120
#define WINDOW_S 3600
#define OUT_MAX (16u << 20)

struct counts {
	int64_t steps, targets, writes;
};

static FILE *out_file;

/* printf to stdout and to the results file. */
static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void emit(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (out_file) {
		va_start(ap, fmt);
		vfprintf(out_file, fmt, ap);
		va_end(ap);
	}
}

/* A host of k stuck 2 GiB guests asked to give memory to two small
 * cooperative ones, until until_s; baseline turns the backoff off. */
static char *scenario_text(unsigned k, unsigned until_s, bool baseline)
{
	size_t cap = 512 + (size_t)k * 256, n;
	char *s = malloc(cap);
	unsigned i;

	if (!s)
		return NULL;
	n = (size_t)snprintf(s, cap,
			     "{\"host\": {\"memory\": \"%uG\", \"xen_reserved\": \"256M\", "
			     "\"dom0\": \"1G\"},\n \"config\": {%s},\n \"domains\": [\n",
			     2 * k + 4, baseline ? "\"uncooperative_retry_max\": \"0s\"" : "");
	for (i = 0; i < k; i++)
		n += (size_t)snprintf(s + n, cap - n,
				      "  {\"name\": \"stuck%u\", \"memory\": \"2G\", \"static_max\": "
				      "\"2G\", \"dynamic_min\": \"512M\", \"dynamic_max\": \"2G\", "
				      "\"balloon\": {\"behavior\": \"stuck\"}},\n",
				      i);
	snprintf(s + n, cap - n,
		 "  {\"name\": \"ok1\", \"memory\": \"512M\", \"static_max\": \"4G\", "
		 "\"dynamic_min\": \"512M\", \"dynamic_max\": \"4G\"},\n"
		 "  {\"name\": \"ok2\", \"memory\": \"512M\", \"static_max\": \"4G\", "
		 "\"dynamic_min\": \"512M\", \"dynamic_max\": \"4G\"}\n ],\n \"until\": %u\n}\n",
		 until_s);
	return s;
}

/* Run balloond --simulate on text; its counts in c. */
static int run_one(const char *balloond, const char *text, struct counts *c)
{
	char path[] = "/tmp/bench-idle-XXXXXX";
	int fd = mkstemp(path), pfd[2], status;
	size_t len = strlen(text), got = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	json_object *rep, *xs;
	pid_t pid;
	ssize_t n;

	if (fd < 0 || !buf || write(fd, text, len) != (ssize_t)len || pipe(pfd) < 0) {
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
		free(buf);
		return -errno;
	}
	close(fd);
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		unsetenv("BALLOOND_SIM_FIXED_PERIOD");
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
	waitpid(pid, &status, 0);
	unlink(path);
	buf[got] = '\0';
	rep = json_tokener_parse(buf);
	free(buf);
	if (!rep)
		return -EINVAL;
	c->steps = json_object_get_int64(json_object_object_get(rep, "steps"));
	xs = json_object_object_get(rep, "xenstore");
	c->targets = json_object_get_int64(json_object_object_get(xs, "target_writes"));
	c->writes = json_object_get_int64(json_object_object_get(xs, "dom0_writes"));
	json_object_put(rep);
	return 0;
}

/* The counts of the settled window for k stuck guests. */
static int window(const char *balloond, unsigned k, bool baseline, struct counts *w)
{
	char *a = scenario_text(k, WARMUP_S, baseline);
	char *b = scenario_text(k, WARMUP_S + WINDOW_S, baseline);
	struct counts ca, cb;
	int r = -ENOMEM;

	if (a && b) {
		r = run_one(balloond, a, &ca);
		if (r == 0)
			r = run_one(balloond, b, &cb);
	}
	free(a);
	free(b);
	if (r < 0)
		return r;
	w->steps = cb.steps - ca.steps;
	w->targets = cb.targets - ca.targets;
	w->writes = cb.writes - ca.writes;
	return 0;
}

static double per_min(int64_t n)
{
	return (double)n * 60.0 / WINDOW_S;
}

int main(int argc, char **argv)
{
	static const unsigned ks[] = {0, 1, 4, 16};
	const char *balloond = argc > 2 ? argv[2] : "daemon/balloond";
	size_t i;

	if (argc > 1 && strcmp(argv[1], "-") != 0)
		out_file = fopen(argv[1], "w");
	emit("settled host, %d s to %d s of virtual time; per minute; baseline = "
	     "uncooperative_retry_max 0 (a re-arm every uncooperative_timeout)\n",
	     WARMUP_S, WARMUP_S + WINDOW_S);
	emit("%6s %10s %10s %10s %10s %10s %10s %10s\n", "stuck", "wake_base", "wake_new",
	     "wake_x", "tgt_base", "tgt_new", "xsw_base", "xsw_new");
	for (i = 0; i < sizeof(ks) / sizeof(*ks); i++) {
		struct counts b, n;

		if (window(balloond, ks[i], true, &b) < 0 || window(balloond, ks[i], false, &n) < 0) {
			fprintf(stderr, "bench-idle: %s --simulate failed\n", balloond);
			return 1;
		}
		emit("%6u %10.2f %10.2f %10.1f %10.2f %10.2f %10.2f %10.2f\n", ks[i],
		     per_min(b.steps), per_min(n.steps),
		     n.steps ? (double)b.steps / (double)n.steps : 0.0, per_min(b.targets),
		     per_min(n.targets), per_min(b.writes), per_min(n.writes));
	}
	emit("daemon timers (from their schedule, not simulated), per minute:\n"
	     "  baseline: XenStore keepalive 2 (every 30 s) + periodic audit 0.1 (every 10 min,"
	     " a full audit each time) + systemd watchdog 4 (WatchdogSec=30s / 2)\n"
	     "  balloond: keepalive 0 (probed in the watchdog's wake-up) + periodic audit 0.1"
	     " (a full audit at most every 6th when nothing changed: 0.017)"
	     " + systemd watchdog 4\n");
	if (out_file)
		fclose(out_file);
	return 0;
}
