/* run_opts: command-line parsing for run/list/validate (run_opts.h). */
#include "cmd/run_opts.h"
#include "suite/suggest.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_FILTER = 256,
	OPT_TAGS,
	OPT_PARTITION,
	OPT_RETRIES,
	OPT_FAIL_FAST,
	OPT_KEEP_GOING,
	OPT_TIMEOUT,
	OPT_BACKEND,
	OPT_ARTIFACTS,
	OPT_JUNIT,
	OPT_TAP,
	OPT_TAP_VERSION,
	OPT_JSON,
	OPT_GITHUB,
	OPT_NO_CACHE,
	OPT_COLOR,
	OPT_ALLOW_NO_TESTS,
	OPT_FAILURE_OUTPUT,
	OPT_RERUN_FAILED,
	OPT_TIMEOUT_MULTIPLIER,
};

static const struct option long_opts[] = {
    {"parallel", required_argument, NULL, 'j'},
    {"filter", required_argument, NULL, OPT_FILTER},
    {"tags", required_argument, NULL, OPT_TAGS},
    {"partition", required_argument, NULL, OPT_PARTITION},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"fail-fast", no_argument, NULL, OPT_FAIL_FAST},
    {"keep-going", no_argument, NULL, OPT_KEEP_GOING},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"timeout-multiplier", required_argument, NULL, OPT_TIMEOUT_MULTIPLIER},
    {"backend", required_argument, NULL, OPT_BACKEND},
    {"artifacts", required_argument, NULL, OPT_ARTIFACTS},
    {"junit", required_argument, NULL, OPT_JUNIT},
    {"tap", required_argument, NULL, OPT_TAP},
    {"tap-version", required_argument, NULL, OPT_TAP_VERSION},
    {"json", required_argument, NULL, OPT_JSON},
    {"github", no_argument, NULL, OPT_GITHUB},
    {"no-cache", no_argument, NULL, OPT_NO_CACHE},
    {"color", required_argument, NULL, OPT_COLOR},
    {"allow-no-tests", no_argument, NULL, OPT_ALLOW_NO_TESTS},
    {"failure-output", required_argument, NULL, OPT_FAILURE_OUTPUT},
    {"rerun-failed", no_argument, NULL, OPT_RERUN_FAILED},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

const char *run_opts_usage(void)
{
	return "usage: smoltest run SUITE [options]\n"
	       "       smoltest list SUITE [--filter RE] [--tags EXPR] [--partition P] "
	       "[-v|--json]\n"
	       "       smoltest validate SUITE\n"
	       "\n"
	       "  -j, --parallel N        tests running at once (default: suite's parallel, else "
	       "CPUs)\n"
	       "      --filter REGEX      only tests whose name matches (PCRE2)\n"
	       "      --tags EXPR         only tests whose tags satisfy EXPR: tag, !tag, a+b "
	       "(and),\n"
	       "                          a,b (or), parentheses\n"
	       "      --partition P       hash:M/N (stable) or count:M/N; else TEST_SHARD_INDEX/\n"
	       "                          TEST_TOTAL_SHARDS or CI_NODE_INDEX/CI_NODE_TOTAL\n"
	       "      --retries N         retry failed tests N times (a pass on retry is FLAKY)\n"
	       "      --fail-fast         stop at the first failure; --keep-going: do not\n"
	       "      --timeout D         per-test timeout for every test (30s, 2m, ...)\n"
	       "      --timeout-multiplier X  scale every test's and setup step's time limit by\n"
	       "                          X (0.1 to 100), for slow or emulated machines; also\n"
	       "                          SMOLTEST_TIMEOUT_MULTIPLIER\n"
	       "      --backend B         auto, vm or sandbox (default: the suite's, else auto)\n"
	       "      --artifacts DIR     where artifacts go, DIR/<test>/ (default "
	       "smoltest-artifacts)\n"
	       "      --junit FILE        write JUnit XML\n"
	       "      --tap FILE|-        write TAP (--tap-version 13|14, default 14)\n"
	       "      --json FILE|-       write JSON lines (list: --json alone, one object per "
	       "test)\n"
	       "      --github            GitHub Actions annotations (default when "
	       "GITHUB_ACTIONS=true)\n"
	       "      --no-cache          do not use or fill the warm-environment cache\n"
	       "      --color WHEN        auto, always or never\n"
	       "      --allow-no-tests    a filter that selects nothing exits 0, not 4\n"
	       "      --failure-output O  a failure's output on the console: tail:N (last N\n"
	       "                          lines, default tail:20) or full (all that was kept)\n"
	       "      --rerun-failed      only the tests that failed when this suite last ran\n"
	       "                          (a test leaves that list when it passes)\n"
	       "  -v, --verbose           show passing tests' output and setup output, and\n"
	       "                          every kept line of a failure's output\n"
	       "  -q, --quiet             only failures and the summary\n"
	       "\n"
	       "exit status: 0 all passed, 1 a test failed, 2 usage or suite error,\n"
	       "3 infrastructure error, 4 no tests selected (before any setup runs),\n"
	       "128+N stopped by signal N (130 Ctrl-C)\n";
}

