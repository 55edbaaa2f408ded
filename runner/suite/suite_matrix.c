/* suite_matrix: parameterised tests (docs/suite.md, "Matrix").
 *
 *   - name: "build-{cc}-{opt}"
 *     matrix: { cc: [gcc, clang], opt: [O0, O2] }
 *     run: "make CC={cc} CFLAGS=-{opt} check"
 *
 * is four tests, one per combination, the first variable varying slowest.
 * {var} is replaced in the name, run, cwd and env values; other braces are
 * left alone (shell text has its own). Every variable must appear in the
 * name, so that the tests a matrix makes cannot share one. */
#include "suite/suite_int.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void sy_matrix_free(struct suite_matrix *m)
{
	for (size_t i = 0; i < m->n_vars; i++) {
		free(m->vars[i]);
		sy_vec_free(m->vals[i], m->n_vals[i]);
	}
	free(m->vars);
	free(m->vals);
	free(m->n_vals);
	memset(m, 0, sizeof(*m));
}

void sy_matrix_parse(struct ps *p, yaml_node_t *v, struct suite_matrix *m)
{
	m->node = v;
	if (v->type != YAML_MAPPING_NODE) {
		sy_diag_add(p, v, "matrix must be a mapping of name: [values], not %s",
			    sy_type_name(v));
		return;
	}
	size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
	m->vars = calloc(n ? n : 1, sizeof(*m->vars));
	m->vals = calloc(n ? n : 1, sizeof(*m->vals));
	m->n_vals = calloc(n ? n : 1, sizeof(*m->n_vals));
	if (!m->vars || !m->vals || !m->n_vals) {
		p->oom = 1;
		return;
	}
	uint64_t combos = 1;
	bool ok = n > 0;
	for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = sy_node(p, pr->key), *val = sy_node(p, pr->value);
		const char *ks = k ? sy_scalar(k) : NULL;
		if (!k || !val)
			continue;
		if (!ks || !sy_env_key_ok(ks)) {
			sy_diag_add(
			    p, k, "matrix variable %s%s%s must be a name ([A-Za-z_][A-Za-z0-9_]*)",
			    ks ? "'" : "", ks ? ks : sy_type_name(k), ks ? "'" : "");
			ok = false;
			continue;
		}
		bool dup = false;
		for (size_t j = 0; j < m->n_vars && !dup; j++)
			dup = !strcmp(m->vars[j], ks);
		if (dup) {
			sy_diag_add(p, k, "matrix variable '%s' appears twice", ks);
			ok = false;
			continue;
		}
		size_t i = m->n_vars++;
		m->vars[i] = sy_dup_or_oom(p, ks);
		if (val->type != YAML_SEQUENCE_NODE ||
		    val->data.sequence.items.top == val->data.sequence.items.start) {
			sy_diag_add(
			    p, val, "matrix.%s must be a non-empty list of values, not %s", ks,
			    val->type == YAML_SEQUENCE_NODE ? "an empty list" : sy_type_name(val));
			ok = false;
			continue;
		}
		size_t before = p->diag->count;
		sy_get_strings(p, val, "a matrix value", &m->vals[i], &m->n_vals[i]);
		ok = ok && p->diag->count == before;
		combos *= m->n_vals[i] ? m->n_vals[i] : 1;
		if (combos > SUITE_MAX_TESTS) {
			sy_diag_add(p, v, "this matrix makes more than %u tests", SUITE_MAX_TESTS);
			ok = false;
			break;
		}
	}
	if (n == 0)
		sy_diag_add(p, v, "matrix is empty; give at least one variable");
	m->count = ok ? (size_t)combos : 0;
}

/* in with every {var} of m replaced by its value in combination c. */
static char *subst(struct ps *p, const struct suite_matrix *m, size_t c, const char *in)
{
	struct strbuf sb = {0};
	int rc = 0;
	for (const char *s = in; *s && !rc;) {
		size_t hit = m->n_vars, len = 0;
		if (*s == '{')
			for (size_t i = 0; i < m->n_vars && hit == m->n_vars; i++) {
				len = strlen(m->vars[i]);
				if (!strncmp(s + 1, m->vars[i], len) && s[1 + len] == '}')
					hit = i;
			}
		if (hit == m->n_vars) {
			rc = sb_append_char(&sb, *s++);
			continue;
		}
		/* combination c in mixed radix, the last variable varying fastest */
		size_t idx = c;
		for (size_t j = m->n_vars; j-- > hit + 1;)
			idx /= m->n_vals[j];
		rc = sb_append_str(&sb, m->vals[hit][idx % m->n_vals[hit]]);
		s += len + 2;
	}
	char *out = NULL;
	if (rc || sb_detach(&sb, &out)) {
		sb_release(&sb);
		p->oom = 1;
		return NULL;
	}
	if (!out)
		out = sy_dup_or_oom(p, "");
	return out;
}

static void subst_in_place(struct ps *p, const struct suite_matrix *m, size_t c, char **s)
{
	if (!*s)
		return;
	char *n = subst(p, m, c, *s);
	free(*s);
	*s = n;
}

bool sy_matrix_names_ok(struct ps *p, const struct suite_matrix *m, yaml_node_t *name_node,
			const char *name)
{
	bool ok = true;
	for (size_t i = 0; i < m->n_vars; i++) {
		struct strbuf want = {0};
		if (sb_printf(&want, "{%s}", m->vars[i])) {
			p->oom = 1;
			return false;
		}
		if (!strstr(name, sb_str(&want))) {
			sy_diag_add(p, name_node,
				    "matrix variable '%s' must appear in the name as %s, or the "
				    "tests it makes would share a name",
				    m->vars[i], sb_str(&want));
			ok = false;
		}
		sb_release(&want);
	}
	return ok;
}

void sy_matrix_apply(struct ps *p, const struct suite_matrix *m, size_t c,
		     const struct suite_test *proto, struct suite_test *t)
{
	sy_test_copy(p, t, proto);
	subst_in_place(p, m, c, &t->name);
	subst_in_place(p, m, c, &t->cwd);
	for (size_t i = 0; i < t->run.argc; i++)
		subst_in_place(p, m, c, &t->run.argv[i]);
	for (size_t i = 0; i < t->n_env; i++)
		subst_in_place(p, m, c, &t->env[i]);
}
