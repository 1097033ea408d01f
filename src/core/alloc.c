/* core/alloc.c — the one allocation wrapper (64-byte aligned, fault injection, live-byte count),
 * and the bump arena built on it. */
#include "mimonet/core.h"

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Each block carries a 64-byte header holding its size, so mn_free needs no size argument and
 * the payload stays 64-byte aligned. */
#define HDR 64

static atomic_long alloc_count;
static atomic_long fail_at;
static atomic_long live_bytes;
static atomic_long failures;

void mn_alloc_fail_at(long n)
{
    atomic_store(&alloc_count, 0);
    atomic_store(&fail_at, n);
}
long mn_alloc_count(void) { return atomic_load(&alloc_count); }
long mn_alloc_live(void) { return atomic_load(&live_bytes); }
long mn_alloc_failures(void) { return atomic_load(&failures); }

static bool should_fail(void)
{
    long c = atomic_fetch_add(&alloc_count, 1) + 1;
    long f = atomic_load(&fail_at);
    return f > 0 && c == f;
}

void *mn_malloc(size_t bytes)
{
    unsigned char *raw = NULL;
    if (!should_fail() && bytes <= SIZE_MAX - 2 * HDR) raw = aligned_alloc(64, (bytes + HDR + 63) & ~(size_t)63);
    if (!raw) {
        atomic_fetch_add(&failures, 1);
        return NULL;
    }
    memcpy(raw, &bytes, sizeof bytes);
    atomic_fetch_add(&live_bytes, (long)bytes);
    return raw + HDR;
}

void *mn_calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return NULL;
    void *p = mn_malloc(count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

void *mn_realloc(void *p, size_t bytes)
{
    if (!p) return mn_malloc(bytes);
    size_t old;
    memcpy(&old, (unsigned char *)p - HDR, sizeof old);
    void *q = mn_malloc(bytes);
    if (!q) return NULL;
    memcpy(q, p, old < bytes ? old : bytes);
    mn_free(p);
    return q;
}

void mn_free(void *p)
{
    if (!p) return;
    unsigned char *raw = (unsigned char *)p - HDR;
    size_t bytes;
    memcpy(&bytes, raw, sizeof bytes);
    atomic_fetch_sub(&live_bytes, (long)bytes);
    free(raw);
}

char *mn_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = mn_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

mn_status mn_arena_init(mn_arena *a, size_t cap_bytes)
{
    a->used = 0;
    a->cap = (cap_bytes + 63) & ~(size_t)63;
    a->base = mn_malloc(a->cap);
    if (!a->base) {
        a->cap = 0;
        return mn_error(MN_ERR_NOMEM, "arena of %zu bytes", cap_bytes);
    }
    memset(a->base, 0, a->cap); /* touch every page now, not on the hot path */
    return MN_OK;
}

void *mn_arena_alloc(mn_arena *a, size_t bytes)
{
    size_t need = (bytes + 63) & ~(size_t)63;
    if (need > a->cap - a->used) {
        mn_log(MN_LOG_ERROR, "arena exhausted: %zu of %zu bytes used, %zu asked", a->used, a->cap,
               bytes);
        return NULL;
    }
    void *p = a->base + a->used;
    a->used += need;
    return p;
}

void mn_arena_reset(mn_arena *a) { a->used = 0; }

void mn_arena_free(mn_arena *a)
{
    mn_free(a->base);
    a->base = NULL;
    a->cap = a->used = 0;
}

/* Route cJSON's allocations through mn_malloc/mn_free, before main runs, so that JSON parsing
 * is covered by fault injection and leak counts like every other allocation.  Installing the
 * hooks once, before any cJSON object exists, keeps allocation and release consistent. */

static void *json_malloc(size_t n) { return mn_malloc(n); }

#if defined(__GNUC__)
__attribute__((constructor))
#endif
static void mn_json_hooks_install(void)
{
    cJSON_Hooks h = {.malloc_fn = json_malloc, .free_fn = mn_free};
    cJSON_InitHooks(&h);
}
