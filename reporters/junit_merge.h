/* junit_merge: combines JUnit XML reports from sharded runs into one
 * (`smoltest report merge A.xml B.xml ... -o all.xml`).
 *
 * Inputs are untrusted files: they are parsed with libxml2 with network
 * access off, no entity substitution, no DTD loading, and any DOCTYPE or
 * entity declaration is refused outright, so entity-expansion bombs and
 * external entities never run. Counts in the output are recomputed from the
 * testcases, not copied from the inputs. */
#ifndef SMOL_JUNIT_MERGE_H
#define SMOL_JUNIT_MERGE_H

#include "strbuf.h"

#include <stddef.h>
#include <stdint.h>

#define JUNIT_MERGE_MAX_INPUT (64u << 20) /* bytes per input file */

struct junit_merge;

struct junit_merge_counts {
	unsigned suites, tests, failures, errors, skipped;
	uint64_t time_ns;
};

/* Creates an empty merge whose root <testsuites> is called name (copied;
 * NULL: the first input's root name, else "smoltest"). 0 or -ENOMEM. */
int junit_merge_create(const char *name, struct junit_merge **out);

/* Parses one JUnit document from buf (borrowed) and adds its testsuites.
 * label names the input in messages. On failure returns -EINVAL (not
 * well-formed, DOCTYPE present, not JUnit, bad attribute), -EFBIG (too
 * large) or -ENOMEM, appends one line "LABEL:LINE: what is wrong" to err
 * (no newline), and leaves the merge unchanged. */
int junit_merge_add_buffer(struct junit_merge *m, const char *buf, size_t len, const char *label,
			   struct strbuf *err);

/* Reads path (at most JUNIT_MERGE_MAX_INPUT bytes) and adds it, as above;
 * also -errno from reading. */
int junit_merge_add_file(struct junit_merge *m, const char *path, struct strbuf *err);

/* The totals of everything added so far. */
void junit_merge_counts(const struct junit_merge *m, struct junit_merge_counts *out);

/* Serialises the merged report into out (appending; UTF-8 XML). */
int junit_merge_render(struct junit_merge *m, struct strbuf *out);

/* Writes the merged report to path atomically ("-": stdout). On failure a
 * line naming path goes to err. */
int junit_merge_write(struct junit_merge *m, const char *path, struct strbuf *err);

void junit_merge_destroy(struct junit_merge *m); /* NULL is a no-op */

#endif
