/* iobus: range lookup for PIO and MMIO exits (iobus.h). */
#include "core/iobus.h"

#include <errno.h>
#include <string.h>

int iobus_register(struct iobus *bus, uint64_t base, uint64_t len, iobus_fn fn, void *opaque)
{
	if (len == 0 || len - 1 > UINT64_MAX - base || !fn)
		return -EINVAL;
	if (bus->n == IOBUS_MAX_RANGES)
		return -ENOSPC;
	uint64_t last = base + len - 1;
	unsigned pos = 0;
	for (; pos < bus->n; pos++) {
		const struct iobus_range *r = &bus->r[pos];
		if (base <= r->base + r->len - 1 && r->base <= last)
			return -EEXIST;
		if (r->base > base)
			break;
	}
	for (unsigned i = pos; i < bus->n; i++)
		if (bus->r[i].base <= last)
			return -EEXIST;
	memmove(&bus->r[pos + 1], &bus->r[pos], (bus->n - pos) * sizeof(bus->r[0]));
	bus->r[pos] = (struct iobus_range){.base = base, .len = len, .fn = fn, .opaque = opaque};
	bus->n++;
	return 0;
}

int iobus_unregister(struct iobus *bus, uint64_t base)
{
	for (unsigned i = 0; i < bus->n; i++) {
		if (bus->r[i].base == base) {
			memmove(&bus->r[i], &bus->r[i + 1], (bus->n - i - 1) * sizeof(bus->r[0]));
			bus->n--;
			return 0;
		}
	}
	return -ENOENT;
}

bool iobus_dispatch(const struct iobus *bus, uint64_t addr, void *data, uint32_t len, bool is_write)
{
	unsigned lo = 0, hi = bus->n;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct iobus_range *r = &bus->r[mid];
		if (addr < r->base) {
			hi = mid;
		} else if (addr - r->base >= r->len) {
			lo = mid + 1;
		} else {
			uint64_t off = addr - r->base;
			if (len > r->len - off)
				break;
			r->fn(r->opaque, off, data, len, is_write);
			return true;
		}
	}
	if (!is_write)
		memset(data, 0xff, len);
	return false;
}
