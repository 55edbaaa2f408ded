/* vfs nodes (FUSE inodes holding O_PATH fds) and open handles. */
#include "fs/vfs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define INIT_NODES   64
#define INIT_BUCKETS 64

static uint32_t hash_key(const struct vfs *fs, dev_t dev, ino_t ino)
{
	uint64_t h =
	    ((uint64_t)ino * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)dev * 0xc2b2ae3d27d4eb4full);
	return (uint32_t)(h >> 32) & (fs->nbuckets - 1);
}

void vfs_fill_attr(struct fuse_attr *a, const struct stat *st)
{
	memset(a, 0, sizeof(*a));
	a->ino = st->st_ino;
	a->size = (uint64_t)st->st_size;
	a->blocks = (uint64_t)st->st_blocks;
	a->atime = (uint64_t)st->st_atim.tv_sec;
	a->mtime = (uint64_t)st->st_mtim.tv_sec;
	a->ctime = (uint64_t)st->st_ctim.tv_sec;
	a->atimensec = (uint32_t)st->st_atim.tv_nsec;
	a->mtimensec = (uint32_t)st->st_mtim.tv_nsec;
	a->ctimensec = (uint32_t)st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->nlink = (uint32_t)st->st_nlink;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->rdev = (uint32_t)st->st_rdev;
	a->blksize = (uint32_t)st->st_blksize;
}

void vfs_proc_path(int fd, char buf[32])
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

int vfs_stat_fd(int fd, struct stat *st)
{
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	return 0;
}

mode_t vfs_guest_mode(uint32_t mode, bool dir)
{
	return (mode_t)(mode & (dir ? 03777u : 01777u));
}

static void bucket_insert(struct vfs *fs, uint32_t idx)
{
	struct vfs_node *n = &fs->nodes[idx];
	uint32_t b = hash_key(fs, n->dev, n->ino);
	n->hash_next = fs->buckets[b];
	fs->buckets[b] = idx;
}

static void bucket_remove(struct vfs *fs, uint32_t idx)
{
	struct vfs_node *n = &fs->nodes[idx];
	uint32_t *pp = &fs->buckets[hash_key(fs, n->dev, n->ino)];
	while (*pp && *pp != idx)
		pp = &fs->nodes[*pp].hash_next;
	if (*pp)
		*pp = n->hash_next;
}

static int rehash(struct vfs *fs, uint32_t nbuckets)
{
	uint32_t *b = calloc(nbuckets, sizeof(*b));
	if (!b)
		return -ENOMEM;
	free(fs->buckets);
	fs->buckets = b;
	fs->nbuckets = nbuckets;
	for (uint32_t i = 1; i < fs->nodes_cap; i++)
		if (fs->nodes[i].fd >= 0)
			bucket_insert(fs, i);
	return 0;
}