/* A time-limit multiplier: a decimal number from 0.1 to 100. */
static int parse_multiplier(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0.1 && v <= 100) || !strchr("0123456789", *s))
		return -EINVAL;
	*out = v;
	return 0;
}

/* What list takes (it refuses the rest rather than ignore them); validate
 * takes nothing but the suite. */
static bool list_takes(int c)
{
	return c == OPT_FILTER || c == OPT_TAGS || c == OPT_PARTITION || c == OPT_JSON ||
	       c == 'v' || c == 'h';
}

/* "--junit" or "-j (--parallel)" for the option with code c. */
static void option_name(int c, char *buf, size_t len)
{
	for (const struct option *op = long_opts; op->name; op++)
		if (op->val == c) {
			if (c < 256)
				snprintf(buf, len, "-%c (--%s)", c, op->name);
			else
				snprintf(buf, len, "--%s", op->name);
			return;
		}
	snprintf(buf, len, "-%c", c);
}

static int fail(char *err, size_t len, const char *fmt, const char *a, const char *b)
{
	snprintf(err, len, fmt, a, b);
	return -EINVAL;
}

/* "--fitler=x" -> "did you mean '--filter'?" */
static int unknown_option(const char *arg, const char *cmd, char *err, size_t errlen)
{
	char word[64];
	const char *w = arg;
	while (*w == '-')
		w++;
	snprintf(word, sizeof(word), "%.*s", (int)strcspn(w, "="), w);
	const char *near = *word ? suggest_closest(word, long_opts, sizeof(long_opts[0])) : NULL;
	if (near)
		snprintf(err, errlen, "unknown option '%s': did you mean '--%s'?", arg, near);
	else
		snprintf(err, errlen, "unknown option '%s' (see smoltest %s --help)", arg, cmd);
	return -EINVAL;
}

