/* Test helper for tests/integration/snapshot/run.sh:
 *   snaptool ctl SOCK REQUEST...        sends each request line to a control
 *                                       socket, prints each answer line
 *   snaptool forge FILE major|model|stepping|vendor VALUE
 *                                       rewrites one header field and reseals
 *                                       the header checksum (a snapshot from a
 *                                       newer smolvm or another host)
 *   snaptool evil-bundle OUT NAME       a .smolmachine whose only entry is
 *                                       NAME (e.g. "../escape")
 *   snaptool corrupt-dev FILE SECTION transport|device
 *                                       spoils a device section's transport
 *                                       magic, or its device part's version
 *                                       (the first u32 of every device's
 *                                       blob), and reseals every checksum, so
 *                                       that only restore's checks see it */
#include "snapshot/snap_format.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int ctl(const char *path, int n, char **reqs)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return 2;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror(path);
		return 1;
	}
	FILE *in = fdopen(fd, "r");
	for (int i = 0; i < n; i++) {
		char line[8192];
		dprintf(fd, "%s\n", reqs[i]);
		if (!fgets(line, sizeof(line), in)) {
			fprintf(stderr, "snaptool: no answer to %s\n", reqs[i]);
			return 1;
		}
		fputs(line, stdout);
		fflush(stdout);
	}
	fclose(in);
	return 0;
}

/* Opens path read-write and reads its header into h; the fd, or -1. */
static int open_header(const char *path, uint8_t h[SNAP_HEADER_SIZE])
{
	int fd = open(path, O_RDWR);
	if (fd < 0 || pread(fd, h, SNAP_HEADER_SIZE, 0) != (ssize_t)SNAP_HEADER_SIZE) {
		perror(path);
		return -1;
	}
	return fd;
}

static int forge(const char *path, const char *field, const char *value)
{
	uint8_t h[SNAP_HEADER_SIZE];
	int fd = open_header(path, h);
	if (fd < 0)
		return 1;
	if (!strcmp(field, "major"))
		snap_put16(h + SNAP_OFF_MAJOR, (uint16_t)atoi(value));
	else if (!strcmp(field, "model"))
		snap_put32(h + SNAP_OFF_FP + SNAP_FP_MODEL, (uint32_t)strtoul(value, NULL, 0));
	else if (!strcmp(field, "stepping"))
		snap_put32(h + SNAP_OFF_FP + SNAP_FP_STEPPING, (uint32_t)strtoul(value, NULL, 0));
	else if (!strcmp(field, "vendor"))
		memcpy(h + SNAP_OFF_FP + SNAP_FP_VENDOR, value, strnlen(value, 12));
	else
		return 2;
	snap_put64(h + SNAP_OFF_HEADER_SUM, snap_hash(h, SNAP_OFF_HEADER_SUM));
	if (pwrite(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return 1;
	close(fd);
	return 0;
}

static int corrupt_dev(const char *path, const char *name, const char *part)
{
	uint8_t h[SNAP_HEADER_SIZE];
	int fd = open_header(path, h);
	if (fd < 0)
		return 1;
	uint32_t n = snap_get32(h + SNAP_OFF_COUNT);
	uint64_t toff = snap_get64(h + SNAP_OFF_TABLE);
	if (n == 0 || n > SNAP_MAX_SECTIONS)
		return 1;
	size_t tlen = (size_t)n * SNAP_ENTRY_SIZE;
	uint8_t *t = malloc(tlen), *e = NULL;
	if (!t || pread(fd, t, tlen, (off_t)toff) != (ssize_t)tlen)
		return 1;
	for (uint32_t i = 0; i < n && !e; i++)
		if (!strncmp((char *)t + i * SNAP_ENTRY_SIZE + SNAP_ENT_NAME, name, 32))
			e = t + i * SNAP_ENTRY_SIZE;
	if (!e) {
		fprintf(stderr, "snaptool: %s: no section %s\n", path, name);
		return 1;
	}
	uint64_t off = snap_get64(e + SNAP_ENT_OFFSET), len = snap_get64(e + SNAP_ENT_LENGTH);
	uint8_t *s = len >= 64 && len < (1u << 20) ? malloc(len) : NULL;
	if (!s || pread(fd, s, len, (off_t)off) != (ssize_t)len)
		return 1;
	/* Transport header: u32 magic, version, device_id, num_queues; each
	 * queue 48 bytes after the 64-byte header; then u32 device length. */
	uint64_t dev = 64 + 48 * (uint64_t)snap_get32(s + 12) + 4;
	if (!strcmp(part, "transport"))
		snap_put32(s, 0x21444142); /* "BAD!" */
	else if (!strcmp(part, "device") && dev + 4 <= len)
		snap_put32(s + dev, 0xee);
	else
		return 2;
	snap_put64(e + SNAP_ENT_SUM, snap_hash(s, len));
	snap_put64(h + SNAP_OFF_TABLE_SUM, snap_hash(t, tlen));
	snap_put64(h + SNAP_OFF_HEADER_SUM, snap_hash(h, SNAP_OFF_HEADER_SUM));
	if (pwrite(fd, s, len, (off_t)off) != (ssize_t)len ||
	    pwrite(fd, t, tlen, (off_t)toff) != (ssize_t)tlen ||
	    pwrite(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return 1;
	free(s);
	free(t);
	close(fd);
	return 0;
}

static int evil_bundle(const char *out, const char *name)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_zstd(a);
	if (archive_write_open_filename(a, out) != ARCHIVE_OK)
		return 1;
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 4);
	archive_write_header(a, e);
	archive_write_data(a, "evil", 4);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "ctl"))
		return ctl(argv[2], argc - 3, argv + 3);
	if (argc == 5 && !strcmp(argv[1], "forge"))
		return forge(argv[2], argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "evil-bundle"))
		return evil_bundle(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "corrupt-dev"))
		return corrupt_dev(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: snaptool ctl SOCK REQ... | forge FILE FIELD VALUE | "
			"evil-bundle OUT NAME | corrupt-dev FILE SECTION transport|device\n");
	return 2;
}
