/* suite_lister: a tests_from lister's output -> names -> tests
 * (suite_lister.h). */
#include "suite/suite_lister.h"
#include "suite/suite_int.h"
#include "util.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LISTED_FORMAT "smoltest-listed 1"

const char *suite_listed_name_problem(const char *name, unsigned char *bad)
{
	size_t n = strlen(name);
	*bad = 0;
	if (n == 0)
		return "is empty";
	if (n > SUITE_MAX_NAME)
		return "is longer than 200 bytes";
	if (name[0] == '-' || name[0] == '.')
		return "starts with '-' or '.'";
	if (strstr(name, ".."))
		return "holds '..'";
	for (const char *c = name; *c; c++) {
		unsigned char u = (unsigned char)*c;
		if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
		    strchr("._:+@=,/-", u))
			continue;
		*bad = u;
		return "holds a character other than letters, digits and . _ : + @ = , / - "
		       "(listed names go into commands as they are)";
	}
	return NULL;
}

/* s[0..n) for a message: at most 60 bytes, control and non-ASCII bytes as
 * \xNN, so that a hostile line cannot forge the terminal's output. */
static void shown(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 5 < cap; i++) {
		unsigned char u = (unsigned char)s[i];
		if (i == 60) {
			o += (size_t)snprintf(out + o, cap - o, "...");
			break;
		}
		if (u < 0x20 || u >= 0x7f || u == '\'' || u == '\\')
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", u);
		else
			out[o++] = (char)u;
	}
	out[o < cap ? o : cap - 1] = '\0';
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && len)
		vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void suite_listed_release(struct suite_listed *l, size_t n)
{
	for (size_t i = 0; l && i < n; i++) {
		for (size_t k = 0; k < l[i].n; k++)
			free(l[i].names[k]);
		free(l[i].names);
		free(l[i].lines);
		memset(&l[i], 0, sizeof(l[i]));
	}
}

static int listed_push(struct suite_listed *l, size_t *cap, const char *name, size_t len,
		       unsigned line)
{
	if (l->n == *cap) {
		size_t nc = *cap ? 2 * *cap : 64;
		char **nn = realloc(l->names, nc * sizeof(*nn));
		if (!nn)
			return -ENOMEM;
		l->names = nn;
		unsigned *nl = realloc(l->lines, nc * sizeof(*nl));
		if (!nl)
			return -ENOMEM;
		l->lines = nl;
		*cap = nc;
	}
	/* name is len bytes of the lister's output, not a C string: copied
	 * by length (strndup may read on to a NUL the output need not have) */
	char *d = malloc(len + 1);
	if (!d)
		return -ENOMEM;
	memcpy(d, name, len);
	d[len] = '\0';
	l->names[l->n] = d;
	l->lines[l->n++] = line;
	return 0;
}

/* A name listed twice: the first repeat (by its later line) with both
 * lines. Sorting, not a pairwise scan: a lister may print 100 000 names. */
static int check_repeats(const struct suite_listed *l, char *err, size_t errlen)
{
	if (l->n < 2)
		return 0;
	struct sy_named *v = malloc(l->n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++)
		v[i] = (struct sy_named){l->names[i], l->lines[i]};
	qsort(v, l->n, sizeof(*v), sy_named_cmp);
	size_t worst = 0;
	for (size_t i = 1; i < l->n; i++)
		if (!strcmp(v[i].name, v[i - 1].name) && (!worst || v[i].idx < v[worst].idx))
			worst = i;
	int rc = 0;
	if (worst) {
		char s[320];
		shown(v[worst].name, strlen(v[worst].name), s, sizeof(s));
		rc = fail(err, errlen, "line %zu of its output repeats the name '%s' of line %zu",
			  v[worst].idx, s, v[worst - 1].idx);
	}
	free(v);
	return rc;
}

