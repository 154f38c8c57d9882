/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The configuration file as balloond reads it: at start, on reload and for
 * every --simulate run. */
#ifndef BALLOOND_CONF_LOAD_H
#define BALLOOND_CONF_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

/* Load the config: an explicit path must exist; the default one may be
 * missing (built-in defaults). 0 or -errno with "file:line: message". */
int conf_load_file(const char *path, bool explicit_path, struct conf *ret, char *err,
		   size_t errlen);

#endif
