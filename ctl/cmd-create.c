/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memctl create CFG [xl create options]: what the domain of an xl config
 * needs is reserved for its name, `xl create` builds it, and the domain takes
 * the reservation when balloond sees it; an xl failure cancels it. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client.h"
#include "cmd.h"
#include "render.h"
#include "xlcfg.h"

#define XL_ENV "MEMCTL_XL"
/* After xl create returns: how long the new domain has to take its
 * reservation (balloond sees it on XenStore's @introduceDomain at once). */
#define TAKE_WAIT_MS 60000

/* The state of a reservation view, "" when it has none. */
static const char *resv_state(json_object *o)
{
	json_object *v;

	return json_object_object_get_ex(o, "state", &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : "";
}

/* Give a reservation back (quietly: it may have ended meanwhile). */
static void resv_cancel(struct memctl *m, int64_t id)
{
	json_object *params = json_object_new_object(), *reply = NULL, *result = NULL;

	json_object_object_add(params, "id", json_object_new_int64(id));
	if (ctl_call(m, "reservation.cancel", params, true, &reply, &result) == MEMCTL_EXIT_OK)
		json_object_put(reply);
}

/* Run xl create CFG ARGS... with our stdio (its output is the operator's);
 * SIGINT and SIGQUIT reach xl, not us, so a ^C still ends in the cleanup.
 * Returns xl's exit status, 128+N for a signal, 127 when it cannot run. */
static int xl_run(const char *xl, const char *cfg, int argc, char **argv)
{
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
	char **av = calloc((size_t)argc + 4, sizeof(*av));
	int status, i;
	pid_t pid;

	if (!av)
		return 127;
	av[0] = (char *)xl;
	av[1] = "create";
	av[2] = (char *)cfg;
	for (i = 0; i < argc; i++)
		av[3 + i] = argv[i];
	fflush(stdout);
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	pid = fork();
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		execvp(xl, av);
		fprintf(stderr, "memctl: cannot run %s: %s\n", xl, strerror(errno));
		_exit(127);
	}
	free(av);
	status = -1;
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	if (pid < 0 || status == -1)
		return 127;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The config's key=value words (overrides xl create also takes). */
static int overrides(int argc, char **argv, char ***ret)
{
	char **v = calloc((size_t)argc + 1, sizeof(*v));
	int i, n = 0;

	if (!v)
		return -1;
	for (i = 0; i < argc; i++)
		if (argv[i][0] != '-' && strchr(argv[i], '='))
			v[n++] = argv[i];
	*ret = v;
	return n;
}

/* Reserve what nd needs for its name and wait for the answer; on anything
 * but a grant say why and that xl was not run. */
static int create_reserve(struct memctl *m, const struct xl_need *nd, int64_t *id,
			  json_object **cur)
{
	json_object *params = json_object_new_object();
	char a[32];
	int r;

	json_object_object_add(params, "size", json_object_new_int64((int64_t)nd->need_kib));
	json_object_object_add(params, "for", json_object_new_string(nd->name));
	if (m->ttl_s)
		json_object_object_add(params, "ttl", json_object_new_int64(m->ttl_s));
	r = resv_ask(m, params, id, cur);
	if (r != MEMCTL_EXIT_OK) {
		memctl_warnx("create %s: balloond reserved nothing for it (%s needed); xl create "
			     "not run",
			     nd->name, fmt_kib((int64_t)nd->need_kib, a, sizeof(a)));
		return r;
	}
	if (strcmp(resv_state(*cur), "granted") == 0)
		return MEMCTL_EXIT_OK;
	resv_print(*cur);
	if (strcmp(resv_state(*cur), "pending") == 0)
		resv_cancel(m, *id);
	memctl_warnx("create %s: the host could not free %s for it; xl create not run", nd->name,
		     fmt_kib((int64_t)nd->need_kib, a, sizeof(a)));
	json_object_put(*cur);
	return MEMCTL_EXIT_DAEMON;
}

/* memctl create [--xl PATH] CFG [xl create options and key=value...] */
static int cmd_create(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
{
	const char *xl = getenv(XL_ENV), *cfg;
	struct xl_need nd;
	json_object *cur;
	char err[256], a[32], b[32], c[32], **extra = NULL;
	int64_t id, deadline;
	int i = 0, n, r, rc;

	if (!xl || !xl[0])
		xl = "xl";
	m->no_wait = false; /* xl must not run before the grant */
	if (argc && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
		help_command(stdout, cmd);
		return MEMCTL_EXIT_OK;
	}
	if (i < argc && strncmp(argv[i], "--xl=", 5) == 0)
		xl = argv[i++] + 5;
	else if (i + 1 < argc && strcmp(argv[i], "--xl") == 0) {
		xl = argv[i + 1];
		i += 2;
	}
	if (i >= argc || argv[i][0] == '-' || !xl[0])
		return usage_error(cmd,
				   "%s: give the xl config file first (then xl create's "
				   "options)",
				   cmd->name);
	cfg = argv[i++];
	n = overrides(argc - i, argv + i, &extra);
	if (n < 0)
		return MEMCTL_EXIT_DAEMON;
	r = xl_need_memory(cfg, extra, n, &nd, err, sizeof(err));
	free(extra);
	if (r < 0) {
		memctl_warnx("create: %s", err);
		return r == -ENOTSUP ? MEMCTL_EXIT_DAEMON : MEMCTL_EXIT_USAGE;
	}
	if (!m->json)
		printf("%s: %s, memory %s, maxmem %s: needs %s free (%s)\n", nd.name, nd.type_name,
		       fmt_kib((int64_t)nd.target_kib, a, sizeof(a)),
		       fmt_kib((int64_t)nd.max_kib, b, sizeof(b)),
		       fmt_kib((int64_t)nd.need_kib, c, sizeof(c)), nd.how);
	r = create_reserve(m, &nd, &id, &cur);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (!m->json)
		resv_print(cur);
	/* xl may take longer than balloond's client_timeout: reconnect after */
	ctl_disconnect(m);
	rc = xl_run(xl, cfg, argc - i, argv + i);
	if (rc != 0) {
		resv_cancel(m, id);
		memctl_warnx("create %s: xl create failed (%s %d); reservation %" PRId64
			     " cancelled, nothing is held for it",
			     nd.name, rc > 128 ? "signal" : "exit status", rc > 128 ? rc - 128 : rc,
			     id);
		json_object_put(cur);
		return MEMCTL_EXIT_DAEMON;
	}
	/* the domain takes the reservation when balloond sees it; a balloond
	 * slow to answer while the domain is built is asked again */
	deadline = now_ms() + TAKE_WAIT_MS;
	do {
		r = resv_wait(m, id, "granted", deadline, &cur);
		if (r == MEMCTL_EXIT_CONNECT)
			ctl_disconnect(m);
	} while (r == MEMCTL_EXIT_CONNECT && now_ms() < deadline);
	if (r != MEMCTL_EXIT_OK) {
		memctl_warnx("create %s: xl create succeeded; balloond did not say whether it "
			     "took reservation %" PRId64 " (it is handed over when balloond sees "
			     "the domain, or expires)",
			     nd.name, id);
		r = MEMCTL_EXIT_OK;
	} else if (strcmp(resv_state(cur), "granted") == 0) {
		resv_cancel(m, id);
		memctl_warnx("create %s: xl create succeeded but balloond saw no domain of that "
			     "name within %d s; reservation %" PRId64 " cancelled",
			     nd.name, TAKE_WAIT_MS / 1000, id);
	} else if (r == MEMCTL_EXIT_OK) {
		if (m->json)
			print_json(cur);
		else
			resv_print(cur);
	}
	json_object_put(cur);
	return r;
}

const struct memctl_cmd cmd_create_entry = {
	.name = "create",
	.args = "[--xl PATH] CFG [XL-OPTIONS] [KEY=VALUE...]",
	.min_args = 1,
	.max_args = 256,
	.summary = "start an xl domain with the memory reserved for it",
	.help = "Read the xl config CFG (with libxlutil, as xl does; KEY=VALUE words\n"
		"override it as with xl create), compute the free memory its domain needs\n"
		"(libxl_domain_need_memory: memory plus shadow and libxl's overhead), reserve\n"
		"that for the domain's name and wait for it to be granted (the guests give\n"
		"memory back), then run 'xl create CFG XL-OPTIONS...'. The new domain takes\n"
		"the reservation as soon as balloond sees it. Fails (exit 1) naming what is\n"
		"missing when the host cannot free it (xl is not run), and cancels the\n"
		"reservation when xl create fails (its output is shown). An unreadable or\n"
		"invalid config exits 2. xl is found in PATH, or given by --xl PATH or\n"
		"MEMCTL_XL. memctl options (--socket, --ttl...) go before 'create'.\n"
		"Example: memctl create /etc/xen/web3.cfg -c",
	.exec = cmd_create,
};