int suite_lister_parse(const struct suite_gen *g, const char *out, size_t len, size_t max,
		       struct suite_listed *l, char *err, size_t errlen)
{
	pcre2_code *re = NULL;
	pcre2_match_data *md = NULL;
	uint32_t groups = 0;
	size_t cap = 0;
	int rc = 0;
	memset(l, 0, sizeof(*l));
	if (len > SUITE_LISTED_MAX_OUTPUT)
		return fail(err, errlen, "its output is more than %u MiB",
			    SUITE_LISTED_MAX_OUTPUT >> 20);
	if (g->match.pattern) {
		int e;
		PCRE2_SIZE off;
		re = pcre2_compile((PCRE2_SPTR)g->match.pattern, PCRE2_ZERO_TERMINATED,
				   g->match.options, &e, &off, NULL);
		md = re ? pcre2_match_data_create_from_pattern(re, NULL) : NULL;
		if (!md) {
			rc = re ? -ENOMEM : fail(err, errlen, "tests_from.match does not compile");
			goto out;
		}
		pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &groups);
	}
	unsigned line = 0;
	for (size_t at = 0; at < len && !rc;) {
		const char *s = out + at, *nl = memchr(s, '\n', len - at);
		size_t n = nl ? (size_t)(nl - s) : len - at;
		at += n + 1;
		line++;
		if (n > SUITE_LISTED_MAX_LINE) {
			rc = fail(err, errlen, "line %u of its output is longer than %u bytes",
				  line, SUITE_LISTED_MAX_LINE);
			break;
		}
		if (memchr(s, '\0', n)) {
			rc = fail(err, errlen, "line %u of its output holds a NUL byte", line);
			break;
		}
		const char *name = s;
		size_t nlen = n;
		if (re) {
			int m = pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, md, NULL);
			if (m == PCRE2_ERROR_NOMATCH)
				continue;
			if (m < 0) {
				rc = fail(err, errlen,
					  "line %u of its output: tests_from.match failed "
					  "(PCRE2 error %d)",
					  line, m);
				break;
			}
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			unsigned gi = groups >= 1 && m >= 2 && ov[2] != PCRE2_UNSET ? 1 : 0;
			name = s + ov[2 * gi];
			nlen = ov[2 * gi + 1] - ov[2 * gi];
		}
		while (nlen && (name[0] == ' ' || name[0] == '\t')) {
			name++;
			nlen--;
		}
		while (nlen && (name[nlen - 1] == ' ' || name[nlen - 1] == '\t'))
			nlen--;
		if (!nlen) {
			if (!re)
				continue; /* a blank line */
			rc = fail(err, errlen,
				  "line %u of its output: tests_from.match found an "
				  "empty name",
				  line);
			break;
		}
		if (l->n >= max) {
			rc = fail(err, errlen,
				  "it listed more than %zu tests (line %u), the limit "
				  "on a suite's tests",
				  max, line);
			break;
		}
		char tmp[SUITE_LISTED_MAX_LINE + 1], show[320];
		memcpy(tmp, name, nlen);
		tmp[nlen] = '\0';
		unsigned char bad;
		const char *why = suite_listed_name_problem(tmp, &bad);
		if (why) {
			shown(tmp, nlen, show, sizeof(show));
			char what[24];
			if (bad > 0x20 && bad < 0x7f)
				snprintf(what, sizeof(what), "'%c' (byte 0x%02x)", (char)bad, bad);
			else
				snprintf(what, sizeof(what), "byte 0x%02x", bad);
			if (bad)
				rc =
				    fail(err, errlen,
					 "line %u of its output: the name '%s' holds %s; a listed "
					 "name may hold only letters, digits and . _ : + @ = , / - "
					 "(it goes into commands as it is)",
					 line, show, what);
			else
				rc = fail(err, errlen, "line %u of its output: the name '%s' %s",
					  line, show, why);
			break;
		}
		rc = listed_push(l, &cap, name, nlen, line);
	}
	if (!rc)
		rc = check_repeats(l, err, errlen);
out:
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	if (rc)
		suite_listed_release(l, 1);
	return rc;
}

/* ---- what a cache entry keeps ------------------------------------------ */

