/* SPDX-License-Identifier: GPL-2.0-or-later */
/* xl.conf through libxlutil (xlconf.h). The file is read here (a regular
 * file, bounded, without blocking) and handed to the parser as data. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef HAVE_XLUTIL
#include <libxlutil.h>
#endif

#include "xlconf.h"

#define XLCONF_MAX_BYTES (1024 * 1024)

#ifdef HAVE_XLUTIL
/* The whole file, NUL-terminated (caller frees), or NULL with -errno. */
static char *slurp(const char *path, size_t *len, int *ret_err)
{
	struct stat st;
	char *buf = NULL;
	ssize_t got;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	*ret_err = 0;
	if (fd < 0) {
		*ret_err = -errno;
		return NULL;
	}
	if (fstat(fd, &st) < 0)
		*ret_err = -errno;
	else if (S_ISDIR(st.st_mode))
		*ret_err = -EISDIR;
	else if (!S_ISREG(st.st_mode))
		*ret_err = -EINVAL; /* a FIFO or device: never read */
	else if (st.st_size > XLCONF_MAX_BYTES)
		*ret_err = -EFBIG;
	if (*ret_err)
		goto out;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		*ret_err = -ENOMEM;
		goto out;
	}
	while (n < (size_t)st.st_size && (got = read(fd, buf + n, (size_t)st.st_size - n)) > 0)
		n += (size_t)got;
	buf[n] = '\0';
	*len = n;
out:
	close(fd);
	return buf;
}

/* The parsed values over xl's defaults; -EINVAL when libxlutil rejects
 * the text (its messages go to report, closed here). */
static int parse_facts(const char *path, const char *text, size_t len, struct xl_facts *f)
{
	FILE *report = fopen("/dev/null", "w");
	XLU_Config *cfg;
	const char *s;
	long l;
	int r = 0;

	if (!report)
		return -errno;
	cfg = xlu_cfg_init(report, path);
	if (!cfg) {
		fclose(report);
		return -ENOMEM;
	}
	if (xlu_cfg_readdata(cfg, text, (int)len) != 0) {
		r = -EINVAL;
		goto out;
	}
	if (xlu_cfg_get_string(cfg, "autoballoon", &s, 1) == 0 &&
	    xl_autoballoon_parse(s, &f->autoballoon) < 0)
		f->autoballoon_bad = true;
	if (xlu_cfg_get_long(cfg, "claim_mode", &l, 1) == 0)
		f->claim_mode = l != 0;
out:
	xlu_cfg_destroy(cfg);
	fclose(report);
	return r;
}
#endif

/* xl's defaults, and what Xen's command line says. */
static void facts_defaults(struct xl_facts *f, const char *cmdline)
{
	xl_facts_init(f);
	f->cmdline_known = cmdline != NULL;
	f->dom0_mem = xen_cmdline_has_dom0_mem(cmdline);
}

void xlconf_read(const char *path, const char *cmdline, struct xl_facts *f, char *why,
		 size_t whylen)
{
	facts_defaults(f, cmdline);
	why[0] = '\0';
#ifdef HAVE_XLUTIL
	{
		size_t len = 0;
		int r;
		char *text = slurp(path, &len, &r);

		if (!text) {
			f->source = r == -ENOENT ? XL_CONF_MISSING : XL_CONF_BAD;
			snprintf(why, whylen, "%s: %s", path, strerror(-r));
			return;
		}
		r = parse_facts(path, text, len, f);
		free(text);
		if (r < 0) {
			facts_defaults(f, cmdline);
			f->source = XL_CONF_BAD;
			snprintf(why, whylen, "%s: %s", path,
				 r == -EINVAL ? "not valid xl.conf syntax" : strerror(-r));
			return;
		}
		f->source = XL_CONF_READ;
	}
#else
	f->source = XL_CONF_UNKNOWN;
	snprintf(why, whylen, "%s: not read: balloond was built without libxlutil", path);
#endif
}
