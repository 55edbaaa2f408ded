/* suite: YAML suite parsing and validation (see suite.h, docs/suite.md).
 *
 * libyaml's document loader gives a node graph with a start mark (line and
 * column, 0-based) per node; every check below reports at the node it is
 * about and carries on, so one pass reports every problem. Aliases are
 * refused (a node reached twice): they add nothing to a suite and are the
 * classic way to make a YAML walker exponential. */
#include "suite.h"
#include "util.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <limits.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

struct ps {
	const char *file;
	const char *dir;
	yaml_document_t doc;
	struct suite_diag *diag;
	unsigned char *seen; /* per node: visited once already */
	size_t n_nodes;
	int oom;
};

static void diag_add(struct ps *p, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define DIAG_MAX_MESSAGE 400 /* bytes of one message, before escaping */

/* Appends one diagnostic line. Messages quote values from the file, which
 * may hold newlines and terminal escapes: control bytes are written as \n,
 * \t or \xHH so that every problem stays one harmless line. */
static void diag_add(struct ps *p, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	unsigned line = n ? (unsigned)n->start_mark.line + 1 : 1;
	unsigned col = n ? (unsigned)n->start_mark.column + 1 : 1;
	if (p->diag->count < 1000) {
		struct strbuf msg = {0};
		struct strbuf *t = &p->diag->text;
		int rc = 0;
		va_start(ap, fmt);
		rc |= sb_vprintf(&msg, fmt, ap);
		va_end(ap);
		if (t->len)
			rc |= sb_append_char(t, '\n');
		rc |= sb_printf(t, "%s:%u:%u: ", p->file, line, col);
		size_t len = msg.len > DIAG_MAX_MESSAGE ? DIAG_MAX_MESSAGE : msg.len;
		for (size_t i = 0; !rc && i < len; i++) {
			unsigned char c = (unsigned char)msg.buf[i];
			if (c == '\n')
				rc |= sb_append_str(t, "\\n");
			else if (c == '\t')
				rc |= sb_append_str(t, "\\t");
			else if (c < 0x20 || c == 0x7f)
				rc |= sb_printf(t, "\\x%02x", c);
			else
				rc |= sb_append_char(t, (char)c);
		}
		if (!rc && msg.len > len)
			rc |= sb_append_str(t, "...");
		sb_release(&msg);
		if (rc)
			p->oom = 1;
	}
	p->diag->count++;
}

static yaml_node_t *node(struct ps *p, int id)
{
	yaml_node_t *n = yaml_document_get_node(&p->doc, id);
	if (!n)
		return NULL;
	size_t idx = (size_t)(id - 1);
	if (idx < p->n_nodes) {
		if (p->seen[idx]) {
			diag_add(p, n,
				 "YAML aliases (*name) are not supported in suites; write the "
				 "value out");
			return NULL;
		}
		p->seen[idx] = 1;
	}
	return n;
}

static const char *scalar(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static const char *type_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

static char *dup_or_oom(struct ps *p, const char *s)
{
	char *d = strdup(s);
	if (!d)
		p->oom = 1;
	return d;
}

/* A scalar that must be a string (and not contain NUL: libyaml allows "\0"). */
static char *get_string(struct ps *p, yaml_node_t *n, const char *what)
{
	const char *s = scalar(n);
	if (!s) {
		diag_add(p, n, "%s must be a string, not %s", what, type_name(n));
		return NULL;
	}
	if (strlen(s) != n->data.scalar.length) {
		diag_add(p, n, "%s contains a NUL byte", what);
		return NULL;
	}
	return dup_or_oom(p, s);
}

static bool plain(const yaml_node_t *n)
{
	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static int get_bool(struct ps *p, yaml_node_t *n, const char *what, bool *out)
{
	const char *s = scalar(n);
	if (s && plain(n)) {
		if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on")) {
			*out = true;
			return 0;
		}
		if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off")) {
			*out = false;
			return 0;
		}
	}
	diag_add(p, n, "%s must be true or false, not %s%s%s", what, s ? "'" : "",
		 s ? s : type_name(n), s ? "'" : "");
	return -EINVAL;
}

static int get_uint(struct ps *p, yaml_node_t *n, const char *what, uint64_t min, uint64_t max,
		    uint64_t *out)
{
	const char *s = scalar(n);
	if (!s || util_parse_u64(s, min, max, out) < 0) {
		diag_add(p, n, "%s must be an integer from %llu to %llu, not %s%s%s", what,
			 (unsigned long long)min, (unsigned long long)max, s ? "'" : "",
			 s ? s : type_name(n), s ? "'" : "");
		return -EINVAL;
	}
	return 0;
}

static int get_duration(struct ps *p, yaml_node_t *n, const char *what, uint64_t *out)
{
	const char *s = scalar(n);
	if (!s || util_parse_duration(s, out) < 0 || *out == 0) {
		diag_add(p, n,
			 "%s must be a positive duration such as 30s, 1.5m or 250ms, not %s%s%s",
			 what, s ? "'" : "", s ? s : type_name(n), s ? "'" : "");
		return -EINVAL;
	}
	return 0;
}

static int get_size(struct ps *p, yaml_node_t *n, const char *what, uint64_t *out)
{
	const char *s = scalar(n);
	if (!s || util_parse_size(s, out) < 0) {
		diag_add(p, n, "%s must be a size such as 512M or 2G, not %s%s%s", what,
			 s ? "'" : "", s ? s : type_name(n), s ? "'" : "");
		return -EINVAL;
	}
	return 0;
}

/* Appends a copy of s to a NULL-terminated string vector. */
static int vec_push(struct ps *p, char ***vec, size_t *n, char *s)
{
	if (!s)
		return -ENOMEM;
	char **v = realloc(*vec, (*n + 2) * sizeof(*v));
	if (!v) {
		free(s);
		p->oom = 1;
		return -ENOMEM;
	}
	v[(*n)++] = s;
	v[*n] = NULL;
	*vec = v;
	return 0;
}

static void vec_free(char **v, size_t n)
{
	for (size_t i = 0; i < n && v; i++)
		free(v[i]);
	free(v);
}

/* A list of strings (a single string is accepted as a one-item list). */
static void get_strings(struct ps *p, yaml_node_t *n, const char *what, char ***out, size_t *nout)
{
	if (n->type == YAML_SCALAR_NODE) {
		vec_push(p, out, nout, get_string(p, n, what));
		return;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		diag_add(p, n, "%s must be a list of strings, not %s", what, type_name(n));
		return;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *c = node(p, *it);
		if (c)
			vec_push(p, out, nout, get_string(p, c, what));
	}
}

static bool env_key_ok(const char *k)
{
	if (!*k || (*k >= '0' && *k <= '9'))
		return false;
	for (; *k; k++)
		if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') ||
		      (*k >= '0' && *k <= '9') || *k == '_'))
			return false;
	return true;
}

