/* list_json: one selected test as a JSON object (list_json.h). The fields
 * are what a run of the test would use, defaults and the suite's values
 * resolved: a tool that reads the list needs no YAML of its own. */
#include "cmd/list_json.h"
#include "text.h"

#include <inttypes.h>
#include <string.h>

/* The writers append freely and return out's sticky error (strbuf.h). */

static int key(struct strbuf *out, const char *k, const char *v)
{
	sb_printf(out, ",\"%s\":", k);
	return text_json_str(out, v, v ? strlen(v) : 0);
}

static int key_list(struct strbuf *out, const char *k, char *const *v, size_t n)
{
	sb_printf(out, ",\"%s\":[", k);
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_append_char(out, ',');
		text_json_str(out, v[i], strlen(v[i]));
	}
	return sb_append_char(out, ']');
}

/* env as an object; of repeated names (the suite's, then defaults', then
 * the test's own) the last is the one the test gets. */
static int key_env(struct strbuf *out, char *const *env, size_t n)
{
	sb_append_str(out, ",\"env\":{");
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		size_t klen = strcspn(env[i], "=");
		bool later = false;
		for (size_t j = i + 1; j < n && !later; j++)
			later = !strncmp(env[j], env[i], klen + 1);
		if (later)
			continue;
		if (!first)
			sb_append_char(out, ',');
		first = false;
		text_json_str(out, env[i], klen);
		sb_append_char(out, ':');
		text_json_str(out, env[i] + klen + 1, strlen(env[i] + klen + 1));
	}
	return sb_append_char(out, '}');
}

static int key_match(struct strbuf *out, const char *k, const struct suite_match *m)
{
	return m->text ? key(out, k, m->text) : sb_error(out);
}

int list_json_test(struct strbuf *out, const struct suite *s, const struct suite_test *t)
{
	sb_append_str(out, "{\"name\":");
	text_json_str(out, t->name, strlen(t->name));
	key(out, "file", s->file);
	sb_printf(out, ",\"line\":%u,\"column\":%u", t->line, t->column);
	key_list(out, "tags", t->tags, t->n_tags);
	key(out, "skip", t->skip);
	if (!t->run.argc)
		sb_append_str(out, ",\"run\":null");
	else if (t->run.shell)
		key(out, "run", t->run.argv[0]);
	else
		key_list(out, "run", t->run.argv, t->run.argc);
	key(out, "cwd", t->cwd ? t->cwd : s->workdir);
	sb_printf(out, ",\"timeout_ms\":%" PRIu64 ",\"retries\":%u", t->timeout_ns / 1000000u,
		  t->retries);
	key_env(out, t->env, t->n_env);
	key_list(out, "artifacts", t->artifacts, t->n_artifacts);
	sb_printf(out, ",\"expect\":{\"exit\":%d", t->expect.exit);
	key_match(out, "stdout", &t->expect.stdout_match);
	key_match(out, "stdout_not", &t->expect.stdout_not);
	key_match(out, "stderr", &t->expect.stderr_match);
	key_match(out, "stderr_not", &t->expect.stderr_not);
	return sb_append_str(out, "}}\n");
}

int list_json_generator(struct strbuf *out, const struct suite *s, const struct suite_gen *g)
{
	sb_append_str(out, "{\"name\":null,\"generator\":");
	text_json_str(out, g->tmpl.name, strlen(g->tmpl.name));
	key(out, "file", s->file);
	sb_printf(out, ",\"line\":%u,\"column\":%u", g->tmpl.line, g->tmpl.column);
	if (g->list.shell)
		key(out, "tests_from", g->list.argv[0]);
	else
		key_list(out, "tests_from", g->list.argv, g->list.argc);
	return sb_append_str(out, "}\n");
}
