/* select: test filtering, tags expressions and partitioning (select.h). */
#include "suite/select.h"
#include "util.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define SEL_MAX_SHARDS 10000u

static int set_err(char *err, size_t len, int rc, const char *fmt, const char *a)
{
	if (err && len)
		snprintf(err, len, fmt, a);
	return rc;
}

int sel_partition_parse(const char *text, struct sel_partition *out, char *err, size_t errlen)
{
	struct sel_partition p = {0};
	const char *rest;
	if (util_starts_with(text, "hash:")) {
		p.kind = SEL_PART_HASH;
		rest = text + 5;
	} else if (util_starts_with(text, "count:")) {
		p.kind = SEL_PART_COUNT;
		rest = text + 6;
	} else {
		return set_err(err, errlen, -EINVAL,
			       "--partition '%s': give hash:M/N or count:M/N (e.g. hash:1/4)",
			       text);
	}
	const char *slash = strchr(rest, '/');
	char m[16];
	uint64_t mi, ni;
	if (!slash || (size_t)(slash - rest) >= sizeof(m))
		return set_err(err, errlen, -EINVAL, "--partition '%s': give hash:M/N or count:M/N",
			       text);
	memcpy(m, rest, (size_t)(slash - rest));
	m[slash - rest] = '\0';
	if (util_parse_u64(slash + 1, 1, SEL_MAX_SHARDS, &ni) ||
	    util_parse_u64(m, 1, SEL_MAX_SHARDS, &mi) || mi > ni)
		return set_err(err, errlen, -EINVAL,
			       "--partition '%s': give 1 <= M <= N <= 10000 in M/N", text);
	p.index = (unsigned)mi;
	p.total = (unsigned)ni;
	snprintf(p.source, sizeof(p.source), "--partition");
	*out = p;
	return 0;
}

static int env_pair(const char *(*get)(const char *, void *), void *ctx, const char *iname,
		    const char *tname, unsigned base, struct sel_partition *out, char *err,
		    size_t errlen)
{
	const char *is = get(iname, ctx), *ts = get(tname, ctx);
	if ((!is || !*is) && (!ts || !*ts))
		return 1; /* not set */
	uint64_t i, t;
	if (!is || !ts || util_parse_u64(ts, 1, SEL_MAX_SHARDS, &t) ||
	    util_parse_u64(is, base, t - 1 + base, &i)) {
		if (err)
			snprintf(err, errlen,
				 "%s='%s' %s='%s' do not name a shard (index from %u, "
				 "total 1..10000)",
				 iname, is ? is : "", tname, ts ? ts : "", base);
		return -EINVAL;
	}
	out->kind = SEL_PART_HASH;
	out->index = (unsigned)(i - base + 1);
	out->total = (unsigned)t;
	snprintf(out->source, sizeof(out->source), "%s", iname);
	return 0;
}

int sel_partition_from_env(const char *(*get)(const char *name, void *ctx), void *ctx,
			   struct sel_partition *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	int rc = env_pair(get, ctx, "TEST_SHARD_INDEX", "TEST_TOTAL_SHARDS", 0, out, err, errlen);
	if (rc <= 0)
		return rc;
	rc = env_pair(get, ctx, "CI_NODE_INDEX", "CI_NODE_TOTAL", 1, out, err, errlen);
	return rc < 0 ? rc : 0;
}

const char *sel_partition_format(const struct sel_partition *p, char *buf, size_t len)
{
	if (p->kind == SEL_PART_NONE)
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, "%s:%u/%u", p->kind == SEL_PART_HASH ? "hash" : "count",
			 p->index, p->total);
	return buf;
}

unsigned sel_hash_shard(const char *name, unsigned total)
{
	return (unsigned)(XXH3_64bits(name, strlen(name)) % total);
}

/* ---- tags expressions: a tiny recursive-descent compiler to an AST ------ */
enum tnode_kind { T_TAG, T_NOT, T_AND, T_OR };

struct tnode {
	enum tnode_kind kind;
	char *tag;
	struct tnode *a, *b;
};

struct sel_tags {
	struct tnode *root;
};

struct tparse {
	const char *s, *p;
	char *err;
	size_t errlen;
	int depth;
	bool failed;
};

static void tnode_free(struct tnode *n)
{
	if (!n)
		return;
	tnode_free(n->a);
	tnode_free(n->b);
	free(n->tag);
	free(n);
}

static void tfail(struct tparse *t, const char *what)
{
	if (!t->failed && t->err)
		snprintf(t->err, t->errlen, "tags expression '%s': %s at offset %zu", t->s, what,
			 (size_t)(t->p - t->s));
	t->failed = true;
}

static void skip_ws(struct tparse *t)
{
	while (*t->p == ' ' || *t->p == '\t')
		t->p++;
}

static bool tag_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

static struct tnode *mk(enum tnode_kind k, struct tnode *a, struct tnode *b)
{
	struct tnode *n = calloc(1, sizeof(*n));
	if (!n) {
		tnode_free(a);
		tnode_free(b);
		return NULL;
	}
	n->kind = k;
	n->a = a;
	n->b = b;
	return n;
}

static struct tnode *t_or(struct tparse *t);

