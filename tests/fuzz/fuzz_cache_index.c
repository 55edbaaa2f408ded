/* fuzz_cache_index: the stat index of the cache key over shares
 * (runner/cache/cache_tree.c). The index lives under the cache root, where
 * anything may have written it, so it is read as hostile: whatever it
 * holds, the key material of a tree must be what it is without an index
 * (a bad index only costs a re-read), and the call must not fail. */
#include "cache/cache_tree.h"
#include "strbuf.h"
#include "util.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], root[128], idx_dir[128], idx_file[256];

static void cleanup(void)
{
	util_rm_rf(dir); /* nothing is left in /tmp */
}
static struct strbuf want;

static void put(const char *name, const char *text)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", root, name);
	if (util_write_file_atomic(p, text, strlen(text), 0644))
		abort();
}

static void init(void)
{
	snprintf(dir, sizeof(dir), "/tmp/fuzz-cache-index.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	snprintf(root, sizeof(root), "%s/share", dir);
	snprintf(idx_dir, sizeof(idx_dir), "%s/index", dir);
	if (mkdir(root, 0755) || mkdir(idx_dir, 0700))
		abort();
	put("a.c", "int a;\n");
	put("b b", "two words\n");
	char sub[160];
	snprintf(sub, sizeof(sub), "%s/sub", root);
	if (mkdir(sub, 0755))
		abort();
	put("sub/c.h", "#define C 1\n");
	/* the file the index is kept in (cache_tree.c: XXH3-64 of the root) */
	snprintf(idx_file, sizeof(idx_file), "%s/%016llx.idx", idx_dir,
		 (unsigned long long)XXH3_64bits(root, strlen(root)));
	if (cache_tree_material(root, NULL, &want, NULL))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0])
		init();
	if (util_write_file_atomic(idx_file, data, size, 0600))
		return 0;
	struct strbuf got = {0};
	if (cache_tree_material(root, idx_dir, &got, NULL))
		__builtin_trap(); /* only -ENOMEM may fail it */
	if (got.len != want.len || memcmp(got.buf, want.buf, got.len))
		__builtin_trap(); /* an index never changes the key */
	sb_release(&got);
	return 0;
}
