/* suite_int: internals of the suite parser shared by suite.c (entry points,
 * lifetime, diagnostics), suite_yaml.c (typed accessors over libyaml nodes,
 * each reporting file:line:column on a mismatch) and suite_keys.c (the key
 * tables of every mapping in the format). Not part of the interface. */
#ifndef SMOL_SUITE_INT_H
#define SMOL_SUITE_INT_H

#include "suite/suite.h"

#include <stdbool.h>
#include <stdint.h>
#include <yaml.h>

struct ps {
	const char *file;
	const char *dir;
	yaml_document_t doc;
	struct suite_diag *diag;
	size_t n_nodes;
	int oom;
};

/* Appends "file:line:col: message" for node n (NULL: 1:1), escaping
 * control bytes; counts every call, keeps the first 1000 lines. */
void sy_diag_add(struct ps *p, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The node with id (NULL when there is none). An alias gives its anchor's
 * node again: sy_check_aliases() has bounded what that can cost. */
yaml_node_t *sy_node(struct ps *p, int id);
/* Refuses, with one diagnostic, a document whose aliases make a cycle or
 * expand it past a bound, or that nests too deep (suite_alias.c).
 * 0 or -EINVAL; p->oom on allocation failure. */
int sy_check_aliases(struct ps *p, int root_id);
const char *sy_scalar(const yaml_node_t *n); /* NULL unless a scalar */
const char *sy_type_name(const yaml_node_t *n);
bool sy_plain(const yaml_node_t *n);
char *sy_dup_or_oom(struct ps *p, const char *s);
/* For a list node v: a zeroed array of one element of elem bytes per item
 * (at least one element), owned by the caller, with the item count in *n.
 * NULL, with a diagnostic at v, when v is not a list ("<expect>, not a
 * mapping") or has more than max items ("N <noun> is more than the limit",
 * max 0: no limit); NULL with p->oom set when memory runs out. */
void *sy_seq_calloc(struct ps *p, yaml_node_t *v, const char *expect, const char *noun, size_t elem,
		    size_t max, size_t *n);

/* Typed getters: on a mismatch they report at n and return NULL/-EINVAL.
 * Returned strings are malloc'd and owned by the caller. */
char *sy_get_string(struct ps *p, yaml_node_t *n, const char *what);
int sy_get_bool(struct ps *p, yaml_node_t *n, const char *what, bool *out);
int sy_get_uint(struct ps *p, yaml_node_t *n, const char *what, uint64_t min, uint64_t max,
		uint64_t *out);
int sy_get_duration(struct ps *p, yaml_node_t *n, const char *what, uint64_t *out);
int sy_get_size(struct ps *p, yaml_node_t *n, const char *what, uint64_t *out);
void sy_get_strings(struct ps *p, yaml_node_t *n, const char *what, char ***out, size_t *nout);
void sy_get_env(struct ps *p, yaml_node_t *n, char ***vec, size_t *cnt);
int sy_get_cmd(struct ps *p, yaml_node_t *n, const char *what, struct suite_cmd *cmd);
void sy_get_match(struct ps *p, yaml_node_t *n, const char *what, struct suite_match *m);
bool sy_env_key_ok(const char *k);
/* A host path resolved against the suite's directory (malloc'd). */
char *sy_host_path(struct ps *p, const char *s);

/* NULL-terminated string vectors: push takes s (NULL: out of memory). */
int sy_vec_push(struct ps *p, char ***vec, size_t *n, char *s);
void sy_vec_free(char **v, size_t n);
void sy_free_cmd(struct suite_cmd *c);
void sy_free_match(struct suite_match *m);
/* Frees what t holds (suite.c); t itself is the caller's. */
void sy_free_test(struct suite_test *t);
/* A name and where it comes from (a test's index, an output line): sorted
 * by name, then idx (qsort), a list shows its duplicates side by side
 * without a pairwise scan (suite_keys.c). */
struct sy_named {
	const char *name;
	size_t idx;
};
int sy_named_cmp(const void *a, const void *b);
/* Frees what a tests_from generator holds and zeroes it (suite.c). */
void sy_free_gen(struct suite_gen *g);
/* Fills the zeroed t with a deep copy of d (suite_defaults.c): a test
 * starts as a copy of the template holding defaults: and the suite's env.
 * Sets p->oom when memory runs out. */
void sy_test_copy(struct ps *p, struct suite_test *t, const struct suite_test *d);

/* A test's matrix: variables and their values (suite_matrix.c). */
struct suite_matrix {
	char **vars;  /* n_vars names */
	char ***vals; /* per variable: n_vals[i] values */
	size_t *n_vals;
	size_t n_vars;
	size_t count; /* combinations; 0 when the matrix has problems */
	yaml_node_t *node;
};
/* Parses matrix: v into the zeroed m, reporting every problem at its node. */
void sy_matrix_parse(struct ps *p, yaml_node_t *v, struct suite_matrix *m);
/* Whether every variable appears as {var} in name (reported at name_node). */
bool sy_matrix_names_ok(struct ps *p, const struct suite_matrix *m, yaml_node_t *name_node,
			const char *name);
/* Fills the zeroed t with a copy of proto for combination c < m->count,
 * {var} replaced in its name, run, cwd and env. */
void sy_matrix_apply(struct ps *p, const struct suite_matrix *m, size_t c,
		     const struct suite_test *proto, struct suite_test *t);
void sy_matrix_free(struct suite_matrix *m);

typedef void (*key_fn)(struct ps *p, yaml_node_t *v, void *obj);

/* name "x-*" takes every key starting "x-"; fn NULL: the key is accepted
 * and its value left alone (it may repeat: a place for anchors). */
struct key_def {
	const char *name;
	key_fn fn;
};

/* Walks a mapping, dispatching known keys and reporting unknown or repeated
 * ones at their key node. */
void sy_walk_map(struct ps *p, yaml_node_t *n, const char *what, const struct key_def *keys,
		 void *obj);

/* Parses the root mapping of a suite into s (suite_keys.c). */
void sy_parse_top(struct ps *p, yaml_node_t *root, struct suite *s);

#endif
