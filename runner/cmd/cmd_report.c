/* cmd_report: `smoltest report merge A.xml B.xml ... -o all.xml`.
 *
 * Fan-in after a sharded matrix: every shard wrote its own JUnit report; this
 * combines them into one, with counts recomputed from the testcases. An input
 * that is not a JUnit report (or is hostile: DOCTYPE, entity declarations,
 * over 64 MiB, not well-formed) stops the merge with one line naming it, and
 * nothing is written. */
#include "cmd/commands.h"

#include "junit_merge.h"
#include "strbuf.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void report_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: smoltest report merge [-o OUT.xml] [-n NAME] A.xml B.xml ...\n"
	    "  -o, --output FILE   where to write the merged report (default: stdout)\n"
	    "  -n, --name NAME     name of the merged <testsuites> (default: the first input's)\n");
}

static int report_merge(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"name", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *out = "-", *name = NULL;
	struct junit_merge *m = NULL;
	struct junit_merge_counts k;
	struct strbuf err = {0};
	int c, status = EXIT_USAGE;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'h':
			report_usage(stdout);
			return EXIT_OK;
		default:
			report_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr,
			"smoltest report merge: no input files; give the shards' JUnit reports\n");
		report_usage(stderr);
		return EXIT_USAGE;
	}
	if (junit_merge_create(name, &m)) {
		fprintf(stderr, "smoltest report merge: out of memory\n");
		return EXIT_INFRA;
	}
	for (int i = optind; i < argc; i++) {
		if (junit_merge_add_file(m, argv[i], &err)) {
			fprintf(stderr, "smoltest report merge: %s\n", sb_str(&err));
			goto out;
		}
	}
	if (junit_merge_write(m, out, &err)) {
		fprintf(stderr, "smoltest report merge: %s\n", sb_str(&err));
		status = EXIT_INFRA;
		goto out;
	}
	junit_merge_counts(m, &k);
	fprintf(stderr,
		"smoltest report merge: %d report%s, %u suite%s: %u tests, %u failures, %u errors, "
		"%u skipped -> %s\n",
		argc - optind, argc - optind == 1 ? "" : "s", k.suites, k.suites == 1 ? "" : "s",
		k.tests, k.failures, k.errors, k.skipped, strcmp(out, "-") ? out : "stdout");
	status = EXIT_OK;
out:
	junit_merge_destroy(m);
	sb_release(&err);
	return status;
}

int cmd_report(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		report_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "merge"))
		return report_merge(argc - 1, argv + 1);
	fprintf(stderr, "smoltest report: unknown subcommand '%s'; the one there is: merge\n",
		argv[1]);
	return EXIT_USAGE;
}
