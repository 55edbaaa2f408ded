/* backend: backend selection and the dispatch shared by all backends. */
#include "backend/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FALLBACK "backend auto: using the sandbox backend (weaker isolation, no memory snapshot): "

bool backend_kvm_usable(char *why, size_t len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int e = errno;
	if (fd < 0) {
		snprintf(why, len, "/dev/kvm %s",
			 e == ENOENT ? "does not exist"
			 : e == EACCES || e == EPERM
			     ? "is not accessible to this user (add it to the kvm group)"
			     : strerror(e));
		return false;
	}
	close(fd);
	if (access("/sys/module/kvm_pvm", F_OK) == 0) {
		snprintf(why, len,
			 "/dev/kvm is PVM (/sys/module/kvm_pvm), which runs unmodified guests "
			 "only under emulation");
		return false;
	}
	why[0] = '\0';
	return true;
}

void backend_detect(enum suite_backend requested, const struct suite *s,
		    const struct backend_opts *o, enum suite_backend *out, char *note,
		    size_t notelen)
{
	char why[400];
	note[0] = '\0';
	if (requested != SUITE_BACKEND_AUTO) {
		*out = requested;
		return;
	}
	*out = SUITE_BACKEND_SANDBOX;
	if (!backend_kvm_usable(why, sizeof(why))) {
		snprintf(note, notelen, FALLBACK "%s", why);
		return;
	}
	if (!o->smolvm_path) {
		snprintf(note, notelen,
			 FALLBACK "the smolvm binary was not found next to smoltest (build the "
				  "smolvm target or set SMOLTEST_SMOLVM)");
		return;
	}
	if (!vm_image_available(s, o, why, sizeof(why))) {
		snprintf(note, notelen, FALLBACK "%s", why);
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
