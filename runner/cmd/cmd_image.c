/* cmd_image: `smoltest image build`, the guest image builder's CLI
 * (fixtures/image/, docs/image.md). */
#include "cmd/commands.h"

#include "image.h"
#include "rootfs.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EXTRA_MODULES 256

static void image_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: smoltest image build --kernel-deb PATH.deb -o DIR [options]\n"
	    "       smoltest image rootfs --from DIR|IMAGE.tar --format ext4|erofs -o FILE "
	    "[--size SIZE]\n"
	    "\n"
	    "Builds DIR/vmlinuz, DIR/initrd (newc cpio) and DIR/manifest from a Debian\n"
	    "linux-image package (ci/fetch-kernel downloads the cloud kernel).\n"
	    "\n"
	    "options:\n"
	    "  --kernel-deb PATH     the linux-image-*.deb to take the kernel and modules from\n"
	    "  -o, --output DIR      where to write vmlinuz, initrd and manifest\n"
	    "  --agent PATH          static agent installed as /init (default %s)\n"
	    "  --busybox PATH        static busybox (default %s)\n"
	    "  --modules LIST        extra modules, comma-separated (repeatable); the virtio,\n"
	    "                        vsock, virtiofs and overlay modules are always included\n"
	    "  --compress zstd|gzip  initrd compression (default zstd)\n"
	    "  -q, --quiet           print nothing on success\n"
	    "\n"
	    "`image rootfs` makes an optional root file system for the guest from a\n"
	    "directory, a `docker save` tarball or an OCI image layout tarball:\n"
	    "  --from PATH           the source; tarballs are untrusted and unpacked safely\n"
	    "  --format ext4|erofs   file system (mke2fs -d / mkfs.erofs)\n"
	    "  --size SIZE           ext4 image size (e.g. 512M); default fits the contents\n"
	    "  -o, --output FILE     the image to write\n",
	    SMOL_AGENT_BIN, SMOL_BUSYBOX_BIN);
}

/* Splits a comma-separated --modules value in place into names (pointers
 * into value, which the caller owns). -E2BIG past MAX_EXTRA_MODULES. */
static int add_modules(char *value, char **names, size_t *n)
{
	for (char *save = NULL, *tok = strtok_r(value, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (*n >= MAX_EXTRA_MODULES)
			return -E2BIG;
		names[(*n)++] = tok;
	}
	return 0;
}

static void print_result(const struct image_opts *o, const struct image_result *r)
{
	printf("kernel   %s %s (release %s)\n", r->package, r->version, r->kernel_release);
	printf("modules  %zu of %zu in load order:", r->norder, r->modules_seen);
	for (size_t i = 0; i < r->norder; i++)
		printf(" %s", r->order[i]);
	printf("\n");
	if (r->nbuiltin) {
		printf("builtin ");
		for (size_t i = 0; i < r->nbuiltin; i++)
			printf(" %s", r->builtin[i]);
		printf(" (built into the kernel, not loaded)\n");
	}
	printf("userland /init=%s, busybox=%s with %zu applet links\n", o->agent, o->busybox,
	       r->napplets);
	printf("wrote    %s/vmlinuz, %s/initrd (%s), %s/manifest\n", o->outdir, o->outdir,
	       initrd_compress_name(o->compress), o->outdir);
}

static int image_build_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"kernel-deb", required_argument, NULL, 'k'},
	    {"output", required_argument, NULL, 'o'},
	    {"agent", required_argument, NULL, 'a'},
	    {"busybox", required_argument, NULL, 'b'},
	    {"modules", required_argument, NULL, 'm'},
	    {"compress", required_argument, NULL, 'c'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct image_opts o = {.agent = SMOL_AGENT_BIN, .busybox = SMOL_BUSYBOX_BIN};
	char *names[MAX_EXTRA_MODULES];
	char *copies[MAX_EXTRA_MODULES];
	size_t nnames = 0, ncopies = 0;
	int quiet = 0, c, status = EXIT_USAGE;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			o.kernel_deb = optarg;
			break;
		case 'o':
			o.outdir = optarg;
			break;
		case 'a':
			o.agent = optarg;
			break;
		case 'b':
			o.busybox = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'm':
			if (ncopies == MAX_EXTRA_MODULES || !(copies[ncopies] = strdup(optarg))) {
				fprintf(stderr, "smoltest image build: too many --modules\n");
				goto out;
			}
			if (add_modules(copies[ncopies++], names, &nnames)) {
				fprintf(stderr,
					"smoltest image build: more than %d extra modules\n",
					MAX_EXTRA_MODULES);
				goto out;
			}
			break;
		case 'c':
			if (!strcmp(optarg, "zstd")) {
				o.compress = INITRD_ZSTD;
			} else if (!strcmp(optarg, "gzip")) {
				o.compress = INITRD_GZIP;
			} else {
				fprintf(stderr,
					"smoltest image build: --compress '%s': use zstd or gzip\n",
					optarg);
				goto out;
			}
			break;
		case 'h':
			image_usage(stdout);
			status = EXIT_OK;
			goto out;
		case ':':
			fprintf(stderr, "smoltest image build: %s needs a value\n",
				argv[optind - 1]);
			goto out;
		default:
			fprintf(stderr, "smoltest image build: unknown option '%s' (try --help)\n",
				argv[optind - 1]);
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "smoltest image build: unexpected argument '%s' (try --help)\n",
			argv[optind]);
		goto out;
	}
	if (!o.kernel_deb || !o.outdir) {
		fprintf(stderr, "smoltest image build: --kernel-deb and -o are required; "
				"ci/fetch-kernel prints a package path (try --help)\n");
		goto out;
	}
	o.modules = names;
	o.nmodules = nnames;

	struct image_result *r = NULL;
	char err[512] = "";
	int rc = image_build(&o, &r, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "smoltest image build: %s\n", err[0] ? err : strerror(-rc));
		status = EXIT_INFRA;
		goto out;
	}
	if (!quiet)
		print_result(&o, r);
	image_result_destroy(r);
	status = EXIT_OK;
