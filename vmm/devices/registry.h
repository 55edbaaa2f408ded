/* registry: device kinds that `struct vm_config.devices` can name. Rows
 * come from devices.def; see there to add one. */
#ifndef SMOL_REGISTRY_H
#define SMOL_REGISTRY_H

struct vm;

struct vm_device_kind {
	const char *kind;
	/* Parses arg, creates the device, attaches it (vm_add_virtio).
	 * On failure returns -errno with one line in vm_attach_err(vm)
	 * naming the option and the bad value; never prints. */
	int (*attach)(struct vm *vm, const char *arg);
};

/* The row for kind, or NULL (borrowed, static). */
const struct vm_device_kind *vm_device_kind_find(const char *kind);

#endif