/* env: { KEY: value } mapping appended to (vec, n) as KEY=value. */
static void get_env(struct ps *p, yaml_node_t *n, char ***vec, size_t *cnt)
{
	if (n->type != YAML_MAPPING_NODE) {
		diag_add(p, n, "env must be a mapping of NAME: value, not %s", type_name(n));
		return;
	}
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
		if (!k || !v)
			continue;
		const char *ks = scalar(k);
		if (!ks || !env_key_ok(ks)) {
			diag_add(
			    p, k,
			    "env name %s%s%s is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)",
			    ks ? "'" : "", ks ? ks : type_name(k), ks ? "'" : "");
			continue;
		}
		const char *vs = scalar(v);
		if (!vs || strlen(vs) != v->data.scalar.length) {
			diag_add(p, v, "env %s must be a string without NUL bytes", ks);
			continue;
		}
		struct strbuf sb = {0};
		if (sb_printf(&sb, "%s=%s", ks, vs)) {
			sb_release(&sb);
			p->oom = 1;
			continue;
		}
		char *s = NULL;
		sb_detach(&sb, &s);
		vec_push(p, vec, cnt, s);
	}
}

/* run: "shell text" or [argv...]. Returns 0 when cmd was filled. */
static int get_cmd(struct ps *p, yaml_node_t *n, const char *what, struct suite_cmd *cmd)
{
	cmd->line = (unsigned)n->start_mark.line + 1;
	cmd->column = (unsigned)n->start_mark.column + 1;
	if (n->type == YAML_SCALAR_NODE) {
		char *s = get_string(p, n, what);
		if (!s)
			return -EINVAL;
		if (!*s) {
			diag_add(p, n, "%s is empty", what);
			free(s);
			return -EINVAL;
		}
		cmd->shell = true;
		return vec_push(p, &cmd->argv, &cmd->argc, s);
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		get_strings(p, n, what, &cmd->argv, &cmd->argc);
		if (cmd->argc == 0) {
			diag_add(p, n, "%s is an empty list; give at least the program", what);
			return -EINVAL;
		}
		if (!cmd->argv[0][0]) {
			diag_add(p, n, "%s: the program name is empty", what);
			return -EINVAL;
		}
		return 0;
	}
	diag_add(p, n, "%s must be a string (run by sh -c) or a list (argv), not %s", what,
		 type_name(n));
	return -EINVAL;
}

static void free_cmd(struct suite_cmd *c)
{
	vec_free(c->argv, c->argc);
	memset(c, 0, sizeof(*c));
}

/* "/re/flags" is a PCRE2 pattern; anything else is a literal substring. The
 * pattern is compiled once here so that a bad one is a suite error. */
