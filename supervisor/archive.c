/* Tar streams read strictly (ustar/GNU headers, PAX and GNU long-name
 * extensions, gzip through zlib, every size bounded) and extracted beneath a
 * directory that nothing is followed out of (openat2). See archive.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zlib.h>

#include "archive.h"
#include "lib/cleanup.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define IN_BUF (64 * 1024)
#define EXT_MAX (1024 * 1024)     /* bytes of one PAX or GNU long-name header */
#define RATIO_FLOOR (1024 * 1024) /* the ratio counts once this much is out */

/* Extension headers (PAX 'x', GNU 'L'/'K') seen since the last member.
 * Flags and numbers first: a reset clears up to PATH only. */
struct ext {
	int pax, longname, longlink;
	int has_path, has_link, has_size, has_uid, has_gid, has_mtime;
	uint64_t size;
	uint32_t uid, gid;
	int64_t mtime;
	char path[BERTH_TAR_PATH_MAX], link[BERTH_TAR_PATH_MAX];
	char longname_s[BERTH_TAR_PATH_MAX], longlink_s[BERTH_TAR_PATH_MAX];
};

struct berth_tar {
	int fd;                  /* -1 for memory */
	const unsigned char *mem;
	size_t mem_len, mem_pos;
	struct berth_archive_limits lim;

	int gzip;
	z_stream zs;
	int zs_live;
	int member_end;          /* gzip: the current member ended (Z_STREAM_END) */
	int members;             /* gzip members finished */
	unsigned char in[IN_BUF];
	size_t in_pos, in_len;   /* plain: unread source bytes in[in_pos..in_len) */
	int src_eof;
	uint64_t raw_read;       /* bytes read from the source */
	uint64_t out;            /* tar bytes delivered */

	uint64_t remain, pad;    /* current member: data left, then padding */
	char cur[BERTH_TAR_PATH_MAX]; /* current member, for messages */
	uint32_t entries;
	int state;               /* 0 reading, 1 at the end, -1 failed */
	struct berth_err saved;  /* the error that failed the stream */
	struct ext x;            /* extension headers seen for the next member */
};

void berth_archive_limits_default(struct berth_archive_limits *l)
{
	l->max_total = UINT64_C(16) << 30;
	l->max_file = UINT64_C(8) << 30;
	l->max_entries = 1000000;
	l->max_ratio = 1000;
}

/* "8 GiB", "1.5 MiB", "100 bytes" into BUF. */
static const char *size_str(uint64_t n, char buf[48])
{
	static const struct { uint64_t unit; const char *name; } units[] = {
		{ UINT64_C(1) << 40, "TiB" }, { UINT64_C(1) << 30, "GiB" },
		{ UINT64_C(1) << 20, "MiB" }, { UINT64_C(1) << 10, "KiB" },
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t u = units[i].unit;

		if (n < u)
			continue;
		/* Rounded down, so a size just over a limit never prints as equal to it
		 * from above: "8.9 GiB", never "9.0 GiB" for 8.99. */
		if (n % u == 0)
			snprintf(buf, 48, "%" PRIu64 " %s", n / u, units[i].name);
		else
			snprintf(buf, 48, "%" PRIu64 ".%" PRIu64 " %s", n / u, (n % u) * 10 / u, units[i].name);
		return buf;
	}
	snprintf(buf, 48, "%" PRIu64 " bytes", n);
	return buf;
}

/* IN with control characters as '?' into OUT (LEN bytes), for messages. */
static void printable(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 1 < len; in++)
		out[o++] = (unsigned char)*in < 0x20 || *in == 0x7f ? '?' : *in;
	out[o] = '\0';
}

/* The stream failed: keep the error, so later calls report it again. */
static int fail(struct berth_tar *t, struct berth_err *err)
{
	t->state = -1;
	t->saved = *err;
	return -1;
}

/* ---- The source: bytes from an fd or memory, then gzip or not. ---- */

/* Read more source bytes into IN at OFF; returns how many (0 at the end) or -1. */
static ssize_t src_read(struct berth_tar *t, size_t off, struct berth_err *err)
{
	ssize_t n;

	if (t->src_eof)
		return 0;
	if (t->fd < 0) {
		size_t left = t->mem_len - t->mem_pos;

		n = (ssize_t)(left < IN_BUF - off ? left : IN_BUF - off);
		memcpy(t->in + off, t->mem + t->mem_pos, (size_t)n);
		t->mem_pos += (size_t)n;
	} else {
		do
			n = read(t->fd, t->in + off, IN_BUF - off);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return berth_err_sys(err, "read archive");
	}
	if (n == 0)
		t->src_eof = 1;
	t->raw_read += (uint64_t)n;
	return n;
}

/* What the first bytes say; NULL for gzip or tar. */
static const char *refused_compression(const unsigned char *b, size_t n)
{
	static const struct { const char *name; size_t len; const char *magic; } magics[] = {
		{ "zstd", 4, "\x28\xb5\x2f\xfd" },
		{ "xz", 6, "\xfd" "7zXZ\0" },
		{ "lzip", 5, "LZIP\x01" },
		{ "lz4", 4, "\x04\x22\x4d\x18" },
		{ "compress (.Z)", 2, "\x1f\x9d" },
	};

	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (n >= magics[i].len && memcmp(b, magics[i].magic, magics[i].len) == 0)
			return magics[i].name;
	/* bzip2: "BZh", the block size, then a block's or the end's magic (so a
	 * tar whose first name starts "BZh" is not taken for one). */
	if (n >= 10 && memcmp(b, "BZh", 3) == 0 && b[3] >= '1' && b[3] <= '9' &&
	    (memcmp(b + 4, "\x31\x41\x59\x26\x53\x59", 6) == 0 || memcmp(b + 4, "\x17\x72\x45\x38\x50\x90", 6) == 0))
		return "bzip2";
	return NULL;
}

static struct berth_tar *tar_open(int fd, const void *data, size_t len, const struct berth_archive_limits *lim,
				  struct berth_err *err)
{
	struct berth_tar *t = calloc(1, sizeof(*t));
	const char *bad;

