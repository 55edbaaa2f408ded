/* suite_keys: the keys of every mapping in the suite format and what each
 * accepts (docs/suite.md); every problem is reported at its node. */
#include "suite/suite_int.h"
#include "util.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- vm ----------------------------------------------------------------- */
static void vm_cpus(struct ps *p, yaml_node_t *v, void *o)
{
	uint64_t x;
	if (!sy_get_uint(p, v, "vm.cpus", 1, 64, &x))
		((struct suite *)o)->vm.cpus = (unsigned)x;
}
static void vm_memory(struct ps *p, yaml_node_t *v, void *o)
{
	uint64_t x;
	if (!sy_get_size(p, v, "vm.memory", &x)) {
		if (x < (16u << 20))
			sy_diag_add(p, v, "vm.memory must be at least 16M");
		((struct suite *)o)->vm.memory = x;
	}
}
static void vm_kernel(struct ps *p, yaml_node_t *v, void *o)
{
	((struct suite *)o)->vm.kernel = sy_get_string(p, v, "vm.kernel");
}
static void vm_initrd(struct ps *p, yaml_node_t *v, void *o)
{
	((struct suite *)o)->vm.initrd = sy_get_string(p, v, "vm.initrd");
}
static void vm_rootfs(struct ps *p, yaml_node_t *v, void *o)
{
	((struct suite *)o)->vm.rootfs = sy_get_string(p, v, "vm.rootfs");
}
static void vm_cmdline(struct ps *p, yaml_node_t *v, void *o)
{
	((struct suite *)o)->vm.cmdline = sy_get_string(p, v, "vm.cmdline");
}
static const struct key_def vm_keys[] = {
    {"cpus", vm_cpus},	   {"memory", vm_memory},   {"kernel", vm_kernel}, {"initrd", vm_initrd},
    {"rootfs", vm_rootfs}, {"cmdline", vm_cmdline}, {NULL, NULL},
};

/* ---- sandbox ------------------------------------------------------------ */
static void sb_rootfs(struct ps *p, yaml_node_t *v, void *o)
{
	char *s = sy_get_string(p, v, "sandbox.rootfs");
	if (!s)
		return;
	struct suite *su = o;
	free(su->sandbox.rootfs);
	su->sandbox.rootfs = *s ? sy_host_path(p, s) : NULL;
	if (!*s)
		sy_diag_add(p, v, "sandbox.rootfs is empty; give a directory such as /");
	free(s);
}
static void sb_readonly(struct ps *p, yaml_node_t *v, void *o)
{
	bool b;
	if (sy_get_bool(p, v, "sandbox.readonly", &b))
		return;
	if (!b)
		sy_diag_add(p, v,
			    "sandbox.readonly: false is not supported: the sandbox never writes "
			    "its rootfs (writes go to a copy-on-write layer)");
	((struct suite *)o)->sandbox.readonly = true;
}
static void sb_memory(struct ps *p, yaml_node_t *v, void *o)
{
	sy_get_size(p, v, "sandbox.memory", &((struct suite *)o)->sandbox.memory);
}
static void sb_pids(struct ps *p, yaml_node_t *v, void *o)
{
	sy_get_uint(p, v, "sandbox.pids", 1, 1u << 22, &((struct suite *)o)->sandbox.pids);
}
static const struct key_def sandbox_keys[] = {
    {"rootfs", sb_rootfs}, {"readonly", sb_readonly}, {"memory", sb_memory}, {"pids", sb_pids},
    {NULL, NULL},
};

