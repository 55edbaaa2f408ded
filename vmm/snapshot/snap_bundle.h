/* snap_bundle: portable .smolmachine bundles.
 *
 * A bundle is a zstd-compressed pax tar (libarchive) of:
 *   snapshot.smolsnap           the snapshot, stored sparse (GNU sparse 1.0)
 *   files/<i>-<basename>        file i of the snapshot's config section
 *                               (kernel, initrd, disk base, frozen layers)
 *   manifest                    written last, so hashes can be computed while
 *                               streaming: "smolmachine 1" then one line per
 *                               entry: "entry NAME SIZE XXH3-64-HEX"
 *
 * Import writes DIR/snapshot.smolsnap and DIR/files/..., sparse (zero pages
 * are never written), refuses any entry that is not a regular file with one
 * of the names above (so "../x", "/etc/x", links and devices never reach the
 * disk), checks every entry against the manifest, then opens and fully
 * verifies the snapshot. On any failure DIR is removed again. Restore finds
 * bundled files through snap_bundle_resolve(). */
#ifndef SMOL_SNAP_BUNDLE_H
#define SMOL_SNAP_BUNDLE_H

#include "snap_config.h"
#include "smolvm/err.h"

#include <stddef.h>

#define SNAP_BUNDLE_SNAPSHOT	"snapshot.smolsnap"
#define SNAP_BUNDLE_MANIFEST	"manifest"
#define SNAP_BUNDLE_MAX_ENTRIES (SNAP_MAX_FILES + 2)

/* Writes the bundle for the snapshot at snap_path to out_path (replaced
 * atomically: written to a temporary name, renamed at the end). Every file in
 * the snapshot's config must exist with its recorded size. */
int snap_bundle_export(const char *snap_path, const char *out_path, struct vmm_err *err);

/* Unpacks bundle_path into dir (created; an existing empty directory is
 * accepted) as described above. */
int snap_bundle_import(const char *bundle_path, const char *dir, struct vmm_err *err);

/* The name file i (path `path`) of a config has inside a bundle:
 * "files/<i>-<basename>". Writes into buf; -ENAMETOOLONG if it does not fit. */
int snap_bundle_entry_name(unsigned i, const char *path, char *buf, size_t len);

/* Where restore should open file i of the snapshot at snap_path: the bundled
 * copy "<dir of snap_path>/files/<i>-<basename>" when it exists, else the
 * recorded path, which is relative to the snapshot's directory when it has
 * no '/' (a file snap_save found next to the snapshot). Writes into buf. */
int snap_bundle_resolve(const char *snap_path, unsigned i, const char *path, char *buf, size_t len);

#endif
