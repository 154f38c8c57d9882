/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Coexisting with xl's own ballooning: the facts judged (coexist.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "coexist.h"

int xl_autoballoon_parse(const char *s, enum xl_autoballoon *ret)
{
	if (strcmp(s, "on") == 0 || strcmp(s, "1") == 0)
		*ret = XL_AUTOBALLOON_ON;
	else if (strcmp(s, "off") == 0 || strcmp(s, "0") == 0)
		*ret = XL_AUTOBALLOON_OFF;
	else if (strcmp(s, "auto") == 0)
		*ret = XL_AUTOBALLOON_AUTO;
	else
		return -EINVAL;
	return 0;
}

const char *xl_autoballoon_name(enum xl_autoballoon a)
{
	switch (a) {
	case XL_AUTOBALLOON_ON: return "on";
	case XL_AUTOBALLOON_OFF: return "off";
	default: return "auto";
	}
}

const char *xl_conf_source_name(enum xl_conf_source s)
{
	switch (s) {
	case XL_CONF_READ: return "read";
	case XL_CONF_MISSING: return "missing";
	case XL_CONF_BAD: return "bad";
	default: return "unknown";
	}
}

const char *coexist_verdict_name(enum coexist_verdict v)
{
	switch (v) {
	case COEXIST_OK: return "ok";
	case COEXIST_NOTE: return "note";
	default: return "conflict";
	}
}

bool xen_cmdline_has_dom0_mem(const char *cmdline)
{
	static const char opt[] = "dom0_mem=";
	const char *p = cmdline;

	if (!p)
		return false;
	while ((p = strstr(p, opt))) {
		bool word_start = p == cmdline || p[-1] == ' ';
		char after = p[sizeof(opt) - 1];

		if (word_start && after != '\0' && after != ' ')
			return true;
		p += sizeof(opt) - 1;
	}
	return false;
}

void xl_facts_init(struct xl_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->source = XL_CONF_MISSING;
	f->autoballoon = XL_AUTOBALLOON_AUTO;
	f->claim_mode = true;
}

/* How xl resolves autoballoon, in words for the summary. */
static bool resolve_autoballoon(const struct xl_facts *f, const char **why)
{
	switch (f->autoballoon) {
	case XL_AUTOBALLOON_ON: *why = "set on"; return true;
	case XL_AUTOBALLOON_OFF: *why = "set off"; return false;
	default: break;
	}
	if (!f->cmdline_known) {
		*why = "auto: Xen's command line unknown, so on";
		return true;
	}
	if (f->dom0_mem) {
		*why = "auto: dom0_mem is on Xen's command line, so off";
		return false;
	}
	*why = "auto: no dom0_mem on Xen's command line, so on";
	return true;
}

static const char *source_words(enum xl_conf_source s)
{
	switch (s) {
	case XL_CONF_READ: return "";
	case XL_CONF_MISSING: return ", no such file: xl's defaults";
	case XL_CONF_BAD: return ", not readable as xl.conf: xl's defaults assumed";
	default: return ", not read (balloond built without libxlutil): xl's defaults assumed";
	}
}

void coexist_judge(const struct xl_facts *f, bool manage_dom0, const char *xl_conf,
		   struct coexist *ret)
{
	const char *why;
	size_t n;

	memset(ret, 0, sizeof(*ret));
	ret->facts = *f;
	ret->autoballoon_on = resolve_autoballoon(f, &why);
	snprintf(ret->summary, sizeof(ret->summary), "xl autoballoon %s (%s%s), claim_mode %s (%s%s)",
		 ret->autoballoon_on ? "on" : "off", why,
		 f->autoballoon_bad ? "; an invalid value, ignored by xl" : "",
		 f->claim_mode ? "on" : "off", xl_conf, source_words(f->source));
	if (!ret->autoballoon_on) {
		ret->verdict = COEXIST_OK;
		snprintf(ret->advice, sizeof(ret->advice),
			 "xl never shrinks dom0 for a new domain and balloond keeps no room "
			 "for one: start VMs with a reservation (memctl reserve)");
	} else if (manage_dom0) {
		ret->verdict = COEXIST_CONFLICT;
		snprintf(ret->advice, sizeof(ret->advice),
			 "xl create shrinks dom0 behind balloond's back: balloond takes it for "
			 "an external write and pins dom0 there (memctl unpin 0 undoes it), and "
			 "may give what dom0 frees to other guests first; set "
			 "autoballoon=\"off\" in %s and start VMs with a reservation",
			 xl_conf);
	} else {
		ret->verdict = COEXIST_NOTE;
		snprintf(ret->advice, sizeof(ret->advice),
			 "xl create shrinks dom0 (which balloond leaves alone) to make room, "
			 "but balloond may give what dom0 frees to other guests before xl "
			 "claims it; autoballoon=\"off\" and a reservation are the reliable way");
	}
	n = strlen(ret->advice);
	if (!f->claim_mode && n < sizeof(ret->advice))
		snprintf(ret->advice + n, sizeof(ret->advice) - n,
			 "; with claim_mode off a domain being built claims nothing, so "
			 "balloond cannot see what it still needs");
}
