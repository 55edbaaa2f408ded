/* backend: backend selection and the dispatch shared by all backends. */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The VM backend is designed (backend.h) but not wired to smolvm's
 * snapshot/fork yet: auto must not pick it. Flip when vm_backend_create()
 * starts instances. */
#define BACKEND_VM_WIRED 0

void backend_detect(enum suite_backend requested, enum suite_backend *out, char *note,
		    size_t notelen)
{
	note[0] = '\0';
	if (requested != SUITE_BACKEND_AUTO) {
		*out = requested;
		return;
	}
	*out = SUITE_BACKEND_SANDBOX;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int e = errno;
	if (fd < 0) {
		snprintf(note, notelen,
			 "backend auto: using the sandbox backend (weaker isolation, no memory "
			 "snapshot): /dev/kvm %s",
			 e == ENOENT ? "does not exist"
			 : e == EACCES || e == EPERM
			     ? "is not accessible to this user (add it to the kvm group)"
			     : strerror(e));
		return;
	}
	close(fd);
	if (access("/sys/module/kvm_pvm", F_OK) == 0) {
		snprintf(note, notelen,
			 "backend auto: using the sandbox backend (weaker isolation, no memory "
			 "snapshot): /dev/kvm is PVM (/sys/module/kvm_pvm), which runs unmodified "
			 "guests only under emulation");
		return;
	}
	if (!BACKEND_VM_WIRED) {
		snprintf(note, notelen,
			 "backend auto: using the sandbox backend (weaker isolation, no memory "
			 "snapshot): the vm backend is not wired into this build yet");
		return;
	}
	*out = SUITE_BACKEND_VM;
}

int backend_create(enum suite_backend kind, const struct suite *s, const struct backend_opts *o,
		   struct backend **out, char *err, size_t errlen)
{
	switch (kind) {
	case SUITE_BACKEND_SANDBOX:
		return sandbox_backend_create(s, o, out, err, errlen);
	case SUITE_BACKEND_VM:
		return vm_backend_create(s, o, out, err, errlen);
	default:
		snprintf(err, errlen, "backend: resolve 'auto' with backend_detect() first");
		return -EINVAL;
	}
}

void backend_destroy(struct backend *b)
{
	if (b && b->ops && b->ops->destroy)
		b->ops->destroy(b);
}

int vm_backend_create(const struct suite *s, const struct backend_opts *o, struct backend **out,
		      char *err, size_t errlen)
{
	(void)s;
	(void)o;
	(void)out;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int e = errno;
	if (fd >= 0)
		close(fd);
	snprintf(err, errlen,
		 "backend vm: not available: this runner does not drive smolvm yet (smolvm "
		 "can boot, snapshot and fork VMs, but the runner's vm backend is not "
		 "wired to it)%s%s; use --backend sandbox (or backend: auto)",
		 fd < 0 ? ", and /dev/kvm cannot be opened: " : "", fd < 0 ? strerror(e) : "");
	return -ENOTSUP;
}
