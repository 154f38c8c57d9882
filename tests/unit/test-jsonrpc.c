/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for lib/jsonrpc.c: strict parsing, request validation, replies
 * built and checked, and the declarative params decoder. Table-driven: each
 * case says why it is there, and a failure names the case. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "jsonrpc.h"
#include "units.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Fail naming the table case when cond does not hold. */
#define CHECK(cond, why)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail_msg("case \"%s\": %s (line %d)", (why), #cond, __LINE__);             \
	} while (0)

/* A json_object* no function may write on failure. */
#define SENTINEL ((json_object *)(uintptr_t)0x5e5e)

/* Parse text that must be valid JSON. */
static json_object *parse_ok(const char *text)
{
	json_object *o = SENTINEL;
	char err[256] = "";

	if (rpc_parse(text, strlen(text), 32, &o, err, sizeof(err)) != 0)
		fail_msg("setup: cannot parse %s: %s", text, err);
	return o;
}

/* Serialize compactly, for comparisons with expected text. */
static const char *to_text(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* ---- rpc_error_name ---- */

static void error_name_covers_every_code(void **state)
{
	static const struct {
		int code;
		const char *name;
	} cases[] = {
		{RPC_PARSE_ERROR, "parse error"},
		{RPC_INVALID_REQUEST, "invalid request"},
		{RPC_METHOD_NOT_FOUND, "method not found"},
		{RPC_INVALID_PARAMS, "invalid params"},
		{RPC_INTERNAL_ERROR, "internal error"},
		{RPC_ERR_NO_SUCH_DOMAIN, "no such domain"},
		{RPC_ERR_OUT_OF_BOUNDS, "out of bounds"},
		{RPC_ERR_INSUFFICIENT_MEMORY, "insufficient memory"},
		{RPC_ERR_NOT_PERMITTED, "not permitted"},
		{RPC_ERR_BUSY, "busy"},
		{RPC_ERR_NOT_MANAGED, "not managed"},
		{RPC_ERR_BACKEND, "backend error"},
		{RPC_ERR_NO_SUCH_RESERVATION, "no such reservation"},
		{-32000, "server error"},
		{-32099, "server error"},
		{-32100, "unknown error"},
		{0, "unknown error"},
		{99, "unknown error"},
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++)
		assert_string_equal(rpc_error_name(cases[i].code), cases[i].name);
}

/* ---- rpc_parse ---- */

struct parse_ok_case {
	const char *why;
	const char *text;
	size_t len; /* 0: strlen(text) */
	int max_depth;
	const char *expect; /* compact serialization of the value */
};

static void parse_accepts_rfc8259_json(void **state)
{
	static const struct parse_ok_case cases[] = {
		{"empty object", "{}", 0, 32, "{}"},
		{"empty array", "[]", 0, 32, "[]"},
		{"top-level integer (needs end of input)", "1", 0, 32, "1"},
		{"top-level negative zero, as written", "-0", 0, 32, "-0"},
		{"integer above uint64, as written", "[18446744073709551616]", 0, 32,
		 "[18446744073709551616]"},
		{"integer far above uint64, as written", "{\"id\":99999999999999999999999}", 0, 32,
		 "{\"id\":99999999999999999999999}"},
		{"integer below int64, as written", "-9223372036854775809", 0, 32,
		 "-9223372036854775809"},
		{"inexact integers among exact ones",
		 "[1,{\"a\":-0,\"b\":[2,1e2,18446744073709551616]},3]", 0, 32,
		 "[1,{\"a\":-0,\"b\":[2,1e2,18446744073709551616]},3]"},
		{"same name in different objects", "[{\"a\":1},{\"a\":2,\"b\":{\"a\":3}}]", 0, 32,
		 "[{\"a\":1},{\"a\":2,\"b\":{\"a\":3}}]"},
		{"names that differ after an escape", "{\"a\":1,\"\\u0061b\":2}", 0, 32,
		 "{\"a\":1,\"ab\":2}"},
		{"colon and quotes inside strings are not members", "{\"a\":\":\\\":\"}", 0, 32,
		 "{\"a\":\":\\\":\"}"},
		{"top-level string", "\"s\"", 0, 32, "\"s\""},
		{"top-level true", "true", 0, 32, "true"},
		{"top-level null", "null", 0, 32, "null"},
		{"surrounding JSON whitespace", " \t\r\n{\"a\":1} \r\n\t", 0, 32, "{\"a\":1}"},
		{"fraction and exponent", "[1.5e3,-2E-2,0.5]", 0, 32, "[1.5e3,-2E-2,0.5]"},
		{"largest uint64", "[18446744073709551615]", 0, 32, "[18446744073709551615]"},
		{"smallest int64", "[-9223372036854775808]", 0, 32, "[-9223372036854775808]"},
		{"huge double stays a double", "[1e400]", 0, 32, "[1e400]"},
		{"two- to four-byte UTF-8", "[\"\xc3\xa9\xe2\x82\xac\xf0\x90\x80\x80\"]", 0, 32,
		 "[\"\xc3\xa9\xe2\x82\xac\xf0\x90\x80\x80\"]"},
		{"escapes", "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"]", 0, 32,
		 "[\"\\\"\\\\/\\b\\f\\n\\r\\t\xc3\xa9\"]"},
		{"surrogate pair escape", "[\"\\ud800\\udc00\"]", 0, 32, "[\"\xf0\x90\x80\x80\"]"},
		{"\\u0000 escape is JSON (consumers check)", "[\"a\\u0000b\"]", 0, 32,
		 "[\"a\\u0000b\"]"},
		{"DEL is not a control character", "[\"\x7f\"]", 0, 32, "[\"\x7f\"]"},
		{"exactly len bytes are read", "{}garbage", 2, 32, "{}"},
		{"number cut by len", "123456", 3, 32, "123"},
		{"arrays nested exactly to the limit", "[[[1]]]", 0, 3, "[[[1]]]"},
		{"objects nested exactly to the limit", "{\"a\":{\"b\":{\"c\":1}}}", 0, 3,
		 "{\"a\":{\"b\":{\"c\":1}}}"},
		{"scalar with depth 0", "7", 0, 0, "7"},
		{"huge depth limit costs nothing", "[[1]]", 0, INT_MAX, "[[1]]"},
		{"batch of requests", "[{\"jsonrpc\":\"2.0\",\"method\":\"a\"},1]", 0, 2,
		 "[{\"jsonrpc\":\"2.0\",\"method\":\"a\"},1]"},
		{"brackets inside strings do not nest", "[\"[[[[{{{{\"]", 0, 1, "[\"[[[[{{{{\"]"},
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		const struct parse_ok_case *c = &cases[i];
		json_object *o = SENTINEL;
		char err[256] = "";
		int r;

		r = rpc_parse(c->text, c->len ? c->len : strlen(c->text), c->max_depth, &o, err,
			      sizeof(err));
		if (r != 0)
			fail_msg("case \"%s\": rejected: %s", c->why, err);
		CHECK(o != SENTINEL, c->why);
		CHECK(strcmp(to_text(o), c->expect) == 0, c->why);
		json_object_put(o);
	}
}

static void parse_returns_null_for_json_null(void **state)
{
	json_object *o = SENTINEL;
	char err[64];

	assert_int_equal(rpc_parse("null", 4, 32, &o, err, sizeof(err)), 0);
	assert_null(o);
}

struct parse_bad_case {
	const char *why;
	const char *text;
	size_t len; /* 0: strlen(text) */
	int max_depth;
	const char *msg; /* expected in the message */
};

