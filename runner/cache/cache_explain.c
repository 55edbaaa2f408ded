/* cache_explain: why a key hit or missed — the stored material of an entry
 * against the material computed now (cache.h, "explaining keys"). */
#include "cache/cache.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define MATERIAL_MAX (1024u << 20)

struct latest_ctx {
	const char *path, *backend;
	char key[CACHE_KEY_HEX + 1];
	uint64_t used;
	bool found;
};

static int latest_one(void *ctx, const struct cache_entry_info *e)
{
	struct latest_ctx *l = ctx;
	if (strcmp(e->path, l->path) != 0 || (l->backend && strcmp(e->backend, l->backend) != 0))
		return 0;
	if (!l->found || e->used_ns >= l->used) {
		snprintf(l->key, sizeof(l->key), "%s", e->key);
		l->used = e->used_ns;
		l->found = true;
	}
	return 0;
}

int cache_latest_for(struct cache *c, const char *suite_path, const char *backend,
		     char key_out[CACHE_KEY_HEX + 1])
{
	struct latest_ctx l = {.path = suite_path, .backend = backend};
	int rc = cache_list(c, latest_one, &l);
	if (rc)
		return rc;
	if (!l.found)
		return -ENOENT;
	memcpy(key_out, l.key, CACHE_KEY_HEX + 1);
	return 0;
}

int cache_read_material(struct cache *c, const char *key, char **out)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/entries/%s/key", c->dir, key);
	return util_read_file(p, MATERIAL_MAX, out, NULL);
}

/* One line of material, identified so that the same input in two
 * materials pairs up: files and shares by path, the rest by kind and
 * position ("cmd" 1, 2, ...). */
struct mline {
	const char *text; /* the line, not NUL-terminated */
	size_t len, id_len, order;
	unsigned dup; /* how many earlier lines had the same id */
};

static size_t id_len(const char *l, size_t len)
{
	const char *sp = memchr(l, ' ', len);
	if (!sp)
		return len;
	size_t w = (size_t)(sp - l);
	if ((w == 4 && !memcmp(l, "file", 4)) || (w == 5 && !memcmp(l, "share", 5)) ||
	    (w == 5 && !memcmp(l, "input", 5))) {
		const char *sp2 = memchr(sp + 1, ' ', len - w - 1);
		return sp2 ? (size_t)(sp2 - l) : len;
	}
	return w;
}

/* by (id, dup): how lines of two materials pair up */
static int id_cmp(const struct mline *a, const struct mline *b)
{
	size_t n = a->id_len < b->id_len ? a->id_len : b->id_len;
	int c = memcmp(a->text, b->text, n);
	if (c)
		return c;
	if (a->id_len != b->id_len)
		return a->id_len < b->id_len ? -1 : 1;
	return a->dup < b->dup ? -1 : a->dup > b->dup;
}

static int mline_cmp(const void *a, const void *b)
{
	const struct mline *x = a, *y = b;
	int c = id_cmp(x, y);
	return c ? c : x->order < y->order ? -1 : x->order > y->order;
}

static int split(const char *m, struct mline **out, size_t *n_out)
{
	size_t n = 0, cap = 0;
	struct mline *v = NULL;
	for (const char *l = m; *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		struct mline *nv = util_grow(v, &cap, n, sizeof(*v), 64);
		if (!nv) {
			free(v);
			return -ENOMEM;
		}
		v = nv;
		v[n] = (struct mline){.text = l, .len = len, .id_len = id_len(l, len), .order = n};
		n++;
		l += len + (e ? 1 : 0);
	}
	if (n)
		qsort(v, n, sizeof(*v), mline_cmp);
	/* number repeated ids in their original order, then sort again so
	 * that (id, dup) orders both sides the same way */
	for (size_t i = 1; i < n; i++)
		if (v[i].id_len == v[i - 1].id_len &&
		    !memcmp(v[i].text, v[i - 1].text, v[i].id_len))
			v[i].dup = v[i - 1].dup + 1;
	if (n)
		qsort(v, n, sizeof(*v), mline_cmp);
	*out = v;
	*n_out = n;
	return 0;
}

static bool is_file(const struct mline *l)
{
	return l->len > 5 && !memcmp(l->text, "file ", 5);
}

