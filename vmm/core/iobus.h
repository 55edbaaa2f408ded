/* iobus: dispatches the guest's port-I/O and MMIO exits to devices.
 *
 * A bus is a sorted set of non-overlapping ranges. vCPU threads look up and
 * call handlers concurrently; each device serialises its own state. Ranges
 * are registered before the vCPUs start (or while they are paused) and never
 * change while a vCPU can dispatch. Accesses that hit no range are ignored
 * (writes) or read as all ones (reads), like an empty bus. */
#ifndef SMOL_IOBUS_H
#define SMOL_IOBUS_H

#include <stdbool.h>
#include <stdint.h>

/* data holds len bytes (1, 2, 4 or 8; little endian); off is relative to
 * the registered base. For reads the handler fills data. */
typedef void (*iobus_fn)(void *opaque, uint64_t off, void *data, uint32_t len, bool is_write);

#define IOBUS_MAX_RANGES 64

struct iobus_range {
	uint64_t base, len;
	iobus_fn fn;
	void *opaque;
};

struct iobus {
	unsigned n;
	struct iobus_range r[IOBUS_MAX_RANGES];
};

/* Adds [base, base + len). -EEXIST on overlap, -ENOSPC when full, -EINVAL on
 * len 0 or overflow. opaque is borrowed. */
int iobus_register(struct iobus *bus, uint64_t base, uint64_t len, iobus_fn fn, void *opaque);

/* Removes the range starting at base. -ENOENT if none. */
int iobus_unregister(struct iobus *bus, uint64_t base);

/* Dispatches one access; returns true if a device handled it. An access
 * that straddles the end of a range is not dispatched (reads give ones). */
bool iobus_dispatch(const struct iobus *bus, uint64_t addr, void *data, uint32_t len,
		    bool is_write);

#endif
