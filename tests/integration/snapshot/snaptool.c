/* Test helper for tests/integration/snapshot/run.sh:
 *   snaptool ctl SOCK REQUEST...        sends each request line to a control
 *                                       socket, prints each answer line
 *   snaptool forge FILE major|model|vendor VALUE
 *                                       rewrites one header field and reseals
 *                                       the header checksum (a snapshot from a
 *                                       newer smolvm or another host)
 *   snaptool evil-bundle OUT NAME       a .smolmachine whose only entry is
 *                                       NAME (e.g. "../escape") */
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

static int forge(const char *path, const char *field, const char *value)
{
	uint8_t h[SNAP_HEADER_SIZE];
	int fd = open(path, O_RDWR);
	if (fd < 0 || pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		perror(path);
		return 1;
	}
	if (!strcmp(field, "major"))
		snap_put16(h + SNAP_OFF_MAJOR, (uint16_t)atoi(value));
	else if (!strcmp(field, "model"))
		snap_put32(h + SNAP_OFF_FP + SNAP_FP_MODEL, (uint32_t)strtoul(value, NULL, 0));
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
	fprintf(stderr, "usage: snaptool ctl SOCK REQ... | forge FILE FIELD VALUE | "
			"evil-bundle OUT NAME\n");
	return 2;
}
