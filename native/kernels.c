/*
 * rfm_native: float32 kernels for the trainer's wasm backend that work on tensors in the wasm heap,
 * with no copies: matrix products by the machine's OpenBLAS (cblas_sgemm), and sums over rows.
 *
 * Why: tfjs-wasm's products (XNNPACK, 128-bit wasm SIMD, no FMA) run at ~0.3x of OpenBLAS per core
 * on AVX-512 machines, and products are three quarters of a training step (src/trainer/README.md).
 *
 * OpenBLAS is opened with dlopen at first use, so this file builds with only a C compiler and Node's
 * headers, and a machine without OpenBLAS simply keeps tfjs-wasm's products. Each call runs in the
 * calling thread (OpenBLAS limited to one thread): rfm's data-parallel workers are the parallelism,
 * and one thread keeps every product's summation order fixed (bitwise-reproducible runs).
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>

/* CBLAS enum values (cblas.h): RowMajor = 101, NoTrans = 111, Trans = 112 */
typedef void (*sgemm_fn)(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc);
typedef void (*set_threads_fn)(int);
typedef char *(*get_config_fn)(void);
typedef char *(*get_corename_fn)(void);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static sgemm_fn sgemm = NULL;
static char library[512] = "";
static char config[256] = "";
static char load_error[512] = "";

static void open_blas_library(void) {
  /* only OpenBLAS: a generic libblas.so.3 may be the reference BLAS, slower than XNNPACK */
  const char *override = getenv("RFM_OPENBLAS");
  const char *names[] = {override, "libopenblas.so.0", "libopenblas.so", "libopenblas.dylib"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    if (!names[i] || !names[i][0]) continue;
    void *handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char *e = dlerror();
      if (i == 0 || load_error[0] == 0) snprintf(load_error, sizeof(load_error), "%s", e ? e : names[i]);
      if (override && override[0]) break; /* an explicit choice that fails is not replaced by a guess */
      continue;
    }
    sgemm_fn f = (sgemm_fn)dlsym(handle, "cblas_sgemm");
    if (!f) {
      snprintf(load_error, sizeof(load_error), "%s has no cblas_sgemm", names[i]);
      dlclose(handle);
      continue;
    }
    set_threads_fn set_threads = (set_threads_fn)dlsym(handle, "openblas_set_num_threads");
    if (set_threads) set_threads(1);
    get_config_fn get_config = (get_config_fn)dlsym(handle, "openblas_get_config");
    get_corename_fn get_corename = (get_corename_fn)dlsym(handle, "openblas_get_corename");
    snprintf(config, sizeof(config), "%s%s%s", get_config ? get_config() : "", get_corename ? " core=" : "",
             get_corename ? get_corename() : "");
    snprintf(library, sizeof(library), "%s", names[i]);
    sgemm = f;
    return;
  }
}

/* OpenBLAS sizes its thread pool when it loads: one thread unless the user chose otherwise. The
   variable is removed again afterwards, so commands rfm starts later (a user's PyTorch) do not inherit it. */
static void open_blas(void) {
  bool set_threads_env = getenv("OPENBLAS_NUM_THREADS") == NULL;
  if (set_threads_env) setenv("OPENBLAS_NUM_THREADS", "1", 0);
  open_blas_library();
  if (set_threads_env) unsetenv("OPENBLAS_NUM_THREADS");
}

static napi_value throw_error(napi_env env, const char *message) {
  napi_throw_error(env, "RFM_NATIVE", message);
  return NULL;
}

