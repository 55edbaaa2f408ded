/* snap_archive: libarchive through dlopen (snap_archive.h). */
#include "snap_archive.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

int snap_archive_open(struct snap_archive *la, struct vmm_err *err)
{
	memset(la, 0, sizeof(*la));
	la->dl = dlopen(SNAP_ARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!la->dl)
		return vmm_errf(err, -ENOSYS,
				"bundles need libarchive, which could not be loaded (%s): install "
				"the libarchive13 package",
				dlerror());
	void *p;
	/* POSIX lets a dlsym() result be a function; ISO C has no cast for it. */
#define SNAP_ARCHIVE_LOAD(ret, name, params)                                                       \
	if (!(p = dlsym(la->dl, #name))) {                                                         \
		snap_archive_close(la);                                                            \
		return vmm_errf(err, -ENOSYS,                                                      \
				"bundles need %s, which %s lacks: install a libarchive with "      \
				"zstd support (3.3.3 or later)",                                   \
				#name, SNAP_ARCHIVE_SONAME);                                       \
	}                                                                                          \
	memcpy(&la->name, &p, sizeof(p));
	SNAP_ARCHIVE_FUNCS(SNAP_ARCHIVE_LOAD)
#undef SNAP_ARCHIVE_LOAD
	return 0;
}

void snap_archive_close(struct snap_archive *la)
{
	if (la->dl)
		dlclose(la->dl);
	memset(la, 0, sizeof(*la));
}