static void get_match(struct ps *p, yaml_node_t *n, const char *what, struct suite_match *m)
{
	char *s = get_string(p, n, what);
	if (!s)
		return;
	m->text = s;
	m->line = (unsigned)n->start_mark.line + 1;
	m->column = (unsigned)n->start_mark.column + 1;
	size_t len = strlen(s);
	const char *close = len >= 2 && s[0] == '/' ? strrchr(s, '/') : NULL;
	if (close && close > s) {
		m->pattern = strndup(s + 1, (size_t)(close - s - 1));
		m->options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
		for (const char *f = close + 1; *f; f++) {
			switch (*f) {
			case 'i':
				m->options |= PCRE2_CASELESS;
				break;
			case 'm':
				m->options |= PCRE2_MULTILINE;
				break;
			case 's':
				m->options |= PCRE2_DOTALL;
				break;
			case 'x':
				m->options |= PCRE2_EXTENDED;
				break;
			default:
				diag_add(p, n, "%s: unknown regex flag '%c' (use i, m, s or x)",
					 what, *f);
				return;
			}
		}
	} else {
		m->pattern = strdup(s);
		m->options = PCRE2_LITERAL;
	}
	if (!m->pattern) {
		p->oom = 1;
		return;
	}
	int err = 0;
	PCRE2_SIZE off = 0;
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)m->pattern, PCRE2_ZERO_TERMINATED, m->options,
					 &err, &off, NULL);
	if (!code) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(err, msg, sizeof(msg));
		diag_add(p, n, "%s: invalid regular expression at offset %zu: %s", what,
			 (size_t)off, (const char *)msg);
		return;
	}
	pcre2_code_free(code);
}

static void free_match(struct suite_match *m)
{
	free(m->text);
	free(m->pattern);
}

typedef void (*key_fn)(struct ps *p, yaml_node_t *v, void *obj);

struct key_def {
	const char *name;
	key_fn fn;
};

/* Walks a mapping, dispatching known keys and reporting unknown or repeated
 * ones. */
static void walk_map(struct ps *p, yaml_node_t *n, const char *what, const struct key_def *keys,
		     void *obj)
{
	if (n->type != YAML_MAPPING_NODE) {
		diag_add(p, n, "%s must be a mapping, not %s", what, type_name(n));
		return;
	}
	unsigned long long seen = 0;
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
		if (!k || !v)
			continue;
		const char *ks = scalar(k);
		if (!ks) {
			diag_add(p, k, "%s: keys must be plain strings, not %s", what,
				 type_name(k));
			continue;
		}
		size_t i;
		for (i = 0; keys[i].name; i++)
			if (!strcmp(keys[i].name, ks))
				break;
		if (!keys[i].name) {
			struct strbuf known = {0};
			for (size_t j = 0; keys[j].name; j++)
				sb_printf(&known, "%s%s", j ? ", " : "", keys[j].name);
			diag_add(p, k, "unknown key '%s' in %s (known: %s)", ks, what,
				 sb_str(&known));
			sb_release(&known);
			continue;
		}
		if (seen & (1ull << i)) {
			diag_add(p, k, "key '%s' appears twice in %s", ks, what);
			continue;
		}
		seen |= 1ull << i;
		keys[i].fn(p, v, obj);
	}
}

/* ---- vm ----------------------------------------------------------------- */
static void vm_cpus(struct ps *p, yaml_node_t *v, void *o)
{
	uint64_t x;
	if (!get_uint(p, v, "vm.cpus", 1, 64, &x))
		((struct suite *)o)->vm.cpus = (unsigned)x;
}
static void vm_memory(struct ps *p, yaml_node_t *v, void *o)
{
	uint64_t x;
	if (!get_size(p, v, "vm.memory", &x)) {
		if (x < (16u << 20))
			diag_add(p, v, "vm.memory must be at least 16M");
		((struct suite *)o)->vm.memory = x;
	}
}
static void vm_kernel(struct ps *p, yaml_node_t *v, void *o)
{
	((struct suite *)o)->vm.kernel = get_string(p, v, "vm.kernel");
}
static void vm_initrd(struct ps *p, yaml_node_t *v, void *o)
{
	((struct suite *)o)->vm.initrd = get_string(p, v, "vm.initrd");
}
static void vm_rootfs(struct ps *p, yaml_node_t *v, void *o)
{
	((struct suite *)o)->vm.rootfs = get_string(p, v, "vm.rootfs");
}
static void vm_cmdline(struct ps *p, yaml_node_t *v, void *o)
{
	((struct suite *)o)->vm.cmdline = get_string(p, v, "vm.cmdline");
}
static const struct key_def vm_keys[] = {
    {"cpus", vm_cpus},	   {"memory", vm_memory},   {"kernel", vm_kernel}, {"initrd", vm_initrd},
    {"rootfs", vm_rootfs}, {"cmdline", vm_cmdline}, {NULL, NULL},
};

/* Resolves a host path against the suite's directory. */
static char *host_path(struct ps *p, const char *s)
{
	struct strbuf sb = {0};
	int rc = s[0] == '/' ? sb_append_str(&sb, s) : sb_printf(&sb, "%s/%s", p->dir, s);
	/* strip trailing "/." and "/" for tidy keys and messages */
	while (!rc && sb.len > 1 &&
	       (sb.buf[sb.len - 1] == '/' || (sb.len > 2 && !strcmp(sb.buf + sb.len - 2, "/."))))
		sb.buf[sb.len -= (sb.buf[sb.len - 1] == '/' ? 1 : 2)] = '\0';
	char *out = NULL;
	if (rc || sb_detach(&sb, &out)) {
		sb_release(&sb);
		p->oom = 1;
		return NULL;
	}
	return out;
}