static void parse_rejects_malformed_json_with_a_message(void **state)
{
	static const struct parse_bad_case cases[] = {
		{"empty", "", 0, 32, "empty message"},
		{"whitespace only", " \r\n\t", 0, 32, "empty message"},
		{"truncated request", "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"id\":1", 0, 32,
		 "unexpected end of data"},
		{"unterminated string", "[\"abc", 0, 32, "unexpected end of data"},
		{"truncated literal", "tru", 0, 32, "unexpected end of data"},
		{"lone minus", "-", 0, 32, "unexpected end of data"},
		{"trailing garbage", "{\"a\":1} x", 0, 32,
		 "trailing data after the JSON text at offset 8"},
		{"two values", "{}{}", 0, 32, "trailing data after the JSON text at offset 2"},
		{"two numbers", "1 2", 0, 32, "trailing data"},
		{"form feed is not JSON whitespace", "{}\f", 0, 32, "trailing data"},
		{"form feed before the value", "\f{}", 0, 32, "unexpected character"},
		{"embedded NUL", "{}\0", 3, 32, "NUL byte at offset 2"},
		{"NUL inside a string", "[\"a\0b\"]", 7, 32, "NUL byte at offset 3"},
		{"not JSON at all", "this is not json", 0, 32, "boolean expected"},
		{"comment", "/* x */ {}", 0, 32, "unexpected character"},
		{"trailing comma in array", "[1,]", 0, 32, "unexpected character"},
		{"trailing comma in object", "{\"a\":1,}", 0, 32, "unexpected character"},
		{"missing comma", "[1 2]", 0, 32, "separator"},
		{"unquoted key", "{a:1}", 0, 32, "quoted object property name"},
		{"single-quoted key", "{'a':1}", 0, 32, "single-quoted string at offset 1"},
		{"single-quoted value", "{\"a\":'b'}", 0, 32, "unexpected character"},
		{"capitalised literal", "True", 0, 32, "boolean expected"},
		{"bad escape", "[\"\\x\"]", 0, 32, "invalid string sequence"},
		{"short unicode escape", "[\"\\u12\"]", 0, 32, "invalid string sequence"},
		{"raw control character in a string", "[\"a\x01z\"]", 0, 32,
		 "raw control character in a string at offset 3"},
		{"raw tab in a string", "[\"a\tb\"]", 0, 32, "raw control character"},
		{"raw newline in a string", "[\"a\nb\"]", 0, 32, "raw control character"},
		{"NaN", "NaN", 0, 32, "NaN and Infinity are not JSON"},
		{"Infinity in an array", "[Infinity]", 0, 32, "NaN and Infinity are not JSON"},
		{"-Infinity", "[-Infinity]", 0, 32, "NaN and Infinity are not JSON"},
		{"leading zero", "[01]", 0, 32, "number expected"},
		{"negative leading zero", "[-01]", 0, 32, "leading zero at offset 1"},
		{"double zero", "00", 0, 32, "leading zero at offset 0"},
		{"dot without digits", "[1.]", 0, 32, "invalid number at offset 1"},
		{"leading dot", "[.5]", 0, 32, "unexpected character"},
		{"plus sign", "[+1]", 0, 32, "unexpected character"},
		{"exponent without digits", "[1e]", 0, 32, "number expected"},
		{"hex", "[0x10]", 0, 32, "number expected"},
		{"member name with \\u0000 (json-c cuts it)", "{\"domain\\u0000x\":\"db\"}", 0, 32,
		 "member name with \\u0000 at offset 1"},
		{"nested member name with \\u0000", "[{\"a\":{\"b\\u0000\" :1}}]", 0, 32,
		 "member name with \\u0000 at offset 7"},
		{"duplicate member name (json-c keeps the last)", "{\"a\":1,\"a\":2}", 0, 32,
		 "duplicate member name in an object"},
		{"duplicate written with an escape", "{\"id\":1,\"\\u0069d\":2}", 0, 32,
		 "duplicate member name in an object"},
		{"duplicate in a nested object", "[1,{\"x\":{\"k\":[],\"k\":{}}}]", 0, 32,
		 "duplicate member name in an object"},
		{"duplicate whose first value held members", "{\"a\":{\"x\":1,\"y\":2},\"a\":{}}",
		 0, 32, "duplicate member name in an object"},
		{"lone high surrogate", "[\"\\ud800\"]", 0, 32,
		 "lone high surrogate \\ud800 at offset 2"},
		{"high surrogate then a non-surrogate", "[\"\\ud83d\\u0041\"]", 0, 32,
		 "lone high surrogate"},
		{"high surrogate then text", "[\"\\uD800x\"]", 0, 32, "lone high surrogate"},
		{"lone low surrogate", "[\"\\udc00\"]", 0, 32, "lone low surrogate \\udc00"},
		{"two high surrogates", "[\"\\ud800\\ud800\\udc00\"]", 0, 32,
		 "lone high surrogate"},
		{"lone surrogate in an id",
		 "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"id\":\"\\udfff\"}", 0, 32,
		 "lone low surrogate"},
		{"lone surrogate in a member name", "{\"\\ud800\":1}", 0, 32,
		 "lone high surrogate"},
		{"arrays one level over the limit", "[[[[1]]]]", 0, 3,
		 "nesting deeper than 3 at offset 3"},
		{"empty array one level over the limit", "[[[[]]]]", 0, 3,
		 "nesting deeper than 3 at offset 3"},
		{"objects one level over the limit", "{\"a\":{\"b\":{\"c\":{}}}}", 0, 3,
		 "nesting deeper than 3"},
		{"any container with depth 0", "[]", 0, 0, "nesting deeper than 0 at offset 0"},
		{"negative depth limit counts as 0", "[]", 0, -1, "nesting deeper than 0"},
		{"fifty open brackets, unterminated",
		 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 0, 32,
		 "nesting deeper than 32 at offset 32"},
		{"invalid UTF-8 byte", "[\"\xff\"]", 0, 32, "invalid UTF-8 at offset 2"},
		{"lone continuation byte", "[\"\x80\"]", 0, 32, "invalid UTF-8 at offset 2"},
		{"overlong slash", "[\"\xc0\xaf\"]", 0, 32, "invalid UTF-8 at offset 2"},
		{"overlong three-byte", "[\"\xe0\x80\xaf\"]", 0, 32, "invalid UTF-8 at offset 2"},
		{"UTF-8 encoded surrogate", "[\"\xed\xa0\x80\"]", 0, 32,
		 "invalid UTF-8 at offset 2"},
		{"above U+10FFFF", "[\"\xf4\x90\x80\x80\"]", 0, 32, "invalid UTF-8 at offset 2"},
		{"truncated sequence at the end", "[\"\xe2\x82", 0, 32,
		 "invalid UTF-8 at offset 2"},
		{"invalid UTF-8 outside strings", "[1]\xff", 0, 32, "invalid UTF-8 at offset 3"},
		{"byte order mark", "\xef\xbb\xbf{}", 0, 32, "byte order mark at offset 0"},
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		const struct parse_bad_case *c = &cases[i];
		json_object *o = SENTINEL;
		char err[256] = "";
		int r;

		r = rpc_parse(c->text, c->len ? c->len : strlen(c->text), c->max_depth, &o, err,
			      sizeof(err));
		CHECK(r == RPC_PARSE_ERROR, c->why);
		CHECK(o == SENTINEL, c->why);
		if (!strstr(err, c->msg))
			fail_msg("case \"%s\": message \"%s\" lacks \"%s\"", c->why, err, c->msg);
	}
}

static void parse_truncates_message_to_errlen(void **state)
{
	json_object *o = SENTINEL;
	char err[8];

	memset(err, 'x', sizeof(err));
	assert_int_equal(rpc_parse("{} x", 4, 32, &o, err, sizeof(err)), RPC_PARSE_ERROR);
	assert_int_equal(err[sizeof(err) - 1], '\0');
	assert_ptr_equal(o, SENTINEL);
	/* A NULL buffer is allowed too. */
	assert_int_equal(rpc_parse("{} x", 4, 32, &o, NULL, 0), RPC_PARSE_ERROR);
}

/* ---- rpc_request_parse ---- */

enum id_kind { ID_ABSENT, ID_NULL, ID_INT, ID_STRING };

struct request_ok_case {
	const char *why;
	const char *text;
	const char *method;
	enum json_type params; /* json_type_null: absent */
	enum id_kind id;
	const char *id_text; /* compact serialization of the id */
};

