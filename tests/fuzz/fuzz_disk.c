/* Fuzz target for the layered disk: the first byte picks a mode.
 *  even: the rest is a layer header, fed to layer_header_decode();
 *  odd:  the rest is a sequence of 6-byte operations (kind, offset, length,
 *        fill) run against a two-layer disk and a plain buffer model; any
 *        difference aborts. */
#include "disk/disk.h"
#include "disk/layer_format.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FSIZE (64 * 1024 + 512)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_disk: %s: %s\n", what, err);
	abort();
}

static void run_ops(const uint8_t *p, size_t n)
{
	char dir[] = "/tmp/smol-fuzz-disk-XXXXXX", base[64], l1[64], l2[64];
	struct vmm_err err = {{0}};
	static uint8_t model[FSIZE], buf[FSIZE];
	struct disk *d = NULL;

	if (!mkdtemp(dir))
		die("mkdtemp", "failed");
	snprintf(base, sizeof(base), "%s/base", dir);
	snprintf(l1, sizeof(l1), "%s/l1", dir);
	snprintf(l2, sizeof(l2), "%s/l2", dir);
	for (size_t i = 0; i < FSIZE; i++)
		model[i] = (uint8_t)(i * 7 + (i >> 9));
	int fd = open(base, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, model, FSIZE) != FSIZE)
		die("base", "write failed");
	close(fd);
	if (disk_layer_create(l1, base, NULL, &err))
		die("create l1", err.msg);
	const char *one[] = {l1}, *two[] = {l1, l2};
	struct disk_config cfg = {.base_path = base, .layers = one, .n_layers = 1};
	if (disk_open(&d, &cfg, &err))
		die("open", err.msg);

	for (size_t i = 0; i + 6 <= n; i += 6) {
		const uint8_t *op = p + i;
		uint64_t off = ((uint64_t)op[1] | (uint64_t)op[2] << 8) * 3 % FSIZE;
		uint64_t len = ((uint64_t)op[3] | (uint64_t)op[4] << 8) % 9000;
		if (len > FSIZE - off)
			len = FSIZE - off;
		switch (op[0] % 5) {
		case 0:
			memset(buf, op[5], len);
			if (disk_write(d, off, buf, len))
				die("write", "failed");
			memset(model + off, op[5], len);
			break;
		case 1:
			if (disk_read(d, off, buf, len) || memcmp(buf, model + off, len) != 0)
				die("read", "differs from the model");
			break;
		case 2:
			if (disk_discard(d, off, len))
				die("discard", "failed");
			memset(model + off, 0, len);
			break;
		case 3:
			if (disk_write_zeroes(d, off, len))
				die("write_zeroes", "failed");
			memset(model + off, 0, len);
			break;
		default:
			/* Freeze the top and stack a second layer once. */
			if (cfg.n_layers == 1) {
				disk_destroy(d);
				d = NULL;
				if (disk_layer_freeze(l1, &err) ||
				    disk_layer_create(l2, base, l1, &err))
					die("stack", err.msg);
				cfg.layers = two;
				cfg.n_layers = 2;
				if (disk_open(&d, &cfg, &err))
					die("reopen", err.msg);
			}
			break;
		}
	}
	if (disk_read(d, 0, buf, FSIZE) || memcmp(buf, model, FSIZE) != 0)
		die("final read", "differs from the model");
	disk_destroy(d);
	unlink(l2);
	unlink(l1);
	unlink(base);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (!(data[0] & 1)) {
		struct layer_header h;
		const char *why;
		(void)layer_header_decode(data + 1, size - 1, &h, &why);
		return 0;
	}
	run_ops(data + 1, size - 1);
	return 0;
}