int run_opts_parse(int argc, char **argv, struct run_opts *o, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	o->retries = -1;
	o->tap_version = 14;
	const char *cmd = argv[0];
	bool list = !strcmp(cmd, "list"), validate = !strcmp(cmd, "validate");
	int c;
	uint64_t v;
	/* list's --json takes no file: the list goes to stdout */
	struct option opts[sizeof(long_opts) / sizeof(long_opts[0])];
	memcpy(opts, long_opts, sizeof(opts));
	for (struct option *op = opts; list && op->name; op++)
		if (op->val == OPT_JSON)
			op->has_arg = no_argument;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":j:vqh", opts, NULL)) != -1) {
		if ((list && c != '?' && c != ':' && !list_takes(c)) ||
		    (validate && c != '?' && c != ':' && c != 'h')) {
			char name[48];
			option_name(c, name, sizeof(name));
			return fail(err, errlen,
				    list ? "%s is an option of run, which list would ignore; list "
					   "takes --filter, --tags, --partition, --json and -v%s"
					 : "%s is an option of run, which validate would ignore; "
					   "validate takes only the suite%s",
				    name, "");
		}
		switch (c) {
		case 'j':
			if (util_parse_u64(optarg, 1, 1024, &v))
				return fail(err, errlen,
					    "-j '%s': give a number of tests from 1 to 1024%s",
					    optarg, "");
			o->parallel = (unsigned)v;
			break;
		case OPT_FILTER:
			o->filter = optarg;
			break;
		case OPT_TAGS:
			o->tags = optarg;
			break;
		case OPT_PARTITION:
			if (sel_partition_parse(optarg, &o->partition, err, errlen))
				return -EINVAL;
			break;
		case OPT_RETRIES:
			if (util_parse_u64(optarg, 0, 100, &v))
				return fail(err, errlen, "--retries '%s': give 0 to 100%s", optarg,
					    "");
			o->retries = (int)v;
			break;
		case OPT_FAIL_FAST:
			o->fail_fast = true;
			break;
		case OPT_KEEP_GOING:
			o->fail_fast = false;
			break;
		case OPT_TIMEOUT:
			if (util_parse_duration(optarg, &o->timeout_ns) || !o->timeout_ns)
				return fail(err, errlen,
					    "--timeout '%s': give a positive duration such "
					    "as 30s or 2m%s",
					    optarg, "");
			break;
		case OPT_TIMEOUT_MULTIPLIER:
			if (parse_multiplier(optarg, &o->timeout_multiplier))
				return fail(err, errlen,
					    "--timeout-multiplier '%s': give a number from 0.1 to "
					    "100, such as 3 or 1.5%s",
					    optarg, "");
			break;
		case OPT_BACKEND:
			o->has_backend = true;
			if (!strcmp(optarg, "auto"))
				o->backend = SUITE_BACKEND_AUTO;
			else if (!strcmp(optarg, "vm"))
				o->backend = SUITE_BACKEND_VM;
			else if (!strcmp(optarg, "sandbox"))
				o->backend = SUITE_BACKEND_SANDBOX;
			else
				return fail(err, errlen,
					    "--backend '%s': give auto, vm or sandbox%s", optarg,
					    "");
			break;
		case OPT_ARTIFACTS:
			o->artifacts = optarg;
			break;
		case OPT_JUNIT:
			o->junit = optarg;
			break;
		case OPT_TAP:
			o->tap = optarg;
			break;
		case OPT_TAP_VERSION:
			if (strcmp(optarg, "13") != 0 && strcmp(optarg, "14") != 0)
				return fail(err, errlen, "--tap-version '%s': give 13 or 14%s",
					    optarg, "");
			o->tap_version = (unsigned)optarg[1] - '0' + 10;
			break;
		case OPT_JSON:
			o->json = list ? "-" : optarg;
			break;
		case OPT_GITHUB:
			o->github = true;
			break;
		case OPT_NO_CACHE:
			o->no_cache = true;
			break;
		case OPT_ALLOW_NO_TESTS:
			o->allow_no_tests = true;
			break;
		case OPT_RERUN_FAILED:
			o->rerun_failed = true;
			break;
		case OPT_FAILURE_OUTPUT:
			o->failure_full = !strcmp(optarg, "full");
			o->failure_lines = 0;
			if (!o->failure_full && (strncmp(optarg, "tail:", 5) != 0 ||
						 util_parse_u64(optarg + 5, 1, 1000000, &v)))
				return fail(err, errlen,
					    "--failure-output '%s': give tail:N (N lines, 1 to "
					    "1000000) or full%s",
					    optarg, "");
			if (!o->failure_full)
				o->failure_lines = (unsigned)v;
			break;
		case OPT_COLOR:
			if (!strcmp(optarg, "auto"))
				o->color = 0;
			else if (!strcmp(optarg, "always"))
				o->color = 1;
			else if (!strcmp(optarg, "never"))
				o->color = 2;
			else
				return fail(err, errlen,
					    "--color '%s': give auto, always or never%s", optarg,
					    "");
			break;
		case 'v':
			o->verbosity = 1;
			break;
		case 'q':
			o->verbosity = -1;
			break;
		case 'h':
			return 1;
		case ':':
			return fail(err, errlen, "option '%s' needs a value%s", argv[optind - 1],
				    "");
		default:
			if (list && !strncmp(argv[optind - 1], "--json=", 7))
				return fail(err, errlen,
					    "'%s': list --json takes no file; it writes to "
					    "stdout (smoltest list SUITE --json > FILE)%s",
					    argv[optind - 1], "");
			return unknown_option(argv[optind - 1], cmd, err, errlen);
		}
	}
	if (optind >= argc)
		return fail(err, errlen, "give the suite file (smoltest %s SUITE)%s", cmd, "");
	if (optind + 1 < argc)
		return fail(err, errlen, "unexpected argument '%s' after the suite%s",
			    argv[optind + 1], "");
	o->suite = argv[optind];
	const char *env = getenv("SMOLTEST_TIMEOUT_MULTIPLIER");
	if (!o->timeout_multiplier && env && *env && parse_multiplier(env, &o->timeout_multiplier))
		return fail(err, errlen,
			    "SMOLTEST_TIMEOUT_MULTIPLIER='%.40s': give a number from 0.1 to 100, "
			    "such as 3 or 1.5%s",
			    env, "");
	return 0;
}
