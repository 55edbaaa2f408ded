/* Fuzz target: the YAML suite parser (a suite file is user input, and in CI
 * often comes from a pull request) and the command-line expression parsers
 * that see user text (--tags, --partition). Every input must either parse or
 * produce diagnostics that each start with "file:line:column:"; a parsed
 * suite's test names (defaults, aliases and matrices expanded) are valid and
 * unique. */
#include "suite/select.h"
#include "suite/suite.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct suite_diag d = {0};
	struct suite *s = NULL;
	int rc = suite_parse("f.yaml", "/src", (const char *)data, size, &d, &s);
	if (rc == 0) {
		if (!s || s->n_tests == 0 || d.count)
			abort();
		for (size_t i = 0; i < s->n_tests; i++)
			if (!s->tests[i].name || suite_name_problem(s->tests[i].name))
				abort();
		/* names are unique, a matrix's included */
		const char **names = malloc(s->n_tests * sizeof(*names));
		if (names) {
			for (size_t i = 0; i < s->n_tests; i++)
				names[i] = s->tests[i].name;
			qsort(names, s->n_tests, sizeof(*names), name_cmp);
			for (size_t i = 1; i < s->n_tests; i++)
				if (!strcmp(names[i - 1], names[i]))
					abort();
			free(names);
		}
		suite_destroy(s);
	} else if (rc == -EINVAL) {
		if (s || !d.count || strncmp(sb_str(&d.text), "f.yaml:", 7))
			abort();
	}
	suite_diag_release(&d);

	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct sel_tags *t = NULL;
	char err[256];
	if (sel_tags_compile(text, &t, err, sizeof(err)) == 0) {
		char *tags[] = {"a", "fast", NULL};
		(void)sel_tags_match(t, tags, 2);
		sel_tags_destroy(t);
	}
	struct sel_partition p;
	(void)sel_partition_parse(text, &p, err, sizeof(err));
	free(text);
	return 0;
}
