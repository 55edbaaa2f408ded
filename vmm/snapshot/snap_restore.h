/* snap_restore: builds a VM from a .smolsnap file.
 *
 * Order (docs/snapshot.md "Restore"):
 *   1. open the file: header, versions, table, every offset (snap_file_open)
 *   2. read and decode every non-memory section (checksums, sizes, tags);
 *      the memory section's checksum only with verify_memory (it is big and
 *      forks share it: `smolvm snapshot verify` checks it)
 *   3. create an empty VM of the saved shape (no kernel is loaded)
 *   4. compare before touching any state: host fingerprint (CPU vendor,
 *      family, model, KVM API, TSC rate), guest CPUID features against this
 *      host's KVM, RAM layout, device set (names and order)
 *   5. map guest RAM MAP_PRIVATE from the memory section (no copy)
 *   6. VM state: PIC, IOAPIC, PIT, then kvmclock (value only: the guest's
 *      monotonic clock continues from the saved instant, see the clock note)
 *   7. each vCPU: CPUID; MP state; regs; sregs; xsave; xcrs; LAPIC; MSRs
 *      with TSC first and TSC_DEADLINE last; vcpu events; debug registers
 *      (vcpu_set_state)
 *   8. each virtio device: transport + device state (vmmio_restore)
 * Any failure in 1-4 leaves nothing behind and says what did not match. */
#ifndef SMOL_SNAP_RESTORE_H
#define SMOL_SNAP_RESTORE_H

#include "smolvm/err.h"
#include "snap_state.h"

#include <stdbool.h>
#include <stdint.h>

struct snap_restore_opts {
	const char *path; /* the .smolsnap file */
	enum vm_serial_mode serial;
	const char *serial_path;
	const char *control_path;	    /* NULL: no control socket */
	const char *snapshot_on_checkpoint; /* NULL: checkpoint port ignored */
	bool exit_after_snapshot;
	bool verify_memory; /* hash the memory section before starting */
	/* Devices beyond rng, as `smolvm run` would attach them (blk with the
	 * fork's own top layer, vsock with its own socket, fs shares). Strings
	 * borrowed; must outlive the VM. */
	unsigned ndevices;
	struct vm_device_spec devices[VM_MAX_DEVICES];
	struct vmm_log log; /* the VM's log sink (vm_config.log) */
};

struct snap_restore_times {
	uint64_t start_ns;     /* CLOCK_MONOTONIC at entry */
	uint64_t validated_ns; /* sections read and decoded */
	uint64_t created_ns;   /* VM created, RAM mapped */
	uint64_t done_ns;      /* all state set */
};

/* Restores opts->path into a new VM ready for vm_run (*out, owned by the
 * caller: vm_destroy). The vm's config keeps pointers into opts: opts must
 * outlive the VM. times may be NULL. warn (may be NULL) gets a line that
 * the caller should show even when the restore succeeds (the host's CPU
 * stepping differs from the saving host's), or an empty message; the
 * library never prints. */
int snap_restore(const struct snap_restore_opts *opts, struct vm **out,
		 struct snap_restore_times *times, struct vmm_err *warn, struct vmm_err *err);

#endif
