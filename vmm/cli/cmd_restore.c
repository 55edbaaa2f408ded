/* `smolvm restore FILE [options]`: start a VM from a snapshot, and the
 * snapshot options of `smolvm run` (--control, --snapshot-on-checkpoint,
 * --exit-after-snapshot). Exit status as for `smolvm run`: the guest's
 * debug-exit value, 0 after --exit-after-snapshot, 2 for bad arguments or an
 * unusable snapshot, 3 when the VM fails (a syscall the seccomp filter
 * refuses included: docs/hardening.md). SMOLVM_TIMINGS=1 prints a line of
 * host-side restore timings on stderr, and KVM's exit counters (cli.h). */
#include "cli/cli.h"
#include "core/seccomp.h"
#include "disk/disk.h"
#include "smolvm/vm.h"
#include "snapshot/snap_bundle.h"
#include "snapshot/snap_config.h"
#include "snapshot/snap_control.h"
#include "snapshot/snap_file.h"
#include "snapshot/snap_restore.h"
#include "strbuf.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define EXIT_INFRA 3

int run_opt_control(struct vm_config *cfg, const char *arg)
{
	if (!*arg) {
		fprintf(stderr, "smolvm: --control needs a socket path\n");
		return -EINVAL;
	}
	cfg->control_path = arg;
	return 0;
}

int run_opt_snapshot_on_checkpoint(struct vm_config *cfg, const char *arg)
{
	if (!*arg) {
		fprintf(stderr, "smolvm: --snapshot-on-checkpoint needs a file path\n");
		return -EINVAL;
	}
	cfg->snapshot_on_checkpoint = arg;
	return 0;
}

int run_opt_exit_after_snapshot(struct vm_config *cfg, const char *arg)
{
	(void)arg;
	cfg->exit_after_snapshot = true;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: smolvm restore FILE [options]\n"
	       "  --serial stdio|none|FILE       where the console goes (default stdio)\n"
	       "  --disk-layer PATH              this VM's writable top disk layer (created over\n"
	       "                                 the snapshot's frozen disk if it does not exist)\n"
	       "  --vsock CID,PATH               virtio-vsock for this VM\n"
	       "  --share ARG                    a virtio-fs share (repeatable)\n"
	       "  --control PATH                 control socket (snapshot FILE, pause, resume, "
	       "status, vcpus)\n"
	       "  --snapshot-on-checkpoint FILE  snapshot when the guest writes port 0x502\n"
	       "  --exit-after-snapshot          exit 0 once that snapshot is written\n"
	       "  --verify                       check the memory section's checksum first\n"
	       "  --fork-dir DIR                 per-fork files (disk layer) go here\n"
	       "  --no-seccomp                   no seccomp filter (debugging; also\n"
	       "                                 SMOLVM_NO_SECCOMP=1; docs/hardening.md)\n"
	       "  --ready-fd N                   close fd N once the VM is built and its\n"
	       "                                 sockets listen\n");
}

struct restore_args {
	struct snap_restore_opts o;
	const char *disk_layer;
	const char *fork_dir;
	char fork_layer[4096];
	struct strbuf blk_arg; /* must outlive the VM: the config borrows it */
	bool no_seccomp;
	int ready_fd; /* --ready-fd, or -1 */
};

static int add_device(struct restore_args *a, const char *kind, const char *arg)
{
	if (a->o.ndevices == VM_MAX_DEVICES) {
		fprintf(stderr, "smolvm restore: too many devices\n");
		return -ENOSPC;
	}
	a->o.devices[a->o.ndevices++] = (struct vm_device_spec){kind, arg};
	return 0;
}

