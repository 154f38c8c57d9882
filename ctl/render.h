/* SPDX-License-Identifier: GPL-2.0-or-later */
/* How memctl shows what balloond says: text made safe for a terminal,
 * human sizes, rates and durations, strictly typed fields of a result,
 * aligned tables, and --json output. No I/O but stdout. */
#ifndef MEMCTL_RENDER_H
#define MEMCTL_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#define NAME_COLS 20 /* NAME column: longer names are cut, ending in '~' */
#define CELL_MAX 256
#define JSON_OUT_FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)

char *sanitize(const char *s, char *out, size_t outlen, size_t max_cols);
char *fmt_kib(int64_t kib, char *buf, size_t len);
char *fmt_rate(int64_t kib_s, char *buf, size_t len);
char *fmt_secs(double secs, bool round_up, char *buf, size_t len);

int get_int(json_object *obj, const char *key, bool nullable, int64_t *ret, bool *ret_null,
	    char *err, size_t errlen);
int get_kib(json_object *obj, const char *key, bool nullable, int64_t *ret, bool *ret_null,
	    char *err, size_t errlen);
int get_num(json_object *obj, const char *key, bool nullable, double *ret, bool *ret_null,
	    char *err, size_t errlen);
int get_str(json_object *obj, const char *key, const char **ret, char *err, size_t errlen);

/* How a field of a domain is shown. */
enum field_kind {
	FIELD_INT,	/* integer as is */
	FIELD_STR,	/* string */
	FIELD_NAME,	/* string, cut to NAME_COLS */
	FIELD_KIB,	/* KiB as a human size */
	FIELD_KIB_NULL, /* KiB or null ("-") */
	FIELD_RATE,	/* signed KiB/s or null */
	FIELD_ETA,	/* seconds or null, rounded up */
	FIELD_AGO,	/* seconds, rounded down */
};

struct field {
	const char *label; /* column header or "label:" */
	const char *key;   /* member of the result */
	enum field_kind kind;
};

int field_format(json_object *obj, const struct field *f, char *buf, size_t len, char *err,
		 size_t errlen);

/* Rows of fixed-size cells; the first row is the header. */
struct table {
	size_t ncols, nrows, cap;
	const bool *left; /* per column: left-aligned */
	char (*cells)[CELL_MAX];
};

int table_init(struct table *t, size_t ncols, const bool *left, size_t rows_hint);
void table_free(struct table *t);
char (*table_add_row(struct table *t))[CELL_MAX];
void table_print(const struct table *t, FILE *f);

void print_json(json_object *obj);

#endif
