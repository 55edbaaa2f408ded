/* Fuzz target: what a tests_from lister prints (suite_lister_parse) and
 * the names a cache entry keeps (suite_listed_load), both hostile, then
 * the expansion into tests. The first byte picks the reader: 'p' a lister
 * without match:, 'm' one with ctest's match:, anything else an entry's
 * list for a suite of two tests_from. Whatever is accepted holds only
 * valid, unique listed names; whatever is refused says why in one line
 * (no control byte); an accepted list expands into valid, unique tests
 * or is refused in one line with the suite unchanged. */
#include "suite/suite.h"
#include "suite/suite_lister.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char suite_text[] =
    "tests:\n"
    "  - { name: first, run: \"true\" }\n"
    "  - { name: \"a/{name}\", tests_from: ls, run: \"echo {name}\", env: { N: \"{name}\" } }\n"
    "  - name: \"{name}\"\n"
    "    tests_from: { run: ctest -N, match: \"/^ *Test +#\\\\d+: (.+)$/\" }\n"
    "    run: \"ctest -R '^{name}$'\"\n";

static void one_line(const char *err)
{
	if (!err[0])
		abort();
	for (const char *c = err; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			abort();
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every accepted name is a listed name, and none repeats. */
static void check_listed(const struct suite_listed *l)
{
	const char **v = malloc((l->n ? l->n : 1) * sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < l->n; i++) {
		unsigned char bad;
		if (suite_listed_name_problem(l->names[i], &bad))
			abort();
		v[i] = l->names[i];
	}
	qsort(v, l->n, sizeof(*v), cmp);
	for (size_t i = 1; i < l->n; i++)
		if (!strcmp(v[i - 1], v[i]))
			abort();
	free(v);
}

static void expand(struct suite *s, const struct suite_listed *l)
{
	char err[1024] = "";
	size_t before = s->n_tests;
	if (suite_expand_listed(s, l, err, sizeof(err))) {
		one_line(err);
		if (s->n_tests != before || s->n_gens != 2)
			abort();
		return;
	}
	if (s->n_gens)
		abort();
	const char **v = malloc(s->n_tests * sizeof(*v));
	if (!v)
		return;
	for (size_t i = 0; i < s->n_tests; i++) {
		if (suite_name_problem(s->tests[i].name))
			abort();
		v[i] = s->tests[i].name;
	}
	qsort(v, s->n_tests, sizeof(*v), cmp);
	for (size_t i = 1; i < s->n_tests; i++)
		if (!strcmp(v[i - 1], v[i]))
			abort();
	free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct suite_diag d = {0};
	struct suite *s = NULL;
	if (suite_parse("f.yaml", "/src", suite_text, strlen(suite_text), &d, &s) || !s ||
	    s->n_gens != 2)
		abort();
	suite_diag_release(&d);
	const char *text = size ? (const char *)data + 1 : "";
	size_t len = size ? size - 1 : 0;
	char err[1024] = "";
	if (size && (data[0] == 'p' || data[0] == 'm')) {
		struct suite_listed l[2] = {{0}, {0}};
		int k = data[0] == 'm';
		int rc = suite_lister_parse(&s->gens[k], text, len, 1000, &l[k], err, sizeof(err));
		if (rc)
			one_line(err);
		else if (l[k].n > 1000)
			abort();
		else {
			check_listed(&l[k]);
			expand(s, l);
		}
		suite_listed_release(l, 2);
	} else {
		struct suite_listed *l = NULL;
		int rc = suite_listed_load(s, text, len, &l, err, sizeof(err));
		if (rc) {
			one_line(err);
			if (l)
				abort();
		} else {
			check_listed(&l[0]);
			check_listed(&l[1]);
			expand(s, l);
			suite_listed_release(l, 2);
			free(l);
		}
	}
	suite_destroy(s);
	return 0;
}
