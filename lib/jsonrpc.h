/* SPDX-License-Identifier: GPL-2.0-or-later */
/* JSON-RPC 2.0 codec over json-c: framing-independent parsing and
 * validation of requests, building of replies, and a declarative decoder
 * for method params. Pure: no I/O.
 *
 * Ownership: functions named *_new or rpc_make_* return a new reference the
 * caller must json_object_put(); arguments documented as "taken" are owned
 * by the callee afterwards even on error; everything else is borrowed. */
#ifndef BALLOOND_JSONRPC_H
#define BALLOOND_JSONRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

/* Protocol version: bump RPC_API_VERSION on any incompatible change to a
 * method's params or result, and note it in man/memctl.1 HISTORY. */
#define RPC_API_VERSION 1

/* JSON-RPC 2.0 error codes. */
enum rpc_error_code {
	RPC_PARSE_ERROR = -32700,
	RPC_INVALID_REQUEST = -32600,
	RPC_METHOD_NOT_FOUND = -32601,
	RPC_INVALID_PARAMS = -32602,
	RPC_INTERNAL_ERROR = -32603,
	/* Application codes (documented in man/memctl.1). */
	RPC_ERR_NO_SUCH_DOMAIN = 1,
	RPC_ERR_OUT_OF_BOUNDS = 2,
	RPC_ERR_INSUFFICIENT_MEMORY = 3, /* host cannot free that much */
	RPC_ERR_NOT_PERMITTED = 4,
	RPC_ERR_BUSY = 5,
	RPC_ERR_NOT_MANAGED = 6,         /* domain is excluded, dying or not manageable */
	RPC_ERR_BACKEND = 7,             /* the hypervisor or XenStore refused */
	RPC_ERR_NO_SUCH_RESERVATION = 8,
};

/* Short English name of a code ("parse error", "no such domain"...). */
const char *rpc_error_name(int code);

/* Parse one message (not NUL-terminated necessarily) into a JSON value.
 * Accepts RFC 8259 JSON only: rejects trailing garbage, nesting deeper than
 * max_depth, invalid UTF-8, lone surrogates (\ud800 without its pair),
 * member names with \u0000 and member names repeated in one object. An
 * integer json-c cannot hold (beyond int64/uint64, "-0") is accepted and
 * serialises as it was written (an id is echoed exactly); the params
 * decoder treats it as out of range.
 * Returns 0 and a new reference in *ret, or RPC_PARSE_ERROR with a message. */
int rpc_parse(const char *buf, size_t len, int max_depth, json_object **ret,
	      char *err, size_t errlen);

/* One validated request; all pointers borrow from the parsed value. */
struct rpc_request {
	json_object *id;     /* the id (NULL also for "id": null, json-c's null) */
	bool notification;   /* no "id" member: send no reply */
	const char *method;
	json_object *params; /* object, array or NULL when absent */
};

/* Validate one element (an object) as a JSON-RPC 2.0 request: "jsonrpc"
 * must be "2.0", "method" a string, "params" absent/object/array, "id"
 * absent/string/number/null, no other members. Returns 0 or
 * RPC_INVALID_REQUEST with a message; *ret is set only on success. When the
 * request is invalid but carries a usable id, *ret_id (if not NULL) is set
 * to it (borrowed) so the error reply can echo it; otherwise NULL. */
int rpc_request_parse(json_object *obj, struct rpc_request *ret,
		      json_object **ret_id, char *err, size_t errlen);

/* {"jsonrpc":"2.0","result":result,"id":id}. result is taken; id is
 * borrowed (copied by reference); a NULL id becomes JSON null. */
json_object *rpc_make_result(json_object *id, json_object *result);

/* {"jsonrpc":"2.0","error":{"code","message","data"?},"id":id}. data is
 * taken and may be NULL. */
json_object *rpc_make_error(json_object *id, int code, const char *message,
			    json_object *data);

/* A request for a client: {"jsonrpc":"2.0","method","params"?,"id"}.
 * params is taken and may be NULL. */
json_object *rpc_make_request(int64_t id, const char *method, json_object *params);

/* Check a reply to request id. On a result returns 0 and *ret_result
 * (borrowed). On an error reply returns 1 and sets *ret_code, *ret_message
 * (borrowed) and *ret_data (borrowed, may be NULL). A malformed reply or a
 * wrong id returns -EPROTO with a message in err. */
int rpc_response_parse(json_object *obj, int64_t id, json_object **ret_result,
		       int *ret_code, const char **ret_message,
		       json_object **ret_data, char *err, size_t errlen);

/* Declarative decoding of params: an object (by name), or an array (by
 * position, in the order of the field table, which doc/protocol.md lists
 * in the same order: {domain, target} takes ["web1", "2G"]). A JSON null,
 * absent params and an empty array decode as an empty object. Both forms
 * get the same validation. */
enum rpc_field_type {
	RPC_FIELD_STRING,   /* char[size] at offset, NUL-terminated; too long is an error */
	RPC_FIELD_U64,      /* uint64_t at offset: a non-negative integer (no float, no string) */
	RPC_FIELD_BOOL,     /* bool at offset */
	RPC_FIELD_SIZE,     /* uint64_t KiB at offset: integer KiB or a size string "2G" */
	RPC_FIELD_DURATION, /* uint64_t ms at offset: integer seconds or a string "30s" */
	RPC_FIELD_DOMAIN,   /* struct rpc_domain_ref at offset: domid or name */
};

/* A domain named by id (number) or name (string). */
struct rpc_domain_ref {
	bool by_name;
	uint32_t domid;
	char name[64];
};

struct rpc_field {
	const char *name;
	enum rpc_field_type type;
	size_t offset;
	size_t size;      /* for RPC_FIELD_STRING: the buffer size */
	bool required;
	uint64_t max;     /* for U64/SIZE/DURATION: inclusive upper bound, 0 = type max */
	size_t present_offset; /* offset of a bool set true when the field was given, or (size_t)-1 */
};

#define RPC_NO_PRESENT ((size_t)-1)

/* Decode params into the struct at base following fields (terminated by a
 * {NULL} entry). Unknown members, more elements than fields, wrong types,
 * out-of-range values and missing required members are errors. Returns 0 or RPC_INVALID_PARAMS with
 * a message naming the member. On error the struct may be partly written;
 * callers decode into a scratch struct and apply nothing until success. */
int rpc_params_decode(json_object *params, const struct rpc_field *fields,
		      void *base, char *err, size_t errlen);

#endif
