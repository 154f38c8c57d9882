/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Loading the configuration file, with its errors as one sentence. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf-load.h"

/* Load the config: an explicit --config must exist; the default path may
 * be missing (built-in defaults apply). */
int conf_load_file(const char *path, bool explicit_path, struct conf *ret, char *err, size_t errlen)
{
	struct conf_error ce;
	int r;

	r = conf_parse_file(path, ret, &ce);
	if (r == -ENOENT && !explicit_path) {
		conf_init(ret);
		return 0;
	}
	if (r < 0) {
		if (ce.line)
			snprintf(err, errlen, "%s:%u: %s", ce.file, ce.line, ce.msg);
		else
			snprintf(err, errlen, "%s: %s", ce.file[0] ? ce.file : path,
				 ce.msg[0] ? ce.msg : strerror(-r));
	}
	return r;
}
