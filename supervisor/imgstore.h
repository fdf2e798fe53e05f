/* The image store (docs/images.md), as berthd and the import helper
 * (berth-image) see it. Layout under BERTH_STORE_DIR (0700, root's):
 *
 *   blobs/sha256/HEX     every blob of every image (manifests, configs, layers
 *                        as they came), 0444, named by its own digest: a layer
 *                        that two images share is stored once
 *   rootfs/HEX           an image's layers unpacked into one tree (on-disk ids
 *                        0..65535, as the baked images: the runtime maps them
 *                        into each container's range); HEX is the image's digest
 *   images/HEX/          the image's record: "info" (text), manifest.json,
 *                        config.json, and sig-NAME (the signature bundle it
 *                        came with, per name it was imported as). Its
 *                        presence is what makes the image exist: it is
 *                        written last, by rename
 *   tags/NAME/TAG        "sha256:HEX\n" ('/' in NAME written as '%')
 *   tmp/                 imports in progress (removed on failure, and by prune)
 *   .lock                flock: imports, rm and prune exclusive, reads shared
 *
 * The image digest is the OCI manifest's digest, or for a docker-save
 * archive (which has none) its config's digest, the image ID Docker shows. */
#ifndef BERTH_IMGSTORE_H
#define BERTH_IMGSTORE_H

#include <stddef.h>

#include "imgmeta.h"
#include "lib/err.h"

#define BERTH_STORE_DIR "/var/lib/berth/images"
#define BERTH_TRUST_DIR "/var/lib/berth/trust"
#define BERTH_TRUST_ROOT "/etc/berth/trust/root.pub"
#define BERTH_IMAGE_HELPER "/usr/libexec/berth/berth-image"
/* The id range the import sandbox runs in (berthd allocates it like a unit's;
 * '@' keeps it apart from every unit name). */
#define BERTH_IMAGE_IDMAP_NAME "@image-import"

/* NAME with '/' written as '%' (a tags/ directory name), into OUT (130 bytes). */
void berth_store_name_escape(const char *name, char *out);

/* The digest REF names: "name:tag" through tags/, "name@sha256:HEX" when that
 * image is in the store and NAME is one of its tags' names. Returns 0 with
 * DIGEST set, or -1 with ERR ("image web:1.0 is not in the store (berthctl
 * image import)"). */
int berth_store_resolve(const char *store, const char *ref, char digest[BERTH_DIGEST_LEN + 1],
			struct berth_err *err);

/* "sig-NAME" ('/' as '%'): the file of an image's record holding the
 * signature bundle it was imported with as NAME, into OUT (160 bytes). */
void berth_store_sig_file(const char *name, char *out);

/* STORE/rootfs/HEX, STORE/images/HEX/FILE for DIGEST into OUT. Returns 0, or
 * -1 if it does not fit. */
int berth_store_path(const char *store, const char *what, const char *digest, const char *file, char *out,
		     size_t len);

/* The whole of a small file (at most MAX bytes; NUL-terminated, length in
 * *LEN); NULL with ERR. */
char *berth_store_read(const char *path, size_t max, size_t *len, struct berth_err *err);

/* The image's configuration (its defaults for a unit). */
int berth_store_config(const char *store, const char *digest, struct berth_image_config *c,
		       struct berth_err *err);

#endif