static napi_value make_string(napi_env env, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

/* (heap: ArrayBuffer, dims: Int32Array of at least `count`) → pointers; false after throwing */
static bool heap_and_dims(napi_env env, napi_callback_info cb, size_t count, char **heap, int64_t *heap_bytes, const int32_t **dims) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, cb, &argc, argv, NULL, NULL);
  bool ok = false;
  void *data = NULL;
  size_t bytes = 0;
  if (argc >= 2) napi_is_arraybuffer(env, argv[0], &ok);
  if (!ok || napi_get_arraybuffer_info(env, argv[0], &data, &bytes) != napi_ok) {
    throw_error(env, "the first argument must be the wasm heap (an ArrayBuffer)");
    return false;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void *dims_data = NULL;
  ok = false;
  napi_is_typedarray(env, argv[1], &ok);
  if (!ok || napi_get_typedarray_info(env, argv[1], &type, &length, &dims_data, NULL, NULL) != napi_ok || type != napi_int32_array ||
      length < count) {
    throw_error(env, "the second argument must be an Int32Array of the kernel's dimensions");
    return false;
  }
  *heap = (char *)data;
  *heap_bytes = (int64_t)bytes;
  *dims = (const int32_t *)dims_data;
  return true;
}

/* a byte offset into the heap: passed in an Int32Array, read unsigned (a heap may pass 2 GiB) */
static inline int64_t heap_offset(int32_t v) { return (int64_t)(uint32_t)v; }

/* a float32 array of `count` elements at byte `offset` lies inside the heap */
static bool inside(int64_t offset, int64_t count, int64_t heap_bytes) {
  return offset >= 0 && count >= 0 && offset % 4 == 0 && offset + 4 * count <= heap_bytes;
}

/* info() -> {available, library, config, error} */
static napi_value info(napi_env env, napi_callback_info cb) {
  (void)cb;
  pthread_once(&once, open_blas);
  napi_value out, available;
  napi_create_object(env, &out);
  napi_get_boolean(env, sgemm != NULL, &available);
  napi_set_named_property(env, out, "available", available);
  napi_set_named_property(env, out, "library", make_string(env, library));
  napi_set_named_property(env, out, "config", make_string(env, config));
  napi_set_named_property(env, out, "error", make_string(env, load_error));
  return out;
}

/*
 * sgemm(heap: ArrayBuffer, dims: Int32Array[13]) — dims = batch, transA, transB, m, n, k,
 * aOffset, aStride, bOffset, bStride, cOffset, cStride, accumulate (byte offsets / element strides).
 * For each i < batch: C_i = op(A_i) · op(B_i) (+ C_i when accumulate), A_i at aOffset + 4·i·aStride
 * (stride 0 broadcasts one matrix over the batch). Row-major, dense: op(A) is m×k, op(B) is k×n.
 */
static napi_value run_sgemm(napi_env env, napi_callback_info cb) {
  char *heap;
  int64_t heap_bytes;
  const int32_t *d;
  if (!heap_and_dims(env, cb, 13, &heap, &heap_bytes, &d)) return NULL;
  pthread_once(&once, open_blas);
  if (!sgemm) return throw_error(env, "OpenBLAS is not available");
  int64_t batch = d[0], ta = d[1], tb = d[2], m = d[3], n = d[4], k = d[5];
  int64_t a_off = heap_offset(d[6]), b_off = heap_offset(d[8]), c_off = heap_offset(d[10]);
  int64_t a_stride = d[7], b_stride = d[9], c_stride = d[11];
  int accumulate = d[12];
  if (batch < 0 || m < 0 || n < 0 || k < 0 || a_stride < 0 || b_stride < 0 || c_stride < 0) return throw_error(env, "negative dimension");
  if (batch == 0 || m == 0 || n == 0) return NULL;
  /* every matrix the loop touches must lie inside the heap */
  int64_t last = batch - 1;
  if (!inside(a_off, last * a_stride + m * k, heap_bytes) || !inside(b_off, last * b_stride + k * n, heap_bytes) ||
      !inside(c_off, last * c_stride + m * n, heap_bytes))
    return throw_error(env, "operand outside the heap");
  const float *a = (const float *)(heap + a_off);
  const float *b = (const float *)(heap + b_off);
  float *c = (float *)(heap + c_off);
  int lda = ta ? (int)m : (int)k;
  int ldb = tb ? (int)k : (int)n;
  for (int64_t i = 0; i < batch; i++) {
    if (k == 0) {
      if (!accumulate) memset(c + i * c_stride, 0, sizeof(float) * m * n);
      continue;
    }
    sgemm(101, ta ? 112 : 111, tb ? 112 : 111, (int)m, (int)n, (int)k, 1.0f, a + i * a_stride, lda > 0 ? lda : 1,
          b + i * b_stride, ldb > 0 ? ldb : 1, accumulate ? 1.0f : 0.0f, c + i * c_stride, (int)n);
  }
  return NULL;
}

