/* vm_backend: internals of the vm backend, shared by vm_backend.c
 * (the backend ops: instances, freeze, cache checks), vm_image.c (which
 * kernel and initrd a suite boots, and the default image built once into
 * the smoltest cache) and vm_spawn.c (starting smolvm, talking to its
 * control socket, reading its console).
 *
 * The runner never touches KVM: every VM is a `smolvm run` (the template)
 * or `smolvm restore` (a test's fork) process in its own process group,
 * killed with the runner (PR_SET_PDEATHSIG), with its files in one
 * directory of the run dir:
 *   v<N>/vsock.sock    the VM's hybrid-vsock socket (the agent's endpoint)
 *   v<N>/control.sock  smolvm's control socket: the template's snapshot
 *                      FILE, a fork's vcpus when its agent goes silent
 *                      (a fork gets none when the path is too long for a
 *                      socket: it is only for that diagnosis)
 *   v<N>/console.log   the guest's serial console
 *   v<N>/vmm.log       smolvm's own stdout/stderr
 *   v<N>/empty/        the artifact share of a VM that has none
 * The template's layer directory (the cache entry) gets snapshot.smolsnap.
 *
 * virtio-fs shares, in this order in the template and in every fork (a
 * restore needs the same device set): "root" = the host's / read-only (the
 * guest's root under a tmpfs overlay, smoltest.root=virtiofs:root), "s<i>"
 * = the suite's shares, "artifacts" = the test's artifact directory
 * (mounted per test at BACKEND_GUEST_ARTIFACTS, never in the template).
 *
 * With vm.rootfs (an ext4 or erofs image) there is no "root" share: the
 * image is the VM's one virtio-blk disk (/dev/vda, smoltest.root=/dev/vda),
 * mounted read-only by the agent under the same tmpfs overlay. The template
 * stacks a copy-on-write layer on it in its layer directory
 * (VMB_ROOTFS_LAYER, next to the snapshot, which records it by name so the
 * cache may rename the directory), and each fork stacks its own layer in
 * its v<N>/ (smolvm restore --fork-dir): the image file is never written. */
#ifndef SMOL_VM_BACKEND_H
#define SMOL_VM_BACKEND_H

#include "backend/backend.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VMB_SNAPSHOT   "snapshot.smolsnap"
#define VMB_VSOCK_CID  "3"
#define VMB_AGENT_PORT 1024u
#define VMB_ROOT_TAG   "root"
#define VMB_ART_TAG    "artifacts"
#define VMB_MIN_MEMORY (128ull << 20)
/* smolvm's SMOLVM_CMDLINE_MICROVM (vmm/include/smolvm/vm.h; docs/devices.md
 * says why each, and why pci=off, i8042.* and tsc= are not needed), the
 * console on COM1 kept quiet (each byte is a VM exit), and the root. */
#define VMB_DEFAULT_ARGS "console=ttyS0 quiet reboot=k panic=-1 8250.nr_uarts=1"
#define VMB_ROOT_ARGS	 "smoltest.root=virtiofs:" VMB_ROOT_TAG
#define VMB_ROOTFS_ARGS	 "smoltest.root=/dev/vda smoltest.rootfstype="
#define VMB_ROOTFS_LAYER "rootfs.layer"
/* The template boots Linux (seconds, minutes under an emulated CPU); a
 * fork only resumes. */
#define VMB_BOOT_TIMEOUT_NS	(180ull * 1000000000ull)
#define VMB_RESTORE_TIMEOUT_NS	(60ull * 1000000000ull)
#define VMB_SNAPSHOT_TIMEOUT_MS 180000
/* A silent fork's vCPUs are read twice, this far apart, within the total:
 * diagnose runs on the scheduler's thread. */
#define VMB_VCPUS_GAP_MS     200
#define VMB_VCPUS_TIMEOUT_MS 1500
/* SMOLTEST_KEEP_HUNG: the most a silent VM's snapshot may take (a few
 * hundred MiB written, minutes under an emulated CPU). */
#define VMB_KEEP_HUNG_TIMEOUT_MS 120000
/* The longest answer smolvm's control socket gives (its CTL_REPLY_MAX:
 * a `vcpus` line for 64 vCPUs), with the newline and a NUL. */
#define VMB_CONTROL_ANSWER_MAX 8200

/* The kernel and initrd a suite boots. */
struct vm_backend_image {
	char kernel[PATH_MAX];
	char initrd[PATH_MAX];
	bool built;   /* the default image (from a kernel package) */
	char key[33]; /* built: its directory's name under <cache>/images */
};

/* ---- vm_image.c ---- */

/* Finds the newest linux-image-*-cloud-amd64_*.deb in dir (the newest
 * version by strverscmp of the file name). -ENOENT when there is none. */
int vm_backend_find_kernel_deb(const char *dir, char *out, size_t len);

