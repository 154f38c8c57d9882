/* SPDX-License-Identifier: GPL-2.0-or-later */
/* JSON-RPC 2.0 codec over json-c: strict parsing of one message, validation
 * of requests and replies, building of replies, and the params decoder.
 *
 * json-c's strict mode still lets through NaN, Infinity, leading zeros,
 * "1.", single-quoted strings, raw control characters in strings, overlong
 * or surrogate UTF-8, lone surrogate escapes (which it turns into U+FFFD),
 * member names with \u0000 (which it cuts there) and repeated member names
 * (the last wins), and it clamps integers it cannot hold. rpc_parse checks
 * the text itself (lex_check) for all of these, and counts members against
 * json-c's tree for repeated names (with the first two refused, the tree
 * holds fewer members exactly when a name repeats: one linear pass, no
 * per-object name sets). A clamped integer is valid JSON: it gets its text
 * back as its serialisation, so an id is echoed as sent, and the params
 * decoder calls it out of range. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/printbuf.h>

#include "jsonrpc.h"
#include "units.h"

/* Longest method name a request may carry. */
#define METHOD_MAX 64

/* Highest domid a client may name (DOMID_FIRST_RESERVED - 1). */
#define DOMID_MAX 0x7fef

/* Room for a formatted size or duration in a message. */
#define UNIT_BUF 32

/* Longest excerpt of a client's string quoted in a message, and its room
 * with "..." and the NUL. */
#define EXCERPT_MAX 32
#define EXCERPT_BUF (EXCERPT_MAX + 4)

/* Length of the UTF-8 sequence a lead byte starts (1 for anything else). */
static size_t utf8_lead_len(unsigned char c)
{
	return c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

static void errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Write a message into err (which may be NULL or empty). A message cut to
 * errlen is cut between characters: it goes out in JSON, which must stay
 * valid UTF-8. */
static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	size_t len, lead;
	int n;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	n = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n < errlen)
		return;
	len = errlen - 1;
	for (lead = len; lead > 0 && ((unsigned char)err[lead - 1] & 0xc0) == 0x80; lead--)
		;
	if (lead > 0 && lead - 1 + utf8_lead_len((unsigned char)err[lead - 1]) > len)
		err[lead - 1] = '\0';
}

/* The start of s (n bytes) to quote in a message: at most EXCERPT_MAX
 * bytes, cut between UTF-8 characters, "..." added when cut. Returns buf. */
static const char *excerpt(const char *s, size_t n, char buf[EXCERPT_BUF])
{
	size_t k = n;

	if (k > EXCERPT_MAX) {
		k = EXCERPT_MAX;
		while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
			k--;
	}
	memcpy(buf, s, k);
	strcpy(buf + k, k < n ? "..." : "");
	return buf;
}

const char *rpc_error_name(int code)
{
	switch (code) {
	case RPC_PARSE_ERROR: return "parse error";
	case RPC_INVALID_REQUEST: return "invalid request";
	case RPC_METHOD_NOT_FOUND: return "method not found";
	case RPC_INVALID_PARAMS: return "invalid params";
	case RPC_INTERNAL_ERROR: return "internal error";
	case RPC_ERR_NO_SUCH_DOMAIN: return "no such domain";
	case RPC_ERR_OUT_OF_BOUNDS: return "out of bounds";
	case RPC_ERR_INSUFFICIENT_MEMORY: return "insufficient memory";
	case RPC_ERR_NOT_PERMITTED: return "not permitted";
	case RPC_ERR_BUSY: return "busy";
	case RPC_ERR_NOT_MANAGED: return "not managed";
	case RPC_ERR_BACKEND: return "backend error";
	case RPC_ERR_NO_SUCH_RESERVATION: return "no such reservation";
	}
	/* The spec reserves this range for implementation-defined server errors. */
	if (code >= -32099 && code <= -32000)
		return "server error";
	return "unknown error";
}

/* ---- strict JSON text ---- */

static bool is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Find the first byte of buf that is not part of well-formed UTF-8: true
 * and *ret_off when there is one. */
static bool utf8_find_invalid(const char *buf, size_t len, size_t *ret_off)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0, n;

	while (i < len) {
		n = utf8_char_len(s + i, len - i);
		if (!n) {
			*ret_off = i;
			return true;
		}
		i += n;
	}
	return false;
}

/* Whether the decimal digits d[0..n) (no leading zero) exceed limit. */
static bool digits_above(const char *d, size_t n, const char *limit)
{
	size_t ln = strlen(limit);

	return n > ln || (n == ln && memcmp(d, limit, n) > 0);
}

/* Check the number token at s[*i] against the JSON grammar; advances *i.
 * *ret_inexact says it is an integer json-c cannot hold as written (beyond
 * int64/uint64, which it clamps, or "-0", which it prints as 0). */
