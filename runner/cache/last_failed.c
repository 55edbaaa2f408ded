/* last_failed: the per-suite record of failed tests (last_failed.h). */
#include "cache/last_failed.h"

#include "record.h"
#include "strbuf.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define MAGIC "smoltest-last-failed 1"

int lastfail_path(const char *cache_dir, const char *suite_abs, char *out, size_t len)
{
	uint64_t h = XXH3_64bits(suite_abs, strlen(suite_abs));
	int n = snprintf(out, len, "%s/last-failed/%016" PRIx64, cache_dir, h);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Binary search: the position of name, or where it would go. */
static size_t find(const struct lastfail *lf, const char *name, bool *found)
{
	size_t lo = 0, hi = lf->n;
	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(lf->names[mid], name);
		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool lastfail_has(const struct lastfail *lf, const char *name)
{
	bool found;
	find(lf, name, &found);
	return found;
}

int lastfail_set(struct lastfail *lf, const char *name, bool failed)
{
	bool found;
	size_t at = find(lf, name, &found);
	if (found == failed)
		return 0;
	if (!failed) {
		free(lf->names[at]);
		memmove(lf->names + at, lf->names + at + 1, (lf->n - at - 1) * sizeof(char *));
		lf->n--;
		return 0;
	}
	char **v = util_grow(lf->names, &lf->cap, lf->n, sizeof(*v), 16);
	if (!v)
		return -ENOMEM;
	lf->names = v;
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	memmove(lf->names + at + 1, lf->names + at, (lf->n - at) * sizeof(char *));
	lf->names[at] = copy;
	lf->n++;
	return 0;
}

void lastfail_release(struct lastfail *lf)
{
	for (size_t i = 0; i < lf->n; i++)
		free(lf->names[i]);
	free(lf->names);
	memset(lf, 0, sizeof(*lf));
}

int lastfail_load(const char *path, struct lastfail *lf)
{
	char *buf = NULL;
	size_t len = 0;
	lastfail_release(lf);
	int rc = util_read_file(path, LASTFAIL_MAX_FILE, &buf, &len);
	if (rc)
		return rc;
	if (strncmp(buf, MAGIC "\n", sizeof(MAGIC)) != 0) {
		free(buf);
		return -EINVAL;
	}
	char *save = NULL;
	for (char *l = strtok_r(buf, "\n", &save); l && !rc; l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, "failed ", 7) == 0 && !suite_name_problem(l + 7))
			rc = lastfail_set(lf, l + 7, true);
	}
	free(buf);
	if (rc)
		lastfail_release(lf);
	return rc;
}

void lastfail_filter(const struct lastfail *lf, const struct suite *s, size_t *plan, size_t *n)
{
	size_t k = 0;
	for (size_t i = 0; i < *n; i++)
		if (lastfail_has(lf, s->tests[plan[i]].name))
			plan[k++] = plan[i];
	*n = k;
}

int lastfail_save(const struct lastfail *lf, const char *path, const char *suite_abs)
{
	struct strbuf sb = {0};
	char dir[4096];
	int rc = sb_printf(&sb, MAGIC "\nsuite %s\n", suite_abs);
	for (size_t i = 0; i < lf->n && !rc; i++)
		rc = sb_printf(&sb, "failed %s\n", lf->names[i]);
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	if (!rc && slash)
		rc = util_mkdir_p(dir, 0700);
	if (!rc)
		rc = util_write_file_atomic(path, sb.buf ? sb.buf : "", sb.len, 0600);
	sb_release(&sb);
	return rc;
}

/* ---- the reporter ---------------------------------------------------------- */

struct lf_reporter {
	struct reporter base;
	struct lastfail lf;
	char *path, *suite_abs;
	int err; /* sticky: the first allocation failure */
};

static int lf_result(struct reporter *r, const struct result_record *rec)
{
	struct lf_reporter *l = r->priv;
	if (!rec->final || rec->setup || l->err)
		return l->err;
	switch (rec->status) {
	case RESULT_FAIL:
	case RESULT_TIMEOUT:
	case RESULT_ERROR:
		l->err = lastfail_set(&l->lf, rec->test_name, true);
		break;
	case RESULT_PASS:
	case RESULT_FLAKY:
	case RESULT_LEAK: /* a pass with a warning (leak: fail makes it RESULT_FAIL) */
		l->err = lastfail_set(&l->lf, rec->test_name, false);
		break;
	default: /* not run: its state from earlier runs stands */
		break;
	}
	return l->err;
}

static int lf_end(struct reporter *r, const struct run_summary *sum)
{
	struct lf_reporter *l = r->priv;
	(void)sum;
	return l->err ? l->err : lastfail_save(&l->lf, l->path, l->suite_abs);
}

static void lf_destroy(struct reporter *r)
{
	if (!r)
		return;
	struct lf_reporter *l = r->priv;
	lastfail_release(&l->lf);
	free(l->path);
	free(l->suite_abs);
	free(l);
}

static const struct reporter_ops lf_ops = {
    .name = "last-failed",
    .result = lf_result,
    .end = lf_end,
    .destroy = lf_destroy,
};

int lastfail_reporter_create(const char *path, const char *suite_abs, const struct lastfail *prev,
			     struct reporter **out)
{
	struct lf_reporter *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->base.ops = &lf_ops;
	l->base.priv = l;
	l->path = strdup(path);
	l->suite_abs = strdup(suite_abs);
	int rc = l->path && l->suite_abs ? 0 : -ENOMEM;
	for (size_t i = 0; prev && i < prev->n && !rc; i++)
		rc = lastfail_set(&l->lf, prev->names[i], true);
	if (rc) {
		lf_destroy(&l->base);
		return rc;
	}
	*out = &l->base;
	return 0;
}