static void request_parse_accepts_every_valid_shape(void **state)
{
	static const struct request_ok_case cases[] = {
		{"named params, integer id",
		 "{\"jsonrpc\":\"2.0\",\"method\":\"domain.get\",\"params\":{\"domain\":3},\"id\":"
		 "1}",
		 "domain.get", json_type_object, ID_INT, "1"},
		{"positional params, string id",
		 "{\"jsonrpc\":\"2.0\",\"method\":\"subtract\",\"params\":[42,23],\"id\":\"abc\"}",
		 "subtract", json_type_array, ID_STRING, "\"abc\""},
		{"no params", "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"id\":7}", "hello",
		 json_type_null, ID_INT, "7"},
		{"notification with params",
		 "{\"jsonrpc\":\"2.0\",\"method\":\"update\",\"params\":[1,2,3]}", "update",
		 json_type_array, ID_ABSENT, NULL},
		{"notification without params", "{\"jsonrpc\":\"2.0\",\"method\":\"foobar\"}",
		 "foobar", json_type_null, ID_ABSENT, NULL},
		{"null id is a request, not a notification",
		 "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"id\":null}", "hello", json_type_null,
		 ID_NULL, NULL},
		{"empty string id", "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"id\":\"\"}",
		 "hello", json_type_null, ID_STRING, "\"\""},
		{"negative id", "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"id\":-5}", "hello",
		 json_type_null, ID_INT, "-5"},
		{"id above INT64_MAX kept exact",
		 "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"id\":18446744073709551615}", "hello",
		 json_type_null, ID_INT, "18446744073709551615"},
		{"empty params object",
		 "{\"id\":1,\"params\":{},\"method\":\"hello\",\"jsonrpc\":\"2.0\"}", "hello",
		 json_type_object, ID_INT, "1"},
		{"empty params array",
		 "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"params\":[],\"id\":1}", "hello",
		 json_type_array, ID_INT, "1"},
		{"method of exactly 64 bytes",
		 "{\"jsonrpc\":\"2.0\",\"method\":"
		 "\"mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm\",\"id\":1}",
		 "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", json_type_null,
		 ID_INT, "1"},
		{"\"rpc\" without the dot is not reserved",
		 "{\"jsonrpc\":\"2.0\",\"method\":\"rpcx.y\",\"id\":1}", "rpcx.y", json_type_null,
		 ID_INT, "1"},
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		const struct request_ok_case *c = &cases[i];
		json_object *o = parse_ok(c->text), *id = SENTINEL;
		struct rpc_request req;
		char err[256] = "";

		memset(&req, 0, sizeof(req));
		if (rpc_request_parse(o, &req, &id, err, sizeof(err)) != 0)
			fail_msg("case \"%s\": rejected: %s", c->why, err);
		CHECK(strcmp(req.method, c->method) == 0, c->why);
		CHECK(req.notification == (c->id == ID_ABSENT), c->why);
		if (c->params == json_type_null)
			CHECK(req.params == NULL, c->why);
		else
			CHECK(json_object_is_type(req.params, c->params), c->why);
		switch (c->id) {
		case ID_ABSENT:
		case ID_NULL: CHECK(req.id == NULL, c->why); break;
		case ID_INT:
			CHECK(json_object_is_type(req.id, json_type_int), c->why);
			CHECK(strcmp(to_text(req.id), c->id_text) == 0, c->why);
			break;
		case ID_STRING:
			CHECK(json_object_is_type(req.id, json_type_string), c->why);
			CHECK(strcmp(to_text(req.id), c->id_text) == 0, c->why);
			break;
		}
		CHECK(id == req.id, c->why);
		json_object_put(o);
	}
}

struct request_bad_case {
	const char *why;
	const char *text;
	const char *msg;     /* expected in the message */
	const char *echo_id; /* serialization of *ret_id, or NULL for none */
};

static void request_parse_rejects_invalid_requests(void **state)
{
	static const struct request_bad_case cases[] = {
		/* The JSON-RPC 2.0 specification's examples. */
		{"spec: method not a string, params a string",
		 "{\"jsonrpc\":\"2.0\",\"method\":1,\"params\":\"bar\"}",
		 "\"method\" must be a string", NULL},
		{"spec: batch element not an object", "1", "must be an object, not an integer",
		 NULL},
		{"spec: foo/boo object", "{\"foo\":\"boo\"}", "unknown member \"foo\"", NULL},
		{"array is not a request", "[{\"jsonrpc\":\"2.0\",\"method\":\"a\"}]",
		 "must be an object, not an array", NULL},
		{"string is not a request", "\"hello\"", "must be an object, not a string", NULL},
		{"null is not a request", "null", "must be an object, not null", NULL},
		/* jsonrpc */
		{"jsonrpc missing", "{\"method\":\"hello\",\"id\":1}",
		 "\"jsonrpc\": \"2.0\" is missing", "1"},
		{"jsonrpc 1.0", "{\"jsonrpc\":\"1.0\",\"method\":\"hello\",\"id\":1}",
		 "\"jsonrpc\" must be \"2.0\"", "1"},
		{"jsonrpc a number", "{\"jsonrpc\":2.0,\"method\":\"hello\",\"id\":1}",
		 "\"jsonrpc\" must be \"2.0\"", "1"},
		{"jsonrpc with a hidden NUL",
		 "{\"jsonrpc\":\"2.0\\u0000x\",\"method\":\"hello\",\"id\":1}",
		 "\"jsonrpc\" must be \"2.0\"", "1"},
		{"jsonrpc padded", "{\"jsonrpc\":\" 2.0\",\"method\":\"hello\",\"id\":1}",
		 "\"jsonrpc\" must be \"2.0\"", "1"},
		/* method */
		{"method missing", "{\"jsonrpc\":\"2.0\",\"id\":1}", "\"method\" is missing", "1"},
		{"method a number", "{\"jsonrpc\":\"2.0\",\"method\":42,\"id\":1}",
		 "\"method\" must be a string, not an integer", "1"},
		{"method null", "{\"jsonrpc\":\"2.0\",\"method\":null,\"id\":1}",
		 "\"method\" must be a string, not null", "1"},
		{"method empty", "{\"jsonrpc\":\"2.0\",\"method\":\"\",\"id\":1}",
		 "\"method\" is empty", "1"},
		{"method of 65 bytes",
		 "{\"jsonrpc\":\"2.0\",\"method\":"
		 "\"mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm\",\"id\":1}",
		 "longer than 64 bytes", "1"},
		{"method with a NUL", "{\"jsonrpc\":\"2.0\",\"method\":\"hel\\u0000lo\",\"id\":1}",
		 "\"method\" contains a NUL byte", "1"},
		/* params */
		{"params a string",
		 "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"params\":\"x\",\"id\":1}",
		 "\"params\" must be an object or an array, not a string", "1"},
		{"params a number",
		 "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"params\":3,\"id\":1}",
		 "not an integer", "1"},
		{"params true",
		 "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"params\":true,\"id\":1}",
		 "not a boolean", "1"},
		{"params null",
		 "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"params\":null,\"id\":1}", "not null",
		 "1"},
		/* members */
		{"extra member echoes the id",
		 "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"id\":7,\"extra\":1}",
		 "unknown member \"extra\"", "7"},
		{"extra member echoes a string id",
		 "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"id\":\"req-1\",\"Method\":1}",
		 "unknown member \"Method\"", "\"req-1\""},
		{"invalid request with a null id echoes null",
		 "{\"jsonrpc\":\"1.0\",\"method\":\"hello\",\"id\":null}", "must be \"2.0\"", NULL},
		/* id */
		{"fractional id", "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"id\":1.5}",
		 "\"id\" must not be a fractional number", NULL},
		{"integral double id", "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"id\":1.0}",
		 "fractional", NULL},
		{"exponent id", "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"id\":1e2}",
		 "fractional", NULL},
		{"boolean id", "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"id\":true}",
		 "\"id\" must be a string, an integer or null, not a boolean", NULL},
		{"object id", "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"id\":{}}",
		 "not an object", NULL},
		{"array id", "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"id\":[1]}",
		 "not an array", NULL},
		{"bad id wins over other faults", "{\"jsonrpc\":\"1.0\",\"id\":false}",
		 "\"id\" must be", NULL},
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		const struct request_bad_case *c = &cases[i];
		json_object *o = parse_ok(c->text), *id = SENTINEL;
		struct rpc_request req, before;
		char err[256] = "";
		int r;

		memset(&req, 0xa5, sizeof(req));
		before = req;
		r = rpc_request_parse(o, &req, &id, err, sizeof(err));
		CHECK(r == RPC_INVALID_REQUEST, c->why);
		CHECK(memcmp(&req, &before, sizeof(req)) == 0, c->why);
		if (!strstr(err, c->msg))
			fail_msg("case \"%s\": message \"%s\" lacks \"%s\"", c->why, err, c->msg);
		if (c->echo_id)
			CHECK(id && strcmp(to_text(id), c->echo_id) == 0, c->why);
		else
			CHECK(id == NULL, c->why);
		json_object_put(o);
	}
}

