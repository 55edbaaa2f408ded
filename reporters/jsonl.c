/* jsonl: JSON lines (--json FILE|-), for machines: one object per line.
 *
 *   {"event":"begin","suite":...,"suite_file":...,"backend":...,...}
 *   {"event":"result","test":...,"status":"fail","attempt":1,"final":true,...}
 *   {"event":"end","total":...,"passed":...,"wall_ms":...}
 *
 * Strings are valid UTF-8 (RFC 8259 §8.1); invalid bytes become U+FFFD and
 * every control character is \u-escaped, ANSI escapes included, so a
 * consumer sees exactly what the test printed. Each line is flushed as it is
 * written, so a crash loses at most the line being written. */
#include "reporter_builtin.h"

#include "strbuf.h"
#include "text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct jsonl {
	struct reporter base;
	FILE *f;
	bool own;
	struct strbuf line;
};

/* The writers below append freely to the line and return its sticky error
 * (strbuf.h) once; flush_line writes the line only when it has none. */

/* Appends a JSON string value (RFC 8259 §7) or null. */
static int json_str(struct jsonl *j, const char *s, size_t len)
{
	return text_json_str(&j->line, s, len);
}

static int key_str(struct jsonl *j, const char *key, const char *s)
{
	sb_printf(&j->line, ",\"%s\":", key);
	return json_str(j, s, s ? strlen(s) : 0);
}

static int key_output(struct jsonl *j, const char *key, const struct result_output *o)
{
	struct strbuf raw = {0};
	sb_set_error(&j->line, text_output_join(&raw, o));
	sb_printf(&j->line, ",\"%s\":", key);
	json_str(j, sb_str(&raw), raw.len);
	sb_printf(&j->line, ",\"%s_bytes\":%" PRIu64 ",\"%s_truncated\":%s", key,
		  o->truncated ? o->total_bytes : (uint64_t)(o->head_len + o->tail_len), key,
		  o->truncated ? "true" : "false");
	sb_release(&raw);
	return sb_error(&j->line);
}

/* Ends the line and writes it, or drops it when an append failed. */
static int flush_line(struct jsonl *j)
{
	int rc = sb_append_char(&j->line, '\n');
	if (!rc && fwrite(j->line.buf, 1, j->line.len, j->f) != j->line.len)
		rc = -EIO;
	if (fflush(j->f) && !rc)
		rc = -EIO;
	sb_reset(&j->line);
	return rc;
}

static int jsonl_begin(struct reporter *r, const struct run_info *i)
{
	struct jsonl *j = r->priv;
	sb_append_str(&j->line, "{\"event\":\"begin\"");
	key_str(j, "suite", i->suite_name);
	key_str(j, "suite_file", i->suite_file);
	key_str(j, "backend", i->backend);
	key_str(j, "backend_note", i->backend_note);
	key_str(j, "partition", i->partition);
	key_str(j, "snapshot_id", i->snapshot_id);
	key_str(j, "cache_why", i->cache_why);
	key_str(j, "hostname", i->hostname);
	key_str(j, "version", i->version);
	sb_printf(&j->line,
		  ",\"cache_hit\":%s,\"start_unix_ms\":%" PRIu64 ",\"planned\":%u,\"parallel\":%u}",
		  i->cache_hit ? "true" : "false", i->start_wall_ns / 1000000u, i->planned,
		  i->parallel);
	return flush_line(j);
}

