/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What an xl domain config needs from the host to be built: the config is
 * read with libxlutil (the parser xl itself uses), the memory settings are
 * taken the way xl's parse_config_data takes them, and the amount comes
 * from libxl_domain_need_memory when a hypervisor is there (libxl fills in
 * its own defaults for shadow and IOMMU memory then); off Xen, from the same
 * formula with libxl's public shadow estimate (see xl_need_memory). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xlcfg.h"

#ifdef HAVE_XLUTIL
#include <libxl.h>
#include <libxl_utils.h>
#include <libxlutil.h>
#include <xentoollog.h>

/* libxl's fixed overheads (libxl_internal.h, not exported): what a PV and an
 * HVM/PVH domain need beyond its memory and shadow, and a stub domain's. */
#define XL_PV_EXTRA_KIB 1024
#define XL_HVM_EXTRA_KIB 2048
#define XL_STUBDOM_KIB (32 * 1024)

/* A long setting in [0, max]: 0 and *ret set, 1 when absent, -EINVAL. */
static int cfg_long(XLU_Config *cfg, const char *key, long max, long *ret, char *err, size_t errlen)
{
	int r = xlu_cfg_get_long(cfg, key, ret, 0);

	if (r == ESRCH)
		return 1;
	if (r || *ret < 0 || *ret > max) {
		snprintf(err, errlen, "\"%s\" is not a number from 0 to %ld", key, max);
		return -EINVAL;
	}
	return 0;
}

/* type = "pv" | "pvh" | "hvm", or the deprecated builder = "hvm" |
 * "generic"; PV when neither is given (xl's default on x86). */
static int cfg_type(XLU_Config *cfg, struct xl_need *nd, char *err, size_t errlen)
{
	const char *t = NULL, *b = NULL;

	nd->type = LIBXL_DOMAIN_TYPE_PV;
	if (!xlu_cfg_get_string(cfg, "type", &t, 0)) {
		if (strcmp(t, "pv") == 0)
			nd->type = LIBXL_DOMAIN_TYPE_PV;
		else if (strcmp(t, "pvh") == 0)
			nd->type = LIBXL_DOMAIN_TYPE_PVH;
		else if (strcmp(t, "hvm") == 0)
			nd->type = LIBXL_DOMAIN_TYPE_HVM;
		else {
			snprintf(err, errlen, "type \"%.20s\" is not pv, pvh or hvm", t);
			return -EINVAL;
		}
	}
	if (!xlu_cfg_get_string(cfg, "builder", &b, 0)) {
		int bt = strcmp(b, "hvm") == 0	     ? LIBXL_DOMAIN_TYPE_HVM
			 : strcmp(b, "generic") == 0 ? LIBXL_DOMAIN_TYPE_PV
						     : -1;

		if (bt < 0 || (t && bt != nd->type)) {
			snprintf(err, errlen, "builder \"%.20s\" %s", b,
				 bt < 0 ? "is not hvm or generic" : "contradicts type");
			return -EINVAL;
		}
		nd->type = bt;
	}
	snprintf(nd->type_name, sizeof(nd->type_name), "%s",
		 libxl_domain_type_to_string((libxl_domain_type)nd->type));
	return 0;
}

/* The memory settings, as xl reads them: memory (MiB) is the target and,
 * without maxmem, the maximum; vcpus, maxvcpus; shadow_memory (MiB);
 * device_model_stubdomain_override. */
