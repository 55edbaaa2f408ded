/* suite: YAML suite parsing and validation (see suite.h, docs/suite.md).
 *
 * libyaml's document loader gives a node graph with a start mark (line and
 * column, 0-based) per node; every check below reports at the node it is
 * about and carries on, so one pass reports every problem. Aliases are
 * resolved by libyaml; a document whose aliases make a cycle or expand it
 * past a bound is refused before the walk (suite_alias.c). */
#include "suite/suite_int.h"
#include "util.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void sy_free_test(struct suite_test *t)
{
	free(t->name);
	sy_free_cmd(&t->run);
	sy_free_match(&t->expect.stdout_match);
	sy_free_match(&t->expect.stdout_not);
	sy_free_match(&t->expect.stderr_match);
	sy_free_match(&t->expect.stderr_not);
	sy_vec_free(t->artifacts, t->n_artifacts);
	sy_vec_free(t->tags, t->n_tags);
	free(t->skip);
	sy_vec_free(t->env, t->n_env);
	free(t->cwd);
}

void sy_free_gen(struct suite_gen *g)
{
	sy_free_test(&g->tmpl);
	sy_free_cmd(&g->list);
	free(g->list_cwd);
	sy_free_match(&g->match);
	memset(g, 0, sizeof(*g));
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
	sy_vec_free(s->env, s->n_env);
	for (size_t i = 0; i < s->n_setup; i++) {
		sy_free_cmd(&s->setup[i].run);
		free(s->setup[i].cwd);
	}
	free(s->setup);
	free(s->workdir);
	sy_vec_free(s->cache_inputs, s->n_cache_inputs);
	for (size_t i = 0; i < s->n_tests; i++)
		sy_free_test(&s->tests[i]);
	free(s->tests);
	for (size_t i = 0; i < s->n_gens; i++)
		sy_free_gen(&s->gens[i]);
	free(s->gens);
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
 * in, and drops a line said before at the same place (a problem in a value
 * that aliases or merge keys repeat is reported once). Lines look like
 * "FILE:LINE:COL: message" with FILE known. */
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
	unsigned dropped = 0;
	for (size_t i = 0, place = 0; i < n; i++) {
		if (i && (v[i].line != v[place].line || v[i].col != v[place].col))
			place = i;
		bool said = false;
		for (size_t j = place; j < i && !said; j++)
			said = v[j].len == v[i].len && !memcmp(v[j].text, v[i].text, v[i].len);
		if (said) {
			dropped++;
			continue;
		}
		if (sorted.len)
			rc |= sb_append_char(&sorted, '\n');
		rc |= sb_append(&sorted, v[i].text, v[i].len);
	}
	if (!rc && sorted.buf && sorted.len <= d->text.len - from) {
		memcpy(t + from, sorted.buf, sorted.len);
		d->text.len = from + sorted.len;
		t[d->text.len] = '\0';
		d->count -= dropped;
	}
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
		sy_diag_add(&p, NULL, "the file is %zu bytes; suites are limited to %u", len,
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
			sy_diag_add(&p, r,
				    "a suite file holds one YAML document; remove the second");
		yaml_document_delete(&extra);
	}
	yaml_parser_delete(&parser);

	p.n_nodes = (size_t)(p.doc.nodes.top - p.doc.nodes.start);
	s = calloc(1, sizeof(*s));
	if (!s) {
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
	s->setup_timeout_ns = 600 * NSEC_PER_SEC;
	s->cache_enabled = true;
	if (!s->file || !s->dir || !s->workdir || !s->sandbox.rootfs) {
		rc = -ENOMEM;
		goto out;
	}

	yaml_node_t *root = yaml_document_get_root_node(&p.doc);
	if (!root) {
		sy_diag_add(&p, NULL, "the file is empty; a suite needs at least tests:");
		goto out;
	}
	if (!sy_check_aliases(&p, 1))
		sy_parse_top(&p, root, s);
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
	yaml_document_delete(&p.doc);
	return rc;
}

/* What validate can know of the host before a run: a read-only share's
 * host must be an existing directory (a writable one is created when
 * missing, so it only must not be something else). Found here, it is a
 * suite error (exit 2), not an infrastructure error from run (exit 3).
 * suite_parse() stays free of file-system access. */
static int check_hosts(const struct suite *s, struct suite_diag *diag)
{
	unsigned before = diag->count;
	for (size_t i = 0; i < s->n_shares; i++) {
		const struct suite_share *sh = &s->shares[i];
		struct stat st;
		const char *problem = NULL;
		if (stat(sh->host, &st))
			problem =
			    errno != ENOENT ? strerror(errno)
			    : sh->readonly
				? "does not exist (a read-only share must be an existing directory)"
				: NULL;
		else if (!S_ISDIR(st.st_mode))
			problem = "is not a directory";
		if (!problem)
			continue;
		if (diag->text.len)
			sb_append_char(&diag->text, '\n');
		sb_printf(&diag->text, "%s:%u:%u: shares[].host '%s' %s", s->file, sh->line,
			  sh->column, sh->host, problem);
		diag->count++;
	}
	return diag->count == before ? 0 : -EINVAL;
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
	if (!rc && (rc = check_hosts(*out, diag))) {
		suite_destroy(*out);
		*out = NULL;
	}
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
