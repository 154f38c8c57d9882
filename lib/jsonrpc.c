/* JSON-RPC 2.0 codec over json-c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "jsonrpc.h"
#include "units.h"

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
	}
	return "unknown error";
}

int rpc_parse(const char *buf, size_t len, int max_depth, json_object **ret, char *err,
	      size_t errlen)
{
	struct json_tokener *tok;
	json_object *obj;
	enum json_tokener_error jerr;
	size_t used, i;

	if (len > INT32_MAX) {
		snprintf(err, errlen, "message too large");
		return RPC_PARSE_ERROR;
	}
	if (memchr(buf, '\0', len)) {
		snprintf(err, errlen, "parse error: NUL byte in message");
		return RPC_PARSE_ERROR;
	}
	tok = json_tokener_new_ex(max_depth);
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return RPC_PARSE_ERROR;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue || (!obj && jerr == json_tokener_success)) {
		snprintf(err, errlen, "parse error: incomplete JSON");
		goto fail;
	}
	if (jerr != json_tokener_success) {
		snprintf(err, errlen, "parse error: %s at offset %zu", json_tokener_error_desc(jerr),
			 used);
		goto fail;
	}
	for (i = used; i < len; i++)
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r' && buf[i] != '\n') {
			snprintf(err, errlen, "parse error: trailing data at offset %zu", i);
			goto fail;
		}
	json_tokener_free(tok);
	*ret = obj;
	return 0;
fail:
	json_object_put(obj);
	json_tokener_free(tok);
	return RPC_PARSE_ERROR;
}

/* A usable id: string, integer or null. */
static bool id_valid(json_object *id)
{
	return !id || json_object_is_type(id, json_type_string) ||
	       json_object_is_type(id, json_type_int) || json_object_is_type(id, json_type_null);
}

int rpc_request_parse(json_object *obj, struct rpc_request *ret, json_object **ret_id, char *err,
		      size_t errlen)
{
	json_object *ver = NULL, *method = NULL, *params = NULL, *id = NULL;
	bool has_id;
	const char *m;

	if (ret_id)
		*ret_id = NULL;
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "invalid request: a request must be an object");
		return RPC_INVALID_REQUEST;
	}
	has_id = json_object_object_get_ex(obj, "id", &id);
	if (has_id && !id_valid(id)) {
		snprintf(err, errlen, "invalid request: id must be a string, an integer or null");
		return RPC_INVALID_REQUEST;
	}
	if (ret_id && has_id)
		*ret_id = id;
	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		if (strcmp(key, "jsonrpc") && strcmp(key, "method") && strcmp(key, "params") &&
		    strcmp(key, "id")) {
			snprintf(err, errlen, "invalid request: unknown member \"%.32s\"", key);
			return RPC_INVALID_REQUEST;
		}
	}
	if (!json_object_object_get_ex(obj, "jsonrpc", &ver) ||
	    !json_object_is_type(ver, json_type_string) ||
	    strcmp(json_object_get_string(ver), "2.0") != 0) {
		snprintf(err, errlen, "invalid request: \"jsonrpc\" must be \"2.0\"");
		return RPC_INVALID_REQUEST;
	}
	if (!json_object_object_get_ex(obj, "method", &method) ||
	    !json_object_is_type(method, json_type_string)) {
		snprintf(err, errlen, "invalid request: \"method\" must be a string");
		return RPC_INVALID_REQUEST;
	}
	m = json_object_get_string(method);
	if (!m[0] || strlen(m) > 64) {
		snprintf(err, errlen, "invalid request: \"method\" must be 1 to 64 characters");
		return RPC_INVALID_REQUEST;
	}
	if (strncmp(m, "rpc.", 4) == 0) {
		snprintf(err, errlen, "invalid request: method names starting with \"rpc.\" are reserved");
		return RPC_INVALID_REQUEST;
	}
	if (json_object_object_get_ex(obj, "params", &params) &&
	    !json_object_is_type(params, json_type_object) &&
	    !json_object_is_type(params, json_type_array)) {
		snprintf(err, errlen, "invalid request: \"params\" must be an object or an array");
		return RPC_INVALID_REQUEST;
	}
	ret->id = has_id ? id : NULL;
	ret->notification = !has_id;
	ret->method = m;
	ret->params = params;
	return 0;
}