	if (!t) {
		berth_err_set(err, ENOMEM, "archive reader");
		return NULL;
	}
	t->fd = fd;
	t->mem = data;
	t->mem_len = len;
	if (lim)
		t->lim = *lim;
	else
		berth_archive_limits_default(&t->lim);
	/* A block, to tell the formats apart (a pipe may give less at once). A
	 * tar header is never taken for compressed data, whatever its name. */
	while (t->in_len < 512 && !t->src_eof) {
		ssize_t n = src_read(t, t->in_len, err);

		if (n < 0)
			goto fail;
		t->in_len += (size_t)n;
	}
	if (t->in_len >= 512 && memcmp(t->in + 257, "ustar", 5) == 0)
		return t;
	bad = refused_compression(t->in, t->in_len);
	if (bad) {
		berth_err_set(err, EINVAL, "%s-compressed archives are not supported; use gzip or none", bad);
		goto fail;
	}
	if (t->in_len >= 2 && t->in[0] == 0x1f && t->in[1] == 0x8b) {
		t->gzip = 1;
		/* 15 + 16: a gzip wrapper only (no zlib or raw deflate), 32 KiB window. */
		if (inflateInit2(&t->zs, 15 + 16) != Z_OK) {
			berth_err_set(err, ENOMEM, "gzip: cannot initialise zlib");
			goto fail;
		}
		t->zs_live = 1;
		t->zs.next_in = t->in;
		t->zs.avail_in = (uInt)t->in_len;
	}
	return t;
fail:
	free(t);
	return NULL;
}

struct berth_tar *berth_tar_open(int fd, const struct berth_archive_limits *lim, struct berth_err *err)
{
	if (fd < 0) {
		berth_err_set(err, EBADF, "archive: no file");
		return NULL;
	}
	return tar_open(fd, NULL, 0, lim, err);
}

struct berth_tar *berth_tar_open_mem(const void *data, size_t len, const struct berth_archive_limits *lim,
				     struct berth_err *err)
{
	return tar_open(-1, data, len, lim, err);
}

void berth_tar_close(struct berth_tar *t)
{
	if (!t)
		return;
	if (t->zs_live)
		inflateEnd(&t->zs);
	free(t);
}

uint64_t berth_tar_offset(const struct berth_tar *t)
{
	return t->out;
}

uint64_t berth_tar_raw_offset(const struct berth_tar *t)
{
	return t->raw_read;
}

/* Up to LEN inflated bytes into BUF (fewer only at the end of the last
 * member), or -1. Members follow each other (multi-member gzip); anything
 * else after a member is an error. */
static ssize_t gz_read(struct berth_tar *t, unsigned char *buf, size_t len, struct berth_err *err)
{
	size_t got = 0;

	while (got < len) {
		int z;
		size_t room = len - got;
		uLong before;

		if (t->zs.avail_in == 0 && !t->src_eof) {
			ssize_t n = src_read(t, 0, err);

			if (n < 0)
				return -1;
			t->zs.next_in = t->in;
			t->zs.avail_in = (uInt)n;
		}
		if (t->member_end) {
			if (t->zs.avail_in == 0)
				break; /* the source ended after a whole member */
			if (inflateReset(&t->zs) != Z_OK)
				return berth_err_set(err, EINVAL, "gzip: cannot reset zlib");
			t->member_end = 0;
		}
		if (t->zs.avail_in == 0)
			return berth_err_set(err, EINVAL, "truncated archive (the gzip stream ends early)");
		t->zs.next_out = buf + got;
		t->zs.avail_out = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
		before = t->zs.total_out;
		z = inflate(&t->zs, Z_NO_FLUSH);
		got += t->zs.total_out - before;
		if (z == Z_STREAM_END) {
			t->member_end = 1;
			t->members++;
		} else if (z == Z_DATA_ERROR && t->members > 0 && t->zs.total_out == 0) {
			return berth_err_set(err, EINVAL, "gzip: data after the compressed stream");
		} else if (z == Z_BUF_ERROR) {
			if (t->zs.avail_in > 0)
				return berth_err_set(err, EINVAL, "gzip: no progress");
		} else if (z != Z_OK) {
			return berth_err_set(err, EINVAL, "gzip: %s",
					     z == Z_NEED_DICT ? "needs a preset dictionary"
					     : t->zs.msg	? t->zs.msg
								: "corrupt data");
		}
		/* The ratio: deflate cannot do better than about 1032:1, so the
		 * default 1000 refuses only streams built to bomb. */
		if (t->out + got > RATIO_FLOOR) {
			uint64_t comp = t->raw_read - t->zs.avail_in;

			if (comp == 0 || (t->out + got) / comp > t->lim.max_ratio)
				return berth_err_set(err, EINVAL, "compression ratio above %" PRIu32 ":1",
						     t->lim.max_ratio);
		}
	}
	return (ssize_t)got;
}

static ssize_t plain_read(struct berth_tar *t, unsigned char *buf, size_t len, struct berth_err *err)
{
	size_t got = 0;

	while (got < len) {
		size_t n;

		if (t->in_pos == t->in_len) {
			ssize_t r = src_read(t, 0, err);

			if (r < 0)
				return -1;
			if (r == 0)
				break;
			t->in_pos = 0;
			t->in_len = (size_t)r;
		}
		n = t->in_len - t->in_pos;
		if (n > len - got)
			n = len - got;
		memcpy(buf + got, t->in + t->in_pos, n);
		t->in_pos += n;
		got += n;
	}
	return (ssize_t)got;
}

/* LEN tar bytes into BUF; fewer only at the end of the stream. */
static ssize_t stream_read(struct berth_tar *t, void *buf, size_t len, struct berth_err *err)
{
	uint64_t room = t->out < t->lim.max_total ? t->lim.max_total - t->out : 0;
	char a[48];
	ssize_t n;

	/* One byte past the limit at most: enough to tell it was crossed. */
	if (len > room)
		len = (size_t)room + 1;
	n = t->gzip ? gz_read(t, buf, len, err) : plain_read(t, buf, len, err);
	if (n < 0)
		return -1;
	t->out += (uint64_t)n;
	if (t->out > t->lim.max_total)
		return berth_err_set(err, EFBIG, "archive: more than the %s limit of tar data",
				     size_str(t->lim.max_total, a));
	return n;
}

static int read_block(struct berth_tar *t, unsigned char blk[512], struct berth_err *err)
{
	ssize_t n = stream_read(t, blk, 512, err);

	if (n < 0)
		return -1;
	if (n < 512)
		return berth_err_set(err, EINVAL, "truncated archive");
	return 0;
}

/* Read and drop N bytes. */
static int skip(struct berth_tar *t, uint64_t n, struct berth_err *err)
{
	unsigned char buf[4096];

	while (n > 0) {
		size_t want = n < sizeof(buf) ? (size_t)n : sizeof(buf);
		ssize_t got = stream_read(t, buf, want, err);

		if (got < 0)
			return -1;
		if ((size_t)got < want)
			return t->cur[0] ? berth_err_set(err, EINVAL, "%s: truncated archive", t->cur)
					 : berth_err_set(err, EINVAL, "truncated archive");
		n -= (uint64_t)got;
	}
	return 0;
}

