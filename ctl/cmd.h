/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memctl's commands: one table entry each (name, alias, usage, argument
 * counts, help, exec), defined in the cmd-*.c file that runs it, and the
 * helpers they share for arguments, usage errors and help. */
#ifndef MEMCTL_CMD_H
#define MEMCTL_CMD_H

#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

#include "client.h"

struct memctl_cmd {
	const char *name;
	const char *alias; /* NULL when none */
	const char *args;  /* argument synopsis after the name, "" when none */
	int min_args, max_args;
	const char *summary; /* one line for "memctl help" */
	const char *help;    /* paragraph for "memctl COMMAND --help" */
	int (*exec)(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv);
};

/* cmd-domain.c */
extern const struct memctl_cmd cmd_status_entry, cmd_list_entry, cmd_show_entry, cmd_explain_entry;
/* cmd-policy.c */
extern const struct memctl_cmd cmd_set_target_entry, cmd_set_policy_entry, cmd_unpin_entry;
/* cmd-plan.c */
extern const struct memctl_cmd cmd_plan_entry;
/* cmd-daemon.c */
extern const struct memctl_cmd cmd_hello_entry, cmd_pause_entry, cmd_resume_entry, cmd_reload_entry;
/* cmd-reserve.c */
extern const struct memctl_cmd cmd_reserve_entry, cmd_reservations_entry, cmd_transfer_entry,
	cmd_cancel_entry;
/* cmd-create.c */
extern const struct memctl_cmd cmd_create_entry;
/* cmd-reserve.c, for create: ask for a reservation (params consumed) and
 * wait for its answer unless --no-wait; *ret_cur is the last view of it (a
 * reference of the caller's). Wait while it is in while_state. Print one. */
int resv_ask(struct memctl *m, json_object *params, int64_t *ret_id, json_object **ret_cur);
int resv_wait(struct memctl *m, int64_t id, const char *while_state, int64_t deadline,
	      json_object **cur);
int resv_print(json_object *o);
/* cmd-events.c */
extern const struct memctl_cmd cmd_events_entry, cmd_metrics_entry;
/* cmd-audit.c */
extern const struct memctl_cmd cmd_audit_entry;
/* cmd.c */
extern const struct memctl_cmd cmd_help_entry;

const struct memctl_cmd *cmd_find(const char *name);
void help_general(FILE *f);
void help_command(FILE *f, const struct memctl_cmd *cmd);
__attribute__((format(printf, 2, 3))) int usage_error(const struct memctl_cmd *cmd, const char *fmt,
						      ...);

json_object *domain_arg(const struct memctl_cmd *cmd, const char *s);
json_object *domain_params(const struct memctl_cmd *cmd, const char *dom);
const char *result_name(json_object *dom, char *buf, size_t len);

/* cmd-domain.c: the "key: value" view of one domain (show, explain, set-policy). */
int print_domain_detail(json_object *dom);

#endif