json_object *rpc_make_result(json_object *id, json_object *result)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(o, "result", result);
	json_object_object_add(o, "id", id ? json_object_get(id) : NULL);
	return o;
}

json_object *rpc_make_error(json_object *id, int code, const char *message, json_object *data)
{
	json_object *o = json_object_new_object(), *e = json_object_new_object();

	json_object_object_add(e, "code", json_object_new_int(code));
	json_object_object_add(e, "message", json_object_new_string(message));
	if (data)
		json_object_object_add(e, "data", data);
	json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(o, "error", e);
	json_object_object_add(o, "id", id ? json_object_get(id) : NULL);
	return o;
}

json_object *rpc_make_request(int64_t id, const char *method, json_object *params)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(o, "method", json_object_new_string(method));
	if (params)
		json_object_object_add(o, "params", params);
	json_object_object_add(o, "id", json_object_new_int64(id));
	return o;
}

int rpc_response_parse(json_object *obj, int64_t id, json_object **ret_result, int *ret_code,
		       const char **ret_message, json_object **ret_data, char *err, size_t errlen)
{
	json_object *ver, *jid, *result = NULL, *error = NULL, *code, *msg, *data = NULL;
	bool has_result, has_error;

	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "reply is not an object");
		return -EPROTO;
	}
	if (!json_object_object_get_ex(obj, "jsonrpc", &ver) ||
	    !json_object_is_type(ver, json_type_string) ||
	    strcmp(json_object_get_string(ver), "2.0") != 0) {
		snprintf(err, errlen, "reply lacks \"jsonrpc\": \"2.0\"");
		return -EPROTO;
	}
	has_result = json_object_object_get_ex(obj, "result", &result);
	has_error = json_object_object_get_ex(obj, "error", &error);
	if (has_result == has_error) {
		snprintf(err, errlen, "reply must have exactly one of result and error");
		return -EPROTO;
	}
	if (!json_object_object_get_ex(obj, "id", &jid)) {
		snprintf(err, errlen, "reply has no id");
		return -EPROTO;
	}
	if (has_error) {
		if (!json_object_is_type(error, json_type_object) ||
		    !json_object_object_get_ex(error, "code", &code) ||
		    !json_object_is_type(code, json_type_int) ||
		    !json_object_object_get_ex(error, "message", &msg) ||
		    !json_object_is_type(msg, json_type_string)) {
			snprintf(err, errlen, "malformed error object in reply");
			return -EPROTO;
		}
		/* A parse error reply carries a null id: accept it. */
		if (jid && (!json_object_is_type(jid, json_type_int) ||
			    json_object_get_int64(jid) != id)) {
			snprintf(err, errlen, "reply id does not match the request");
			return -EPROTO;
		}
		json_object_object_get_ex(error, "data", &data);
		*ret_code = json_object_get_int(code);
		*ret_message = json_object_get_string(msg);
		*ret_data = data;
		return 1;
	}
	if (!jid || !json_object_is_type(jid, json_type_int) || json_object_get_int64(jid) != id) {
		snprintf(err, errlen, "reply id does not match the request");
		return -EPROTO;
	}
	*ret_result = result;
	return 0;
}