static int lex_number(const char *s, size_t n, size_t *i, bool *ret_inexact, char *err,
		      size_t errlen)
{
	size_t start = *i, p = *i, digits;
	bool neg = false, integer = true;

	if (s[p] == '-') {
		neg = true;
		p++;
	}
	if (p < n && (s[p] == 'I' || s[p] == 'N')) {
		errf(err, errlen, "NaN and Infinity are not JSON (offset %zu)", start);
		return -1;
	}
	if (p >= n || !is_digit(s[p]))
		goto bad;
	digits = p;
	if (s[p] == '0') {
		p++;
		if (p < n && is_digit(s[p])) {
			errf(err, errlen, "number with a leading zero at offset %zu", start);
			return -1;
		}
	} else {
		while (p < n && is_digit(s[p]))
			p++;
	}
	digits = p - digits;
	if (p < n && s[p] == '.') {
		integer = false;
		p++;
		if (p >= n || !is_digit(s[p]))
			goto bad;
		while (p < n && is_digit(s[p]))
			p++;
	}
	if (p < n && (s[p] == 'e' || s[p] == 'E')) {
		integer = false;
		p++;
		if (p < n && (s[p] == '+' || s[p] == '-'))
			p++;
		if (p >= n || !is_digit(s[p]))
			goto bad;
		while (p < n && is_digit(s[p]))
			p++;
	}
	*ret_inexact =
		integer && (digits_above(s + p - digits, digits,
					 neg ? "9223372036854775808" : "18446744073709551615") ||
			    (neg && digits == 1 && s[p - 1] == '0'));
	*i = p;
	return 0;
bad:
	errf(err, errlen, "invalid number at offset %zu", start);
	return -1;
}

/* An integer token json-c cannot hold as written: its place among the
 * number tokens of the text, and the text. */
struct lex_inexact {
	size_t ordinal;
	size_t off, len;
};

/* What lex_check learns besides errors, for the check against json-c's
 * tree: members written in the text, and the inexact integers. */
struct lex_facts {
	size_t members;
	size_t numbers;
	struct lex_inexact *inexact; /* malloc'd, n_inexact of them */
	size_t n_inexact, cap_inexact;
};