static int cfg_memory(XLU_Config *cfg, struct xl_need *nd, char *err, size_t errlen)
{
	const long mib_max = 1L << 32, vcpu_max = 4096;
	long v;
	int r;

	nd->target_kib = 32 * 1024; /* libxl's default when memory is not given */
	if ((r = cfg_long(cfg, "memory", mib_max, &v, err, errlen)) < 0)
		return r;
	if (r == 0)
		nd->target_kib = (uint64_t)v * 1024;
	nd->max_kib = nd->target_kib;
	if ((r = cfg_long(cfg, "maxmem", mib_max, &v, err, errlen)) < 0)
		return r;
	if (r == 0)
		nd->max_kib = (uint64_t)v * 1024;
	if (nd->max_kib < nd->target_kib) {
		snprintf(err, errlen, "maxmem is below memory");
		return -EINVAL;
	}
	nd->vcpus = 1;
	if ((r = cfg_long(cfg, "vcpus", vcpu_max, &v, err, errlen)) < 0)
		return r;
	if (r == 0)
		nd->vcpus = v ? (unsigned)v : 1;
	nd->max_vcpus = nd->vcpus;
	if ((r = cfg_long(cfg, "maxvcpus", vcpu_max, &v, err, errlen)) < 0)
		return r;
	if (r == 0 && v)
		nd->max_vcpus = (unsigned)v;
	if (nd->max_vcpus < nd->vcpus) {
		snprintf(err, errlen, "maxvcpus is below vcpus");
		return -EINVAL;
	}
	nd->has_shadow = false;
	if ((r = cfg_long(cfg, "shadow_memory", mib_max, &v, err, errlen)) < 0)
		return r;
	if (r == 0) {
		nd->has_shadow = true;
		nd->shadow_kib = (uint64_t)v * 1024;
	}
	libxl_defbool_unset(&nd->stubdom);
	xlu_cfg_get_defbool(cfg, "device_model_stubdomain_override", &nd->stubdom, 0);
	return 0;
}

/* Off Xen (no libxl context): libxl's own formula, target + shadow + the
 * fixed overhead (+ a stub domain), rounded up to 2 MiB, the shadow default
 * from libxl_get_required_shadow_memory. */
static void need_estimate(struct xl_need *nd)
{
	uint64_t need;

	if (!nd->has_shadow)
		nd->shadow_kib = libxl_get_required_shadow_memory(nd->max_kib, nd->max_vcpus);
	need = nd->target_kib + nd->shadow_kib;
	if (nd->type == LIBXL_DOMAIN_TYPE_PV) {
		need += XL_PV_EXTRA_KIB;
	} else {
		need += XL_HVM_EXTRA_KIB;
		if (nd->type == LIBXL_DOMAIN_TYPE_HVM && !libxl_defbool_is_default(nd->stubdom) &&
		    libxl_defbool_val(nd->stubdom))
			need += XL_STUBDOM_KIB;
	}
	nd->need_kib = (need + 2047) / 2048 * 2048;
	nd->by_libxl = false;
}

/* On Xen: a libxl domain config with those settings, and libxl's answer. */
static int need_libxl(libxl_ctx *ctx, struct xl_need *nd, char *err, size_t errlen)
{
	libxl_domain_config dc;
	libxl_domain_build_info *b = &dc.b_info;
	uint64_t need = 0;
	unsigned i;
	int r;

	libxl_domain_config_init(&dc);
	dc.c_info.type = (libxl_domain_type)nd->type;
	dc.c_info.name = strdup(nd->name);
	libxl_domain_build_info_init_type(b, (libxl_domain_type)nd->type);
	b->target_memkb = nd->target_kib;
	b->max_memkb = nd->max_kib;
	b->max_vcpus = (int)nd->max_vcpus;
	if (libxl_cpu_bitmap_alloc(ctx, &b->avail_vcpus, (int)nd->max_vcpus) == 0) {
		libxl_bitmap_set_none(&b->avail_vcpus);
		for (i = 0; i < nd->vcpus; i++)
			libxl_bitmap_set(&b->avail_vcpus, (int)i);
	}
	if (nd->has_shadow)
		b->shadow_memkb = nd->shadow_kib;
	b->device_model_stubdomain = nd->stubdom;
	r = libxl_domain_need_memory(ctx, &dc, INVALID_DOMID, &need);
	if (r == 0) {
		nd->shadow_kib = b->shadow_memkb;
		nd->need_kib = need;
		nd->by_libxl = true;
	} else {
		snprintf(err, errlen, "libxl_domain_need_memory failed (%d)", r);
	}
	libxl_domain_config_dispose(&dc);
	return r ? -EIO : 0;
}