/* ---- sandbox ------------------------------------------------------------ */
static void sb_rootfs(struct ps *p, yaml_node_t *v, void *o)
{
	char *s = get_string(p, v, "sandbox.rootfs");
	if (!s)
		return;
	struct suite *su = o;
	free(su->sandbox.rootfs);
	su->sandbox.rootfs = *s ? host_path(p, s) : NULL;
	if (!*s)
		diag_add(p, v, "sandbox.rootfs is empty; give a directory such as /");
	free(s);
}
static void sb_readonly(struct ps *p, yaml_node_t *v, void *o)
{
	bool b;
	if (get_bool(p, v, "sandbox.readonly", &b))
		return;
	if (!b)
		diag_add(p, v,
			 "sandbox.readonly: false is not supported: the sandbox never writes "
			 "its rootfs (writes go to a copy-on-write layer)");
	((struct suite *)o)->sandbox.readonly = true;
}
static void sb_memory(struct ps *p, yaml_node_t *v, void *o)
{
	get_size(p, v, "sandbox.memory", &((struct suite *)o)->sandbox.memory);
}
static void sb_pids(struct ps *p, yaml_node_t *v, void *o)
{
	get_uint(p, v, "sandbox.pids", 1, 1u << 22, &((struct suite *)o)->sandbox.pids);
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
	char *s = get_string(p, v, "shares[].host");
	if (s && !*s)
		diag_add(p, v, "shares[].host is empty");
	else if (s)
		c->sh->host = host_path(p, s);
	free(s);
}
static void share_guest(struct ps *p, yaml_node_t *v, void *o)
{
	struct share_ctx *c = o;
	c->guest_node = v;
	c->sh->guest = get_string(p, v, "shares[].guest");
	if (c->sh->guest &&
	    (c->sh->guest[0] != '/' || strstr(c->sh->guest, "/..") || !strcmp(c->sh->guest, "/")))
		diag_add(p, v,
			 "shares[].guest must be an absolute path other than / without '..', "
			 "not '%s'",
			 c->sh->guest);
}
static void share_ro(struct ps *p, yaml_node_t *v, void *o)
{
	struct share_ctx *c = o;
	get_bool(p, v, "shares[].readonly", &c->sh->readonly);
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
	if (!get_uint(p, v, "expect.exit", 0, 255, &x))
		((struct suite_expect *)o)->exit = (int)x;
}
static void ex_stdout(struct ps *p, yaml_node_t *v, void *o)
{
	get_match(p, v, "expect.stdout", &((struct suite_expect *)o)->stdout_match);
}
static void ex_stdout_not(struct ps *p, yaml_node_t *v, void *o)
{
	get_match(p, v, "expect.stdout_not", &((struct suite_expect *)o)->stdout_not);
}
static void ex_stderr(struct ps *p, yaml_node_t *v, void *o)
{
	get_match(p, v, "expect.stderr", &((struct suite_expect *)o)->stderr_match);
}
static void ex_stderr_not(struct ps *p, yaml_node_t *v, void *o)
{
	get_match(p, v, "expect.stderr_not", &((struct suite_expect *)o)->stderr_not);
}
static const struct key_def expect_keys[] = {
    {"exit", ex_exit},	   {"stdout", ex_stdout},	  {"stdout_not", ex_stdout_not},
    {"stderr", ex_stderr}, {"stderr_not", ex_stderr_not}, {NULL, NULL},
};