/* After the end-of-archive blocks: the rest of the stream (GNU tar's padding
 * to its record size) must be zeros, and a gzip stream must end cleanly (its
 * CRC and length are checked then). Another archive concatenated after this
 * one is refused: tar implementations disagree on whether to read it. */
static int drain(struct berth_tar *t, struct berth_err *err)
{
	unsigned char buf[4096];

	for (;;) {
		ssize_t n = stream_read(t, buf, sizeof(buf), err);

		if (n < 0)
			return -1;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i])
				return berth_err_set(err, EINVAL, "data after the end-of-archive blocks");
		if ((size_t)n < sizeof(buf))
			return 0;
	}
}

/* ---- Headers ---- */

/* A numeric header field: octal (spaces and NULs around it) or GNU base-256
 * (first byte 0x80..0xbf: positive). -1 if malformed or above MAX. */
static int parse_num(const unsigned char *f, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {
		if (f[0] & 0x40)
			return -1; /* negative */
		v = f[0] & 0x3f;
		for (i = 1; i < n; i++) {
			if (v >> 56)
				return -1;
			v = v << 8 | f[i];
		}
	} else {
		while (i < n && (f[i] == ' ' || f[i] == '\0'))
			i++;
		for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
			if (v >> 61)
				return -1;
			v = v << 3 | (uint64_t)(f[i] - '0');
		}
		for (; i < n; i++)
			if (f[i] != ' ' && f[i] != '\0')
				return -1;
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* A NUL-terminated copy of a header string field (which may fill its width). */
static void field_str(const unsigned char *f, size_t n, char *out)
{
	size_t l = strnlen((const char *)f, n);

	memcpy(out, f, l);
	out[l] = '\0';
}

int berth_tar_path_normalise(const char *in, char *out, struct berth_err *err)
{
	char shown[128];
	const char *p = in;
	size_t o = 0;

	if (*p == '/') {
		printable(in, shown, sizeof(shown));
		return berth_err_set(err, EINVAL, "path traversal: %s", shown);
	}
	while (*p) {
		const char *c = p;
		size_t n = strcspn(p, "/");

		p += n;
		while (*p == '/')
			p++;
		if (n == 0 || (n == 1 && c[0] == '.'))
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			printable(in, shown, sizeof(shown));
			return berth_err_set(err, EINVAL, "path traversal: %s", shown);
		}
		if (o + (o ? 1 : 0) + n >= BERTH_TAR_PATH_MAX) {
			printable(in, shown, sizeof(shown));
			return berth_err_set(err, ENAMETOOLONG, "%s: path longer than %d bytes", shown,
					     BERTH_TAR_PATH_MAX - 1);
		}
		if (o)
			out[o++] = '/';
		memcpy(out + o, c, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

/* The header's own name: ustar's prefix "/" name, or the name alone. */
static void header_name(const unsigned char *b, int ustar, char out[257])
{
	char name[101], prefix[156];

	field_str(b, 100, name);
	field_str(b + 345, 155, prefix);
	if (ustar && prefix[0])
		snprintf(out, 257, "%s/%s", prefix, name);
	else
		snprintf(out, 257, "%s", name);
}

/* berth_tar_header_parse; with NAME_GIVEN (LINK_GIVEN) the header's own name
 * (link name) is not read: an extension header gave it. */
static int header_parse(const unsigned char b[512], struct berth_tar_entry *e, int name_given, int link_given,
			struct berth_err *err)
{
	static const unsigned char zero[512];
	char raw[257], shown[128], linkraw[101];
	uint64_t sum, v;
	unsigned usum = 0;
	int ssum = 0, ustar;
	char type;

	if (memcmp(b, zero, 512) == 0)
		return 0;
	memset(e, 0, sizeof(*e));
	if (memcmp(b + 257, "ustar\0" "00", 8) == 0)
		ustar = 1; /* POSIX: the prefix field is a path prefix */
	else if (memcmp(b + 257, "ustar  \0", 8) == 0)
		ustar = 0; /* GNU: those bytes hold other things */
	else
		return berth_err_set(err, EINVAL, "not a tar archive (no ustar header magic)");
	header_name(b, ustar, raw);
	printable(raw, shown, sizeof(shown));
	/* The checksum: the header's bytes with its own field as spaces; writers
	 * have summed them as unsigned or as signed chars, both are accepted. */
	for (int i = 0; i < 512; i++) {
		unsigned char c = i >= 148 && i < 156 ? ' ' : b[i];

		usum += c;
		ssum += (signed char)c;
	}
	if (parse_num(b + 148, 8, 0777777, &sum) < 0 || (sum != usum && (int64_t)sum != ssum))
		return berth_err_set(err, EINVAL, "%s: header checksum mismatch", shown);

	type = (char)b[156];
	switch (type) {
	case '\0':
	case '0':
	case '7':
		type = BERTH_TAR_FILE;
		break;
	case '1': case '2': case '3': case '4': case '5': case '6':
		break;
	case 'x': case 'g': case 'L': case 'K':
		if (parse_num(b + 124, 12, UINT64_MAX, &v) < 0)
			return berth_err_set(err, EINVAL, "%s: bad number in field size", shown);
		e->type = type;
		e->size = v;
		return 2;
	case 'S':
		return berth_err_set(err, EINVAL, "%s: sparse files (type S) are not supported", shown);
	case 'M':
		return berth_err_set(err, EINVAL, "%s: multi-volume archives (type M) are not supported", shown);
	case 'V':
		return berth_err_set(err, EINVAL, "%s: volume labels (type V) are not supported", shown);
	default:
		if (type > ' ' && type < 0x7f)
			return berth_err_set(err, EINVAL, "%s: unsupported member type '%c'", shown, type);
		return berth_err_set(err, EINVAL, "%s: unsupported member type 0x%02x", shown, (unsigned char)type);
	}
	e->type = type;

	if (parse_num(b + 100, 8, 07777777, &v) < 0)
		return berth_err_set(err, EINVAL, "%s: bad number in field mode", shown);
	e->mode = (uint32_t)(v & 07777);
	/* uid/gid 2^32-1 is chown's "leave alone": never a real owner. */
	if (parse_num(b + 108, 8, UINT32_MAX - 1, &v) < 0)
		return berth_err_set(err, EINVAL, "%s: bad number in field uid", shown);
	e->uid = (uint32_t)v;
	if (parse_num(b + 116, 8, UINT32_MAX - 1, &v) < 0)
		return berth_err_set(err, EINVAL, "%s: bad number in field gid", shown);
	e->gid = (uint32_t)v;
	if (parse_num(b + 124, 12, UINT64_MAX, &v) < 0)
		return berth_err_set(err, EINVAL, "%s: bad number in field size", shown);
	e->size = v;
	if (parse_num(b + 136, 12, INT64_MAX, &v) < 0)
		return berth_err_set(err, EINVAL, "%s: bad number in field mtime", shown);
	e->mtime = (int64_t)v;

	if (!name_given && berth_tar_path_normalise(raw, e->path, err) < 0)
		return -1;
	field_str(b + 157, 100, linkraw);
	if (!link_given && type == BERTH_TAR_SYMLINK)
		memcpy(e->link, linkraw, sizeof(linkraw));
	if (!link_given && type == BERTH_TAR_HARDLINK && berth_tar_path_normalise(linkraw, e->link, err) < 0)
		return berth_err_prefix(err, "%s: hardlink target", shown);
	return 1;
}

int berth_tar_header_parse(const unsigned char block[512], struct berth_tar_entry *e, struct berth_err *err)
{
	return header_parse(block, e, 0, 0, err);
}

/* ---- Extended headers ---- */

static int dec_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* One PAX record's value into X. An empty value removes the key (POSIX). */
static int pax_record(struct ext *x, const char *key, size_t klen, const char *val, size_t vlen,
		      struct berth_err *err)
{
#define KEY(s) (klen == sizeof(s) - 1 && memcmp(key, s, klen) == 0)
	uint64_t v = 0;

	if (klen >= 11 && memcmp(key, "GNU.sparse.", 11) == 0)
		return berth_err_set(err, EINVAL, "sparse files (PAX GNU.sparse) are not supported");
	if (vlen == 0) {
		if (KEY("path"))
			x->has_path = 0;
		else if (KEY("linkpath"))
			x->has_link = 0;
		else if (KEY("size"))
			x->has_size = 0;
		else if (KEY("uid"))
			x->has_uid = 0;
		else if (KEY("gid"))
			x->has_gid = 0;
		else if (KEY("mtime"))
			x->has_mtime = 0;
		return 0;
	}
	if (KEY("path") || KEY("linkpath")) {
		int is_path = KEY("path");
		char *dst = is_path ? x->path : x->link;

		if (memchr(val, '\0', vlen))
			return berth_err_set(err, EINVAL, "PAX %s contains a NUL byte", is_path ? "path" : "linkpath");
		if (vlen >= BERTH_TAR_PATH_MAX)
			return berth_err_set(err, ENAMETOOLONG, "PAX %s longer than %d bytes",
					     is_path ? "path" : "linkpath", BERTH_TAR_PATH_MAX - 1);
		memcpy(dst, val, vlen);
		dst[vlen] = '\0';
		*(is_path ? &x->has_path : &x->has_link) = 1;
	} else if (KEY("size")) {
		if (dec_u64(val, vlen, UINT64_MAX, &x->size) < 0)
			return berth_err_set(err, EINVAL, "PAX size: not a number");
		x->has_size = 1;
	} else if (KEY("uid") || KEY("gid")) {
		if (dec_u64(val, vlen, UINT32_MAX - 1, &v) < 0)
			return berth_err_set(err, EINVAL, "PAX %s: not a number below 2^32-1", KEY("uid") ? "uid" : "gid");
		if (KEY("uid")) {
			x->uid = (uint32_t)v;
			x->has_uid = 1;
		} else {
			x->gid = (uint32_t)v;
			x->has_gid = 1;
		}
	} else if (KEY("mtime")) {
		/* [-]SECONDS[.FRACTION]; the fraction is dropped. */
		size_t i = val[0] == '-', dot;

		for (dot = i; dot < vlen && val[dot] != '.'; dot++)
			;
		for (size_t j = dot + 1; j < vlen; j++)
			if (val[j] < '0' || val[j] > '9')
				return berth_err_set(err, EINVAL, "PAX mtime: not a number");
		if (dec_u64(val + i, dot - i, INT64_MAX, &v) < 0)
			return berth_err_set(err, EINVAL, "PAX mtime: not a number");
		x->mtime = i ? -(int64_t)v : (int64_t)v;
		x->has_mtime = 1;
	}
	/* Everything else (atime, ctime, uname, gname, xattrs, comments) is not
	 * used by an extraction that sets only owner, mode and mtime. */
	return 0;
#undef KEY
}

/* "LEN KEY=VALUE\n" records, LEN counting the whole record. */
static int pax_parse(struct ext *x, const char *p, size_t len, struct berth_err *err)
{
	size_t pos = 0;

	while (pos < len) {
		const char *rec = p + pos, *sp, *eq;
		size_t rlen = 0, nd = 0;

		while (nd < 10 && pos + nd < len && rec[nd] >= '0' && rec[nd] <= '9')
			rlen = rlen * 10 + (size_t)(rec[nd++] - '0');
		if (nd == 0 || pos + nd >= len || rec[nd] != ' ' || rlen < nd + 4 || rlen > len - pos ||
		    rec[rlen - 1] != '\n')
			return berth_err_set(err, EINVAL, "malformed PAX record at byte %zu", pos);
		sp = rec + nd + 1;
		eq = memchr(sp, '=', (size_t)(rec + rlen - 1 - sp));
		if (!eq || eq == sp || memchr(sp, '\0', (size_t)(eq - sp)))
			return berth_err_set(err, EINVAL, "malformed PAX record at byte %zu", pos);
		if (pax_record(x, sp, (size_t)(eq - sp), eq + 1, (size_t)(rec + rlen - 1 - (eq + 1)), err) < 0)
			return -1;
		pos += rlen;
	}
	return 0;
}

/* An extension header's payload: SIZE bytes and the padding after them. */
static int read_payload(struct berth_tar *t, uint64_t size, char *buf, struct berth_err *err)
{
	ssize_t n;

	n = stream_read(t, buf, (size_t)size, err);
	if (n < 0)
		return -1;
	if ((uint64_t)n < size)
		return berth_err_set(err, EINVAL, "truncated archive");
	buf[size] = '\0';
	return skip(t, (512 - size % 512) % 512, err);
}

static int handle_ext(struct berth_tar *t, struct ext *x, const struct berth_tar_entry *h, struct berth_err *err)
{
	char a[48], b[48];
	cleanup_free char *buf = NULL;

	if (h->size > EXT_MAX)
		return berth_err_set(err, EFBIG, "after %s: extended header (type %c) of %s is more than the %s limit",
				     t->cur[0] ? t->cur : "the start", h->type, size_str(h->size, a),
				     size_str(EXT_MAX, b));
	buf = malloc((size_t)h->size + 1);
	if (!buf)
		return berth_err_set(err, ENOMEM, "extended header");
	if (read_payload(t, h->size, buf, err) < 0)
		return -1;
	switch (h->type) {
	case 'g':
		return 0; /* global PAX headers: nothing this reader uses */
	case 'x':
		if (x->pax)
			return berth_err_set(err, EINVAL, "after %s: two PAX headers for one member",
					     t->cur[0] ? t->cur : "the start");
		x->pax = 1;
		if (pax_parse(x, buf, (size_t)h->size, err) < 0)
			return berth_err_prefix(err, "after %s", t->cur[0] ? t->cur : "the start");
		return 0;
	default: { /* 'L', 'K': GNU long name or link name, NUL-terminated */
		int name = h->type == 'L';
		size_t l = strnlen(buf, (size_t)h->size);

		if ((name ? x->longname : x->longlink))
			return berth_err_set(err, EINVAL, "after %s: two GNU long %s headers for one member",
					     t->cur[0] ? t->cur : "the start", name ? "name" : "link");
		if (l == 0 || l >= BERTH_TAR_PATH_MAX)
			return berth_err_set(err, EINVAL, "after %s: GNU long %s is empty or longer than %d bytes",
					     t->cur[0] ? t->cur : "the start", name ? "name" : "link",
					     BERTH_TAR_PATH_MAX - 1);
		memcpy(name ? x->longname_s : x->longlink_s, buf, l + 1);
		*(name ? &x->longname : &x->longlink) = 1;
		return 0;
	}
	}
}

/* The extensions onto E, the member's header: PAX over GNU over ustar. */
static int apply_ext(struct ext *x, struct berth_tar_entry *e, struct berth_err *err)
{
	const char *name = x->has_path ? x->path : x->longname ? x->longname_s : NULL;
	const char *link = x->has_link ? x->link : x->longlink ? x->longlink_s : NULL;

	if (name && berth_tar_path_normalise(name, e->path, err) < 0)
		return -1;
	if (link && e->type == BERTH_TAR_SYMLINK)
		snprintf(e->link, sizeof(e->link), "%s", link);
	if (link && e->type == BERTH_TAR_HARDLINK && berth_tar_path_normalise(link, e->link, err) < 0)
		return berth_err_prefix(err, "%s: hardlink target", e->path);
	if (x->has_size)
		e->size = x->size;
	if (x->has_uid)
		e->uid = x->uid;
	if (x->has_gid)
		e->gid = x->gid;
	if (x->has_mtime)
		e->mtime = x->mtime;
	return 0;
}

int berth_tar_next(struct berth_tar *t, struct berth_tar_entry *e, struct berth_err *err)
{
	struct ext *x = &t->x;
	unsigned char blk[512];
	char a[48], b[48], shown[128];
	int r;

	if (t->state == 1)
		return 0;
	if (t->state < 0) {
		*err = t->saved;
		return -1;
	}
	if (skip(t, t->remain + t->pad, err) < 0)
		return fail(t, err);
	t->remain = t->pad = 0;
	memset(x, 0, offsetof(struct ext, path));
	for (;;) {
		if (read_block(t, blk, err) < 0)
			return fail(t, err);
		r = header_parse(blk, e, x->has_path || x->longname, x->has_link || x->longlink, err);
		if (r < 0)
			return fail(t, err);
		if (r == 0) {
			/* End of archive: two zero blocks. */
			if (x->pax || x->longname || x->longlink) {
				berth_err_set(err, EINVAL, "after %s: extended header without a member",
					      t->cur[0] ? t->cur : "the start");
				return fail(t, err);
			}
			if (read_block(t, blk, err) < 0)
				return fail(t, err);
			if (header_parse(blk, e, 1, 1, err) != 0) {
				berth_err_set(err, EINVAL, "after %s: a lone zero block in the archive",
					      t->cur[0] ? t->cur : "the start");
				return fail(t, err);
			}
			if (drain(t, err) < 0)
				return fail(t, err);
			t->state = 1;
			return 0;
		}
		if (r == 2) {
			if (handle_ext(t, x, e, err) < 0)
				return fail(t, err);
			continue;
		}
		break;
	}
	if (apply_ext(x, e, err) < 0)
		return fail(t, err);
	printable(e->path[0] ? e->path : ".", shown, sizeof(shown));
	snprintf(t->cur, sizeof(t->cur), "%s", shown);
	if (e->type != BERTH_TAR_FILE && e->size != 0) {
		berth_err_set(err, EINVAL, "%s: a member of type '%c' with %" PRIu64 " bytes of data", shown, e->type,
			      e->size);
		return fail(t, err);
	}
	if (e->type == BERTH_TAR_SYMLINK && !e->link[0]) {
		berth_err_set(err, EINVAL, "%s: symlink with an empty target", shown);
		return fail(t, err);
	}
	if (e->type == BERTH_TAR_HARDLINK && !e->link[0]) {
		berth_err_set(err, EINVAL, "%s: hardlink to the root directory", shown);
		return fail(t, err);
	}
	if (e->size > t->lim.max_file) {
		berth_err_set(err, EFBIG, "member %s: %s is more than the %s limit", shown, size_str(e->size, a),
			      size_str(t->lim.max_file, b));
		return fail(t, err);
	}
	if (t->entries >= t->lim.max_entries) {
		berth_err_set(err, EFBIG, "more than %" PRIu32 " members", t->lim.max_entries);
		return fail(t, err);
	}
	t->entries++;
	t->remain = e->size;
	t->pad = (512 - e->size % 512) % 512;
	return 1;
}

ssize_t berth_tar_read(struct berth_tar *t, void *buf, size_t len, struct berth_err *err)
{
	ssize_t n;

	if (t->state < 0) {
		*err = t->saved;
		return -1;
	}
	if (t->remain == 0 || len == 0)
		return 0;
	if (len > t->remain)
		len = (size_t)t->remain;
	n = stream_read(t, buf, len, err);
	if (n < 0)
		return fail(t, err);
	if ((size_t)n < len) {
		berth_err_set(err, EINVAL, "%s: truncated archive", t->cur);
		return fail(t, err);
	}
	t->remain -= (uint64_t)n;
	return n;
}

/* ---- Extraction ---- */

/* Each member's parent: beneath the root, symlinks followed but never out of
 * it (an absolute target or ".." resolves against the root, as in the
 * container), and never through /proc-style magic links. */
#define IN_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
/* Inside what is being removed, or one component down: nothing followed. */
#define NO_LINKS (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
#define REMOVE_DEPTH_MAX 256

/* A set of paths (open addressing, FNV-1a): what this layer extracted, which
 * an opaque whiteout must keep. */
struct pathset {
	char **slot;
	size_t cap, n;
};

static size_t path_hash(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return (size_t)h;
}

static int set_has(const struct pathset *s, const char *p)
{
	if (!s->cap)
		return 0;
	for (size_t i = path_hash(p) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (!s->slot[i])
			return 0;
		if (strcmp(s->slot[i], p) == 0)
			return 1;
	}
}

static int set_add(struct pathset *s, const char *p)
{
	size_t i;

	if (set_has(s, p))
		return 0;
	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		char **slot = calloc(cap, sizeof(*slot));

		if (!slot)
			return -1;
		for (size_t j = 0; j < s->cap; j++) {
			if (!s->slot[j])
				continue;
			for (i = path_hash(s->slot[j]) & (cap - 1); slot[i]; i = (i + 1) & (cap - 1))
				;
			slot[i] = s->slot[j];
		}
		free(s->slot);
		s->slot = slot;
		s->cap = cap;
	}
	for (i = path_hash(p) & (s->cap - 1); s->slot[i]; i = (i + 1) & (s->cap - 1))
		;
	s->slot[i] = strdup(p);
	if (!s->slot[i])
		return -1;
	s->n++;
	return 0;
}

static void set_free(struct pathset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
}

static int open_how(int dirfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC), .resolve = resolve };
	long r;
	int tries = 0;

	/* EAGAIN: a rename raced the lookup (RESOLVE_IN_ROOT refuses to guess). */
	do
		r = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (r < 0 && (errno == EAGAIN || errno == EINTR) && ++tries < 32);
	return (int)r;
}

