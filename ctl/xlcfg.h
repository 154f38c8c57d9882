/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What an xl domain config needs from the host (memctl create). */
#ifndef MEMCTL_XLCFG_H
#define MEMCTL_XLCFG_H

#include <stdbool.h>
#include <stdint.h>

#ifdef HAVE_XLUTIL
#include <libxl.h>
#endif

struct xl_need {
	char name[64];	   /* the domain's name (name = "...") */
	int type;	   /* libxl_domain_type */
	char type_name[8]; /* "pv", "pvh", "hvm" */
	uint64_t target_kib, max_kib;
	unsigned vcpus, max_vcpus;
	bool has_shadow;     /* shadow_memory was given */
	uint64_t shadow_kib; /* given, or the default used */
#ifdef HAVE_XLUTIL
	libxl_defbool stubdom;
#endif
	uint64_t need_kib; /* free memory the build takes */
	bool by_libxl;	   /* libxl_domain_need_memory said so (else estimated) */
	char how[160];	   /* how need_kib was found, for the operator */
};

/* Read the xl config at path (and the key=value overrides extra[0..n_extra)
 * the way xl create takes them) and compute what its domain needs.
 * 0; -ENOENT/-EACCES... (unreadable), -EINVAL (not a config xl would take:
 * a syntax error, no name, bad memory values), -ENOTSUP (built without
 * libxlutil). err gets a sentence. */
int xl_need_memory(const char *path, char *const *extra, int n_extra, struct xl_need *nd, char *err,
		   size_t errlen);

#endif