/* ---- shares ------------------------------------------------------------- */
struct share_ctx {
	struct suite_share *sh;
	yaml_node_t *guest_node;
};
static void share_host(struct ps *p, yaml_node_t *v, void *o)
{
	struct share_ctx *c = o;
	char *s = sy_get_string(p, v, "shares[].host");
	if (s && !*s)
		sy_diag_add(p, v, "shares[].host is empty");
	else if (s)
		c->sh->host = sy_host_path(p, s);
	free(s);
}
static void share_guest(struct ps *p, yaml_node_t *v, void *o)
{
	struct share_ctx *c = o;
	c->guest_node = v;
	c->sh->guest = sy_get_string(p, v, "shares[].guest");
	if (c->sh->guest &&
	    (c->sh->guest[0] != '/' || strstr(c->sh->guest, "/..") || !strcmp(c->sh->guest, "/")))
		sy_diag_add(p, v,
			    "shares[].guest must be an absolute path other than / without '..', "
			    "not '%s'",
			    c->sh->guest);
}
static void share_ro(struct ps *p, yaml_node_t *v, void *o)
{
	struct share_ctx *c = o;
	sy_get_bool(p, v, "shares[].readonly", &c->sh->readonly);
}
static const struct key_def share_keys[] = {
    {"host", share_host},
    {"guest", share_guest},
    {"readonly", share_ro},
    {NULL, NULL},
};

/* ---- expect ------------------------------------------------------------- */
static void ex_exit(struct ps *p, yaml_node_t *v, void *o)
{
	uint64_t x;
	if (!sy_get_uint(p, v, "expect.exit", 0, 255, &x))
		((struct suite_expect *)o)->exit = (int)x;
}
/* One of expect's four patterns: a repeated key (a merge, an alias)
 * replaces the earlier value. */
static void ex_match(struct ps *p, yaml_node_t *v, struct suite_match *m, const char *what)
{
	sy_free_match(m);
	memset(m, 0, sizeof(*m));
	sy_get_match(p, v, what, m);
}
static void ex_stdout(struct ps *p, yaml_node_t *v, void *o)
{
	ex_match(p, v, &((struct suite_expect *)o)->stdout_match, "expect.stdout");
}
static void ex_stdout_not(struct ps *p, yaml_node_t *v, void *o)
{
	ex_match(p, v, &((struct suite_expect *)o)->stdout_not, "expect.stdout_not");
}
static void ex_stderr(struct ps *p, yaml_node_t *v, void *o)
{
	ex_match(p, v, &((struct suite_expect *)o)->stderr_match, "expect.stderr");
}
static void ex_stderr_not(struct ps *p, yaml_node_t *v, void *o)
{
	ex_match(p, v, &((struct suite_expect *)o)->stderr_not, "expect.stderr_not");
}
static const struct key_def expect_keys[] = {
    {"exit", ex_exit},	   {"stdout", ex_stdout},	  {"stdout_not", ex_stdout_not},
    {"stderr", ex_stderr}, {"stderr_not", ex_stderr_not}, {NULL, NULL},
};

/* ---- tests -------------------------------------------------------------- */
struct test_ctx {
	struct suite_test *t;
	const char *where; /* "tests[]" or "defaults", for messages */
	bool has_run, has_timeout, has_retries, has_matrix, has_from;
	yaml_node_t *name_node, *from_node;
	struct suite_matrix matrix;
	struct suite_gen gen; /* tests_from: the lister (gen.tmpl unused here) */
};

/* "tests[].key" or "defaults.key" in buf. */
static const char *key_what(const struct test_ctx *c, const char *key, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s.%s", c->where, key);
	return buf;
}
static void t_name(struct ps *p, yaml_node_t *v, void *o)
{
	struct test_ctx *c = o;
	c->name_node = v;
	c->t->name = sy_get_string(p, v, "tests[].name");
	const char *why = c->t->name ? suite_name_problem(c->t->name) : NULL;
	if (why)
		sy_diag_add(p, v, "test name '%s' %s", c->t->name, why);
}
static void t_run(struct ps *p, yaml_node_t *v, void *o)
{
	struct test_ctx *c = o;
	c->has_run = true;
	sy_get_cmd(p, v, "tests[].run", &c->t->run);
}
static void t_timeout(struct ps *p, yaml_node_t *v, void *o)
{
	struct test_ctx *c = o;
	char w[32];
	c->has_timeout =
	    !sy_get_duration(p, v, key_what(c, "timeout", w, sizeof(w)), &c->t->timeout_ns);
}
static void t_retries(struct ps *p, yaml_node_t *v, void *o)
{
	struct test_ctx *c = o;
	uint64_t x;
	char w[32];
	if (!sy_get_uint(p, v, key_what(c, "retries", w, sizeof(w)), 0, 100, &x)) {
		c->t->retries = (unsigned)x;
		c->has_retries = true;
	}
}
static void t_expect(struct ps *p, yaml_node_t *v, void *o)
{
	sy_walk_map(p, v, "expect", expect_keys, &((struct test_ctx *)o)->t->expect);
}
/* Appends the strings of v to (vec, n), leaving out those already there
 * (defaults' entries, or a repeat); the new ones start at the returned
 * index. */