static void request_parse_accepts_null_ret_id(void **state)
{
	json_object *o = parse_ok("{\"jsonrpc\":\"1.0\",\"method\":\"x\",\"id\":1}");
	struct rpc_request req;
	char err[128];

	assert_int_equal(rpc_request_parse(o, &req, NULL, err, sizeof(err)), RPC_INVALID_REQUEST);
	json_object_put(o);
}

/* rpc.* names are reserved for the protocol's own extensions: a server
 * without them answers "method not found" (-32601), so the request itself
 * is valid and the method table decides. */
static void request_parse_leaves_rpc_methods_to_the_method_table(void **state)
{
	json_object *o = parse_ok("{\"jsonrpc\":\"2.0\",\"method\":\"rpc.discover\",\"id\":1}");
	struct rpc_request req;
	char err[128];

	assert_int_equal(rpc_request_parse(o, &req, NULL, err, sizeof(err)), 0);
	assert_string_equal(req.method, "rpc.discover");
	json_object_put(o);
}

/* Any integer is a valid id: those json-c cannot hold are echoed as sent. */
static void integer_ids_are_echoed_exactly_as_sent(void **state)
{
	static const char *const ids[] = {
		"18446744073709551616",
		"18446744073709551615",
		"9223372036854775808",
		"-9223372036854775809",
		"99999999999999999999999999999999",
		"-0",
		"0",
		"-1",
	};
	char text[256], want[256], err[128];
	struct rpc_request req;
	json_object *o, *id, *reply;
	size_t i;

	for (i = 0; i < N_ELEMS(ids); i++) {
		snprintf(text, sizeof(text), "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"id\":%s}",
			 ids[i]);
		o = parse_ok(text);
		assert_int_equal(rpc_request_parse(o, &req, &id, err, sizeof(err)), 0);
		reply = rpc_make_error(req.id, RPC_METHOD_NOT_FOUND, "m", NULL);
		snprintf(want, sizeof(want),
			 "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32601,\"message\":\"m\"},"
			 "\"id\":%s}",
			 ids[i]);
		assert_string_equal(to_text(reply), want);
		json_object_put(reply);
		reply = rpc_make_result(req.id, json_object_new_int(1));
		snprintf(want, sizeof(want), "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":%s}",
			 ids[i]);
		assert_string_equal(to_text(reply), want);
		json_object_put(reply);
		json_object_put(o);
	}
}

/* A client must not take a clamped id for its own. */
static void a_reply_with_an_inexact_id_does_not_match(void **state)
{
	json_object *o =
		parse_ok("{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":9223372036854775808000}");
	json_object *res;
	char err[128];

	assert_int_equal(rpc_response_parse(o, INT64_MAX, &res, NULL, NULL, NULL, err, sizeof(err)),
			 -EPROTO);
	json_object_put(o);
}

/* ---- building replies and requests ---- */

static void make_result_builds_exact_reply_and_borrows_id(void **state)
{
	json_object *id = json_object_new_int(7), *sid = json_object_new_string("a"), *r;

	r = rpc_make_result(id, json_object_new_int(1));
	assert_non_null(r);
	assert_string_equal(to_text(r), "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":7}");
	json_object_put(r);
	/* The reply held its own reference: id is still ours. */
	assert_int_equal(json_object_get_int(id), 7);

	r = rpc_make_result(sid, NULL);
	assert_string_equal(to_text(r), "{\"jsonrpc\":\"2.0\",\"result\":null,\"id\":\"a\"}");
	json_object_put(r);

	r = rpc_make_result(NULL, json_object_new_object());
	assert_string_equal(to_text(r), "{\"jsonrpc\":\"2.0\",\"result\":{},\"id\":null}");
	json_object_put(r);
	json_object_put(id);
	json_object_put(sid);
}

static void make_error_builds_exact_reply(void **state)
{
	json_object *id = json_object_new_int(3), *data = json_object_new_object(), *r;

	json_object_object_add(data, "min", json_object_new_int(1024));
	r = rpc_make_error(id, RPC_ERR_OUT_OF_BOUNDS, "target below dmin", data);
	assert_string_equal(to_text(r), "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":2,\"message\":"
					"\"target below dmin\",\"data\":{\"min\":1024}},\"id\":3}");
	json_object_put(r);

	r = rpc_make_error(NULL, RPC_PARSE_ERROR, "bad", NULL);
	assert_string_equal(to_text(r), "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32700,"
					"\"message\":\"bad\"},\"id\":null}");
	json_object_put(r);

	/* Without a message the code's name is used. */
	r = rpc_make_error(id, RPC_METHOD_NOT_FOUND, NULL, NULL);
	assert_string_equal(to_text(r), "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32601,"
					"\"message\":\"method not found\"},\"id\":3}");
	json_object_put(r);
	json_object_put(id);
}

static void make_request_builds_a_valid_request(void **state)
{
	json_object *params = json_object_new_object(), *r;
	struct rpc_request req;
	char err[128];

	r = rpc_make_request(1, "hello", NULL);
	assert_string_equal(to_text(r), "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"id\":1}");
	json_object_put(r);

	json_object_object_add(params, "domain", json_object_new_int(3));
	r = rpc_make_request(INT64_MAX, "domain.get", params);
	assert_string_equal(to_text(r), "{\"jsonrpc\":\"2.0\",\"method\":\"domain.get\","
					"\"params\":{\"domain\":3},\"id\":9223372036854775807}");
	assert_int_equal(rpc_request_parse(r, &req, NULL, err, sizeof(err)), 0);
	assert_string_equal(req.method, "domain.get");
	assert_false(req.notification);
	assert_ptr_equal(req.params, params);
	json_object_put(r);
}

/* ---- rpc_response_parse ---- */

static void response_round_trips_result_through_text(void **state)
{
	json_object *id = json_object_new_int64(42), *reply, *parsed;
	json_object *result = SENTINEL, *data = SENTINEL;
	const char *message = "untouched";
	int code = 12345;
	char err[128];

	reply = rpc_make_result(id, json_object_new_string("ok"));
	parsed = parse_ok(to_text(reply));
	assert_int_equal(
		rpc_response_parse(parsed, 42, &result, &code, &message, &data, err, sizeof(err)),
		0);
	assert_string_equal(json_object_get_string(result), "ok");
	/* Error outputs are left alone on a result. */
	assert_int_equal(code, 12345);
	assert_string_equal(message, "untouched");
	assert_ptr_equal(data, SENTINEL);
	json_object_put(parsed);
	json_object_put(reply);
	json_object_put(id);
}

static void response_round_trips_error_through_text(void **state)
{
	json_object *id = json_object_new_int64(9), *reply, *parsed, *result = SENTINEL, *data;
	const char *message = NULL;
	int code = 0;
	char err[128];

	reply = rpc_make_error(id, RPC_ERR_NO_SUCH_DOMAIN, "no domain \"x\"",
			       json_object_new_string("detail"));
	parsed = parse_ok(to_text(reply));
	assert_int_equal(
		rpc_response_parse(parsed, 9, &result, &code, &message, &data, err, sizeof(err)),
		1);
	assert_int_equal(code, RPC_ERR_NO_SUCH_DOMAIN);
	assert_string_equal(message, "no domain \"x\"");
	assert_string_equal(json_object_get_string(data), "detail");
	assert_ptr_equal(result, SENTINEL);
	json_object_put(parsed);
	json_object_put(reply);

	/* No data: NULL. */
	reply = rpc_make_error(id, RPC_INVALID_PARAMS, "params.x is required", NULL);
	data = SENTINEL;
	assert_int_equal(
		rpc_response_parse(reply, 9, &result, &code, &message, &data, err, sizeof(err)), 1);
	assert_null(data);
	assert_int_equal(code, RPC_INVALID_PARAMS);
	json_object_put(reply);
	json_object_put(id);
}

