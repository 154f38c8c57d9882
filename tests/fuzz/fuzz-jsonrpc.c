/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The JSON-RPC decoder: rpc_parse, rpc_request_parse (each element of a
 * batch) and rpc_params_decode. Oracle: what rpc_parse accepts is RFC 8259
 * JSON per the recogniser below (written apart from lib/jsonrpc.c: UTF-8,
 * surrogate pairs, no member name with U+0000, no name twice in an object,
 * nesting at most DEPTH), and what it refuses is not (or nests deeper);
 * every reply built from what was parsed serialises to valid JSON that
 * rpc_parse takes back, echoing the request's id exactly. */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "jsonrpc.h"
#include "units.h"

#define DEPTH 32

/* ---- an independent strict recogniser ---- */

struct rec {
	const unsigned char *s;
	size_t n, i;
	int depth, max_depth;
	bool too_deep;
};

/* A decoded string: bytes of UTF-8 (escapes resolved), malloc'd. */
struct str {
	unsigned char *b;
	size_t n, cap;
	bool nul;
};

static void ws(struct rec *r)
{
	while (r->i < r->n && (r->s[r->i] == ' ' || r->s[r->i] == '\t' || r->s[r->i] == '\n' ||
			       r->s[r->i] == '\r'))
		r->i++;
}

