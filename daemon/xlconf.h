/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading xl.conf (with libxlutil, xl's own parser) for what xl will do
 * with memory: autoballoon and claim_mode (lib/coexist.h judges it). */
#ifndef BALLOOND_XLCONF_H
#define BALLOOND_XLCONF_H

#include <stddef.h>

#include "coexist.h"

/* Fill f from the file at path (over xl's defaults) and from Xen's
 * command line (NULL: unknown). f->source says whether the file was read;
 * why (whylen bytes) gets a sentence when it was not, or "". Never fails:
 * what cannot be read leaves xl's defaults. */
void xlconf_read(const char *path, const char *cmdline, struct xl_facts *f, char *why,
		 size_t whylen);

#endif
