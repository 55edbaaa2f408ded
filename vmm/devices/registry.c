/* The table of device kinds that vm_config.devices may name
 * (devices.def). */
#include "devices/registry.h"

#include <string.h>

#define VM_DEVICE(kind, fn) int fn(struct vm *vm, const char *arg);
#include "devices/devices.def"
#undef VM_DEVICE

static const struct vm_device_kind kinds[] = {
#define VM_DEVICE(kind, fn) {kind, fn},
#include "devices/devices.def"
#undef VM_DEVICE
};

const struct vm_device_kind *vm_device_kind_find(const char *kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return &kinds[i];
	return NULL;
}
