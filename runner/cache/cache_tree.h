/* cache_tree: the contents of a host directory tree as cache-key material.
 *
 * A stale warm environment is a correctness bug (a test passing on an old
 * build), so what setup can read from a share goes into the cache key by
 * content, not by metadata. To keep that cheap, a per-tree index under the
 * cache root remembers (inode, size, mtime_ns, ctime_ns) -> XXH3-64 of every
 * regular file; a file is read again only when one of those changed, or when
 * its mtime is so recent that a write in the same clock tick could hide
 * (git's "racily clean" rule). `.git` directories are left out: git rewrites
 * its own index on `git status`, and the work tree is what setup builds. */
#ifndef SMOL_CACHE_TREE_H
#define SMOL_CACHE_TREE_H

#include "strbuf.h"

#include <stdint.h>

struct cache_tree_stats {
	uint64_t entries; /* files, directories, links under the root */
	uint64_t hashed;  /* regular files read (not found unchanged in the index) */
	uint64_t bytes;	  /* bytes read to hash them */
};

/* Appends one line per entry under root (root included), sorted by path:
 *   file <path> d <mode>          a directory
 *   file <path> f <mode> <xxh3>   a regular file (or "unreadable:<errno>")
 *   file <path> l <target>        a symbolic link (never followed)
 *   file <path> o <mode>          anything else (never opened)
 *   file <path> missing           root does not exist
 * Paths and targets are escaped with cache_escape(). index_dir (borrowed,
 * may be NULL: hash everything) holds the index; it is read when present
 * and rewritten. An unreadable file or index never fails the call: only
 * -ENOMEM does. stats may be NULL. */
int cache_tree_material(const char *root, const char *index_dir, struct strbuf *sb,
			struct cache_tree_stats *stats);

/* The XXH3-64 of the regular file at path (symbolic links followed), through
 * the same kind of index in index_dir (NULL: always read), so that a large
 * image is read again only when it changed. Returns 0 or -errno (-EINVAL
 * for anything but a regular file). */
int cache_file_hash(const char *path, const char *index_dir, uint64_t *hash);

/* Appends s with every byte <= 0x20, '%' and 0x7f written as %XX, so that
 * a hostile file name (spaces, newlines) stays one token on one line. */
int cache_escape(struct strbuf *sb, const char *s);

#endif
