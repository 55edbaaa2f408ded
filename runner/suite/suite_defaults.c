/* suite_defaults: copies of tests. A test starts as a copy of the template
 * that holds the suite's env and the keys of defaults: (docs/suite.md,
 * "Less repetition"), before its own keys are read: its own value replaces
 * a default; its lists (tags, artifacts) are added to the default ones, and
 * its env entries override the default entries of the same name. A matrix
 * test is copied once per combination (suite_matrix.c). */
#include "suite/suite_int.h"

#include <stdlib.h>
#include <string.h>

static void copy_match(struct ps *p, struct suite_match *dst, const struct suite_match *src)
{
	*dst = *src;
	dst->text = src->text ? sy_dup_or_oom(p, src->text) : NULL;
	dst->pattern = src->pattern ? sy_dup_or_oom(p, src->pattern) : NULL;
}

static void copy_vec(struct ps *p, char ***dst, size_t *ndst, char *const *src, size_t nsrc)
{
	for (size_t i = 0; i < nsrc; i++)
		sy_vec_push(p, dst, ndst, sy_dup_or_oom(p, src[i]));
}

void sy_test_copy(struct ps *p, struct suite_test *t, const struct suite_test *d)
{
	t->name = d->name ? sy_dup_or_oom(p, d->name) : NULL;
	t->line = d->line;
	t->column = d->column;
	t->run = d->run;
	t->run.argv = NULL;
	t->run.argc = 0;
	copy_vec(p, &t->run.argv, &t->run.argc, d->run.argv, d->run.argc);
	t->skip = d->skip ? sy_dup_or_oom(p, d->skip) : NULL;
	t->timeout_ns = d->timeout_ns;
	t->retries = d->retries;
	t->leak_fail = d->leak_fail;
	t->cwd = d->cwd ? sy_dup_or_oom(p, d->cwd) : NULL;
	t->expect.exit = d->expect.exit;
	copy_match(p, &t->expect.stdout_match, &d->expect.stdout_match);
	copy_match(p, &t->expect.stdout_not, &d->expect.stdout_not);
	copy_match(p, &t->expect.stderr_match, &d->expect.stderr_match);
	copy_match(p, &t->expect.stderr_not, &d->expect.stderr_not);
	copy_vec(p, &t->artifacts, &t->n_artifacts, d->artifacts, d->n_artifacts);
	copy_vec(p, &t->tags, &t->n_tags, d->tags, d->n_tags);
	copy_vec(p, &t->env, &t->n_env, d->env, d->n_env);
}
