/* Layered disk throughput (host side, through the library API that
 * virtio-blk uses): raw file vs one layer vs a read through a 2-layer stack.
 * Usage: bench_disk [DIR] [MiB]   (DIR default /tmp; tmpfs gives the CPU
 * cost, a real disk adds its own). Prints a table. */
#include "disk/disk.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct disk *open_disk(const char *base, const char *const *layers, size_t n, bool ro)
{
	struct disk_config cfg = {
	    .base_path = base, .layers = layers, .n_layers = n, .read_only = ro};
	struct disk *d;
	struct vmm_err err = {{0}};
	if (disk_open(&d, &cfg, &err)) {
		fprintf(stderr, "bench_disk: %s\n", err.msg);
		exit(1);
	}
	return d;
}

typedef int (*io_fn)(struct disk *, uint64_t, void *, size_t);

static int wr(struct disk *d, uint64_t off, void *b, size_t n)
{
	return disk_write(d, off, b, n);
}

static double run(struct disk *d, io_fn fn, uint64_t size, size_t bs, bool random)
{
	static uint8_t buf[1 << 20];
	uint64_t n = size / bs, seed = 88172645463325252ull;
	memset(buf, 0xab, sizeof(buf));
	double t0 = now();
	for (uint64_t i = 0; i < n; i++) {
		uint64_t blk = i;
		if (random) {
			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			blk = seed % n;
		}
		if (fn(d, blk * bs, buf, bs)) {
			fprintf(stderr, "bench_disk: I/O failed\n");
			exit(1);
		}
	}
	return (double)size / (now() - t0) / (1 << 20);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	uint64_t mib = argc > 2 ? strtoull(argv[2], NULL, 10) : 64, size = mib << 20;
	char base[512], l1[512], l2[512];
	struct vmm_err err = {{0}};
	snprintf(base, sizeof(base), "%s/bench-base.img", dir);
	snprintf(l1, sizeof(l1), "%s/bench-l1.layer", dir);
	snprintf(l2, sizeof(l2), "%s/bench-l2.layer", dir);
	unlink(l1);
	unlink(l2);
	int fd = open(base, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)size))
		return 1;
	close(fd);
	printf("layered disk, %llu MiB in %s (MiB/s)\n", (unsigned long long)mib, dir);
	printf("%-34s %10s\n", "case", "MiB/s");

	struct disk *d = open_disk(base, NULL, 0, false);
	printf("%-34s %10.0f\n", "raw write 64K seq", run(d, wr, size, 65536, false));
	printf("%-34s %10.0f\n", "raw read 4K random", run(d, disk_read, size, 4096, true));
	disk_destroy(d);

	if (disk_layer_create(l1, base, NULL, &err))
		return fprintf(stderr, "%s\n", err.msg), 1;
	const char *one[] = {l1}, *two[] = {l1, l2};
	d = open_disk(base, one, 1, false);
	printf("%-34s %10.0f\n", "layer write 64K seq (fresh)", run(d, wr, size, 65536, false));
	printf("%-34s %10.0f\n", "layer write 4K random (present)", run(d, wr, size, 4096, true));
	disk_destroy(d);
	if (disk_layer_freeze(l1, &err) || disk_layer_create(l2, base, l1, &err))
		return fprintf(stderr, "%s\n", err.msg), 1;
	d = open_disk(base, two, 2, false);
	printf("%-34s %10.0f\n", "2-layer write 512B seq (copy-up)",
	       run(d, wr, size / 8, 512, false));
	printf("%-34s %10.0f\n", "2-layer read 64K seq", run(d, disk_read, size, 65536, false));
	printf("%-34s %10.0f\n", "2-layer read 4K random", run(d, disk_read, size, 4096, true));
	disk_destroy(d);
	struct disk_layer_info in;
	if (!disk_layer_stat(l2, &in, &err))
		printf("top layer: %llu blocks allocated, %llu KiB on disk\n",
		       (unsigned long long)in.allocated_blocks,
		       (unsigned long long)in.disk_bytes / 1024);
	unlink(l2);
	unlink(l1);
	unlink(base);
	return 0;
}
