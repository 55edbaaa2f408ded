/* vm_backend: the vm backend (backend.h, vm_backend.h): one `smolvm run`
 * template per warm environment, snapshotted after setup, and one
 * `smolvm restore` fork per test. */
#include "backend/vm_backend.h"
#include "cache/cache.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define VMB_MAX_ARGS (40 + 2 * BACKEND_MAX_MOUNTS)

struct vmb {
	char *smolvm;
	struct vm_backend_image img;
	char cmdline[4096];
	char key[5120]; /* hashes of what the snapshot depends on besides the suite */
	char share_args[BACKEND_MAX_MOUNTS][PATH_MAX + 48]; /* "s<i>=HOST[,ro]" */
	unsigned seq;
	struct runreg *reg;			      /* borrowed: the run's registry, or NULL */
	char rootfs[PATH_MAX];			      /* vm.rootfs, absolute, or "" */
	char rootfs_type[8];			      /* its file system: ext4 or erofs */
	uint64_t boot_timeout_ns, restore_timeout_ns; /* for the agent's HELLO */
	char keep_hung[PATH_MAX]; /* SMOLTEST_KEEP_HUNG: where silent VMs are saved, or "" */
};

struct vm_backend_inst {
	char dir[512];
	char art_arg[PATH_MAX + 48];
	pid_t pid;
	int pidfd;
	int ready; /* the ready pipe's read end: EOF once smolvm's sockets listen */
	bool reaped;
	int status;
	bool template_mode;
	char layer_dir[PATH_MAX]; /* the template's: where the snapshot goes */
	/* smolvm's control socket, or "" when its path is too long for one */
	char control[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static void inst_free(struct vm_backend_inst *vi)
{
	if (!vi)
		return;
	if (vi->pidfd >= 0)
		close(vi->pidfd);
	if (vi->ready >= 0)
		close(vi->ready);
	free(vi);
}

static void inst_kill_and_reap(struct vm_backend_inst *vi)
{
	if (vi->pid > 0 && !vi->reaped) {
		kill(-vi->pid, SIGKILL);
		kill(vi->pid, SIGKILL);
		if (vm_backend_wait(vi->pid, -1, 0, &vi->status) == 0)
			vi->reaped = true;
	}
}

/* Adds the arguments every VM of the run shares: the console, the vsock
 * socket and the virtio-fs shares, in the one order of vm_backend.h. */
static int common_args(struct vmb *v, struct vm_backend_inst *vi, const struct suite *s,
		       const char **argv, size_t *n, char *vsock_arg, size_t vlen, char *console,
		       size_t clen)
{
	snprintf(console, clen, "%s/console.log", vi->dir);
	if ((size_t)snprintf(vsock_arg, vlen, "%s,%s/vsock.sock", VMB_VSOCK_CID, vi->dir) >= vlen)
		return -ENAMETOOLONG;
	argv[(*n)++] = "--serial";
	argv[(*n)++] = console;
	argv[(*n)++] = "--vsock";
	argv[(*n)++] = vsock_arg;
	if (!v->rootfs[0]) {
		argv[(*n)++] = "--share";
		argv[(*n)++] = VMB_ROOT_TAG "=/,ro";
	}
	for (size_t i = 0; i < s->n_shares; i++) {
		argv[(*n)++] = "--share";
		argv[(*n)++] = v->share_args[i];
	}
	argv[(*n)++] = "--share";
	argv[(*n)++] = vi->art_arg;
	return 0;
}

/* Runs `smolvm ARGS` to its end (at most timeout_ms), its output in
 * run_dir/<logname>. Fails with smolvm's last line of output in err. */
static int smolvm_call(struct backend *b, const char *const *argv, const char *logname,
		       int timeout_ms, char *err, size_t errlen)
{
	struct vmb *v = b->priv;
	char log[PATH_MAX], why[400] = "";
	snprintf(log, sizeof(log), "%s/%s", b->run_dir, logname);
	pid_t pid;
	int rc = vm_backend_spawn(v->reg, argv, log, -1, &pid, why, sizeof(why)), status = 0;
	if (rc) {
		snprintf(err, errlen, "cannot run smolvm %s %s %s: %s", argv[1], argv[2], argv[3],
			 why);
		return rc;
	}
	int pfd = pidfd_open(pid, 0);
	rc = vm_backend_wait(pid, pfd, timeout_ms, &status);
	if (pfd >= 0)
		close(pfd);
	if (rc == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		vm_backend_wait(pid, -1, 0, &status);
		snprintf(err, errlen, "smolvm %s %s %s took over %d s", argv[1], argv[2], argv[3],
			 timeout_ms / 1000);
		unlink(log);
		return rc;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		unlink(log);
		return 0;
	}
	char *text = NULL;
	size_t n = 0;
	if (util_read_file(log, 1 << 16, &text, &n) == 0) {
		while (n && text[n - 1] == '\n')
			text[--n] = '\0';
		const char *last = strrchr(text, '\n');
		snprintf(why, sizeof(why), "%s", last ? last + 1 : text);
		free(text);
	}
	unlink(log);
	snprintf(err, errlen, "%s", why[0] ? why : "smolvm failed");
	return -EINVAL;
}

/* The template's disk argument: vm.rootfs under a new copy-on-write layer
 * in the layer directory, next to the snapshot (or in the VM's own
 * directory when nothing is to be cached). */
static int template_disk(struct backend *b, struct vm_backend_inst *vi, char *disk, size_t len,
			 char *err, size_t errlen)
{
	struct vmb *v = b->priv;
	char layer[PATH_MAX + 32];
	snprintf(layer, sizeof(layer), "%s/%s", vi->layer_dir[0] ? vi->layer_dir : vi->dir,
		 VMB_ROOTFS_LAYER);
	if ((size_t)snprintf(disk, len, "%s,layer=%s", v->rootfs, layer) >= len) {
		snprintf(err, errlen, "vm: the disk layer path %s is too long", layer);
		return -ENAMETOOLONG;
	}
	const char *argv[] = {v->smolvm, "disk", "create", layer, "--base", v->rootfs, NULL};
	char why[400];
	int rc = smolvm_call(b, argv, "disk-create.log", 60000, why, sizeof(why));
	if (rc)
		snprintf(err, errlen, "vm: cannot create the disk layer over vm.rootfs %s: %s",
			 v->rootfs, why);
	return rc;
}

static int vm_backend_start(struct backend *b, const struct backend_instance_opts *o,
			    struct backend_instance **out, char *err, size_t errlen)
{
	struct vmb *v = b->priv;
	const struct suite *s = b->suite;
	struct backend_instance *bi = calloc(1, sizeof(*bi));
	struct vm_backend_inst *vi = calloc(1, sizeof(*vi));
	int rc;
	if (!bi || !vi) {
		free(bi);
		free(vi);
		return -ENOMEM;
	}
	vi->pidfd = vi->ready = -1;
	vi->template_mode = o->template_mode;
	if (o->template_mode && o->layer_dir)
		snprintf(vi->layer_dir, sizeof(vi->layer_dir), "%s", o->layer_dir);
	if (!o->template_mode && !o->layer_dir) {
		snprintf(err, errlen, "vm: no snapshot to fork (the template was not built)");
		rc = -EINVAL;
		goto fail;
	}
	snprintf(vi->dir, sizeof(vi->dir), "%s/v%u", b->run_dir, ++v->seq);
	char empty[600];
	snprintf(empty, sizeof(empty), "%s/empty", vi->dir);
	if (mkdir(vi->dir, 0700) || mkdir(empty, 0700)) {
		rc = -errno;
		snprintf(err, errlen, "vm: cannot create %s: %s", empty, strerror(errno));
		goto fail;
	}
	if (o->artifact_dir && (rc = util_mkdir_p(o->artifact_dir, 0755))) {
		snprintf(err, errlen, "vm: cannot create artifact directory %s: %s",
			 o->artifact_dir, strerror(-rc));
		goto fail;
	}
	if (o->artifact_dir && strpbrk(o->artifact_dir, ",=")) {
		snprintf(err, errlen,
			 "vm: artifact directory %s contains ',' or '=', which a smolvm --share "
			 "cannot carry; use --artifacts with another directory",
			 o->artifact_dir);
		rc = -EINVAL;
		goto fail;
	}
	snprintf(vi->art_arg, sizeof(vi->art_arg), VMB_ART_TAG "=%s",
		 o->artifact_dir ? o->artifact_dir : empty);

	const char *argv[VMB_MAX_ARGS];
	size_t n = 0;
	char mem[32], cpus[16], vsock[600], console[600], snap[PATH_MAX], control[600];
	char disk[2 * PATH_MAX + 16];
	snprintf(control, sizeof(control), "%s/control.sock", vi->dir);
	if (strlen(control) < sizeof(vi->control))
		memcpy(vi->control, control, strlen(control) + 1);
	if (o->template_mode && v->rootfs[0] &&
	    (rc = template_disk(b, vi, disk, sizeof(disk), err, errlen)))
		goto fail;
	argv[n++] = v->smolvm;
	if (o->template_mode) {
		snprintf(mem, sizeof(mem), "%llu", (unsigned long long)(s->vm.memory >> 20));
		snprintf(cpus, sizeof(cpus), "%u", s->vm.cpus);
		argv[n++] = "run";
		argv[n++] = "--kernel";
		argv[n++] = v->img.kernel;
		argv[n++] = "--initrd";
		argv[n++] = v->img.initrd;
		argv[n++] = "--cmdline";
		argv[n++] = v->cmdline;
		argv[n++] = "--mem";
		argv[n++] = mem;
		argv[n++] = "--cpus";
		argv[n++] = cpus;
		argv[n++] = "--control";
		argv[n++] = control;
		argv[n++] = "--exit-after-snapshot";
		if (v->rootfs[0]) {
			argv[n++] = "--disk";
			argv[n++] = disk;
		}
	} else {
		snprintf(snap, sizeof(snap), "%s/%s", o->layer_dir, VMB_SNAPSHOT);
		argv[n++] = "restore";
		argv[n++] = snap;
		argv[n++] = "--fork-dir";
		argv[n++] = vi->dir;
		/* Only for the diagnosis of a silent agent (vm_backend_diagnose):
		 * a fork whose socket path would not fit runs without one. */
		if (vi->control[0]) {
			argv[n++] = "--control";
			argv[n++] = vi->control;
		}
	}
	if ((rc =
		 common_args(v, vi, s, argv, &n, vsock, sizeof(vsock), console, sizeof(console)))) {
		snprintf(err, errlen,
			 "vm: socket path under %s is too long; set TMPDIR to a "
			 "shorter directory",
			 vi->dir);
		goto fail;
	}
	argv[n++] = "--ready-fd";
	argv[n++] = VMB_READY_FD_STR;
	argv[n] = NULL;

	bi->backend = b;
	bi->priv = vi;
	snprintf(bi->name, sizeof(bi->name), "%s", o->name);
	if ((size_t)snprintf(bi->endpoint.unix_path, sizeof(bi->endpoint.unix_path),
			     "%s/vsock.sock", vi->dir) >= sizeof(bi->endpoint.unix_path)) {
		rc = -ENAMETOOLONG;
		snprintf(err, errlen,
			 "vm: socket path under %s is too long; set TMPDIR to a shorter directory",
			 vi->dir);
		goto fail;
	}
	bi->endpoint.vsock_port = VMB_AGENT_PORT;
	bi->system_prep = true;
	bi->restored = !o->template_mode;
	char host[SUITE_MAX_NAME + 1];
	suite_name_to_path(o->name, host, sizeof(host));
	snprintf(bi->hostname, sizeof(bi->hostname), "%.64s", host[0] ? host : "vm");
	if (o->template_mode) {
		for (size_t i = 0; i < s->n_shares && bi->n_mounts < BACKEND_MAX_MOUNTS; i++) {
			struct backend_mount *m = &bi->mounts[bi->n_mounts++];
			snprintf(m->tag, sizeof(m->tag), "s%zu", i);
			snprintf(m->guest, sizeof(m->guest), "%s", s->shares[i].guest);
			m->readonly = s->shares[i].readonly;
		}
	} else if (o->artifact_dir) {
		struct backend_mount *m = &bi->mounts[bi->n_mounts++];
		snprintf(m->tag, sizeof(m->tag), VMB_ART_TAG);
		snprintf(m->guest, sizeof(m->guest), BACKEND_GUEST_ARTIFACTS);
	}
	bi->connect_timeout_ns = o->template_mode ? v->boot_timeout_ns : v->restore_timeout_ns;

	/* smolvm closes the ready pipe once the VM is built and its vsock
	 * socket listens: connect then. (An inotify on the directory per
	 * fork cost an SRCU grace period in the loop's close(): 6.7 ms on
	 * average, tests/bench/README-runner.md.) */
	int ready[2];
	if (pipe2(ready, O_CLOEXEC | O_NONBLOCK)) {
		rc = -errno;
		snprintf(err, errlen, "vm: pipe: %s", strerror(errno));
		goto fail;
	}
	vi->ready = ready[0];
	char log[600];
	snprintf(log, sizeof(log), "%s/vmm.log", vi->dir);
	rc = vm_backend_spawn(v->reg, argv, log, ready[1], &vi->pid, err, errlen);
	close(ready[1]);
	if (rc)
		goto fail;
	vi->pidfd = pidfd_open(vi->pid, 0);
	if (vi->pidfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "vm: pidfd_open of smolvm (pid %d): %s", (int)vi->pid,
			 strerror(errno));
		goto fail;
	}
	util_set_cloexec(vi->pidfd, true);
	bi->death_fd = vi->pidfd;
	bi->ready_fd = vi->ready;
	*out = bi;
	return 0;
fail:
	inst_kill_and_reap(vi);
	if (vi->dir[0])
		util_rm_rf(vi->dir);
	inst_free(vi);
	free(bi);
	return rc;
}

static void vm_backend_kill(struct backend *b, struct backend_instance *bi)
{
	struct vm_backend_inst *vi = bi->priv;
	(void)b;
	if (vi->pid > 0 && !vi->reaped) {
		kill(-vi->pid, SIGKILL);
		kill(vi->pid, SIGKILL);
	}
}

static void vm_backend_stop(struct backend *b, struct backend_instance *bi)
{
	(void)b;
	if (!bi)
		return;
	struct vm_backend_inst *vi = bi->priv;
	inst_kill_and_reap(vi);
	if (vi->dir[0])
		util_rm_rf(vi->dir);
	inst_free(vi);
	free(bi);
}

/* The agent was QUIESCEd: the control socket's snapshot pauses the vCPUs,
 * writes the file, and (--exit-after-snapshot) ends the VMM. */
static int vm_backend_freeze(struct backend *b, struct backend_instance *bi, char *err,
			     size_t errlen)
{
	struct vm_backend_inst *vi = bi->priv;
	char control[600], snap[PATH_MAX + 32], req[PATH_MAX + 48], why[600] = "";
	int rc, st = 0;
	snprintf(control, sizeof(control), "%s/control.sock", vi->dir);
	snprintf(snap, sizeof(snap), "%s/%s", vi->layer_dir, VMB_SNAPSHOT);
	snprintf(req, sizeof(req), "snapshot %s", snap);
	rc = vm_backend_control(control, req, VMB_SNAPSHOT_TIMEOUT_MS, NULL, 0, why, sizeof(why));
	if (!rc) {
		rc = vm_backend_wait(vi->pid, vi->pidfd, 60000, &st);
		if (rc == -ETIMEDOUT) {
			snprintf(why, sizeof(why),
				 "smolvm did not exit within 60 s after the snapshot");
		} else if (!rc) {
			vi->reaped = true;
			vi->status = st;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				rc = -EIO;
				vm_backend_describe(vi->dir, st, true, why, sizeof(why));
			}
		}
	}
	if (rc) {
		snprintf(err, errlen, "vm: the snapshot of the template failed: %s", why);
		unlink(snap);
	}
	vm_backend_stop(b, bi);
	return rc;
}