static size_t add_strings(struct ps *p, yaml_node_t *v, const char *what, char ***vec, size_t *n)
{
	char **raw = NULL;
	size_t nraw = 0, first = *n;
	sy_get_strings(p, v, what, &raw, &nraw);
	for (size_t i = 0; i < nraw; i++) {
		bool dup = false;
		for (size_t j = 0; j < *n && !dup; j++)
			dup = !strcmp((*vec)[j], raw[i]);
		if (!dup) {
			sy_vec_push(p, vec, n, raw[i]);
			raw[i] = NULL;
		}
	}
	sy_vec_free(raw, nraw);
	return first;
}
static void t_artifacts(struct ps *p, yaml_node_t *v, void *o)
{
	struct test_ctx *c = o;
	struct suite_test *t = c->t;
	char w[32];
	size_t i = add_strings(p, v, key_what(c, "artifacts", w, sizeof(w)), &t->artifacts,
			       &t->n_artifacts);
	for (; i < t->n_artifacts; i++)
		if (!t->artifacts[i][0] || strstr(t->artifacts[i], "..") ||
		    strchr(t->artifacts[i], '\n') || strchr(t->artifacts[i], '\'')) {
			sy_diag_add(p, v,
				    "artifact glob '%s' must be non-empty without '..', quotes or "
				    "newlines",
				    t->artifacts[i]);
			break;
		}
}
static void t_tags(struct ps *p, yaml_node_t *v, void *o)
{
	struct test_ctx *c = o;
	struct suite_test *t = c->t;
	char w[32];
	size_t i = add_strings(p, v, key_what(c, "tags", w, sizeof(w)), &t->tags, &t->n_tags);
	for (; i < t->n_tags; i++) {
		const char *s = t->tags[i];
		bool ok = *s != '\0';
		for (; *s; s++)
			if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
				ok = false;
		if (!ok)
			sy_diag_add(p, v,
				    "tag '%s' must be made of letters, digits, '_', '-' and '.'",
				    t->tags[i]);
	}
}
static void t_skip(struct ps *p, yaml_node_t *v, void *o)
{
	struct suite_test *t = ((struct test_ctx *)o)->t;
	const char *s = sy_scalar(v);
	if (s && sy_plain(v) && !strcmp(s, "false"))
		return;
	if (s && sy_plain(v) && !strcmp(s, "true")) {
		t->skip = sy_dup_or_oom(p, "skipped in the suite");
		return;
	}
	t->skip = sy_get_string(p, v, "tests[].skip (a reason)");
}
static void t_env(struct ps *p, yaml_node_t *v, void *o)
{
	struct suite_test *t = ((struct test_ctx *)o)->t;
	sy_get_env(p, v, &t->env, &t->n_env);
}
static void t_cwd(struct ps *p, yaml_node_t *v, void *o)
{
	struct test_ctx *c = o;
	struct suite_test *t = c->t;
	char w[32];
	free(t->cwd);
	t->cwd = sy_get_string(p, v, key_what(c, "cwd", w, sizeof(w)));
	if (t->cwd && t->cwd[0] != '/')
		sy_diag_add(p, v, "%s must be an absolute path inside the guest", w);
}
static void t_leak(struct ps *p, yaml_node_t *v, void *o)
{
	struct test_ctx *c = o;
	char w[32];
	char *s = sy_get_string(p, v, key_what(c, "leak", w, sizeof(w)));
	if (s && strcmp(s, "warn") && strcmp(s, "fail"))
		sy_diag_add(p, v, "%s must be 'warn' (a pass with a warning) or 'fail', not '%s'",
			    w, s);
	else if (s)
		c->t->leak_fail = !strcmp(s, "fail");
	free(s);
}
static void t_matrix(struct ps *p, yaml_node_t *v, void *o)
{
	struct test_ctx *c = o;
	c->has_matrix = true;
	sy_matrix_parse(p, v, &c->matrix);
}
/* ---- tests_from: the lister of a generated test ------------------------ */
static void f_run(struct ps *p, yaml_node_t *v, void *o)
{
	struct suite_gen *g = o;
	sy_free_cmd(&g->list);
	sy_get_cmd(p, v, "tests_from.run", &g->list);
}
static void f_match(struct ps *p, yaml_node_t *v, void *o)
{
	struct suite_gen *g = o;
	sy_free_match(&g->match);
	memset(&g->match, 0, sizeof(g->match));
	sy_get_match(p, v, "tests_from.match", &g->match);
	if (g->match.pattern && g->match.options == PCRE2_LITERAL)
		sy_diag_add(p, v,
			    "tests_from.match must be a regular expression written /re/flags (its "
			    "first group, or else the whole match, is the name), not '%s'",
			    g->match.text);
}
static void f_cwd(struct ps *p, yaml_node_t *v, void *o)
{
	struct suite_gen *g = o;
	free(g->list_cwd);
	g->list_cwd = sy_get_string(p, v, "tests_from.cwd");
	if (g->list_cwd && g->list_cwd[0] != '/')
		sy_diag_add(p, v, "tests_from.cwd must be an absolute path inside the guest");
}
static const struct key_def from_keys[] = {
    {"run", f_run},
    {"match", f_match},
    {"cwd", f_cwd},
    {NULL, NULL},
};
/* tests_from: COMMAND, or { run: COMMAND, match: /re/, cwd: DIR } */
static void t_tests_from(struct ps *p, yaml_node_t *v, void *o)
{
	struct test_ctx *c = o;
	c->has_from = true;
	c->from_node = v;
	if (v->type != YAML_MAPPING_NODE) {
		sy_get_cmd(p, v, "tests_from", &c->gen.list);
		return;
	}
	bool has_run = false;
	for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = sy_node(p, pr->key);
		const char *ks = k ? sy_scalar(k) : NULL;
		has_run = has_run || (ks && !strcmp(ks, "run"));
	}
	sy_walk_map(p, v, "tests_from", from_keys, &c->gen);
	if (!has_run)
		sy_diag_add(p, v, "tests_from needs run: (the command that lists the tests)");
}
static const struct key_def test_keys[] = {
    {"name", t_name},
    {"run", t_run},
    {"timeout", t_timeout},
    {"retries", t_retries},
    {"expect", t_expect},
    {"artifacts", t_artifacts},
    {"tags", t_tags},
    {"skip", t_skip},
    {"env", t_env},
    {"cwd", t_cwd},
    {"leak", t_leak},
    {"matrix", t_matrix},
    {"tests_from", t_tests_from},
    {NULL, NULL},
};
/* What defaults: may set: what tests share, never what names one. */
static const struct key_def default_keys[] = {
    {"expect", t_expect},
    {"cwd", t_cwd},
    {"timeout", t_timeout},
    {"retries", t_retries},
    {"artifacts", t_artifacts},
    {"tags", t_tags},
    {"env", t_env},
    {"leak", t_leak},
    {NULL, NULL},
};

