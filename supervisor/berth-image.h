/* Internal to berth-image (berth-image.c: options, output, files, the store,
 * import; berth-image-store.c: ls, inspect, rm, prune, trust). */
#ifndef BERTH_IMAGE_H
#define BERTH_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "imgmeta.h"
#include "lib/err.h"
#include "proto.h"

#define MAX_IN_USE 4096 /* two per unit definition (berthd's MAX_UNITS 1024), tags too */
#define META_MAX (4u << 20) /* bytes of one manifest, index or config */

struct berth_image_opts {
	const char *store, *trust_dir, *root_pub;
	int require_signed, json;
	uint32_t uid_base;
	const char *in_use[MAX_IN_USE]; /* "sha256:HEX=UNIT" or "ref:NAME:TAG=UNIT" */
	int nin_use;
};
extern struct berth_image_opts o;
extern int store_fd; /* the store, once store_open succeeded */

/* Output to fd 1: the control protocol's data messages when it is berthd's
 * client socket, plain text otherwise; FINISH ends the answer with ST. */
void out_data(const char *p, size_t len);
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int finish(enum berth_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int fail(const struct berth_err *err);
void iso_time(int64_t t, char *b, size_t len);

/* rm -rf PATH (never following a symlink or crossing a mount); its disk use. */
int rm_rf(const char *path);
uint64_t du(const char *path);
/* REL beneath DIRFD, a regular file of at most MAX bytes, no symlink followed. */
int open_beneath(int dirfd, const char *rel, uint64_t max, struct stat *st, struct berth_err *err);
/* TEXT into DIRFD/NAME durably (temp file, fsync, rename). */
int write_file_at(int dirfd, const char *name, const char *text, size_t len, struct berth_err *err);

/* The store: open (creating) and lock it; what is in it; who uses what. */
int store_open(int exclusive, struct berth_err *err);
int store_has(const char *what, const char *digest, const char *file);
const char *in_use_ref(const char *ref);
const char *in_use_by(const char *digest);
void tags_each(void (*fn)(const char *, const char *, const char *, void *), void *arg);
/* NAME (129 bytes) and the tag of "NAME:TAG". */
const char *tag_of(const char *ref, char *name);

/* berth-image-store.c */
uint64_t remove_image(const char *digest);
int cmd_ls(void);
int cmd_inspect(const char *ref);
int cmd_rm(int argc, char **argv);
int cmd_prune(void);
int cmd_trust_update(void);
int cmd_trust_show(void);

#endif
