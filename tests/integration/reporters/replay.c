/* replay: feeds the fixed golden run (tests/unit/golden/records.h) through
 * the real reporters into files, so that the integration scripts can check
 * them with the consumers' own tools (xmllint, prove, a JSON parser).
 *
 *   reporter_replay [--junit F] [--tap F] [--tap-version 13|14] [--json F]
 *                   [--github-summary F --github-output F] [--bail REASON]
 */
#include "records.h"
#include "reporter_builtin.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void feed(void *ctx, const struct result_record *rec)
{
	reporter_set_result(ctx, rec);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"junit", required_argument, NULL, 'j'},
	    {"tap", required_argument, NULL, 't'},
	    {"tap-version", required_argument, NULL, 'V'},
	    {"json", required_argument, NULL, 'J'},
	    {"github-summary", required_argument, NULL, 's'},
	    {"github-output", required_argument, NULL, 'o'},
	    {"bail", required_argument, NULL, 'b'},
	    {NULL, 0, NULL, 0},
	};
	const char *junit = NULL, *tap = NULL, *json = NULL, *summary = NULL, *output = NULL;
	unsigned version = 14;
	struct run_summary sum = fx_summary;
	struct reporter_set set = {0};
	struct reporter *r;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			junit = optarg;
			break;
		case 't':
			tap = optarg;
			break;
		case 'V':
			version = (unsigned)atoi(optarg);
			break;
		case 'J':
			json = optarg;
			break;
		case 's':
			summary = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'b':
			sum.aborted = true;
			sum.abort_reason = optarg;
			break;
		default:
			fprintf(stderr,
				"usage: reporter_replay [--junit F] [--tap F] [--tap-version N] "
				"[--json F] [--github-summary F --github-output F] [--bail R]\n");
			return 2;
		}
	}
	if (junit && !rc && !(rc = junit_reporter_create(junit, &r)))
		rc = reporter_set_add(&set, r);
	if (tap && !rc && !(rc = tap_reporter_create(tap, version, &r)))
		rc = reporter_set_add(&set, r);
	if (json && !rc && !(rc = jsonl_reporter_create(json, &r)))
		rc = reporter_set_add(&set, r);
	if ((summary || output) && !rc) {
		struct gha_opts g = {
		    .out = stderr, .step_summary = summary, .output = output, .junit_path = junit};
		if (!(rc = gha_reporter_create(&g, &r)))
			rc = reporter_set_add(&set, r);
	}
	if (rc) {
		fprintf(stderr, "reporter_replay: cannot create a reporter: %s\n", strerror(-rc));
		reporter_set_destroy(&set);
		return 1;
	}
	reporter_set_begin(&set, &fx_info);
	fx_replay(feed, &set);
	reporter_set_end(&set, &sum);
	reporter_set_destroy(&set);
	return 0;
}