/* The value of the 4 hex digits at s (json-c has checked that they are). */
static unsigned hex4(const char *s)
{
	unsigned v = 0;
	int k;

	for (k = 0; k < 4; k++) {
		char c = s[k];

		v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/* Check the string token at s[*i] (the opening quote) for raw control
 * characters and lone surrogates, and, for a member name (a string that a
 * ':' follows), for \u0000, which json-c would cut the name at. */
static int lex_string(const char *s, size_t n, size_t *i, char *err, size_t errlen)
{
	size_t p = *i + 1, start = *i, q;
	bool nul = false;
	unsigned cp;

	for (; p < n && s[p] != '"'; p++) {
		if ((unsigned char)s[p] < 0x20) {
			errf(err, errlen, "raw control character in a string at offset %zu", p);
			return -1;
		}
		if (s[p] != '\\')
			continue;
		if (p + 5 >= n || s[p + 1] != 'u') {
			p++;
			continue;
		}
		cp = hex4(s + p + 2);
		if (cp == 0)
			nul = true;
		if (cp >= 0xdc00 && cp <= 0xdfff) {
			errf(err, errlen, "lone low surrogate \\u%04x at offset %zu", cp, p);
			return -1;
		}
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (p + 11 >= n || s[p + 6] != '\\' || s[p + 7] != 'u' ||
			    hex4(s + p + 8) < 0xdc00 || hex4(s + p + 8) > 0xdfff) {
				errf(err, errlen, "lone high surrogate \\u%04x at offset %zu", cp,
				     p);
				return -1;
			}
			p += 6;
		}
		p += 5;
	}
	*i = p + 1;
	for (q = *i; q < n && is_json_space(s[q]); q++)
		;
	if (nul && q < n && s[q] == ':') {
		errf(err, errlen, "member name with \\u0000 at offset %zu", start);
		return -1;
	}
	return 0;
}

/* Note an inexact integer at s[off..off+len) in facts; -1 when out of memory. */
static int facts_add_inexact(struct lex_facts *facts, size_t off, size_t len)
{
	struct lex_inexact *v;

	if (facts->n_inexact == facts->cap_inexact) {
		size_t cap = facts->cap_inexact ? 2 * facts->cap_inexact : 4;

		v = realloc(facts->inexact, cap * sizeof(*v));
		if (!v)
			return -1;
		facts->inexact = v;
		facts->cap_inexact = cap;
	}
	facts->inexact[facts->n_inexact++] =
		(struct lex_inexact){.ordinal = facts->numbers, .off = off, .len = len};
	return 0;
}

/* Check the tokens of s[0..n), a text json-c has accepted, for what its
 * strict mode lets through, and container nesting beyond max_depth; count
 * into facts (which may be NULL) what the tree must agree with. */
static int lex_check(const char *s, size_t n, int max_depth, struct lex_facts *facts, char *err,
		     size_t errlen)
{
	static const char *const literals[] = {"true", "false", "null"};
	size_t i = 0, k, l, start;
	bool inexact;
	int depth = 0;

	while (i < n) {
		char c = s[i];

		if (c == '{' || c == '[') {
			if (++depth > max_depth) {
				errf(err, errlen, "nesting deeper than %d at offset %zu", max_depth,
				     i);
				return -1;
			}
			i++;
		} else if (c == '}' || c == ']') {
			depth--;
			i++;
		} else if (c == ':') {
			if (facts)
				facts->members++;
			i++;
		} else if (c == ',' || is_json_space(c)) {
			i++;
		} else if (c == '"') {
			if (lex_string(s, n, &i, err, errlen) < 0)
				return -1;
		} else if (c == '-' || is_digit(c)) {
			start = i;
			if (lex_number(s, n, &i, &inexact, err, errlen) < 0)
				return -1;
			if (facts && inexact && facts_add_inexact(facts, start, i - start) < 0) {
				errf(err, errlen, "out of memory");
				return -1;
			}
			if (facts)
				facts->numbers++;
		} else if (c == '\'') {
			errf(err, errlen, "single-quoted string at offset %zu", i);
			return -1;
		} else if (c == 'N' || c == 'I') {
			errf(err, errlen, "NaN and Infinity are not JSON (offset %zu)", i);
			return -1;
		} else {
			for (k = 0; k < sizeof(literals) / sizeof(literals[0]); k++) {
				l = strlen(literals[k]);
				if (n - i >= l && memcmp(s + i, literals[k], l) == 0)
					break;
			}
			if (k == sizeof(literals) / sizeof(literals[0])) {
				errf(err, errlen, "unexpected character at offset %zu", i);
				return -1;
			}
			i += l;
		}
	}
	return 0;
}

/* json-c's serializer for an inexact integer: the text as it was sent. */
static int inexact_to_json(json_object *v, struct printbuf *pb, int level, int flags)
{
	const char *text = json_object_get_userdata(v);

	(void)level;
	(void)flags;
	return printbuf_memappend(pb, text, (int)strlen(text));
}

static void inexact_free(json_object *v, void *userdata)
{
	(void)v;
	free(userdata);
}

/* Walk json-c's tree in text order (objects keep insertion order): count
 * the members it holds and give each inexact integer its text back. -1
 * when out of memory. */
static int tree_walk(json_object *v, const char *text, struct lex_facts *facts, size_t *members,
		     size_t *numbers, size_t *next)
{
	const struct lex_inexact *x;
	size_t i, n;
	char *copy;

	switch (json_object_get_type(v)) {
	case json_type_object:
		*members += (size_t)json_object_object_length(v);
		json_object_object_foreach(v, key, val)
		{
			(void)key;
			if (tree_walk(val, text, facts, members, numbers, next) < 0)
				return -1;
		}
		return 0;
	case json_type_array:
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			if (tree_walk(json_object_array_get_idx(v, i), text, facts, members,
				      numbers, next) < 0)
				return -1;
		return 0;
	case json_type_int:
	case json_type_double:
		x = *next < facts->n_inexact ? &facts->inexact[*next] : NULL;
		if (x && x->ordinal == *numbers) {
			copy = strndup(text + x->off, x->len);
			if (!copy)
				return -1;
			json_object_set_serializer(v, inexact_to_json, copy, inexact_free);
			(*next)++;
		}
		(*numbers)++;
		return 0;
	default: return 0;
	}
}

/* Whether v is an integer json-c holds exactly as it was written. */
static bool json_int_exact(json_object *v)
{
	return json_object_is_type(v, json_type_int) && !json_object_get_userdata(v);
}

/* One JSON text, strictly: whatever json-c and lex_check both accept. JSON
 * null comes back as NULL (json-c's null). */
int rpc_parse(const char *buf, size_t len, int max_depth, json_object **ret, char *err,
	      size_t errlen)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	struct lex_facts facts = {0};
	size_t end, off, members = 0, numbers = 0, next = 0;
	json_object *obj = NULL;

	if (len > INT_MAX) {
		errf(err, errlen, "message too large");
		return RPC_PARSE_ERROR;
	}
	/* No text nests deeper than it is long: spare json-c a huge stack. */
	if (max_depth < 0)
		max_depth = 0;
	if ((size_t)max_depth > len)
		max_depth = (int)len;
	for (off = 0; off < len && is_json_space(buf[off]); off++)
		;
	if (off == len) {
		errf(err, errlen, "empty message");
		return RPC_PARSE_ERROR;
	}
	if (memchr(buf, '\0', len)) {
		errf(err, errlen, "NUL byte at offset %zu",
		     (size_t)((const char *)memchr(buf, '\0', len) - buf));
		return RPC_PARSE_ERROR;
	}
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		errf(err, errlen, "byte order mark at offset 0 (JSON texts have none)");
		return RPC_PARSE_ERROR;
	}
	if (utf8_find_invalid(buf, len, &off)) {
		errf(err, errlen, "invalid UTF-8 at offset %zu", off);
		return RPC_PARSE_ERROR;
	}

	/* json-c counts the innermost scalar as a level; we count containers. */
	tok = json_tokener_new_ex(max_depth + 1);
	if (!tok) {
		errf(err, errlen, "out of memory");
		return RPC_PARSE_ERROR;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
					    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* All of buf was taken; a NUL tells json-c the text ends here
		 * (a number at the top level cannot end otherwise). */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	}
	json_tokener_free(tok);
	if (jerr == json_tokener_error_depth) {
		/* json-c notices one value later than we count: say where
		 * the container that went too deep opened. */
		if (lex_check(buf, end, max_depth, NULL, err, errlen) == 0)
			errf(err, errlen, "nesting deeper than %d at offset %zu", max_depth, end);
		goto fail;
	}
	if (jerr != json_tokener_success) {
		errf(err, errlen, "%s at offset %zu", json_tokener_error_desc(jerr), end);
		goto fail;
	}
	for (off = end; off < len && is_json_space(buf[off]); off++)
		;
	if (off < len) {
		errf(err, errlen, "trailing data after the JSON text at offset %zu", off);
		goto fail;
	}
	if (lex_check(buf, end, max_depth, &facts, err, errlen) < 0)
		goto fail;
	/* json-c keeps the last of two equal member names: with \u0000 and
	 * lone surrogates refused, its tree holds fewer members than the text
	 * exactly when some object repeats a name. */
	if (tree_walk(obj, buf, &facts, &members, &numbers, &next) < 0) {
		errf(err, errlen, "out of memory");
		goto fail;
	}
	if (members != facts.members) {
		errf(err, errlen, "duplicate member name in an object");
		goto fail;
	}
	free(facts.inexact);
	*ret = obj;
	return 0;