int suite_listed_format(const struct suite *s, const struct suite_listed *l, struct strbuf *out)
{
	int rc = sb_printf(out, "%s\n", LISTED_FORMAT);
	for (size_t i = 0; !rc && i < s->n_gens; i++) {
		rc = sb_printf(out, "from %u %zu\n", s->gens[i].list.line, l[i].n);
		for (size_t k = 0; !rc && k < l[i].n; k++)
			rc = sb_printf(out, "%u %s\n", l[i].lines[k], l[i].names[k]);
	}
	return rc ? -ENOMEM : 0;
}

/* The next line of text[*at..len) (without its newline) in *s and *n; false at
 * the end. */
static bool next_line(const char *text, size_t len, size_t *at, const char **s, size_t *n)
{
	if (*at >= len)
		return false;
	*s = text + *at;
	const char *nl = memchr(*s, '\n', len - *at);
	*n = nl ? (size_t)(nl - *s) : len - *at;
	*at += *n + 1;
	return true;
}

int suite_listed_load(const struct suite *s, const char *text, size_t len,
		      struct suite_listed **out, char *err, size_t errlen)
{
	struct suite_listed *l = calloc(s->n_gens ? s->n_gens : 1, sizeof(*l));
	size_t at = 0, n, total = s->n_tests;
	const char *ln;
	int rc = 0;
	*out = NULL;
	if (!l)
		return -ENOMEM;
	if (!next_line(text, len, &at, &ln, &n) || n != strlen(LISTED_FORMAT) ||
	    memcmp(ln, LISTED_FORMAT, n)) {
		rc = fail(err, errlen, "not a list of tests (no '%s' line)", LISTED_FORMAT);
		goto out;
	}
	for (size_t i = 0; i < s->n_gens && !rc; i++) {
		char head[64];
		unsigned gl;
		size_t count, cap = 0;
		char extra;
		if (!next_line(text, len, &at, &ln, &n) || n >= sizeof(head)) {
			rc = fail(err, errlen, "it lists %zu of the suite's %zu tests_from", i,
				  s->n_gens);
			break;
		}
		memcpy(head, ln, n);
		head[n] = '\0';
		if (sscanf(head, "from %u %zu%c", &gl, &count, &extra) != 2 ||
		    count > SUITE_MAX_TESTS - total) {
			char show[320];
			shown(head, n, show, sizeof(show));
			rc = fail(err, errlen, "bad header '%s' of tests_from %zu", show, i + 1);
			break;
		}
		total += count;
		for (size_t k = 0; k < count && !rc; k++) {
			char name[SUITE_MAX_NAME + 16], show[320];
			unsigned line;
			int used = 0;
			unsigned char bad;
			if (!next_line(text, len, &at, &ln, &n) || n >= sizeof(name)) {
				rc = fail(err, errlen,
					  "tests_from %zu: name %zu is missing or too long", i + 1,
					  k + 1);
				break;
			}
			memcpy(name, ln, n);
			name[n] = '\0';
			if (memchr(ln, '\0', n) || sscanf(name, "%u %n", &line, &used) != 1 ||
			    used == 0 || suite_listed_name_problem(name + used, &bad)) {
				shown(ln, n, show, sizeof(show));
				rc = fail(err, errlen, "tests_from %zu: bad entry '%s'", i + 1,
					  show);
				break;
			}
			rc = listed_push(&l[i], &cap, name + used, strlen(name + used), line);
		}
		if (!rc)
			rc = check_repeats(&l[i], err, errlen);
	}
	if (!rc && at < len)
		rc = fail(err, errlen, "more lines than the suite's tests_from list");
out:
	if (rc) {
		suite_listed_release(l, s->n_gens);
		free(l);
		return rc;
	}
	*out = l;
	return 0;
}

/* ---- expansion ------------------------------------------------------------ */

/* Where tests[i] of the expanded array comes from, for a message. */
static void origin(const struct suite *s, const struct suite_listed *l, const size_t *gen_of,
		   const size_t *item_of, size_t i, const struct suite_test *t, char *out,
		   size_t len)
{
	if (gen_of[i] == SIZE_MAX)
		snprintf(out, len, "the test at %s:%u", s->file, t->line);
	else
		snprintf(out, len, "line %u of the output of tests_from at %s:%u",
			 l[gen_of[i]].lines[item_of[i]], s->file, s->gens[gen_of[i]].list.line);
}