/* A cached snapshot is checked in full (header, sections, memory
 * checksum) before any fork maps it. */
static int vm_backend_layer_check(struct backend *b, const char *layer_dir, char *err,
				  size_t errlen)
{
	struct vmb *v = b->priv;
	char snap[PATH_MAX + 32], why[400] = "";
	snprintf(snap, sizeof(snap), "%s/%s", layer_dir, VMB_SNAPSHOT);
	struct stat st;
	if (stat(snap, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is missing", snap);
		return -ENOENT;
	}
	const char *argv[] = {v->smolvm, "snapshot", "verify", snap, NULL};
	int rc = smolvm_call(b, argv, "verify.log", 300000, why, sizeof(why));
	if (rc)
		snprintf(err, errlen, "%s", why);
	return rc;
}

static int vm_backend_key(struct backend *b, struct strbuf *sb)
{
	struct vmb *v = b->priv;
	return sb_printf(sb, "%s", v->key);
}

/* SMOLTEST_KEEP_HUNG: a VM that still runs while its agent is silent is
 * saved there before the runner kills it, as a snapshot that
 * `smolvm snapshot info --stack` reads. Writes "kept as PATH" or why not
 * into buf; the run's loop waits while it is written. */
static void keep_hung(const struct vmb *v, const struct vm_backend_inst *vi, char *buf, size_t len)
{
	char path[PATH_MAX + 32], req[PATH_MAX + 48], ans[VMB_CONTROL_ANSWER_MAX], why[300];
	if ((size_t)snprintf(path, sizeof(path), "%s/hung-%d.smolsnap", v->keep_hung,
			     (int)vi->pid) >= sizeof(path)) {
		snprintf(buf, len, "not kept: SMOLTEST_KEEP_HUNG is too long");
		return;
	}
	snprintf(req, sizeof(req), "snapshot %s", path);
	if (vm_backend_control(vi->control, req, VMB_KEEP_HUNG_TIMEOUT_MS, ans, sizeof(ans), why,
			       sizeof(why)))
		snprintf(buf, len, "not kept: %s", why);
	else
		snprintf(buf, len, "kept as %s", path);
}

static bool vm_backend_diagnose(struct backend *b, struct backend_instance *bi, char *buf,
				size_t len)
{
	struct vm_backend_inst *vi = bi->priv;
	const struct vmb *v = b->priv;
	int status = vi->status;
	bool exited = vi->reaped;
	if (!exited && vi->pid > 0) {
		siginfo_t si = {0};
		if (waitid(P_PID, (id_t)vi->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == vi->pid) {
			exited = true;
			status = si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8
							  : (si.si_status & 0x7f);
		}
	}
	/* A VM that still runs (its agent silent, or not answering yet):
	 * what its vCPUs are doing says more than a quiet console, so it
	 * comes first. A VM that does not answer adds nothing. */
	char verdict[256] = "";
	bool test_kept_cpu = false;
	if (!exited && vi->pid > 0 && vi->control[0])
		vm_backend_vcpus_sample(vi->control, VMB_VCPUS_TIMEOUT_MS, verdict,
					len < sizeof(verdict) ? len : sizeof(verdict),
					&test_kept_cpu);
	/* Only a VM that answered `vcpus` can answer a snapshot. */
	char kept[PATH_MAX + 64] = "";
	if (verdict[0] && v->keep_hung[0])
		keep_hung(v, vi, kept, sizeof(kept));
	size_t o = 0;
	if (verdict[0] && len > 0)
		o = (size_t)snprintf(buf, len, "%s; %s%s", verdict, kept, kept[0] ? "; " : "");
	if (o >= len) {
		snprintf(buf, len, "%s", verdict);
		return test_kept_cpu;
	}
	vm_backend_describe(vi->dir, status, exited, buf + o, len - o);
	return test_kept_cpu;
}

static void vm_backend_destroy(struct backend *b)
{
	struct vmb *v = b->priv;
	if (v) {
		free(v->smolvm);
		free(v);
	}
	free(b->run_dir);
	free(b);
}

static const struct backend_ops vm_ops = {
    .name = "vm",
    .instance_start = vm_backend_start,
    .instance_kill = vm_backend_kill,
    .instance_stop = vm_backend_stop,
    .freeze = vm_backend_freeze,
    .key_material = vm_backend_key,
    .layer_check = vm_backend_layer_check,
    .diagnose = vm_backend_diagnose,
    .destroy = vm_backend_destroy,
};

/* "vendor model name" from /proc/cpuinfo: a snapshot restores only on the
 * CPU model it was taken on. */
static void cpu_model(char *out, size_t len)
{
	char *text = NULL;
	out[0] = '\0';
	if (util_read_file("/proc/cpuinfo", 1 << 20, &text, NULL))
		return;
	const char *keys[] = {"vendor_id", "cpu family", "model\t", "model name"};
	size_t o = 0;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const char *p = strstr(text, keys[i]);
		const char *colon = p ? strchr(p, ':') : NULL;
		if (!colon)
			continue;
		size_t n = strcspn(colon + 1, "\n");
		o += (size_t)snprintf(out + o, len > o ? len - o : 0, "%.*s;", (int)n, colon + 1);
		if (o >= len)
			break;
	}
	free(text);
}

/* Everything a suite gets wrong is said before any VM starts, naming the
 * field or file. */
static int check_suite(const struct suite *s, char *err, size_t errlen)
{
	if (s->vm.memory < VMB_MIN_MEMORY) {
		snprintf(err, errlen,
			 "backend vm: %s: vm.memory %lluM is too small to boot the guest; give "
			 "at least %lluM",
			 s->file, (unsigned long long)(s->vm.memory >> 20),
			 (unsigned long long)(VMB_MIN_MEMORY >> 20));
		return -EINVAL;
	}
	if (s->n_shares + 2 > BACKEND_MAX_MOUNTS) {
		snprintf(err, errlen, "backend vm: %s: at most %d shares", s->file,
			 BACKEND_MAX_MOUNTS - 2);
		return -E2BIG;
	}
	for (size_t i = 0; i < s->n_shares; i++) {
		const struct suite_share *sh = &s->shares[i];
		struct stat st;
		if (stat(sh->host, &st) && !sh->readonly && errno == ENOENT)
			util_mkdir_p(sh->host, 0755);
		if (stat(sh->host, &st) || !S_ISDIR(st.st_mode)) {
			snprintf(err, errlen,
				 "backend vm: %s:%u: shares: host directory %s does not exist",
				 s->file, sh->line, sh->host);
			return -ENOENT;
		}
		if (strpbrk(sh->host, ",=")) {
			snprintf(err, errlen,
				 "backend vm: %s:%u: shares: host directory %s contains ',' or "
				 "'=', which a smolvm --share cannot carry",
				 s->file, sh->line, sh->host);
			return -EINVAL;
		}
	}
	return 0;
}

/* How long a VM's agent has to answer HELLO: the default, or the duration
 * in the environment variable name (a slow host, or a test's short one). */
static int deadline_env(const char *name, uint64_t dflt, uint64_t *out, char *err, size_t errlen)
{
	const char *text = getenv(name);
	*out = dflt;
	if (!text || !*text)
		return 0;
	if (util_parse_duration(text, out) || !*out) {
		snprintf(err, errlen,
			 "backend vm: %s=%s is not a duration (give one like 90s or 5m, or unset "
			 "it for %llu s)",
			 name, text, (unsigned long long)(dflt / 1000000000ull));
		return -EINVAL;
	}
	return 0;
}

int vm_backend_create(const struct suite *s, const struct backend_opts *o, struct backend **out,
		      char *err, size_t errlen)
{
	int rc = check_suite(s, err, errlen);
	if (rc)
		return rc;
	if (!o->smolvm_path) {
		snprintf(err, errlen,
			 "backend vm: the smolvm binary was not found next to smoltest (build the "
			 "smolvm target or set SMOLTEST_SMOLVM)");
		return -ENOENT;
	}
	struct vmb *v = calloc(1, sizeof(*v));
	struct backend *b = calloc(1, sizeof(*b));
	if (!v || !b || !(b->run_dir = strdup(o->run_dir)) ||
	    !(v->smolvm = strdup(o->smolvm_path))) {
		rc = -ENOMEM;
		goto fail;
	}
	v->reg = o->reg;
	if (s->vm.rootfs &&
	    (rc = vm_backend_rootfs_resolve(s, v->rootfs, sizeof(v->rootfs), v->rootfs_type,
					    sizeof(v->rootfs_type), err, errlen)))
		goto fail;
	if ((rc = deadline_env("SMOLTEST_VM_BOOT_TIMEOUT", VMB_BOOT_TIMEOUT_NS, &v->boot_timeout_ns,
			       err, errlen)) ||
	    (rc = deadline_env("SMOLTEST_VM_RESTORE_TIMEOUT", VMB_RESTORE_TIMEOUT_NS,
			       &v->restore_timeout_ns, err, errlen)))
		goto fail;
	const char *keep = getenv("SMOLTEST_KEEP_HUNG");
	if (keep && *keep) {
		struct stat st;
		if (keep[0] != '/' || stat(keep, &st) || !S_ISDIR(st.st_mode) ||
		    access(keep, W_OK) || strlen(keep) >= sizeof(v->keep_hung)) {
			snprintf(err, errlen,
				 "backend vm: SMOLTEST_KEEP_HUNG=%s: not an absolute path to a "
				 "writable directory (where silent VMs are saved; create it, or "
				 "unset it)",
				 keep);
			rc = -EINVAL;
			goto fail;
		}
		snprintf(v->keep_hung, sizeof(v->keep_hung), "%s", keep);
	}
	/* ext4 is built into Debian's kernels; erofs is a module */
	const char *module = !strcmp(v->rootfs_type, "erofs") ? "erofs" : NULL;
	if ((rc = vm_backend_image_resolve(s, o, module, &v->img, err, errlen)))
		goto fail;
	char why[400];
	if (!backend_kvm_usable(why, sizeof(why))) {
		snprintf(err, errlen,
			 "backend vm: not available: %s; use --backend sandbox (or "
			 "backend: auto)",
			 why);
		rc = -ENOTSUP;
		goto fail;
	}
	if ((size_t)snprintf(v->cmdline, sizeof(v->cmdline), "%s %s%s%s%s", VMB_DEFAULT_ARGS,
			     v->rootfs[0] ? VMB_ROOTFS_ARGS : VMB_ROOT_ARGS, v->rootfs_type,
			     s->vm.cmdline ? " " : "",
			     s->vm.cmdline ? s->vm.cmdline : "") >= sizeof(v->cmdline)) {
		snprintf(err, errlen, "backend vm: %s: vm.cmdline is too long", s->file);
		rc = -E2BIG;
		goto fail;
	}
	for (size_t i = 0; i < s->n_shares; i++)
		snprintf(v->share_args[i], sizeof(v->share_args[i]), "s%zu=%s%s", i,
			 s->shares[i].host, s->shares[i].readonly ? ",ro" : "");
	char hk[17], hi[17], hv[17], hr[17] = "", cpu[400];
	if ((rc = vm_backend_hash_file(v->img.kernel, o->cache_dir, hk)) ||
	    (rc = vm_backend_hash_file(v->img.initrd, o->cache_dir, hi))) {
		snprintf(err, errlen, "backend vm: cannot read %s or %s: %s", v->img.kernel,
			 v->img.initrd, strerror(-rc));
		goto fail;
	}
	if ((rc = vm_backend_hash_file(v->smolvm, o->cache_dir, hv))) {
		snprintf(err, errlen, "backend vm: cannot read %s: %s", v->smolvm, strerror(-rc));
		goto fail;
	}
	/* the image by content: rebuilt in place, it is another warm state */
	if (v->rootfs[0] && (rc = vm_backend_hash_file(v->rootfs, o->cache_dir, hr))) {
		snprintf(err, errlen, "backend vm: %s: vm.rootfs %s: cannot read: %s", s->file,
			 v->rootfs, strerror(-rc));
		goto fail;
	}
	cpu_model(cpu, sizeof(cpu));
	/* the default image by name too, so that `cache prune` keeps the
	 * images an entry was built from (cache_prune_images) */
	snprintf(v->key, sizeof(v->key),
		 "vm kernel=%s initrd=%s smolvm=%s rootfs=%s cpu=%s cmdline=%s\n%s%s%s", hk, hi, hv,
		 hr, cpu, v->cmdline, v->img.built ? CACHE_IMAGE_REF : "",
		 v->img.built ? v->img.key : "", v->img.built ? "\n" : "");
	b->ops = &vm_ops;
	b->suite = s;
	b->priv = v;
	b->caps.memory_snapshot = true;
	b->caps.cow_disk = true;
	b->caps.isolation = "kvm";
	b->caps.note = NULL;
	*out = b;
	return 0;
fail:
	if (v)
		free(v->smolvm);
	free(v);
	if (b)
		free(b->run_dir);
	free(b);
	return rc;
}