out:
	for (size_t i = 0; i < ncopies; i++)
		free(copies[i]);
	return status;
}

static int image_rootfs_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"from", required_argument, NULL, 'f'},
	    {"format", required_argument, NULL, 't'},
	    {"size", required_argument, NULL, 's'},
	    {"output", required_argument, NULL, 'o'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct rootfs_opts o = {0};
	const char *format = NULL;
	int quiet = 0, c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o.from = optarg;
			break;
		case 'o':
			o.out = optarg;
			break;
		case 't':
			format = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 's':
			if (util_parse_size(optarg, &o.size) || o.size < (1u << 20)) {
				fprintf(stderr,
					"smoltest image rootfs: --size '%s': want a size of at "
					"least 1M, such as 512M or 2G\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			image_usage(stdout);
			return EXIT_OK;
		case ':':
			fprintf(stderr, "smoltest image rootfs: %s needs a value\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "smoltest image rootfs: unknown option '%s' (try --help)\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc || !o.from || !o.out || !format) {
		fprintf(stderr, "smoltest image rootfs: --from, --format and -o are required "
				"(try --help)\n");
		return EXIT_USAGE;
	}
	if (!strcmp(format, "ext4")) {
		o.format = ROOTFS_EXT4;
	} else if (!strcmp(format, "erofs")) {
		o.format = ROOTFS_EROFS;
	} else {
		fprintf(stderr, "smoltest image rootfs: --format '%s': use ext4 or erofs\n",
			format);
		return EXIT_USAGE;
	}
	struct rootfs_result r;
	char err[512] = "";
	int rc = rootfs_build(&o, &r, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "smoltest image rootfs: %s\n", err[0] ? err : strerror(-rc));
		return EXIT_INFRA;
	}
	if (!quiet) {
		printf("rootfs   %s from %s (%s", o.out, o.from, r.source);
		if (r.layers)
			printf(", %zu layers, %zu whiteouts", r.layers, r.whiteouts);
		if (r.skipped)
			printf(", %zu device nodes skipped", r.skipped);
		printf("), %s, %llu bytes\n", format, (unsigned long long)r.bytes);
		if (!r.owners_kept)
			printf("note     not running as root: file owners were not kept%s\n",
			       o.format == ROOTFS_EROFS ? " (all files are root's)" : "");
	}
	return EXIT_OK;
}

int cmd_image(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		image_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (!strcmp(argv[1], "build"))
		return image_build_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "rootfs"))
		return image_rootfs_main(argc - 1, argv + 1);
	fprintf(stderr,
		"smoltest image: unknown subcommand '%s'; use 'image build' or 'image rootfs'\n",
		argv[1]);
	return EXIT_USAGE;
}
