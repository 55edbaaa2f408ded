/* artifacts: collecting a test's artifact globs.
 *
 * Globs are evaluated inside the instance (guest or sandbox), after the
 * test, by a small POSIX sh script run through the agent: every match is
 * copied (cp -R -P: symlinks stay symlinks) into the instance's artifact
 * share (BACKEND_GUEST_ARTIFACTS), which is <artifacts>/<test-name>/ on the
 * host, and reported as a line "F<TAB>glob<TAB>path"; a glob that matched
 * nothing gives "M<TAB>glob". The output is hostile (file names come from
 * the test): lines that do not parse are ignored, and nothing here opens
 * the reported paths. */
#ifndef SMOL_ARTIFACTS_H
#define SMOL_ARTIFACTS_H

#include "record.h"

#include <stddef.h>

#define ARTIFACTS_MAX_OUTPUT ((size_t)256 * 1024)
#define ARTIFACTS_MAX_FILES  1000u

struct artifacts_result {
	struct result_artifact *items; /* strings owned by the result */
	size_t n;
	size_t n_missing;
};

/* Builds the argv (/bin/sh -c SCRIPT sh CWD GLOB...) of the collection
 * command, NULL-terminated, malloc'd; free with artifacts_argv_free(). */
int artifacts_argv(char *const *globs, size_t n, const char *cwd, char ***out);
void artifacts_argv_free(char **argv);

/* Parses the script's output against the test's globs. host_dir is the
 * host directory the share maps to. Globs that produced neither an F nor an
 * M line (the script died) are reported missing. */
int artifacts_parse(const char *output, char *const *globs, size_t n, const char *host_dir,
		    struct artifacts_result *out);

void artifacts_result_release(struct artifacts_result *r);

#endif
