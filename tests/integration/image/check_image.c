/* check_image DIR: verifies an image written by `smoltest image build`
 * against its own manifest, independently of the builder's code (only
 * libarchive and xxHash):
 *   - vmlinuz: size and XXH3 match, boot flag 0xAA55 at 0x1FE, "HdrS" at 0x202
 *   - initrd: size and XXH3 match; it is a newc cpio with the manifest's
 *     compression; every cpio entry has a manifest record and vice versa,
 *     with the same type, mode, size, hash, symlink target and device
 *   - /init and /bin/busybox are regular files with mode 0755
 *   - every line of /etc/smoltest/modules is a regular file in the archive,
 *     and the list matches the manifest's module records in order
 * Prints one line per problem and exits 1 when there is any. */
#include <archive.h>
#include <archive_entry.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

#define MAX_RECORDS 20000

struct rec {
	char kind[16];
	char name[512];
	char fields[1024]; /* " key=value..." as written */
	int seen;
};

/* Everything the checker knows: the manifest's records and the count of
 * problems found so far. */
struct checker {
	struct rec *recs;
	size_t nrecs;
	int problems;
};

static void problem(struct checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct checker *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "check_image: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	c->problems++;
}

/* Decodes %XX escapes in place. */
static void decode(char *s)
{
	char *o = s;
	for (; *s; s++) {
		unsigned v;
		if (s[0] == '%' && sscanf(s + 1, "%2x", &v) == 1) {
			*o++ = (char)v;
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Copies the decoded value of key from fields into out ("" if absent). */
static int field(const struct rec *r, const char *key, char *out, size_t outlen)
{
	char pat[64];
	snprintf(pat, sizeof(pat), " %s=", key);
	const char *p = strstr(r->fields, pat);
	out[0] = '\0';
	if (!p)
		return 0;
	p += strlen(pat);
	size_t l = strcspn(p, " ");
	if (l >= outlen)
		l = outlen - 1;
	memcpy(out, p, l);
	out[l] = '\0';
	decode(out);
	return 1;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long l = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)l + 1);
	if (buf && fread(buf, 1, (size_t)l, f) != (size_t)l) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[l] = '\0';
		*len = (size_t)l;
	}
	return buf;
}

static void hex(const void *d, size_t l, char out[17])
{
	snprintf(out, 17, "%016" PRIx64, (uint64_t)XXH3_64bits(d, l));
}

static struct rec *find(struct checker *c, const char *kind, const char *name)
{
	for (size_t i = 0; i < c->nrecs; i++)
		if (!strcmp(c->recs[i].kind, kind) && !strcmp(c->recs[i].name, name))
			return &c->recs[i];
	return NULL;
}

static void check_blob(struct checker *c, const char *what, const void *d, size_t l,
		       const struct rec *r)
{
	char want[64], got[17], sz[32];
	field(r, "xxh3", want, sizeof(want));
	hex(d, l, got);
	if (strcmp(want, got))
		problem(c, "%s: xxh3 %s, manifest says %s", what, got, want);
	field(r, "size", sz, sizeof(sz));
	if (strtoull(sz, NULL, 10) != l)
		problem(c, "%s: size %zu, manifest says %s", what, l, sz);
}

static int load_manifest(struct checker *c, const char *dir)
{
	char path[4096];
	size_t len;
	snprintf(path, sizeof(path), "%s/manifest", dir);
	char *text = read_all(path, &len);
	if (!text) {
		problem(c, "cannot read %s", path);
		return -1;
	}
	c->recs = calloc(MAX_RECORDS, sizeof(*c->recs));
	if (!c->recs) {
		problem(c, "out of memory");
		free(text);
		return -1;
	}
	char *save = NULL;
	int first = 1;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (first) {
			if (strcmp(line, "smoltest-image-manifest 1"))
				problem(c, "manifest: first line is '%s'", line);
			first = 0;
			continue;
		}
		struct rec *r = &c->recs[c->nrecs++];
		char *sp1 = strchr(line, ' ');
		if (!sp1 || c->nrecs == MAX_RECORDS) {
			problem(c, "manifest: malformed line '%s'", line);
			continue;
		}
		*sp1 = '\0';
		snprintf(r->kind, sizeof(r->kind), "%s", line);
		char *rest = sp1 + 1, *sp2 = strchr(rest, ' ');
		if (sp2) {
			snprintf(r->fields, sizeof(r->fields), "%s", sp2);
			*sp2 = '\0';
		}
		snprintf(r->name, sizeof(r->name), "%s", rest);
		decode(r->name);
	}
	free(text);
	return 0;
}

