/* SPDX-License-Identifier: GPL-2.0-or-later */
/* How memctl shows what balloond says: printable text, human sizes, rates
 * and durations, fields of a result read strictly (a wrong type is a
 * malformed reply), tables with aligned columns, and --json output. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "units.h"

/* Copy s into out as printable ASCII: control bytes become '?', and so does
 * each UTF-8 sequence; cut to max_cols characters (0 = no limit) with a
 * final '~' when cut. Text from the daemon may come from guests or the
 * toolstack: never let it drive the terminal. */
char *sanitize(const char *s, char *out, size_t outlen, size_t max_cols)
{
	size_t n = 0, limit = outlen - 1;
	const unsigned char *p = (const unsigned char *)s;

	if (max_cols && max_cols < limit)
		limit = max_cols;
	while (*p && n < limit) {
		if (*p >= 0xc0) {
			p++;
			while (*p >= 0x80 && *p < 0xc0)
				p++;
			out[n++] = '?';
			continue;
		}
		out[n++] = (*p >= 0x20 && *p < 0x7f) ? (char)*p : '?';
		p++;
	}
	if (*p && n > 0)
		out[n - 1] = '~';
	out[n] = '\0';
	return out;
}

/* A size in KiB, signed ("-512M" for a deficit); 0 prints as "0". */
char *fmt_kib(int64_t kib, char *buf, size_t len)
{
	char tmp[32];
	uint64_t mag = kib < 0 ? (uint64_t)0 - (uint64_t)kib : (uint64_t)kib;

	if (kib == 0) {
		snprintf(buf, len, "0");
		return buf;
	}
	size_format(mag, tmp, sizeof(tmp));
	snprintf(buf, len, "%s%s", kib < 0 ? "-" : "", tmp);
	return buf;
}

/* A balloon rate in KiB/s: "-128M/s" shrinking, "+256M/s" growing. */
char *fmt_rate(int64_t kib_s, char *buf, size_t len)
{
	char tmp[32];

	if (kib_s == 0) {
		snprintf(buf, len, "0/s");
		return buf;
	}
	fmt_kib(kib_s, tmp, sizeof(tmp));
	snprintf(buf, len, "%s%s/s", kib_s > 0 ? "+" : "", tmp);
	return buf;
}

/* Seconds as "3s", "1m30s"; round_up for an ETA (never "0s" while moving),
 * down for an age. */
char *fmt_secs(double secs, bool round_up, char *buf, size_t len)
{
	uint64_t whole;

	if (!(secs > 0)) /* also NaN */
		secs = 0;
	if (secs > 100.0 * 365 * 86400)
		secs = 100.0 * 365 * 86400;
	whole = (uint64_t)secs;
	if (round_up && (double)whole < secs)
		whole++;
	if (whole == 0) {
		snprintf(buf, len, "0s");
		return buf;
	}
	return duration_format(whole * 1000, buf, len);
}

/* ---- reading fields of a result (strictly: a wrong type is a malformed reply) ---- */

/* Member key of obj as an integer; *ret_null set when it is null and nullable.
 * Returns 0 or -EPROTO with a sentence in err. */
int get_int(json_object *obj, const char *key, bool nullable, int64_t *ret, bool *ret_null,
	    char *err, size_t errlen)
{
	json_object *v;

	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v)) {
		snprintf(err, errlen, "member \"%s\" is missing", key);
		return -EPROTO;
	}
	if (!v && nullable) {
		*ret_null = true;
		return 0;
	}
	if (!json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "member \"%s\" is not an integer%s", key,
			 nullable ? " or null" : "");
		return -EPROTO;
	}
	if (ret_null)
		*ret_null = false;
	*ret = json_object_get_int64(v);
	return 0;
}

/* Member key as a size in KiB: an integer that must not be negative. */
int get_kib(json_object *obj, const char *key, bool nullable, int64_t *ret, bool *ret_null,
	    char *err, size_t errlen)
{
	bool is_null = false;
	int r = get_int(obj, key, nullable, ret, &is_null, err, errlen);

	if (r == 0 && !is_null && *ret < 0) {
		snprintf(err, errlen, "member \"%s\" is a negative size", key);
		return -EPROTO;
	}
	if (ret_null)
		*ret_null = is_null;
	return r;
}

/* A number (integer or not); nullable like get_int. */
int get_num(json_object *obj, const char *key, bool nullable, double *ret, bool *ret_null,
	    char *err, size_t errlen)
{
	json_object *v;

	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v)) {
		snprintf(err, errlen, "member \"%s\" is missing", key);
		return -EPROTO;
	}
	if (!v && nullable) {
		*ret_null = true;
		return 0;
	}
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)) {
		snprintf(err, errlen, "member \"%s\" is not a number%s", key,
			 nullable ? " or null" : "");
		return -EPROTO;
	}
	if (ret_null)
		*ret_null = false;
	*ret = json_object_get_double(v);
	return 0;
}

