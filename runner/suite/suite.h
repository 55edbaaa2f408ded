/* suite: the in-memory model of a YAML suite file and its parser.
 *
 * suite_parse() reads a suite with libyaml's document loader, checks every
 * key, type, duration, size, regular expression and name, and collects ALL
 * problems as "file:line:column: message" lines in a struct suite_diag so
 * that a user fixes a file in one pass. A suite is returned only when the
 * file had no errors. Everything in a struct suite is owned by it and freed
 * by suite_destroy(). The format is documented in docs/suite.md. */
#ifndef SMOL_SUITE_H
#define SMOL_SUITE_H

#include "strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SUITE_MAX_FILE	(1u << 20) /* a suite file larger than 1 MiB is refused */
#define SUITE_MAX_TESTS 100000u
#define SUITE_MAX_NAME	200u /* bytes in a test name */

enum suite_backend {
	SUITE_BACKEND_AUTO,
	SUITE_BACKEND_VM,
	SUITE_BACKEND_SANDBOX,
};

/* A command: `run: "string"` runs under /bin/sh -c; `run: [argv...]` is
 * executed directly. */
struct suite_cmd {
	bool shell;  /* argv[0] is the shell text */
	char **argv; /* NULL-terminated, at least one entry */
	size_t argc;
	unsigned line, column;
};

/* Output expectation: a PCRE2 pattern ("/re/flags") or a literal substring. */
struct suite_match {
	char *text;	  /* as written in the suite; NULL when absent */
	char *pattern;	  /* the regex (or literal) without slashes */
	uint32_t options; /* PCRE2 compile options (PCRE2_LITERAL for literals) */
	unsigned line, column;
};

struct suite_expect {
	int exit; /* expected exit status, default 0 */
	struct suite_match stdout_match, stdout_not, stderr_match, stderr_not;
};

/* One setup step: its command and where it runs. */
struct suite_step {
	struct suite_cmd run;
	char *cwd; /* inside the guest; NULL: the suite's workdir */
};

struct suite_share {
	char *host;  /* absolute host path (relative paths resolved against the suite's dir) */
	char *guest; /* absolute path inside the guest/sandbox */
	bool readonly;
	unsigned line, column;
};

struct suite_test {
	char *name;
	unsigned line, column;
	struct suite_cmd run;
	uint64_t timeout_ns; /* resolved: the suite default when not given */
	unsigned retries;    /* resolved */
	struct suite_expect expect;
	char **artifacts; /* globs relative to the test's cwd */
	size_t n_artifacts;
	char **tags;
	size_t n_tags;
	char *skip; /* reason, or NULL */
	char **env; /* "KEY=VALUE", the suite env plus the test's own */
	size_t n_env;
	char *cwd;	/* inside the guest; NULL: the suite's workdir */
	bool leak_fail; /* `leak: fail`: processes left running fail the test
			 * (default `warn`: it passes as LEAK) */
};

/* `tests_from:` (docs/suite.md, "Tests from a command"): a test written
 * once, whose names a command (the lister) prints at the end of setup.
 * tmpl is the test as written: {name} in its name, run, cwd and env values
 * stands for each listed name. Until suite_expand_listed() the generator
 * is not in tests[]. */
struct suite_gen {
	struct suite_test tmpl;
	struct suite_cmd list;	  /* the lister */
	char *list_cwd;		  /* NULL: the suite's workdir */
	struct suite_match match; /* text NULL: every non-blank line is a name */
	size_t at;		  /* its tests go before tests[at] (where it is written) */
};

struct suite_vm {
	unsigned cpus;
	uint64_t memory;
	char *kernel, *initrd, *rootfs, *cmdline;
};

struct suite_sandbox {
	char *rootfs;	 /* absolute host directory, default "/" */
	bool readonly;	 /* the rootfs is never written (always true today) */
	uint64_t memory; /* cgroup memory.max per instance, 0: none */
	uint64_t pids;	 /* cgroup pids.max per instance, 0: none */
};

struct suite {
	char *file; /* the path as given */
	char *dir;  /* absolute directory of the file */
	char *name;
	enum suite_backend backend;
	struct suite_vm vm;
	struct suite_sandbox sandbox;
	struct suite_share *shares;
	size_t n_shares;
	char **env; /* suite-level "KEY=VALUE" */
	size_t n_env;
	struct suite_step *setup;
	size_t n_setup;
	char *workdir;	     /* default cwd of tests and setup, default "/"; setup
			      * creates it when missing */
	char **cache_inputs; /* host paths whose metadata goes into the cache key */
	size_t n_cache_inputs;
	bool cache_enabled;
	unsigned parallel;	   /* 0: number of CPUs */
	uint64_t timeout_ns;	   /* default per test */
	uint64_t setup_timeout_ns; /* per setup step, default 10 min */
	unsigned retries;
	uint64_t artifacts_max; /* bytes a test's artifacts may hold, 0: 1 GiB */
	struct suite_test *tests;
	size_t n_tests;
	struct suite_gen *gens; /* tests_from: generators not yet expanded */
	size_t n_gens;
};

/* Collected diagnostics. Each entry is one line without the newline. */
struct suite_diag {
	struct strbuf text; /* entries separated by '\n' */
	unsigned count;
};

/* Parses buf[0..len) as the suite named `file` (used in messages and to
 * resolve relative paths: dir is the directory relative paths start from,
 * absolute). On success returns 0 and a new suite in *out (caller destroys).
 * When the file has problems returns -EINVAL, fills diag with every one of
 * them, and leaves *out NULL. -ENOMEM on allocation failure. */
int suite_parse(const char *file, const char *dir, const char *buf, size_t len,
		struct suite_diag *diag, struct suite **out);

/* Reads `path` (at most SUITE_MAX_FILE bytes) and parses it. I/O errors are
 * reported in diag as one line and return the -errno. */
int suite_load(const char *path, struct suite_diag *diag, struct suite **out);

void suite_destroy(struct suite *s);

/* Writes diag's lines to f-like fd 2 (stderr) with a count summary line. */
void suite_diag_print(const struct suite_diag *diag);
void suite_diag_release(struct suite_diag *diag);

const char *suite_backend_name(enum suite_backend b);

/* Checks a test name: 1..SUITE_MAX_NAME bytes of [A-Za-z0-9._:+@=, -/] and
 * not starting with '-' or '.', no "..", no leading/trailing space.
 * Returns NULL when valid, else a static reason. */
const char *suite_name_problem(const char *name);

/* Returns a filesystem-safe form of a test name (every byte outside
 * [A-Za-z0-9._-] replaced by '_') in dst[0..cap). */
void suite_name_to_path(const char *name, char *dst, size_t cap);

#endif