static void check_vmlinuz(struct checker *c, const char *dir)
{
	char path[4096];
	size_t len;
	snprintf(path, sizeof(path), "%s/vmlinuz", dir);
	unsigned char *k = (unsigned char *)read_all(path, &len);
	struct rec *r = find(c, "vmlinuz", "vmlinuz");
	if (!k || !r) {
		problem(c, "vmlinuz or its manifest record is missing");
		free(k);
		return;
	}
	check_blob(c, "vmlinuz", k, len, r);
	/* Documentation/arch/x86/boot.rst: boot_flag and header magic. */
	if (len < 0x208 || k[0x1fe] != 0x55 || k[0x1ff] != 0xaa || memcmp(k + 0x202, "HdrS", 4))
		problem(c, "vmlinuz is not a bzImage (no 0xAA55 at 0x1FE / HdrS at 0x202)");
	else
		printf("vmlinuz: bzImage, boot protocol %u.%02u, %zu bytes\n", k[0x207], k[0x206],
		       len);
	free(k);
}

static void check_entry(struct checker *c, struct archive *a, struct archive_entry *e,
			char **modlist, size_t *modlist_len)
{
	char path[600], want[600];
	snprintf(path, sizeof(path), "/%s", archive_entry_pathname(e));
	mode_t m = archive_entry_mode(e);
	const char *kind = S_ISDIR(m)	? "dir"
			   : S_ISLNK(m) ? "symlink"
			   : S_ISCHR(m) ? "chardev"
			   : S_ISREG(m) ? "file"
					: "other";
	struct rec *r = find(c, kind, path);
	if (!r) {
		problem(c, "initrd entry %s (%s) has no manifest record", path, kind);
		return;
	}
	if (r->seen++)
		problem(c, "initrd has %s twice", path);
	if (archive_entry_uid(e) != 0 || archive_entry_gid(e) != 0)
		problem(c, "%s is not owned by root", path);
	if (!S_ISLNK(m)) {
		char perm[8];
		snprintf(perm, sizeof(perm), "%04o", (unsigned)(m & 07777));
		field(r, "mode", want, sizeof(want));
		if (strcmp(perm, want))
			problem(c, "%s: mode %s, manifest says %s", path, perm, want);
	}
	if (S_ISLNK(m)) {
		field(r, "target", want, sizeof(want));
		if (strcmp(archive_entry_symlink(e), want))
			problem(c, "%s -> %s, manifest says %s", path, archive_entry_symlink(e),
				want);
	} else if (S_ISCHR(m)) {
		snprintf(want, sizeof(want), " major=%u minor=%u",
			 (unsigned)archive_entry_rdevmajor(e),
			 (unsigned)archive_entry_rdevminor(e));
		if (!strstr(r->fields, want))
			problem(c, "%s: device numbers differ from the manifest", path);
	} else if (S_ISREG(m)) {
		size_t cap = (size_t)archive_entry_size(e) + 1, len = 0;
		char *buf = malloc(cap);
		la_ssize_t n;
		while ((n = archive_read_data(a, buf + len, cap - len)) > 0)
			len += (size_t)n;
		check_blob(c, path, buf, len, r);
		if (!strcmp(path, "/etc/smoltest/modules")) {
			buf[len] = '\0';
			*modlist = buf;
			*modlist_len = len;
		} else {
			free(buf);
		}
	}
}