/* Grows the node array (doubling) and threads new slots on the free list. */
static int grow_nodes(struct vfs *fs)
{
	uint32_t ncap = fs->nodes_cap ? fs->nodes_cap * 2 : INIT_NODES;
	if (fs->nodes_cap >= fs->lim.max_nodes + 1)
		return -ENFILE;
	if (ncap > fs->lim.max_nodes + 1)
		ncap = fs->lim.max_nodes + 1;
	struct vfs_node *n = realloc(fs->nodes, ncap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	fs->nodes = n;
	for (uint32_t i = ncap; i-- > fs->nodes_cap;) {
		n[i].fd = -1;
		if (i == 0)
			continue; /* nodeid 0 is reserved by FUSE */
		n[i].free_next = fs->node_free;
		fs->node_free = i;
	}
	fs->nodes_cap = ncap;
	return fs->node_free ? 0 : -ENFILE;
}

static int node_add(struct vfs *fs, int fd, const struct stat *st, uint32_t *out)
{
	int rc;
	if (!fs->node_free) {
		rc = grow_nodes(fs);
		if (rc)
			return rc;
	}
	uint32_t idx = fs->node_free;
	struct vfs_node *n = &fs->nodes[idx];
	fs->node_free = n->free_next;
	n->fd = fd;
	n->nlookup = 1;
	n->dev = st->st_dev;
	n->ino = st->st_ino;
	bucket_insert(fs, idx);
	fs->nodes_live++;
	if (fs->nodes_live > fs->nbuckets)
		(void)rehash(fs, fs->nbuckets * 2); /* a failed grow only costs speed */
	*out = idx;
	return 0;
}

int vfs_nodes_init(struct vfs *fs, int root_fd)
{
	struct stat st;
	uint32_t idx;
	int rc = vfs_stat_fd(root_fd, &st);
	if (rc)
		return rc;
	rc = rehash(fs, INIT_BUCKETS);
	if (rc)
		return rc;
	rc = node_add(fs, root_fd, &st, &idx);
	if (rc)
		return rc;
	if (idx != FUSE_ROOT_ID)
		return -EINVAL;
	fs->nodes[idx].nlookup = UINT64_MAX / 2; /* the root never goes away */
	return 0;
}

void vfs_nodes_fini(struct vfs *fs)
{
	for (uint32_t i = 1; i < fs->nodes_cap; i++)
		if (fs->nodes[i].fd >= 0)
			close(fs->nodes[i].fd);
	for (uint32_t i = 1; i < fs->fhs_cap; i++)
		if (fs->fhs[i].fd >= 0)
			close(fs->fhs[i].fd);
	free(fs->nodes);
	free(fs->buckets);
	free(fs->fhs);
	fs->nodes = NULL;
	fs->buckets = NULL;
	fs->fhs = NULL;
}

int vfs_node_fd(const struct vfs *fs, uint64_t nodeid, int *fd)
{
	if (nodeid == 0 || nodeid >= fs->nodes_cap || fs->nodes[nodeid].fd < 0)
		return -ENOENT;
	*fd = fs->nodes[nodeid].fd;
	return 0;
}

int vfs_lookup_at(struct vfs *fs, int parent_fd, const char *name, struct fuse_entry_out *e)
{
	struct open_how how = {
	    .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	struct stat st;
	uint32_t idx;
	int fd, rc;

	fd = (int)syscall(SYS_openat2, parent_fd, name, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	rc = vfs_stat_fd(fd, &st);
	if (rc)
		goto fail;
	for (idx = fs->buckets[hash_key(fs, st.st_dev, st.st_ino)]; idx;
	     idx = fs->nodes[idx].hash_next) {
		if (fs->nodes[idx].dev == st.st_dev && fs->nodes[idx].ino == st.st_ino)
			break;
	}
	if (idx) {
		close(fd);
		fs->nodes[idx].nlookup++;
	} else {
		rc = node_add(fs, fd, &st, &idx);
		if (rc)
			goto fail;
	}
	memset(e, 0, sizeof(*e));
	e->nodeid = idx;
	e->entry_valid = VFS_ATTR_TTL;
	e->attr_valid = VFS_ATTR_TTL;
	vfs_fill_attr(&e->attr, &st);
	return 0;
fail:
	close(fd);
	return rc;
}

void vfs_node_forget(struct vfs *fs, uint64_t nodeid, uint64_t n)
{
	if (nodeid <= FUSE_ROOT_ID || nodeid >= fs->nodes_cap || fs->nodes[nodeid].fd < 0)
		return;
	struct vfs_node *node = &fs->nodes[nodeid];
	if (n < node->nlookup) {
		node->nlookup -= n;
		return;
	}
	bucket_remove(fs, (uint32_t)nodeid);
	close(node->fd);
	node->fd = -1;
	node->free_next = fs->node_free;
	fs->node_free = (uint32_t)nodeid;
	fs->nodes_live--;
}

int vfs_fh_add(struct vfs *fs, int fd, bool dir, uint64_t nodeid, uint32_t flags, uint64_t *fh)
{
	if (!fs->fh_free) {
		uint32_t ncap = fs->fhs_cap ? fs->fhs_cap * 2 : 16;
		if (fs->fhs_cap >= fs->lim.max_handles + 1)
			goto full;
		if (ncap > fs->lim.max_handles + 1)
			ncap = fs->lim.max_handles + 1;
		struct vfs_fh *h = realloc(fs->fhs, ncap * sizeof(*h));
		if (!h) {
			close(fd);
			return -ENOMEM;
		}
		fs->fhs = h;
		for (uint32_t i = ncap; i-- > fs->fhs_cap;) {
			h[i].fd = -1;
			if (i == 0)
				continue; /* fh 0 is never handed out */
			h[i].free_next = fs->fh_free;
			fs->fh_free = i;
		}
		fs->fhs_cap = ncap;
		if (!fs->fh_free)
			goto full;
	}
	uint32_t i = fs->fh_free;
	fs->fh_free = fs->fhs[i].free_next;
	fs->fhs[i].fd = fd;
	fs->fhs[i].dir = dir;
	fs->fhs[i].nodeid = nodeid;
	fs->fhs[i].flags = flags;
	fs->fhs_live++;
	*fh = i;
	return 0;
full:
	close(fd);
	return -ENFILE;
}

int vfs_fh_fd(const struct vfs *fs, uint64_t fh, bool dir, int *fd)
{
	if (fh == 0 || fh >= fs->fhs_cap || fs->fhs[fh].fd < 0 || fs->fhs[fh].dir != dir)
		return -EBADF;
	*fd = fs->fhs[fh].fd;
	return 0;
}

int vfs_fh_release(struct vfs *fs, uint64_t fh, bool dir)
{
	int fd, rc = vfs_fh_fd(fs, fh, dir, &fd);
	if (rc)
		return rc;
	close(fd);
	fs->fhs[fh].fd = -1;
	fs->fhs[fh].free_next = fs->fh_free;
	fs->fh_free = (uint32_t)fh;
	fs->fhs_live--;
	return 0;
}

/* ---- snapshot restore helpers (vfs_snap.c) ---- */

int vfs_node_install(struct vfs *fs, uint64_t nodeid, int fd, const struct stat *st,
		     uint64_t nlookup)
{
	if (nodeid <= FUSE_ROOT_ID || nodeid > fs->lim.max_nodes)
		return -EINVAL;
	while (nodeid >= fs->nodes_cap) {
		int rc = grow_nodes(fs);
		if (rc && rc != -ENFILE)
			return rc;
		if (rc)
			return rc;
	}
	struct vfs_node *n = &fs->nodes[nodeid];
	if (n->fd >= 0)
		return -EEXIST;
	n->fd = fd;
	n->nlookup = nlookup;
	n->dev = st->st_dev;
	n->ino = st->st_ino;
	bucket_insert(fs, (uint32_t)nodeid);
	fs->nodes_live++;
	return 0;
}

bool vfs_node_known(const struct vfs *fs, dev_t dev, ino_t ino)
{
	for (uint32_t i = fs->buckets[hash_key(fs, dev, ino)]; i; i = fs->nodes[i].hash_next)
		if (fs->nodes[i].dev == dev && fs->nodes[i].ino == ino)
			return true;
	return false;
}

int vfs_fh_install(struct vfs *fs, uint64_t fh, int fd, bool dir, uint64_t nodeid, uint32_t flags)
{
	if (fh == 0 || fh > fs->lim.max_handles)
		return -EINVAL;
	while (fh >= fs->fhs_cap) {
		uint32_t ncap = fs->fhs_cap ? fs->fhs_cap * 2 : 16;
		if (ncap > fs->lim.max_handles + 1)
			ncap = fs->lim.max_handles + 1;
		struct vfs_fh *h = realloc(fs->fhs, ncap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		for (uint32_t i = fs->fhs_cap; i < ncap; i++)
			h[i].fd = -1;
		fs->fhs = h;
		fs->fhs_cap = ncap;
	}
	if (fs->fhs[fh].fd >= 0)
		return -EEXIST;
	fs->fhs[fh] = (struct vfs_fh){.fd = fd, .dir = dir, .nodeid = nodeid, .flags = flags};
	fs->fhs_live++;
	return 0;
}

void vfs_rebuild_free_lists(struct vfs *fs)
{
	fs->node_free = 0;
	for (uint32_t i = fs->nodes_cap; i-- > 1;) {
		if (fs->nodes[i].fd < 0) {
			fs->nodes[i].free_next = fs->node_free;
			fs->node_free = i;
		}
	}
	fs->fh_free = 0;
	for (uint32_t i = fs->fhs_cap; i-- > 1;) {
		if (fs->fhs[i].fd < 0) {
			fs->fhs[i].free_next = fs->fh_free;
			fs->fh_free = i;
		}
	}
	if (fs->nodes_live > fs->nbuckets)
		(void)rehash(fs,
			     fs->nbuckets * 2 > fs->nodes_live ? fs->nbuckets * 2 : fs->nodes_live);
}

void vfs_reset(struct vfs *fs)
{
	for (uint32_t i = FUSE_ROOT_ID + 1; i < fs->nodes_cap; i++) {
		if (fs->nodes[i].fd >= 0) {
			close(fs->nodes[i].fd);
			fs->nodes[i].fd = -1;
		}
	}
	for (uint32_t i = 1; i < fs->fhs_cap; i++) {
		if (fs->fhs[i].fd >= 0) {
			close(fs->fhs[i].fd);
			fs->fhs[i].fd = -1;
		}
	}
	fs->nodes_live = 1;
	fs->fhs_live = 0;
	fs->init_done = false;
	fs->destroyed = false;
	vfs_rebuild_free_lists(fs);
	(void)rehash(fs, fs->nbuckets); /* drop the closed nodes from the chains */
}
