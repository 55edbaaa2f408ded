/* snap_save: writes a running VM's complete state to a .smolsnap file.
 *
 * Sections, in file order: config, vcpu.0..N-1, vm, dev.<name>.<i> for each
 * virtio device (transport + device state through vmmio_save), memory.
 * The VM must be paused (vm_pause) for the whole call; snap_save never
 * resumes it. */
#ifndef SMOL_SNAP_SAVE_H
#define SMOL_SNAP_SAVE_H

#include "smolvm/err.h"
#include "snap_writer.h"

#include <stdint.h>

struct vm;

struct snap_save_stats {
	/* The disk layer this snapshot froze into itself (its top layer), to be
	 * marked frozen once the VM has let go of it (snap_ctl_destroy); empty
	 * when there is none. The VM must end without writing to it again. */
	char freeze_path[4096];
	uint64_t total_ns;  /* whole save, including the memory section */
	uint64_t memory_ns; /* writing guest RAM */
	struct snap_mem_stats mem;
	uint64_t file_apparent, file_allocated;
};

/* Saves the paused vm to path (written to a temporary file and renamed, so
 * path is either the old file or the complete new one). A VM with a
 * writable disk layer can only be saved when it ends afterwards
 * (exit_after_snapshot): the layer becomes part of the snapshot and
 * stats->freeze_path names it. stats may be NULL only for VMs without one. */
int snap_save(struct vm *vm, const char *path, struct snap_save_stats *stats, struct vmm_err *err);

#define SNAP_SERIAL_SECTION "serial.com1"
#define SNAP_SERIAL_VERSION 1
#define SNAP_I8042_SECTION  "i8042"
#define SNAP_I8042_VERSION  1

/* Section name of virtio device i with ops name `name`: "dev.<name>.<i>". */
int snap_dev_section_name(const char *name, unsigned i, char *buf, size_t len);

#endif
