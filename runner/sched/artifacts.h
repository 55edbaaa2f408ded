/* artifacts: collecting a test's artifact globs.
 *
 * Globs are evaluated inside the instance (guest or sandbox), after the
 * test, by a small POSIX sh script run through the agent: every match is
 * copied (cp -R -P: symlinks stay symlinks) into the instance's artifact
 * share (BACKEND_GUEST_ARTIFACTS), which is <artifacts>/<test-name>/ on the
 * host, and reported as a line "F<TAB>glob<TAB>path"; a glob that matched
 * nothing gives "M<TAB>glob". The output is hostile (file names come from
 * the test): lines that do not parse are ignored, and nothing here opens
 * the reported paths.
 *
 * The size limit (the suite's artifacts_max) is kept twice: the script
 * copies no match that would take the total past it ("B<TAB>glob<TAB>KiB
 * <TAB>path"), and the host measures the directory afterwards
 * (artifacts_dir_usage), since the share is writable while the test runs
 * and the guest's word is not to be trusted. */
#ifndef SMOL_ARTIFACTS_H
#define SMOL_ARTIFACTS_H

#include "record.h"

#include <stddef.h>
#include <stdint.h>

#define ARTIFACTS_MAX_OUTPUT  ((size_t)256 * 1024)
#define ARTIFACTS_MAX_FILES   1000u
#define ARTIFACTS_MAX_DEPTH   64u
#define ARTIFACTS_MAX_DEFAULT ((uint64_t)1 << 30) /* artifacts_max when not set */

struct artifacts_result {
	struct result_artifact *items; /* strings owned by the result */
	size_t n;
	size_t n_missing;
	size_t n_refused;  /* matches not copied for artifacts_max */
	char refused[400]; /* the message about the first, "" when none */
};

/* Builds the argv (/bin/sh -c SCRIPT sh CWD KIB GLOB...) of the collection
 * command, NULL-terminated, malloc'd; free with artifacts_argv_free().
 * max_bytes is the budget for all matches together (0: the default). */
int artifacts_argv(char *const *globs, size_t n, const char *cwd, uint64_t max_bytes, char ***out);
void artifacts_argv_free(char **argv);

/* Parses the script's output against the test's globs. host_dir is the
 * host directory the share maps to; max_bytes the budget given to
 * artifacts_argv (for the message). Globs that produced neither an F, a B
 * nor an M line (the script died) are reported missing. */
int artifacts_parse(const char *output, char *const *globs, size_t n, const char *host_dir,
		    uint64_t max_bytes, struct artifacts_result *out);

/* The disk usage (st_blocks) of everything in dir, symlinks not followed;
 * 0 bytes when dir does not exist. -ELOOP past ARTIFACTS_MAX_DEPTH levels. */
int artifacts_dir_usage(const char *dir, uint64_t *bytes);

/* artifacts_parse, then the host-side measure: when host_dir holds more
 * than max_bytes (or cannot be measured) it is removed and no artifact is
 * reported. msg gets what the test's record should say (a refusal
 * or a removal), or stays as it was. 0, or -errno when parsing failed (msg
 * says so). */
int artifacts_finish(const char *output, char *const *globs, size_t n, const char *host_dir,
		     uint64_t max_bytes, struct artifacts_result *out, char *msg, size_t msglen);

void artifacts_result_release(struct artifacts_result *r);

#endif