/* Resolves the image for suite s: vm.kernel + vm.initrd when given (both
 * must exist), else the default image from the newest kernel package in
 * o->kernel_cache_dir, built once into o->cache_dir/images/<content key>/,
 * with the kernel module `module` (e.g. "erofs" for an erofs vm.rootfs)
 * beside the default ones when it is not NULL (another image then).
 * -errno with one line in err naming the field or file and what to do. */
int vm_backend_image_resolve(const struct suite *s, const struct backend_opts *o,
			     const char *module, struct vm_backend_image *img, char *err,
			     size_t errlen);

/* vm.rootfs, checked: its absolute path into path and its file system
 * ("ext4" or "erofs", from the superblock's magic) into fstype. A rootfs
 * that is missing, not a regular file, neither file system, or whose path
 * a smolvm --disk cannot carry is one line naming the field. */
int vm_backend_rootfs_resolve(const struct suite *s, char *path, size_t len, char *fstype,
			      size_t fslen, char *err, size_t errlen);

/* XXH3-64 of a file's content as 16 hex digits, through the hash index
 * under cache_dir (cache_file_hash(): a kernel, initrd or rootfs image is
 * read again only when it changed); cache_dir NULL: always read. */
int vm_backend_hash_file(const char *path, const char *cache_dir, char out[17]);

/* ---- vm_spawn.c ---- */

/* Starts argv[0] (smolvm) in its own process group, dying with the
 * runner, stdin /dev/null, stdout and stderr to log_path, ready_fd (or
 * none: -1) at VMB_READY_FD for its --ready-fd, and records it in reg
 * (borrowed, may be NULL) so that a run that cannot kill it has the next
 * run do it. */
int vm_backend_spawn(struct runreg *reg, const char *const *argv, const char *log_path,
		     int ready_fd, pid_t *pid, char *err, size_t errlen);
/* Where smolvm finds the write end of its ready pipe. */
#define VMB_READY_FD	 3
#define VMB_READY_FD_STR "3"

/* Sends the one-line request (without its newline) on smolvm's control
 * socket at path control and reads the answer line within timeout_ms into
 * ans[anslen] (without its newline; ans may be NULL when only success
 * matters). Returns 0 on an answer "ok" or "ok ...", else -errno with one
 * line in err naming the request and the socket: -ETIMEDOUT, -EPIPE (the
 * VM closed the socket), -EMSGSIZE (no newline within anslen - 1 bytes),
 * -EIO (the VM refused: its answer, printable characters only). */
int vm_backend_control(const char *control, const char *request, int timeout_ms, char *ans,
		       size_t anslen, char *err, size_t errlen);

/* What a fork whose agent went silent was doing: asks control for `vcpus`
 * twice, VMB_VCPUS_GAP_MS apart, within timeout_ms in all, and writes
 * vm_backend_vcpus_verdict's sentence into buf[len] and its
 * *test_kept_cpu (may be NULL). "" and false when the VM did not answer
 * (then there is nothing to add to the console's tail). */
void vm_backend_vcpus_sample(const char *control, int timeout_ms, char *buf, size_t len,
			     bool *test_kept_cpu);

/* Waits at most timeout_ms for pid (through pidfd) and reaps it; *status
 * is the wait status. -ETIMEDOUT when it did not exit. */
int vm_backend_wait(pid_t pid, int pidfd, int timeout_ms, int *status);

/* One line about a dead or silent VM: a guest panic, the VMM's last line
 * and the console's last lines (dir = the VM's directory). */
void vm_backend_describe(const char *dir, int wait_status, bool exited, char *buf, size_t len);

/* ---- vm_verdict.c ---- */

/* One plain sentence on what a VM's vCPUs were doing, from two answers to
 * smolvm's `vcpus` control request taken a moment apart (first, then
 * second; whole answer lines "ok vcpu0 ...", either may be NULL). Per
 * vCPU: halted with interrupts on in both (or halted in one): idle, its
 * agent blocked; halted with interrupts off in both: a dead guest; user
 * mode in either: a process of the test kept the CPU; kernel mode with
 * interrupts off in both at rips less than VERDICT_LOOP_BYTES apart (one
 * tight loop): the guest kernel hung; kernel mode otherwise: running
 * kernel code. The answers are untrusted: one that does not parse
 * strictly is ignored, and only numbers read from them reach buf. Writes
 * whole clauses into buf[len] and returns 0, or returns -EINVAL (neither
 * answer parses) or -ENOSPC (not even the first clause fits) with buf "".
 * *test_kept_cpu (may be NULL) is set when a vCPU was busy (user code,
 * kernel code, or a kernel hung in one loop) and none was dead: the
 * guest's CPU was taken by the test or by a kernel it drove or wedged,
 * which two samples cannot tell apart, rather than the agent failing on an
 * idle guest (false on any error, for an all-idle guest and a dead one). */
int vm_backend_vcpus_verdict(const char *first, const char *second, char *buf, size_t len,
			     bool *test_kept_cpu);

#endif
