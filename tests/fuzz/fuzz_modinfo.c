/* Fuzz target for the kernel-module readers that see untrusted package
 * bytes: the ELF section/program header reader, the .modinfo parser, the
 * decompress-then-parse path used for .ko.xz/.ko.zst/.ko.gz, and the
 * modules.builtin reader. */
#include "deb.h"
#include "elfread.h"
#include "moddb.h"
#include "modinfo.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse(const void *data, size_t size)
{
	struct modinfo *mi = NULL;
	char err[200];
	if (modinfo_parse(data, size, &mi, err, sizeof(err)) == 0) {
		/* Touch every result so ASan sees any bad pointer. */
		size_t n = strlen(mi->name);
		for (size_t i = 0; i < mi->ndepends; i++)
			n += strlen(mi->depends[i]);
		if (mi->vermagic)
			n += strlen(mi->vermagic);
		(void)n;
	}
	modinfo_destroy(mi);
	bool st;
	elf_exec_info(data, size, &st, err, sizeof(err));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse(data, size);
	void *out = NULL;
	size_t len;
	if (deb_decompress(data, size, 1u << 20, &out, &len) == 0)
		parse(out, len);
	free(out);
	struct moddb *db;
	char err[200];
	if (moddb_create(&db) == 0) {
		moddb_load_builtin(db, (const char *)data, size, err, sizeof(err));
		moddb_destroy(db);
	}
	return 0;
}
