/* i8042 reset-only keyboard controller (i8042.h). */
#include "devices/i8042.h"

#include "arch/x86_64/layout.h"
#include "core/iobus.h"
#include "smolvm/vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define I8042_DATA  0x60
#define I8042_CMD   0x64
#define I8042_RESET 0xfe

struct i8042 {
	struct vm *vm;
};

static void i8042_io(void *opaque, uint64_t off, void *data, uint32_t len, bool is_write)
{
	struct i8042 *k = opaque;
	uint64_t port = I8042_DATA + off;
	if (!is_write) {
		memset(data, 0, len); /* status 0: output empty, input empty */
		return;
	}
	if (port == I8042_CMD && len == 1 && *(uint8_t *)data == I8042_RESET)
		vm_stop(k->vm, VM_EXIT_RESET, 0, "guest reset through the i8042");
}

int i8042_create(struct vm *vm, struct i8042 **out)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->vm = vm;
	/* Ports 0x60..0x64; 0x61 (speaker/NMI) is KVM's PIT speaker port, but
	 * the in-kernel PIT claims it before it reaches us. */
	int err = iobus_register(vm_pio_bus(vm), I8042_DATA, 5, i8042_io, k);
	if (err) {
		free(k);
		return err;
	}
	*out = k;
	return 0;
}

void i8042_destroy(struct i8042 *k)
{
	if (!k)
		return;
	iobus_unregister(vm_pio_bus(k->vm), I8042_DATA);
	free(k);
}