static struct tnode *t_atom(struct tparse *t)
{
	skip_ws(t);
	if (++t->depth > 64) {
		tfail(t, "nested too deeply");
		return NULL;
	}
	struct tnode *r = NULL;
	if (*t->p == '!') {
		t->p++;
		struct tnode *a = t_atom(t);
		r = a ? mk(T_NOT, a, NULL) : NULL;
	} else if (*t->p == '(') {
		t->p++;
		r = t_or(t);
		skip_ws(t);
		if (r && *t->p != ')') {
			tfail(t, "expected ')'");
			tnode_free(r);
			r = NULL;
		} else if (r) {
			t->p++;
		}
	} else if (tag_char(*t->p)) {
		const char *b = t->p;
		while (tag_char(*t->p))
			t->p++;
		r = mk(T_TAG, NULL, NULL);
		if (r && !(r->tag = strndup(b, (size_t)(t->p - b)))) {
			free(r);
			r = NULL;
		}
	} else {
		tfail(t, *t->p ? "expected a tag name, '!' or '('" : "unexpected end");
	}
	t->depth--;
	return r;
}

static struct tnode *t_and(struct tparse *t)
{
	struct tnode *l = t_atom(t);
	for (;;) {
		skip_ws(t);
		if (!l || (*t->p != '+' && *t->p != '&'))
			return l;
		t->p++;
		struct tnode *r = t_atom(t);
		if (!r) {
			tnode_free(l);
			return NULL;
		}
		l = mk(T_AND, l, r);
	}
}

static struct tnode *t_or(struct tparse *t)
{
	struct tnode *l = t_and(t);
	for (;;) {
		skip_ws(t);
		if (!l || (*t->p != ',' && *t->p != '|'))
			return l;
		t->p++;
		struct tnode *r = t_and(t);
		if (!r) {
			tnode_free(l);
			return NULL;
		}
		l = mk(T_OR, l, r);
	}
}

int sel_tags_compile(const char *expr, struct sel_tags **out, char *err, size_t errlen)
{
	struct tparse t = {.s = expr, .p = expr, .err = err, .errlen = errlen};
	struct tnode *root = t_or(&t);
	skip_ws(&t);
	if (root && *t.p) {
		tfail(&t, "unexpected character");
		tnode_free(root);
		root = NULL;
	}
	if (!root) {
		if (!t.failed)
			return -ENOMEM;
		return -EINVAL;
	}
	struct sel_tags *st = malloc(sizeof(*st));
	if (!st) {
		tnode_free(root);
		return -ENOMEM;
	}
	st->root = root;
	*out = st;
	return 0;
}

static bool teval(const struct tnode *n, char *const *tags, size_t n_tags)
{
	switch (n->kind) {
	case T_TAG:
		for (size_t i = 0; i < n_tags; i++)
			if (!strcmp(tags[i], n->tag))
				return true;
		return false;
	case T_NOT:
		return !teval(n->a, tags, n_tags);
	case T_AND:
		return teval(n->a, tags, n_tags) && teval(n->b, tags, n_tags);
	case T_OR:
		return teval(n->a, tags, n_tags) || teval(n->b, tags, n_tags);
	}
	return false;
}

bool sel_tags_match(const struct sel_tags *t, char *const *tags, size_t n_tags)
{
	return teval(t->root, tags, n_tags);
}

void sel_tags_destroy(struct sel_tags *t)
{
	if (!t)
		return;
	tnode_free(t->root);
	free(t);
}

int sel_plan(const struct suite *s, const struct sel_opts *o, size_t **out, size_t *n_out,
	     char *err, size_t errlen)
{
	pcre2_code *re = NULL;
	pcre2_match_data *md = NULL;
	int rc = 0;
	size_t *plan = calloc(s->n_tests ? s->n_tests : 1, sizeof(*plan));
	size_t n = 0, kept = 0;
	if (!plan)
		return -ENOMEM;
	if (o->filter) {
		int e;
		PCRE2_SIZE off;
		re = pcre2_compile((PCRE2_SPTR)o->filter, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &e,
				   &off, NULL);
		if (!re) {
			PCRE2_UCHAR msg[128];
			pcre2_get_error_message(e, msg, sizeof(msg));
			if (err)
				snprintf(err, errlen,
					 "--filter '%s': invalid regex at offset %zu: %s",
					 o->filter, (size_t)off, (const char *)msg);
			rc = -EINVAL;
			goto out;
		}
		md = pcre2_match_data_create_from_pattern(re, NULL);
		if (!md) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < s->n_tests; i++) {
		const struct suite_test *t = &s->tests[i];
		if (re &&
		    pcre2_match(re, (PCRE2_SPTR)t->name, PCRE2_ZERO_TERMINATED, 0, 0, md, NULL) < 0)
			continue;
		if (o->tags && !sel_tags_match(o->tags, t->tags, t->n_tags))
			continue;
		plan[n++] = i;
	}
	/* partition the filtered list */
	for (size_t i = 0; i < n; i++) {
		const struct sel_partition *p = &o->partition;
		bool mine = true;
		if (p->kind == SEL_PART_HASH)
			mine = sel_hash_shard(s->tests[plan[i]].name, p->total) == p->index - 1;
		else if (p->kind == SEL_PART_COUNT)
			mine = i % p->total == p->index - 1;
		if (mine)
			plan[kept++] = plan[i];
	}
	*out = plan;
	*n_out = kept;
	plan = NULL;
out:
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	free(plan);
	return rc;
}
