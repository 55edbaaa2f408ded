/* cache: the warm-environment (snapshot) cache under $XDG_CACHE_HOME/smoltest
 * (default ~/.cache/smoltest).
 *
 *   entries/<key>/        one frozen template (backend layer dir) + manifest,
 *                         and for a suite with tests_from what its listers
 *                         named (CACHE_LISTED_FILE, suite_lister.h)
 *   entries/<key>.lock    flock: shared while a run uses the entry,
 *                         exclusive to delete it
 *   tmp/<key>.XXXXXX/     an entry being built
 *
 * An entry appears only by rename(2) of a complete staging directory (with
 * its manifest written last), so a reader never sees half an entry and two
 * runs building the same key concurrently both succeed: the second rename
 * fails with EEXIST/ENOTEMPTY and that run uses the winner's entry.
 * The key is XXH3-128 over everything that affects the warm state: the
 * cache format version, backend and its key material, shares, env, setup
 * commands, workdir and the metadata of the suite's cache.inputs. */
#ifndef SMOL_CACHE_H
#define SMOL_CACHE_H

#include "strbuf.h"
#include "suite/suite.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CACHE_FORMAT_VERSION 2
#define CACHE_KEY_HEX	     32
#define CACHE_LISTED_FILE    "listed" /* in an entry: the tests_from names */

struct cache {
	char *dir; /* the cache root */
};

/* Resolves the cache root from XDG_CACHE_HOME / HOME (passed in so the
 * caller decides where the environment is read) and creates it. */
int cache_open(const char *xdg_cache_home, const char *home, struct cache *c);
void cache_close(struct cache *c);

/* Appends the suite-side key material (everything but the backend's), one
 * input per line: format, backend name, workdir, env, VM shape, setup
 * commands, then every share (the contents of read-only ones, see
 * cache_tree.h) and every cache.inputs path by content. index_dir (may be
 * NULL) keeps the stat index that spares hashing unchanged files. The
 * caller appends CACHE_BACKEND_MARK and the backend's material after it. */
int cache_key_material(const struct suite *s, const char *backend, const char *index_dir,
		       struct strbuf *sb);
#define CACHE_BACKEND_MARK "-- backend --" /* a line of its own */

/* Hashes material into a 32-hex-digit key (NUL-terminated, 33 bytes). */
void cache_key_hash(const struct strbuf *material, char out[CACHE_KEY_HEX + 1]);

/* Takes the entry's shared lock (*lock_fd, close to release) and reports
 * whether the entry exists: *hit, and its directory in path. */
int cache_lookup(struct cache *c, const char *key, bool *hit, char *path, size_t len, int *lock_fd);

/* Creates a staging directory for key; its path goes to out. */
int cache_stage(struct cache *c, const char *key, char *out, size_t len);

/* Writes the key material (kept for `cache explain`) and the manifest into
 * staging and renames it into place. When another
 * run committed the same key first, staging is removed and 0 returned.
 * On failure staging is removed. The final entry path goes to out. */
int cache_commit(struct cache *c, const char *key, const char *staging, const char *manifest,
		 const struct strbuf *material, char *out, size_t len);

/* Marks an entry used now (for prune --older-than). */
void cache_touch(struct cache *c, const char *key);

struct cache_entry_info {
	char key[CACHE_KEY_HEX + 1];
	char suite[128];
	char backend[32];
	char path[1024]; /* the suite file's absolute path ("" in old entries) */
	uint64_t created_s, used_s, bytes;
	uint64_t used_ns; /* used_s in nanoseconds: which of two entries is newer */
};

/* The line "image=<key>" in a backend's key material names the default
 * guest image images/<key>/ (runner/backend/vm_image.c) the entry was built
 * from; cache_prune_images keeps every image some entry names. */
#define CACHE_IMAGE_REF "image="

/* Removes images/<key>/ directories that no entry's key material names and
 * that no run has used (their manifest's mtime) for max_age_s seconds, and
 * for at least an hour even with max_age_s 0 (a run starting from an image
 * names it only once its entry is committed); also build directories
 * (images/.build-*) of runs that died over an hour ago. The number of
 * images removed goes to *removed and their bytes to *bytes. */
int cache_prune_images(struct cache *c, uint64_t max_age_s, unsigned *removed, uint64_t *bytes);

/* Calls fn for every complete entry. */
int cache_list(struct cache *c, int (*fn)(void *ctx, const struct cache_entry_info *e), void *ctx);

/* Deletes one entry (exclusive lock, non-blocking: -EBUSY while in use). */
int cache_remove(struct cache *c, const char *key);

/* Deletes entries not used for max_age_s (0: all) and staging directories
 * older than an hour. *removed and *busy count entries. */
int cache_prune(struct cache *c, uint64_t max_age_s, unsigned *removed, unsigned *busy);

/* ---- explaining keys (cache_explain.c) ---- */

/* The most recently used complete entry built from the suite at
 * suite_path (absolute) with backend (NULL: any): its key in key_out.
 * -ENOENT when there is none. */
int cache_latest_for(struct cache *c, const char *suite_path, const char *backend,
		     char key_out[CACHE_KEY_HEX + 1]);

/* The most recent entry built from the suite s (at suite_abs) whose
 * suite-side key material is what s gives now (its backend's part, which
 * needs the backend, is not compared): its key in key_out, its directory
 * in path. -ENOENT when there is none, or the latest is out of date. For
 * what `list` can tell without running setup (tests_from's names). */
int cache_current_for(struct cache *c, const struct suite *s, const char *suite_abs,
		      char key_out[CACHE_KEY_HEX + 1], char *path, size_t len);

/* Reads an entry's stored key material (*out owned by the caller).
 * -ENOENT for entries made before the material was kept. */
int cache_read_material(struct cache *c, const char *key, char **out);

/* Appends what differs between two key materials, one line each:
 * "changed|added|removed <path>" for files under shares and inputs, else
 * "changed: <was>  ->  <now>" for the other inputs; at most max lines then
 * "... N more". *n gets the number of differences (0: the same key). */
int cache_diff(const char *was, const char *now, unsigned max, struct strbuf *out, unsigned *n);

/* Appends a one-line account of what a key covers (the "why" of a hit):
 * backend, setup steps, env, and per share and input how many entries
 * were keyed with a digest of them. */
int cache_key_summary(const char *material, struct strbuf *out);

/* Writes text's lines to f, each indented by two spaces (a diff under the
 * line that introduces it). */
void cache_print_indented(FILE *f, const char *text);

#endif