static int parse(int argc, char **argv, struct restore_args *a)
{
	enum {
		O_SERIAL = 256,
		O_DISK,
		O_VSOCK,
		O_SHARE,
		O_CONTROL,
		O_CKPT,
		O_EXIT,
		O_VERIFY,
		O_FORK,
		O_NO_SECCOMP,
		O_READY
	};
	static const struct option lopts[] = {
	    {"serial", required_argument, NULL, O_SERIAL},
	    {"disk-layer", required_argument, NULL, O_DISK},
	    {"vsock", required_argument, NULL, O_VSOCK},
	    {"share", required_argument, NULL, O_SHARE},
	    {"control", required_argument, NULL, O_CONTROL},
	    {"snapshot-on-checkpoint", required_argument, NULL, O_CKPT},
	    {"exit-after-snapshot", no_argument, NULL, O_EXIT},
	    {"verify", no_argument, NULL, O_VERIFY},
	    {"fork-dir", required_argument, NULL, O_FORK},
	    {"no-seccomp", no_argument, NULL, O_NO_SECCOMP},
	    {"ready-fd", required_argument, NULL, O_READY},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct vm_config tmp;
	vm_config_init(&tmp);
	optind = 1;
	opterr = 0;
	int c, rc = 0;
	while (!rc && (c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 1;
		case O_SERIAL:
			rc = run_opt_serial(&tmp, optarg);
			break;
		case O_DISK:
			a->disk_layer = optarg;
			break;
		case O_VSOCK:
			rc = add_device(a, "vsock", optarg);
			break;
		case O_SHARE:
			rc = add_device(a, "fs", optarg);
			break;
		case O_CONTROL:
			rc = run_opt_control(&tmp, optarg);
			break;
		case O_CKPT:
			rc = run_opt_snapshot_on_checkpoint(&tmp, optarg);
			break;
		case O_EXIT:
			tmp.exit_after_snapshot = true;
			break;
		case O_VERIFY:
			a->o.verify_memory = true;
			break;
		case O_FORK:
			a->fork_dir = optarg;
			break;
		case O_NO_SECCOMP:
			a->no_seccomp = true;
			break;
		case O_READY:
			rc = cli_ready_fd_parse("restore", optarg, &a->ready_fd);
			break;
		default:
			fprintf(stderr, "smolvm restore: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (rc)
		return rc;
	if (optind + 1 != argc) {
		fprintf(stderr, "smolvm restore: give exactly one snapshot FILE\n");
		usage(stderr);
		return -EINVAL;
	}
	a->o.path = argv[optind];
	a->o.serial = tmp.serial;
	a->o.serial_path = tmp.serial_path;
	a->o.control_path = tmp.control_path;
	a->o.snapshot_on_checkpoint = tmp.snapshot_on_checkpoint;
	a->o.exit_after_snapshot = tmp.exit_after_snapshot;
	return 0;
}

/* When the snapshot has a disk, builds the blk device argument: the saved
 * base and frozen layers, then this VM's own top layer (created here over
 * the frozen stack unless it exists; an existing layer must sit on exactly
 * that stack, which disk_open checks). */
static int disk_device(struct restore_args *a)
{
	struct snap_file *f = NULL;
	struct snap_config cfg = {0};
	struct vmm_err err;
	void *buf = NULL;
	size_t len;
	int rc = snap_file_open(a->o.path, &f, &err);
	if (!rc)
		rc = snap_file_read_named(f, "config", SNAP_SEC_CONFIG, &buf, &len, &err);
	if (!rc) {
		const struct snap_section *mem = snap_file_find(f, "memory");
		rc = snap_config_decode(buf, len, mem ? mem->length : 0, &cfg, &err);
	}
	free(buf);
	if (rc) {
		fprintf(stderr, "smolvm restore: %s\n", err.msg);
		goto out;
	}
	const char *top = NULL;
	char path[4096];
	for (uint32_t i = 0; i < cfg.nr_files && !rc; i++) {
		uint32_t role = cfg.files[i].role;
		if (role != SNAP_FILE_DISK_BASE && role != SNAP_FILE_DISK_LAYER)
			continue;
		rc = snap_bundle_resolve(a->o.path, i, cfg.files[i].path, path, sizeof(path));
		if (!rc)
			rc = sb_printf(&a->blk_arg, "%s%s",
				       role == SNAP_FILE_DISK_BASE ? "" : ",layer=", path);
	}
	if (rc)
		goto out;
	if (a->blk_arg.len == 0) {
		if (a->disk_layer) {
			fprintf(stderr, "smolvm restore: --disk-layer %s: %s has no disk\n",
				a->disk_layer, a->o.path);
			rc = -EINVAL;
		}
		goto out;
	}
	top = a->disk_layer;
	if (!top && a->fork_dir) {
		snprintf(a->fork_layer, sizeof(a->fork_layer), "%s/disk.layer", a->fork_dir);
		top = a->fork_layer;
	}
	if (!top) {
		fprintf(stderr,
			"smolvm restore: %s has a disk: give --disk-layer PATH for this VM's "
			"writes\n",
			a->o.path);
		rc = -EINVAL;
		goto out;
	}
	if (access(top, F_OK) != 0) {
		/* base = first entry; lower = last frozen layer (or none). */
		const char *comma = strchr(a->blk_arg.buf, ',');
		char base[4096];
		snprintf(base, sizeof(base), "%.*s",
			 (int)(comma ? (size_t)(comma - a->blk_arg.buf) : a->blk_arg.len),
			 a->blk_arg.buf);
		const char *lower = strrchr(a->blk_arg.buf, '=');
		rc = disk_layer_create(top, base, lower ? lower + 1 : NULL, &err);
		if (rc) {
			fprintf(stderr, "smolvm restore: --disk-layer %s: %s\n", top, err.msg);
			goto out;
		}
	}
	rc = sb_printf(&a->blk_arg, ",layer=%s", top);
	if (!rc)
		rc = add_device(a, "blk", a->blk_arg.buf);
out:
	snap_config_release(&cfg);
	snap_file_close(f);
	return rc;
}

int cmd_restore(int argc, char **argv)
{
	uint64_t t0 = util_now_ns();
	struct restore_args a;
	memset(&a, 0, sizeof(a));
	a.ready_fd = -1;
	a.o.log = cli_log;
	int rc = parse(argc, argv, &a);
	if (rc)
		return rc > 0 ? 0 : EXIT_USAGE;
	/* snap_restore() puts the devices in the snapshot's order. */
	unsigned nextra = a.o.ndevices;
	struct vm_device_spec extra[VM_MAX_DEVICES];
	memcpy(extra, a.o.devices, sizeof(extra));
	a.o.ndevices = 0;
	rc = disk_device(&a);
	for (unsigned i = 0; !rc && i < nextra; i++)
		rc = add_device(&a, extra[i].kind, extra[i].arg);
	if (rc) {
		sb_release(&a.blk_arg);
		return EXIT_USAGE;
	}

	struct vm *vm = NULL;
	struct snap_restore_times t;
	struct vmm_err err, warn = {{0}};
	rc = snap_restore(&a.o, &vm, &t, &warn, &err);
	if (warn.msg[0])
		fprintf(stderr, "smolvm: %s\n", warn.msg);
	if (rc) {
		if (err.msg[0]) /* empty: the failing part already said why */
			fprintf(stderr, "smolvm restore: %s\n", err.msg);
		sb_release(&a.blk_arg);
		return rc == -ENOMEM || rc == -EIO ? EXIT_INFRA : EXIT_USAGE;
	}
	struct snap_ctl *ctl = NULL;
	if (a.o.control_path || a.o.snapshot_on_checkpoint) {
		rc = snap_ctl_create(vm, &ctl, &err);
		if (rc) {
			fprintf(stderr, "smolvm restore: %s\n", err.msg);
			vm_destroy(vm);
			sb_release(&a.blk_arg);
			return EXIT_INFRA;
		}
	}
	/* The VM is built: from here on the process makes only the syscalls
	 * of seccomp_allow.c (DESIGN.md, "Process model"). */
	bool stats = cli_kvm_stats_open(vm);
	cli_ready(&a.ready_fd);
	if (!a.no_seccomp && !vmm_seccomp_env_disabled() && vmm_seccomp_install(&err)) {
		fprintf(stderr, "smolvm: %s\n", err.msg);
		vm_destroy(vm);
		snap_ctl_destroy(ctl, NULL);
		sb_release(&a.blk_arg);
		return EXIT_INFRA;
	}
	struct vm_exit ex = {0};
	rc = vm_run(vm, &ex);
	if (rc)
		fprintf(stderr, "smolvm restore: %s\n", ex.reason);
	uint64_t first_exit = vm_first_exit_ns(vm);
	if (stats)
		cli_kvm_stats_print(vm);
	vm_destroy(vm);
	if (snap_ctl_destroy(ctl, &err)) {
		fprintf(stderr, "smolvm restore: %s\n", err.msg);
		rc = -EIO; /* the snapshot is unusable */
	}
	sb_release(&a.blk_arg);
	if (getenv("SMOLVM_TIMINGS"))
		fprintf(stderr,
			"smolvm-timings: restore_validate_us=%llu restore_create_us=%llu "
			"restore_state_us=%llu main_to_first_exit_us=%llu\n",
			(unsigned long long)((t.validated_ns - t0) / 1000),
			(unsigned long long)((t.created_ns - t.validated_ns) / 1000),
			(unsigned long long)((t.done_ns - t.created_ns) / 1000),
			first_exit ? (unsigned long long)((first_exit - t0) / 1000) : 0ull);
	if (rc)
		return EXIT_INFRA;
	switch (ex.kind) {
	case VM_EXIT_DEBUG_PORT:
	case VM_EXIT_STOPPED:
		return ex.status;
	case VM_EXIT_RESET:
		return 0;
	default:
		fprintf(stderr, "smolvm: %s\n", ex.reason[0] ? ex.reason : "VM ended unexpectedly");
		return EXIT_INFRA;
	}
}
