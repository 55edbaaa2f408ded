/* smolvm run: boot a kernel in a new VM.
 *
 * Exit status: the guest's value when it writes to the debug-exit port
 * (0x501); 0 when the guest resets (i8042, ACPI reset register) or powers
 * off; 2 for bad arguments or an unusable kernel/initrd; 3 with a one-line
 * reason on stderr for a triple fault, a KVM error, or a VM that cannot be
 * built, or for a syscall the seccomp filter refuses (docs/hardening.md).
 * Set SMOLVM_TIMINGS=1 for a line of host-side timings on stderr, and one
 * of KVM's exit counters per vCPU (cli_kvm_stats_print). */
#include "cli/cli.h"

#include "core/gmem.h"
#include "core/seccomp.h"
#include "core/vm_stats.h"
#include "smolvm/err.h"
#include "smolvm/vm.h"
#include "snapshot/snap_control.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define RUN_EXIT_USAGE 2
#define RUN_EXIT_INFRA 3

struct run_opt {
	const char *name;
	const char *metavar;
	const char *help;
	int (*fn)(struct vm_config *cfg, const char *arg);
};

static const struct run_opt run_opts[] = {
#define RUN_OPT(name, metavar, help, handler) {name, metavar, help, handler},
#include "cli/run_opts.def"
#undef RUN_OPT
};

#define NOPTS (sizeof(run_opts) / sizeof(run_opts[0]))

void cli_run_usage(FILE *f)
{
	for (size_t i = 0; i < NOPTS; i++) {
		char left[48];
		snprintf(left, sizeof(left), "--%s%s%s", run_opts[i].name,
			 run_opts[i].metavar ? " " : "",
			 run_opts[i].metavar ? run_opts[i].metavar : "");
		fprintf(f, "  %-28s %s\n", left, run_opts[i].help);
	}
	fprintf(f, "  %-28s %s\n", "--no-seccomp",
		"no seccomp filter (debugging; also SMOLVM_NO_SECCOMP=1; docs/hardening.md)");
	fprintf(f, "  %-28s %s\n", "--ready-fd N",
		"close fd N once the VM is built and its sockets listen");
	fprintf(f, "exit status: the guest's debug-exit (port 0x501) value, 0 on guest reset or\n"
		   "power-off, 2 on bad arguments, 3 on triple fault or KVM error\n");
}

int run_opt_kernel(struct vm_config *cfg, const char *arg)
{
	cfg->kernel_path = arg;
	return 0;
}

int run_opt_initrd(struct vm_config *cfg, const char *arg)
{
	cfg->initrd_path = arg;
	return 0;
}

int run_opt_cmdline(struct vm_config *cfg, const char *arg)
{
	cfg->cmdline = arg;
	return 0;
}

int run_opt_mem(struct vm_config *cfg, const char *arg)
{
	uint64_t mib;
	if (util_parse_u64(arg, 16, GMEM_MAX_RAM >> 20, &mib)) {
		fprintf(stderr,
			"smolvm run: --mem %s: give a whole number of MiB from 16 to %llu\n", arg,
			(unsigned long long)(GMEM_MAX_RAM >> 20));
		return -EINVAL;
	}
	cfg->mem_bytes = mib << 20;
	return 0;
}

int run_opt_cpus(struct vm_config *cfg, const char *arg)
{
	uint64_t n;
	if (util_parse_u64(arg, 1, VM_MAX_VCPUS, &n)) {
		fprintf(stderr, "smolvm run: --cpus %s: give a number from 1 to %d\n", arg,
			VM_MAX_VCPUS);
		return -EINVAL;
	}
	cfg->ncpus = (unsigned)n;
	return 0;
}

