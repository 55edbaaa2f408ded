/* suite_yaml: typed accessors over libyaml nodes for the suite parser
 * (suite_int.h). Aliases reach their anchor's node again; what that can cost
 * is bounded before the walk (suite_alias.c). */
#include "suite/suite_int.h"
#include "suite/suggest.h"
#include "util.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIAG_MAX_MESSAGE 400 /* bytes of one message, before escaping */

/* Appends one diagnostic line. Messages quote values from the file, which
 * may hold newlines and terminal escapes: control bytes are written as \n,
 * \t or \xHH so that every problem stays one harmless line. */
void sy_diag_add(struct ps *p, const yaml_node_t *n, const char *fmt, ...)
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

yaml_node_t *sy_node(struct ps *p, int id)
{
	return yaml_document_get_node(&p->doc, id);
}

const char *sy_scalar(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

void *sy_seq_calloc(struct ps *p, yaml_node_t *v, const char *expect, const char *noun, size_t elem,
		    size_t max, size_t *n)
{
	if (v->type != YAML_SEQUENCE_NODE) {
		sy_diag_add(p, v, "%s, not %s", expect, sy_type_name(v));
		return NULL;
	}
	*n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (max && *n > max) {
		sy_diag_add(p, v, "%zu %s is more than the limit of %zu", *n, noun, max);
		return NULL;
	}
	void *a = calloc(*n ? *n : 1, elem);
	if (!a)
		p->oom = 1;
	return a;
}

const char *sy_type_name(const yaml_node_t *n)
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

char *sy_dup_or_oom(struct ps *p, const char *s)
{
	char *d = strdup(s);
	if (!d)
		p->oom = 1;
	return d;
}

/* A scalar that must be a string (and not contain NUL: libyaml allows "\0"). */
char *sy_get_string(struct ps *p, yaml_node_t *n, const char *what)
{
	const char *s = sy_scalar(n);
	if (!s) {
		sy_diag_add(p, n, "%s must be a string, not %s", what, sy_type_name(n));
		return NULL;
	}
	if (strlen(s) != n->data.scalar.length) {
		sy_diag_add(p, n, "%s contains a NUL byte", what);
		return NULL;
	}
	return sy_dup_or_oom(p, s);
}

bool sy_plain(const yaml_node_t *n)
{
	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

int sy_get_bool(struct ps *p, yaml_node_t *n, const char *what, bool *out)
{
	const char *s = sy_scalar(n);
	if (s && sy_plain(n)) {
		if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on")) {
			*out = true;
			return 0;
		}
		if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off")) {
			*out = false;
			return 0;
		}
	}
	sy_diag_add(p, n, "%s must be true or false, not %s%s%s", what, s ? "'" : "",
		    s ? s : sy_type_name(n), s ? "'" : "");
	return -EINVAL;
}

int sy_get_uint(struct ps *p, yaml_node_t *n, const char *what, uint64_t min, uint64_t max,
		uint64_t *out)
{
	const char *s = sy_scalar(n);
	if (!s || util_parse_u64(s, min, max, out) < 0) {
		sy_diag_add(p, n, "%s must be an integer from %llu to %llu, not %s%s%s", what,
			    (unsigned long long)min, (unsigned long long)max, s ? "'" : "",
			    s ? s : sy_type_name(n), s ? "'" : "");
		return -EINVAL;
	}
	return 0;
}

int sy_get_duration(struct ps *p, yaml_node_t *n, const char *what, uint64_t *out)
{
	const char *s = sy_scalar(n);
	if (!s || util_parse_duration(s, out) < 0 || *out == 0) {
		sy_diag_add(p, n,
			    "%s must be a positive duration such as 30s, 1.5m or 250ms, not %s%s%s",
			    what, s ? "'" : "", s ? s : sy_type_name(n), s ? "'" : "");
		return -EINVAL;
	}
	return 0;
}

int sy_get_size(struct ps *p, yaml_node_t *n, const char *what, uint64_t *out)
{
	const char *s = sy_scalar(n);
	if (!s || util_parse_size(s, out) < 0) {
		sy_diag_add(p, n, "%s must be a size such as 512M or 2G, not %s%s%s", what,
			    s ? "'" : "", s ? s : sy_type_name(n), s ? "'" : "");
		return -EINVAL;
	}
	return 0;
}

/* Appends a copy of s to a NULL-terminated string vector. */
int sy_vec_push(struct ps *p, char ***vec, size_t *n, char *s)
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