static void response_accepts_error_with_null_id(void **state)
{
	json_object *reply = rpc_make_error(NULL, RPC_ERR_BUSY, "too many clients", NULL);
	json_object *result = SENTINEL, *data = SENTINEL;
	const char *message = NULL;
	int code = 0;
	char err[128];

	assert_int_equal(
		rpc_response_parse(reply, 5, &result, &code, &message, &data, err, sizeof(err)), 1);
	assert_int_equal(code, RPC_ERR_BUSY);
	assert_string_equal(message, "too many clients");
	json_object_put(reply);
}

struct response_bad_case {
	const char *why;
	const char *text;
	int64_t id;
	const char *msg;
};

static void response_parse_rejects_malformed_replies(void **state)
{
	static const struct response_bad_case cases[] = {
		{"not an object", "[1]", 1, "not an object"},
		{"jsonrpc missing", "{\"result\":1,\"id\":1}", 1, "lacks \"jsonrpc\": \"2.0\""},
		{"jsonrpc 1.0", "{\"jsonrpc\":\"1.0\",\"result\":1,\"id\":1}", 1,
		 "lacks \"jsonrpc\""},
		{"both result and error",
		 "{\"jsonrpc\":\"2.0\",\"result\":1,\"error\":{\"code\":1,\"message\":\"m\"},"
		 "\"id\":1}",
		 1, "both \"result\" and \"error\""},
		{"neither result nor error", "{\"jsonrpc\":\"2.0\",\"id\":1}", 1,
		 "neither \"result\" nor \"error\""},
		{"no id", "{\"jsonrpc\":\"2.0\",\"result\":1}", 1, "no \"id\""},
		{"other id", "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":2}", 1,
		 "reply id 2 does not match request id 1"},
		{"string id", "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":\"1\"}", 1,
		 "does not match"},
		{"double id", "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1.0}", 1, "does not match"},
		{"null id on a result", "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":null}", 1,
		 "reply id null does not match"},
		{"uint64 id not clamped to INT64_MAX",
		 "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":9223372036854775808}", INT64_MAX,
		 "does not match"},
		{"error with another id",
		 "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":\"m\"},\"id\":3}", 1,
		 "does not match"},
		{"error not an object", "{\"jsonrpc\":\"2.0\",\"error\":\"bad\",\"id\":1}", 1,
		 "\"error\" is a string, not an object"},
		{"error without code",
		 "{\"jsonrpc\":\"2.0\",\"error\":{\"message\":\"m\"},\"id\":1}", 1,
		 "no integer \"code\""},
		{"error code a string",
		 "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":\"1\",\"message\":\"m\"},\"id\":1}", 1,
		 "no integer \"code\""},
		{"error code fractional",
		 "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1.5,\"message\":\"m\"},\"id\":1}", 1,
		 "no integer \"code\""},
		{"error code out of int range",
		 "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":4294967296,\"message\":\"m\"},\"id\":1}",
		 1, "out of range"},
		{"error without message", "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1},\"id\":1}",
		 1, "no string \"message\""},
		{"error message not a string",
		 "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":5},\"id\":1}", 1,
		 "no string \"message\""},
		{"unknown member in reply", "{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1,\"x\":0}",
		 1, "unknown member \"x\""},
		{"unknown member in error",
		 "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":1,\"message\":\"m\",\"why\":0},\"id\":"
		 "1}",
		 1, "unknown member \"why\""},
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		const struct response_bad_case *c = &cases[i];
		json_object *o = parse_ok(c->text), *result = SENTINEL, *data = SENTINEL;
		const char *message = "untouched";
		int code = 12345, r;
		char err[256] = "";

		r = rpc_response_parse(o, c->id, &result, &code, &message, &data, err, sizeof(err));
		CHECK(r == -EPROTO, c->why);
		CHECK(result == SENTINEL && data == SENTINEL && code == 12345 &&
			      strcmp(message, "untouched") == 0,
		      c->why);
		if (!strstr(err, c->msg))
			fail_msg("case \"%s\": message \"%s\" lacks \"%s\"", c->why, err, c->msg);
		json_object_put(o);
	}
}

/* ---- rpc_params_decode ---- */

struct test_params {
	char name[8];
	uint64_t count; /* U64, max 1000 */
	uint64_t big;	/* U64, no max */
	bool flag;
	uint64_t size;	  /* SIZE, max 4G */
	uint64_t anysize; /* SIZE, no max */
	uint64_t ttl;	  /* DURATION, max 1h */
	uint64_t wait;	  /* DURATION, no max */
	struct rpc_domain_ref dom;
	bool has_name, has_count, has_flag, has_size, has_ttl, has_dom;
};

#define OFF(m) offsetof(struct test_params, m)
#define KIB_4G (UINT64_C(4) * 1024 * 1024)
#define MS_1H (UINT64_C(3600) * 1000)

static const struct rpc_field test_fields[] = {
	{"name", RPC_FIELD_STRING, OFF(name), sizeof(((struct test_params *)0)->name), false, 0,
	 OFF(has_name)},
	{"count", RPC_FIELD_U64, OFF(count), 0, false, 1000, OFF(has_count)},
	{"big", RPC_FIELD_U64, OFF(big), 0, false, 0, RPC_NO_PRESENT},
	{"flag", RPC_FIELD_BOOL, OFF(flag), 0, false, 0, OFF(has_flag)},
	{"size", RPC_FIELD_SIZE, OFF(size), 0, false, KIB_4G, OFF(has_size)},
	{"anysize", RPC_FIELD_SIZE, OFF(anysize), 0, false, 0, RPC_NO_PRESENT},
	{"ttl", RPC_FIELD_DURATION, OFF(ttl), 0, false, MS_1H, OFF(has_ttl)},
	{"wait", RPC_FIELD_DURATION, OFF(wait), 0, false, 0, RPC_NO_PRESENT},
	{"dom", RPC_FIELD_DOMAIN, OFF(dom), 0, false, 0, OFF(has_dom)},
	{NULL},
};

static const struct rpc_field required_fields[] = {
	{"dom", RPC_FIELD_DOMAIN, OFF(dom), 0, true, 0, OFF(has_dom)},
	{"size", RPC_FIELD_SIZE, OFF(size), 0, true, 0, RPC_NO_PRESENT},
	{"flag", RPC_FIELD_BOOL, OFF(flag), 0, false, 0, RPC_NO_PRESENT},
	{NULL},
};

/* Defaults a caller would set before decoding; presence flags set wrongly
 * on purpose, to show decoding writes them. */
static void defaults(struct test_params *p)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->name, "dflt");
	p->count = 5;
	p->big = 6;
	p->size = 7;
	p->anysize = 8;
	p->ttl = 9;
	p->wait = 10;
	p->dom.domid = 11;
	p->has_name = p->has_count = p->has_flag = p->has_size = p->has_ttl = p->has_dom = true;
}

enum param_check {
	P_NAME,
	P_COUNT,
	P_BIG,
	P_FLAG,
	P_SIZE,
	P_ANYSIZE,
	P_TTL,
	P_WAIT,
	P_DOMID,
	P_DOMNAME,
};

struct params_ok_case {
	const char *why;
	const char *text; /* params, or NULL for absent */
	enum param_check what;
	uint64_t num;	 /* expected number (flag: 0/1) */
	const char *str; /* expected string for P_NAME / P_DOMNAME */
};