fail:
	free(facts.inexact);
	json_object_put(obj);
	return RPC_PARSE_ERROR;
}

/* ---- requests ---- */

/* What kind of JSON value v is, for messages ("a string", "null"...). */
static const char *json_kind(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double: return "a fractional number";
	case json_type_int: return "an integer";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "an unknown value";
}

/* Whether v is a JSON string equal to s, NUL bytes included. */
static bool json_string_is(json_object *v, const char *s)
{
	size_t n = strlen(s);

	return json_object_is_type(v, json_type_string) &&
	       (size_t)json_object_get_string_len(v) == n &&
	       memcmp(json_object_get_string(v), s, n) == 0;
}

/* Whether a json-c string holds a NUL byte (from a \u0000 escape). */
static bool json_string_has_nul(json_object *v)
{
	return memchr(json_object_get_string(v), '\0', (size_t)json_object_get_string_len(v)) !=
	       NULL;
}

/* Checks in this order: object, id (so later errors can echo it), unknown
 * members, jsonrpc, method, params. *ret_id is always written when given. */
int rpc_request_parse(json_object *obj, struct rpc_request *ret, json_object **ret_id, char *err,
		      size_t errlen)
{
	json_object *ver, *method, *params = NULL, *id = NULL;
	char q[EXCERPT_BUF];
	bool has_id;
	const char *m;
	size_t mlen;

	if (ret_id)
		*ret_id = NULL;
	if (!json_object_is_type(obj, json_type_object)) {
		errf(err, errlen, "a request must be an object, not %s", json_kind(obj));
		return RPC_INVALID_REQUEST;
	}
	has_id = json_object_object_get_ex(obj, "id", &id);
	if (has_id) {
		if (json_object_is_type(id, json_type_double)) {
			errf(err, errlen, "\"id\" must not be a fractional number");
			return RPC_INVALID_REQUEST;
		}
		if (!json_object_is_type(id, json_type_null) &&
		    !json_object_is_type(id, json_type_string) &&
		    !json_object_is_type(id, json_type_int)) {
			errf(err, errlen, "\"id\" must be a string, an integer or null, not %s",
			     json_kind(id));
			return RPC_INVALID_REQUEST;
		}
		/* From here on every error reply can echo the id. */
		if (ret_id)
			*ret_id = id;
	}
	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		if (strcmp(key, "jsonrpc") != 0 && strcmp(key, "method") != 0 &&
		    strcmp(key, "params") != 0 && strcmp(key, "id") != 0) {
			errf(err, errlen, "unknown member \"%s\"", excerpt(key, strlen(key), q));
			return RPC_INVALID_REQUEST;
		}
	}
	if (!json_object_object_get_ex(obj, "jsonrpc", &ver)) {
		errf(err, errlen, "\"jsonrpc\": \"2.0\" is missing");
		return RPC_INVALID_REQUEST;
	}
	if (!json_string_is(ver, "2.0")) {
		errf(err, errlen, "\"jsonrpc\" must be \"2.0\"");
		return RPC_INVALID_REQUEST;
	}
	if (!json_object_object_get_ex(obj, "method", &method)) {
		errf(err, errlen, "\"method\" is missing");
		return RPC_INVALID_REQUEST;
	}
	if (!json_object_is_type(method, json_type_string)) {
		errf(err, errlen, "\"method\" must be a string, not %s", json_kind(method));
		return RPC_INVALID_REQUEST;
	}
	m = json_object_get_string(method);
	mlen = (size_t)json_object_get_string_len(method);
	if (mlen == 0) {
		errf(err, errlen, "\"method\" is empty");
		return RPC_INVALID_REQUEST;
	}
	if (mlen > METHOD_MAX) {
		errf(err, errlen, "\"method\" is longer than %d bytes", METHOD_MAX);
		return RPC_INVALID_REQUEST;
	}
	if (json_string_has_nul(method)) {
		errf(err, errlen, "\"method\" contains a NUL byte");
		return RPC_INVALID_REQUEST;
	}
	if (json_object_object_get_ex(obj, "params", &params) &&
	    !json_object_is_type(params, json_type_object) &&
	    !json_object_is_type(params, json_type_array)) {
		errf(err, errlen, "\"params\" must be an object or an array, not %s",
		     json_kind(params));
		return RPC_INVALID_REQUEST;
	}
	ret->id = id;
	ret->notification = !has_id;
	ret->method = m;
	ret->params = params;
	return 0;
}

