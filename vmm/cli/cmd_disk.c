/* `smolvm disk create|freeze|info`: manage copy-on-write disk layers. */
#include "cli/cli.h"
#include "disk/disk.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void disk_usage(FILE *f)
{
	fputs("usage: smolvm disk create LAYER --base BASE [--lower FROZEN_LAYER]\n"
	      "       smolvm disk freeze LAYER\n"
	      "       smolvm disk info LAYER\n",
	      f);
}

static int disk_create(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"base", required_argument, NULL, 'b'},
	    {"lower", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *base = NULL, *lower = NULL;
	struct vmm_err err = {{0}};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			base = optarg;
			break;
		case 'l':
			lower = optarg;
			break;
		case 'h':
			disk_usage(stdout);
			return SMOLVM_EXIT_OK;
		default:
			disk_usage(stderr);
			return SMOLVM_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || !base) {
		fprintf(stderr,
			"smolvm disk create: need exactly one LAYER path and --base BASE\n");
		disk_usage(stderr);
		return SMOLVM_EXIT_USAGE;
	}
	if (disk_layer_create(argv[optind], base, lower, &err)) {
		fprintf(stderr, "smolvm disk create: %s\n", err.msg);
		return SMOLVM_EXIT_FAIL;
	}
	return SMOLVM_EXIT_OK;
}

static int disk_info(const char *path)
{
	struct disk_layer_info in;
	struct vmm_err err = {{0}};
	char id[33], lower[33];

	if (disk_layer_stat(path, &in, &err)) {
		fprintf(stderr, "smolvm disk info: %s\n", err.msg);
		return SMOLVM_EXIT_FAIL;
	}
	layer_id_format(in.hdr.layer_id, id);
	layer_id_format(in.hdr.lower_id, lower);
	printf("layer: %s\n", path);
	printf("format-version: %u\n", in.hdr.version);
	printf("frozen: %s\n", (in.hdr.flags & LAYER_FLAG_FROZEN) ? "yes" : "no");
	printf("disk-size: %llu\n", (unsigned long long)in.hdr.disk_size);
	printf("layer-id: %s\n", id);
	printf("lower: %s %s\n", in.hdr.lower_kind == LAYER_LOWER_BASE ? "base" : "layer", lower);
	printf("allocated-blocks: %llu\n", (unsigned long long)in.allocated_blocks);
	printf("allocated-bytes: %llu\n",
	       (unsigned long long)in.allocated_blocks * LAYER_BLOCK_SIZE);
	printf("file-disk-usage: %llu\n", (unsigned long long)in.disk_bytes);
	return SMOLVM_EXIT_OK;
}

int cmd_disk(int argc, char **argv)
{
	struct vmm_err err = {{0}};

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		disk_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? SMOLVM_EXIT_USAGE : SMOLVM_EXIT_OK;
	}
	if (!strcmp(argv[1], "create"))
		return disk_create(argc - 1, argv + 1);
	if ((!strcmp(argv[1], "freeze") || !strcmp(argv[1], "info")) && argc != 3) {
		fprintf(stderr, "smolvm disk %s: need exactly one LAYER path\n", argv[1]);
		return SMOLVM_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "freeze")) {
		if (disk_layer_freeze(argv[2], &err)) {
			fprintf(stderr, "smolvm disk freeze: %s\n", err.msg);
			return SMOLVM_EXIT_FAIL;
		}
		return SMOLVM_EXIT_OK;
	}
	if (!strcmp(argv[1], "info"))
		return disk_info(argv[2]);
	fprintf(stderr, "smolvm disk: unknown subcommand '%s'\n", argv[1]);
	disk_usage(stderr);
	return SMOLVM_EXIT_USAGE;
}
