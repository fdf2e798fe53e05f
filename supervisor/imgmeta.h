/* The JSON documents of an image archive, parsed strictly (cJSON), pure: no
 * file system. OCI image layout (index.json, manifests, configs) and the
 * docker-save archive's manifest.json. What a document omits is zero/NULL;
 * what it has wrong is an error with the field named. Used by the import
 * worker (imgstore.c), by berthd to read an image's defaults, by berth-sign,
 * and by the fuzzer. */
#ifndef BERTH_IMGMETA_H
#define BERTH_IMGMETA_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define BERTH_DIGEST_LEN 71 /* "sha256:" + 64 lowercase hex */
#define BERTH_IMG_MAX_LAYERS 128
#define BERTH_IMG_REF_MAX 256

/* Pure: 1 if S is "sha256:" followed by exactly 64 lowercase hex digits. */
int berth_digest_valid(const char *s);

enum berth_media {
	BERTH_MEDIA_UNKNOWN = 0,
	BERTH_MEDIA_OCI_INDEX,          /* application/vnd.oci.image.index.v1+json */
	BERTH_MEDIA_OCI_MANIFEST,       /* application/vnd.oci.image.manifest.v1+json */
	BERTH_MEDIA_OCI_CONFIG,         /* application/vnd.oci.image.config.v1+json */
	BERTH_MEDIA_DOCKER_LIST,        /* application/vnd.docker.distribution.manifest.list.v2+json */
	BERTH_MEDIA_DOCKER_MANIFEST,    /* application/vnd.docker.distribution.manifest.v2+json */
	BERTH_MEDIA_DOCKER_CONFIG,      /* application/vnd.docker.container.image.v1+json */
	BERTH_MEDIA_LAYER_TAR,          /* application/vnd.oci.image.layer.v1.tar */
	BERTH_MEDIA_LAYER_GZIP,         /* ...layer.v1.tar+gzip, application/vnd.docker.image.rootfs.diff.tar.gzip */
};
/* Pure: the media type's enum (UNKNOWN for anything else, including zstd and
 * non-distributable layers). */
enum berth_media berth_media_from_name(const char *s);

struct berth_descriptor {
	enum berth_media media;
	char media_name[128];                /* as written, for messages */
	char digest[BERTH_DIGEST_LEN + 1];
	int64_t size;                        /* >= 0 */
	char ref_name[BERTH_IMG_REF_MAX];    /* annotation org.opencontainers.image.ref.name, or "" */
	char os[32], arch[32];               /* platform, or "" */
};

/* index.json (or a nested index blob): its manifests, at most MAX. Returns the
 * count (>= 0), or -1 with ERR. schemaVersion must be 2. */
int berth_oci_index_parse(const char *json, size_t len, struct berth_descriptor *out, int max,
			  struct berth_err *err);

struct berth_manifest {
	struct berth_descriptor config;
	struct berth_descriptor layers[BERTH_IMG_MAX_LAYERS];
	int nlayers;
};
/* An OCI (or Docker schema 2) image manifest. Unknown layer media types are
 * an error naming the type ("layer 2: unsupported media type ..."). */
int berth_oci_manifest_parse(const char *json, size_t len, struct berth_manifest *m, struct berth_err *err);

#define BERTH_TAR_PATH_MAX_META 256

/* docker-save's manifest.json: an array of 1 to MAX images (more is an error,
 * as is any layer path that berth_tar_path_normalise refuses; the paths are
 * stored normalised). Returns the count, or -1 with ERR. */
struct berth_docker_image {
	char config[BERTH_TAR_PATH_MAX_META];
	char layers[BERTH_IMG_MAX_LAYERS][BERTH_TAR_PATH_MAX_META]; /* paths in the archive */
	int nlayers;
	char repo_tags[8][BERTH_IMG_REF_MAX];                       /* "name:tag" */
	int ntags;
};
int berth_docker_manifest_parse(const char *json, size_t len, struct berth_docker_image *out, int max,
				struct berth_err *err);

/* An image configuration: the parts Berth uses. Arrays are NULL-terminated and
 * allocated (berth_image_config_free); any may be NULL. */
struct berth_image_config {
	char **entrypoint;
	char **cmd;
	char **env;                  /* "K=V" */
	char *working_dir;
	char *user;                  /* "uid", "uid:gid", "name", "name:group" as written */
	char *os, *arch;
	char **diff_ids;             /* rootfs.diff_ids, "sha256:..." each */
	int ndiff_ids;
};
int berth_image_config_parse(const char *json, size_t len, struct berth_image_config *c, struct berth_err *err);
void berth_image_config_free(struct berth_image_config *c);

/* Pure: split a reference "name:tag" or "name@sha256:HEX" (name: lowercase
 * [a-z0-9] then [a-z0-9._/-], at most 128; tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}).
 * Exactly one of TAG/DIGEST is set (the other ""). Returns 0 or -1 with ERR. */
int berth_image_ref_parse(const char *ref, char name[129], char tag[129], char digest[BERTH_DIGEST_LEN + 1],
			  struct berth_err *err);

#endif
