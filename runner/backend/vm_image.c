/* vm_image: the kernel and initrd a suite's VMs boot (vm_backend.h).
 *
 * Without vm.kernel the guest is the default image: `smoltest image build`
 * of the newest Debian cloud kernel package that ci/fetch-kernel keeps in
 * its cache, with this build's agent and busybox. It is built once into
 * <cache>/images/<key>/ where key hashes the content of the package, the
 * agent and busybox, so a second run (or a second suite) does not rebuild
 * it and a new agent does. The directory appears by rename(2) of a
 * complete build, as cache entries do. */
#include "backend/vm_backend.h"
#include "cache/cache_tree.h"
#include "image.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define IMAGE_FORMAT 1

int vm_backend_hash_file(const char *path, const char *cache_dir, char out[17])
{
	char index_dir[PATH_MAX];
	if (cache_dir && (size_t)snprintf(index_dir, sizeof(index_dir), "%s/index", cache_dir) >=
			     sizeof(index_dir))
		return -ENAMETOOLONG;
	uint64_t h;
	int rc = cache_file_hash(path, cache_dir ? index_dir : NULL, &h);
	if (!rc)
		snprintf(out, 17, "%016llx", (unsigned long long)h);
	return rc;
}

static bool is_cloud_deb(const char *name)
{
	size_t n = strlen(name);
	return util_starts_with(name, "linux-image-") && strstr(name, "-cloud-amd64_") && n > 10 &&
	       !strcmp(name + n - 10, "_amd64.deb");
}

int vm_backend_find_kernel_deb(const char *dir, char *out, size_t len)
{
	DIR *d = dir ? opendir(dir) : NULL;
	if (!d)
		return -ENOENT;
	char best[256] = "";
	struct dirent *e;
	while ((e = readdir(d)))
		if (is_cloud_deb(e->d_name) && strlen(e->d_name) < sizeof(best) &&
		    (!best[0] || strverscmp(e->d_name, best) > 0))
			snprintf(best, sizeof(best), "%s", e->d_name);
	closedir(d);
	if (!best[0])
		return -ENOENT;
	if ((size_t)snprintf(out, len, "%s/%s", dir, best) >= len)
		return -ENAMETOOLONG;
	return 0;
}

bool vm_image_available(const struct suite *s, const struct backend_opts *o, char *why, size_t len)
{
	char deb[PATH_MAX];
	why[0] = '\0';
	if (s->vm.kernel)
		return true;
	if (vm_backend_find_kernel_deb(o->kernel_cache_dir, deb, sizeof(deb)) == 0)
		return true;
	snprintf(why, len,
		 "no guest kernel: no linux-image-*-cloud-amd64 package in %s; run "
		 "ci/fetch-kernel to download one (or set vm.kernel and vm.initrd)",
		 o->kernel_cache_dir ? o->kernel_cache_dir : "the kernel cache");
	return false;
}

static int check_file(const char *field, const char *path, const struct suite *s, char *err,
		      size_t errlen)
{
	struct stat st;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		return 0;
	int e = errno;
	snprintf(err, errlen, "backend vm: %s: %s %s: %s", s->file, field, path,
		 stat(path, &st) == 0 ? "is not a regular file" : strerror(e));
	return -ENOENT;
}