static void put_cp(struct str *out, unsigned long cp)
{
	unsigned char u[4];
	size_t k = 0, j;

	if (cp < 0x80) {
		u[k++] = (unsigned char)cp;
	} else if (cp < 0x800) {
		u[k++] = (unsigned char)(0xc0 | cp >> 6);
		u[k++] = (unsigned char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		u[k++] = (unsigned char)(0xe0 | cp >> 12);
		u[k++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[k++] = (unsigned char)(0x80 | (cp & 0x3f));
	} else {
		u[k++] = (unsigned char)(0xf0 | cp >> 18);
		u[k++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		u[k++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[k++] = (unsigned char)(0x80 | (cp & 0x3f));
	}
	for (j = 0; j < k; j++) {
		if (out->n == out->cap) {
			out->cap = out->cap ? 2 * out->cap : 16;
			out->b = realloc(out->b, out->cap);
			if (!out->b)
				abort();
		}
		out->b[out->n++] = u[j];
	}
}

/* One raw UTF-8 character at r->i (not '"', '\\' or a control): its code
 * point, or -1 when the bytes are not well-formed UTF-8. */
static long utf8_char(struct rec *r)
{
	unsigned char c = r->s[r->i];
	unsigned long cp, min;
	int k, j;

	if (c < 0x80) {
		r->i++;
		return c;
	}
	if ((c & 0xe0) == 0xc0) {
		k = 1, cp = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		k = 2, cp = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		k = 3, cp = c & 0x07, min = 0x10000;
	} else {
		return -1;
	}
	if (r->i + (size_t)k >= r->n)
		return -1;
	for (j = 1; j <= k; j++) {
		if ((r->s[r->i + (size_t)j] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (r->s[r->i + (size_t)j] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	r->i += (size_t)k + 1;
	return (long)cp;
}

static int hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static long hex4_at(struct rec *r)
{
	long v = 0;
	int k, d;

	if (r->i + 4 > r->n)
		return -1;
	for (k = 0; k < 4; k++) {
		d = hex_digit(r->s[r->i + (size_t)k]);
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	r->i += 4;
	return v;
}

static bool string(struct rec *r, struct str *out)
{
	long cp, lo;

	out->n = 0;
	out->nul = false;
	if (r->i >= r->n || r->s[r->i] != '"')
		return false;
	r->i++;
	for (;;) {
		if (r->i >= r->n)
			return false;
		if (r->s[r->i] == '"') {
			r->i++;
			return true;
		}
		if (r->s[r->i] < 0x20)
			return false;
		if (r->s[r->i] != '\\') {
			cp = utf8_char(r);
			if (cp < 0)
				return false;
			put_cp(out, (unsigned long)cp);
			continue;
		}
		r->i++;
		if (r->i >= r->n)
			return false;
		switch (r->s[r->i++]) {
		case '"': put_cp(out, '"'); break;
		case '\\': put_cp(out, '\\'); break;
		case '/': put_cp(out, '/'); break;
		case 'b': put_cp(out, 8); break;
		case 'f': put_cp(out, 12); break;
		case 'n': put_cp(out, 10); break;
		case 'r': put_cp(out, 13); break;
		case 't': put_cp(out, 9); break;
		case 'u':
			cp = hex4_at(r);
			if (cp < 0 || (cp >= 0xdc00 && cp <= 0xdfff))
				return false;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (r->i + 2 > r->n || r->s[r->i] != '\\' || r->s[r->i + 1] != 'u')
					return false;
				r->i += 2;
				lo = hex4_at(r);
				if (lo < 0xdc00 || lo > 0xdfff)
					return false;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			if (cp == 0)
				out->nul = true;
			put_cp(out, (unsigned long)cp);
			break;
		default: return false;
		}
	}
}

static bool digits(struct rec *r)
{
	size_t start = r->i;

	while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9')
		r->i++;
	return r->i > start;
}

static bool number(struct rec *r)
{
	if (r->i < r->n && r->s[r->i] == '-')
		r->i++;
	if (r->i < r->n && r->s[r->i] == '0')
		r->i++;
	else if (!(r->i < r->n && r->s[r->i] >= '1' && r->s[r->i] <= '9') || !digits(r))
		return false;
	if (r->i < r->n && r->s[r->i] == '.') {
		r->i++;
		if (!digits(r))
			return false;
	}
	if (r->i < r->n && (r->s[r->i] == 'e' || r->s[r->i] == 'E')) {
		r->i++;
		if (r->i < r->n && (r->s[r->i] == '+' || r->s[r->i] == '-'))
			r->i++;
		if (!digits(r))
			return false;
	}
	return true;
}

static bool value(struct rec *r);

static bool literal(struct rec *r, const char *word)
{
	size_t k = strlen(word);

	if (r->n - r->i < k || memcmp(r->s + r->i, word, k) != 0)
		return false;
	r->i += k;
	return true;
}

/* Members of one object: every name is compared with those before it. */
static bool object(struct rec *r)
{
	struct str *names = NULL, key = {0};
	size_t n_names = 0, cap = 0, k;
	bool ok = false;

	r->i++; /* { */
	ws(r);
	if (r->i < r->n && r->s[r->i] == '}') {
		r->i++;
		return true;
	}
	for (;;) {
		ws(r);
		key = (struct str){0};
		if (!string(r, &key) || key.nul)
			goto out;
		for (k = 0; k < n_names; k++)
			if (names[k].n == key.n &&
			    (!key.n || memcmp(names[k].b, key.b, key.n) == 0))
				goto out;
		if (n_names == cap) {
			cap = cap ? 2 * cap : 8;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				abort();
		}
		names[n_names++] = key;
		key = (struct str){0};
		ws(r);
		if (r->i >= r->n || r->s[r->i] != ':')
			goto out;
		r->i++;
		if (!value(r))
			goto out;
		ws(r);
		if (r->i < r->n && r->s[r->i] == ',') {
			r->i++;
			continue;
		}
		if (r->i < r->n && r->s[r->i] == '}') {
			r->i++;
			ok = true;
		}
		goto out;
	}
out:
	free(key.b);
	for (k = 0; k < n_names; k++)
		free(names[k].b);
	free(names);
	return ok;
}

static bool array(struct rec *r)
{
	r->i++; /* [ */
	ws(r);
	if (r->i < r->n && r->s[r->i] == ']') {
		r->i++;
		return true;
	}
	for (;;) {
		if (!value(r))
			return false;
		ws(r);
		if (r->i < r->n && r->s[r->i] == ',') {
			r->i++;
			continue;
		}
		if (r->i < r->n && r->s[r->i] == ']') {
			r->i++;
			return true;
		}
		return false;
	}
}

static bool value(struct rec *r)
{
	struct str tmp = {0};
	bool ok;

	ws(r);
	if (r->i >= r->n)
		return false;
	switch (r->s[r->i]) {
	case '{':
	case '[':
		if (++r->depth > r->max_depth)
			r->too_deep = true;
		if (r->depth > 200)
			return false; /* our own stack */
		ok = r->s[r->i] == '{' ? object(r) : array(r);
		r->depth--;
		return ok;
	case '"':
		ok = string(r, &tmp);
		free(tmp.b);
		return ok;
	case 't': return literal(r, "true");
	case 'f': return literal(r, "false");
	case 'n': return literal(r, "null");
	default: return number(r);
	}
}

/* Whether s[0..n) is one JSON text; *too_deep when it nests past max_depth. */
static bool json_valid(const void *s, size_t n, int max_depth, bool *too_deep)
{
	struct rec r = {.s = s, .n = n, .max_depth = max_depth};
	bool ok = value(&r);

	ws(&r);
	*too_deep = r.too_deep;
	return ok && r.i == n;
}

/* ---- the harness ---- */

struct all_params {
	char name[16];
	uint64_t count, big, size, ttl;
	bool flag;
	struct rpc_domain_ref dom;
	bool has_name, has_dom;
};

#define OFF(m) offsetof(struct all_params, m)
static const struct rpc_field fields[] = {
	{"domain", RPC_FIELD_DOMAIN, OFF(dom), 0, false, 0, OFF(has_dom)},
	{"name", RPC_FIELD_STRING, OFF(name), sizeof(((struct all_params *)0)->name), false, 0,
	 OFF(has_name)},
	{"count", RPC_FIELD_U64, OFF(count), 0, false, 1000, RPC_NO_PRESENT},
	{"big", RPC_FIELD_U64, OFF(big), 0, false, 0, RPC_NO_PRESENT},
	{"flag", RPC_FIELD_BOOL, OFF(flag), 0, false, 0, RPC_NO_PRESENT},
	{"size", RPC_FIELD_SIZE, OFF(size), 0, false, 0, RPC_NO_PRESENT},
	{"ttl", RPC_FIELD_DURATION, OFF(ttl), 0, false, 0, RPC_NO_PRESENT},
	{NULL},
};

/* A reply must serialise to JSON that both recognisers take back. */
static void reply_check(json_object *reply, json_object *id)
{
	const char *text, *id_text;
	json_object *back = NULL, *back_id;
	bool deep;
	char err[256];

	FUZZ_CHECK(reply != NULL, "no reply built");
	text = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);
	FUZZ_CHECK(json_valid(text, strlen(text), 64, &deep), "reply is not JSON: %s", text);
	FUZZ_CHECK(rpc_parse(text, strlen(text), 64, &back, err, sizeof(err)) == 0,
		   "reply does not re-parse (%s): %s", err, text);
	FUZZ_CHECK(json_object_object_get_ex(back, "id", &back_id), "reply lost its id");
	id_text = json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN);
	FUZZ_CHECK(strcmp(id_text,
			  json_object_to_json_string_ext(back_id, JSON_C_TO_STRING_PLAIN)) == 0,
		   "id %s came back as %s", id_text,
		   json_object_to_json_string_ext(back_id, JSON_C_TO_STRING_PLAIN));
	json_object_put(back);
	json_object_put(reply);
}

/* One request (a member of a batch or the whole message). */
static void request_run(json_object *req_obj)
{
	struct rpc_request req;
	struct all_params p;
	json_object *id = NULL;
	char err[256];
	int r;

	r = rpc_request_parse(req_obj, &req, &id, err, sizeof(err));
	if (r != 0) {
		FUZZ_CHECK(r == RPC_INVALID_REQUEST, "rpc_request_parse returned %d", r);
		reply_check(rpc_make_error(id, r, err, NULL), id);
		return;
	}
	memset(&p, 0, sizeof(p));
	r = rpc_params_decode(req.params, fields, &p, err, sizeof(err));
	if (r != 0) {
		FUZZ_CHECK(r == RPC_INVALID_PARAMS, "rpc_params_decode returned %d", r);
		reply_check(rpc_make_error(req.id, r, err, NULL), req.id);
		return;
	}
	FUZZ_CHECK(p.count <= 1000, "count %llu above its max", (unsigned long long)p.count);
	FUZZ_CHECK(p.size <= SIZE_MAX_KIB, "size above SIZE_MAX_KIB");
	FUZZ_CHECK(p.ttl <= DURATION_MAX_MS, "ttl above DURATION_MAX_MS");
	FUZZ_CHECK(!p.has_dom || p.dom.by_name || p.dom.domid <= 0x7fef, "domid %u", p.dom.domid);
	FUZZ_CHECK(memchr(p.name, '\0', sizeof(p.name)) != NULL, "name not terminated");
	json_object *result = json_object_new_object();

	json_object_object_add(result, "method", json_object_new_string(req.method));
	json_object_object_add(result, "params", json_object_get(req.params));
	json_object_object_add(result, "name", json_object_new_string(p.name));
	reply_check(rpc_make_result(req.id, result), req.id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *obj = NULL;
	char err[256];
	bool deep = false, valid;
	int r;

	r = rpc_parse((const char *)data, size, DEPTH, &obj, err, sizeof(err));
	valid = json_valid(data, size, DEPTH, &deep);
	if (r != 0) {
		FUZZ_CHECK(r == RPC_PARSE_ERROR, "rpc_parse returned %d", r);
		FUZZ_CHECK(!valid || deep || memchr(data, '\0', size), "valid JSON refused: %s",
			   err);
		reply_check(rpc_make_error(NULL, r, err, NULL), NULL);
		return 0;
	}
	FUZZ_CHECK(valid && !deep, "rpc_parse accepted what is not strict JSON (%s)",
		   deep ? "too deep" : "invalid");
	if (json_object_is_type(obj, json_type_array)) {
		size_t i, n = json_object_array_length(obj);

		for (i = 0; i < n && i < 64; i++)
			request_run(json_object_array_get_idx(obj, i));
	} else {
		request_run(obj);
	}
	json_object_put(obj);
	return 0;
}