static bool name_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 63)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* Decode one member into its field. */
static int field_decode(const struct rpc_field *f, json_object *v, void *base, char *err,
			size_t errlen)
{
	char *p = (char *)base + f->offset;
	uint64_t max, u;
	int64_t i;
	int r;

	switch (f->type) {
	case RPC_FIELD_STRING: {
		const char *s;
		size_t n;

		if (!json_object_is_type(v, json_type_string))
			goto type;
		s = json_object_get_string(v);
		n = (size_t)json_object_get_string_len(v);
		if (memchr(s, '\0', n)) {
			snprintf(err, errlen, "params.%s: NUL byte in string", f->name);
			return RPC_INVALID_PARAMS;
		}
		if (n >= f->size) {
			snprintf(err, errlen, "params.%s: longer than %zu characters", f->name,
				 f->size - 1);
			return RPC_INVALID_PARAMS;
		}
		memcpy(p, s, n + 1);
		return 0;
	}
	case RPC_FIELD_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			goto type;
		*(bool *)p = json_object_get_boolean(v);
		return 0;
	case RPC_FIELD_U64:
	case RPC_FIELD_SIZE:
	case RPC_FIELD_DURATION:
		max = f->max ? f->max
		      : f->type == RPC_FIELD_SIZE ? SIZE_MAX_KIB
		      : f->type == RPC_FIELD_DURATION ? DURATION_MAX_MS : UINT64_MAX;
		if (json_object_is_type(v, json_type_int)) {
			errno = 0;
			i = json_object_get_int64(v);
			if (i < 0) {
				snprintf(err, errlen, "params.%s: must not be negative", f->name);
				return RPC_INVALID_PARAMS;
			}
			u = (uint64_t)i;
			if (f->type == RPC_FIELD_DURATION) {
				if (u > DURATION_MAX_MS / 1000) {
					snprintf(err, errlen, "params.%s: too large", f->name);
					return RPC_INVALID_PARAMS;
				}
				u *= 1000;
			}
		} else if (json_object_is_type(v, json_type_string) && f->type != RPC_FIELD_U64) {
			const char *s = json_object_get_string(v);

			r = f->type == RPC_FIELD_SIZE ? size_parse(s, &u) : duration_parse(s, &u);
			if (r < 0) {
				snprintf(err, errlen, "params.%s: \"%.32s\" is not a %s%s", f->name, s,
					 f->type == RPC_FIELD_SIZE ? "size" : "duration",
					 f->type == RPC_FIELD_SIZE ? " (use K, M, G or T)"
								   : " (use ms, s, m or h)");
				return RPC_INVALID_PARAMS;
			}
		} else {
			goto type;
		}
		if (u > max) {
			snprintf(err, errlen, "params.%s: %llu is above the limit %llu", f->name,
				 (unsigned long long)u, (unsigned long long)max);
			return RPC_INVALID_PARAMS;
		}
		*(uint64_t *)p = u;
		return 0;
	case RPC_FIELD_DOMAIN: {
		struct rpc_domain_ref *d = (struct rpc_domain_ref *)p;

		memset(d, 0, sizeof(*d));
		if (json_object_is_type(v, json_type_int)) {
			i = json_object_get_int64(v);
			if (i < 0 || i > 0x7fef) {
				snprintf(err, errlen, "params.%s: %lld is not a domain id", f->name,
					 (long long)i);
				return RPC_INVALID_PARAMS;
			}
			d->domid = (uint32_t)i;
			return 0;
		}
		if (json_object_is_type(v, json_type_string)) {
			const char *s = json_object_get_string(v);

			if (!name_valid(s) || (size_t)json_object_get_string_len(v) != strlen(s)) {
				snprintf(err, errlen, "params.%s: \"%.32s\" is not a domain name",
					 f->name, s);
				return RPC_INVALID_PARAMS;
			}
			d->by_name = true;
			snprintf(d->name, sizeof(d->name), "%s", s);
			return 0;
		}
		goto type;
	}
	}
type:
	snprintf(err, errlen, "params.%s: wrong type (%s)", f->name,
		 json_type_to_name(json_object_get_type(v)));
	return RPC_INVALID_PARAMS;
}

int rpc_params_decode(json_object *params, const struct rpc_field *fields, void *base, char *err,
		      size_t errlen)
{
	const struct rpc_field *f;
	int r;

	if (params && json_object_is_type(params, json_type_array)) {
		snprintf(err, errlen, "params must be an object (named parameters)");
		return RPC_INVALID_PARAMS;
	}
	if (params && !json_object_is_type(params, json_type_object) &&
	    !json_object_is_type(params, json_type_null)) {
		snprintf(err, errlen, "params must be an object");
		return RPC_INVALID_PARAMS;
	}
	if (params && json_object_is_type(params, json_type_object)) {
		json_object_object_foreach(params, key, val)
		{
			for (f = fields; f->name; f++)
				if (strcmp(f->name, key) == 0)
					break;
			if (!f->name) {
				snprintf(err, errlen, "params: unknown member \"%.32s\"", key);
				return RPC_INVALID_PARAMS;
			}
			r = field_decode(f, val, base, err, errlen);
			if (r)
				return r;
			if (f->present_offset != RPC_NO_PRESENT)
				*(bool *)((char *)base + f->present_offset) = true;
		}
	}
	for (f = fields; f->name; f++) {
		json_object *v;

		if (f->required &&
		    (!params || !json_object_is_type(params, json_type_object) ||
		     !json_object_object_get_ex(params, f->name, &v))) {
			snprintf(err, errlen, "params.%s is required", f->name);
			return RPC_INVALID_PARAMS;
		}
	}
	return 0;
}