/* ---- tests -------------------------------------------------------------- */
struct test_ctx {
	struct suite_test *t;
	bool has_run, has_timeout, has_retries;
	yaml_node_t *name_node;
};
static void t_name(struct ps *p, yaml_node_t *v, void *o)
{
	struct test_ctx *c = o;
	c->name_node = v;
	c->t->name = get_string(p, v, "tests[].name");
	const char *why = c->t->name ? suite_name_problem(c->t->name) : NULL;
	if (why)
		diag_add(p, v, "test name '%s' %s", c->t->name, why);
}
static void t_run(struct ps *p, yaml_node_t *v, void *o)
{
	struct test_ctx *c = o;
	c->has_run = true;
	get_cmd(p, v, "tests[].run", &c->t->run);
}
static void t_timeout(struct ps *p, yaml_node_t *v, void *o)
{
	struct test_ctx *c = o;
	c->has_timeout = !get_duration(p, v, "tests[].timeout", &c->t->timeout_ns);
}
static void t_retries(struct ps *p, yaml_node_t *v, void *o)
{
	struct test_ctx *c = o;
	uint64_t x;
	if (!get_uint(p, v, "tests[].retries", 0, 100, &x)) {
		c->t->retries = (unsigned)x;
		c->has_retries = true;
	}
}
static void t_expect(struct ps *p, yaml_node_t *v, void *o)
{
	walk_map(p, v, "expect", expect_keys, &((struct test_ctx *)o)->t->expect);
}
static void t_artifacts(struct ps *p, yaml_node_t *v, void *o)
{
	struct suite_test *t = ((struct test_ctx *)o)->t;
	get_strings(p, v, "tests[].artifacts", &t->artifacts, &t->n_artifacts);
	for (size_t i = 0; i < t->n_artifacts; i++)
		if (!t->artifacts[i][0] || strstr(t->artifacts[i], "..") ||
		    strchr(t->artifacts[i], '\n') || strchr(t->artifacts[i], '\'')) {
			diag_add(p, v,
				 "artifact glob '%s' must be non-empty without '..', quotes or "
				 "newlines",
				 t->artifacts[i]);
			break;
		}
}
static void t_tags(struct ps *p, yaml_node_t *v, void *o)
{
	struct suite_test *t = ((struct test_ctx *)o)->t;
	get_strings(p, v, "tests[].tags", &t->tags, &t->n_tags);
	for (size_t i = 0; i < t->n_tags; i++) {
		const char *s = t->tags[i];
		bool ok = *s != '\0';
		for (; *s; s++)
			if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
				ok = false;
		if (!ok)
			diag_add(p, v, "tag '%s' must be made of letters, digits, '_', '-' and '.'",
				 t->tags[i]);
	}
}
static void t_skip(struct ps *p, yaml_node_t *v, void *o)
{
	struct suite_test *t = ((struct test_ctx *)o)->t;
	const char *s = scalar(v);
	if (s && plain(v) && !strcmp(s, "false"))
		return;
	if (s && plain(v) && !strcmp(s, "true")) {
		t->skip = dup_or_oom(p, "skipped in the suite");
		return;
	}
	t->skip = get_string(p, v, "tests[].skip (a reason)");
}
static void t_env(struct ps *p, yaml_node_t *v, void *o)
{
	struct suite_test *t = ((struct test_ctx *)o)->t;
	get_env(p, v, &t->env, &t->n_env);
}
static void t_cwd(struct ps *p, yaml_node_t *v, void *o)
{
	struct suite_test *t = ((struct test_ctx *)o)->t;
	t->cwd = get_string(p, v, "tests[].cwd");
	if (t->cwd && t->cwd[0] != '/')
		diag_add(p, v, "tests[].cwd must be an absolute path inside the guest");
}
static const struct key_def test_keys[] = {
    {"name", t_name},	    {"run", t_run},	  {"timeout", t_timeout},
    {"retries", t_retries}, {"expect", t_expect}, {"artifacts", t_artifacts},
    {"tags", t_tags},	    {"skip", t_skip},	  {"env", t_env},
    {"cwd", t_cwd},	    {NULL, NULL},
};