struct xctx {
	struct berth_tar *t;
	int rootfd;
	enum berth_extract_mode mode;
	struct pathset mine;         /* LAYER: paths this call extracted */
	unsigned char *buf;          /* file data on its way */
	char shown[128];             /* the member, printable, for messages */
};

static int remove_entry(int dirfd, const char *name, char *path, const struct pathset *keep, int depth,
			struct berth_err *err);

/* Remove what directory FD holds. PATH (a BERTH_TAR_PATH_MAX buffer, or NULL
 * once too long to be in KEEP) is its path in the image: see remove_entry. */
static int empty_dir(int fd, char *path, const struct pathset *keep, int depth, struct berth_err *err)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	size_t plen = path ? strlen(path) : 0;
	int r = 0;

	if (!d) {
		close(fd);
		return berth_err_sys(err, "read directory");
	}
	/* Entries removed during readdir are not returned again, and the
	 * others still are (POSIX leaves only added or removed ones open). */
	while (r == 0 && (errno = 0, de = readdir(d))) {
		size_t nlen = strlen(de->d_name);
		char *child = NULL;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (path && plen + 1 + nlen < BERTH_TAR_PATH_MAX) {
			child = path;
			if (plen)
				child[plen] = '/';
			memcpy(child + plen + (plen ? 1 : 0), de->d_name, nlen + 1);
		}
		r = remove_entry(dirfd(d), de->d_name, child, keep, depth, err);
		if (path)
			path[plen] = '\0';
	}
	if (r == 0 && errno)
		r = berth_err_sys(err, "read directory");
	closedir(d);
	return r;
}

