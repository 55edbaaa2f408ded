/* vfs request boundary: header validation, INIT/DESTROY, dispatch. */
#include "fs/vfs_internal.h"

#include "smolvm/err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define DEFAULT_MAX_NODES   (1u << 20)
#define DEFAULT_MAX_HANDLES 65536u
#define LIMIT_CAP	    (1u << 24)
#define DIRBUF_SIZE	    32768
/* Node fds and handles of a share at its default limits, and some room. */
#define VFS_NOFILE_WANT (DEFAULT_MAX_NODES + DEFAULT_MAX_HANDLES + 1024ul)

int vfs_create(const char *root_dir, bool read_only, const struct vfs_limits *limits,
	       struct vfs **out, struct vmm_err *err)
{
	struct stat st;
	struct vfs *fs;
	int fd, rc;

	*out = NULL;
	fd = open(root_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		return vmm_errf(err, rc, "share %s: cannot open the directory: %s", root_dir,
				strerror(-rc));
	}
	if (vfs_stat_fd(fd, &st) || !S_ISDIR(st.st_mode)) {
		close(fd);
		return vmm_errf(err, -ENOTDIR, "share %s: not a directory", root_dir);
	}
	fs = calloc(1, sizeof(*fs));
	if (!fs) {
		close(fd);
		return vmm_errf(err, -ENOMEM, "share %s: out of memory", root_dir);
	}
	fs->read_only = read_only;
	fs->lim.max_nodes = DEFAULT_MAX_NODES;
	fs->lim.max_handles = DEFAULT_MAX_HANDLES;
	if (limits && limits->max_nodes)
		fs->lim.max_nodes = limits->max_nodes < LIMIT_CAP ? limits->max_nodes : LIMIT_CAP;
	if (limits && limits->max_handles)
		fs->lim.max_handles =
		    limits->max_handles < LIMIT_CAP ? limits->max_handles : LIMIT_CAP;
	fs->dirbuf = malloc(DIRBUF_SIZE);
	rc = fs->dirbuf ? vfs_nodes_init(fs, fd) : -ENOMEM;
	if (rc) {
		/* The root fd belongs to the node table only once it is in it. */
		if (!fs->nodes || fs->nodes_live == 0)
			close(fd);
		vfs_destroy(fs);
		return vmm_errf(err, rc, "share %s: cannot set up: %s", root_dir, strerror(-rc));
	}
	*out = fs;
	return 0;
}

void vfs_destroy(struct vfs *fs)
{
	if (!fs)
		return;
	vfs_nodes_fini(fs);
	free(fs->dirbuf);
	free(fs);
}

bool vfs_destroyed(const struct vfs *fs)
{
	return fs->destroyed;
}

void vfs_counts(const struct vfs *fs, uint32_t *nodes, uint32_t *handles)
{
	*nodes = fs->nodes_live;
	*handles = fs->fhs_live;
}

int vfs_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	/* With CAP_SYS_RESOURCE (smolvm as root) past the hard limit, up to
	 * fs.nr_open as virtiofsd does: a hard limit of 4096 (a bare init's)
	 * ran out after stress-ng's symlink stressor, and every later
	 * LOOKUP and OPEN failed with EMFILE in the guest. */
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");
	unsigned long nr_open = 0;
	if (f) {
		if (fscanf(f, "%lu", &nr_open) != 1)
			nr_open = 0;
		fclose(f);
	}
	if (nr_open > VFS_NOFILE_WANT)
		nr_open = VFS_NOFILE_WANT;
	if (nr_open > rl.rlim_max) {
		struct rlimit up = {.rlim_cur = nr_open, .rlim_max = nr_open};
		if (!setrlimit(RLIMIT_NOFILE, &up))
			return 0;
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	return 0;
}

int vfs_arg(const struct vfs_req *r, size_t size, const void **out)
{
	if (r->arg_len < size)
		return -EINVAL;
	*out = r->arg;
	return 0;
}

int vfs_reply(struct vfs_req *r, const void *data, size_t len)
{
	if (len > r->out_cap)
		return -ERANGE;
	memcpy(r->out, data, len);
	r->out_len = len;
	return 0;
}

int vfs_arg_string(const struct vfs_req *r, size_t off, const char **s, size_t *next)
{
	if (off >= r->arg_len)
		return -EINVAL;
	const char *p = (const char *)r->arg + off;
	const char *nul = memchr(p, '\0', r->arg_len - off);
	if (!nul || nul == p || (size_t)(nul - p) >= PATH_MAX)
		return -EINVAL;
	*s = p;
	if (next)
		*next = off + (size_t)(nul - p) + 1;
	return 0;
}

