/* `smolvm snapshot info|verify|export|import`: inspect, check and move
 * .smolsnap files (docs/snapshot.md). */
#include "cli/cli.h"
#include "snapshot/snap_bundle.h"
#include "snapshot/snap_config.h"
#include "snapshot/snap_file.h"
#include "snapshot/snap_fingerprint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *type_name(uint32_t t)
{
	static const char *const names[] = {"?",      "config", "vcpu", "vm",
					    "device", "memory", "note", "legacy"};
	return t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

static void usage(FILE *f)
{
	fprintf(f, "usage: smolvm snapshot info FILE\n"
		   "       smolvm snapshot verify FILE\n"
		   "       smolvm snapshot export FILE -o BUNDLE.smolmachine\n"
		   "       smolvm snapshot import BUNDLE.smolmachine -o DIR\n");
}

static int do_info(const char *path)
{
	struct snap_file *f = NULL;
	struct vmm_err err;
	if (snap_file_open(path, &f, &err)) {
		fprintf(stderr, "smolvm snapshot info: %s\n", err.msg);
		return SMOLVM_EXIT_FAIL;
	}
	const struct snap_header *h = &f->hdr;
	uint64_t alloc = 0, apparent = 0;
	snap_file_sizes(f, &alloc, &apparent);
	printf("file:        %s\n", path);
	printf("format:      %u.%u flags 0x%x\n", h->major, h->minor, h->flags);
	printf("size:        %" PRIu64 " bytes apparent, %" PRIu64 " allocated\n", apparent, alloc);
	printf("cpu:         %s family %#x model %#x stepping %u (signature %#x)\n", h->fp.vendor,
	       h->fp.family, h->fp.model, h->fp.stepping, h->fp.signature);
	printf("guest tsc:   %u kHz, KVM API %u, %u CPUID entries (hash %016" PRIx64 ")\n",
	       h->fp.tsc_khz, h->fp.kvm_api, h->fp.cpuid_nent, h->fp.cpuid_hash);
	struct snap_fingerprint host;
	struct vmm_err warn;
	if (snap_fp_host(-1, -1, &host, &err) == 0) {
		host.cpuid_nent = h->fp.cpuid_nent;
		host.cpuid_hash = h->fp.cpuid_hash;
		if (snap_fp_compare(&h->fp, &host, false, &warn, &err))
			printf("this host:   cannot restore it: %s\n", err.msg);
		else
			printf("this host:   compatible%s%s\n", warn.msg[0] ? "; " : "", warn.msg);
	}
	printf("sections:    %u\n", h->section_count);
	for (uint32_t i = 0; i < h->section_count; i++) {
		const struct snap_section *s = &f->secs[i];
		printf("  %-20s %-7s v%-3u offset %-10" PRIu64 " length %-10" PRIu64
		       " xxh3 %016" PRIx64 "\n",
		       s->name, type_name(s->type), s->version, s->offset, s->length, s->checksum);
	}
	void *buf;
	size_t len;
	const struct snap_section *mem = snap_file_find(f, "memory");
	struct snap_config cfg;
	if (snap_file_read_named(f, "config", SNAP_SEC_CONFIG, &buf, &len, &err) == 0) {
		if (snap_config_decode(buf, len, mem ? mem->length : 0, &cfg, &err) == 0) {
			printf("vcpus:       %u\n", cfg.nr_vcpus);
			printf("memory:      %" PRIu64 " MiB in %u regions\n", cfg.mem_size >> 20,
			       cfg.nr_regions);
			for (uint32_t i = 0; i < cfg.nr_files; i++)
				printf("file %-2u      %-10s %s (%" PRIu64 " bytes)\n", i,
				       snap_file_role_name(cfg.files[i].role), cfg.files[i].path,
				       cfg.files[i].size);
			snap_config_release(&cfg);
		} else {
			printf("config:      invalid: %s\n", err.msg);
		}
		free(buf);
	} else {
		printf("config:      unreadable: %s\n", err.msg);
	}
	snap_file_close(f);
	return SMOLVM_EXIT_OK;
}

static int do_verify(const char *path)
{
	struct snap_file *f = NULL;
	struct vmm_err err;
	int rc = snap_file_open(path, &f, &err);
	if (!rc)
		rc = snap_file_verify(f, &err);
	if (rc) {
		fprintf(stderr, "smolvm snapshot verify: %s\n", err.msg);
		snap_file_close(f);
		return SMOLVM_EXIT_FAIL;
	}
	printf("ok %s: %u sections, every checksum matches\n", path, f->hdr.section_count);
	snap_file_close(f);
	return SMOLVM_EXIT_OK;
}

/* Parses "SRC -o DST" or "SRC DST" from argv[2..]. */
static int two_paths(int argc, char **argv, const char **src, const char **dst)
{
	*src = *dst = NULL;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
			if (i + 1 >= argc || *dst)
				return -1;
			*dst = argv[++i];
		} else if (argv[i][0] != '-' && !*src) {
			*src = argv[i];
		} else if (argv[i][0] != '-' && !*dst) {
			*dst = argv[i];
		} else {
			return -1; /* an unknown option or a third path */
		}
	}
	return *src && *dst ? 0 : -1;
}

int cmd_snapshot(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? SMOLVM_EXIT_USAGE : SMOLVM_EXIT_OK;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "info") || !strcmp(sub, "verify")) {
		if (argc != 3) {
			usage(stderr);
			return SMOLVM_EXIT_USAGE;
		}
		return !strcmp(sub, "info") ? do_info(argv[2]) : do_verify(argv[2]);
	}
	if (!strcmp(sub, "export") || !strcmp(sub, "import")) {
		const char *src, *dst;
		if (two_paths(argc, argv, &src, &dst)) {
			usage(stderr);
			return SMOLVM_EXIT_USAGE;
		}
		struct vmm_err err;
		int rc = !strcmp(sub, "export") ? snap_bundle_export(src, dst, &err)
						: snap_bundle_import(src, dst, &err);
		if (rc) {
			fprintf(stderr, "smolvm snapshot %s: %s\n", sub, err.msg);
			return SMOLVM_EXIT_FAIL;
		}
		printf("ok %s -> %s\n", src, dst);
		return SMOLVM_EXIT_OK;
	}
	fprintf(stderr, "smolvm snapshot: unknown subcommand \"%s\"\n", sub);
	usage(stderr);
	return SMOLVM_EXIT_USAGE;
}
