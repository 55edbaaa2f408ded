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

/* Appends a JSON string value (RFC 8259 §7) or null. */
static int json_str(struct jsonl *j, const char *s, size_t len)
{
	return text_json_str(&j->line, s, len);
}

static int key_str(struct jsonl *j, const char *key, const char *s)
{
	int rc = sb_printf(&j->line, ",\"%s\":", key);
	return rc ? rc : json_str(j, s, s ? strlen(s) : 0);
}

static int key_output(struct jsonl *j, const char *key, const struct result_output *o)
{
	struct strbuf raw = {0};
	int rc = text_output_join(&raw, o);
	if (!rc)
		rc = sb_printf(&j->line, ",\"%s\":", key);
	if (!rc)
		rc = json_str(j, sb_str(&raw), raw.len);
	if (!rc)
		rc =
		    sb_printf(&j->line, ",\"%s_bytes\":%" PRIu64 ",\"%s_truncated\":%s", key,
			      o->truncated ? o->total_bytes : (uint64_t)(o->head_len + o->tail_len),
			      key, o->truncated ? "true" : "false");
	sb_release(&raw);
	return rc;
}

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
	int rc = sb_append_str(&j->line, "{\"event\":\"begin\"");
	if (!rc)
		rc = key_str(j, "suite", i->suite_name);
	if (!rc)
		rc = key_str(j, "suite_file", i->suite_file);
	if (!rc)
		rc = key_str(j, "backend", i->backend);
	if (!rc)
		rc = key_str(j, "backend_note", i->backend_note);
	if (!rc)
		rc = key_str(j, "partition", i->partition);
	if (!rc)
		rc = key_str(j, "snapshot_id", i->snapshot_id);
	if (!rc)
		rc = key_str(j, "cache_why", i->cache_why);
	if (!rc)
		rc = key_str(j, "hostname", i->hostname);
	if (!rc)
		rc = key_str(j, "version", i->version);
	if (!rc)
		rc = sb_printf(&j->line,
			       ",\"cache_hit\":%s,\"start_unix_ms\":%" PRIu64
			       ",\"planned\":%u,\"parallel\":%u}",
			       i->cache_hit ? "true" : "false", i->start_wall_ns / 1000000u,
			       i->planned, i->parallel);
	return rc ? rc : flush_line(j);
}

static int jsonl_result(struct reporter *r, const struct result_record *rec)
{
	struct jsonl *j = r->priv;
	int rc = sb_append_str(&j->line, "{\"event\":\"result\"");

	if (!rc)
		rc = key_str(j, "suite", rec->suite_name);
	if (!rc)
		rc = key_str(j, "file", rec->suite_file);
	if (!rc)
		rc = sb_printf(&j->line, ",\"line\":%u,\"index\":%u", rec->line, rec->index);
	if (!rc)
		rc = key_str(j, "test", rec->test_name);
	if (!rc && rec->setup)
		rc = sb_append_str(&j->line, ",\"setup\":true");
	if (!rc)
		rc = key_str(j, "status", result_status_name(rec->status));
	if (!rc)
		rc = key_str(j, "fail_kind",
			     rec->fail_kind == FAIL_NONE ? NULL
							 : result_fail_kind_name(rec->fail_kind));
	if (!rc)
		rc = sb_printf(&j->line, ",\"attempt\":%u,\"max_attempts\":%u,\"final\":%s",
			       rec->attempt, rec->max_attempts, rec->final ? "true" : "false");
	if (!rc)
		rc = key_str(j, "message", rec->message);
	if (!rc)
		rc = key_str(j, "skip_reason", rec->skip_reason);
	if (!rc && rec->exited)
		rc = sb_printf(&j->line, ",\"exit_code\":%d", rec->exit_code);
	if (!rc)
		rc = sb_printf(&j->line, ",\"expected_exit\":%d", rec->expected_exit);
	if (!rc && rec->signal > 0)
		rc = sb_printf(&j->line, ",\"signal\":%d", rec->signal);
	if (!rc && rec->leaked)
		rc = sb_printf(&j->line, ",\"leaked\":%u", rec->leaked);
	if (!rc)
		rc = sb_printf(&j->line, ",\"start_unix_ms\":%" PRIu64 ",\"duration_ms\":%" PRIu64,
			       rec->start_wall_ns / 1000000u, rec->duration_ns / 1000000u);
	if (!rc)
		rc = key_output(j, "stdout", &rec->out);
	if (!rc)
		rc = key_output(j, "stderr", &rec->err);
	if (!rc)
		rc = sb_append_str(&j->line, ",\"artifacts\":[");
	for (size_t i = 0; i < rec->n_artifacts && !rc; i++) {
		rc = sb_append_str(&j->line, i ? ",{\"pattern\":" : "{\"pattern\":");
		const struct result_artifact *a = &rec->artifacts[i];
		if (!rc)
			rc = json_str(j, a->pattern, a->pattern ? strlen(a->pattern) : 0);
		if (!rc)
			rc = key_str(j, "path", a->host_path);
		if (!rc)
			rc = sb_printf(&j->line, ",\"missing\":%s}", a->missing ? "true" : "false");
	}
	if (!rc)
		rc = sb_append_str(&j->line, "],\"tags\":[");
	for (size_t i = 0; i < rec->n_tags && !rc; i++) {
		if (i)
			rc = sb_append_char(&j->line, ',');
		if (!rc)
			rc = json_str(j, rec->tags[i], rec->tags[i] ? strlen(rec->tags[i]) : 0);
	}
	if (!rc)
		rc = sb_append_char(&j->line, ']');
	if (!rc)
		rc = key_str(j, "backend", rec->backend);
	if (!rc)
		rc = sb_append_char(&j->line, '}');
	return rc ? rc : flush_line(j);
}

static int jsonl_end(struct reporter *r, const struct run_summary *s)
{
	struct jsonl *j = r->priv;
	int rc =
	    sb_printf(&j->line,
		      "{\"event\":\"end\",\"total\":%u,\"passed\":%u,\"failed\":%u,\"errors\":%u,"
		      "\"timeouts\":%u,\"skipped\":%u,\"flaky\":%u,\"leaked\":%u,\"cancelled\":%u,"
		      "\"wall_ms\":%" PRIu64 ",\"aborted\":%s,\"infra_error\":%s",
		      s->total, s->passed, s->failed, s->errors, s->timeouts, s->skipped, s->flaky,
		      s->leaked, s->cancelled, s->wall_ns / 1000000u, s->aborted ? "true" : "false",
		      s->infra_error ? "true" : "false");
	if (!rc)
		rc = sb_printf(
		    &j->line, ",\"setup_ms\":%" PRIu64 ",\"setup_failed\":%s,\"not_run\":%u",
		    s->setup_ns / 1000000u, s->setup_failed ? "true" : "false", s->not_run);
	if (!rc)
		rc = key_str(j, "abort_reason", s->abort_reason);
	if (!rc)
		rc = sb_append_char(&j->line, '}');
	return rc ? rc : flush_line(j);
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
