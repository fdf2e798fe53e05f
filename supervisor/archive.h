/* Tar streams (optionally gzip-compressed) read strictly, and their safe
 * extraction into a directory: the code that touches a hostile image archive.
 * It runs only inside the import sandbox (imgstore.c), but is written as if it
 * did not: every path is resolved beneath the target directory by the kernel
 * (openat2 RESOLVE_IN_ROOT), nothing is followed out of it, and every size is
 * bounded. Pure parsing (berth_tar_header_parse) is apart from what touches
 * the file system, for the unit tests and the fuzzer. */
#ifndef BERTH_ARCHIVE_H
#define BERTH_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

#define BERTH_TAR_PATH_MAX 4096

/* Bounds on one stream. */
struct berth_archive_limits {
	uint64_t max_total;    /* bytes of tar data (after decompression) */
	uint64_t max_file;     /* bytes of one member */
	uint32_t max_entries;  /* members */
	uint32_t max_ratio;    /* gzip: decompressed/compressed bytes (counted once past 1 MiB out) */
};
/* 16 GiB, 8 GiB, 1,000,000 members, ratio 1000 (docs/images.md). */
void berth_archive_limits_default(struct berth_archive_limits *l);

enum berth_tar_type {
	BERTH_TAR_FILE = '0',
	BERTH_TAR_HARDLINK = '1',
	BERTH_TAR_SYMLINK = '2',
	BERTH_TAR_CHAR = '3',
	BERTH_TAR_BLOCK = '4',
	BERTH_TAR_DIR = '5',
	BERTH_TAR_FIFO = '6',
};

struct berth_tar_entry {
	char path[BERTH_TAR_PATH_MAX];  /* normalised: relative, no "." or ".." components,
	                                   no leading "/" or "./", no trailing "/" ("" for the root) */
	char link[BERTH_TAR_PATH_MAX];  /* symlink target as written; hardlink target normalised as path */
	char type;                      /* enum berth_tar_type (regular '\0' and '7' map to FILE) */
	uint32_t mode;                  /* permission bits incl. setuid/setgid/sticky (07777) */
	uint32_t uid, gid;
	uint64_t size;                  /* data bytes (FILE only; 0 otherwise) */
	int64_t mtime;
};

/* Pure: parse one 512-byte ustar/GNU header block. Returns 1 with E filled
 * (size etc.), 0 for an all-zero block, -1 with ERR for a bad checksum, a bad
 * number field, or a type this reader refuses. PAX ('x', 'g') and GNU long
 * names ('L', 'K') are handled by the reader, not here: for those this returns
 * 2 with E->type set to the raw type and E->size the payload's size. */
int berth_tar_header_parse(const unsigned char block[512], struct berth_tar_entry *e, struct berth_err *err);

/* Pure: normalise an archive path into OUT (BERTH_TAR_PATH_MAX): strips
 * leading "./" and "/" is refused, "." components dropped, ".." refused,
 * empty components collapsed. Returns 0 or -1 with ERR ("path traversal"). */
int berth_tar_path_normalise(const char *in, char *out, struct berth_err *err);

/* A reader over FD: gzip is detected by its magic bytes (1f 8b) and inflated
 * (zlib), else the stream is plain tar. Any other compression (zstd, xz,
 * bzip2: detected by magic) is refused with its name. */
struct berth_tar;
struct berth_tar *berth_tar_open(int fd, const struct berth_archive_limits *lim, struct berth_err *err);
/* Pure-memory variant for tests and the fuzzer: reads DATA[0..LEN). */
struct berth_tar *berth_tar_open_mem(const void *data, size_t len, const struct berth_archive_limits *lim,
				     struct berth_err *err);
/* The next member (PAX path/linkpath/size and GNU long names applied): 1, or 0
 * at the end of the archive (two zero blocks; a stream that ends without them
 * is "truncated archive"), -1 with ERR. Unread data of the previous member is
 * skipped. */
int berth_tar_next(struct berth_tar *t, struct berth_tar_entry *e, struct berth_err *err);
/* Read up to LEN bytes of the current member's data: bytes read, 0 at its
 * end, -1 with ERR (a stream that ends early is "truncated archive"). */
ssize_t berth_tar_read(struct berth_tar *t, void *buf, size_t len, struct berth_err *err);
/* Bytes of (decompressed) tar consumed so far (berth_tar_raw_offset: of the source). */
uint64_t berth_tar_offset(const struct berth_tar *t);
/* Bytes read from the source so far (compressed, for a gzip stream). After
 * berth_tar_next returned 0 the whole source has been read: what follows the
 * end-of-archive blocks must be zeros, and a gzip stream must end there. */
uint64_t berth_tar_raw_offset(const struct berth_tar *t);
void berth_tar_close(struct berth_tar *t);

/* How berth_tar_extract treats members. */
enum berth_extract_mode {
	/* An image layer (OCI image-spec layer.md): files, directories,
	 * symlinks, hardlinks and FIFOs; whiteouts (".wh.NAME" removes NAME,
	 * ".wh..wh..opq" empties its directory of what earlier layers put
	 * there) are applied, not written; device nodes are refused. Ownership
	 * (uid/gid) and modes as in the archive, mtimes set. */
	BERTH_EXTRACT_LAYER,
	/* The outer archive (an OCI layout or a docker-save archive): only
	 * regular files and directories, no links, no whiteout handling,
	 * modes 0644/0755, ownership not set. */
	BERTH_EXTRACT_PLAIN,
};

/* Extract every member of T into the directory ROOTFD. Each path is resolved
 * with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) for its parent
 * directory (so symlinks already extracted are followed, but never out of
 * ROOTFD) and the last component is created with *at calls that never follow
 * it (an existing entry is replaced, as tar does; a directory over a directory
 * is kept). Hardlink targets must be regular files already extracted in this
 * directory tree; symlink targets that are relative and climb above the root
 * (lexically, from the link's directory) are refused ("link escapes the
 * image"), absolute ones are kept (the container resolves them in its own
 * root). Returns 0, or -1 with ERR naming the member ("etc/x: device node
 * refused"). On error the caller removes what was written. */
int berth_tar_extract(struct berth_tar *t, int rootfd, enum berth_extract_mode mode, struct berth_err *err);

#endif
