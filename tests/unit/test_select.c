/* select: --filter, --tags expressions and partitioning (stable hashing,
 * count dealing, environment sharding). */
#include "suite/select.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct suite *mk_suite(size_t n, const char *prefix)
{
	struct suite *s = calloc(1, sizeof(*s));
	s->tests = calloc(n, sizeof(*s->tests));
	s->n_tests = n;
	for (size_t i = 0; i < n; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%s%zu", prefix, i);
		s->tests[i].name = strdup(name);
	}
	return s;
}

static void free_suite(struct suite *s)
{
	for (size_t i = 0; i < s->n_tests; i++) {
		free(s->tests[i].name);
		for (size_t k = 0; k < s->tests[i].n_tags; k++)
			free(s->tests[i].tags[k]);
		free(s->tests[i].tags);
	}
	free(s->tests);
	free(s);
}

START_TEST(partition_parse)
{
	struct sel_partition p;
	char err[256];
	ck_assert_int_eq(sel_partition_parse("hash:2/4", &p, err, sizeof(err)), 0);
	ck_assert_int_eq(p.kind, SEL_PART_HASH);
	ck_assert_uint_eq(p.index, 2);
	ck_assert_uint_eq(p.total, 4);
	ck_assert_int_eq(sel_partition_parse("count:1/1", &p, err, sizeof(err)), 0);
	ck_assert_int_eq(p.kind, SEL_PART_COUNT);
	static const char *const bad[] = {
	    "hash:0/4", "hash:5/4",  "hash:1/0",  "mod:1/2",	    "hash:1",
	    "hash:/2",	"hash:1/2x", "hash:-1/2", "count:1/100000", "hash:99999999999999999999/2"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(sel_partition_parse(bad[i], &p, err, sizeof(err)) == -EINVAL, "%s",
			      bad[i]);
	ck_assert_ptr_nonnull(strstr(err, "hash:99999999999999999999/2"));
}
END_TEST

/* Each test lands in exactly one shard, and adding tests never moves the
 * existing ones under hash partitioning. */
START_TEST(hash_partition_stable)
{
	struct suite *s = mk_suite(200, "t");
	struct suite *more = mk_suite(260, "t"); /* the same 200 first, plus 60 */
	unsigned seen[200] = {0};
	for (unsigned m = 1; m <= 4; m++) {
		struct sel_opts o = {.partition = {SEL_PART_HASH, m, 4, ""}};
		size_t *plan = NULL, *plan2 = NULL, n = 0, n2 = 0;
		ck_assert_int_eq(sel_plan(s, &o, &plan, &n, NULL, 0), 0);
		ck_assert_int_eq(sel_plan(more, &o, &plan2, &n2, NULL, 0), 0);
		ck_assert_uint_gt(n, 20); /* roughly balanced: 50 expected */
		ck_assert_uint_lt(n, 80);
		for (size_t i = 0; i < n; i++)
			seen[plan[i]]++;
		/* every old test of this shard is still in this shard */
		size_t k = 0;
		for (size_t i = 0; i < n2 && k < n; i++)
			if (plan2[i] == plan[k])
				k++;
		ck_assert_uint_eq(k, n);
		free(plan);
		free(plan2);
	}
	for (size_t i = 0; i < 200; i++)
		ck_assert_uint_eq(seen[i], 1);
	free_suite(s);
	free_suite(more);
}
END_TEST

START_TEST(count_partition)
{
	struct suite *s = mk_suite(10, "t");
	struct sel_opts o = {.partition = {SEL_PART_COUNT, 2, 3, ""}};
	size_t *plan = NULL, n = 0;
	ck_assert_int_eq(sel_plan(s, &o, &plan, &n, NULL, 0), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(plan[0], 1);
	ck_assert_uint_eq(plan[1], 4);
	ck_assert_uint_eq(plan[2], 7);
	free(plan);
	free_suite(s);
}
END_TEST

static const char *fake_env(const char *name, void *ctx)
{
	const char *const *kv = ctx;
	for (; kv[0]; kv += 2)
		if (!strcmp(kv[0], name))
			return kv[1];
	return NULL;
}

START_TEST(env_sharding)
{
	struct sel_partition p;
	char err[256];
	const char *bazel[] = {"TEST_SHARD_INDEX", "0", "TEST_TOTAL_SHARDS", "3", NULL};
	ck_assert_int_eq(sel_partition_from_env(fake_env, bazel, &p, err, sizeof(err)), 0);
	ck_assert_int_eq(p.kind, SEL_PART_HASH);
	ck_assert_uint_eq(p.index, 1);
	ck_assert_uint_eq(p.total, 3);
	ck_assert_str_eq(p.source, "TEST_SHARD_INDEX");
	const char *gitlab[] = {"CI_NODE_INDEX", "3", "CI_NODE_TOTAL", "3", NULL};
	ck_assert_int_eq(sel_partition_from_env(fake_env, gitlab, &p, err, sizeof(err)), 0);
	ck_assert_uint_eq(p.index, 3);
	const char *none[] = {NULL};
	ck_assert_int_eq(sel_partition_from_env(fake_env, none, &p, err, sizeof(err)), 0);
	ck_assert_int_eq(p.kind, SEL_PART_NONE);
	const char *bad1[] = {"TEST_SHARD_INDEX", "3", "TEST_TOTAL_SHARDS", "3", NULL};
	ck_assert_int_eq(sel_partition_from_env(fake_env, bad1, &p, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "TEST_SHARD_INDEX='3'"));
	const char *bad2[] = {"CI_NODE_INDEX", "0", "CI_NODE_TOTAL", "2", NULL};
	ck_assert_int_eq(sel_partition_from_env(fake_env, bad2, &p, err, sizeof(err)), -EINVAL);
	const char *bad3[] = {"CI_NODE_TOTAL", "2", NULL};
	ck_assert_int_eq(sel_partition_from_env(fake_env, bad3, &p, err, sizeof(err)), -EINVAL);
}
END_TEST

static bool tags_match(const char *expr, const char *const *tags, size_t n)
{
	struct sel_tags *t = NULL;
	char err[256];
	ck_assert_msg(sel_tags_compile(expr, &t, err, sizeof(err)) == 0, "%s", err);
	bool r = sel_tags_match(t, (char *const *)tags, n);
	sel_tags_destroy(t);
	return r;
}

START_TEST(tags_expressions)
{
	const char *tags[] = {"fast", "linux"};
	ck_assert(tags_match("fast", tags, 2));
	ck_assert(!tags_match("slow", tags, 2));
	ck_assert(tags_match("!slow", tags, 2));
	ck_assert(tags_match("fast+linux", tags, 2));
	ck_assert(!tags_match("fast+!linux", tags, 2));
	ck_assert(tags_match("slow,linux", tags, 2));
	ck_assert(tags_match("slow | fast & linux", tags, 2));
	ck_assert(!tags_match("(slow | fast) & !linux", tags, 2));
	ck_assert(tags_match("!!fast", tags, 2));
	ck_assert(!tags_match("fast", NULL, 0));
	static const char *const bad[] = {"",  "fast+", "(fast", "fast)", "a b",
					  "!", "+a",	"a,,b",	 "$x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sel_tags *t = NULL;
		char err[256];
		ck_assert_msg(sel_tags_compile(bad[i], &t, err, sizeof(err)) == -EINVAL, "'%s'",
			      bad[i]);
		ck_assert_ptr_null(t);
	}
	/* deep nesting is refused, not a stack overflow */
	char deep[400];
	memset(deep, '(', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	struct sel_tags *t = NULL;
	ck_assert_int_eq(sel_tags_compile(deep, &t, NULL, 0), -EINVAL);
}
END_TEST

START_TEST(filter_and_tags)
{
	struct suite *s = mk_suite(6, "t");
	s->tests[1].tags = calloc(2, sizeof(char *));
	s->tests[1].tags[0] = strdup("fast");
	s->tests[1].n_tags = 1;
	s->tests[4].tags = calloc(2, sizeof(char *));
	s->tests[4].tags[0] = strdup("fast");
	s->tests[4].n_tags = 1;
	struct sel_tags *tags = NULL;
	ck_assert_int_eq(sel_tags_compile("fast", &tags, NULL, 0), 0);
	struct sel_opts o = {.filter = "^t[0-3]$", .tags = tags};
	size_t *plan = NULL, n = 0;
	ck_assert_int_eq(sel_plan(s, &o, &plan, &n, NULL, 0), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(plan[0], 1);
	free(plan);
	char err[256];
	o.filter = "([";
	ck_assert_int_eq(sel_plan(s, &o, &plan, &n, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "--filter"));
	sel_tags_destroy(tags);
	free_suite(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("select");
	TCase *tc = tcase_create("select");
	tcase_add_test(tc, partition_parse);
	tcase_add_test(tc, hash_partition_stable);
	tcase_add_test(tc, count_partition);
	tcase_add_test(tc, env_sharding);
	tcase_add_test(tc, tags_expressions);
	tcase_add_test(tc, filter_and_tags);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
