#include "collect.h"

#include "strbuf.h"
#include "text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void collected_free(struct collected *c)
{
	if (!c)
		return;
	free(c->suite_name);
	free(c->suite_file);
	free(c->test_name);
	free(c->message);
	free(c->skip_reason);
	free(c->backend);
	free(c->out);
	free(c->err);
	for (size_t i = 0; i < c->n_artifacts; i++)
		free(c->artifacts[i]);
	free(c->artifacts);
	for (size_t i = 0; i < c->n_missing_artifacts; i++)
		free(c->missing_artifacts[i]);
	free(c->missing_artifacts);
	for (size_t i = 0; i < c->n_tags; i++)
		free(c->tags[i]);
	free(c->tags);
	free(c);
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

/* Joins one stream's head and tail, keeping at most COLLECT_MAX_OUTPUT bytes
 * from the end. */
static int copy_output(const struct result_output *o, char **out, size_t *out_len)
{
	struct strbuf sb = {0};
	text_output_join(&sb, o);
	if (!sb_error(&sb) && sb.len > COLLECT_MAX_OUTPUT) {
		size_t drop = sb.len - COLLECT_MAX_OUTPUT;
		memmove(sb.buf, sb.buf + drop, COLLECT_MAX_OUTPUT);
		sb.len = COLLECT_MAX_OUTPUT;
		sb.buf[sb.len] = '\0';
	}
	size_t len = sb.len;
	int rc = sb_detach(&sb, out); /* frees sb and fails with its error, if any */
	if (!rc)
		*out_len = len;
	return rc;
}

bool collect_is_failure(enum result_status s)
{
	return s == RESULT_FAIL || s == RESULT_TIMEOUT || s == RESULT_ERROR;
}

int collect_add(struct collect_list *l, const struct result_record *rec)
{
	struct collected *c = calloc(1, sizeof(*c));
	int rc = -ENOMEM;

	if (!c)
		return -ENOMEM;
	if (dup_opt(rec->suite_name ? rec->suite_name : "", &c->suite_name) ||
	    dup_opt(rec->suite_file ? rec->suite_file : "", &c->suite_file) ||
	    dup_opt(rec->test_name ? rec->test_name : "", &c->test_name) ||
	    dup_opt(rec->message ? rec->message : "", &c->message) ||
	    dup_opt(rec->skip_reason, &c->skip_reason) || dup_opt(rec->backend, &c->backend))
		goto fail;
	c->line = rec->line;
	c->index = rec->index;
	c->attempt = rec->attempt;
	c->max_attempts = rec->max_attempts;
	c->final = rec->final;
	c->status = rec->status;
	c->fail_kind = rec->fail_kind;
	c->exited = rec->exited;
	c->exit_code = rec->exit_code;
	c->signal = rec->signal;
	c->expected_exit = rec->expected_exit;
	c->leaked = rec->leaked;
	c->start_wall_ns = rec->start_wall_ns;
	c->duration_ns = rec->duration_ns;
	if (rec->n_artifacts &&
	    (!(c->artifacts = calloc(rec->n_artifacts, sizeof(char *))) ||
	     !(c->missing_artifacts = calloc(rec->n_artifacts, sizeof(char *)))))
		goto fail;
	for (size_t i = 0; i < rec->n_artifacts; i++) {
		const struct result_artifact *a = &rec->artifacts[i];
		if (a->missing || !a->host_path) {
			if (!(c->missing_artifacts[c->n_missing_artifacts] =
				  strdup(a->pattern ? a->pattern : "")))
				goto fail;
			c->n_missing_artifacts++;
			continue;
		}
		if (!(c->artifacts[c->n_artifacts] = strdup(a->host_path)))
			goto fail;
		c->n_artifacts++;
	}
	if (rec->n_tags && !(c->tags = calloc(rec->n_tags, sizeof(char *))))
		goto fail;
	for (size_t i = 0; i < rec->n_tags; i++) {
		if (!(c->tags[i] = strdup(rec->tags[i] ? rec->tags[i] : "")))
			goto fail;
		c->n_tags++;
	}
	if (collect_is_failure(rec->status) || rec->status == RESULT_CANCELLED) {
		rc = copy_output(&rec->out, &c->out, &c->out_len);
		if (!rc)
			rc = copy_output(&rec->err, &c->err, &c->err_len);
		if (rc)
			goto fail;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct collected **items = realloc(l->items, cap * sizeof(*items));
		if (!items) {
			rc = -ENOMEM;
			goto fail;
		}
		l->items = items;
		l->cap = cap;
	}
	l->items[l->n++] = c;
	return 0;
fail:
	collected_free(c);
	return rc;
}

static int cmp_plan(const void *a, const void *b)
{
	const struct collected *x = *(struct collected *const *)a;
	const struct collected *y = *(struct collected *const *)b;
	int c = strcmp(x->suite_file, y->suite_file);
	if (c)
		return c;
	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	if (x->attempt != y->attempt)
		return x->attempt < y->attempt ? -1 : 1;
	return 0;
}

static int cmp_duration(const void *a, const void *b)
{
	const struct collected *x = *(struct collected *const *)a;
	const struct collected *y = *(struct collected *const *)b;
	if (x->duration_ns != y->duration_ns)
		return x->duration_ns > y->duration_ns ? -1 : 1;
	return cmp_plan(a, b);
}

void collect_sort(struct collect_list *l)
{
	if (l->n > 1)
		qsort(l->items, l->n, sizeof(*l->items), cmp_plan);
}

void collect_sort_by_duration(struct collect_list *l)
{
	if (l->n > 1)
		qsort(l->items, l->n, sizeof(*l->items), cmp_duration);
}

size_t collect_group_len(const struct collect_list *l, size_t i)
{
	size_t j = i + 1;
	while (j < l->n && l->items[j]->index == l->items[i]->index &&
	       !strcmp(l->items[j]->suite_file, l->items[i]->suite_file))
		j++;
	return j - i;
}

void collect_release(struct collect_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		collected_free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = l->cap = 0;
}