/* libxl when a hypervisor is there (a privcmd device), the estimate if
 * there is none or libxl will not answer (said in nd->how). */
static void need_compute(struct xl_need *nd)
{
	xentoollog_logger_stdiostream *lg = NULL;
	libxl_ctx *ctx = NULL;
	char err[128] = "no hypervisor here";

	if (access("/dev/xen/privcmd", F_OK) == 0) {
		lg = xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
		if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, (xentoollog_logger *)lg) != 0) {
			ctx = NULL;
			snprintf(err, sizeof(err), "no libxl context");
		}
	}
	if (ctx && need_libxl(ctx, nd, err, sizeof(err)) == 0)
		snprintf(nd->how, sizeof(nd->how),
			 "libxl_domain_need_memory: shadow %" PRIu64 " KiB", nd->shadow_kib);
	else {
		need_estimate(nd);
		snprintf(nd->how, sizeof(nd->how),
			 "%s, so estimated: memory + libxl's shadow default + its %s overhead", err,
			 nd->type == LIBXL_DOMAIN_TYPE_PV ? "1 MiB PV" : "2 MiB HVM");
	}
	libxl_ctx_free(ctx);
	xtl_logger_destroy((xentoollog_logger *)lg);
}

int xl_need_memory(const char *path, char *const *extra, int n_extra, struct xl_need *nd, char *err,
		   size_t errlen)
{
	XLU_Config *cfg;
	const char *name = NULL;
	int i, r;

	memset(nd, 0, sizeof(*nd));
	if (access(path, R_OK) != 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -errno;
	}
	cfg = xlu_cfg_init(stderr, path);
	if (!cfg) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = xlu_cfg_readfile(cfg, path);
	if (r) {
		snprintf(err, errlen, "cannot parse %s: %s", path,
			 r == EINVAL ? "a syntax error (above)" : strerror(r));
		xlu_cfg_destroy(cfg);
		return r == EINVAL ? -EINVAL : -r;
	}
	/* key=value words after the file override it, as with xl create */
	for (i = 0; i < n_extra; i++) {
		size_t n = strlen(extra[i]);
		char *line = malloc(n + 2);

		if (!line) {
			xlu_cfg_destroy(cfg);
			return -ENOMEM;
		}
		memcpy(line, extra[i], n);
		line[n++] = '\n';
		line[n] = '\0';
		r = xlu_cfg_readdata(cfg, line, (int)n);
		free(line);
		if (r) {
			snprintf(err, errlen, "cannot parse \"%s\"", extra[i]);
			xlu_cfg_destroy(cfg);
			return -EINVAL;
		}
	}
	r = -EINVAL;
	if (xlu_cfg_get_string(cfg, "name", &name, 0) || !name[0])
		snprintf(err, errlen, "%s names no domain (name = \"...\")", path);
	else if (strlen(name) >= sizeof(nd->name))
		snprintf(err, errlen, "the domain name in %s is longer than %zu bytes", path,
			 sizeof(nd->name) - 1);
	else if (cfg_type(cfg, nd, err, errlen) == 0 && cfg_memory(cfg, nd, err, errlen) == 0)
		r = 0;
	if (r == 0) {
		snprintf(nd->name, sizeof(nd->name), "%s", name);
		need_compute(nd);
	}
	xlu_cfg_destroy(cfg);
	return r;
}

#else /* !HAVE_XLUTIL */

int xl_need_memory(const char *path, char *const *extra, int n_extra, struct xl_need *nd, char *err,
		   size_t errlen)
{
	(void)path;
	(void)extra;
	(void)n_extra;
	memset(nd, 0, sizeof(*nd));
	snprintf(err, errlen, "memctl was built without libxlutil (libxen-dev)");
	return -ENOTSUP;
}

#endif
