/* `smolvm run --disk / --vsock / --share`: each adds a device spec that
 * the device's attach function (devices.def) parses when the VM is built. */
#include "cli/cli.h"

#include "smolvm/vm.h"

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