/* ---- top level ---------------------------------------------------------- */
struct top_ctx {
	struct suite *s;
	yaml_node_t *tests_node, *defaults_node;
	bool has_timeout, has_retries;
};
static void k_name(struct ps *p, yaml_node_t *v, void *o)
{
	struct top_ctx *c = o;
	free(c->s->name);
	c->s->name = sy_get_string(p, v, "name");
}
static void k_backend(struct ps *p, yaml_node_t *v, void *o)
{
	struct top_ctx *c = o;
	const char *s = sy_scalar(v);
	if (s && !strcmp(s, "auto"))
		c->s->backend = SUITE_BACKEND_AUTO;
	else if (s && !strcmp(s, "vm"))
		c->s->backend = SUITE_BACKEND_VM;
	else if (s && !strcmp(s, "sandbox"))
		c->s->backend = SUITE_BACKEND_SANDBOX;
	else
		sy_diag_add(p, v, "backend must be auto, vm or sandbox, not %s%s%s", s ? "'" : "",
			    s ? s : sy_type_name(v), s ? "'" : "");
}
static void k_vm(struct ps *p, yaml_node_t *v, void *o)
{
	sy_walk_map(p, v, "vm", vm_keys, ((struct top_ctx *)o)->s);
}
static void k_sandbox(struct ps *p, yaml_node_t *v, void *o)
{
	sy_walk_map(p, v, "sandbox", sandbox_keys, ((struct top_ctx *)o)->s);
}
static void k_shares(struct ps *p, yaml_node_t *v, void *o)
{
	struct suite *s = ((struct top_ctx *)o)->s;
	size_t n;
	s->shares = sy_seq_calloc(p, v, "shares must be a list of {host, guest, readonly}",
				  "shares", sizeof(*s->shares), 0, &n);
	if (!s->shares)
		return;
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *c = sy_node(p, *it);
		if (!c)
			continue;
		struct suite_share *sh = &s->shares[s->n_shares++];
		sh->line = (unsigned)c->start_mark.line + 1;
		sh->column = (unsigned)c->start_mark.column + 1;
		struct share_ctx sc = {sh, NULL};
		sy_walk_map(p, c, "shares[]", share_keys, &sc);
		if (c->type == YAML_MAPPING_NODE && (!sh->host || !sh->guest))
			sy_diag_add(p, c, "a share needs both host: and guest:");
		for (size_t j = 0; sh->guest && j + 1 < s->n_shares; j++)
			if (s->shares[j].guest && !strcmp(s->shares[j].guest, sh->guest))
				sy_diag_add(p, c, "two shares mount at guest path '%s'", sh->guest);
	}
}
static void k_env(struct ps *p, yaml_node_t *v, void *o)
{
	struct suite *s = ((struct top_ctx *)o)->s;
	sy_get_env(p, v, &s->env, &s->n_env);
}
static void k_setup(struct ps *p, yaml_node_t *v, void *o)
{
	struct suite *s = ((struct top_ctx *)o)->s;
	size_t n;
	s->setup = sy_seq_calloc(p, v, "setup must be a list of { run: ... } steps", "setup steps",
				 sizeof(*s->setup), 0, &n);
	if (!s->setup)
		return;
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *c = sy_node(p, *it);
		if (!c)
			continue;
		/* accept both "- run: cmd" and the shorthand "- cmd" */
		yaml_node_t *cmdn = c;
		if (c->type == YAML_MAPPING_NODE) {
			cmdn = NULL;
			for (yaml_node_pair_t *pr = c->data.mapping.pairs.start;
			     pr < c->data.mapping.pairs.top; pr++) {
				yaml_node_t *k = sy_node(p, pr->key), *vv = sy_node(p, pr->value);
				const char *ks = k ? sy_scalar(k) : NULL;
				if (ks && !strcmp(ks, "run") && !cmdn) {
					cmdn = vv;
				} else if (ks && !strcmp(ks, "cwd") && vv &&
					   !s->setup[s->n_setup].cwd) {
					char *cwd = sy_get_string(p, vv, "setup[].cwd");
					if (cwd && cwd[0] != '/')
						sy_diag_add(p, vv,
							    "setup[].cwd must be an absolute path "
							    "inside the guest");
					s->setup[s->n_setup].cwd = cwd;
				} else if (k) {
					sy_diag_add(p, k,
						    "unknown key '%s' in a setup step (known: run, "
						    "cwd)",
						    ks ? ks : "?");
				}
			}
			if (!cmdn) {
				sy_diag_add(p, c, "a setup step needs run:");
				free(s->setup[s->n_setup].cwd);
				s->setup[s->n_setup].cwd = NULL;
				continue;
			}
		}
		if (!sy_get_cmd(p, cmdn, "setup[].run", &s->setup[s->n_setup].run)) {
			s->n_setup++;
		} else {
			sy_free_cmd(&s->setup[s->n_setup].run);
			free(s->setup[s->n_setup].cwd);
			s->setup[s->n_setup].cwd = NULL;
		}
	}
}
static void k_parallel(struct ps *p, yaml_node_t *v, void *o)
{
	uint64_t x;
	if (!sy_get_uint(p, v, "parallel", 1, 1024, &x))
		((struct top_ctx *)o)->s->parallel = (unsigned)x;
}
static void k_timeout(struct ps *p, yaml_node_t *v, void *o)
{
	struct top_ctx *c = o;
	sy_get_duration(p, v, "timeout", &c->s->timeout_ns);
}
static void k_setup_timeout(struct ps *p, yaml_node_t *v, void *o)
{
	struct top_ctx *c = o;
	sy_get_duration(p, v, "setup_timeout", &c->s->setup_timeout_ns);
}
static void k_retries(struct ps *p, yaml_node_t *v, void *o)
{
	uint64_t x;
	if (!sy_get_uint(p, v, "retries", 0, 100, &x))
		((struct top_ctx *)o)->s->retries = (unsigned)x;
}
static void k_artifacts_max(struct ps *p, yaml_node_t *v, void *o)
{
	uint64_t x;
	if (!sy_get_size(p, v, "artifacts_max", &x)) {
		if (x < 1024)
			sy_diag_add(p, v, "artifacts_max must be at least 1K");
		((struct top_ctx *)o)->s->artifacts_max = x;
	}
}
static void k_workdir(struct ps *p, yaml_node_t *v, void *o)
{
	struct suite *s = ((struct top_ctx *)o)->s;
	char *w = sy_get_string(p, v, "workdir");
	if (w && w[0] != '/') {
		sy_diag_add(p, v, "workdir must be an absolute path inside the guest, not '%s'", w);
		free(w);
		return;
	}
	if (w) {
		free(s->workdir);
		s->workdir = w;
	}
}
static void c_enabled(struct ps *p, yaml_node_t *v, void *o)
{
	sy_get_bool(p, v, "cache.enabled", &((struct suite *)o)->cache_enabled);
}
static void c_inputs(struct ps *p, yaml_node_t *v, void *o)
{
	struct suite *s = o;
	char **raw = NULL;
	size_t n = 0;
	sy_get_strings(p, v, "cache.inputs", &raw, &n);
	for (size_t i = 0; i < n; i++)
		sy_vec_push(p, &s->cache_inputs, &s->n_cache_inputs, sy_host_path(p, raw[i]));
	sy_vec_free(raw, n);
}
static const struct key_def cache_keys[] = {
    {"enabled", c_enabled},
    {"inputs", c_inputs},
    {NULL, NULL},
};
static void k_cache(struct ps *p, yaml_node_t *v, void *o)
{
	sy_walk_map(p, v, "cache", cache_keys, ((struct top_ctx *)o)->s);
}
static void k_defaults(struct ps *p, yaml_node_t *v, void *o)
{
	(void)p;
	((struct top_ctx *)o)->defaults_node = v;
}
static void k_tests(struct ps *p, yaml_node_t *v, void *o)
{
	((struct top_ctx *)o)->tests_node = v;
}
static const struct key_def top_keys[] = {
    {"name", k_name},
    {"backend", k_backend},
    {"vm", k_vm},
    {"sandbox", k_sandbox},
    {"shares", k_shares},
    {"env", k_env},
    {"setup", k_setup},
    {"parallel", k_parallel},
    {"timeout", k_timeout},
    {"retries", k_retries},
    {"artifacts_max", k_artifacts_max},
    {"workdir", k_workdir},
    {"cache", k_cache},
    {"setup_timeout", k_setup_timeout},
    {"defaults", k_defaults},
    {"tests", k_tests},
    {"x-*", NULL}, /* extension keys: where anchors live (docs/suite.md) */
    {NULL, NULL},
};

