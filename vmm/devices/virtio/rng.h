/* vrng: virtio entropy device (virtio 1.2 §5.4): one request queue; every
 * device-writable buffer the driver posts is filled from getrandom(2). */
#ifndef SMOL_VRNG_H
#define SMOL_VRNG_H

struct vm;

/* Creates a virtio-rng device and attaches it to vm (vm_add_virtio). arg is
 * must be NULL or "" (-EINVAL with one line in vm_attach_err(vm)
 * otherwise). The device belongs to the VM afterwards. */
int vrng_attach(struct vm *vm, const char *arg);

#endif
