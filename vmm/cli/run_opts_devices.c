/* `smolvm run --disk / --vsock / --share`: each adds a device spec that
 * the device's attach function (devices.def) parses when the VM is built. */
#include "cli/cli.h"

/* vm.h embeds struct kvm_xsave (a flexible array in newer uapi headers) in
 * struct vcpu_state; clang calls that a GNU extension. Not ours to change. */
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wgnu-variable-sized-type-not-at-end"
#endif
#include "smolvm/vm.h"
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

#include <errno.h>
#include <stdio.h>

static int add(struct vm_config *cfg, const char *kind, const char *opt, const char *arg)
{
	if (!arg || !*arg) {
		fprintf(stderr, "smolvm run: --%s needs a value\n", opt);
		return -EINVAL;
	}
	int rc = vm_config_add_device(cfg, kind, arg);
	if (rc)
		fprintf(stderr, "smolvm run: --%s %s: at most %d devices\n", opt, arg,
			VM_MAX_DEVICES);
	return rc;
}

int run_opt_disk(struct vm_config *cfg, const char *arg)
{
	return add(cfg, "blk", "disk", arg);
}

int run_opt_vsock(struct vm_config *cfg, const char *arg)
{
	return add(cfg, "vsock", "vsock", arg);
}

int run_opt_share(struct vm_config *cfg, const char *arg)
{
	return add(cfg, "fs", "share", arg);
}