/* Remove NAME in DIRFD, never following a symlink: a non-directory is
 * unlinked, a directory emptied (descending with RESOLVE_NO_SYMLINKS) and
 * removed. With KEEP (a whiteout), entries whose PATH is in KEEP stay, and so
 * do the directories still holding one. ENOENT is success. */
static int remove_entry(int dirfd, const char *name, char *path, const struct pathset *keep, int depth,
			struct berth_err *err)
{
	int kept = keep && path && set_has(keep, path);
	struct stat st;
	int fd;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : berth_err_sys(err, "remove %s: stat", name);
	if (!S_ISDIR(st.st_mode)) {
		if (kept || unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
			return 0;
		return berth_err_sys(err, "remove %s", name);
	}
	if (depth >= REMOVE_DEPTH_MAX)
		return berth_err_set(err, ELOOP, "remove %s: more than %d directories deep", name, REMOVE_DEPTH_MAX);
	fd = open_how(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, NO_LINKS);
	if (fd < 0)
		return berth_err_sys(err, "remove %s: open", name);
	if (empty_dir(fd, path, keep, depth + 1, err) < 0)
		return -1;
	if (kept || unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return 0;
	if (keep && (errno == ENOTEMPTY || errno == EEXIST))
		return 0; /* holds what this layer put there */
	return berth_err_sys(err, "remove %s", name);
}

/* The directory PATH's parent will be in, opened (O_PATH) beneath the root.
 * Missing directories are made one component at a time, each looked up again
 * from the root: a symlink met on the way is resolved in the root, and the
 * next mkdirat happens in the directory that lookup returned. */
static int open_parent(struct xctx *c, const char *path, struct berth_err *err)
{
	char dir[BERTH_TAR_PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) : 0;
	int fd, prev;

	if (!dlen) {
		fd = open_how(c->rootfd, ".", O_PATH | O_DIRECTORY, IN_ROOT);
		return fd >= 0 ? fd : berth_err_sys(err, "%s: open the root directory", c->shown);
	}
	memcpy(dir, path, dlen);
	dir[dlen] = '\0';
	fd = open_how(c->rootfd, dir, O_PATH | O_DIRECTORY, IN_ROOT);
	if (fd >= 0)
		return fd;
	if (errno != ENOENT)
		return berth_err_sys(err, "%s: open parent directory", c->shown);
	prev = open_how(c->rootfd, ".", O_PATH | O_DIRECTORY, IN_ROOT);
	if (prev < 0)
		return berth_err_sys(err, "%s: open the root directory", c->shown);
	for (size_t i = 0; i <= dlen; i++) {
		const char *comp;

		if (i < dlen && dir[i] != '/')
			continue;
		dir[i] = '\0';
		comp = strrchr(dir, '/');
		comp = comp ? comp + 1 : dir;
		fd = open_how(c->rootfd, dir, O_PATH | O_DIRECTORY, IN_ROOT);
		if (fd < 0 && errno == ENOENT) {
			if (mkdirat(prev, comp, 0755) < 0 && errno != EEXIST) {
				berth_err_sys(err, "%s: create directory %s", c->shown, dir);
				close(prev);
				return -1;
			}
			fd = open_how(c->rootfd, dir, O_PATH | O_DIRECTORY, IN_ROOT);
		}
		if (fd < 0) {
			berth_err_sys(err, "%s: open parent directory %s", c->shown, dir);
			close(prev);
			return -1;
		}
		close(prev);
		prev = fd;
		if (i < dlen)
			dir[i] = '/';
	}
	return prev;
}

/* Make room for NAME in PFD: an existing non-directory is unlinked, an
 * existing directory removed with all it holds (beneath PFD, nothing
 * followed: a later member replacing a directory with a file is what tar and
 * Docker do) unless KEEP_DIR. Returns 1 when a directory was kept, 0, -1. */
static int clear_name(struct xctx *c, int pfd, const char *name, int keep_dir, struct berth_err *err)
{
	struct stat st;

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return berth_err_sys(err, "%s: stat", c->shown);
	}
	if (S_ISDIR(st.st_mode)) {
		if (keep_dir)
			return 1;
		if (remove_entry(pfd, name, NULL, NULL, 0, err) < 0)
			return berth_err_prefix(err, "%s: replace a directory", c->shown);
		return 0;
	}
	if (unlinkat(pfd, name, 0) < 0 && errno != ENOENT)
		return berth_err_sys(err, "%s: replace", c->shown);
	return 0;
}

/* Owner, then mode (chown clears setuid/setgid), of an open file or directory. */
static int set_owner_mode(struct xctx *c, int fd, const struct berth_tar_entry *e, struct berth_err *err)
{
	if (c->mode == BERTH_EXTRACT_LAYER && fchown(fd, e->uid, e->gid) < 0)
		return berth_err_sys(err, "%s: chown %" PRIu32 ":%" PRIu32, c->shown, e->uid, e->gid);
	if (fchmod(fd, c->mode == BERTH_EXTRACT_LAYER ? e->mode : e->type == BERTH_TAR_DIR ? 0755 : 0644) < 0)
		return berth_err_sys(err, "%s: chmod", c->shown);
	return 0;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int make_file(struct xctx *c, int pfd, const char *name, const struct berth_tar_entry *e,
		     struct berth_err *err)
{
	cleanup_close int fd = -1;
	ssize_t n;

	if (clear_name(c, pfd, name, 0, err) < 0)
		return -1;
	fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return berth_err_sys(err, "%s: create", c->shown);
	while ((n = berth_tar_read(c->t, c->buf, IN_BUF, err)) > 0)
		if (write_all(fd, c->buf, (size_t)n) < 0)
			return berth_err_sys(err, "%s: write", c->shown);
	if (n < 0)
		return -1;
	if (set_owner_mode(c, fd, e, err) < 0)
		return -1;
	if (c->mode == BERTH_EXTRACT_LAYER) {
		struct timespec ts[2] = { { .tv_sec = e->mtime }, { .tv_sec = e->mtime } };

		if (futimens(fd, ts) < 0)
			return berth_err_sys(err, "%s: set mtime", c->shown);
	}
	return 0;
}

/* A directory over a directory is kept (its owner and mode updated). Its
 * mtime is left: what is extracted into it changes it anyway. */
static int make_dir(struct xctx *c, int pfd, const char *name, const struct berth_tar_entry *e,
		    struct berth_err *err)
{
	cleanup_close int fd = -1;
	int kept = clear_name(c, pfd, name, 1, err);

	if (kept < 0)
		return -1;
	if (!kept && mkdirat(pfd, name, 0700) < 0)
		return berth_err_sys(err, "%s: create directory", c->shown);
	if (kept && c->mode == BERTH_EXTRACT_PLAIN)
		return 0;
	fd = open_how(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, NO_LINKS);
	if (fd < 0)
		return berth_err_sys(err, "%s: open directory", c->shown);
	return set_owner_mode(c, fd, e, err);
}

/* Owner, mode and mtime of what NAME in PFD is, not following it (a symlink,
 * or a FIFO this call just made: nothing else writes in the import sandbox,
 * so fchmodat's following the name cannot be raced there). */
static int set_meta_at(struct xctx *c, int pfd, const char *name, const struct berth_tar_entry *e, int chmod,
		       struct berth_err *err)
{
	struct timespec ts[2] = { { .tv_sec = e->mtime }, { .tv_sec = e->mtime } };

	if (fchownat(pfd, name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return berth_err_sys(err, "%s: chown %" PRIu32 ":%" PRIu32, c->shown, e->uid, e->gid);
	if (chmod && fchmodat(pfd, name, e->mode, 0) < 0)
		return berth_err_sys(err, "%s: chmod", c->shown);
	if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return berth_err_sys(err, "%s: set mtime", c->shown);
	return 0;
}

/* Does a relative TARGET, read from the directory of the link at PATH, climb
 * above the root? (Lexically: what the target's own symlinks do is resolved
 * in the container's root at run time.) */
static int link_escapes(const char *path, const char *target)
{
	long depth = 0;

	if (target[0] == '/')
		return 0;
	for (const char *p = path; *p; p++)
		depth += *p == '/';
	for (const char *p = target; *p;) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return 1;
		} else if (n && !(n == 1 && p[0] == '.')) {
			depth++;
		}
		p += n;
		while (*p == '/')
			p++;
	}
	return 0;
}

/* A hardlink: its target must be a regular file already beneath the root,
 * reached without a symlink. The link is made from the target's parent
 * directory (opened beneath the root, no symlink on the way) and its last
 * component, which linkat never follows; the new name is then checked to be
 * the very file checked before. No /proc and no CAP_DAC_READ_SEARCH needed
 * (the import sandbox has neither: AT_EMPTY_PATH wants the latter in the
 * initial namespace before Linux 6.10). */
static int make_hardlink(struct xctx *c, int pfd, const char *name, const struct berth_tar_entry *e,
			 struct berth_err *err)
{
	cleanup_close int tfd = -1, tdir = -1;
	char target[128], dir[BERTH_TAR_PATH_MAX];
	const char *base, *slash = strrchr(e->link, '/');
	struct stat tst, st;

	printable(e->link, target, sizeof(target));
	tfd = open_how(c->rootfd, e->link, O_PATH | O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
	if (tfd < 0 && errno == ENOENT)
		return berth_err_set(err, ENOENT, "%s: hardlink target %s does not exist", c->shown, target);
	if (tfd < 0 && errno == ELOOP)
		return berth_err_set(err, ELOOP, "%s: hardlink target %s is or goes through a symlink", c->shown,
				     target);
	if (tfd < 0)
		return berth_err_sys(err, "%s: hardlink target %s", c->shown, target);
	if (fstat(tfd, &tst) < 0)
		return berth_err_sys(err, "%s: hardlink target %s", c->shown, target);
	if (!S_ISREG(tst.st_mode))
		return berth_err_set(err, EINVAL, "%s: hardlink target %s is not a regular file", c->shown, target);
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == tst.st_dev && st.st_ino == tst.st_ino)
		return 0; /* already that file */
	if (slash) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - e->link), e->link);
		base = slash + 1;
	} else {
		snprintf(dir, sizeof(dir), ".");
		base = e->link;
	}
	tdir = open_how(c->rootfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
	if (tdir < 0)
		return berth_err_sys(err, "%s: hardlink target %s", c->shown, target);
	if (clear_name(c, pfd, name, 0, err) < 0)
		return -1;
	if (linkat(tdir, base, pfd, name, 0) < 0)
		return berth_err_sys(err, "%s: hardlink to %s", c->shown, target);
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != tst.st_dev || st.st_ino != tst.st_ino) {
		unlinkat(pfd, name, 0);
		return berth_err_set(err, EINVAL, "%s: hardlink target %s changed while linking", c->shown, target);
	}
	return 0;
}

