/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Convergence in virtual time: every scenario of tests/scenarios/ and
 * generated hosts of 10, 100 and 1,000 cooperative guests (sim/scengen.c,
 * SCENGEN_STANDARD), each run by `balloond --simulate` twice in the same
 * run: as configured (balloond), and as a baseline with squeezed's fixed
 * timing: deaf to XenStore watches, a decision round every 10 s
 * (BALLOOND_SIM_FIXED_PERIOD=10) and every 1 s while a balloon moves
 * (poll_interval 1s, squeezed's delay between iterations), no deadband and
 * no cap per step (deadband 0, max_step 0). The policy is balloond's in
 * both: what differs is timing and hysteresis, not the decisions; the
 * scenario's other settings are kept. Balloond increases in parts as freed
 * memory shows up (not configurable), so the baseline does too. Prints a
 * table with the ratios balloond/baseline and writes it to argv[1]. Not a
 * test: no timing is asserted anywhere.
 *
 * usage: bench-converge OUT.txt BALLOOND SCENARIO_DIR */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "scengen.h"

#define GIB (UINT64_C(1024) * 1024)
#define MAX_SCENARIOS 64
#define OUT_MAX (64u << 20)

struct result {
	bool ran;
	double converged_s, virtual_s, wall_ms;
	int64_t targets, maxmems, steps, violations;
};

struct row {
	char name[48];
	char *text; /* scenario JSON */
	unsigned guests;
	double last_change_s; /* the last event or demand step of the scenario */
	struct result run[2]; /* balloond, baseline */
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

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0 ||
	    !(buf = malloc((size_t)n + 1))) {
		fclose(f);
		return NULL;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The scenario text with the baseline's settings in its "config"; caller
 * frees. */
static char *baseline_text(const char *text)
{
	json_object *root = json_tokener_parse(text), *conf;
	char *s;

	if (!root)
		return NULL;
	if (!json_object_object_get_ex(root, "config", &conf)) {
		conf = json_object_new_object();
		json_object_object_add(root, "config", conf);
	}
	json_object_object_add(conf, "poll_interval", json_object_new_string("1s"));
	json_object_object_add(conf, "deadband", json_object_new_string("0M"));
	json_object_object_add(conf, "max_step", json_object_new_string("0M"));
	/* the comparison is about time and writes, not about what a scenario expects */
	json_object_object_del(root, "expect");
	s = strdup(json_object_to_json_string(root));
	json_object_put(root);
	return s;
}

/* Run balloond --simulate on text; fill r from its report. */
static int run_one(const char *balloond, const char *text, bool fixed, struct result *r)
{
	char path[] = "/tmp/bench-converge-XXXXXX";
	int fd = mkstemp(path), pfd[2], status;
	size_t len = strlen(text), got = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	json_object *rep, *xs;
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
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		if (fixed)
			setenv("BALLOOND_SIM_FIXED_PERIOD", "10", 1);
		else
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
	r->ran = true;
	r->converged_s = json_object_get_double(json_object_object_get(rep, "settled_at"));
	r->virtual_s = json_object_get_double(json_object_object_get(rep, "virtual_seconds"));
	r->wall_ms = json_object_get_double(json_object_object_get(rep, "wall_ms"));
	r->steps = json_object_get_int64(json_object_object_get(rep, "steps"));
	r->violations = json_object_get_int64(json_object_object_get(rep, "violations"));
	xs = json_object_object_get(rep, "xenstore");
	r->targets = json_object_get_int64(json_object_object_get(xs, "target_writes"));
	r->maxmems = json_object_get_int64(json_object_object_get(xs, "maxmem_sets"));
	json_object_put(rep);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files of dir ending in .json, sorted; returns how many. */
static size_t list_scenarios(const char *dir, char **names, size_t max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		size_t l = strlen(e->d_name);

		if (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0)
			names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	return n;
}

static unsigned count_guests(const char *text)
{
	json_object *root = json_tokener_parse(text), *doms;
	unsigned n = 0;

	if (root && json_object_object_get_ex(root, "domains", &doms))
		n = (unsigned)json_object_array_length(doms);
	json_object_put(root);
	return n;
}

/* The latest demand step of a domain object, or 0. */
static double last_demand(json_object *dom)
{
	json_object *dem;
	double t = 0;
	size_t i;

	if (!json_object_object_get_ex(dom, "demand", &dem))
		return 0;
	for (i = 0; i < json_object_array_length(dem); i++) {
		double at = json_object_get_double(
			json_object_object_get(json_object_array_get_idx(dem, i), "at"));

		t = at > t ? at : t;
	}
	return t;
}

/* When the scenario itself last changed something: its last event or
 * demand step, in seconds. */
static double last_change(const char *text)
{
	json_object *root = json_tokener_parse(text), *a, *d;
	double t = 0, x;
	size_t i;

	if (root && json_object_object_get_ex(root, "domains", &a))
		for (i = 0; i < json_object_array_length(a); i++)
			if ((x = last_demand(json_object_array_get_idx(a, i))) > t)
				t = x;
	if (root && json_object_object_get_ex(root, "events", &a))
		for (i = 0; i < json_object_array_length(a); i++) {
			json_object *e = json_object_array_get_idx(a, i);

			if ((x = json_object_get_double(json_object_object_get(e, "at"))) > t)
				t = x;
			if (json_object_object_get_ex(e, "domain", &d) && (x = last_demand(d)) > t)
				t = x;
		}
	json_object_put(root);
	return t;
}

/* balloond/baseline, or "-" when the baseline is 0. */
static void ratio(char *buf, size_t len, double a, double b)
{
	if (b > 0)
		snprintf(buf, len, "%.2fx", a / b);
	else
		snprintf(buf, len, "%s", a > 0 ? "inf" : "=");
}

int main(int argc, char **argv)
{
	static const struct {
		unsigned guests;
		uint64_t host_gib;
	} sizes[] = {{10, 16}, {100, 64}, {1000, 256}};
	struct row rows[MAX_SCENARIOS];
	char *names[MAX_SCENARIOS];
	size_t nrows = 0, nfiles, i, k;
	double log_conv = 0, log_after = 0, log_writes = 0;
	unsigned nconv = 0, nafter = 0, nwrites = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: bench-converge OUT.txt BALLOOND SCENARIO_DIR\n");
		return 2;
	}
	out_file = fopen(argv[1], "w");
	if (!out_file)
		fprintf(stderr, "bench-converge: cannot write %s; table on stdout only\n", argv[1]);
	nfiles = list_scenarios(argv[3], names, MAX_SCENARIOS - 3);
	for (i = 0; i < nfiles; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", argv[3], names[i]);
		rows[nrows].text = read_file(path);
		if (!rows[nrows].text)
			continue;
		snprintf(rows[nrows].name, sizeof(rows[nrows].name), "%.*s",
			 (int)strlen(names[i]) - 5, names[i]);
		nrows++;
	}
	for (i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		struct scengen_opts o;

		scengen_opts_init(&o);
		o.kind = SCENGEN_STANDARD;
		o.min_guests = o.max_guests = sizes[i].guests;
		o.min_host_kib = o.max_host_kib = sizes[i].host_gib * GIB;
		if (scengen_generate(1, &o, &rows[nrows].text, NULL) < 0)
			continue;
		snprintf(rows[nrows].name, sizeof(rows[nrows].name), "generated-%u",
			 sizes[i].guests);
		nrows++;
	}

	emit("Convergence in virtual time: balloond as configured vs a baseline with squeezed's\n"
	     "fixed timing (no watches, a round every 10 s and every 1 s while balloons move,\n"
	     "deadband 0, max_step 0); the same engine decides in both.\n"
	     "conv s = virtual seconds until the host came to rest: the last target or maxmem\n"
	     "write, or change of host free memory (balloon batches), whichever is later;\n"
	     "after = conv s minus the scenario's last event or demand step (0 if before it);\n"
	     "targets/maxmem = memory/target writes and setmaxmem calls; vs/s = virtual seconds "
	     "per\n"
	     "wall second. Ratios are balloond/baseline (below 1 = balloond better).\n\n");
	emit("%-16s %6s %-8s %8s %7s %7s %7s %7s %8s %7s %4s\n", "scenario", "guests", "config",
	     "conv s", "after", "targets", "maxmem", "steps", "wall ms", "vs/s", "viol");
	for (i = 0; i < nrows; i++) {
		struct row *w = &rows[i];
		char *base = baseline_text(w->text);
		char rc[16], ra[16], rt[16];
		double after[2];

		w->guests = count_guests(w->text);
		w->last_change_s = last_change(w->text);
		if (run_one(argv[2], w->text, false, &w->run[0]) < 0 || !base ||
		    run_one(argv[2], base, true, &w->run[1]) < 0) {
			emit("%-16s could not run (see stderr)\n", w->name);
			free(base);
			continue;
		}
		free(base);
		for (k = 0; k < 2; k++) {
			const struct result *r = &w->run[k];

			after[k] = r->converged_s > w->last_change_s
					   ? r->converged_s - w->last_change_s
					   : 0;
			emit("%-16s %6u %-8s %8.2f %7.2f %7" PRId64 " %7" PRId64 " %7" PRId64
			     " %8.0f %7.0f %4" PRId64 "\n",
			     k ? "" : w->name, w->guests, k ? "baseline" : "balloond",
			     r->converged_s, after[k], r->targets, r->maxmems, r->steps, r->wall_ms,
			     r->wall_ms > 0 ? r->virtual_s * 1000.0 / r->wall_ms : 0.0,
			     r->violations);
		}
		ratio(rc, sizeof(rc), w->run[0].converged_s, w->run[1].converged_s);
		ratio(ra, sizeof(ra), after[0], after[1]);
		ratio(rt, sizeof(rt), (double)w->run[0].targets, (double)w->run[1].targets);
		emit("%-16s %6s %-8s %8s %7s %7s\n", "", "", "ratio", rc, ra, rt);
		if (w->run[0].converged_s > 0 && w->run[1].converged_s > 0) {
			log_conv += log(w->run[0].converged_s / w->run[1].converged_s);
			nconv++;
		}
		if (after[0] > 0 && after[1] > 0) {
			log_after += log(after[0] / after[1]);
			nafter++;
		}
		if (w->run[0].targets > 0 && w->run[1].targets > 0) {
			log_writes += log((double)w->run[0].targets / (double)w->run[1].targets);
			nwrites++;
		}
		fflush(stdout);
	}
	emit("\ngeometric means balloond/baseline: conv s %.2fx (%u scenarios), after %.2fx (%u), "
	     "target writes %.2fx (%u)\n",
	     nconv ? exp(log_conv / nconv) : 0.0, nconv, nafter ? exp(log_after / nafter) : 0.0,
	     nafter, nwrites ? exp(log_writes / nwrites) : 0.0, nwrites);
	for (i = 0; i < nrows; i++)
		free(rows[i].text);
	for (i = 0; i < nfiles; i++)
		free(names[i]);
	if (out_file)
		fclose(out_file);
	return 0;
}