int vfs_arg_name(const struct vfs_req *r, size_t off, const char **name, size_t *next)
{
	const char *n;
	int rc = vfs_arg_string(r, off, &n, next);
	if (rc)
		return rc;
	size_t len = strlen(n);
	if (len > NAME_MAX || strchr(n, '/'))
		return -EINVAL;
	/* "." and ".." would step outside the one-component rule that keeps
	 * every *at() call below its parent. */
	if (!strcmp(n, ".") || !strcmp(n, ".."))
		return -EPERM;
	*name = n;
	return 0;
}

/* FUSE_INIT (fuse.h protocol 7.x): agree on the version and limits. */
static int op_init(struct vfs *fs, struct vfs_req *r)
{
	const struct fuse_init_in *in;
	struct fuse_init_out o;
	int rc =
	    vfs_arg(r, offsetof(struct fuse_init_in, flags) + sizeof(uint32_t), (const void **)&in);
	if (rc)
		return rc;
	memset(&o, 0, sizeof(o));
	o.major = FUSE_KERNEL_VERSION;
	o.minor = FUSE_KERNEL_MINOR_VERSION;
	if (in->major != FUSE_KERNEL_VERSION) {
		/* A newer major: reply with ours and let the client retry
		 * (fuse.h: "the kernel ... will send a new INIT"). An older one
		 * we cannot speak. */
		if (in->major < FUSE_KERNEL_VERSION)
			return -EPROTO;
		memcpy(r->out, &o, 8);
		r->out_len = 8;
		return 0;
	}
	if (in->minor < 12)
		return -EPROTO;
	fs->proto_minor =
	    in->minor < FUSE_KERNEL_MINOR_VERSION ? in->minor : FUSE_KERNEL_MINOR_VERSION;
	o.minor = fs->proto_minor;
	/* AUTO_INVAL_DATA: the client drops a file's cached pages when it
	 * sees its mtime or size change (what lets a read-only share keep
	 * them across opens: FOPEN_KEEP_CACHE). CACHE_SYMLINKS: a symlink's
	 * target never changes, so the client keeps READLINK's answer (every
	 * exec through the host's /bin -> usr/bin asked again). */
	uint32_t want = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS |
			FUSE_READDIRPLUS_AUTO | FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES |
			FUSE_ATOMIC_O_TRUNC | FUSE_AUTO_INVAL_DATA | FUSE_CACHE_SYMLINKS;
	o.flags = in->flags & want;
	o.max_readahead = in->max_readahead;
	o.max_write = VFS_MAX_IO;
	o.max_background = 16;
	o.congestion_threshold = 12;
	o.time_gran = 1;
	o.max_pages = VFS_MAX_IO / 4096;
	size_t size = fs->proto_minor < 23 ? FUSE_COMPAT_22_INIT_OUT_SIZE : sizeof(o);
	if (size > r->out_cap)
		return -EINVAL;
	memcpy(r->out, &o, size);
	r->out_len = size;
	fs->init_done = true;
	return 0;
}

static int dispatch(struct vfs *fs, struct vfs_req *r)
{
	uint32_t op = r->in->opcode;
	if (op == FUSE_INIT)
		return op_init(fs, r);
	if (!fs->init_done)
		return -EIO; /* fuse.h: nothing but INIT before INIT */
	if (op == FUSE_DESTROY) {
		fs->destroyed = true;
		return 0;
	}
	switch (op) {
#define X(code, fn)                                                                                \
	case FUSE_##code:                                                                          \
		return vfs_op_##fn(fs, r);
		VFS_OPS(X)
#undef X
	default:
		return -ENOSYS;
	}
}

int vfs_handle(struct vfs *fs, const void *req, size_t req_len, void *reply, size_t reply_cap,
	       size_t *reply_len)
{
	struct fuse_in_header in;
	struct fuse_out_header oh;
	struct vfs_req r;
	int rc;

	*reply_len = 0;
	if (req_len < sizeof(in))
		return -EINVAL;
	memcpy(&in, req, sizeof(in));
	if (in.len != req_len)
		return -EINVAL;
	if (reply_cap < sizeof(oh))
		return -ENOBUFS;
	memset(&r, 0, sizeof(r));
	r.in = &in;
	r.arg = (const uint8_t *)req + sizeof(in);
	r.arg_len = req_len - sizeof(in);
	r.out = (uint8_t *)reply + sizeof(oh);
	r.out_cap = reply_cap - sizeof(oh);
	rc = dispatch(fs, &r);
	if (r.no_reply)
		return 0;
	if (rc > 0 || rc < -4095)
		rc = -EIO;
	oh.unique = in.unique;
	oh.error = rc;
	oh.len = (uint32_t)(sizeof(oh) + (rc ? 0 : r.out_len));
	memcpy(reply, &oh, sizeof(oh));
	*reply_len = oh.len;
	return 0;
}