/* Room for want tests (and their name nodes) in s->tests; the new room is
 * zeroed. */
static int grow_tests(struct ps *p, struct suite *s, yaml_node_t ***names, size_t *cap, size_t want)
{
	if (want <= *cap)
		return 0;
	struct suite_test *t = realloc(s->tests, want * sizeof(*t));
	if (t)
		s->tests = t;
	yaml_node_t **nn = t ? realloc(*names, want * sizeof(*nn)) : NULL;
	if (!nn) {
		p->oom = 1;
		return -ENOMEM;
	}
	*names = nn;
	memset(&s->tests[*cap], 0, (want - *cap) * sizeof(*t));
	memset(&nn[*cap], 0, (want - *cap) * sizeof(*nn));
	*cap = want;
	return 0;
}

/* The last test parsed has a matrix: it becomes one test per combination
 * (left: test items still to come, which need room too). */
static void expand_matrix(struct ps *p, struct suite *s, yaml_node_t ***names, size_t *cap,
			  size_t left, struct test_ctx *ct)
{
	struct suite_matrix *m = &ct->matrix;
	size_t k = s->n_tests - 1;
	if (!m->count || !s->tests[k].name ||
	    !sy_matrix_names_ok(p, m, ct->name_node, s->tests[k].name))
		return;
	if (k + m->count + left > SUITE_MAX_TESTS) {
		sy_diag_add(p, m->node, "with this matrix the suite has more than %u tests",
			    SUITE_MAX_TESTS);
		return;
	}
	if (grow_tests(p, s, names, cap, k + m->count + left))
		return;
	struct suite_test proto = s->tests[k];
	memset(&s->tests[k], 0, sizeof(proto));
	bool named = true;
	for (size_t c = 0; c < m->count; c++) {
		struct suite_test *t = &s->tests[k + c];
		sy_matrix_apply(p, m, c, &proto, t);
		(*names)[k + c] = ct->name_node;
		s->n_tests = k + c + 1;
		const char *why = t->name ? suite_name_problem(t->name) : NULL;
		if (why && named)
			sy_diag_add(p, ct->name_node, "test name '%s' (from the matrix) %s",
				    t->name, why);
		named = named && !why;
	}
	sy_free_test(&proto);
}