static void params_decode_accepts_valid_values(void **state)
{
	static const struct params_ok_case cases[] = {
		{"string", "{\"name\":\"abc\"}", P_NAME, 0, "abc"},
		{"empty string", "{\"name\":\"\"}", P_NAME, 0, ""},
		{"string of exactly size-1 bytes", "{\"name\":\"1234567\"}", P_NAME, 0, "1234567"},
		{"UTF-8 string counted in bytes", "{\"name\":\"\\u00e9\\u00e9\\u00e9\"}", P_NAME, 0,
		 "\xc3\xa9\xc3\xa9\xc3\xa9"},
		{"u64 zero", "{\"count\":0}", P_COUNT, 0, NULL},
		{"u64 exactly at max", "{\"count\":1000}", P_COUNT, 1000, NULL},
		{"u64 without max takes UINT64_MAX exactly", "{\"big\":18446744073709551615}",
		 P_BIG, UINT64_MAX, NULL},
		{"u64 above INT64_MAX", "{\"big\":9223372036854775808}", P_BIG,
		 UINT64_C(9223372036854775808), NULL},
		{"bool true", "{\"flag\":true}", P_FLAG, 1, NULL},
		{"bool false", "{\"flag\":false}", P_FLAG, 0, NULL},
		{"size as integer KiB", "{\"size\":1024}", P_SIZE, 1024, NULL},
		{"size zero", "{\"size\":0}", P_SIZE, 0, NULL},
		{"size string", "{\"size\":\"2G\"}", P_SIZE, UINT64_C(2) * 1024 * 1024, NULL},
		{"size string in M", "{\"size\":\"512M\"}", P_SIZE, UINT64_C(512) * 1024, NULL},
		{"size integer exactly at max", "{\"size\":4194304}", P_SIZE, KIB_4G, NULL},
		{"size string exactly at max", "{\"size\":\"4G\"}", P_SIZE, KIB_4G, NULL},
		{"size without max up to SIZE_MAX_KIB", "{\"anysize\":1099511627776}", P_ANYSIZE,
		 SIZE_MAX_KIB, NULL},
		{"duration integer seconds", "{\"ttl\":30}", P_TTL, 30000, NULL},
		{"duration string", "{\"ttl\":\"250ms\"}", P_TTL, 250, NULL},
		{"duration integer exactly at max", "{\"ttl\":3600}", P_TTL, MS_1H, NULL},
		{"duration string exactly at max", "{\"ttl\":\"1h\"}", P_TTL, MS_1H, NULL},
		{"duration without max up to DURATION_MAX_MS", "{\"wait\":2592000}", P_WAIT,
		 DURATION_MAX_MS, NULL},
		{"domain id 0", "{\"dom\":0}", P_DOMID, 0, NULL},
		{"highest domain id", "{\"dom\":32751}", P_DOMID, 0x7fef, NULL},
		{"domain name", "{\"dom\":\"web1\"}", P_DOMNAME, 0, "web1"},
		{"domain name with every allowed class", "{\"dom\":\"Domain-0_a.b\"}", P_DOMNAME, 0,
		 "Domain-0_a.b"},
		{"digits in a string are a name", "{\"dom\":\"3\"}", P_DOMNAME, 0, "3"},
		{"domain name of 63 bytes",
		 "{\"dom\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
		 P_DOMNAME, 0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		const struct params_ok_case *c = &cases[i];
		json_object *o = parse_ok(c->text);
		struct test_params p;
		char err[256] = "";

		defaults(&p);
		if (rpc_params_decode(o, test_fields, &p, err, sizeof(err)) != 0)
			fail_msg("case \"%s\": rejected: %s", c->why, err);
		switch (c->what) {
		case P_NAME: CHECK(strcmp(p.name, c->str) == 0 && p.has_name, c->why); break;
		case P_COUNT: CHECK(p.count == c->num && p.has_count, c->why); break;
		case P_BIG: CHECK(p.big == c->num, c->why); break;
		case P_FLAG: CHECK(p.flag == (c->num != 0) && p.has_flag, c->why); break;
		case P_SIZE: CHECK(p.size == c->num && p.has_size, c->why); break;
		case P_ANYSIZE: CHECK(p.anysize == c->num, c->why); break;
		case P_TTL: CHECK(p.ttl == c->num && p.has_ttl, c->why); break;
		case P_WAIT: CHECK(p.wait == c->num, c->why); break;
		case P_DOMID:
			CHECK(!p.dom.by_name && p.dom.domid == c->num && p.dom.name[0] == '\0' &&
				      p.has_dom,
			      c->why);
			break;
		case P_DOMNAME:
			CHECK(p.dom.by_name && p.dom.domid == 0 &&
				      strcmp(p.dom.name, c->str) == 0 && p.has_dom,
			      c->why);
			break;
		}
		json_object_put(o);
	}
}

static void params_decode_keeps_defaults_and_clears_presence_when_absent(void **state)
{
	static const char *const texts[] = {NULL, "null", "{}"};
	struct test_params p;
	char err[128];
	size_t i;

	for (i = 0; i < N_ELEMS(texts); i++) {
		json_object *o = texts[i] ? parse_ok(texts[i]) : NULL;

		defaults(&p);
		assert_int_equal(rpc_params_decode(o, test_fields, &p, err, sizeof(err)), 0);
		assert_string_equal(p.name, "dflt");
		assert_int_equal(p.count, 5);
		assert_int_equal(p.size, 7);
		assert_int_equal(p.ttl, 9);
		assert_int_equal(p.dom.domid, 11);
		assert_false(p.has_name || p.has_count || p.has_flag || p.has_size || p.has_ttl ||
			     p.has_dom);
		json_object_put(o);
	}
}

static void params_decode_sets_presence_only_for_given_members(void **state)
{
	json_object *o = parse_ok("{\"count\":1,\"dom\":\"x\"}");
	struct test_params p;
	char err[128];

	defaults(&p);
	assert_int_equal(rpc_params_decode(o, test_fields, &p, err, sizeof(err)), 0);
	assert_true(p.has_count);
	assert_true(p.has_dom);
	assert_false(p.has_name || p.has_flag || p.has_size || p.has_ttl);
	json_object_put(o);
}

static void params_decode_requires_required_members(void **state)
{
	json_object *o = parse_ok("{\"dom\":1,\"size\":\"1G\"}");
	struct test_params p;
	char err[128];

	defaults(&p);
	assert_int_equal(rpc_params_decode(o, required_fields, &p, err, sizeof(err)), 0);
	assert_int_equal(p.dom.domid, 1);
	assert_int_equal(p.size, 1024 * 1024);
	json_object_put(o);
}

struct params_bad_case {
	const char *why;
	const char *text;
	const char *msg; /* expected in the message */
};

static void params_decode_rejects_every_failure_class(void **state)
{
	static const struct params_bad_case cases[] = {
		/* the params value itself */
		{"more elements than fields", "[\"a\",1,2,true,1,1,1,1,1,1]",
		 "params: 10 given by position, at most 9 taken (name, count, big, flag, size, "
		 "anysize, ttl, wait, dom)"},
		{"by position: wrong type in place", "[1]",
		 "params.name: expected a string, not an integer"},
		{"by position: above max", "[\"a\",1001]",
		 "params.count: 1001 is above the maximum 1000"},
		{"by position: null is not absent", "[null]",
		 "params.name: expected a string, not null"},
		{"by position: bad size", "[\"a\",1,2,true,\"4.5G\"]",
		 "params.size: \"4.5G\" is above"},
		{"by position: bad domain", "[\"a\",1,2,true,1,1,1,1,\"a/b\"]",
		 "is not a domain name"},
		{"u64 beyond uint64", "{\"big\":18446744073709551616}",
		 "params.big: 18446744073709551616 is out of range"},
		{"u64 beyond uint64 by position", "[\"a\",1,18446744073709551616]",
		 "params.big: 18446744073709551616 is out of range"},
		{"count below int64", "{\"count\":-9223372036854775809}",
		 "params.count: -9223372036854775809 is out of range"},
		{"negative zero", "{\"count\":-0}", "params.count: -0 is out of range"},
		{"size beyond uint64", "{\"size\":99999999999999999999}", "is out of range"},
		{"domain beyond uint64", "{\"dom\":18446744073709551617}",
		 "params.dom: 18446744073709551617 is not a domain id"},
		{"params a string", "\"x\"", "params must be an object or an array, not a string"},
		{"params a number", "3", "params must be an object"},
		{"unknown member", "{\"nmae\":\"x\"}", "params.nmae: unknown parameter"},
		{"unknown member beside good ones", "{\"count\":1,\"extra\":true}",
		 "params.extra: unknown parameter"},
		/* STRING */
		{"string: integer", "{\"name\":1}",
		 "params.name: expected a string, not an integer"},
		{"string: boolean", "{\"name\":true}",
		 "params.name: expected a string, not a boolean"},
		{"string: null", "{\"name\":null}", "params.name: expected a string, not null"},
		{"string: array", "{\"name\":[]}", "not an array"},
		{"string: object", "{\"name\":{}}", "not an object"},
		{"string: exactly size bytes", "{\"name\":\"12345678\"}",
		 "params.name: longer than 7 bytes"},
		{"string: NUL byte", "{\"name\":\"ab\\u0000c\"}",
		 "params.name: contains a NUL byte"},
		/* U64 */
		{"u64: negative", "{\"count\":-1}", "params.count: -1 is negative"},
		{"u64: most negative", "{\"big\":-9223372036854775808}",
		 "params.big: -9223372036854775808 is negative"},
		{"u64: one above max", "{\"count\":1001}",
		 "params.count: 1001 is above the maximum 1000"},
		{"u64: integral double", "{\"count\":1.0}",
		 "params.count: expected a non-negative integer, not a fractional number"},
		{"u64: fraction", "{\"count\":1.5}", "not a fractional number"},
		{"u64: numeric string", "{\"count\":\"5\"}",
		 "params.count: expected a non-negative "
		 "integer, not a string"},
		{"u64: boolean", "{\"count\":true}", "not a boolean"},
		{"u64: null", "{\"count\":null}", "not null"},
		/* BOOL */
		{"bool: integer", "{\"flag\":1}",
		 "params.flag: expected true or false, not an integer"},
		{"bool: string", "{\"flag\":\"true\"}",
		 "params.flag: expected true or false, not a string"},
		{"bool: null", "{\"flag\":null}", "not null"},
		/* SIZE */
		{"size: bad unit", "{\"size\":\"2X\"}", "params.size: \"2X\" is not a size"},
		{"size: no unit", "{\"size\":\"2048\"}", "params.size: \"2048\" is not a size"},
		{"size: empty string", "{\"size\":\"\"}", "params.size: \"\" is not a size"},
		{"size: negative string", "{\"size\":\"-1G\"}", "is not a size"},
		{"size: NUL after a valid size", "{\"size\":\"2G\\u0000x\"}",
		 "params.size: contains a NUL byte"},
		{"size: negative integer", "{\"size\":-1}", "params.size: -1 is negative"},
		{"size: one KiB above max", "{\"size\":4194305}",
		 "params.size: 4194305 KiB is above the maximum 4G"},
		{"size: string above max", "{\"size\":\"5G\"}",
		 "params.size: \"5G\" is above the maximum 4G"},
		{"size: above SIZE_MAX_KIB", "{\"anysize\":1099511627777}", "is above the maximum"},
		{"size: string beyond what units allow", "{\"anysize\":\"2048T\"}",
		 "params.anysize: \"2048T\" is above the maximum"},
		{"size: fraction", "{\"size\":1.5}",
		 "params.size: expected a size (integer KiB or a "
		 "string such as \"2G\"), not a fractional number"},
		{"size: boolean", "{\"size\":false}", "not a boolean"},
		{"size: null", "{\"size\":null}", "not null"},
		{"size: object", "{\"size\":{}}", "not an object"},
		/* DURATION */
		{"duration: bad unit", "{\"ttl\":\"5x\"}", "params.ttl: \"5x\" is not a duration"},
		{"duration: no unit", "{\"ttl\":\"5\"}", "params.ttl: \"5\" is not a duration"},
		{"duration: NUL after a valid duration", "{\"ttl\":\"5s\\u0000\"}",
		 "params.ttl: contains a NUL byte"},
		{"duration: negative", "{\"ttl\":-1}", "params.ttl: -1 is negative"},
		{"duration: one second above max", "{\"ttl\":3601}",
		 "params.ttl: 3601 s is above the maximum 1h"},
		{"duration: string above max", "{\"ttl\":\"61m\"}",
		 "params.ttl: \"61m\" is above the maximum 1h"},
		{"duration: seconds that overflow ms", "{\"wait\":18446744073709551615}",
		 "params.wait: 18446744073709551615 s is above the maximum"},
		{"duration: above DURATION_MAX_MS", "{\"wait\":2592001}", "is above the maximum"},
		{"duration: fraction", "{\"ttl\":0.5}",
		 "params.ttl: expected a duration (integer "
		 "seconds or a string such as \"30s\"), not a "
		 "fractional number"},
		{"duration: boolean", "{\"ttl\":true}", "not a boolean"},
		{"duration: array", "{\"ttl\":[30]}", "not an array"},
		/* DOMAIN */
		{"domain: negative id", "{\"dom\":-1}",
		 "params.dom: -1 is not a domain id (0 to 32751)"},
		{"domain: first reserved id", "{\"dom\":32752}",
		 "params.dom: 32752 is not a domain id"},
		{"domain: DOMID_SELF", "{\"dom\":32753}", "is not a domain id"},
		{"domain: huge id", "{\"dom\":18446744073709551615}",
		 "params.dom: 18446744073709551615 is not a domain id"},
		{"domain: fractional", "{\"dom\":1.0}",
		 "params.dom: expected a domain id or name, not a fractional number"},
		{"domain: boolean", "{\"dom\":true}", "not a boolean"},
		{"domain: null", "{\"dom\":null}", "not null"},
		{"domain: array", "{\"dom\":[1]}", "not an array"},
		{"domain: empty name", "{\"dom\":\"\"}", "params.dom: \"\" is not a domain name"},
		{"domain: name of 64 bytes",
		 "{\"dom\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
		 "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" is not a domain name"},
		{"domain: space in name", "{\"dom\":\"web 1\"}", "\"web 1\" is not a domain name"},
		{"domain: slash in name", "{\"dom\":\"a/b\"}", "is not a domain name"},
		{"domain: non-ASCII name", "{\"dom\":\"\\u00e9\"}", "is not a domain name"},
		{"domain: NUL in name", "{\"dom\":\"a\\u0000b\"}",
		 "params.dom: contains a NUL byte"},
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		const struct params_bad_case *c = &cases[i];
		json_object *o = parse_ok(c->text);
		struct test_params p;
		char err[256] = "";
		int r;

		defaults(&p);
		r = rpc_params_decode(o, test_fields, &p, err, sizeof(err));
		CHECK(r == RPC_INVALID_PARAMS, c->why);
		if (!strstr(err, c->msg))
			fail_msg("case \"%s\": message \"%s\" lacks \"%s\"", c->why, err, c->msg);
		json_object_put(o);
	}
}

static void params_decode_reports_missing_required_members(void **state)
{
	static const struct params_bad_case cases[] = {
		{"nothing given", "{}", "params.dom is required"},
		{"absent params", NULL, "params.dom is required"},
		{"second required missing", "{\"dom\":1}", "params.size is required"},
		{"only the optional given", "{\"flag\":true}", "params.dom is required"},
		{"unknown member reported before missing ones", "{\"domain\":1}",
		 "params.domain: unknown parameter"},
	};
	size_t i;

	for (i = 0; i < N_ELEMS(cases); i++) {
		const struct params_bad_case *c = &cases[i];
		json_object *o = c->text ? parse_ok(c->text) : NULL;
		struct test_params p;
		char err[256] = "";

		defaults(&p);
		CHECK(rpc_params_decode(o, required_fields, &p, err, sizeof(err)) ==
			      RPC_INVALID_PARAMS,
		      c->why);
		if (!strstr(err, c->msg))
			fail_msg("case \"%s\": message \"%s\" lacks \"%s\"", c->why, err, c->msg);
		json_object_put(o);
	}
}

static void params_decode_with_no_fields_accepts_only_empty_params(void **state)
{
	static const struct rpc_field none[] = {{NULL}};
	json_object *empty = parse_ok("{}"), *one = parse_ok("{\"x\":1}");
	char dummy = 0, err[128];

	assert_int_equal(rpc_params_decode(NULL, none, &dummy, err, sizeof(err)), 0);
	assert_int_equal(rpc_params_decode(empty, none, &dummy, err, sizeof(err)), 0);
	assert_int_equal(rpc_params_decode(one, none, &dummy, err, sizeof(err)),
			 RPC_INVALID_PARAMS);
	assert_string_equal(err, "params.x: unknown parameter");
	json_object_put(empty);
	json_object_put(one);

	/* generic clients (jayson) send [] for a method without parameters */
	empty = parse_ok("[]");
	one = parse_ok("[1]");
	assert_int_equal(rpc_params_decode(empty, none, &dummy, err, sizeof(err)), 0);
	assert_int_equal(rpc_params_decode(one, none, &dummy, err, sizeof(err)),
			 RPC_INVALID_PARAMS);
	assert_string_equal(err, "params: 1 given, this method takes none");
	json_object_put(empty);
	json_object_put(one);
}

/* By position: element i is field i of the table, decoded as by name;
 * fields past the end are absent. */
static void params_decode_takes_positions_in_table_order(void **state)
{
	json_object *o =
		parse_ok("[\"abc\",1000,18446744073709551615,true,\"2G\",0,\"1h\",5,\"web1\"]");
	json_object *empty = parse_ok("[]"), *short_ = parse_ok("[\"x\",3]");
	json_object *req = parse_ok("[\"web1\",\"1G\"]"), *req_short = parse_ok("[7]");
	struct test_params p;
	char err[128];

	defaults(&p);
	assert_int_equal(rpc_params_decode(o, test_fields, &p, err, sizeof(err)), 0);
	assert_string_equal(p.name, "abc");
	assert_int_equal(p.count, 1000);
	assert_int_equal(p.big, UINT64_MAX);
	assert_true(p.flag);
	assert_int_equal(p.size, UINT64_C(2) * 1024 * 1024);
	assert_int_equal(p.anysize, 0);
	assert_int_equal(p.ttl, MS_1H);
	assert_int_equal(p.wait, 5000);
	assert_true(p.dom.by_name);
	assert_string_equal(p.dom.name, "web1");
	assert_true(p.has_name && p.has_count && p.has_flag && p.has_size && p.has_ttl &&
		    p.has_dom);

	defaults(&p);
	assert_int_equal(rpc_params_decode(empty, test_fields, &p, err, sizeof(err)), 0);
	assert_string_equal(p.name, "dflt");
	assert_false(p.has_name || p.has_count || p.has_flag || p.has_size || p.has_ttl ||
		     p.has_dom);

	defaults(&p);
	assert_int_equal(rpc_params_decode(short_, test_fields, &p, err, sizeof(err)), 0);
	assert_string_equal(p.name, "x");
	assert_int_equal(p.count, 3);
	assert_int_equal(p.size, 7);
	assert_true(p.has_name && p.has_count);
	assert_false(p.has_flag || p.has_size || p.has_ttl || p.has_dom);

	defaults(&p);
	assert_int_equal(rpc_params_decode(req, required_fields, &p, err, sizeof(err)), 0);
	assert_string_equal(p.dom.name, "web1");
	assert_int_equal(p.size, 1024 * 1024);
	assert_int_equal(rpc_params_decode(req_short, required_fields, &p, err, sizeof(err)),
			 RPC_INVALID_PARAMS);
	assert_string_equal(err, "params.size is required");
	assert_int_equal(rpc_params_decode(empty, required_fields, &p, err, sizeof(err)),
			 RPC_INVALID_PARAMS);
	assert_string_equal(err, "params.dom is required");
	json_object_put(o);
	json_object_put(empty);
	json_object_put(short_);
	json_object_put(req);
	json_object_put(req_short);
}

/* ---- messages ---- */

/* Whether message survives a trip through an error reply and rpc_parse,
 * which rejects invalid UTF-8. */
static bool message_survives_json(const char *message)
{
	json_object *reply = rpc_make_error(NULL, RPC_INVALID_PARAMS, message, NULL), *back = NULL;
	const char *text = to_text(reply);
	char err[128];
	bool ok = rpc_parse(text, strlen(text), 32, &back, err, sizeof(err)) == 0;

	json_object_put(back);
	json_object_put(reply);
	return ok;
}

static void quoted_excerpts_are_cut_between_utf8_characters(void **state)
{
	/* "a" then 20 two-byte characters: byte 32 is in the middle of one. */
	json_object *o = parse_ok("{\"dom\":\"a\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
				  "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
				  "\\u00e9\\u00e9\\u00e9\\u00e9\"}");
	struct test_params p;
	char err[256];

	defaults(&p);
	assert_int_equal(rpc_params_decode(o, test_fields, &p, err, sizeof(err)),
			 RPC_INVALID_PARAMS);
	assert_non_null(strstr(err, "\"a\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
				    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
				    "\xc3\xa9...\" is not a domain name"));
	assert_true(message_survives_json(err));
	json_object_put(o);
}

static void messages_cut_by_errlen_stay_valid_utf8(void **state)
{
	json_object *o =
		parse_ok("{\"\\u00e9\\u20ac\\ud800\\udc00\\u00e9\\u20ac\\ud800\\udc00\":1}");
	struct rpc_request req;
	char err[64];
	size_t len;

	for (len = 1; len <= sizeof(err); len++) {
		memset(err, 'x', sizeof(err));
		assert_int_equal(rpc_request_parse(o, &req, NULL, err, len), RPC_INVALID_REQUEST);
		assert_true(strlen(err) < len);
		if (!message_survives_json(err))
			fail_msg("errlen %zu: \"%s\" is not valid UTF-8", len, err);
	}
	json_object_put(o);
}

/* ---- end to end ---- */

static void request_text_to_decoded_params(void **state)
{
	static const char text[] = "{\"jsonrpc\":\"2.0\",\"method\":\"domain.set_target\","
				   "\"params\":{\"dom\":\"web1\",\"size\":\"2G\"},\"id\":4}\r\n";
	json_object *o = NULL, *id = NULL;
	struct rpc_request req;
	struct test_params p;
	char err[128];

	assert_int_equal(rpc_parse(text, sizeof(text) - 1, 32, &o, err, sizeof(err)), 0);
	assert_int_equal(rpc_request_parse(o, &req, &id, err, sizeof(err)), 0);
	assert_string_equal(req.method, "domain.set_target");
	defaults(&p);
	assert_int_equal(rpc_params_decode(req.params, required_fields, &p, err, sizeof(err)), 0);
	assert_true(p.dom.by_name);
	assert_string_equal(p.dom.name, "web1");
	assert_int_equal(p.size, UINT64_C(2) * 1024 * 1024);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(error_name_covers_every_code),
		cmocka_unit_test(parse_accepts_rfc8259_json),
		cmocka_unit_test(parse_returns_null_for_json_null),
		cmocka_unit_test(parse_rejects_malformed_json_with_a_message),
		cmocka_unit_test(parse_truncates_message_to_errlen),
		cmocka_unit_test(request_parse_accepts_every_valid_shape),
		cmocka_unit_test(request_parse_rejects_invalid_requests),
		cmocka_unit_test(request_parse_accepts_null_ret_id),
		cmocka_unit_test(request_parse_leaves_rpc_methods_to_the_method_table),
		cmocka_unit_test(integer_ids_are_echoed_exactly_as_sent),
		cmocka_unit_test(a_reply_with_an_inexact_id_does_not_match),
		cmocka_unit_test(make_result_builds_exact_reply_and_borrows_id),
		cmocka_unit_test(make_error_builds_exact_reply),
		cmocka_unit_test(make_request_builds_a_valid_request),
		cmocka_unit_test(response_round_trips_result_through_text),
		cmocka_unit_test(response_round_trips_error_through_text),
		cmocka_unit_test(response_accepts_error_with_null_id),
		cmocka_unit_test(response_parse_rejects_malformed_replies),
		cmocka_unit_test(params_decode_accepts_valid_values),
		cmocka_unit_test(params_decode_keeps_defaults_and_clears_presence_when_absent),
		cmocka_unit_test(params_decode_sets_presence_only_for_given_members),
		cmocka_unit_test(params_decode_requires_required_members),
		cmocka_unit_test(params_decode_rejects_every_failure_class),
		cmocka_unit_test(params_decode_reports_missing_required_members),
		cmocka_unit_test(params_decode_with_no_fields_accepts_only_empty_params),
		cmocka_unit_test(params_decode_takes_positions_in_table_order),
		cmocka_unit_test(quoted_excerpts_are_cut_between_utf8_characters),
		cmocka_unit_test(messages_cut_by_errlen_stay_valid_utf8),
		cmocka_unit_test(request_text_to_decoded_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