static void check_initrd(struct checker *c, const char *dir)
{
	char path[4096];
	size_t len;
	snprintf(path, sizeof(path), "%s/initrd", dir);
	char *img = read_all(path, &len);
	struct rec *r = find(c, "initrd", "initrd");
	if (!img || !r) {
		problem(c, "initrd or its manifest record is missing");
		free(img);
		return;
	}
	check_blob(c, "initrd", img, len, r);

	char comp[32];
	field(r, "compress", comp, sizeof(comp));
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	archive_read_support_filter_all(a);
	archive_read_support_format_cpio(a);
	if (archive_read_open_memory(a, img, len) != ARCHIVE_OK) {
		problem(c, "initrd: %s", archive_error_string(a));
		goto out;
	}
	char *modlist = NULL;
	size_t modlist_len = 0, entries = 0;
	int r2;
	while ((r2 = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		if (entries++ == 0) {
			if (archive_format(a) != ARCHIVE_FORMAT_CPIO_SVR4_NOCRC)
				problem(c, "initrd is %s, not newc cpio", archive_format_name(a));
			if (strcmp(archive_filter_name(a, 0), comp))
				problem(c, "initrd is compressed with %s, manifest says %s",
					archive_filter_name(a, 0), comp);
		}
		check_entry(c, a, e, &modlist, &modlist_len);
	}
	if (r2 != ARCHIVE_EOF)
		problem(c, "initrd: %s", archive_error_string(a));
	printf("initrd: newc cpio, %s, %zu entries, %zu bytes\n", comp, entries, len);

	for (size_t i = 0; i < c->nrecs; i++) {
		const char *k = c->recs[i].kind;
		bool entry = !strcmp(k, "dir") || !strcmp(k, "file") || !strcmp(k, "symlink") ||
			     !strcmp(k, "chardev");
		if (entry && !c->recs[i].seen)
			problem(c, "manifest lists %s %s, which is not in the initrd", k,
				c->recs[i].name);
	}
	struct rec *init = find(c, "file", "/init"), *bb = find(c, "file", "/bin/busybox");
	if (!init || !strstr(init->fields, " mode=0755"))
		problem(c, "/init is missing or not mode 0755");
	if (!bb || !strstr(bb->fields, " mode=0755"))
		problem(c, "/bin/busybox is missing or not mode 0755");

	/* The load order file against the module records, in order. */
	if (!modlist) {
		problem(c, "/etc/smoltest/modules is missing");
		goto out;
	}
	size_t mi = 0, lines = 0;
	char *save = NULL;
	for (char *line = strtok_r(modlist, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		lines++;
		line[strcspn(line, " ")] = '\0'; /* "PATH DEP...": the path */
		struct rec *f = find(c, "file", line);
		if (!f)
			problem(c,
				"/etc/smoltest/modules names %s, which is not a file in the initrd",
				line);
		while (mi < c->nrecs && strcmp(c->recs[mi].kind, "module"))
			mi++;
		char p[600];
		if (mi == c->nrecs || (field(&c->recs[mi], "path", p, sizeof(p)), strcmp(p, line)))
			problem(
			    c,
			    "/etc/smoltest/modules line %zu (%s) is not the manifest's next module",
			    lines, line);
		mi++;
	}
	while (mi < c->nrecs && strcmp(c->recs[mi].kind, "module"))
		mi++;
	if (mi != c->nrecs)
		problem(c, "the manifest has more modules than /etc/smoltest/modules");
	printf("modules: %zu in /etc/smoltest/modules\n", lines);
	free(modlist);
out:
	archive_read_free(a);
	free(img);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: check_image DIR\n");
		return 2;
	}
	struct checker c = {0};
	if (load_manifest(&c, argv[1]) == 0) {
		check_vmlinuz(&c, argv[1]);
		check_initrd(&c, argv[1]);
	}
	free(c.recs);
	if (c.problems)
		fprintf(stderr, "check_image: %d problem(s)\n", c.problems);
	return c.problems ? 1 : 0;
}
