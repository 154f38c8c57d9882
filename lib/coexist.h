/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Coexisting with xl: what xl.conf and Xen's command line say xl itself
 * will do with memory (autoballoon: shrink dom0 to make room for a new
 * domain; claim_mode: claim a new domain's memory before building it),
 * and what that means for balloond. Pure: the caller reads the file and
 * the command line. */
#ifndef BALLOOND_COEXIST_H
#define BALLOOND_COEXIST_H

#include <stdbool.h>
#include <stddef.h>

/* xl.conf's autoballoon: "auto" (the default) means on unless dom0_mem is
 * on Xen's command line. */
enum xl_autoballoon { XL_AUTOBALLOON_AUTO, XL_AUTOBALLOON_ON, XL_AUTOBALLOON_OFF };

/* Where the facts came from. */
enum xl_conf_source {
	XL_CONF_READ,    /* the file was read */
	XL_CONF_MISSING, /* no such file: xl's defaults apply */
	XL_CONF_BAD,     /* unreadable or not valid: xl's defaults assumed */
	XL_CONF_UNKNOWN, /* balloond was built without libxlutil */
};

struct xl_facts {
	enum xl_conf_source source;
	enum xl_autoballoon autoballoon; /* as configured (auto when not set) */
	bool autoballoon_bad;            /* set to a value xl rejects (xl keeps auto) */
	bool claim_mode;                 /* default true, as in xl */
	bool cmdline_known;              /* Xen's command line could be read */
	bool dom0_mem;                   /* dom0_mem=VALUE is on it */
};

enum coexist_verdict {
	COEXIST_OK,       /* xl never shrinks dom0 */
	COEXIST_NOTE,     /* xl shrinks dom0, which balloond does not manage */
	COEXIST_CONFLICT, /* xl shrinks dom0 behind balloond's back */
};

struct coexist {
	struct xl_facts facts;
	bool autoballoon_on;       /* what xl will do: auto resolved */
	enum coexist_verdict verdict;
	char summary[512];         /* one line: the facts */
	char advice[512];          /* what balloond does about it, what to change */
};

/* xl.conf's autoballoon value: "on", "1", "off", "0", "auto". 0 or -EINVAL. */
int xl_autoballoon_parse(const char *s, enum xl_autoballoon *ret);
const char *xl_autoballoon_name(enum xl_autoballoon a);
const char *xl_conf_source_name(enum xl_conf_source s);
const char *coexist_verdict_name(enum coexist_verdict v);

/* Whether Xen's command line gives dom0_mem a value (a word
 * "dom0_mem=..." with something after the '='). NULL is false. */
bool xen_cmdline_has_dom0_mem(const char *cmdline);

/* xl's defaults: autoballoon auto, claim_mode on. */
void xl_facts_init(struct xl_facts *f);

/* Decide: autoballoon as xl resolves it (auto: on unless dom0_mem is
 * given; on when the command line cannot be read, as xl does), then what
 * it means with or without manage_dom0; xl_conf names the file in texts. */
void coexist_judge(const struct xl_facts *f, bool manage_dom0, const char *xl_conf,
		   struct coexist *ret);

#endif