int run_opt_serial(struct vm_config *cfg, const char *arg)
{
	if (!strcmp(arg, "stdio")) {
		cfg->serial = VM_SERIAL_STDIO;
	} else if (!strcmp(arg, "none")) {
		cfg->serial = VM_SERIAL_NONE;
	} else if (*arg) {
		cfg->serial = VM_SERIAL_FILE;
		cfg->serial_path = arg;
	} else {
		fprintf(stderr, "smolvm run: --serial needs stdio, none or a file path\n");
		return -EINVAL;
	}
	return 0;
}

int run_opt_no_rng(struct vm_config *cfg, const char *arg)
{
	(void)arg;
	cfg->rng = false;
	return 0;
}

int cli_ready_fd_parse(const char *cmd, const char *arg, int *fd)
{
	uint64_t n;
	if (util_parse_u64(arg, 3, INT32_MAX, &n) || fcntl((int)n, F_SETFD, FD_CLOEXEC) < 0) {
		fprintf(stderr, "smolvm %s: --ready-fd %s: give an open fd above 2\n", cmd, arg);
		return -EINVAL;
	}
	*fd = (int)n;
	return 0;
}

void cli_ready(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* --no-seccomp and --ready-fd are the process's, not the VM's: they land
 * in *seccomp and *ready, not in cfg. */
static int parse_args(int argc, char **argv, struct vm_config *cfg, bool *seccomp, int *ready)
{
	struct option lopts[NOPTS + 4];
	for (size_t i = 0; i < NOPTS; i++)
		lopts[i] = (struct option){run_opts[i].name,
					   run_opts[i].metavar ? required_argument : no_argument,
					   NULL, (int)(256 + i)};
	lopts[NOPTS] = (struct option){"help", no_argument, NULL, 'h'};
	lopts[NOPTS + 1] = (struct option){"no-seccomp", no_argument, NULL, 'S'};
	lopts[NOPTS + 2] = (struct option){"ready-fd", required_argument, NULL, 'R'};
	lopts[NOPTS + 3] = (struct option){0};
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		if (c == 'h') {
			printf("usage: smolvm run --kernel PATH [options]\n");
			cli_run_usage(stdout);
			return 1;
		}
		if (c == 'S') {
			*seccomp = false;
			continue;
		}
		if (c == 'R') {
			if (cli_ready_fd_parse("run", optarg, ready))
				return -EINVAL;
			continue;
		}
		if (c < 256 || (size_t)(c - 256) >= NOPTS) {
			fprintf(stderr,
				"smolvm run: unknown or incomplete option '%s'; see smolvm run "
				"--help\n",
				argv[optind - 1]);
			return -EINVAL;
		}
		int err = run_opts[c - 256].fn(cfg, optarg);
		if (err)
			return err;
	}
	if (optind < argc) {
		fprintf(stderr, "smolvm run: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!cfg->kernel_path && !cfg->restore_path) {
		fprintf(stderr, "smolvm run: --kernel PATH is required\n");
		return -EINVAL;
	}
	return 0;
}

static int exit_status(const struct vm_exit *e)
{
	switch (e->kind) {
	case VM_EXIT_DEBUG_PORT:
	case VM_EXIT_STOPPED:
		return e->status;
	case VM_EXIT_RESET:
		return 0;
	default:
		fprintf(stderr, "smolvm: %s\n", e->reason[0] ? e->reason : "VM ended unexpectedly");
		return RUN_EXIT_INFRA;
	}
}

int cmd_run(int argc, char **argv)
{
	uint64_t t_start = util_now_ns();
	struct vm_config cfg;
	vm_config_init(&cfg);
	cfg.log = cli_log;
	bool seccomp = !vmm_seccomp_env_disabled();
	int ready = -1;
	int err = parse_args(argc, argv, &cfg, &seccomp, &ready);
	if (err)
		return err > 0 ? 0 : RUN_EXIT_USAGE;

	struct vm *vm = NULL;
	struct vmm_err why;
	err = vm_create(&cfg, &vm, &why);
	if (err) {
		fprintf(stderr, "smolvm: %s\n", why.msg);
		return err == -EINVAL ? RUN_EXIT_USAGE : RUN_EXIT_INFRA;
	}
	if (cfg.restore_path) {
		fprintf(stderr, "smolvm run: --restore is not available in this build\n");
		vm_destroy(vm);
		return RUN_EXIT_USAGE;
	}
	err = vm_load_kernel(vm, &why);
	if (err) {
		fprintf(stderr, "smolvm: %s\n", why.msg);
		vm_destroy(vm);
		/* Malformed images and bad sizes are the user's to fix. */
		return (err == -EINVAL || err == -E2BIG || err == -ENOENT || err == -EFBIG)
			   ? RUN_EXIT_USAGE
			   : RUN_EXIT_INFRA;
	}
	struct snap_ctl *ctl = NULL; /* --control, --snapshot-on-checkpoint (snapshot/) */
	if ((cfg.control_path || cfg.snapshot_on_checkpoint) && snap_ctl_create(vm, &ctl, &why)) {
		fprintf(stderr, "smolvm: %s\n", why.msg);
		vm_destroy(vm);
		return RUN_EXIT_INFRA;
	}
	/* The VM is built: from here on the process makes only the syscalls
	 * of seccomp_allow.c (DESIGN.md, "Process model"). */
	bool stats = cli_kvm_stats_open(vm);
	cli_ready(&ready);
	if (seccomp && vmm_seccomp_install(&why)) {
		fprintf(stderr, "smolvm: %s\n", why.msg);
		vm_destroy(vm);
		snap_ctl_destroy(ctl, NULL);
		return RUN_EXIT_INFRA;
	}
	struct vm_exit ex = {0};
	err = vm_run(vm, &ex);
	if (err)
		fprintf(stderr, "smolvm: %s\n", ex.reason);
	uint64_t first_exit = vm_first_exit_ns(vm);
	if (stats)
		cli_kvm_stats_print(vm);
	uint64_t t_destroy = util_now_ns();
	vm_destroy(vm);
	if (snap_ctl_destroy(ctl, &why)) {
		fprintf(stderr, "smolvm: %s\n", why.msg);
		err = -EIO; /* the snapshot is unusable */
	}
	uint64_t t_end = util_now_ns();
	if (getenv("SMOLVM_TIMINGS")) {
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		fprintf(stderr,
			"smolvm-timings: main_to_first_exit_us=%llu first_exit_mono_ns=%llu "
			"teardown_us=%llu maxrss_kb=%ld\n",
			first_exit ? (unsigned long long)((first_exit - t_start) / 1000) : 0ull,
			(unsigned long long)first_exit,
			(unsigned long long)((t_end - t_destroy) / 1000), ru.ru_maxrss);
	}
	if (err)
		return RUN_EXIT_INFRA;
	return exit_status(&ex);
}

bool cli_kvm_stats_open(struct vm *vm)
{
	if (!getenv("SMOLVM_TIMINGS"))
		return false;
	int rc = vm_stats_open(vm);
	if (rc)
		fprintf(stderr, "smolvm-kvm-stats: unavailable: %s\n", strerror(-rc));
	return rc == 0;
}

void cli_kvm_stats_print(struct vm *vm)
{
	struct vm_stat st[128];
	for (unsigned i = 0; i < vm_ncpus(vm); i++) {
		unsigned n = 0;
		int rc = vm_vcpu_stats(vm, i, st, sizeof(st) / sizeof(st[0]), &n);
		if (rc) {
			fprintf(stderr, "smolvm-kvm-stats: vcpu%u unreadable: %s\n", i,
				strerror(-rc));
			continue;
		}
		fprintf(stderr, "smolvm-kvm-stats: vcpu%u", i);
		for (unsigned k = 0; k < n; k++)
			if (st[k].value)
				fprintf(stderr, " %s=%llu", st[k].name,
					(unsigned long long)st[k].value);
		fputc('\n', stderr);
	}
}