int sy_named_cmp(const void *a, const void *b)
{
	const struct sy_named *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Duplicate names, reported at the later test's name (by sorting, not a
 * pairwise scan: a matrix can make 100 000 tests from a few lines). */
static void check_unique_names(struct ps *p, const struct suite *s, yaml_node_t **names)
{
	struct sy_named *v = calloc(s->n_tests ? s->n_tests : 1, sizeof(*v));
	size_t n = 0;
	if (!v) {
		p->oom = 1;
		return;
	}
	for (size_t i = 0; i < s->n_tests; i++)
		if (s->tests[i].name && names[i])
			v[n++] = (struct sy_named){s->tests[i].name, i};
	qsort(v, n, sizeof(*v), sy_named_cmp);
	for (size_t i = 1, first = 0; i < n; i++) {
		if (strcmp(v[i].name, v[first].name)) {
			first = i;
			continue;
		}
		sy_diag_add(p, names[v[i].idx], "duplicate test name '%s' (first at line %u)",
			    v[i].name, s->tests[v[first].idx].line);
	}
	free(v);
}

/* The test just parsed (s->tests[s->n_tests], not counted) has
 * tests_from: it becomes a generator, expanded once its lister has run
 * (suite_lister.c). Its name defaults to "{name}". */
static void add_generator(struct ps *p, struct suite *s, yaml_node_t *item, struct test_ctx *ct)
{
	struct suite_test *t = ct->t;
	bool ok = true;
	if (!t->name) {
		t->name = sy_dup_or_oom(p, "{name}");
	} else if (!strstr(t->name, "{name}")) {
		sy_diag_add(p, ct->name_node,
			    "the name of a tests_from test must hold {name}, where each listed "
			    "name goes, not '%s'",
			    t->name);
		ok = false;
	}
	if (!ct->has_run && !t->skip) {
		sy_diag_add(p, item, "test '%s' needs run:", t->name ? t->name : "?");
		ok = false;
	}
	if (ct->has_matrix) {
		sy_diag_add(p, ct->from_node, "a test has matrix: or tests_from:, not both");
		ok = false;
	}
	if (!ok || !ct->gen.list.argc || p->oom)
		return;
	struct suite_gen *g = realloc(s->gens, (s->n_gens + 1) * sizeof(*g));
	if (!g) {
		p->oom = 1;
		return;
	}
	s->gens = g;
	g = &s->gens[s->n_gens++];
	*g = ct->gen;
	g->tmpl = *t;
	g->at = s->n_tests;
	memset(&ct->gen, 0, sizeof(ct->gen));
	memset(t, 0, sizeof(*t));
}

