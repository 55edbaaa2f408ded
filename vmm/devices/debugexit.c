/* Debug-exit port (debugexit.h). */
#include "devices/debugexit.h"

#include "arch/x86_64/layout.h"
#include "core/iobus.h"
#include "smolvm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct debugexit {
	struct vm *vm;
};

static void debugexit_io(void *opaque, uint64_t off, void *data, uint32_t len, bool is_write)
{
	struct debugexit *d = opaque;
	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	if (off != 0)
		return;
	uint32_t v = 0;
	memcpy(&v, data, len < sizeof(v) ? len : sizeof(v));
	char why[64];
	snprintf(why, sizeof(why), "guest wrote %u to the debug-exit port", v);
	vm_stop(d->vm, VM_EXIT_DEBUG_PORT, (int)(v & 0xff), why);
}

int debugexit_create(struct vm *vm, struct debugexit **out)
{
	struct debugexit *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->vm = vm;
	int err = iobus_register(vm_pio_bus(vm), X86_DEBUG_EXIT_PORT, 1, debugexit_io, d);
	if (err) {
		free(d);
		return err;
	}
	*out = d;
	return 0;
}

void debugexit_destroy(struct debugexit *d)
{
	if (!d)
		return;
	iobus_unregister(vm_pio_bus(d->vm), X86_DEBUG_EXIT_PORT);
	free(d);
}