/* ---- top level ---------------------------------------------------------- */
struct top_ctx {
	struct suite *s;
	yaml_node_t *tests_node;
	bool has_timeout, has_retries;
};
static void k_name(struct ps *p, yaml_node_t *v, void *o)
{
	struct top_ctx *c = o;
	free(c->s->name);
	c->s->name = get_string(p, v, "name");
}
static void k_backend(struct ps *p, yaml_node_t *v, void *o)
{
	struct top_ctx *c = o;
	const char *s = scalar(v);
	if (s && !strcmp(s, "auto"))
		c->s->backend = SUITE_BACKEND_AUTO;
	else if (s && !strcmp(s, "vm"))
		c->s->backend = SUITE_BACKEND_VM;
	else if (s && !strcmp(s, "sandbox"))
		c->s->backend = SUITE_BACKEND_SANDBOX;
	else
		diag_add(p, v, "backend must be auto, vm or sandbox, not %s%s%s", s ? "'" : "",
			 s ? s : type_name(v), s ? "'" : "");
}
static void k_vm(struct ps *p, yaml_node_t *v, void *o)
{
	walk_map(p, v, "vm", vm_keys, ((struct top_ctx *)o)->s);
}
static void k_sandbox(struct ps *p, yaml_node_t *v, void *o)
{
	walk_map(p, v, "sandbox", sandbox_keys, ((struct top_ctx *)o)->s);
}
static void k_shares(struct ps *p, yaml_node_t *v, void *o)
{
	struct suite *s = ((struct top_ctx *)o)->s;
	if (v->type != YAML_SEQUENCE_NODE) {
		diag_add(p, v, "shares must be a list of {host, guest, readonly}, not %s",
			 type_name(v));
		return;
	}
	size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	s->shares = calloc(n ? n : 1, sizeof(*s->shares));
	if (!s->shares) {
		p->oom = 1;
		return;
	}
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *c = node(p, *it);
		if (!c)
			continue;
		struct suite_share *sh = &s->shares[s->n_shares++];
		sh->line = (unsigned)c->start_mark.line + 1;
		sh->column = (unsigned)c->start_mark.column + 1;
		struct share_ctx sc = {sh, NULL};
		walk_map(p, c, "shares[]", share_keys, &sc);
		if (c->type == YAML_MAPPING_NODE && (!sh->host || !sh->guest))
			diag_add(p, c, "a share needs both host: and guest:");
		for (size_t j = 0; sh->guest && j + 1 < s->n_shares; j++)
			if (s->shares[j].guest && !strcmp(s->shares[j].guest, sh->guest))
				diag_add(p, c, "two shares mount at guest path '%s'", sh->guest);
	}
}
static void k_env(struct ps *p, yaml_node_t *v, void *o)
{
	struct suite *s = ((struct top_ctx *)o)->s;
	get_env(p, v, &s->env, &s->n_env);
}
static void k_setup(struct ps *p, yaml_node_t *v, void *o)
{
	struct suite *s = ((struct top_ctx *)o)->s;
	if (v->type != YAML_SEQUENCE_NODE) {
		diag_add(p, v, "setup must be a list of { run: ... } steps, not %s", type_name(v));
		return;
	}
	size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	s->setup = calloc(n ? n : 1, sizeof(*s->setup));
	if (!s->setup) {
		p->oom = 1;
		return;
	}
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *c = node(p, *it);
		if (!c)
			continue;
		/* accept both "- run: cmd" and the shorthand "- cmd" */
		yaml_node_t *cmdn = c;
		if (c->type == YAML_MAPPING_NODE) {
			cmdn = NULL;
			for (yaml_node_pair_t *pr = c->data.mapping.pairs.start;
			     pr < c->data.mapping.pairs.top; pr++) {
				yaml_node_t *k = node(p, pr->key), *vv = node(p, pr->value);
				const char *ks = k ? scalar(k) : NULL;
				if (ks && !strcmp(ks, "run") && !cmdn)
					cmdn = vv;
				else if (k)
					diag_add(p, k,
						 "unknown key '%s' in a setup step (known: run)",
						 ks ? ks : "?");
			}
			if (!cmdn) {
				diag_add(p, c, "a setup step needs run:");
				continue;
			}
		}
		if (!get_cmd(p, cmdn, "setup[].run", &s->setup[s->n_setup]))
			s->n_setup++;
		else
			free_cmd(&s->setup[s->n_setup]);
	}
}
static void k_parallel(struct ps *p, yaml_node_t *v, void *o)
{
	uint64_t x;
	if (!get_uint(p, v, "parallel", 1, 1024, &x))
		((struct top_ctx *)o)->s->parallel = (unsigned)x;
}
static void k_timeout(struct ps *p, yaml_node_t *v, void *o)
{
	struct top_ctx *c = o;
	get_duration(p, v, "timeout", &c->s->timeout_ns);
}
static void k_retries(struct ps *p, yaml_node_t *v, void *o)
{
	uint64_t x;
	if (!get_uint(p, v, "retries", 0, 100, &x))
		((struct top_ctx *)o)->s->retries = (unsigned)x;
}
static void k_workdir(struct ps *p, yaml_node_t *v, void *o)
{
	struct suite *s = ((struct top_ctx *)o)->s;
	char *w = get_string(p, v, "workdir");
	if (w && w[0] != '/') {
		diag_add(p, v, "workdir must be an absolute path inside the guest, not '%s'", w);
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
	get_bool(p, v, "cache.enabled", &((struct suite *)o)->cache_enabled);
}
static void c_inputs(struct ps *p, yaml_node_t *v, void *o)
{
	struct suite *s = o;
	char **raw = NULL;
	size_t n = 0;
	get_strings(p, v, "cache.inputs", &raw, &n);
	for (size_t i = 0; i < n; i++)
		vec_push(p, &s->cache_inputs, &s->n_cache_inputs, host_path(p, raw[i]));
	vec_free(raw, n);
}
static const struct key_def cache_keys[] = {
    {"enabled", c_enabled},
    {"inputs", c_inputs},
    {NULL, NULL},
};
static void k_cache(struct ps *p, yaml_node_t *v, void *o)
{
	walk_map(p, v, "cache", cache_keys, ((struct top_ctx *)o)->s);
}
static void k_tests(struct ps *p, yaml_node_t *v, void *o)
{
	((struct top_ctx *)o)->tests_node = v;
}
static const struct key_def top_keys[] = {
    {"name", k_name},	    {"backend", k_backend},
    {"vm", k_vm},	    {"sandbox", k_sandbox},
    {"shares", k_shares},   {"env", k_env},
    {"setup", k_setup},	    {"parallel", k_parallel},
    {"timeout", k_timeout}, {"retries", k_retries},
    {"workdir", k_workdir}, {"cache", k_cache},
    {"tests", k_tests},	    {NULL, NULL},
};

static void parse_tests(struct ps *p, struct top_ctx *tc)
{
	struct suite *s = tc->s;
	yaml_node_t *v = tc->tests_node;
	if (v->type != YAML_SEQUENCE_NODE) {
		diag_add(p, v, "tests must be a list, not %s", type_name(v));
		return;
	}
	size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (n > SUITE_MAX_TESTS) {
		diag_add(p, v, "%zu tests is more than the limit of %u", n, SUITE_MAX_TESTS);
		return;
	}
	s->tests = calloc(n ? n : 1, sizeof(*s->tests));
	if (!s->tests) {
		p->oom = 1;
		return;
	}
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		yaml_node_t *c = node(p, *it);
		if (!c)
			continue;
		struct suite_test *t = &s->tests[s->n_tests++];
		t->line = (unsigned)c->start_mark.line + 1;
		t->column = (unsigned)c->start_mark.column + 1;
		struct test_ctx ct = {.t = t};
		/* the suite env comes first; the test's own entries override it */
		for (size_t i = 0; i < s->n_env; i++)
			vec_push(p, &t->env, &t->n_env, dup_or_oom(p, s->env[i]));
		walk_map(p, c, "a test", test_keys, &ct);
		if (c->type != YAML_MAPPING_NODE)
			continue;
		if (!t->name)
			diag_add(p, c, "a test needs name:");
		if (!ct.has_run && !t->skip)
			diag_add(p, c, "test '%s' needs run:", t->name ? t->name : "?");
		if (!ct.has_timeout)
			t->timeout_ns = s->timeout_ns;
		if (!ct.has_retries)
			t->retries = s->retries;
		for (size_t j = 0; t->name && j + 1 < s->n_tests; j++)
			if (s->tests[j].name && !strcmp(s->tests[j].name, t->name))
				diag_add(p, ct.name_node,
					 "duplicate test name '%s' (first at line %u)", t->name,
					 s->tests[j].line);
	}
	if (s->n_tests == 0)
		diag_add(p, v, "tests is empty; a suite needs at least one test");
}

