/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memctl set-target, unpin and set-policy: pin a domain, give it back to
 * balloond, or override its bounds, weight or mode. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "client.h"
#include "cmd.h"
#include "render.h"
#include "units.h"

/* set-target DOM SIZE: pin DOM; says the target before and whether it moved. */
static int cmd_set_target(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
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

/* unpin DOM: back to automatic balancing. */
static int cmd_unpin(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
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

/* set-policy DOM KEY=VALUE...: dmin, dmax, weight, mode, or reset. */
static int cmd_set_policy(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
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

const struct memctl_cmd cmd_set_target_entry = {
	.name = "set-target",
	.args = "DOM SIZE",
	.min_args = 2,
	.max_args = 2,
	.summary = "pin a domain's balloon target",
	.help = "Pin DOM at SIZE: balloond writes that target (raising maxmem first when\n"
		"needed) and stops balancing the domain until 'memctl unpin'. SIZE takes a\n"
		"binary unit: 1536M, 1.5G, 2GiB. It must lie within the domain's\n"
		"dynamic-min..static-max (an administrator may go above dynamic-max), and\n"
		"the host must be able to provide it; otherwise balloond refuses and\n"
		"nothing changes.\n"
		"Example: memctl set-target web1 2G",
	.exec = cmd_set_target,
};

const struct memctl_cmd cmd_set_policy_entry = {
	.name = "set-policy",
	.args = "DOM KEY=VALUE...",
	.min_args = 2,
	.max_args = 6,
	.summary = "override a domain's bounds, weight or mode",
	.help = "Set DOM's dynamic-min, dynamic-max, weight or mode at run time, over what\n"
		"balloond.conf and XenStore say, until 'reset': dmin=SIZE dmax=SIZE\n"
		"weight=1..10000 mode=auto|frozen|excluded, or reset (drop every override;\n"
		"given first, then new values apply). Kept in XenStore: a restart keeps\n"
		"them. A dynamic-min the host cannot provide is refused.\n"
		"Example: memctl set-policy db dmin=4G weight=300",
	.exec = cmd_set_policy,
};

const struct memctl_cmd cmd_unpin_entry = {
	.name = "unpin",
	.args = "DOM",
	.min_args = 1,
	.max_args = 1,
	.summary = "give a pinned domain back to balloond",
	.help = "Undo 'memctl set-target' (or an external xl mem-set): DOM returns to\n"
		"automatic balancing.",
	.exec = cmd_unpin,
};