/*
 * sumRows(heap, dims) — dims = rows, width, xOffset, outOffset (bytes): out[j] = sum over r of
 * x[r][j], accumulated in float32 from 0 in row order: bitwise what src/trainer/wasm-sum.ts's loop
 * computes (no OpenBLAS; built without -ffast-math, so the compiler keeps each column's order).
 */
static napi_value run_sum_rows(napi_env env, napi_callback_info cb) {
  char *heap;
  int64_t heap_bytes;
  const int32_t *d;
  if (!heap_and_dims(env, cb, 4, &heap, &heap_bytes, &d)) return NULL;
  int64_t rows = d[0], width = d[1], x_off = heap_offset(d[2]), out_off = heap_offset(d[3]);
  if (rows < 0 || width < 0 || !inside(x_off, rows * width, heap_bytes) || !inside(out_off, width, heap_bytes))
    return throw_error(env, "operand outside the heap");
  const float *x = (const float *)(heap + x_off);
  float *out = (float *)(heap + out_off);
  for (int64_t j = 0; j < width; j++) out[j] = 0.0f;
  for (int64_t r = 0; r < rows; r++) {
    const float *row = x + r * width;
    for (int64_t j = 0; j < width; j++) out[j] += row[j];
  }
  return NULL;
}

/*
 * gatherRows(heap, dims) → boolean — dims = count, width, tableRows, tableOffset, indicesOffset,
 * outOffset: out[i] = table[indices[i]] (rows of `width` 4-byte elements, int32 indices). Returns
 * false, copying nothing, when an index is out of range (the caller then leaves it to tfjs).
 */
static napi_value run_gather_rows(napi_env env, napi_callback_info cb) {
  char *heap;
  int64_t heap_bytes;
  const int32_t *d;
  if (!heap_and_dims(env, cb, 6, &heap, &heap_bytes, &d)) return NULL;
  int64_t count = d[0], width = d[1], table_rows = d[2];
  int64_t table_off = heap_offset(d[3]), indices_off = heap_offset(d[4]), out_off = heap_offset(d[5]);
  if (count < 0 || width < 0 || table_rows < 0 || !inside(table_off, table_rows * width, heap_bytes) || !inside(indices_off, count, heap_bytes) ||
      !inside(out_off, count * width, heap_bytes))
    return throw_error(env, "operand outside the heap");
  const float *table = (const float *)(heap + table_off);
  const int32_t *indices = (const int32_t *)(heap + indices_off);
  float *out = (float *)(heap + out_off);
  napi_value result;
  for (int64_t i = 0; i < count; i++) {
    if (indices[i] < 0 || indices[i] >= table_rows) {
      napi_get_boolean(env, false, &result);
      return result;
    }
  }
  for (int64_t i = 0; i < count; i++) memcpy(out + i * width, table + (int64_t)indices[i] * width, sizeof(float) * width);
  napi_get_boolean(env, true, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value f;
  napi_create_function(env, "info", NAPI_AUTO_LENGTH, info, NULL, &f);
  napi_set_named_property(env, exports, "info", f);
  napi_create_function(env, "sgemm", NAPI_AUTO_LENGTH, run_sgemm, NULL, &f);
  napi_set_named_property(env, exports, "sgemm", f);
  napi_create_function(env, "sumRows", NAPI_AUTO_LENGTH, run_sum_rows, NULL, &f);
  napi_set_named_property(env, exports, "sumRows", f);
  napi_create_function(env, "gatherRows", NAPI_AUTO_LENGTH, run_gather_rows, NULL, &f);
  napi_set_named_property(env, exports, "gatherRows", f);

  return exports;
}
