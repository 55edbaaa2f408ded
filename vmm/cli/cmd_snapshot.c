/* `smolvm snapshot info|verify|export|import`: inspect, check and move
 * .smolsnap files (docs/snapshot.md). */
#include "arch/x86_64/regs.h"
#include "cli/cli.h"
#include "snapshot/snap_bundle.h"
#include "snapshot/snap_config.h"
#include "snapshot/snap_file.h"
#include "snapshot/snap_fingerprint.h"
#include "snapshot/snap_state.h"
#include "devices/virtio/mmio_state.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *type_name(uint32_t t)
{
	static const char *const names[] = {"?",      "config", "vcpu", "vm",
					    "device", "memory", "note", "legacy"};
	return t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

static void usage(FILE *f)
{
	fprintf(f, "usage: smolvm snapshot info FILE [--stack WORDS] [--mem GVA WORDS]\n"
		   "       smolvm snapshot verify FILE\n"
		   "       smolvm snapshot export FILE -o BUNDLE.smolmachine\n"
		   "       smolvm snapshot import BUNDLE.smolmachine -o DIR\n");
}

/* len bytes of guest memory at gpa, read from the memory section through
 * the regions of cfg; -1 where [gpa, gpa+len) is not all guest RAM. */
static int guest_read(struct snap_file *f, const struct snap_config *cfg, uint64_t gpa, void *out,
		      size_t len)
{
	const struct snap_section *mem = snap_file_find(f, "memory");
	for (uint32_t i = 0; mem && i < cfg->nr_regions; i++) {
		const struct snap_region *r = &cfg->regions[i];
		if (gpa < r->gpa || gpa + len > r->gpa + r->size)
			continue;
		off_t at = (off_t)(mem->offset + r->mem_offset + (gpa - r->gpa));
		return pread(f->fd, out, len, at) == (ssize_t)len ? 0 : -1;
	}
	return -1;
}

/* A little-endian u16 of guest memory at gpa; -1 where it is not RAM. */
static int guest_u16(struct snap_file *f, const struct snap_config *cfg, uint64_t gpa)
{
	uint8_t b[2];
	return guest_read(f, cfg, gpa, b, 2) ? -1 : b[0] | b[1] << 8;
}

/* Translates a guest virtual address through the vCPU's page tables (4-
 * or 5-level long mode, 1 GiB and 2 MiB pages); identity when paging is
 * off. -1 where a level is not present or not RAM. Long mode only: a
 * stall worth reading is in a 64-bit kernel. */
static int guest_virt(struct snap_file *f, const struct snap_config *cfg,
		      const struct kvm_sregs *sr, uint64_t gva, uint64_t *gpa)
{
	if (!(sr->cr0 & CR0_PG)) {
		*gpa = gva;
		return 0;
	}
	if (!(sr->efer & EFER_LMA))
		return -1;
	int levels = (sr->cr4 & CR4_LA57) ? 5 : 4;
	uint64_t table = sr->cr3 & PTE_ADDR_MASK;
	for (int l = levels; l >= 1; l--) {
		unsigned shift = 12 + 9 * (unsigned)(l - 1);
		uint64_t pte;
		if (guest_read(f, cfg, table + ((gva >> shift) & 511) * 8, &pte, 8) ||
		    !(pte & PTE_PRESENT))
			return -1;
		if (l == 1 || (l <= 3 && (pte & PTE_PS))) {
			uint64_t page = 1ull << shift;
			*gpa = (pte & PTE_ADDR_MASK & ~(page - 1)) | (gva & (page - 1));
			return 0;
		}
		table = pte & PTE_ADDR_MASK;
	}
	return -1;
}

/* The 64-bit word at guest virtual address va: 0, or -1 where it is not
 * mapped to RAM. */
static int guest_virt_u64(struct snap_file *f, const struct snap_config *cfg,
			  const struct kvm_sregs *sr, uint64_t va, uint64_t *v)
{
	uint64_t pa;
	return guest_virt(f, cfg, sr, va, &pa) || guest_read(f, cfg, pa, v, 8) ? -1 : 0;
}

/* `words` 64-bit words from guest virtual address gva, one per line
 * headed `label`, up to the first one not mapped. */
static void print_words(struct snap_file *f, const struct snap_config *cfg,
			const struct kvm_sregs *sr, const char *label, uint64_t gva, unsigned words)
{
	for (unsigned i = 0; i < words; i++) {
		uint64_t va = gva + 8ull * i, v;
		if (guest_virt_u64(f, cfg, sr, va, &v)) {
			printf("%-12s %s %#llx: not mapped\n", "", label, (unsigned long long)va);
			break;
		}
		printf("%-12s %s %#llx: 0x%016llx\n", "", label, (unsigned long long)va,
		       (unsigned long long)v);
	}
}

/* The saved value of MSR index, or 0 when the snapshot has none. */
static uint64_t saved_msr(const struct vcpu_state *st, uint32_t index)
{
	for (uint32_t m = 0; m < st->nmsrs; m++)
		if (st->msrs[m].index == index)
			return st->msrs[m].data;
	return 0;
}

/* The general registers, the word each one points at where it is a mapped
 * address (a spinning CPU's lock word, a list head), and `words` 64-bit
 * words of the stack from rsp up: with the guest kernel's symbols
 * (/proc/kallsyms of the same boot) the return addresses among them are
 * the stuck code's call chain. */
static void print_stack(struct snap_file *f, const struct snap_config *cfg,
			const struct vcpu_state *st, unsigned words)
{
	const struct kvm_regs *r = &st->regs;
	const struct {
		const char *name;
		uint64_t v;
	} gpr[] = {{"rax", r->rax}, {"rbx", r->rbx}, {"rcx", r->rcx}, {"rdx", r->rdx},
		   {"rsi", r->rsi}, {"rdi", r->rdi}, {"rbp", r->rbp}, {"rsp", r->rsp},
		   {"r8", r->r8},   {"r9", r->r9},   {"r10", r->r10}, {"r11", r->r11},
		   {"r12", r->r12}, {"r13", r->r13}, {"r14", r->r14}, {"r15", r->r15}};
	const size_t ngpr = sizeof(gpr) / sizeof(gpr[0]);
	for (size_t i = 0; i < ngpr; i++) {
		uint64_t at;
		bool mapped = guest_virt_u64(f, cfg, &st->sregs, gpr[i].v, &at) == 0;
		printf("%-12s %-3s 0x%llx", "", gpr[i].name, (unsigned long long)gpr[i].v);
		if (mapped)
			printf(" -> 0x%016llx", (unsigned long long)at);
		printf("\n");
	}
	/* LSTAR is a Linux guest's entry_SYSCALL_64: less that symbol's
	 * address in the kallsyms of any boot of the same kernel, it is how
	 * far KASLR moved this boot's kernel, which names the stack's return
	 * addresses (ci/hung-stack). */
	printf("%-12s cr0 %#llx cr4 %#llx efer %#llx lstar 0x%llx\n", "",
	       (unsigned long long)st->sregs.cr0, (unsigned long long)st->sregs.cr4,
	       (unsigned long long)st->sregs.efer, (unsigned long long)saved_msr(st, MSR_LSTAR));
	print_words(f, cfg, &st->sregs, "stack", r->rsp, words);
}

/* What `info` prints beyond the sections: per vCPU, `stack` words from
 * rsp, and `mem_words` words at guest virtual address mem_gva (read
 * through that vCPU's page tables: an interrupted context's saved
 * registers, a lock, a list the stack pointed at). */
struct info_opts {
	unsigned stack;
	uint64_t mem_gva;
	unsigned mem_words;
};

/* Where each vCPU stood: enough to tell a guest halted with no timer
 * armed from one spinning, when a snapshot of a stuck VM is taken over the
 * control socket. */
static void print_vcpus(struct snap_file *f, const struct snap_config *cfg,
			const struct info_opts *o)
{
	struct vcpu_state *st = malloc(sizeof(*st));
	if (!st)
		return;
	for (uint32_t i = 0; i < f->hdr.section_count; i++) {
		const struct snap_section *s = &f->secs[i];
		struct vmm_err err;
		void *buf;
		size_t len;
		if (s->type != SNAP_SEC_VCPU ||
		    snap_file_read_named(f, s->name, SNAP_SEC_VCPU, &buf, &len, &err))
			continue;
		int rc = snap_vcpu_decode(buf, len, st, &err);
		free(buf);
		if (rc) {
			printf("%-12s invalid: %s\n", s->name, err.msg);
			continue;
		}
		uint64_t tsc = saved_msr(st, MSR_IA32_TSC),
			 deadline = saved_msr(st, MSR_IA32_TSC_DEADLINE);
		const uint8_t *apic = (const uint8_t *)st->lapic.regs;
		uint32_t lvtt, tmict, tmcct;
		memcpy(&lvtt, apic + APIC_LVTT, 4);
		memcpy(&tmict, apic + APIC_TMICT, 4);
		memcpy(&tmcct, apic + APIC_TMCCT, 4);
		static const char *const timer_mode[] = {"one-shot", "periodic", "tsc-deadline",
							 "reserved"};
		printf("%-12s rip %#llx rsp %#llx rflags %#llx cr3 %#llx mp_state %u%s\n", s->name,
		       (unsigned long long)st->regs.rip, (unsigned long long)st->regs.rsp,
		       (unsigned long long)st->regs.rflags, (unsigned long long)st->sregs.cr3,
		       st->mp_state.mp_state, st->mp_state.mp_state == 3 ? " (halted)" : "");
		printf("%-12s lapic timer %s%s vector %u, initial count %u, current %u; "
		       "tsc %llu, tsc-deadline %llu%s; interrupt pending %u (vector %u)\n",
		       "", timer_mode[(lvtt >> 17) & 3], (lvtt & (1u << 16)) ? " masked" : "",
		       lvtt & 0xff, tmict, tmcct, (unsigned long long)tsc,
		       (unsigned long long)deadline,
		       deadline ? (deadline > tsc ? " (ahead)" : " (passed)") : " (disarmed)",
		       st->events.interrupt.injected, st->events.interrupt.nr);
		if (o->stack && cfg)
			print_stack(f, cfg, st, o->stack);
		if (o->mem_words && cfg)
			print_words(f, cfg, &st->sregs, "mem", o->mem_gva, o->mem_words);
	}
	free(st);
}

/* Each virtio device's queues as the VMM left them against what the guest
 * published in its rings: a request the guest made available that the
 * VMM never took (avail ahead of last_avail), or took and never answered
 * (last_avail ahead of used), is a VMM-side stall. */
static void print_queues(struct snap_file *f, const struct snap_config *cfg)
{
	for (uint32_t i = 0; i < f->hdr.section_count; i++) {
		const struct snap_section *s = &f->secs[i];
		struct vmm_err err;
		void *buf;
		size_t len;
		if (s->type != SNAP_SEC_DEVICE ||
		    snap_file_read_named(f, s->name, SNAP_SEC_DEVICE, &buf, &len, &err))
			continue;
		struct vmmio_state st;
		const char *why = NULL;
		unsigned nq = 0;
		if (vmmio_state_peek_queues(buf, len, &nq, &why) ||
		    vmmio_state_decode(buf, len, nq, &st, &why)) {
			printf("%-20s invalid: %s\n", s->name, why);
			free(buf);
			continue;
		}
		printf("%-20s device %u status %#x isr %#x\n", s->name, st.device_id, st.status,
		       st.isr);
		for (uint32_t q = 0; q < st.num_queues; q++) {
			const struct vq_state *v = &st.q[q].vq;
			if (!v->ready)
				continue;
			printf("  queue %-2u size %-4u last_avail %-5u used %-5u%s; guest "
			       "avail.idx %d, "
			       "used.idx %d\n",
			       q, v->size, v->last_avail, v->used_idx, v->broken ? " BROKEN" : "",
			       guest_u16(f, cfg, v->avail_gpa + 2),
			       guest_u16(f, cfg, v->used_gpa + 2));
		}
		free(buf);
	}
}

static int do_info(const char *path, const struct info_opts *o)
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
	bool have_cfg = false;
	if (snap_file_read_named(f, "config", SNAP_SEC_CONFIG, &buf, &len, &err) == 0) {
		if (snap_config_decode(buf, len, mem ? mem->length : 0, &cfg, &err) == 0) {
			printf("vcpus:       %u\n", cfg.nr_vcpus);
			printf("memory:      %" PRIu64 " MiB in %u regions\n", cfg.mem_size >> 20,
			       cfg.nr_regions);
			for (uint32_t i = 0; i < cfg.nr_files; i++)
				printf("file %-2u      %-10s %s (%" PRIu64 " bytes)\n", i,
				       snap_file_role_name(cfg.files[i].role), cfg.files[i].path,
				       cfg.files[i].size);
			print_queues(f, &cfg);
			have_cfg = true;
		} else {
			printf("config:      invalid: %s\n", err.msg);
		}
		free(buf);
	} else {
		printf("config:      unreadable: %s\n", err.msg);
	}
	print_vcpus(f, have_cfg ? &cfg : NULL, o);
	if (have_cfg)
		snap_config_release(&cfg);
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

/* A guest virtual address: hexadecimal with its 0x. */
static int parse_gva(const char *text, uint64_t *out)
{
	if (strncmp(text, "0x", 2) || !isxdigit((unsigned char)text[2]))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text + 2, &end, 16);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* info's options after FILE (argv[3..]): 0; -1 for an unknown or
 * incomplete option (the caller prints the usage); 1 for a bad value, said
 * in one line here. */
static int info_options(int argc, char **argv, struct info_opts *o)
{
	for (int i = 3; i < argc; i++) {
		uint64_t n;
		if (!strcmp(argv[i], "--stack") && i + 1 < argc) {
			if (util_parse_u64(argv[++i], 0, 4096, &n)) {
				fprintf(stderr,
					"smolvm snapshot info: --stack takes a word count from 0 "
					"to 4096, not \"%s\"\n",
					argv[i]);
				return 1;
			}
			o->stack = (unsigned)n;
		} else if (!strcmp(argv[i], "--mem") && i + 2 < argc) {
			if (parse_gva(argv[i + 1], &o->mem_gva) ||
			    util_parse_u64(argv[i + 2], 1, 4096, &n)) {
				fprintf(stderr,
					"smolvm snapshot info: --mem takes a guest virtual "
					"address in hex (0x...) and a word count from 1 to 4096, "
					"not \"%s %s\"\n",
					argv[i + 1], argv[i + 2]);
				return 1;
			}
			o->mem_words = (unsigned)n;
			i += 2;
		} else {
			return -1;
		}
	}
	return 0;
}

int cmd_snapshot(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? SMOLVM_EXIT_USAGE : SMOLVM_EXIT_OK;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "info")) {
		struct info_opts o = {0};
		int rc = argc < 3 ? -1 : info_options(argc, argv, &o);
		if (rc < 0)
			usage(stderr);
		if (rc)
			return SMOLVM_EXIT_USAGE;
		return do_info(argv[2], &o);
	}
	if (!strcmp(sub, "verify")) {
		if (argc != 3) {
			usage(stderr);
			return SMOLVM_EXIT_USAGE;
		}
		return do_verify(argv[2]);
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