static void parse_tests(struct ps *p, struct top_ctx *tc)
{
	struct suite *s = tc->s;
	yaml_node_t *v = tc->tests_node, **names = NULL;
	size_t n, cap;
	/* defaults: parsed once into a template each test starts from */
	struct suite_test tmpl = {0};
	struct test_ctx dc = {.t = &tmpl, .where = "defaults"};
	for (size_t i = 0; i < s->n_env; i++)
		sy_vec_push(p, &tmpl.env, &tmpl.n_env, sy_dup_or_oom(p, s->env[i]));
	if (tc->defaults_node)
		sy_walk_map(p, tc->defaults_node, "defaults", default_keys, &dc);
	if (!dc.has_timeout)
		tmpl.timeout_ns = s->timeout_ns;
	if (!dc.has_retries)
		tmpl.retries = s->retries;
	s->tests = sy_seq_calloc(p, v, "tests must be a list", "tests", sizeof(*s->tests),
				 SUITE_MAX_TESTS, &n);
	if (!s->tests)
		goto out;
	cap = n ? n : 1;
	names = calloc(cap, sizeof(*names));
	if (!names) {
		p->oom = 1;
		goto out;
	}
	size_t left = n, generators = 0;
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		left--;
		yaml_node_t *c = sy_node(p, *it);
		if (!c)
			continue;
		struct suite_test *t = &s->tests[s->n_tests];
		/* the suite env and defaults come first; the test's own keys
		 * override them (lists are added to) */
		sy_test_copy(p, t, &tmpl);
		t->line = (unsigned)c->start_mark.line + 1;
		t->column = (unsigned)c->start_mark.column + 1;
		struct test_ctx ct = {
		    .t = t, .where = "tests[]", .has_timeout = true, .has_retries = true};
		sy_walk_map(p, c, "a test", test_keys, &ct);
		if (ct.has_from && c->type == YAML_MAPPING_NODE) {
			generators++;
			add_generator(p, s, c, &ct);
			sy_free_test(t); /* a no-op unless the generator was refused */
			memset(t, 0, sizeof(*t));
			sy_free_gen(&ct.gen);
			sy_matrix_free(&ct.matrix);
			continue;
		}
		sy_free_gen(&ct.gen);
		names[s->n_tests++] = ct.name_node;
		if (c->type == YAML_MAPPING_NODE) {
			if (!t->name)
				sy_diag_add(p, c, "a test needs name:");
			if (!ct.has_run && !t->skip)
				sy_diag_add(p, c, "test '%s' needs run:", t->name ? t->name : "?");
			if (ct.has_matrix)
				expand_matrix(p, s, &names, &cap, left, &ct);
		}
		sy_matrix_free(&ct.matrix);
	}
	if (s->n_tests == 0 && generators == 0)
		sy_diag_add(p, v, "tests is empty; a suite needs at least one test");
	else if (!p->oom)
		check_unique_names(p, s, names);
out:
	free(names);
	sy_free_test(&tmpl);
}

void sy_parse_top(struct ps *p, yaml_node_t *root, struct suite *s)
{
	struct top_ctx tc = {.s = s};
	sy_walk_map(p, root, "the suite", top_keys, &tc);
	if (root->type == YAML_MAPPING_NODE && !tc.tests_node)
		sy_diag_add(p, root, "the suite has no tests: list");
	if (tc.tests_node)
		parse_tests(p, &tc);
}
