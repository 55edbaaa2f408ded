/* suite_lister: the tests a `tests_from:` lister names (docs/suite.md,
 * "Tests from a command").
 *
 * A lister runs at the end of setup, in the warm environment; what it
 * prints is hostile input. suite_lister_parse() turns its stdout into
 * names, refusing with the output's line number: a NUL or over-long line,
 * a name outside the listed-name alphabet (letters, digits and . _ : + @ =
 * , / -, the characters that mean nothing to a shell in any quoting, so
 * that a name substituted for {name} in a command cannot change what runs),
 * a repeated name, and more names than a suite may have tests. The names
 * are kept with the cache entry (suite_listed_format / suite_listed_load,
 * which checks them again) and suite_expand_listed() makes the tests. */
#ifndef SMOL_SUITE_LISTER_H
#define SMOL_SUITE_LISTER_H

#include "strbuf.h"
#include "suite/suite.h"

#include <stddef.h>

#define SUITE_LISTED_MAX_OUTPUT (16u << 20) /* bytes of a lister's stdout */
#define SUITE_LISTED_MAX_LINE	4096u	    /* bytes in one line of it */

/* The names one generator's lister printed, in its order, with the line
 * of its output each came from. */
struct suite_listed {
	char **names;
	unsigned *lines;
	size_t n;
};

/* Why name cannot be a listed name (a static reason), or NULL. *bad gets
 * the offending byte when there is one (else 0). */
const char *suite_listed_name_problem(const char *name, unsigned char *bad);

/* Parses out[0..len) (the stdout of g's lister) into the zeroed *l (the
 * caller releases it). Lines end at '\n' (the last may lack it). Without
 * g->match every line, spaces and tabs trimmed, is a name and blank lines
 * are skipped; with it, lines that do not match are skipped and the name
 * is the first capture group (the whole match when there is none). At most
 * max names. -EINVAL with a one-line reason naming the output's line in
 * err; -ENOMEM. */
int suite_lister_parse(const struct suite_gen *g, const char *out, size_t len, size_t max,
		       struct suite_listed *l, char *err, size_t errlen);

void suite_listed_release(struct suite_listed *l, size_t n); /* an array of n */

/* Appends the names of s's generators (l[i] for s->gens[i]) in the form a
 * cache entry keeps them. 0 or -ENOMEM. */
int suite_listed_format(const struct suite *s, const struct suite_listed *l, struct strbuf *out);

/* Reads what suite_listed_format wrote, for s's generators, into a new
 * array of s->n_gens (*out, released by the caller). The text is hostile:
 * each name is checked as a listed name again, and the generators must be
 * s's in number. -EINVAL with a reason in err; -ENOMEM. */
int suite_listed_load(const struct suite *s, const char *text, size_t len,
		      struct suite_listed **out, char *err, size_t errlen);

/* Replaces s's generators by one test per listed name (l[i] for
 * s->gens[i]), each where its generator is written, {name} replaced in
 * its name, run, cwd and env values. On success s->n_gens is 0. A made
 * name that is not a valid test name, a made name that another test has
 * (naming both: the test's file:line, or the lister's output line), or
 * more than SUITE_MAX_TESTS tests: -EINVAL with one line in err, s
 * unchanged. -ENOMEM. */
int suite_expand_listed(struct suite *s, const struct suite_listed *l, char *err, size_t errlen);

#endif