int vm_backend_rootfs_resolve(const struct suite *s, char *path, size_t len, char *fstype,
			      size_t fslen, char *err, size_t errlen)
{
	const char *given = s->vm.rootfs;
	char joined[PATH_MAX];
	/* relative to the suite file, as shares are */
	if ((size_t)snprintf(joined, sizeof(joined), "%s%s%s", given[0] == '/' ? "" : s->dir,
			     given[0] == '/' ? "" : "/", given) >= sizeof(joined)) {
		snprintf(err, errlen, "backend vm: %s: vm.rootfs: path too long", s->file);
		return -ENAMETOOLONG;
	}
	int fd = open(joined, O_RDONLY | O_CLOEXEC | O_NONBLOCK), rc = 0;
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		rc = -errno;
		snprintf(err, errlen, "backend vm: %s: vm.rootfs %s: %s", s->file, given,
			 strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen,
			 "backend vm: %s: vm.rootfs %s is not a regular file (give an ext4 or "
			 "erofs image, e.g. from smoltest image rootfs)",
			 s->file, given);
		rc = -EINVAL;
		goto out;
	}
	/* ext2/3/4: le16 0xEF53 at 1080; erofs: le32 0xE0F5E1E2 at 1024 */
	uint8_t sb[64] = {0};
	ssize_t got = pread(fd, sb, sizeof(sb), 1024);
	const char *type = NULL;
	if (got >= 58 && sb[56] == 0x53 && sb[57] == 0xEF)
		type = "ext4";
	else if (got >= 4 && sb[0] == 0xE2 && sb[1] == 0xE1 && sb[2] == 0xF5 && sb[3] == 0xE0)
		type = "erofs";
	if (!type) {
		snprintf(err, errlen,
			 "backend vm: %s: vm.rootfs %s is neither an ext4 nor an erofs image "
			 "(no superblock magic); build one with smoltest image rootfs",
			 s->file, given);
		rc = -EINVAL;
		goto out;
	}
	snprintf(fstype, fslen, "%s", type);
	char real[PATH_MAX];
	if (!realpath(joined, real) || (size_t)snprintf(path, len, "%s", real) >= len) {
		rc = -ENAMETOOLONG;
		snprintf(err, errlen, "backend vm: %s: vm.rootfs %s: path too long", s->file,
			 given);
		goto out;
	}
	if (strpbrk(path, ",=")) {
		snprintf(err, errlen,
			 "backend vm: %s: vm.rootfs %s contains ',' or '=', which a smolvm "
			 "--disk cannot carry; rename it",
			 s->file, path);
		rc = -EINVAL;
	}
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Builds the default image of deb into images/<key> unless it is there. */
static int default_image(const char *deb, const struct backend_opts *o, const char *module,
			 struct vm_backend_image *img, char *err, size_t errlen)
{
	char hdeb[17], hagent[17], hbb[17];
	int rc;
	if ((rc = vm_backend_hash_file(deb, o->cache_dir, hdeb))) {
		snprintf(err, errlen, "backend vm: cannot read the kernel package %s: %s", deb,
			 strerror(-rc));
		return rc;
	}
	if ((rc = vm_backend_hash_file(o->agent_path, o->cache_dir, hagent))) {
		snprintf(err, errlen,
			 "backend vm: cannot read the agent %s: %s (build the smoltest_agent "
			 "target or set SMOLTEST_AGENT)",
			 o->agent_path, strerror(-rc));
		return rc;
	}
	if ((rc = vm_backend_hash_file(SMOL_BUSYBOX_BIN, o->cache_dir, hbb))) {
		snprintf(err, errlen,
			 "backend vm: cannot read busybox %s: %s (install busybox-static)",
			 SMOL_BUSYBOX_BIN, strerror(-rc));
		return rc;
	}
	char material[160], key[33];
	snprintf(material, sizeof(material), "image %d %s %s %s%s%s", IMAGE_FORMAT, hdeb, hagent,
		 hbb, module ? " +" : "", module ? module : "");
	XXH128_hash_t h = XXH3_128bits(material, strlen(material));
	snprintf(key, sizeof(key), "%016llx%016llx", (unsigned long long)h.high64,
		 (unsigned long long)h.low64);
	char dir[PATH_MAX], images[PATH_MAX];
	snprintf(images, sizeof(images), "%s/images", o->cache_dir);
	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", images, key) >= sizeof(dir))
		return -ENAMETOOLONG;
	if ((size_t)snprintf(img->kernel, sizeof(img->kernel), "%s/vmlinuz", dir) >=
		sizeof(img->kernel) ||
	    (size_t)snprintf(img->initrd, sizeof(img->initrd), "%s/initrd", dir) >=
		sizeof(img->initrd))
		return -ENAMETOOLONG;
	img->built = true;
	snprintf(img->key, sizeof(img->key), "%s", key);
	if (access(img->kernel, R_OK) == 0 && access(img->initrd, R_OK) == 0) {
		/* used now: `cache prune` keeps an image a run is starting from
		 * before any entry names it (cache_prune_images) */
		char manifest[PATH_MAX + 16];
		snprintf(manifest, sizeof(manifest), "%s/manifest", dir);
		utimensat(AT_FDCWD, manifest, NULL, 0);
		return 0;
	}
	if ((rc = util_mkdir_p(images, 0755))) {
		snprintf(err, errlen, "backend vm: cannot create %s: %s", images, strerror(-rc));
		return rc;
	}
	char tmp[PATH_MAX];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.build-%s.XXXXXX", images, key) >= sizeof(tmp))
		return -ENAMETOOLONG;
	if (!mkdtemp(tmp)) {
		rc = -errno;
		snprintf(err, errlen, "backend vm: cannot create a build directory in %s: %s",
			 images, strerror(errno));
		return rc;
	}
	fprintf(stderr, "smoltest: building the guest image from %s (once, kept in %s)\n", deb,
		dir);
	char *extra[1] = {(char *)module};
	struct image_opts io = {.kernel_deb = deb,
				.busybox = SMOL_BUSYBOX_BIN,
				.agent = o->agent_path,
				.outdir = tmp,
				.modules = module ? extra : NULL,
				.nmodules = module ? 1 : 0};
	struct image_result *r = NULL;
	char ierr[400] = "";
	rc = image_build(&io, &r, ierr, sizeof(ierr));
	image_result_destroy(r);
	if (rc) {
		util_rm_rf(tmp);
		snprintf(err, errlen, "backend vm: building the guest image: %s",
			 ierr[0] ? ierr : strerror(-rc));
		return rc;
	}
	if (rename(tmp, dir)) {
		rc = -errno;
		util_rm_rf(tmp);
		/* another run built it at the same time: use theirs */
		if (rc != -EEXIST && rc != -ENOTEMPTY) {
			snprintf(err, errlen, "backend vm: cannot store the guest image in %s: %s",
				 dir, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int vm_backend_image_resolve(const struct suite *s, const struct backend_opts *o,
			     const char *module, struct vm_backend_image *img, char *err,
			     size_t errlen)
{
	memset(img, 0, sizeof(*img));
	if (s->vm.kernel || s->vm.initrd) {
		if (!s->vm.kernel || !s->vm.initrd) {
			snprintf(err, errlen,
				 "backend vm: %s: vm.%s is given without vm.%s: give both (an "
				 "initrd with the agent as /init, from smoltest image build), or "
				 "neither for the default image",
				 s->file, s->vm.kernel ? "kernel" : "initrd",
				 s->vm.kernel ? "initrd" : "kernel");
			return -EINVAL;
		}
		int rc = check_file("vm.kernel", s->vm.kernel, s, err, errlen);
		if (!rc)
			rc = check_file("vm.initrd", s->vm.initrd, s, err, errlen);
		if (rc)
			return rc;
		snprintf(img->kernel, sizeof(img->kernel), "%s", s->vm.kernel);
		snprintf(img->initrd, sizeof(img->initrd), "%s", s->vm.initrd);
		return 0;
	}
	char deb[PATH_MAX];
	if (vm_backend_find_kernel_deb(o->kernel_cache_dir, deb, sizeof(deb))) {
		char why[400];
		vm_image_available(s, o, why, sizeof(why));
		snprintf(err, errlen, "backend vm: %s", why);
		return -ENOENT;
	}
	if (!o->cache_dir) {
		snprintf(err, errlen,
			 "backend vm: no cache directory for the default guest image (set HOME "
			 "or XDG_CACHE_HOME, or give vm.kernel and vm.initrd)");
		return -ENOENT;
	}
	return default_image(deb, o, module, img, err, errlen);
}