static int emit(struct strbuf *out, const char *what, const struct mline *was,
		const struct mline *now)
{
	const struct mline *any = was ? was : now;
	if (is_file(any))
		return sb_printf(out, "%s %.*s\n", what, (int)(any->id_len - 5), any->text + 5);
	if (was && now)
		return sb_printf(out, "changed: %.*s  ->  %.*s\n", (int)was->len, was->text,
				 (int)now->len, now->text);
	return sb_printf(out, "%s: %.*s\n", what, (int)any->len, any->text);
}

int cache_diff(const char *was, const char *now, unsigned max, struct strbuf *out, unsigned *n)
{
	struct mline *a = NULL, *b = NULL;
	size_t na = 0, nb = 0, i = 0, j = 0;
	int rc = split(was, &a, &na);
	if (!rc)
		rc = split(now, &b, &nb);
	*n = 0;
	while (!rc && (i < na || j < nb)) {
		int c = i >= na ? 1 : j >= nb ? -1 : id_cmp(&a[i], &b[j]);
		const struct mline *x = c <= 0 ? &a[i] : NULL, *y = c >= 0 ? &b[j] : NULL;
		bool differs = c != 0 || x->len != y->len || memcmp(x->text, y->text, x->len);
		if (differs && (*n)++ < max)
			rc = emit(out, c < 0 ? "removed" : c > 0 ? "added" : "changed", x, y);
		i += c <= 0;
		j += c >= 0;
	}
	if (!rc && *n > max)
		rc = sb_printf(out, "... %u more\n", *n - max);
	free(a);
	free(b);
	return rc;
}

/* a share's or input's entries so far, summarised when the next group
 * starts */
struct group {
	const char *name;
	size_t name_len;
	unsigned entries;
	XXH3_state_t *h;
};

static int group_flush(struct group *g, struct strbuf *out)
{
	if (!g->name)
		return 0;
	int rc =
	    sb_printf(out, ", %.*s: %u entr%s xxh3 %016llx", (int)g->name_len, g->name, g->entries,
		      g->entries == 1 ? "y" : "ies", (unsigned long long)XXH3_64bits_digest(g->h));
	g->name = NULL;
	return rc;
}

int cache_key_summary(const char *material, struct strbuf *out)
{
	unsigned steps = 0, env = 0;
	struct group g = {.h = XXH3_createState()};
	if (!g.h)
		return -ENOMEM;
	int rc = sb_append_str(out, "key covers");
	bool backend_part = false;
	for (const char *l = material; *l && !rc;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		if (backend_part) {
			rc = sb_printf(out, ", %.*s", (int)(len > 120 ? 120 : len), l);
		} else if (len > 5 && !memcmp(l, "file ", 5) && g.name) {
			g.entries++;
			XXH3_64bits_update(g.h, l, len + 1);
		} else if (!strncmp(l, "share ", 6) || !strncmp(l, "input ", 6)) {
			rc = group_flush(&g, out);
			g.name = l;
			g.name_len = len;
			g.entries = 0;
			XXH3_64bits_reset(g.h);
		} else if (!strncmp(l, "cmd ", 4)) {
			steps++;
		} else if (!strncmp(l, "env ", 4)) {
			env++;
		} else if (!strncmp(l, "backend ", 8) || !strncmp(l, "workdir ", 8)) {
			rc = sb_printf(out, ", %.*s", (int)len, l);
		} else if (len == strlen(CACHE_BACKEND_MARK) &&
			   !memcmp(l, CACHE_BACKEND_MARK, len)) {
			rc = group_flush(&g, out);
			rc = rc ? rc
				: sb_printf(out, ", %u setup step%s, %u env", steps,
					    steps == 1 ? "" : "s", env);
			backend_part = true;
		}
		l += len + (e ? 1 : 0);
	}
	if (!rc && !backend_part) {
		rc = group_flush(&g, out);
		rc = rc ? rc
			: sb_printf(out, ", %u setup step%s, %u env", steps, steps == 1 ? "" : "s",
				    env);
	}
	XXH3_freeState(g.h);
	return rc;
}

void cache_print_indented(FILE *f, const char *text)
{
	for (const char *l = text; *l;) {
		const char *e = strchr(l, '\n');
		int len = e ? (int)(e - l) : (int)strlen(l);
		fprintf(f, "  %.*s\n", len, l);
		l += len + (e ? 1 : 0);
	}
}