static int jsonl_result(struct reporter *r, const struct result_record *rec)
{
	struct jsonl *j = r->priv;
	sb_append_str(&j->line, "{\"event\":\"result\"");
	key_str(j, "suite", rec->suite_name);
	key_str(j, "file", rec->suite_file);
	sb_printf(&j->line, ",\"line\":%u,\"index\":%u", rec->line, rec->index);
	key_str(j, "test", rec->test_name);
	if (rec->setup)
		sb_append_str(&j->line, ",\"setup\":true");
	key_str(j, "status", result_status_name(rec->status));
	key_str(j, "fail_kind",
		rec->fail_kind == FAIL_NONE ? NULL : result_fail_kind_name(rec->fail_kind));
	sb_printf(&j->line, ",\"attempt\":%u,\"max_attempts\":%u,\"final\":%s", rec->attempt,
		  rec->max_attempts, rec->final ? "true" : "false");
	key_str(j, "message", rec->message);
	key_str(j, "skip_reason", rec->skip_reason);
	if (rec->exited)
		sb_printf(&j->line, ",\"exit_code\":%d", rec->exit_code);
	sb_printf(&j->line, ",\"expected_exit\":%d", rec->expected_exit);
	if (rec->signal > 0)
		sb_printf(&j->line, ",\"signal\":%d", rec->signal);
	if (rec->leaked)
		sb_printf(&j->line, ",\"leaked\":%u", rec->leaked);
	sb_printf(&j->line, ",\"start_unix_ms\":%" PRIu64 ",\"duration_ms\":%" PRIu64,
		  rec->start_wall_ns / 1000000u, rec->duration_ns / 1000000u);
	key_output(j, "stdout", &rec->out);
	key_output(j, "stderr", &rec->err);
	sb_append_str(&j->line, ",\"artifacts\":[");
	for (size_t i = 0; i < rec->n_artifacts; i++) {
		const struct result_artifact *a = &rec->artifacts[i];
		sb_append_str(&j->line, i ? ",{\"pattern\":" : "{\"pattern\":");
		json_str(j, a->pattern, a->pattern ? strlen(a->pattern) : 0);
		key_str(j, "path", a->host_path);
		sb_printf(&j->line, ",\"missing\":%s}", a->missing ? "true" : "false");
	}
	sb_append_str(&j->line, "],\"tags\":[");
	for (size_t i = 0; i < rec->n_tags; i++) {
		if (i)
			sb_append_char(&j->line, ',');
		json_str(j, rec->tags[i], rec->tags[i] ? strlen(rec->tags[i]) : 0);
	}
	sb_append_char(&j->line, ']');
	key_str(j, "backend", rec->backend);
	sb_append_char(&j->line, '}');
	return flush_line(j);
}

static int jsonl_end(struct reporter *r, const struct run_summary *s)
{
	struct jsonl *j = r->priv;
	sb_printf(&j->line,
		  "{\"event\":\"end\",\"total\":%u,\"passed\":%u,\"failed\":%u,\"errors\":%u,"
		  "\"timeouts\":%u,\"skipped\":%u,\"flaky\":%u,\"leaked\":%u,\"cancelled\":%u,"
		  "\"wall_ms\":%" PRIu64 ",\"aborted\":%s,\"infra_error\":%s",
		  s->total, s->passed, s->failed, s->errors, s->timeouts, s->skipped, s->flaky,
		  s->leaked, s->cancelled, s->wall_ns / 1000000u, s->aborted ? "true" : "false",
		  s->infra_error ? "true" : "false");
	sb_printf(&j->line, ",\"setup_ms\":%" PRIu64 ",\"setup_failed\":%s,\"not_run\":%u",
		  s->setup_ns / 1000000u, s->setup_failed ? "true" : "false", s->not_run);
	key_str(j, "abort_reason", s->abort_reason);
	sb_append_char(&j->line, '}');
	return flush_line(j);
}

static void jsonl_destroy(struct reporter *r)
{
	if (!r)
		return;
	struct jsonl *j = r->priv;
	if (j->own)
		fclose(j->f);
	else
		fflush(j->f);
	sb_release(&j->line);
	free(j);
}

static const struct reporter_ops jsonl_ops = {
    .name = "json",
    .begin = jsonl_begin,
    .result = jsonl_result,
    .end = jsonl_end,
    .destroy = jsonl_destroy,
};

static int jsonl_new(FILE *f, bool own, struct reporter **out)
{
	struct jsonl *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->f = f;
	j->own = own;
	j->base.ops = &jsonl_ops;
	j->base.priv = j;
	*out = &j->base;
	return 0;
}

int jsonl_reporter_create_stream(FILE *f, struct reporter **out)
{
	return f ? jsonl_new(f, false, out) : -EINVAL;
}

int jsonl_reporter_create(const char *path, struct reporter **out)
{
	if (!path || !*path)
		return -EINVAL;
	if (!strcmp(path, "-"))
		return jsonl_new(stdout, false, out);
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	int rc = jsonl_new(f, true, out);
	if (rc)
		fclose(f);
	return rc;
}