void sy_vec_free(char **v, size_t n)
{
	for (size_t i = 0; i < n && v; i++)
		free(v[i]);
	free(v);
}

/* A list of strings (a single string is accepted as a one-item list). */
void sy_get_strings(struct ps *p, yaml_node_t *n, const char *what, char ***out, size_t *nout)
{
	if (n->type == YAML_SCALAR_NODE) {
		sy_vec_push(p, out, nout, sy_get_string(p, n, what));
		return;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		sy_diag_add(p, n, "%s must be a list of strings, not %s", what, sy_type_name(n));
		return;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *c = sy_node(p, *it);
		if (c)
			sy_vec_push(p, out, nout, sy_get_string(p, c, what));
	}
}

bool sy_env_key_ok(const char *k)
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
void sy_get_env(struct ps *p, yaml_node_t *n, char ***vec, size_t *cnt)
{
	if (n->type != YAML_MAPPING_NODE) {
		sy_diag_add(p, n, "env must be a mapping of NAME: value, not %s", sy_type_name(n));
		return;
	}
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = sy_node(p, pr->key), *v = sy_node(p, pr->value);
		if (!k || !v)
			continue;
		const char *ks = sy_scalar(k);
		if (!ks || !sy_env_key_ok(ks)) {
			sy_diag_add(
			    p, k,
			    "env name %s%s%s is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)",
			    ks ? "'" : "", ks ? ks : sy_type_name(k), ks ? "'" : "");
			continue;
		}
		const char *vs = sy_scalar(v);
		if (!vs || strlen(vs) != v->data.scalar.length) {
			sy_diag_add(p, v, "env %s must be a string without NUL bytes", ks);
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
		sy_vec_push(p, vec, cnt, s);
	}
}

/* run: "shell text" or [argv...]. Returns 0 when cmd was filled. */
int sy_get_cmd(struct ps *p, yaml_node_t *n, const char *what, struct suite_cmd *cmd)
{
	cmd->line = (unsigned)n->start_mark.line + 1;
	cmd->column = (unsigned)n->start_mark.column + 1;
	if (n->type == YAML_SCALAR_NODE) {
		char *s = sy_get_string(p, n, what);
		if (!s)
			return -EINVAL;
		if (!*s) {
			sy_diag_add(p, n, "%s is empty", what);
			free(s);
			return -EINVAL;
		}
		cmd->shell = true;
		return sy_vec_push(p, &cmd->argv, &cmd->argc, s);
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		sy_get_strings(p, n, what, &cmd->argv, &cmd->argc);
		if (cmd->argc == 0) {
			sy_diag_add(p, n, "%s is an empty list; give at least the program", what);
			return -EINVAL;
		}
		if (!cmd->argv[0][0]) {
			sy_diag_add(p, n, "%s: the program name is empty", what);
			return -EINVAL;
		}
		return 0;
	}
	sy_diag_add(p, n, "%s must be a string (run by sh -c) or a list (argv), not %s", what,
		    sy_type_name(n));
	return -EINVAL;
}

void sy_free_cmd(struct suite_cmd *c)
{
	sy_vec_free(c->argv, c->argc);
	memset(c, 0, sizeof(*c));
}

/* "/re/flags" is a PCRE2 pattern; anything else is a literal substring. The
 * pattern is compiled once here so that a bad one is a suite error. */
void sy_get_match(struct ps *p, yaml_node_t *n, const char *what, struct suite_match *m)
{
	char *s = sy_get_string(p, n, what);
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
				sy_diag_add(p, n, "%s: unknown regex flag '%c' (use i, m, s or x)",
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
		sy_diag_add(p, n, "%s: invalid regular expression at offset %zu: %s", what,
			    (size_t)off, (const char *)msg);
		return;
	}
	pcre2_code_free(code);
}

void sy_free_match(struct suite_match *m)
{
	free(m->text);
	free(m->pattern);
}

/* A key table's name is the key, or ends in '*' to take every key it
 * starts ("x-*"). */
static bool key_matches(const char *name, const char *key)
{
	size_t n = strlen(name);
	if (n && name[n - 1] == '*')
		return !strncmp(name, key, n - 1);
	return !strcmp(name, key);
}

static bool is_merge_key(const yaml_node_t *k)
{
	const char *ks = sy_scalar(k);
	return ks && sy_plain(k) && !strcmp(ks, "<<");
}

/* The pairs of mapping n. A merged mapping (merged: reached through a
 * "<<" key, YAML's merge key) gives only keys not already set: the keys
 * written in a mapping come before what it merges, and of the mappings
 * "<<: [*a, *b]" lists, a's keys win over b's. */
