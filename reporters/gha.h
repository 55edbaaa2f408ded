/* gha: internals of the GitHub Actions reporter shared between its files
 * and its tests. The public constructor is in reporter_builtin.h. */
#ifndef SMOL_GHA_H
#define SMOL_GHA_H

#include "collect.h"
#include "record.h"
#include "strbuf.h"

#include <stddef.h>

#define GHA_MAX_ERRORS	  10			  /* GitHub shows 10 error annotations per step */
#define GHA_SUMMARY_LIMIT (1024u * 1024u - 4096u) /* the step summary must stay under 1 MiB */

/* Appends text for a workflow command's message (the part after "::"),
 * sanitised, with '%', CR and LF percent-encoded as the runner's
 * toolkit/core escapeData() does. Both escapers return sb's sticky error
 * (strbuf.h); a failure of their own scratch buffer is recorded in sb. */
int gha_escape_data(struct strbuf *sb, const char *s, size_t len);

/* Appends a property value (file=, title=): like data, plus ':' and ','
 * (escapeProperty()), sanitised to one line. */
int gha_escape_property(struct strbuf *sb, const char *s);

/* What the step summary is made of. Strings are borrowed. */
struct gha_summary_in {
	const char *suite_name, *backend, *backend_note, *partition;
	bool have_snapshot, cache_hit;
	const char *server_url, *repository, *sha; /* links when all three are set */
	const struct run_summary *sum;
	struct collect_list *results; /* final attempts; reordered here */
	size_t limit;		      /* most bytes to produce */
};

/* Renders the Markdown step summary into md (appending). Rows that would take
 * it over in->limit are left out and a note says how many. 0 or -ENOMEM. */
int gha_summary_render(struct strbuf *md, const struct gha_summary_in *in);

#endif