static void free_test(struct suite_test *t)
{
	free(t->name);
	free_cmd(&t->run);
	free_match(&t->expect.stdout_match);
	free_match(&t->expect.stdout_not);
	free_match(&t->expect.stderr_match);
	free_match(&t->expect.stderr_not);
	vec_free(t->artifacts, t->n_artifacts);
	vec_free(t->tags, t->n_tags);
	free(t->skip);
	vec_free(t->env, t->n_env);
	free(t->cwd);
}

void suite_destroy(struct suite *s)
{
	if (!s)
		return;
	free(s->file);
	free(s->dir);
	free(s->name);
	free(s->vm.kernel);
	free(s->vm.initrd);
	free(s->vm.rootfs);
	free(s->vm.cmdline);
	free(s->sandbox.rootfs);
	for (size_t i = 0; i < s->n_shares; i++) {
		free(s->shares[i].host);
		free(s->shares[i].guest);
	}
	free(s->shares);
	vec_free(s->env, s->n_env);
	for (size_t i = 0; i < s->n_setup; i++)
		free_cmd(&s->setup[i]);
	free(s->setup);
	free(s->workdir);
	vec_free(s->cache_inputs, s->n_cache_inputs);
	for (size_t i = 0; i < s->n_tests; i++)
		free_test(&s->tests[i]);
	free(s->tests);
	free(s);
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

struct diag_line {
	unsigned line, col;
	size_t seq;
	const char *text;
	size_t len;
};

static int diag_cmp(const void *a, const void *b)
{
	const struct diag_line *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Orders the lines added from text offset `from` by line and column, so
 * that a file's problems read top to bottom whatever order the checks ran
 * in. Lines look like "FILE:LINE:COL: message" with FILE known. */
static void diag_sort(struct suite_diag *d, size_t from, const char *file)
{
	size_t flen = strlen(file), n = 0, cap = 0;
	struct diag_line *v = NULL;
	char *t = d->text.buf;
	if (!t || from >= d->text.len)
		return;
	if (from && t[from] == '\n')
		from++;
	for (size_t i = from; i < d->text.len;) {
		char *nl = memchr(t + i, '\n', d->text.len - i);
		size_t l = nl ? (size_t)(nl - (t + i)) : d->text.len - i;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			struct diag_line *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return;
			}
			v = nv;
		}
		struct diag_line *e = &v[n];
		e->text = t + i;
		e->len = l;
		e->seq = n;
		e->line = e->col = 0;
		if (l > flen && !strncmp(t + i, file, flen) && t[i + flen] == ':')
			sscanf(t + i + flen + 1, "%u:%u", &e->line, &e->col);
		n++;
		i += l + 1;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), diag_cmp);
	struct strbuf sorted = {0};
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (i)
			rc |= sb_append_char(&sorted, '\n');
		rc |= sb_append(&sorted, v[i].text, v[i].len);
	}
	if (!rc && sorted.buf && sorted.len == d->text.len - from)
		memcpy(t + from, sorted.buf, sorted.len);
	sb_release(&sorted);
	free(v);
}

int suite_parse(const char *file, const char *dir, const char *buf, size_t len,
		struct suite_diag *diag, struct suite **out)
{
	struct ps p = {.file = file, .dir = dir, .diag = diag};
	yaml_parser_t parser;
	struct suite *s = NULL;
	int rc = -EINVAL;
	unsigned before = diag->count;
	size_t text_before = diag->text.len;