static void walk_pairs(struct ps *p, yaml_node_t *n, const char *what, const struct key_def *keys,
		       void *obj, unsigned long long *seen, bool merged)
{
	for (int pass = 0; pass < 2; pass++) {
		for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
		     pr < n->data.mapping.pairs.top; pr++) {
			yaml_node_t *k = sy_node(p, pr->key), *v = sy_node(p, pr->value);
			if (!k || !v || is_merge_key(k) != (pass == 1))
				continue;
			if (pass == 1) {
				yaml_node_item_t one = pr->value, *it = &one, *end = &one + 1;
				if (v->type == YAML_SEQUENCE_NODE) {
					it = v->data.sequence.items.start;
					end = v->data.sequence.items.top;
				}
				for (; it < end; it++) {
					yaml_node_t *m = sy_node(p, *it);
					if (m && m->type == YAML_MAPPING_NODE)
						walk_pairs(p, m, what, keys, obj, seen, true);
					else if (m)
						sy_diag_add(
						    p, m,
						    "%s: '<<' merges a mapping or a list of "
						    "mappings (<<: *name), not %s",
						    what, sy_type_name(m));
				}
				continue;
			}
			const char *ks = sy_scalar(k);
			if (!ks) {
				sy_diag_add(p, k, "%s: keys must be plain strings, not %s", what,
					    sy_type_name(k));
				continue;
			}
			size_t i;
			for (i = 0; keys[i].name; i++)
				if (key_matches(keys[i].name, ks))
					break;
			if (!keys[i].name) {
				const char *near = suggest_closest(ks, keys, sizeof(keys[0]));
				if (near) {
					sy_diag_add(p, k,
						    "unknown key '%s' in %s: did you mean '%s'?",
						    ks, what, near);
					continue;
				}
				struct strbuf known = {0};
				for (size_t j = 0; keys[j].name; j++)
					sb_printf(&known, "%s%s", j ? ", " : "", keys[j].name);
				sy_diag_add(p, k, "unknown key '%s' in %s (known: %s)", ks, what,
					    sb_str(&known));
				sb_release(&known);
				continue;
			}
			if (!keys[i].fn)
				continue; /* a place for anchors: "x-name: &name ..." */
			if (*seen & (1ull << i)) {
				if (!merged)
					sy_diag_add(p, k, "key '%s' appears twice in %s", ks, what);
				continue;
			}
			*seen |= 1ull << i;
			keys[i].fn(p, v, obj);
		}
	}
}

/* Walks a mapping, dispatching known keys and reporting unknown or repeated
 * ones; "<<: *name" merges the keys of another mapping (walk_pairs). */
void sy_walk_map(struct ps *p, yaml_node_t *n, const char *what, const struct key_def *keys,
		 void *obj)
{
	if (n->type != YAML_MAPPING_NODE) {
		sy_diag_add(p, n, "%s must be a mapping, not %s", what, sy_type_name(n));
		return;
	}
	unsigned long long seen = 0;
	walk_pairs(p, n, what, keys, obj, &seen, false);
}

/* Resolves a host path against the suite's directory. */
/* Lexically, in place, for tidy keys and messages: "//" and "/./" become
 * "/", "a/../" goes away, no trailing "/" (as cmake and Go's Clean do; the
 * path is then what a user reads, "m/../x" is "x"). path is absolute. */
static void path_tidy(char *path)
{
	size_t len = strlen(path), o = 0;
	char *in = strdup(path);
	if (!in)
		return; /* untidy but correct */
	for (char *save = NULL, *c = strtok_r(in, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			/* back to the '/' before the last component (path[o] is
			 * the NUL or the '/' an earlier ".." stopped at) */
			if (o > 0)
				o--;
			while (o > 0 && path[o] != '/')
				o--;
			continue;
		}
		o += (size_t)snprintf(path + o, len + 1 - o, "/%s", c);
	}
	if (o == 0)
		path[o++] = '/';
	path[o] = '\0';
	free(in);
}

char *sy_host_path(struct ps *p, const char *s)
{
	struct strbuf sb = {0};
	int rc = s[0] == '/' ? sb_append_str(&sb, s) : sb_printf(&sb, "%s/%s", p->dir, s);
	if (!rc)
		path_tidy(sb.buf);
	sb.len = sb.buf ? strlen(sb.buf) : 0;
	char *out = NULL;
	if (rc || sb_detach(&sb, &out)) {
		sb_release(&sb);
		p->oom = 1;
		return NULL;
	}
	return out;
}
