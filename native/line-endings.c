/*
 * The two byte scans of workers/line-endings.ts, in C. In JavaScript each line costs a
 * native indexOf and a copyWithin call: ~13 ms of a worker for a 10 MB message of 80-byte
 * lines, a quarter of smtpipe's CPU per large message. Here memchr and memmove do the
 * same walk without a call per line. Semantics are the JavaScript ones, byte for byte
 * (test/property/line-endings.test.ts compares both); native/addons.ts loads it for
 * workers/deliver.ts. Stateless: safe in any number of worker threads.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <node_api.h>

/* The bytes of a Uint8Array argument; false (with a JS exception pending) otherwise. */
static bool bytes_of(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  bool is_typed_array = false;
  if (napi_is_typedarray(env, value, &is_typed_array) != napi_ok || !is_typed_array) {
    napi_throw_type_error(env, NULL, "expected a Uint8Array");
    return false;
  }
  napi_typedarray_type type;
  void *raw = NULL;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "expected a Uint8Array");
    return false;
  }
  *data = raw;
  return true;
}

/*
 * CRLF -> LF in place. Returns the new length, or -1 when a CR or LF outside a CRLF pair
 * remains and normalize is false. Under normalize every such CR becomes an LF (a bare LF
 * already is one). An LF is bare when the byte before it, as received, is not a CR: bytes
 * from `read` on are never written before they are read, so p[end - 1] is still original.
 */
static int64_t crlf_to_lf(uint8_t *p, size_t n, bool normalize) {
  size_t read = 0;
  size_t write = 0;
  bool bare = false;
  while (read < n) {
    uint8_t *lf = memchr(p + read, '\n', n - read);
    if (lf == NULL) {
      memmove(p + write, p + read, n - read);
      write += n - read;
      break;
    }
    size_t end = (size_t)(lf - p);
    bool crlf = end > read && p[end - 1] == '\r';
    if (!crlf) bare = true;
    size_t keep = (crlf ? end - 1 : end) - read;
    if (write != read) memmove(p + write, p + read, keep);
    write += keep;
    p[write++] = '\n';
    read = end + 1;
  }
  uint8_t *cr = memchr(p, '\r', write);
  if (!bare && cr == NULL) return (int64_t)write;
  if (!normalize) return -1;
  for (; cr != NULL; cr = memchr(cr + 1, '\r', write - (size_t)(cr + 1 - p))) *cr = '\n';
  return (int64_t)write;
}

/* True when a CR or an LF stands outside a CRLF pair. */
static bool has_bare_newline(const uint8_t *p, size_t n) {
  for (const uint8_t *lf = memchr(p, '\n', n); lf != NULL; lf = memchr(lf + 1, '\n', n - (size_t)(lf + 1 - p))) {
    if (lf == p || lf[-1] != '\r') return true;
  }
  for (const uint8_t *cr = memchr(p, '\r', n); cr != NULL; cr = memchr(cr + 1, '\r', n - (size_t)(cr + 1 - p))) {
    if ((size_t)(cr + 1 - p) == n || cr[1] != '\n') return true;
  }
  return false;
}

/*
 * Reads `want` arguments into argv, the first a Uint8Array; false (with a JS TypeError
 * pending, naming `usage`) otherwise.
 */
static bool read_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *usage, uint8_t **data,
                      size_t *length) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, NULL, usage);
    return false;
  }
  return bytes_of(env, argv[0], data, length);
}

/* toLf(bytes: Uint8Array, normalize: boolean): number */
static napi_value ToLf(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint8_t *data = NULL;
  size_t length = 0;
  bool normalize = false;
  if (!read_args(env, info, 2, argv, "toLf(bytes, normalize)", &data, &length)) return NULL;
  if (napi_get_value_bool(env, argv[1], &normalize) != napi_ok) {
    napi_throw_type_error(env, NULL, "normalize must be a boolean");
    return NULL;
  }
  napi_value result;
  if (napi_create_int64(env, length == 0 ? 0 : crlf_to_lf(data, length, normalize), &result) != napi_ok) return NULL;
  return result;
}

/* hasBareNewline(bytes: Uint8Array): boolean */
static napi_value HasBareNewline(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint8_t *data = NULL;
  size_t length = 0;
  if (!read_args(env, info, 1, argv, "hasBareNewline(bytes)", &data, &length)) return NULL;
  napi_value result;
  if (napi_get_boolean(env, length > 0 && has_bare_newline(data, length), &result) != napi_ok) return NULL;
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
      {"toLf", NULL, ToLf, NULL, NULL, NULL, napi_default, NULL},
      {"hasBareNewline", NULL, HasBareNewline, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties) != napi_ok) return NULL;
  return exports;
}
