/* Unit tests of archive.c: tar headers, paths, PAX and GNU extensions, gzip,
 * limits, truncation and refused compressions, on archives built here in
 * memory; then extraction into a temporary directory (files, links, FIFOs,
 * modes, owners, whiteouts across layers, symlinks that try to lead out of
 * the root, and what each mode refuses). Extraction needs root (chown). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "archive.h"
#include "t.h"

/* ---- Building archives ---- */

struct tb {
	unsigned char *p;
	size_t len, cap;
};

static void tb_put(struct tb *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 4096;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	if (n)
		memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void tb_zeros(struct tb *b, size_t n)
{
	static const unsigned char z[512];

	while (n) {
		size_t k = n < sizeof(z) ? n : sizeof(z);

		tb_put(b, z, k);
		n -= k;
	}
}

static void tb_pad(struct tb *b)
{
	tb_zeros(b, (512 - b->len % 512) % 512);
}

static void tb_free(struct tb *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Write the checksum of BLK as tar does (6 octal digits, NUL, space). */
static void set_checksum(unsigned char *blk)
{
	unsigned sum = 0;

	memset(blk + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += blk[i];
	snprintf((char *)blk + 148, 8, "%06o", sum);
	blk[155] = ' ';
}

struct hdr {
	const char *name;
	char type;
	unsigned mode, uid, gid;
	uint64_t size;
	const char *link;
	uint64_t mtime;
};

/* V in octal, WIDTH-1 digits and a NUL, at F. */
static void octal(unsigned char *f, int width, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%0*" PRIo64, width - 1, v);
	memcpy(f, buf, (size_t)width - 1);
	f[width - 1] = '\0';
}

/* A ustar header block with a correct checksum. */
static void make_header(unsigned char blk[512], const struct hdr *h)
{
	memset(blk, 0, 512);
	snprintf((char *)blk, 100, "%s", h->name);
	octal(blk + 100, 8, h->mode);
	octal(blk + 108, 8, h->uid);
	octal(blk + 116, 8, h->gid);
	octal(blk + 124, 12, h->size);
	octal(blk + 136, 12, h->mtime ? h->mtime : 1700000000);
	blk[156] = (unsigned char)h->type;
	if (h->link)
		snprintf((char *)blk + 157, 100, "%s", h->link);
	memcpy(blk + 257, "ustar\0" "00", 8);
	memcpy(blk + 265, "root", 4);
	memcpy(blk + 297, "root", 4);
	set_checksum(blk);
}

static void add_header(struct tb *b, const struct hdr *h)
{
	unsigned char blk[512];

	make_header(blk, h);
	tb_put(b, blk, 512);
}

static void add_file(struct tb *b, const char *name, const char *data, unsigned mode)
{
	size_t n = strlen(data);

	add_header(b, &(struct hdr){ .name = name, .type = '0', .mode = mode, .size = n });
	tb_put(b, data, n);
	tb_pad(b);
}

static void add_dir(struct tb *b, const char *name, unsigned mode)
{
	add_header(b, &(struct hdr){ .name = name, .type = '5', .mode = mode });
}

static void add_link(struct tb *b, const char *name, char type, const char *target)
{
	add_header(b, &(struct hdr){ .name = name, .type = type, .mode = 0777, .link = target });
}

/* One PAX record "LEN KEY=VALUE\n" appended to OUT. */
static void pax_rec(char *out, size_t cap, const char *key, const char *val)
{
	size_t body = strlen(key) + strlen(val) + 3, len = body + 1;
	char num[24];

	/* LEN counts its own digits. */
	while ((size_t)snprintf(num, sizeof(num), "%zu", len) + body != len)
		len = (size_t)snprintf(num, sizeof(num), "%zu", len) + body;
	snprintf(out + strlen(out), cap - strlen(out), "%zu %s=%s\n", len, key, val);
}

static void add_ext(struct tb *b, char type, const char *payload, size_t n)
{
	add_header(b, &(struct hdr){ .name = type == 'L' || type == 'K' ? "././@LongLink" : "PaxHeaders/x",
				     .type = type, .mode = 0644, .size = n });
	tb_put(b, payload, n);
	tb_pad(b);
}

static void add_end(struct tb *b)
{
	tb_zeros(b, 1024);
}

/* gzip of DATA (one member). */
static void gzip_to(struct tb *out, const void *data, size_t len)
{
	z_stream zs = { 0 };
	unsigned char buf[65536];
	int z;

	if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	zs.next_in = (unsigned char *)(uintptr_t)data;
	zs.avail_in = (uInt)len;
	do {
		zs.next_out = buf;
		zs.avail_out = sizeof(buf);
		z = deflate(&zs, Z_FINISH);
		tb_put(out, buf, sizeof(buf) - zs.avail_out);
	} while (z == Z_OK);
	if (z != Z_STREAM_END)
		abort();
	deflateEnd(&zs);
}

static struct berth_archive_limits small_limits(void)
{
	struct berth_archive_limits l;

	berth_archive_limits_default(&l);
	return l;
}

/* Read every member of B (data included); 0 at the end, -1 with ERR. *COUNT
 * gets the members read. */
static int read_all(const struct tb *b, const struct berth_archive_limits *lim, int *count, struct berth_err *err)
{
	struct berth_tar *t = berth_tar_open_mem(b->p, b->len, lim, err);
	struct berth_tar_entry e;
	char buf[1000];
	int r, n = 0;

	if (!t)
		return -1;
	while ((r = berth_tar_next(t, &e, err)) > 0) {
		ssize_t k;

		n++;
		while ((k = berth_tar_read(t, buf, sizeof(buf), err)) > 0)
			;
		if (k < 0) {
			r = -1;
			break;
		}
	}
	berth_tar_close(t);
	if (count)
		*count = n;
	return r;
}

/* The error read_all ends with ("" when it ends well). */
static const char *read_err(const struct tb *b, const struct berth_archive_limits *lim)
{
	static struct berth_err err;

	memset(&err, 0, sizeof(err));
	if (read_all(b, lim, NULL, &err) == 0)
		return "";
	return err.msg;
}

/* ---- Headers and paths ---- */

static void header_parse(void)
{
	struct berth_tar_entry e;
	struct berth_err err;
	unsigned char blk[512];

	make_header(blk, &(struct hdr){ .name = "./etc//passwd", .type = '0', .mode = 0104755, .uid = 1000,
					.gid = 100, .size = 1234, .mtime = 1600000000 });
	CHECK(berth_tar_header_parse(blk, &e, &err) == 1);
	CHECK_STR(e.path, "etc/passwd");
	CHECK(e.type == BERTH_TAR_FILE && e.mode == 04755 && e.uid == 1000 && e.gid == 100);
	CHECK(e.size == 1234 && e.mtime == 1600000000);

	memset(blk, 0, sizeof(blk));
	CHECK(berth_tar_header_parse(blk, &e, &err) == 0);

	/* Checksum: one byte changed. */
	make_header(blk, &(struct hdr){ .name = "a", .type = '0', .mode = 0644 });
	blk[0] = 'b';
	CHECK(berth_tar_header_parse(blk, &e, &err) == -1);
	CHECK_STR(err.msg, "b: header checksum mismatch");
	/* The checksum field itself garbled. */
	make_header(blk, &(struct hdr){ .name = "a", .type = '0', .mode = 0644 });
	blk[150] = 'x';
	CHECK(berth_tar_header_parse(blk, &e, &err) == -1);
	CHECK(strstr(err.msg, "checksum mismatch"));
	/* A signed-char checksum (old writers) is accepted. */
	make_header(blk, &(struct hdr){ .name = "caf\xc3\xa9", .type = '0', .mode = 0644 });
	{
		int s = 0;

		memset(blk + 148, ' ', 8);
		for (int i = 0; i < 512; i++)
			s += (signed char)blk[i];
		snprintf((char *)blk + 148, 8, "%06o", (unsigned)s);
	}
	CHECK(berth_tar_header_parse(blk, &e, &err) == 1);

	/* No magic: not a tar. */
	make_header(blk, &(struct hdr){ .name = "a", .type = '0', .mode = 0644 });
	memcpy(blk + 257, "xxxxx", 5);
	set_checksum(blk);
	CHECK(berth_tar_header_parse(blk, &e, &err) == -1);
	CHECK(strstr(err.msg, "not a tar archive"));

	/* GNU magic, and a base-256 size. */
	make_header(blk, &(struct hdr){ .name = "big", .type = '0', .mode = 0644 });
	memcpy(blk + 257, "ustar  \0", 8);
	memset(blk + 124, 0, 12);
	blk[124] = 0x80;
	blk[131] = 0x02; /* 2 << 32 = 8 GiB */
	set_checksum(blk);
	CHECK(berth_tar_header_parse(blk, &e, &err) == 1);
	CHECK(e.size == UINT64_C(8) << 30);
	/* Base-256 negative: refused. */
	blk[124] = 0xff;
	set_checksum(blk);
	CHECK(berth_tar_header_parse(blk, &e, &err) == -1);
	CHECK_STR(err.msg, "big: bad number in field size");

	/* A bad octal digit. */
	make_header(blk, &(struct hdr){ .name = "a", .type = '0', .mode = 0644 });
	blk[102] = '9';
	set_checksum(blk);
	CHECK(berth_tar_header_parse(blk, &e, &err) == -1);
	CHECK_STR(err.msg, "a: bad number in field mode");
	/* uid 2^32-1 ("no change" to chown) is not an owner. */
	make_header(blk, &(struct hdr){ .name = "a", .type = '0', .mode = 0644 });
	snprintf((char *)blk + 108, 8, "%s", "");
	memcpy(blk + 108, "\x80\0\0\0\xff\xff\xff\xff", 8);
	set_checksum(blk);
	CHECK(berth_tar_header_parse(blk, &e, &err) == -1);
	CHECK_STR(err.msg, "a: bad number in field uid");

	/* Types. */
	make_header(blk, &(struct hdr){ .name = "s", .type = 'S', .mode = 0644 });
	CHECK(berth_tar_header_parse(blk, &e, &err) == -1);
	CHECK_STR(err.msg, "s: sparse files (type S) are not supported");
	make_header(blk, &(struct hdr){ .name = "m", .type = 'M', .mode = 0644 });
	CHECK(berth_tar_header_parse(blk, &e, &err) == -1);
	CHECK_STR(err.msg, "m: multi-volume archives (type M) are not supported");
	make_header(blk, &(struct hdr){ .name = "z", .type = 'Z', .mode = 0644 });
	CHECK(berth_tar_header_parse(blk, &e, &err) == -1);
	CHECK_STR(err.msg, "z: unsupported member type 'Z'");
	make_header(blk, &(struct hdr){ .name = "c", .type = '7', .mode = 0644 });
	CHECK(berth_tar_header_parse(blk, &e, &err) == 1 && e.type == BERTH_TAR_FILE);
	make_header(blk, &(struct hdr){ .name = "c", .type = '\0', .mode = 0644 });
	CHECK(berth_tar_header_parse(blk, &e, &err) == 1 && e.type == BERTH_TAR_FILE);
	make_header(blk, &(struct hdr){ .name = "PaxHeaders/x", .type = 'x', .mode = 0644, .size = 77 });
	CHECK(berth_tar_header_parse(blk, &e, &err) == 2 && e.type == 'x' && e.size == 77);
	make_header(blk, &(struct hdr){ .name = "l", .type = '1', .link = "./a/../b" });
	CHECK(berth_tar_header_parse(blk, &e, &err) == -1);
	CHECK_STR(err.msg, "l: hardlink target: path traversal: ./a/../b");
	make_header(blk, &(struct hdr){ .name = "l", .type = '2', .link = "../../b" });
	CHECK(berth_tar_header_parse(blk, &e, &err) == 1);
	CHECK_STR(e.link, "../../b"); /* a symlink's target as written */

	/* The ustar prefix field. */
	make_header(blk, &(struct hdr){ .name = "file", .type = '0', .mode = 0644 });
	memcpy(blk + 345, "usr/share", 9);
	set_checksum(blk);
	CHECK(berth_tar_header_parse(blk, &e, &err) == 1);
	CHECK_STR(e.path, "usr/share/file");
}

static int norm_is(const char *in, const char *want)
{
	char out[BERTH_TAR_PATH_MAX];
	struct berth_err err;

	return berth_tar_path_normalise(in, out, &err) == 0 && strcmp(out, want) == 0;
}

static int norm_bad(const char *in, const char *msg)
{
	char out[BERTH_TAR_PATH_MAX];
	struct berth_err err;

	return berth_tar_path_normalise(in, out, &err) == -1 && strstr(err.msg, msg) != NULL;
}

static void path_normalise(void)
{
	char longp[BERTH_TAR_PATH_MAX + 10];

	CHECK(norm_is("./a//b/.", "a/b"));
	CHECK(norm_is("a/b/", "a/b"));
	CHECK(norm_is("./", ""));
	CHECK(norm_is(".", ""));
	CHECK(norm_is("a/.b/..c", "a/.b/..c"));
	CHECK(norm_bad("../x", "path traversal: ../x"));
	CHECK(norm_bad("a/../../x", "path traversal: a/../../x"));
	CHECK(norm_bad("a/..", "path traversal: a/.."));
	CHECK(norm_bad("/etc/passwd", "path traversal: /etc/passwd"));
	CHECK(norm_bad("//etc", "path traversal"));
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	CHECK(norm_bad(longp, "path longer than 4095 bytes"));
	longp[BERTH_TAR_PATH_MAX - 1] = '\0';
	CHECK(norm_is(longp, longp));
}

/* ---- Reading ---- */

static void read_members(void)
{
	struct tb b = { 0 };
	struct berth_tar_entry e;
	struct berth_err err;
	struct berth_tar *t;
	char buf[64];

	add_dir(&b, "./etc/", 0755);
	add_file(&b, "./etc/hostname", "berth\n", 0644);
	add_link(&b, "etc/h2", '1', "./etc/hostname");
	add_link(&b, "etc/l", '2', "hostname");
	add_header(&b, &(struct hdr){ .name = "run/fifo", .type = '6', .mode = 0600 });
	add_end(&b);
	tb_zeros(&b, 4096); /* GNU tar pads to its record size */

	t = berth_tar_open_mem(b.p, b.len, NULL, &err);
	CHECK(t);
	CHECK(berth_tar_next(t, &e, &err) == 1);
	CHECK(e.type == BERTH_TAR_DIR && strcmp(e.path, "etc") == 0 && e.mode == 0755 && e.size == 0);
	CHECK(berth_tar_next(t, &e, &err) == 1);
	CHECK(e.type == BERTH_TAR_FILE && strcmp(e.path, "etc/hostname") == 0 && e.size == 6);
	CHECK(berth_tar_read(t, buf, 3, &err) == 3);
	CHECK(memcmp(buf, "ber", 3) == 0);
	CHECK(berth_tar_read(t, buf, sizeof(buf), &err) == 3);
	CHECK(memcmp(buf, "th\n", 3) == 0);
	CHECK(berth_tar_read(t, buf, sizeof(buf), &err) == 0);
	CHECK(berth_tar_next(t, &e, &err) == 1);
	CHECK(e.type == BERTH_TAR_HARDLINK && strcmp(e.link, "etc/hostname") == 0);
	CHECK(berth_tar_next(t, &e, &err) == 1);
	CHECK(e.type == BERTH_TAR_SYMLINK && strcmp(e.link, "hostname") == 0);
	CHECK(berth_tar_next(t, &e, &err) == 1);
	CHECK(e.type == BERTH_TAR_FIFO && strcmp(e.path, "run/fifo") == 0);
	CHECK(berth_tar_next(t, &e, &err) == 0);
	CHECK(berth_tar_next(t, &e, &err) == 0);
	CHECK(berth_tar_offset(t) == b.len);
	CHECK(berth_tar_raw_offset(t) == b.len);
	berth_tar_close(t);

	/* Unread data is skipped by next. */
	t = berth_tar_open_mem(b.p, b.len, NULL, &err);
	CHECK(t);
	CHECK(berth_tar_next(t, &e, &err) == 1 && berth_tar_next(t, &e, &err) == 1);
	CHECK(berth_tar_next(t, &e, &err) == 1 && e.type == BERTH_TAR_HARDLINK);
	berth_tar_close(t);
	tb_free(&b);
}

static void pax_and_gnu(void)
{
	struct tb b = { 0 };
	struct berth_tar_entry e;
	struct berth_err err;
	struct berth_tar *t;
	char rec[8192] = "", longname[300], buf[16];

	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memcpy(longname, "dir/", 4);
	/* PAX: a long path, owner, mtime with a fraction, a size that overrides the header's. */
	pax_rec(rec, sizeof(rec), "path", longname);
	pax_rec(rec, sizeof(rec), "uid", "70000");
	pax_rec(rec, sizeof(rec), "gid", "70001");
	pax_rec(rec, sizeof(rec), "mtime", "1700000001.123456789");
	pax_rec(rec, sizeof(rec), "size", "5");
	pax_rec(rec, sizeof(rec), "SCHILY.xattr.user.x", "ignored");
	add_ext(&b, 'g', "20 path=global/path\n", 20); /* global headers: ignored */
	add_ext(&b, 'x', rec, strlen(rec));
	add_header(&b, &(struct hdr){ .name = "short", .type = '0', .mode = 0600, .size = 999 });
	tb_put(&b, "hello", 5);
	tb_pad(&b);
	/* PAX linkpath for a symlink. */
	rec[0] = '\0';
	pax_rec(rec, sizeof(rec), "linkpath", longname);
	add_ext(&b, 'x', rec, strlen(rec));
	add_link(&b, "sym", '2', "short-target");
	/* GNU long name and long link name. */
	add_ext(&b, 'L', longname, strlen(longname) + 1);
	add_ext(&b, 'K', "dir/target", 11);
	add_link(&b, "truncated-name", '1', "x");
	add_end(&b);

	t = berth_tar_open_mem(b.p, b.len, NULL, &err);
	CHECK(t);
	CHECK(berth_tar_next(t, &e, &err) == 1);
	CHECK_STR(e.path, longname);
	CHECK(e.uid == 70000 && e.gid == 70001 && e.mtime == 1700000001 && e.size == 5 && e.mode == 0600);
	CHECK(berth_tar_read(t, buf, sizeof(buf), &err) == 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK(berth_tar_next(t, &e, &err) == 1);
	CHECK(e.type == BERTH_TAR_SYMLINK && strcmp(e.path, "sym") == 0);
	CHECK_STR(e.link, longname);
	CHECK(e.uid == 0); /* PAX applies to one member only */
	CHECK(berth_tar_next(t, &e, &err) == 1);
	CHECK(e.type == BERTH_TAR_HARDLINK);
	CHECK_STR(e.path, longname);
	CHECK_STR(e.link, "dir/target");
	CHECK(berth_tar_next(t, &e, &err) == 0);
	berth_tar_close(t);
	tb_free(&b);

	/* A PAX path that climbs out. */
	rec[0] = '\0';
	pax_rec(rec, sizeof(rec), "path", "a/../../etc/shadow");
	add_ext(&b, 'x', rec, strlen(rec));
	add_file(&b, "harmless", "x", 0644);
	add_end(&b);
	CHECK_STR(read_err(&b, NULL), "path traversal: a/../../etc/shadow");
	tb_free(&b);

	/* A GNU long name that is absolute. */
	add_ext(&b, 'L', "/etc/passwd", 12);
	add_file(&b, "harmless", "x", 0644);
	add_end(&b);
	CHECK_STR(read_err(&b, NULL), "path traversal: /etc/passwd");
	tb_free(&b);

	/* Malformed records: a length that is wrong, no '=', no newline. */
	add_ext(&b, 'x', "99 path=a\n", 10);
	add_file(&b, "f", "x", 0644);
	add_end(&b);
	CHECK(strstr(read_err(&b, NULL), "malformed PAX record at byte 0"));
	tb_free(&b);
	add_ext(&b, 'x', "9 pathab\n", 9);
	add_file(&b, "f", "x", 0644);
	add_end(&b);
	CHECK(strstr(read_err(&b, NULL), "malformed PAX record"));
	tb_free(&b);
	add_ext(&b, 'x', "6 uid=x\n", 8);
	add_file(&b, "f", "x", 0644);
	add_end(&b);
	CHECK(strstr(read_err(&b, NULL), "malformed PAX record"));
	tb_free(&b);
	add_ext(&b, 'x', "8 uid=x\n", 8);
	add_file(&b, "f", "x", 0644);
	add_end(&b);
	CHECK(strstr(read_err(&b, NULL), "PAX uid: not a number"));
	tb_free(&b);

	/* PAX sparse files, and two PAX headers for one member. */
	rec[0] = '\0';
	pax_rec(rec, sizeof(rec), "GNU.sparse.major", "1");
	add_ext(&b, 'x', rec, strlen(rec));
	add_file(&b, "f", "x", 0644);
	add_end(&b);
	CHECK(strstr(read_err(&b, NULL), "sparse files (PAX GNU.sparse) are not supported"));
	tb_free(&b);
	add_ext(&b, 'x', "", 0);
	add_ext(&b, 'x', "", 0);
	add_file(&b, "f", "x", 0644);
	add_end(&b);
	CHECK(strstr(read_err(&b, NULL), "two PAX headers for one member"));
	tb_free(&b);

	/* An extension header and then the end. */
	add_file(&b, "f", "x", 0644);
	add_ext(&b, 'L', "name", 5);
	add_end(&b);
	CHECK_STR(read_err(&b, NULL), "after f: extended header without a member");
	tb_free(&b);

	/* A PAX header beyond its limit (1 MiB). */
	add_header(&b, &(struct hdr){ .name = "PaxHeaders/x", .type = 'x', .mode = 0644, .size = 2 << 20 });
	add_end(&b);
	CHECK(strstr(read_err(&b, NULL), "extended header (type x) of 2 MiB is more than the 1 MiB limit"));
	tb_free(&b);
}

static void member_checks(void)
{
	struct tb b = { 0 };

	/* A directory with data: readers disagree on whether it is there. */
	add_header(&b, &(struct hdr){ .name = "d/", .type = '5', .mode = 0755, .size = 512 });
	tb_zeros(&b, 512);
	add_end(&b);
	CHECK_STR(read_err(&b, NULL), "d: a member of type '5' with 512 bytes of data");
	tb_free(&b);

	add_link(&b, "s", '2', "");
	add_end(&b);
	CHECK_STR(read_err(&b, NULL), "s: symlink with an empty target");
	tb_free(&b);

	/* A lone zero block, then a header. */
	add_file(&b, "a", "1", 0644);
	tb_zeros(&b, 512);
	add_file(&b, "b", "2", 0644);
	add_end(&b);
	CHECK_STR(read_err(&b, NULL), "after a: a lone zero block in the archive");
	tb_free(&b);

	/* Another archive after the end: refused, not read or ignored. */
	add_file(&b, "a", "1", 0644);
	add_end(&b);
	add_file(&b, "b", "2", 0644);
	add_end(&b);
	CHECK_STR(read_err(&b, NULL), "data after the end-of-archive blocks");
	tb_free(&b);

	/* Garbage that is not a tar. */
	tb_put(&b, "hello world, this is not a tar archive", 38);
	tb_zeros(&b, 1024);
	CHECK_STR(read_err(&b, NULL), "not a tar archive (no ustar header magic)");
	tb_free(&b);
}

static void limits(void)
{
	struct berth_archive_limits l = small_limits();
	struct tb b = { 0 }, z = { 0 };
	char rec[256] = "";
	unsigned char *zeros;
	int n;
	struct berth_err err;

	CHECK(l.max_total == UINT64_C(16) << 30 && l.max_file == UINT64_C(8) << 30 && l.max_entries == 1000000 &&
	      l.max_ratio == 1000);

	/* max_file: the default 8 GiB, through a PAX size. */
	pax_rec(rec, sizeof(rec), "size", "9663676416");
	add_ext(&b, 'x', rec, strlen(rec));
	add_header(&b, &(struct hdr){ .name = "etc/x", .type = '0', .mode = 0644 });
	CHECK_STR(read_err(&b, NULL), "member etc/x: 9 GiB is more than the 8 GiB limit");
	tb_free(&b);

	/* max_file: small. */
	l.max_file = 1024;
	add_file(&b, "ok", "x", 0644);
	add_header(&b, &(struct hdr){ .name = "big", .type = '0', .mode = 0644, .size = 1536 });
	tb_zeros(&b, 1536);
	add_end(&b);
	CHECK_STR(read_err(&b, &l), "member big: 1.5 KiB is more than the 1 KiB limit");
	l.max_file = 1536;
	CHECK_STR(read_err(&b, &l), "");

	/* max_total: tar bytes, headers and end blocks included. */
	l = small_limits();
	l.max_total = b.len - 1;
	CHECK(strstr(read_err(&b, &l), "archive: more than the"));
	l.max_total = b.len;
	CHECK_STR(read_err(&b, &l), "");
	tb_free(&b);

	/* max_entries. */
	l = small_limits();
	l.max_entries = 3;
	for (int i = 0; i < 4; i++)
		add_file(&b, "f", "x", 0644);
	add_end(&b);
	CHECK_STR(read_err(&b, &l), "more than 3 members");
	l.max_entries = 4;
	CHECK(read_all(&b, &l, &n, &err) == 0 && n == 4);

	/* The ratio: 4 MiB of zeros compress about 1000:1. */
	tb_free(&b);
	zeros = calloc(1, 4 << 20);
	CHECK(zeros);
	add_header(&b, &(struct hdr){ .name = "zeros", .type = '0', .mode = 0644, .size = 4 << 20 });
	tb_put(&b, zeros, 4 << 20);
	add_end(&b);
	free(zeros);
	gzip_to(&z, b.p, b.len);
	l = small_limits();
	l.max_ratio = 100;
	CHECK_STR(read_err(&z, &l), "compression ratio above 100:1");
	l.max_ratio = 2000;
	CHECK_STR(read_err(&z, &l), "");
	tb_free(&b);
	tb_free(&z);
}

static void truncated(void)
{
	struct tb b = { 0 }, z = { 0 };
	struct tb cut;

	add_file(&b, "a", "0123456789", 0644);
	add_file(&b, "b", "0123456789", 0644);
	add_end(&b);
	CHECK_STR(read_err(&b, NULL), "");
	cut = b;
	cut.len = 512 + 512 + 300; /* inside b's header */
	CHECK_STR(read_err(&cut, NULL), "truncated archive");
	cut.len = 512 + 512 + 512 + 5; /* inside b's data */
	CHECK_STR(read_err(&cut, NULL), "b: truncated archive");
	cut.len = 512 + 512 + 512 + 100; /* inside b's padding */
	CHECK_STR(read_err(&cut, NULL), "b: truncated archive");
	cut.len = 4 * 512; /* no end blocks */
	CHECK_STR(read_err(&cut, NULL), "truncated archive");
	cut.len = 5 * 512; /* one of two */
	CHECK_STR(read_err(&cut, NULL), "truncated archive");
	cut.len = 0;
	CHECK_STR(read_err(&cut, NULL), "truncated archive");

	/* gzip cut short: before the end of the deflate data, and in its trailer. */
	gzip_to(&z, b.p, b.len);
	cut = z;
	cut.len = z.len / 2;
	CHECK(strstr(read_err(&cut, NULL), "truncated archive"));
	cut.len = z.len - 3;
	CHECK(strstr(read_err(&cut, NULL), "truncated archive"));
	tb_free(&b);
	tb_free(&z);
}

static void compression(void)
{
	struct tb b = { 0 }, z = { 0 }, t2 = { 0 };
	struct berth_err err;
	struct berth_tar *t;
	size_t half;
	int n;

	static const struct { const char *magic; size_t len; const char *name; } refused[] = {
		{ "\x28\xb5\x2f\xfd\x04\x58", 6, "zstd" },
		{ "\xfd" "7zXZ\0\0\x04", 8, "xz" },
		{ "BZh91AY&SY", 10, "bzip2" },
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char want[128];

		tb_put(&b, refused[i].magic, refused[i].len);
		tb_zeros(&b, 100);
		snprintf(want, sizeof(want), "%s-compressed archives are not supported; use gzip or none",
			 refused[i].name);
		t = berth_tar_open_mem(b.p, b.len, NULL, &err);
		CHECK(!t);
		CHECK_STR(err.msg, want);
		tb_free(&b);
		/* A tar whose first name starts with those bytes is a tar. */
		char name[32];

		snprintf(name, sizeof(name), "%.*s", (int)refused[i].len, refused[i].magic);
		add_file(&b, name, "x", 0644);
		add_end(&b);
		CHECK_STR(read_err(&b, NULL), "");
		tb_free(&b);
	}

	/* gzip, one member and two (the tar split across them). */
	add_dir(&b, "d", 0755);
	add_file(&b, "d/f", "data", 0644);
	add_file(&b, "d/g", "more", 0644);
	add_end(&b);
	gzip_to(&z, b.p, b.len);
	CHECK(read_all(&z, NULL, &n, &err) == 0 && n == 3);
	half = 1024 + 100;
	gzip_to(&t2, b.p, half);
	gzip_to(&t2, b.p + half, b.len - half);
	CHECK(read_all(&t2, NULL, &n, &err) == 0 && n == 3);

	/* Something not gzip after a member. */
	tb_put(&t2, "garbage!", 8);
	CHECK_STR(read_err(&t2, NULL), "gzip: data after the compressed stream");
	/* A corrupted deflate stream (or its CRC). */
	z.p[z.len - 6] ^= 0xff;
	CHECK(strstr(read_err(&z, NULL), "gzip: "));
	tb_free(&b);
	tb_free(&z);
	tb_free(&t2);
}

/* Through an fd (a pipe): the reader must not assume whole reads. */
static void from_fd(void)
{
	struct tb b = { 0 }, z = { 0 };
	struct berth_tar_entry e;
	struct berth_err err;
	struct berth_tar *t;
	char buf[16];
	int p[2];
	FILE *f;

	add_file(&b, "x", "fd-data", 0644);
	add_end(&b);
	gzip_to(&z, b.p, b.len);
	f = tmpfile();
	CHECK(f);
	CHECK(fwrite(z.p, 1, z.len, f) == z.len && fflush(f) == 0);
	rewind(f);
	t = berth_tar_open(fileno(f), NULL, &err);
	CHECK(t);
	CHECK(berth_tar_next(t, &e, &err) == 1);
	CHECK(berth_tar_read(t, buf, sizeof(buf), &err) == 7 && memcmp(buf, "fd-data", 7) == 0);
	CHECK(berth_tar_next(t, &e, &err) == 0);
	CHECK(berth_tar_raw_offset(t) == z.len);
	berth_tar_close(t);
	fclose(f);

	/* A pipe that gives a byte at a time would be slow; two bytes then the rest. */
	CHECK(pipe(p) == 0);
	if (fork() == 0) {
		close(p[0]);
		if (write(p[1], z.p, 2) != 2 || write(p[1], z.p + 2, z.len - 2) != (ssize_t)(z.len - 2))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	t = berth_tar_open(p[0], NULL, &err);
	CHECK(t);
	CHECK(berth_tar_next(t, &e, &err) == 1 && strcmp(e.path, "x") == 0);
	CHECK(berth_tar_next(t, &e, &err) == 0);
	berth_tar_close(t);
	close(p[0]);
	wait(NULL);
	tb_free(&b);
	tb_free(&z);
}

/* ---- Extraction ---- */

static char tmp[64], rootdir[128];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static void rm_rf(const char *p)
{
	nftw(p, rm_cb, 32, FTW_DEPTH | FTW_PHYS);
}

/* A fresh temporary directory TMP with an empty ROOTDIR inside; the fd of ROOTDIR. */
static int fresh_root(void)
{
	if (tmp[0])
		rm_rf(tmp);
	snprintf(tmp, sizeof(tmp), "/tmp/berth-archive-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	snprintf(rootdir, sizeof(rootdir), "%s/root", tmp);
	if (mkdir(rootdir, 0755) < 0)
		return -1;
	return open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int extract(const struct tb *b, int rootfd, enum berth_extract_mode mode, struct berth_err *err)
{
	struct berth_tar *t = berth_tar_open_mem(b->p, b->len, NULL, err);
	int r;

	if (!t)
		return -1;
	r = berth_tar_extract(t, rootfd, mode, err);
	berth_tar_close(t);
	return r;
}

/* ROOTDIR/REL's stat (not following); 0 or -1. */
static int lst(const char *rel, struct stat *st)
{
	char p[4200];

	snprintf(p, sizeof(p), "%s/%s", rootdir, rel);
	return lstat(p, st);
}

static int exists(const char *rel)
{
	struct stat st;

	return lst(rel, &st) == 0;
}

static int file_is(const char *p, const char *want)
{
	char buf[256];
	ssize_t n;
	int fd = open(p, O_RDONLY | O_NOFOLLOW);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n == (ssize_t)strlen(want) && memcmp(buf, want, (size_t)n) == 0;
}

static int content_is(const char *rel, const char *want)
{
	char p[4200];

	snprintf(p, sizeof(p), "%s/%s", rootdir, rel);
	return file_is(p, want);
}

static void extract_layer(void)
{
	struct tb b = { 0 };
	struct berth_err err;
	struct stat st, st2;
	char target[64];
	int rootfd = fresh_root();

	CHECK(rootfd >= 0);
	add_dir(&b, "usr/", 0755);
	add_header(&b, &(struct hdr){ .name = "usr/bin/su", .type = '0', .mode = 04755, .uid = 0, .gid = 0,
				      .size = 2, .mtime = 1234567890 });
	tb_put(&b, "su", 2);
	tb_pad(&b);
	add_header(&b, &(struct hdr){ .name = "home/app/", .type = '5', .mode = 0700, .uid = 1000, .gid = 1000 });
	add_header(&b, &(struct hdr){ .name = "home/app/tool", .type = '0', .mode = 06750, .uid = 1000, .gid = 50,
				      .size = 4 });
	tb_put(&b, "tool", 4);
	tb_pad(&b);
	add_header(&b, &(struct hdr){ .name = "tmp/", .type = '5', .mode = 01777 });
	add_link(&b, "usr/bin/su2", '1', "usr/bin/su");
	add_header(&b, &(struct hdr){ .name = "etc/rel", .type = '2', .link = "../usr/bin/su", .uid = 7, .gid = 8,
				      .mtime = 1111111111 });
	add_link(&b, "etc/abs", '2', "/berth-test-nowhere");
	add_header(&b, &(struct hdr){ .name = "run/fifo", .type = '6', .mode = 0620, .uid = 3, .gid = 4 });
	add_end(&b);
	CHECK(extract(&b, rootfd, BERTH_EXTRACT_LAYER, &err) == 0);

	CHECK(content_is("usr/bin/su", "su"));
	CHECK(lst("usr/bin/su", &st) == 0 && (st.st_mode & 07777) == 04755 && st.st_mtime == 1234567890);
	CHECK(lst("usr/bin", &st) == 0 && S_ISDIR(st.st_mode)); /* made on the way */
	CHECK(lst("home/app", &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700 && st.st_uid == 1000);
	CHECK(lst("home/app/tool", &st) == 0 && (st.st_mode & 07777) == 06750 && st.st_uid == 1000 &&
	      st.st_gid == 50);
	CHECK(lst("tmp", &st) == 0 && (st.st_mode & 07777) == 01777);
	CHECK(lst("usr/bin/su2", &st2) == 0 && lst("usr/bin/su", &st) == 0 && st.st_ino == st2.st_ino);
	CHECK(lst("etc/rel", &st) == 0 && S_ISLNK(st.st_mode) && st.st_uid == 7 && st.st_gid == 8 &&
	      st.st_mtime == 1111111111);
	CHECK(readlinkat(rootfd, "etc/rel", target, sizeof(target)) == 13 && memcmp(target, "../usr/bin/su", 13) == 0);
	CHECK(readlinkat(rootfd, "etc/abs", target, sizeof(target)) == 19);
	CHECK(lst("run/fifo", &st) == 0 && S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 0620 && st.st_uid == 3);

	/* A second layer replaces: a file by a directory, a directory by a file,
	 * a symlink by a file (written in place, not through it). */
	tb_free(&b);
	add_file(&b, "usr/bin/su", "new", 0755);
	add_dir(&b, "etc/rel", 0755);
	add_file(&b, "home/app", "now a file", 0644);
	add_file(&b, "etc/abs", "not through", 0644);
	add_end(&b);
	CHECK(extract(&b, rootfd, BERTH_EXTRACT_LAYER, &err) == 0);
	CHECK(content_is("usr/bin/su", "new"));
	CHECK(content_is("usr/bin/su2", "su")); /* the old inode, still linked */
	CHECK(lst("etc/rel", &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(content_is("home/app", "now a file"));
	CHECK(content_is("etc/abs", "not through"));
	close(rootfd);
	tb_free(&b);
}

static void whiteouts(void)
{
	struct tb b = { 0 };
	struct berth_err err;
	int rootfd = fresh_root();

	CHECK(rootfd >= 0);
	add_file(&b, "a/keep", "1", 0644);
	add_file(&b, "a/gone", "1", 0644);
	add_file(&b, "a/dir/x", "1", 0644);
	add_file(&b, "a/dir/sub/y", "1", 0644);
	add_file(&b, "b/old1", "1", 0644);
	add_file(&b, "b/olddir/z", "1", 0644);
	add_file(&b, "c/f", "1", 0644);
	add_link(&b, "a/ln", '2', "/a/keep");
	add_end(&b);
	CHECK(extract(&b, rootfd, BERTH_EXTRACT_LAYER, &err) == 0);
	tb_free(&b);

	/* Layer 2: whiteouts, with this layer's own entries around them in
	 * either order. */
	add_file(&b, "a/.wh.gone", "", 0644);
	add_file(&b, "a/.wh.dir", "", 0644);
	add_file(&b, "a/.wh.ln", "", 0644);
	add_file(&b, "a/.wh.never-there", "", 0644);
	add_file(&b, "nodir/.wh.x", "", 0644);
	add_file(&b, "b/new", "2", 0644);
	add_file(&b, "b/olddir/new2", "2", 0644);
	add_file(&b, "b/.wh..wh..opq", "", 0644);
	add_file(&b, "b/after", "2", 0644);
	add_file(&b, "c/f", "2", 0644);
	add_file(&b, "c/.wh.f", "", 0644); /* applies to lower layers only */
	add_end(&b);
	CHECK(extract(&b, rootfd, BERTH_EXTRACT_LAYER, &err) == 0);
	CHECK(content_is("a/keep", "1"));
	CHECK(!exists("a/gone"));
	CHECK(!exists("a/dir"));
	CHECK(!exists("a/ln"));
	CHECK(!exists("a/.wh.gone") && !exists("a/.wh.dir") && !exists("b/.wh..wh..opq") && !exists("nodir"));
	CHECK(!exists("b/old1"));
	CHECK(!exists("b/olddir/z"));
	CHECK(content_is("b/olddir/new2", "2"));
	CHECK(content_is("b/new", "2"));
	CHECK(content_is("b/after", "2"));
	CHECK(content_is("c/f", "2"));
	CHECK(!exists("c/.wh.f"));

	/* In the outer archive a ".wh." name is just a file. */
	tb_free(&b);
	add_file(&b, "x/.wh.y", "plain", 0644);
	add_end(&b);
	CHECK(extract(&b, rootfd, BERTH_EXTRACT_PLAIN, &err) == 0);
	CHECK(content_is("x/.wh.y", "plain"));
	close(rootfd);
	tb_free(&b);
}

/* Symlinks that lead out of the root: the kernel keeps every lookup inside it. */
static void symlinks_stay_inside(void)
{
	struct tb b = { 0 };
	struct berth_err err;
	struct stat st;
	char name[256], outside[256];
	int rootfd = fresh_root();

	CHECK(rootfd >= 0);
	/* Layer 1: "link" -> "/" (absolute targets are kept). */
	add_link(&b, "link", '2', "/");
	add_end(&b);
	CHECK(extract(&b, rootfd, BERTH_EXTRACT_LAYER, &err) == 0);
	tb_free(&b);
	/* A symlink climbing out, as a hostile earlier layer could have left it
	 * (the extraction itself refuses to write one: see below). */
	CHECK(symlinkat("../../../../../..", rootfd, "up") == 0);

	/* Layer 2: through both, to TMP/escaped if anything followed them out. */
	snprintf(name, sizeof(name), "link%s/escaped", tmp);
	add_file(&b, name, "in", 0644);
	snprintf(name, sizeof(name), "up%s/escaped2", tmp);
	add_file(&b, name, "in2", 0644);
	snprintf(name, sizeof(name), "link%s/new/dirs/x", tmp);
	add_file(&b, name, "made", 0644);
	add_end(&b);
	CHECK(extract(&b, rootfd, BERTH_EXTRACT_LAYER, &err) == 0);
	snprintf(outside, sizeof(outside), "%s/escaped", tmp);
	CHECK(lstat(outside, &st) < 0 && errno == ENOENT);
	snprintf(outside, sizeof(outside), "%s/escaped2", tmp);
	CHECK(lstat(outside, &st) < 0 && errno == ENOENT);
	snprintf(name, sizeof(name), "%s/escaped", tmp + 1);
	CHECK(content_is(name, "in"));
	snprintf(name, sizeof(name), "%s/escaped2", tmp + 1);
	CHECK(content_is(name, "in2"));
	snprintf(name, sizeof(name), "%s/new/dirs/x", tmp + 1);
	CHECK(content_is(name, "made"));
	snprintf(outside, sizeof(outside), "%s/new", tmp);
	CHECK(lstat(outside, &st) < 0 && errno == ENOENT);

	/* A relative target that climbs above the root is refused... */
	tb_free(&b);
	add_link(&b, "a/b/l", '2', "../../../etc");
	add_end(&b);
	CHECK(extract(&b, rootfd, BERTH_EXTRACT_LAYER, &err) == -1);
	CHECK_STR(err.msg, "a/b/l: link escapes the image");
	CHECK(!exists("a/b/l"));
	tb_free(&b);
	add_link(&b, "l2", '2', "a/../../x");
	add_end(&b);
	CHECK(extract(&b, rootfd, BERTH_EXTRACT_LAYER, &err) == -1);
	CHECK_STR(err.msg, "l2: link escapes the image");
	/* ...one that stays inside is not. */
	tb_free(&b);
	add_link(&b, "a/b/l", '2', "../../etc/./x");
	add_end(&b);
	CHECK(extract(&b, rootfd, BERTH_EXTRACT_LAYER, &err) == 0);

	/* A member path through "../" never gets that far. */
	tb_free(&b);
	add_file(&b, "../x", "no", 0644);
	add_end(&b);
	CHECK(extract(&b, rootfd, BERTH_EXTRACT_LAYER, &err) == -1);
	CHECK_STR(err.msg, "path traversal: ../x");
	close(rootfd);
	tb_free(&b);
}

static void hardlinks(void)
{
	struct tb b = { 0 };
	struct berth_err err;
	char victim[256];
	int rootfd = fresh_root(), fd;

	CHECK(rootfd >= 0);
	/* A file outside the root a hardlink could try to reach. */
	snprintf(victim, sizeof(victim), "%s/victim", tmp);
	fd = open(victim, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	close(fd);
	add_file(&b, "f", "data", 0644);
	add_dir(&b, "d", 0755);
	add_link(&b, "s", '2', "f");
	add_link(&b, "up", '2', "/");
	add_end(&b);
	CHECK(extract(&b, rootfd, BERTH_EXTRACT_LAYER, &err) == 0);
	CHECK(symlinkat("..", rootfd, "dotdot") == 0);

	static const struct { const char *target, *msg; } bad[] = {
		{ "d", "h: hardlink target d is not a regular file" },
		{ "s", "h: hardlink target s is not a regular file" }, /* the symlink itself */
		{ "up/f", "h: hardlink target up/f is or goes through a symlink" },
		{ "dotdot/victim", "h: hardlink target dotdot/victim is or goes through a symlink" },
		{ "missing", "h: hardlink target missing does not exist" },
		{ "../victim", "h: hardlink target: path traversal: ../victim" },
		{ "/f", "h: hardlink target: path traversal: /f" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tb_free(&b);
		add_link(&b, "h", '1', bad[i].target);
		add_end(&b);
		CHECK(extract(&b, rootfd, BERTH_EXTRACT_LAYER, &err) == -1);
		CHECK_STR(err.msg, bad[i].msg);
		CHECK(!exists("h"));
	}
	/* A good one, over an existing file, and to itself again. */
	tb_free(&b);
	add_file(&b, "h", "old", 0644);
	add_link(&b, "h", '1', "f");
	add_link(&b, "h", '1', "f");
	add_link(&b, "f", '1', "f");
	add_end(&b);
	CHECK(extract(&b, rootfd, BERTH_EXTRACT_LAYER, &err) == 0);
	CHECK(content_is("h", "data"));
	CHECK(content_is("f", "data"));
	close(rootfd);
	tb_free(&b);
}

static void refusals(void)
{
	struct tb b = { 0 };
	struct berth_err err;
	struct stat st;
	int rootfd = fresh_root();

	CHECK(rootfd >= 0);
	add_header(&b, &(struct hdr){ .name = "dev/null", .type = '3', .mode = 0666 });
	add_end(&b);
	CHECK(extract(&b, rootfd, BERTH_EXTRACT_LAYER, &err) == -1);
	CHECK_STR(err.msg, "dev/null: device node refused");
	tb_free(&b);
	add_header(&b, &(struct hdr){ .name = "dev/sda", .type = '4', .mode = 0666 });
	add_end(&b);
	CHECK(extract(&b, rootfd, BERTH_EXTRACT_LAYER, &err) == -1);
	CHECK_STR(err.msg, "dev/sda: device node refused");
	CHECK(!exists("dev/sda"));

	/* The outer archive: files and directories only, fixed modes, no owners. */
	tb_free(&b);
	add_header(&b, &(struct hdr){ .name = "blobs/sha256/", .type = '5', .mode = 0700, .uid = 1234 });
	add_header(&b, &(struct hdr){ .name = "blobs/sha256/abc", .type = '0', .mode = 04777, .uid = 1234,
				      .gid = 1234, .size = 3 });
	tb_put(&b, "abc", 3);
	tb_pad(&b);
	add_end(&b);
	CHECK(extract(&b, rootfd, BERTH_EXTRACT_PLAIN, &err) == 0);
	CHECK(lst("blobs/sha256/abc", &st) == 0 && (st.st_mode & 07777) == 0644 && st.st_uid == geteuid());
	CHECK(lst("blobs/sha256", &st) == 0 && (st.st_mode & 07777) == 0755 && st.st_uid == geteuid());
	static const char types[] = { '2', '1', '6', '3' };
	for (size_t i = 0; i < sizeof(types); i++) {
		tb_free(&b);
		add_link(&b, "index.json", types[i], "blobs/sha256/abc");
		add_end(&b);
		CHECK(extract(&b, rootfd, BERTH_EXTRACT_PLAIN, &err) == -1);
		CHECK_STR(err.msg, "index.json: only files and directories are allowed in the outer archive");
	}

	/* A stream that ends inside a file's data: the member is named. */
	tb_free(&b);
	add_header(&b, &(struct hdr){ .name = "part", .type = '0', .mode = 0644, .size = 100 });
	tb_put(&b, "only a bit", 10);
	CHECK(extract(&b, rootfd, BERTH_EXTRACT_LAYER, &err) == -1);
	CHECK_STR(err.msg, "part: truncated archive");
	close(rootfd);
	tb_free(&b);
}

int main(void)
{
	RUN(header_parse);
	RUN(path_normalise);
	RUN(read_members);
	RUN(pax_and_gnu);
	RUN(member_checks);
	RUN(limits);
	RUN(truncated);
	RUN(compression);
	RUN(from_fd);
	if (geteuid() != 0) {
		printf("SKIP extraction: needs root (chown)\n");
	} else {
		RUN(extract_layer);
		RUN(whiteouts);
		RUN(symlinks_stay_inside);
		RUN(hardlinks);
		RUN(refusals);
	}
	if (tmp[0])
		rm_rf(tmp);
	return t_failed_total != 0;
}