/* A whiteout (LAYER): ".wh.NAME" removes NAME, ".wh..wh..opq" empties its
 * directory, each of what earlier layers put there only (what this call
 * extracted stays, whichever order the layer lists things in: OCI
 * image-spec layer.md). The parent is resolved as any member's is; what is
 * removed is never followed. Other ".wh..wh." names are aufs metadata,
 * ignored. The whiteout itself is never written. */
static int whiteout(struct xctx *c, const char *path, const char *base, struct berth_err *err)
{
	char dir[BERTH_TAR_PATH_MAX], target[BERTH_TAR_PATH_MAX];
	size_t dlen = base > path ? (size_t)(base - path - 1) : 0;
	cleanup_close int pfd = -1;

	memcpy(dir, path, dlen);
	dir[dlen] = '\0';
	if (strcmp(base, ".wh..wh..opq") == 0) {
		int fd = open_how(c->rootfd, dlen ? dir : ".", O_RDONLY | O_DIRECTORY, IN_ROOT);

		if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
			return 0; /* nothing below to hide */
		if (fd < 0)
			return berth_err_sys(err, "%s: opaque whiteout: open directory", c->shown);
		if (empty_dir(fd, dir, &c->mine, 0, err) < 0)
			return berth_err_prefix(err, "%s: opaque whiteout", c->shown);
		return 0;
	}
	if (strncmp(base, ".wh..wh.", 8) == 0)
		return 0;
	base += 4;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return berth_err_set(err, EINVAL, "%s: bad whiteout", c->shown);
	pfd = open_how(c->rootfd, dlen ? dir : ".", O_PATH | O_DIRECTORY, IN_ROOT);
	if (pfd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return 0;
	if (pfd < 0)
		return berth_err_sys(err, "%s: whiteout: open directory", c->shown);
	/* The member's path without ".wh.": shorter, so it fits. */
	memcpy(target, path, (size_t)(base - 4 - path));
	memcpy(target + (base - 4 - path), base, strlen(base) + 1);
	if (remove_entry(pfd, base, target, &c->mine, 0, err) < 0)
		return berth_err_prefix(err, "%s: whiteout", c->shown);
	return 0;
}

static int extract_member(struct xctx *c, const struct berth_tar_entry *e, struct berth_err *err)
{
	const char *base = strrchr(e->path, '/');
	cleanup_close int pfd = -1;
	int r;

	base = base ? base + 1 : e->path;
	printable(e->path[0] ? e->path : ".", c->shown, sizeof(c->shown));
	if (c->mode == BERTH_EXTRACT_PLAIN && e->type != BERTH_TAR_FILE && e->type != BERTH_TAR_DIR)
		return berth_err_set(err, EINVAL, "%s: only files and directories are allowed in the outer archive",
				     c->shown);
	if (e->type == BERTH_TAR_CHAR || e->type == BERTH_TAR_BLOCK)
		return berth_err_set(err, EPERM, "%s: device node refused", c->shown);
	if (!e->path[0]) {
		/* "./": the root itself; a layer may set its owner and mode. */
		cleanup_close int fd = -1;

		if (e->type != BERTH_TAR_DIR)
			return berth_err_set(err, EINVAL, "%s: the root can only be a directory", c->shown);
		if (c->mode == BERTH_EXTRACT_PLAIN)
			return 0;
		fd = open_how(c->rootfd, ".", O_RDONLY | O_DIRECTORY, IN_ROOT);
		if (fd < 0)
			return berth_err_sys(err, "%s: open the root directory", c->shown);
		return set_owner_mode(c, fd, e, err);
	}
	if (c->mode == BERTH_EXTRACT_LAYER && strncmp(base, ".wh.", 4) == 0)
		return whiteout(c, e->path, base, err);
	if (e->type == BERTH_TAR_SYMLINK && link_escapes(e->path, e->link))
		return berth_err_set(err, EINVAL, "%s: link escapes the image", c->shown);

	pfd = open_parent(c, e->path, err);
	if (pfd < 0)
		return -1;
	switch (e->type) {
	case BERTH_TAR_FILE:
		r = make_file(c, pfd, base, e, err);
		break;
	case BERTH_TAR_DIR:
		r = make_dir(c, pfd, base, e, err);
		break;
	case BERTH_TAR_HARDLINK:
		r = make_hardlink(c, pfd, base, e, err);
		break;
	case BERTH_TAR_SYMLINK:
		r = clear_name(c, pfd, base, 0, err);
		if (r == 0 && symlinkat(e->link, pfd, base) < 0)
			r = berth_err_sys(err, "%s: create symlink", c->shown);
		if (r == 0)
			r = set_meta_at(c, pfd, base, e, 0, err);
		break;
	case BERTH_TAR_FIFO:
		r = clear_name(c, pfd, base, 0, err);
		if (r == 0 && mknodat(pfd, base, S_IFIFO | 0600, 0) < 0)
			r = berth_err_sys(err, "%s: create FIFO", c->shown);
		if (r == 0)
			r = set_meta_at(c, pfd, base, e, 1, err);
		break;
	default:
		r = berth_err_set(err, EINVAL, "%s: unsupported member type '%c'", c->shown, e->type);
	}
	if (r < 0)
		return -1;
	if (c->mode == BERTH_EXTRACT_LAYER && set_add(&c->mine, e->path) < 0)
		return berth_err_set(err, ENOMEM, "%s: out of memory", c->shown);
	return 0;
}

int berth_tar_extract(struct berth_tar *t, int rootfd, enum berth_extract_mode mode, struct berth_err *err)
{
	struct xctx c = { .t = t, .rootfd = rootfd, .mode = mode };
	struct berth_tar_entry *e = malloc(sizeof(*e));
	int r;

	c.buf = malloc(IN_BUF);
	if (!e || !c.buf) {
		free(e);
		free(c.buf);
		return berth_err_set(err, ENOMEM, "extract");
	}
	while ((r = berth_tar_next(t, e, err)) > 0)
		if ((r = extract_member(&c, e, err)) < 0)
			break;
	set_free(&c.mine);
	free(c.buf);
	free(e);
	return r < 0 ? -1 : 0;
}