	*out = NULL;
	if (len > SUITE_MAX_FILE) {
		diag_add(&p, NULL, "the file is %zu bytes; suites are limited to %u", len,
			 SUITE_MAX_FILE);
		return -EINVAL;
	}
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &p.doc)) {
		struct strbuf *t = &diag->text;
		if (t->len)
			sb_append_char(t, '\n');
		sb_printf(t, "%s:%zu:%zu: YAML syntax error: %s%s%s", file,
			  parser.problem_mark.line + 1, parser.problem_mark.column + 1,
			  parser.problem ? parser.problem : "malformed document",
			  parser.context ? " " : "", parser.context ? parser.context : "");
		diag->count++;
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	/* One document per suite: a second '---' is most likely a mistake. */
	yaml_document_t extra;
	if (yaml_parser_load(&parser, &extra)) {
		yaml_node_t *r = yaml_document_get_root_node(&extra);
		if (r)
			diag_add(&p, r, "a suite file holds one YAML document; remove the second");
		yaml_document_delete(&extra);
	}
	yaml_parser_delete(&parser);

	p.n_nodes = (size_t)(p.doc.nodes.top - p.doc.nodes.start);
	p.seen = calloc(p.n_nodes ? p.n_nodes : 1, 1);
	s = calloc(1, sizeof(*s));
	if (!p.seen || !s) {
		rc = -ENOMEM;
		goto out;
	}
	s->file = strdup(file);
	s->dir = strdup(dir);
	s->workdir = strdup("/");
	s->sandbox.rootfs = strdup("/");
	s->sandbox.readonly = true;
	s->vm.cpus = 1;
	s->vm.memory = 512ull << 20;
	s->timeout_ns = 60 * NSEC_PER_SEC;
	s->cache_enabled = true;
	if (!s->file || !s->dir || !s->workdir || !s->sandbox.rootfs) {
		rc = -ENOMEM;
		goto out;
	}

	yaml_node_t *root = yaml_document_get_root_node(&p.doc);
	if (!root) {
		diag_add(&p, NULL, "the file is empty; a suite needs at least tests:");
		goto out;
	}
	p.seen[0] = 1;
	struct top_ctx tc = {.s = s};
	walk_map(&p, root, "the suite", top_keys, &tc);
	if (root->type == YAML_MAPPING_NODE && !tc.tests_node)
		diag_add(&p, root, "the suite has no tests: list");
	if (tc.tests_node)
		parse_tests(&p, &tc);
	if (!s->name) {
		/* default name: the file name without .yaml/.yml */
		const char *b = base_name(file);
		size_t n = strlen(b);
		if (n > 5 && !strcmp(b + n - 5, ".yaml"))
			n -= 5;
		else if (n > 4 && !strcmp(b + n - 4, ".yml"))
			n -= 4;
		s->name = strndup(b, n);
		if (!s->name)
			p.oom = 1;
	}
	if (p.oom) {
		rc = -ENOMEM;
		goto out;
	}
	diag_sort(diag, text_before, file);
	if (diag->count == before) {
		*out = s;
		s = NULL;
		rc = 0;
	}
out:
	suite_destroy(s);
	free(p.seen);
	yaml_document_delete(&p.doc);
	return rc;
}

int suite_load(const char *path, struct suite_diag *diag, struct suite **out)
{
	char *buf = NULL, *abs = NULL, *dir = NULL;
	size_t len = 0;
	*out = NULL;
	int rc = util_read_file(path, SUITE_MAX_FILE, &buf, &len);
	if (rc) {
		if (diag->text.len)
			sb_append_char(&diag->text, '\n');
		sb_printf(&diag->text, "%s: cannot read the suite: %s%s", path, strerror(-rc),
			  rc == -EFBIG ? " (suites are limited to 1 MiB)" : "");
		diag->count++;
		return rc;
	}
	abs = realpath(path, NULL);
	if (!abs) {
		rc = -errno;
		goto out;
	}
	char *slash = strrchr(abs, '/');
	dir = slash == abs ? strdup("/") : strndup(abs, (size_t)(slash - abs));
	if (!dir) {
		rc = -ENOMEM;
		goto out;
	}
	rc = suite_parse(path, dir, buf, len, diag, out);
out:
	free(buf);
	free(abs);
	free(dir);
	return rc;
}

void suite_diag_print(const struct suite_diag *diag)
{
	if (diag->text.len)
		fprintf(stderr, "%s\n", sb_str(&diag->text));
	if (diag->count > 1000)
		fprintf(stderr, "... and %u more\n", diag->count - 1000);
	if (diag->count)
		fprintf(stderr, "%u error%s in the suite\n", diag->count,
			diag->count == 1 ? "" : "s");
}

void suite_diag_release(struct suite_diag *diag)
{
	sb_release(&diag->text);
	diag->count = 0;
}

const char *suite_backend_name(enum suite_backend b)
{
	switch (b) {
	case SUITE_BACKEND_VM:
		return "vm";
	case SUITE_BACKEND_SANDBOX:
		return "sandbox";
	default:
		return "auto";
	}
}

const char *suite_name_problem(const char *name)
{
	size_t n = strlen(name);
	if (n == 0)
		return "is empty";
	if (n > SUITE_MAX_NAME)
		return "is longer than 200 bytes";
	if (name[0] == '-' || name[0] == '.' || name[0] == ' ' || name[n - 1] == ' ')
		return "must not start with '-', '.' or a space, nor end with a space";
	if (strstr(name, ".."))
		return "must not contain '..'";
	for (const char *c = name; *c; c++) {
		unsigned char u = (unsigned char)*c;
		if (u < 0x20 || u == 0x7f || u == '\\' || u == '"' || u == '\'' || u == '`' ||
		    u == '$' || u == '*' || u == '?' || u == '[' || u == ']')
			return "must not contain control characters, quotes, '\\', '$', or glob "
			       "characters (* ? [ ])";
	}
	return NULL;
}

void suite_name_to_path(const char *name, char *dst, size_t cap)
{
	size_t i = 0;
	if (!cap)
		return;
	for (; name[i] && i + 1 < cap; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		dst[i] = ok ? c : '_';
	}
	dst[i] = '\0';
}