int suite_expand_listed(struct suite *s, const struct suite_listed *l, char *err, size_t errlen)
{
	struct suite_diag diag = {0};
	struct ps p = {.file = s->file, .dir = s->dir, .diag = &diag};
	size_t total = s->n_tests, n = 0;
	int rc = 0;
	if (!s->n_gens)
		return 0;
	for (size_t i = 0; i < s->n_gens; i++)
		total += l[i].n;
	if (total > SUITE_MAX_TESTS)
		return fail(err, errlen,
			    "with the tests its tests_from listed the suite has %zu "
			    "tests, more than the limit of %u",
			    total, SUITE_MAX_TESTS);
	struct suite_test *t = calloc(total ? total : 1, sizeof(*t));
	size_t *gen_of = calloc(total ? total : 1, sizeof(*gen_of));
	size_t *item_of = calloc(total ? total : 1, sizeof(*item_of));
	struct sy_named *v = calloc(total ? total : 1, sizeof(*v));
	if (!t || !gen_of || !item_of || !v) {
		rc = -ENOMEM;
		goto out;
	}
	char *var = "name";
	for (size_t pos = 0; pos <= s->n_tests && !rc; pos++) {
		for (size_t gi = 0; gi < s->n_gens && !rc; gi++) {
			const struct suite_gen *g = &s->gens[gi];
			if (g->at != pos)
				continue;
			/* {name} is a one-variable matrix over the listed names */
			size_t nv = l[gi].n;
			struct suite_matrix m = {.vars = &var,
						 .vals = (char ***)&l[gi].names,
						 .n_vals = &nv,
						 .n_vars = 1,
						 .count = nv};
			for (size_t k = 0; k < nv && !p.oom; k++) {
				sy_matrix_apply(&p, &m, k, &g->tmpl, &t[n]);
				gen_of[n] = gi;
				item_of[n++] = k;
				const char *why =
				    t[n - 1].name ? suite_name_problem(t[n - 1].name) : NULL;
				char show[320];
				if (why) {
					shown(t[n - 1].name, strlen(t[n - 1].name), show,
					      sizeof(show));
					rc = fail(
					    err, errlen,
					    "%s:%u: the test name '%s' made from line %u of the "
					    "output of tests_from %s",
					    s->file, g->list.line, show, l[gi].lines[k], why);
					break;
				}
			}
		}
		if (pos < s->n_tests) {
			gen_of[n] = SIZE_MAX;
			t[n++] = s->tests[pos]; /* shallow: moved on success only */
		}
	}
	if (p.oom)
		rc = -ENOMEM;
	if (rc)
		goto out;
	for (size_t i = 0; i < n; i++)
		v[i] = (struct sy_named){t[i].name, i};
	qsort(v, n, sizeof(*v), sy_named_cmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(v[i].name, v[i - 1].name))
			continue;
		char a[400], b[400];
		origin(s, l, gen_of, item_of, v[i - 1].idx, &t[v[i - 1].idx], a, sizeof(a));
		origin(s, l, gen_of, item_of, v[i].idx, &t[v[i].idx], b, sizeof(b));
		rc = fail(err, errlen, "duplicate test name '%s': %s and %s", v[i].name, a, b);
		goto out;
	}
	/* success: the static tests moved, the generators are spent */
	free(s->tests);
	s->tests = t;
	s->n_tests = n;
	t = NULL;
	for (size_t i = 0; i < s->n_gens; i++)
		sy_free_gen(&s->gens[i]);
	free(s->gens);
	s->gens = NULL;
	s->n_gens = 0;
out:
	for (size_t i = 0; t && i < n; i++)
		if (gen_of[i] != SIZE_MAX)
			sy_free_test(&t[i]);
	free(t);
	free(gen_of);
	free(item_of);
	free(v);
	suite_diag_release(&diag);
	return rc;
}