/* A string member; borrowed from obj. */
int get_str(json_object *obj, const char *key, const char **ret, char *err, size_t errlen)
{
	json_object *v;

	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "member \"%s\" is missing or not a string", key);
		return -EPROTO;
	}
	*ret = json_object_get_string(v);
	return 0;
}
/* Format obj's member as kind describes. 0 or -EPROTO with err. */
int field_format(json_object *obj, const struct field *f, char *buf, size_t len, char *err,
		 size_t errlen)
{
	bool is_null = false;
	const char *s;
	int64_t i = 0;
	double d = 0;
	int r;

	switch (f->kind) {
	case FIELD_INT:
		r = get_int(obj, f->key, false, &i, NULL, err, errlen);
		if (r == 0)
			snprintf(buf, len, "%" PRId64, i);
		return r;
	case FIELD_STR:
	case FIELD_NAME:
		r = get_str(obj, f->key, &s, err, errlen);
		if (r == 0)
			sanitize(s, buf, len, f->kind == FIELD_NAME ? NAME_COLS : 0);
		return r;
	case FIELD_KIB:
	case FIELD_KIB_NULL:
		r = get_kib(obj, f->key, f->kind == FIELD_KIB_NULL, &i, &is_null, err, errlen);
		if (r == 0 && is_null)
			snprintf(buf, len, "-");
		else if (r == 0)
			fmt_kib(i, buf, len);
		return r;
	case FIELD_RATE:
		r = get_int(obj, f->key, true, &i, &is_null, err, errlen);
		if (r == 0 && is_null)
			snprintf(buf, len, "-");
		else if (r == 0)
			fmt_rate(i, buf, len);
		return r;
	case FIELD_ETA:
	case FIELD_AGO:
		r = get_num(obj, f->key, f->kind == FIELD_ETA, &d, &is_null, err, errlen);
		if (r == 0 && is_null)
			snprintf(buf, len, "-");
		else if (r == 0)
			fmt_secs(d, f->kind == FIELD_ETA, buf, len);
		return r;
	}
	snprintf(err, errlen, "internal: unknown field kind");
	return -EPROTO;
}

/* ---- tables ---- */

/* An empty table of ncols columns with room for rows_hint rows. 0 or -ENOMEM. */
int table_init(struct table *t, size_t ncols, const bool *left, size_t rows_hint)
{
	t->ncols = ncols;
	t->nrows = 0;
	t->left = left;
	t->cap = rows_hint + 1;
	t->cells = malloc(t->cap * ncols * CELL_MAX);
	return t->cells ? 0 : -ENOMEM;
}

/* Free the cells; t may be freed twice. */
void table_free(struct table *t)
{
	free(t->cells);
	t->cells = NULL;
}

/* The cells of a new row, or NULL when out of memory. */
char (*table_add_row(struct table *t))[CELL_MAX]
{
	size_t c;

	if (t->nrows == t->cap) {
		size_t ncap = t->cap * 2;
		void *n = realloc(t->cells, ncap * t->ncols * CELL_MAX);

		if (!n)
			return NULL;
		t->cells = n;
		t->cap = ncap;
	}
	for (c = 0; c < t->ncols; c++)
		t->cells[t->nrows * t->ncols + c][0] = '\0';
	return &t->cells[t->nrows++ * t->ncols];
}

/* n blanks. */
static void pad(FILE *f, size_t n)
{
	static const char blanks[] = "                                ";

	while (n > 0) {
		size_t k = n < sizeof(blanks) - 1 ? n : sizeof(blanks) - 1;

		fwrite(blanks, 1, k, f);
		n -= k;
	}
}

/* Print with column widths taken from the content, two spaces apart; the
 * last column is not padded (no trailing blanks). */
void table_print(const struct table *t, FILE *f)
{
	size_t width[32] = {0}, r, c;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols && c < 32; c++) {
			size_t w = strlen(t->cells[r * t->ncols + c]);

			if (w > width[c])
				width[c] = w;
		}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols && c < 32; c++) {
			const char *s = t->cells[r * t->ncols + c];
			size_t len = strlen(s);
			bool last = c + 1 == t->ncols;

			if (c > 0)
				fputs("  ", f);
			if (!t->left[c])
				pad(f, width[c] - len);
			fwrite(s, 1, len, f);
			if (t->left[c] && !last)
				pad(f, width[c] - len);
		}
		fputc('\n', f);
	}
}

/* The result (or any object) as pretty JSON, for --json. */
void print_json(json_object *obj)
{
	printf("%s\n", json_object_to_json_string_ext(obj, JSON_OUT_FLAGS));
}