/* ---- replies and requests we build ---- */

/* Add val (taken, must not be NULL) to o; false when out of memory. */
static bool obj_add(json_object *o, const char *key, json_object *val)
{
	if (!val)
		return false;
	if (json_object_object_add(o, key, val) < 0) {
		json_object_put(val);
		return false;
	}
	return true;
}

/* Add val (taken, NULL is JSON null) to o; false when out of memory. */
static bool obj_add_nullable(json_object *o, const char *key, json_object *val)
{
	if (json_object_object_add(o, key, val) < 0) {
		json_object_put(val);
		return false;
	}
	return true;
}

/* A new {"jsonrpc":"2.0"}, or NULL when out of memory. */
static json_object *envelope_new(void)
{
	json_object *o = json_object_new_object();

	if (o && !obj_add(o, "jsonrpc", json_object_new_string("2.0"))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Returns NULL when out of memory (result is released then too). */
json_object *rpc_make_result(json_object *id, json_object *result)
{
	json_object *o = envelope_new();

	if (!o) {
		json_object_put(result);
		return NULL;
	}
	if (!obj_add_nullable(o, "result", result) ||
	    !obj_add_nullable(o, "id", json_object_get(id))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* A NULL message becomes rpc_error_name(code). Returns NULL when out of
 * memory (data is released then too). */
json_object *rpc_make_error(json_object *id, int code, const char *message, json_object *data)
{
	json_object *o = envelope_new(), *e = json_object_new_object();

	if (!o || !e) {
		json_object_put(data);
		goto fail;
	}
	if (!obj_add(e, "code", json_object_new_int(code)) ||
	    !obj_add(e, "message",
		     json_object_new_string(message ? message : rpc_error_name(code)))) {
		json_object_put(data);
		goto fail;
	}
	if (data && !obj_add(e, "data", data))
		goto fail;
	if (!obj_add(o, "error", e)) {
		e = NULL;
		goto fail;
	}
	e = NULL;
	if (!obj_add_nullable(o, "id", json_object_get(id)))
		goto fail;
	return o;
fail:
	json_object_put(e);
	json_object_put(o);
	return NULL;
}

/* Returns NULL when out of memory (params is released then too). */
json_object *rpc_make_request(int64_t id, const char *method, json_object *params)
{
	json_object *o = envelope_new();

	if (!o || !obj_add(o, "method", json_object_new_string(method))) {
		json_object_put(params);
		json_object_put(o);
		return NULL;
	}
	if ((params && !obj_add(o, "params", params)) ||
	    !obj_add(o, "id", json_object_new_int64(id))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* ---- replies we receive ---- */

/* Whether v is a JSON integer equal to id (json-c keeps values above
 * INT64_MAX as uint64, which get_int64 would clamp to INT64_MAX). */
static bool json_int_equals(json_object *v, int64_t id)
{
	int64_t i;

	if (!json_int_exact(v))
		return false;
	i = json_object_get_int64(v);
	if (i != id)
		return false;
	return i != INT64_MAX || json_object_get_uint64(v) == (uint64_t)INT64_MAX;
}

/* Whether every member of obj is one of names (NULL-terminated); if not,
 * *ret_key is the first that is not. */
static bool members_only(json_object *obj, const char *const *names, const char **ret_key)
{
	const char *const *n;

	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		for (n = names; *n; n++)
			if (strcmp(*n, key) == 0)
				break;
		if (!*n) {
			*ret_key = key;
			return false;
		}
	}
	return true;
}

/* A reply to a request we sent with id: 0 with the result, 1 with the
 * error (an error with a null id is taken as the reply: the server could
 * not read our request's id), or -EPROTO. */
int rpc_response_parse(json_object *obj, int64_t id, json_object **ret_result, int *ret_code,
		       const char **ret_message, json_object **ret_data, char *err, size_t errlen)
{
	static const char *const reply_members[] = {"jsonrpc", "result", "error", "id", NULL};
	static const char *const error_members[] = {"code", "message", "data", NULL};
	json_object *ver, *jid, *result = NULL, *error = NULL, *code, *msg, *data = NULL;
	bool has_result, has_error;
	char q[EXCERPT_BUF];
	const char *key, *s;
	int64_t c;

	if (!json_object_is_type(obj, json_type_object)) {
		errf(err, errlen, "reply is %s, not an object", json_kind(obj));
		return -EPROTO;
	}
	if (!members_only(obj, reply_members, &key)) {
		errf(err, errlen, "reply has an unknown member \"%s\"",
		     excerpt(key, strlen(key), q));
		return -EPROTO;
	}
	if (!json_object_object_get_ex(obj, "jsonrpc", &ver) || !json_string_is(ver, "2.0")) {
		errf(err, errlen, "reply lacks \"jsonrpc\": \"2.0\"");
		return -EPROTO;
	}
	has_result = json_object_object_get_ex(obj, "result", &result);
	has_error = json_object_object_get_ex(obj, "error", &error);
	if (has_result && has_error) {
		errf(err, errlen, "reply has both \"result\" and \"error\"");
		return -EPROTO;
	}
	if (!has_result && !has_error) {
		errf(err, errlen, "reply has neither \"result\" nor \"error\"");
		return -EPROTO;
	}
	if (!json_object_object_get_ex(obj, "id", &jid)) {
		errf(err, errlen, "reply has no \"id\"");
		return -EPROTO;
	}
	if (!json_int_equals(jid, id) && (has_result || jid)) {
		s = json_object_to_json_string_ext(jid, JSON_C_TO_STRING_PLAIN);
		errf(err, errlen, "reply id %s does not match request id %lld",
		     excerpt(s, strlen(s), q), (long long)id);
		return -EPROTO;
	}
	if (has_result) {
		if (ret_result)
			*ret_result = result;
		return 0;
	}
	if (!json_object_is_type(error, json_type_object)) {
		errf(err, errlen, "reply \"error\" is %s, not an object", json_kind(error));
		return -EPROTO;
	}
	if (!members_only(error, error_members, &key)) {
		errf(err, errlen, "reply error has an unknown member \"%s\"",
		     excerpt(key, strlen(key), q));
		return -EPROTO;
	}
	if (!json_object_object_get_ex(error, "code", &code) ||
	    !json_object_is_type(code, json_type_int)) {
		errf(err, errlen, "reply error has no integer \"code\"");
		return -EPROTO;
	}
	c = json_object_get_int64(code);
	if (c < INT_MIN || c > INT_MAX) {
		errf(err, errlen, "reply error code is out of range");
		return -EPROTO;
	}
	if (!json_object_object_get_ex(error, "message", &msg) ||
	    !json_object_is_type(msg, json_type_string)) {
		errf(err, errlen, "reply error has no string \"message\"");
		return -EPROTO;
	}
	json_object_object_get_ex(error, "data", &data);
	if (ret_code)
		*ret_code = (int)c;
	if (ret_message)
		*ret_message = json_object_get_string(msg);
	if (ret_data)
		*ret_data = data;
	return 1;
}

/* ---- params ---- */

/* A JSON integer as sign and magnitude: json-c holds it as int64, or as
 * uint64 above INT64_MAX. */
static void json_int_split(json_object *v, bool *ret_neg, uint64_t *ret_mag)
{
	int64_t i = json_object_get_int64(v);

	*ret_neg = i < 0;
	*ret_mag = i < 0 ? (uint64_t)0 - (uint64_t)i : json_object_get_uint64(v);
}

/* Whether s is a domain name we accept: 1 to 63 of [A-Za-z0-9_.-]. */
static bool domain_name_valid(const char *s, size_t n)
{
	size_t i;

	if (n < 1 || n > sizeof(((struct rpc_domain_ref *)NULL)->name) - 1)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
		      c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* The inclusive upper bound of a numeric field: its max, never above what
 * the type allows anywhere (SIZE_MAX_KIB, DURATION_MAX_MS). */
static uint64_t field_max(const struct rpc_field *f)
{
	uint64_t type_max = f->type == RPC_FIELD_SIZE	    ? SIZE_MAX_KIB
			    : f->type == RPC_FIELD_DURATION ? DURATION_MAX_MS
							    : UINT64_MAX;

	return f->max && f->max < type_max ? f->max : type_max;
}

/* Decode a U64, SIZE or DURATION member into *ret in the field's unit. */
static int number_decode(const struct rpc_field *f, json_object *v, uint64_t *ret, char *err,
			 size_t errlen)
{
	uint64_t max = field_max(f), u;
	char buf[UNIT_BUF], q[EXCERPT_BUF];
	const char *s;
	bool neg;
	int r;

	if (json_object_is_type(v, json_type_int) && !json_int_exact(v)) {
		s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
		errf(err, errlen, "params.%s: %s is out of range", f->name,
		     excerpt(s, strlen(s), q));
		return RPC_INVALID_PARAMS;
	}
	if (json_object_is_type(v, json_type_int)) {
		json_int_split(v, &neg, &u);
		if (neg) {
			errf(err, errlen, "params.%s: -%llu is negative", f->name,
			     (unsigned long long)u);
			return RPC_INVALID_PARAMS;
		}
		switch (f->type) {
		case RPC_FIELD_SIZE:
			if (u > max) {
				errf(err, errlen, "params.%s: %llu KiB is above the maximum %s",
				     f->name, (unsigned long long)u,
				     size_format(max, buf, sizeof(buf)));
				return RPC_INVALID_PARAMS;
			}
			break;
		case RPC_FIELD_DURATION:
			if (u > max / 1000) {
				errf(err, errlen, "params.%s: %llu s is above the maximum %s",
				     f->name, (unsigned long long)u,
				     duration_format(max, buf, sizeof(buf)));
				return RPC_INVALID_PARAMS;
			}
			u *= 1000;
			break;
		default:
			if (u > max) {
				errf(err, errlen, "params.%s: %llu is above the maximum %llu",
				     f->name, (unsigned long long)u, (unsigned long long)max);
				return RPC_INVALID_PARAMS;
			}
			break;
		}
		*ret = u;
		return 0;
	}
	if (f->type == RPC_FIELD_U64) {
		errf(err, errlen, "params.%s: expected a non-negative integer, not %s", f->name,
		     json_kind(v));
		return RPC_INVALID_PARAMS;
	}
	if (!json_object_is_type(v, json_type_string)) {
		if (f->type == RPC_FIELD_SIZE)
			errf(err, errlen,
			     "params.%s: expected a size (integer KiB or a string such as \"2G\"), "
			     "not %s",
			     f->name, json_kind(v));
		else
			errf(err, errlen,
			     "params.%s: expected a duration (integer seconds or a string such as "
			     "\"30s\"), not %s",
			     f->name, json_kind(v));
		return RPC_INVALID_PARAMS;
	}
	s = json_object_get_string(v);
	excerpt(s, (size_t)json_object_get_string_len(v), q);
	if (f->type == RPC_FIELD_SIZE) {
		r = size_parse(s, &u);
		if (r == -EINVAL) {
			errf(err, errlen,
			     "params.%s: \"%s\" is not a size (use K, M, G or T, e.g. 512M)",
			     f->name, q);
			return RPC_INVALID_PARAMS;
		}
		if (r < 0 || u > max) {
			errf(err, errlen, "params.%s: \"%s\" is above the maximum %s", f->name, q,
			     size_format(max, buf, sizeof(buf)));
			return RPC_INVALID_PARAMS;
		}
	} else {
		r = duration_parse(s, &u);
		if (r == -EINVAL) {
			errf(err, errlen,
			     "params.%s: \"%s\" is not a duration (use ms, s, m, h or d, e.g. 30s)",
			     f->name, q);
			return RPC_INVALID_PARAMS;
		}
		if (r < 0 || u > max) {
			errf(err, errlen, "params.%s: \"%s\" is above the maximum %s", f->name, q,
			     duration_format(max, buf, sizeof(buf)));
			return RPC_INVALID_PARAMS;
		}
	}
	*ret = u;
	return 0;
}

/* Decode a DOMAIN member: a domid or a name. */
static int domain_decode(const struct rpc_field *f, json_object *v, struct rpc_domain_ref *ret,
			 char *err, size_t errlen)
{
	struct rpc_domain_ref d;
	char q[EXCERPT_BUF];
	uint64_t u;
	bool neg;

	memset(&d, 0, sizeof(d));
	if (json_object_is_type(v, json_type_int) && !json_int_exact(v)) {
		const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);

		errf(err, errlen, "params.%s: %s is not a domain id (0 to %d)", f->name,
		     excerpt(s, strlen(s), q), DOMID_MAX);
		return RPC_INVALID_PARAMS;
	}
	if (json_object_is_type(v, json_type_int)) {
		json_int_split(v, &neg, &u);
		if (neg || u > DOMID_MAX) {
			errf(err, errlen, "params.%s: %s%llu is not a domain id (0 to %d)", f->name,
			     neg ? "-" : "", (unsigned long long)u, DOMID_MAX);
			return RPC_INVALID_PARAMS;
		}
		d.domid = (uint32_t)u;
	} else if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		size_t n = (size_t)json_object_get_string_len(v);

		if (!domain_name_valid(s, n)) {
			errf(err, errlen,
			     "params.%s: \"%s\" is not a domain name (1 to %zu of A-Z a-z 0-9 _ . "
			     "-)",
			     f->name, excerpt(s, n, q), sizeof(d.name) - 1);
			return RPC_INVALID_PARAMS;
		}
		d.by_name = true;
		memcpy(d.name, s, n);
	} else {
		errf(err, errlen, "params.%s: expected a domain id or name, not %s", f->name,
		     json_kind(v));
		return RPC_INVALID_PARAMS;
	}
	*ret = d;
	return 0;
}

/* Decode member v into the field f of the struct at base. */
static int field_decode(const struct rpc_field *f, json_object *v, void *base, char *err,
			size_t errlen)
{
	char *p = (char *)base + f->offset;
	struct rpc_domain_ref d;
	uint64_t u;
	size_t n;
	bool b;
	int r;

	/* Every type that takes a string takes it as a C string. */
	if (f->type != RPC_FIELD_U64 && f->type != RPC_FIELD_BOOL &&
	    json_object_is_type(v, json_type_string) && json_string_has_nul(v)) {
		errf(err, errlen, "params.%s: contains a NUL byte", f->name);
		return RPC_INVALID_PARAMS;
	}
	switch (f->type) {
	case RPC_FIELD_STRING:
		if (!json_object_is_type(v, json_type_string)) {
			errf(err, errlen, "params.%s: expected a string, not %s", f->name,
			     json_kind(v));
			return RPC_INVALID_PARAMS;
		}
		n = (size_t)json_object_get_string_len(v);
		if (n >= f->size) {
			errf(err, errlen, "params.%s: longer than %zu bytes", f->name,
			     f->size ? f->size - 1 : 0);
			return RPC_INVALID_PARAMS;
		}
		memcpy(p, json_object_get_string(v), n + 1);
		return 0;
	case RPC_FIELD_BOOL:
		if (!json_object_is_type(v, json_type_boolean)) {
			errf(err, errlen, "params.%s: expected true or false, not %s", f->name,
			     json_kind(v));
			return RPC_INVALID_PARAMS;
		}
		b = json_object_get_boolean(v);
		memcpy(p, &b, sizeof(b));
		return 0;
	case RPC_FIELD_U64:
	case RPC_FIELD_SIZE:
	case RPC_FIELD_DURATION:
		r = number_decode(f, v, &u, err, errlen);
		if (r)
			return r;
		memcpy(p, &u, sizeof(u));
		return 0;
	case RPC_FIELD_DOMAIN:
		r = domain_decode(f, v, &d, err, errlen);
		if (r)
			return r;
		memcpy(p, &d, sizeof(d));
		return 0;
	}
	errf(err, errlen, "params.%s: unsupported field type %d", f->name, (int)f->type);
	return RPC_INTERNAL_ERROR;
}

/* The names of fields, in order, as "a, b, c", for messages. */
static const char *field_names(const struct rpc_field *fields, char *buf, size_t len)
{
	const struct rpc_field *f;
	size_t pos = 0;
	int n;

	buf[0] = '\0';
	for (f = fields; f->name && pos < len; f++) {
		n = snprintf(buf + pos, len - pos, "%s%s", f == fields ? "" : ", ", f->name);
		if (n < 0)
			break;
		pos += (size_t)n;
	}
	return buf;
}

/* Decode every field from the member named like it (by name) or from the
 * element at its place in the table (by position): fields absent keep
 * whatever the caller put there (their defaults); present flags are
 * written for every field, true or false. */
static int fields_decode(json_object *params, bool by_position, const struct rpc_field *fields,
			 void *base, char *err, size_t errlen)
{
	size_t n = by_position ? json_object_array_length(params) : 0, i;
	const struct rpc_field *f;
	json_object *v = NULL;
	bool given;
	int r;

	for (f = fields, i = 0; f->name; f++, i++) {
		if (by_position) {
			given = i < n;
			v = given ? json_object_array_get_idx(params, i) : NULL;
		} else {
			given = params && json_object_object_get_ex(params, f->name, &v);
		}
		if (given) {
			r = field_decode(f, v, base, err, errlen);
			if (r)
				return r;
		} else if (f->required) {
			errf(err, errlen, "params.%s is required", f->name);
			return RPC_INVALID_PARAMS;
		}
		if (f->present_offset != RPC_NO_PRESENT)
			memcpy((char *)base + f->present_offset, &given, sizeof(given));
	}
	return 0;
}

int rpc_params_decode(json_object *params, const struct rpc_field *fields, void *base, char *err,
		      size_t errlen)
{
	const struct rpc_field *f;
	char q[EXCERPT_BUF], names[128];
	size_t n_fields = 0, n;

	for (f = fields; f->name; f++)
		n_fields++;
	if (params && json_object_is_type(params, json_type_array)) {
		n = json_object_array_length(params);
		if (n > n_fields) {
			if (n_fields)
				errf(err, errlen,
				     "params: %zu given by position, at most %zu taken (%s)", n,
				     n_fields, field_names(fields, names, sizeof(names)));
			else
				errf(err, errlen, "params: %zu given, this method takes none", n);
			return RPC_INVALID_PARAMS;
		}
		return fields_decode(params, true, fields, base, err, errlen);
	}
	if (params && !json_object_is_type(params, json_type_object)) {
		errf(err, errlen, "params must be an object or an array, not %s",
		     json_kind(params));
		return RPC_INVALID_PARAMS;
	}
	if (params) {
		json_object_object_foreach(params, key, val)
		{
			(void)val;
			for (f = fields; f->name; f++)
				if (strcmp(f->name, key) == 0)
					break;
			if (!f->name) {
				errf(err, errlen, "params.%s: unknown parameter",
				     excerpt(key, strlen(key), q));
				return RPC_INVALID_PARAMS;
			}
		}
	}
	return fields_decode(params, false, fields, base, err, errlen);
}
