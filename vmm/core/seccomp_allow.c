/* The VMM's seccomp allowlist (seccomp.h). Derived from strace of every
 * integration test that runs `smolvm run` / `smolvm restore` (vmm_probe,
 * probe_devices, snapshot), in the gcc Release and the clang ASan/UBSan
 * builds, keeping the calls made after the filter goes in, plus what a
 * guest can make the devices do that the tests do not reach (every FUSE
 * opcode of virtio-fs). docs/hardening.md has the method. */
#include "core/seccomp.h"

#include <sys/syscall.h>

/* Sanitizer builds (SMOL_SANITIZE: gcc defines __SANITIZE_ADDRESS__,
 * clang answers __has_feature) allow what their runtime needs. */
#if defined(__SANITIZE_ADDRESS__)
#define VMM_SECCOMP_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VMM_SECCOMP_SANITIZER 1
#endif
#endif

static const int vmm_allow[] = {
    /* vCPU threads (KVM_RUN and every other KVM ioctl), kicks, pause. */
    SYS_ioctl,
    SYS_futex,
    SYS_tgkill,
    SYS_rt_sigprocmask,
    SYS_rt_sigreturn,
    SYS_rt_sigaction, /* glibc's first pthread_create sets up SIGCANCEL */
    SYS_restart_syscall,
    SYS_clock_gettime, /* the vDSO's fallback */
    SYS_gettid,
    SYS_getpid,
    /* Thread start and exit (glibc pthread_create, pthread_join). */
    SYS_clone3,
    SYS_clone, /* glibc's fallback where clone3 is ENOSYS */
    SYS_set_robust_list,
    SYS_rseq,
    SYS_exit,
    SYS_exit_group,
    /* malloc and thread stacks. */
    SYS_brk,
    SYS_mmap,
    SYS_munmap,
    SYS_mremap,
    SYS_mprotect,
    SYS_madvise,
    /* The event loop. */
    SYS_epoll_wait,
    SYS_epoll_ctl,
    SYS_eventfd2,
    SYS_timerfd_settime,
    /* Plain I/O: serial, virtio-blk layers, snapshots, virtio-rng. */
    SYS_read,
    SYS_write,
    SYS_readv,
    SYS_pread64,
    SYS_pwrite64,
    SYS_lseek,
    SYS_close,
    SYS_dup,
    SYS_fcntl,
    SYS_flock,
    SYS_fsync,
    SYS_fdatasync,
    SYS_ftruncate,
    SYS_truncate,
    SYS_fallocate,
    SYS_getrandom,
    /* Files: virtio-fs (every FUSE opcode it serves), snapshot files
     * written over the control socket, disk layer freezing. glibc 2.36's
     * stat, fstat and lstat are newfstatat; unlink, rename, readlink keep
     * their old syscalls. */
    SYS_openat,
    SYS_openat2,
    SYS_newfstatat,
    SYS_fstatfs,
    SYS_getdents64,
    SYS_readlink,
    SYS_readlinkat,
    SYS_symlinkat,
    SYS_mkdirat,
    SYS_mknodat,
    SYS_unlink,
    SYS_unlinkat,
    SYS_rename,
    SYS_renameat2,
    SYS_linkat,
    SYS_fchmodat,
    SYS_fchownat,
    SYS_utimensat,
    SYS_faccessat,
    /* Unix sockets: vsock connections both ways, the control socket
     * (both listen before the filter goes in). */
    SYS_socket,
    SYS_connect,
    SYS_accept4,
    SYS_sendto,
    SYS_recvfrom,
    SYS_sendmsg,
    SYS_shutdown,
    /* SMOLVM_TIMINGS after the run. */
    SYS_getrusage,
#ifdef VMM_SECCOMP_SANITIZER
    /* The ASan/UBSan/LSan runtime: alternate signal stacks for new
     * threads, and LeakSanitizer's exit-time stop-the-world, which
     * (prctl PR_SET_PTRACER) clones a tracer that reads /proc/self/task,
     * ptrace-attaches every thread and is waited for. */
    SYS_sigaltstack,
    SYS_prctl,
    SYS_sched_yield,
    /* The runtime's raw open and getdents of /proc/self/task. */
    SYS_open,
    SYS_getdents,
    SYS_sched_getaffinity,
    /* The tracer: attach, GETREGSET, detach; it checks its parent is
     * alive, and is waited for. */
    SYS_ptrace,
    SYS_getppid,
    SYS_wait4,
    /* A sanitizer report runs llvm-symbolizer (fork, pipe, execve); no
     * test makes a report, so these are from the runtime's source, not
     * from a trace. */
    SYS_fork,
    SYS_vfork,
    SYS_execve,
    SYS_pipe,
    SYS_pipe2,
    SYS_dup2,
#endif
};

const int *vmm_seccomp_allowlist(size_t *n_out)
{
	*n_out = sizeof(vmm_allow) / sizeof(vmm_allow[0]);
	return vmm_allow;
}
