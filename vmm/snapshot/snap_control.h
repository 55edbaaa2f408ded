/* snap_control: the VMM's snapshot triggers.
 *
 * 1. The control socket (`smolvm run|restore --control PATH`): a Unix stream
 *    socket, mode 0600, one text line per request, one line per answer:
 *      status          -> ok running | ok paused
 *      pause           -> ok paused
 *      resume          -> ok running
 *      snapshot FILE   -> ok FILE BYTES_APPARENT BYTES_ALLOCATED SAVE_MS
 *      vcpus           -> ok VCPU; VCPU; ... (one per vCPU, in order), each
 *                         vcpuN kernel|user rip 0xHEX rsp 0xHEX if on|off
 *                         halted|running [irq-pending VECTOR]
 *                         (snap_vcpus.h)
 *    anything else, or a failure, -> error <reason>. After a snapshot or
 *    `vcpus` (which pauses every vCPU to read it, as a snapshot does) the VM
 *    resumes, unless it was paused by `pause` (it stays paused) or, after a
 *    snapshot, --exit-after-snapshot was given (the VMM exits 0).
 * 2. The checkpoint port: a guest write to I/O port 0x502 with
 *    --snapshot-on-checkpoint FILE pauses every vCPU before the writing vCPU
 *    executes another instruction and writes FILE; the guest resumes (or the
 *    VMM exits 0 with --exit-after-snapshot) after the OUT. Without the option
 *    the port is ignored.
 * Requests are served on the VM's event-loop thread. */
#ifndef SMOL_SNAP_CONTROL_H
#define SMOL_SNAP_CONTROL_H

struct vm;
struct snap_ctl;
struct vmm_err;

#define SNAP_CHECKPOINT_PORT 0x502

/* Sets up what vm_config(vm) asks for (control_path,
 * snapshot_on_checkpoint, exit_after_snapshot): registers the checkpoint
 * port and listens on the control socket (an existing socket file at the
 * path is replaced). vm is borrowed and must outlive the controller. Call
 * after vm_create and before vm_run. Returns 0, or -errno with one line in
 * err (which may be NULL) naming the option and the path; never prints.
 * A checkpoint that fails while the guest runs ends the VM (VM_EXIT_ERROR)
 * with "checkpoint snapshot failed: <why>" as the vm_exit reason. */
int snap_ctl_create(struct vm *vm, struct snap_ctl **out, struct vmm_err *err);

/* Call after vm_destroy(vm) (the VM's device holds the disk layer's lock
 * until then): closes the socket and unlinks its path, then freezes the
 * disk layer that a snapshot taken with --exit-after-snapshot refers to
 * (snap_save). Returns 0, or -errno with one line in err (which may be
 * NULL) when that layer could not be frozen: the snapshot is then
 * unusable. NULL is a no-op returning 0. */
int snap_ctl_destroy(struct snap_ctl *c, struct vmm_err *err);

#endif
