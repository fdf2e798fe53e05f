/* berth-image: the image store's helper (docs/images.md). berthd runs it for
 * `berthctl image ...` and `berthctl trust ...` once authz.conf allowed the
 * request; it also runs by hand as root (tests, recovery).
 *
 *   berth-image [OPTIONS] import [--tag NAME:TAG]     archive on stdin
 *   berth-image [OPTIONS] ls | inspect REF | rm REF... | prune
 *   berth-image [OPTIONS] trust-update               delegation on stdin
 *   berth-image [OPTIONS] trust-show
 *   berth-image [OPTIONS] sandbox-check             try the sandbox (imgsandbox.h)
 *
 * Options: --store DIR, --trust-dir DIR, --root-pub FILE, --require-signed
 * yes|no, --uid-base N (the import sandbox's id range), --in-use DIGEST=UNIT or
 * --in-use ref:NAME:TAG=UNIT * (repeatable: images rm and prune keep), --json.
 *
 * Output goes to fd 1: when it is berthd's client socket (SOCK_SEQPACKET), as
 * the control protocol's data and end messages (proto.h); otherwise as text,
 * the outcome on stderr and in the exit status (0 ok, 1 failed, 2 usage, 4
 * not found).
 *
 * An import never trusts the archive: its outer tar is unpacked by a
 * sandboxed child (sandbox_run: own user, mount, network, IPC and UTS
 * namespaces, ids of a range of its own, only the staging directory
 * writable, capabilities cut to four, an allowlist seccomp filter); this
 * process then checks every blob's digest and size against the manifest and
 * the signature against the trust policy, and only then has a second
 * sandboxed child unpack the verified layers. Whatever fails, the staging
 * directory is removed and the store is as it was. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "caps.h"
#include "imgmeta.h"
#include "imgstore.h"
#include "lib/cleanup.h"
#include "lib/values.h"
#include "proto.h"
#include "seccomp-berth.h"
#include "trust.h"
#include "berth-image.h"
#include "imgsandbox.h"


struct berth_image_opts o = { .store = BERTH_STORE_DIR, .trust_dir = BERTH_TRUST_DIR, .root_pub = BERTH_TRUST_ROOT,
				.require_signed = 1, .uid_base = 0 };

static int seqpacket; /* fd 1 is berthd's client socket */

/* --- output --- */

void out_data(const char *p, size_t len)
{
	if (!seqpacket) {
		fwrite(p, 1, len, stdout);
		return;
	}
	while (len) {
		char msg[BERTH_REPLY_CHUNK + 1];
		size_t n = len < BERTH_REPLY_CHUNK ? len : BERTH_REPLY_CHUNK;

		msg[0] = 'D';
		memcpy(msg + 1, p, n);
		if (send(1, msg, n + 1, MSG_NOSIGNAL) < 0)
			return;
		p += n;
		len -= n;
	}
}

void say(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		out_data(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* The end of the answer: status ST with a message. Returns ST. */
int finish(enum berth_status st, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg + 2, sizeof(msg) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(msg) - 3)
		n = (int)sizeof(msg) - 3;
	if (seqpacket) {
		msg[0] = 'E';
		msg[1] = (char)st;
		send(1, msg, (size_t)n + 2, MSG_NOSIGNAL);
	} else {
		fflush(stdout);
		if (n)
			fprintf(st == BERTH_OK ? stdout : stderr, "%s%s\n", st == BERTH_OK ? "" : "berth-image: ",
				msg + 2);
	}
	return st;
}

int fail(const struct berth_err *err)
{
	char buf[BERTH_ERR_MSG + 128];

	return finish(err->errnum == ENOENT ? BERTH_NOT_FOUND : BERTH_FAILED, "%s",
		      berth_err_str(err, buf, sizeof(buf)));
}

void iso_time(int64_t t, char *b, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(b, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* --- files --- */

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

/* rm -rf PATH: never follows a symlink, never crosses into a mount. */
int rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, rm_cb, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

uint64_t du(const char *path);
static uint64_t du_total;
static int du_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F || flag == FTW_SL)
		du_total += (uint64_t)st->st_blocks * 512;
	return 0;
}
uint64_t du(const char *path)
{
	du_total = 0;
	nftw(path, du_cb, 32, FTW_PHYS | FTW_MOUNT);
	return du_total;
}

/* Open REL beneath DIRFD as a regular file, following no symlink at all: the
 * files of an unpacked outer archive were written by the sandbox. */
int open_beneath(int dirfd, const char *rel, uint64_t max, struct stat *st, struct berth_err *err)
{
	/* O_NONBLOCK: a FIFO planted by the sandbox must not block us. */
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
					   RESOLVE_NO_XDEV };
	int fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));

	if (fd < 0)
		return errno == ENOENT ? berth_err_set(err, ENOENT, "%s: missing from the archive", rel)
				       : berth_err_sys(err, "open %s", rel);
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return berth_err_set(err, EINVAL, "%s: not a regular file", rel);
	}
	if ((uint64_t)st->st_size > max) {
		close(fd);
		return berth_err_set(err, EFBIG, "%s: %lld bytes, more than the limit of %" PRIu64, rel,
				     (long long)st->st_size, max);
	}
	return fd;
}

/* The sha256 of FD's whole content ("sha256:HEX"), from offset 0; with BUF,
 * the content too (SIZE bytes at most). */
static int hash_fd(int fd, char out[BERTH_DIGEST_LEN + 1], uint64_t *size, char *buf, size_t bufmax,
		   struct berth_err *err)
{
	crypto_hash_sha256_state h;
	unsigned char d[32], chunk[65536];
	uint64_t total = 0;

	crypto_hash_sha256_init(&h);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return berth_err_sys(err, "seek");
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berth_err_sys(err, "read");
		if (n == 0)
			break;
		if (buf && total + (uint64_t)n <= bufmax)
			memcpy(buf + total, chunk, (size_t)n);
		crypto_hash_sha256_update(&h, chunk, (unsigned long long)n);
		total += (uint64_t)n;
	}
	crypto_hash_sha256_final(&h, d);
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", d[i]);
	if (buf)
		buf[total < bufmax ? total : bufmax] = '\0';
	*size = total;
	return 0;
}

/* Write TEXT to DIRFD/NAME whole, durably: a temp file, fsync, rename. */
int write_file_at(int dirfd, const char *name, const char *text, size_t len, struct berth_err *err)
{
	char tmp[300];
	int fd;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return berth_err_sys(err, "create %s", name);
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
		berth_err_sys(err, "write %s", name);
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	close(fd);
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		unlinkat(dirfd, tmp, 0);
		return berth_err_sys(err, "rename %s", name);
	}
	fsync(dirfd);
	return 0;
}

/* --- the store --- */

int store_fd = -1;
static int lock_fd = -1;

/* Open (creating) the store and take its lock, shared or exclusive. */
int store_open(int exclusive, struct berth_err *err)
{
	static const char *const dirs[] = { "blobs", "blobs/sha256", "rootfs", "images", "tags", "tmp" };

	if (mkdir(o.store, 0700) < 0 && errno != EEXIST)
		return berth_err_sys(err, "create %s", o.store);
	store_fd = open(o.store, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (store_fd < 0)
		return berth_err_sys(err, "open %s", o.store);
	/* Root's alone: the runtime opens an image's root while privileged
	 * (mounts.c), so no one else, container or local user, ever needs
	 * to reach into the store. */
	if (fchmod(store_fd, 0700) < 0)
		return berth_err_sys(err, "chmod %s", o.store);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if ((mkdirat(store_fd, dirs[i], 0700) < 0 && errno != EEXIST) ||
		    fchmodat(store_fd, dirs[i], 0700, 0) < 0)
			return berth_err_sys(err, "create %s/%s", o.store, dirs[i]);
	lock_fd = openat(store_fd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lock_fd < 0 || flock(lock_fd, exclusive ? LOCK_EX : LOCK_SH) < 0)
		return berth_err_sys(err, "lock %s/.lock", o.store);
	return 0;
}

int store_has(const char *what, const char *digest, const char *file)
{
	char path[600];
	struct stat st;

	return berth_store_path(o.store, what, digest, file, path, sizeof(path)) == 0 && lstat(path, &st) == 0;
}

/* The unit whose Image= is the tag REF ("name:tag"), if any. */
const char *in_use_ref(const char *ref)
{
	size_t rl = strlen(ref);

	for (int i = 0; i < o.nin_use; i++)
		if (strncmp(o.in_use[i], "ref:", 4) == 0 && strncmp(o.in_use[i] + 4, ref, rl) == 0 &&
		    o.in_use[i][4 + rl] == '=')
			return o.in_use[i] + 4 + rl + 1;
	return NULL;
}

const char *in_use_by(const char *digest)
{
	size_t dl = strlen(digest);

	for (int i = 0; i < o.nin_use; i++)
		if (strncmp(o.in_use[i], digest, dl) == 0 && o.in_use[i][dl] == '=')
			return o.in_use[i] + dl + 1;
	return NULL;
}

/* A tag: tags/NAME/TAG, durably. */
static int tag_write(const char *name, const char *tag, const char *digest, struct berth_err *err)
{
	char esc[130], line[BERTH_DIGEST_LEN + 2];
	cleanup_close int tags = openat(store_fd, "tags", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	cleanup_close int nd = -1;

	berth_store_name_escape(name, esc);
	if (tags < 0 || (mkdirat(tags, esc, 0700) < 0 && errno != EEXIST))
		return berth_err_sys(err, "tags/%s", esc);
	nd = openat(tags, esc, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (nd < 0)
		return berth_err_sys(err, "tags/%s", esc);
	snprintf(line, sizeof(line), "%s\n", digest);
	if (write_file_at(nd, tag, line, strlen(line), err) < 0)
		return -1;
	fsync(tags);
	return 0;
}

/* Every tag: calls FN(name, tag, digest) (NAME unescaped). */
void tags_each(void (*fn)(const char *, const char *, const char *, void *), void *arg)
{
	char path[600];
	DIR *td;
	struct dirent *e;

	snprintf(path, sizeof(path), "%s/tags", o.store);
	td = opendir(path);
	if (!td)
		return;
	while ((e = readdir(td))) {
		DIR *nd;
		struct dirent *t;
		char name[130];

		if (e->d_name[0] == '.')
			continue;
		snprintf(name, sizeof(name), "%.129s", e->d_name);
		for (char *p = name; *p; p++)
			if (*p == '%')
				*p = '/';
		snprintf(path, sizeof(path), "%s/tags/%s", o.store, e->d_name);
		nd = opendir(path);
		if (!nd)
			continue;
		while ((t = readdir(nd))) {
			char tp[1200], *text;
			size_t len;
			struct berth_err err = { 0 };

			if (t->d_name[0] == '.')
				continue;
			snprintf(tp, sizeof(tp), "%s/%s", path, t->d_name);
			text = berth_store_read(tp, 128, &len, &err);
			if (!text)
				continue;
			text[strcspn(text, "\n")] = '\0';
			if (berth_digest_valid(text))
				fn(name, t->d_name, text, arg);
			free(text);
		}
		closedir(nd);
	}
	closedir(td);
}

/* --- import --- */

struct unpack_args {
	const int *fds;
	int nfds;
	enum berth_extract_mode mode;
};

/* In the sandbox: each of ARGS->fds unpacked in order into ROOTFD. */
static int unpack(int rootfd, void *arg, struct berth_err *err)
{
	const struct unpack_args *a = arg;
	struct berth_archive_limits lim;

	berth_archive_limits_default(&lim);
	for (int i = 0; i < a->nfds; i++) {
		struct berth_tar *t = berth_tar_open(a->fds[i], &lim, err);
		int rc;

		if (!t)
			return a->nfds > 1 ? berth_err_prefix(err, "layer %d", i + 1) : -1;
		rc = berth_tar_extract(t, rootfd, a->mode, err);
		berth_tar_close(t);
		if (rc < 0)
			return a->nfds > 1 ? berth_err_prefix(err, "layer %d", i + 1) : -1;
	}
	if (a->mode == BERTH_EXTRACT_LAYER) {
		/* The runtime mounts on these; an image need not carry them
		 * (Docker's init layer adds them the same way). */
		static const char *const points[] = { "proc", "sys", "dev", "tmp", "run", "etc" };

		for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++)
			if (mkdirat(rootfd, points[i], 0755) < 0 && errno != EEXIST)
				return berth_err_sys(err, "create /%s", points[i]);
		if (fchmodat(rootfd, ".", 0755, 0) < 0)
			return berth_err_sys(err, "chmod /");
	}
	return 0;
}

struct blob {
	char digest[BERTH_DIGEST_LEN + 1];
	uint64_t size;
	char path[BERTH_TAR_PATH_MAX_META + 16]; /* in the outer tree */
	int layer;
};

struct image {
	int docker;
	char digest[BERTH_DIGEST_LEN + 1];
	struct blob blobs[BERTH_IMG_MAX_LAYERS + 3];
	int nblobs;
	int layer0, nlayers;                /* blobs[layer0 .. layer0+nlayers) are the layers, in order */
	char *manifest, *config;            /* documents as stored */
	size_t manifest_len, config_len;
	char tags[8][272];
	int ntags;
	uint64_t layer_bytes;
};

/* Verify the blob blobs/sha256/HEX named by descriptor D: its size and its
 * digest. With TEXT, read it whole (a JSON document) into *TEXT. */
/* The staged file REL (at most MAX bytes), whole and NUL-terminated (free()
 * it), with its length and digest. NULL with ERR. */
static char *read_staged(int outer, const char *rel, uint64_t max, size_t *len, char digest[BERTH_DIGEST_LEN + 1],
			 struct berth_err *err)
{
	struct stat st;
	uint64_t size;
	char *buf;
	int fd = open_beneath(outer, rel, max, &st, err);

	if (fd < 0)
		return NULL;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return berth_err_set(err, ENOMEM, "out of memory"), NULL;
	}
	if (hash_fd(fd, digest, &size, buf, (size_t)st.st_size, err) < 0) {
		close(fd);
		free(buf);
		return berth_err_prefix(err, "%s", rel), NULL;
	}
	close(fd);
	*len = size;
	return buf;
}

static int check_blob(int outer, const struct berth_descriptor *d, const char *what, struct image *im,
		      char **text, size_t *tlen, struct berth_err *err)
{
	struct blob *b = &im->blobs[im->nblobs];
	struct stat st;
	char got[BERTH_DIGEST_LEN + 1];
	uint64_t size;
	char *buf = NULL;

	snprintf(b->path, sizeof(b->path), "blobs/sha256/%s", d->digest + 7);
	if (text) {
		size_t n = 0;

		buf = read_staged(outer, b->path, META_MAX, &n, got, err);
		if (!buf)
			return berth_err_prefix(err, "%s %s", what, d->digest);
		size = n;
	} else {
		int fd = open_beneath(outer, b->path, UINT64_MAX, &st, err), rc;

		if (fd < 0)
			return berth_err_prefix(err, "%s %s", what, d->digest);
		rc = hash_fd(fd, got, &size, NULL, 0, err);
		close(fd);
		if (rc < 0)
			return berth_err_prefix(err, "%s %s", what, d->digest);
	}
	if (strcmp(got, d->digest) != 0 || size != (uint64_t)d->size) {
		free(buf);
		if (strcmp(got, d->digest) != 0)
			return berth_err_set(err, EINVAL, "%s: digest mismatch: the manifest says %s, the blob is %s",
					     what, d->digest, got);
		return berth_err_set(err, EINVAL, "%s %s: size mismatch: the manifest says %" PRId64 ", the blob has %" PRIu64,
				     what, d->digest, d->size, size);
	}
	memcpy(b->digest, got, sizeof(got));
	b->size = size;
	im->nblobs++;
	if (text) {
		*text = buf;
		*tlen = size;
	}
	return 0;
}

static int is_linux_amd64(const struct berth_descriptor *d)
{
	return (!d->os[0] || strcmp(d->os, "linux") == 0) && (!d->arch[0] || strcmp(d->arch, "amd64") == 0);
}

/* Add REF (from the archive) to the image's tags when it is a valid
 * "name:tag"; other forms (a bare tag, a registry with a port) are skipped. */
static void add_tag(struct image *im, const char *ref)
{
	char name[129], tag[129], dg[BERTH_DIGEST_LEN + 1];
	struct berth_err e = { 0 };

	if (im->ntags < 8 && berth_image_ref_parse(ref, name, tag, dg, &e) == 0 && tag[0])
		snprintf(im->tags[im->ntags++], sizeof(im->tags[0]), "%.128s:%.128s", name, tag);
}

/* An OCI image layout: index.json, then the one linux/amd64 manifest. */
static int read_oci(int outer, struct image *im, struct berth_err *err)
{
	struct berth_descriptor ds[64], pick, nested[64];
	struct berth_manifest m;
	struct berth_image_config cfg = { 0 };
	cleanup_free char *index = NULL;
	char *ntext = NULL;
	size_t len, nlen;
	int n, chosen = -1;
	char dg[BERTH_DIGEST_LEN + 1];

	index = read_staged(outer, "index.json", META_MAX, &len, dg, err);
	if (!index)
		return -1;
	n = berth_oci_index_parse(index, len, ds, 64, err);
	if (n < 0)
		return berth_err_prefix(err, "index.json");
	for (int i = 0; i < n; i++) {
		if (!is_linux_amd64(&ds[i]))
			continue;
		if (chosen >= 0)
			return berth_err_set(err, EINVAL, "index.json lists more than one image; import one at a time");
		chosen = i;
	}
	if (chosen < 0)
		return berth_err_set(err, EINVAL, "index.json lists no linux/amd64 image");
	pick = ds[chosen];
	if (pick.ref_name[0])
		add_tag(im, pick.ref_name);
	if (pick.media == BERTH_MEDIA_OCI_INDEX || pick.media == BERTH_MEDIA_DOCKER_LIST) {
		/* One level of nesting (what docker and buildx write). */
		int nn;

		if (check_blob(outer, &pick, "image index", im, &ntext, &nlen, err) < 0)
			return -1;
		nn = berth_oci_index_parse(ntext, nlen, nested, 64, err);
		free(ntext);
		if (nn < 0)
			return berth_err_prefix(err, "image index %s", pick.digest);
		chosen = -1;
		for (int i = 0; i < nn && chosen < 0; i++)
			if (is_linux_amd64(&nested[i]) && (nested[i].media == BERTH_MEDIA_OCI_MANIFEST ||
							   nested[i].media == BERTH_MEDIA_DOCKER_MANIFEST) &&
			    (nested[i].os[0] || nn == 1))
				chosen = i;
		if (chosen < 0)
			return berth_err_set(err, EINVAL, "image index %s has no linux/amd64 manifest", pick.digest);
		pick = nested[chosen];
	}
	/* The parsers admit only known media types: PICK is a manifest now. */
	if (check_blob(outer, &pick, "manifest", im, &im->manifest, &im->manifest_len, err) < 0)
		return -1;
	memcpy(im->digest, pick.digest, sizeof(im->digest));
	if (berth_oci_manifest_parse(im->manifest, im->manifest_len, &m, err) < 0)
		return berth_err_prefix(err, "manifest %s", pick.digest);
	if (check_blob(outer, &m.config, "config", im, &im->config, &im->config_len, err) < 0)
		return -1;
	if (berth_image_config_parse(im->config, im->config_len, &cfg, err) < 0)
		return berth_err_prefix(err, "config %s", m.config.digest);
	if (cfg.ndiff_ids != m.nlayers) {
		berth_image_config_free(&cfg);
		return berth_err_set(err, EINVAL, "config lists %d layers, the manifest %d", cfg.ndiff_ids,
				     m.nlayers);
	}
	berth_image_config_free(&cfg);
	im->layer0 = im->nblobs;
	for (int i = 0; i < m.nlayers; i++) {
		char what[32];

		snprintf(what, sizeof(what), "layer %d", i + 1);
		if (check_blob(outer, &m.layers[i], what, im, NULL, NULL, err) < 0)
			return -1;
		im->blobs[im->nblobs - 1].layer = 1;
		im->layer_bytes += im->blobs[im->nblobs - 1].size;
	}
	im->nlayers = m.nlayers;
	return 0;
}

/* A docker-save archive: manifest.json's one image; its config's digest is
 * the image's, and each layer file's sha256 must be the config's diff_id (the
 * layers of docker save are uncompressed tars). */
static int read_docker(int outer, struct image *im, struct berth_err *err)
{
	static struct berth_docker_image di[2];
	struct berth_image_config cfg = { 0 };
	cleanup_free char *man = NULL;
	struct stat st;
	size_t sz;
	char dg[BERTH_DIGEST_LEN + 1];
	int n, fd;

	im->docker = 1;
	man = read_staged(outer, "manifest.json", META_MAX, &sz, dg, err);
	if (!man)
		return -1;
	n = berth_docker_manifest_parse(man, sz, di, 2, err);
	if (n < 0)
		return berth_err_prefix(err, "manifest.json");
	if (n != 1)
		return berth_err_set(err, EINVAL, "manifest.json lists %s images; import one at a time",
				     n ? "several" : "no");
	im->config = read_staged(outer, di[0].config, META_MAX, &im->config_len, im->digest, err);
	if (!im->config)
		return berth_err_prefix(err, "config");
	sz = im->config_len;
	snprintf(im->blobs[0].path, sizeof(im->blobs[0].path), "%s", di[0].config);
	memcpy(im->blobs[0].digest, im->digest, sizeof(im->digest));
	im->blobs[0].size = sz;
	im->nblobs = 1;
	if (berth_image_config_parse(im->config, im->config_len, &cfg, err) < 0)
		return berth_err_prefix(err, "config %s", di[0].config);
	if (cfg.ndiff_ids != di[0].nlayers) {
		berth_image_config_free(&cfg);
		return berth_err_set(err, EINVAL, "config lists %d layers, manifest.json %d", cfg.ndiff_ids,
				     di[0].nlayers);
	}
	im->layer0 = 1;
	for (int i = 0; i < di[0].nlayers; i++) {
		struct blob *b = &im->blobs[im->nblobs];
		unsigned char magic[2] = { 0 };

		fd = open_beneath(outer, di[0].layers[i], UINT64_MAX, &st, err);
		if (fd < 0 || hash_fd(fd, b->digest, &b->size, NULL, 0, err) < 0) {
			if (fd >= 0)
				close(fd);
			berth_image_config_free(&cfg);
			return berth_err_prefix(err, "layer %d", i + 1);
		}
		if (pread(fd, magic, 2, 0) != 2)
			magic[0] = 0;
		close(fd);
		if (strcmp(b->digest, cfg.diff_ids[i]) != 0) {
			int gz = magic[0] == 0x1f && magic[1] == 0x8b;

			berth_err_set(err, EINVAL, "layer %d (%s): digest mismatch: the config says %s, the file is %s%s",
				      i + 1, di[0].layers[i], cfg.diff_ids[i], b->digest,
				      gz ? " (compressed layers in a docker-save archive are not supported)" : "");
			berth_image_config_free(&cfg);
			return -1;
		}
		snprintf(b->path, sizeof(b->path), "%s", di[0].layers[i]);
		b->layer = 1;
		im->layer_bytes += b->size;
		im->nblobs++;
	}
	im->nlayers = di[0].nlayers;
	berth_image_config_free(&cfg);
	for (int i = 0; i < di[0].ntags; i++)
		add_tag(im, di[0].repo_tags[i]);
	return 0;
}

/* The signature bundle the archive carries (berth-sign appends it), or NULL. */
static char *read_bundle(int outer, size_t *len, struct berth_err *err)
{
	char dg[BERTH_DIGEST_LEN + 1];

	return read_staged(outer, BERTH_SIG_MEMBER, BERTH_TRUST_DOC_MAX, len, dg, err);
}

/* The trust policy for this image: 0 (with SIG filled when signed), -1. */
static int check_trust(int record, const char *bundle, size_t blen, const char *digest, struct berth_imgsig *sig,
		       int *signed_out, struct berth_err *err)
{
	struct berth_pubkey root;
	cleanup_close int tfd = -1;

	*signed_out = 0;
	if (!bundle) {
		if (o.require_signed)
			return berth_err_set(err, EPERM, "unsigned image refused ([trust] RequireSignedImages=yes): "
							 "sign it with berth-sign (docs/trust.md)");
		return 0;
	}
	if (berth_pubkey_load(o.root_pub, &root, err) < 0)
		return berth_err_prefix(err, "the root key");
	if (mkdir(o.trust_dir, 0700) < 0 && errno != EEXIST)
		return berth_err_sys(err, "create %s", o.trust_dir);
	tfd = open(o.trust_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (tfd < 0)
		return berth_err_sys(err, "open %s", o.trust_dir);
	if (berth_trust_check(tfd, &root, bundle, blen, digest, (int64_t)time(NULL), record, sig, err) < 0)
		return -1;
	*signed_out = 1;
	return 0;
}

const char *tag_of(const char *ref, char *name)
{
	const char *c = strrchr(ref, ':');

	snprintf(name, 129, "%.*s", (int)(c - ref), ref);
	return c + 1;
}

/* The image's record in DIR (a new directory in the staging area). */
static int write_record(int dirfd, const struct image *im, const char *bundle, size_t blen, int is_signed,
			const struct berth_imgsig *sig, const char *tag_ref, struct berth_err *err)
{
	struct berth_buf_s {
		char *p;
		size_t len, cap;
	};
	char *info = NULL, now[32], name[129], sigfile[160];
	size_t ilen = 0;
	FILE *f = open_memstream(&info, &ilen);
	int rc;

	if (!f)
		return berth_err_set(err, ENOMEM, "out of memory");
	iso_time((int64_t)time(NULL), now, sizeof(now));
	tag_of(tag_ref, name);
	berth_store_sig_file(name, sigfile);
	fprintf(f, "berth-image 1\ndigest %s\nformat %s\nimported %s\nlayers %d\nlayer-bytes %" PRIu64 "\nname %s\n",
		im->digest, im->docker ? "docker-save" : "oci", now, im->nlayers, im->layer_bytes, name);
	for (int i = 0; i < im->nblobs; i++)
		fprintf(f, "%s %s %" PRIu64 "\n", im->blobs[i].layer ? "layer" : "blob", im->blobs[i].digest,
			im->blobs[i].size);
	if (is_signed)
		fprintf(f, "signed %s %" PRIu64 " %" PRId64 "\n", sig->keyid, sig->version, sig->expires);
	fclose(f);
	rc = write_file_at(dirfd, "info", info, ilen, err);
	free(info);
	if (rc < 0 || write_file_at(dirfd, "config.json", im->config, im->config_len, err) < 0 ||
	    (im->manifest && write_file_at(dirfd, "manifest.json", im->manifest, im->manifest_len, err) < 0) ||
	    (bundle && write_file_at(dirfd, sigfile, bundle, blen, err) < 0))
		return -1;
	return 0;
}

/* Add NAME to an existing record's names (re-import under another name). */
static int record_add_name(const char *digest, const char *name, struct berth_err *err)
{
	char path[600], line[200];
	cleanup_free char *text = NULL;
	size_t len;
	cleanup_close int dfd = -1;

	if (berth_store_path(o.store, "images", digest, "info", path, sizeof(path)) < 0 ||
	    !(text = berth_store_read(path, 1 << 20, &len, err)))
		return -1;
	snprintf(line, sizeof(line), "\nname %s\n", name);
	if (strstr(text, line))
		return 0;
	{
		cleanup_free char *nt = malloc(len + strlen(line) + 1);

		if (!nt)
			return berth_err_set(err, ENOMEM, "out of memory");
		memcpy(nt, text, len);
		memcpy(nt + len, line + 1, strlen(line));
		*strrchr(path, '/') = '\0';
		dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (dfd < 0)
			return berth_err_sys(err, "open %s", path);
		return write_file_at(dfd, "info", nt, len + strlen(line) - 1, err);
	}
}

static int cmd_import(const char *tag_opt)
{
	struct berth_err err = { 0 };
	static struct image im;
	char stage[512], path[1200], tag_ref[272] = "", human_b[32];
	struct berth_imgsig sig = { 0 };
	cleanup_free char *bundle = NULL;
	size_t blen = 0;
	int outer = -1, is_signed = 0, rc = BERTH_FAILED, present;
	int layer_fds[BERTH_IMG_MAX_LAYERS];
	int nlayer_fds = 0;
	int new_blobs[BERTH_IMG_MAX_LAYERS + 3], nnew = 0; /* blobs this import added, undone on failure */
	int committed = 0;                                   /* the new image's root is in the store */
	int in = 0;

	if (store_open(1, &err) < 0)
		return fail(&err);
	/* What a killed import left (the lock says none runs now). */
	{
		DIR *d;
		struct dirent *e;

		snprintf(path, sizeof(path), "%s/tmp", o.store);
		d = opendir(path);
		while (d && (e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char tp[1500];

			snprintf(tp, sizeof(tp), "%s/%s", path, e->d_name);
			rm_rf(tp);
		}
		if (d)
			closedir(d);
	}
	if (snprintf(stage, sizeof(stage), "%s/tmp/import.XXXXXX", o.store) >= (int)sizeof(stage)) {
		berth_err_set(&err, ENAMETOOLONG, "store path too long");
		return fail(&err);
	}
	if (!mkdtemp(stage)) {
		berth_err_sys(&err, "create a staging directory in %s/tmp", o.store);
		return fail(&err);
	}
	for (int i = 0; i < 4; i++) {
		static const char *const sub[] = { "outer", "rootfs", "sandbox", "record" };

		snprintf(path, sizeof(path), "%s/%s", stage, sub[i]);
		if (mkdir(path, 0755) < 0) {
			berth_err_sys(&err, "create %s", path);
			goto out;
		}
	}
	/* 1. The outer archive, unpacked by the sandbox: files and directories only. */
	{
		struct unpack_args a = { .fds = &in, .nfds = 1, .mode = BERTH_EXTRACT_PLAIN };
		char target[600], scratch[600];

		snprintf(target, sizeof(target), "%s/outer", stage);
		snprintf(scratch, sizeof(scratch), "%s/sandbox", stage);
		if (berth_sandbox_run(target, scratch, o.uid_base, unpack, &a, &in, 1, &err) < 0) {
			berth_err_prefix(&err, "archive");
			goto out;
		}
		snprintf(path, sizeof(path), "%s/outer", stage);
		outer = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (outer < 0) {
			berth_err_sys(&err, "open %s", path);
			goto out;
		}
	}
	/* 2. What it is, every blob checked against the manifest. */
	{
		struct stat st;

		if (fstatat(outer, "index.json", &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (read_oci(outer, &im, &err) < 0)
				goto out;
		} else if (fstatat(outer, "manifest.json", &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (read_docker(outer, &im, &err) < 0)
				goto out;
		} else {
			berth_err_set(&err, EINVAL, "neither an OCI image layout (index.json) nor a docker-save "
						    "archive (manifest.json)");
			goto out;
		}
	}
	/* 3. Trust, before any layer is unpacked. */
	bundle = read_bundle(outer, &blen, &err);
	if (!bundle && err.errnum != ENOENT && err.msg[0]) {
		berth_err_prefix(&err, "%s", BERTH_SIG_MEMBER);
		goto out;
	}
	memset(&err, 0, sizeof(err));
	if (check_trust(0, bundle, blen, im.digest, &sig, &is_signed, &err) < 0)
		goto out;
	if (is_signed) {
		snprintf(tag_ref, sizeof(tag_ref), "%s:%s", sig.name, sig.tag);
		if (tag_opt && strcmp(tag_opt, tag_ref) != 0) {
			berth_err_set(&err, EINVAL, "--tag %s: the image is signed as %s", tag_opt, tag_ref);
			goto out;
		}
	} else if (tag_opt) {
		char n[129], t[129], d[BERTH_DIGEST_LEN + 1];

		if (berth_image_ref_parse(tag_opt, n, t, d, &err) < 0 || !t[0]) {
			if (!err.msg[0])
				berth_err_set(&err, EINVAL, "--tag %s: give NAME:TAG", tag_opt);
			goto out;
		}
		snprintf(tag_ref, sizeof(tag_ref), "%s", tag_opt);
	} else if (im.ntags) {
		snprintf(tag_ref, sizeof(tag_ref), "%s", im.tags[0]);
	} else {
		berth_err_set(&err, EINVAL, "the archive names no image (NAME:TAG); give one with --tag NAME:TAG");
		goto out;
	}
	/* 4. The verified layers unpacked, in order, by a second sandbox (from
	 * the staged files, which nothing writes any more). The store is not
	 * touched before the commit below. */
	present = store_has("images", im.digest, "info") && store_has("rootfs", im.digest, NULL);
	if (!present) {
		for (int i = im.layer0; i < im.layer0 + im.nlayers; i++) {
			struct stat st;

			layer_fds[nlayer_fds] = open_beneath(outer, im.blobs[i].path, UINT64_MAX, &st, &err);
			if (layer_fds[nlayer_fds] < 0)
				goto out;
			nlayer_fds++;
		}
		{
			struct unpack_args a = { .fds = layer_fds, .nfds = nlayer_fds, .mode = BERTH_EXTRACT_LAYER };
			char target[600], scratch[600];

			snprintf(target, sizeof(target), "%s/rootfs", stage);
			snprintf(scratch, sizeof(scratch), "%s/sandbox", stage);
			if (berth_sandbox_run(target, scratch, o.uid_base, unpack, &a, layer_fds, nlayer_fds, &err) < 0)
				goto out;
		}
	}
	/* 5. Commit: the blobs, the rootfs and the record by rename; then the
	 * trust state (the highest version seen); the tag last. A failure
	 * after the first rename takes the new image out again. */
	if (!present) {
		char dst[600], rec[600];
		cleanup_close int recfd = -1;
		cleanup_close int blobs = openat(store_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		/* The blobs, each once (a layer two images share is one file). */
		if (blobs < 0) {
			berth_err_sys(&err, "open %s/blobs/sha256", o.store);
			goto out;
		}
		for (int i = 0; i < im.nblobs; i++) {
			const char *hex = im.blobs[i].digest + 7;
			struct stat st;

			struct stat lst;
			int bfd;

			if (fstatat(blobs, hex, &st, AT_SYMLINK_NOFOLLOW) == 0)
				continue;
			/* The staged file checked above, again without a symlink on
			 * the way (nothing writes the staging area any more: this is
			 * belt and braces), and the link made is that very file. */
			bfd = open_beneath(outer, im.blobs[i].path, UINT64_MAX, &st, &err);
			if (bfd < 0)
				goto out;
			if (fchmod(bfd, 0444) < 0 || linkat(outer, im.blobs[i].path, blobs, hex, 0) < 0) {
				berth_err_sys(&err, "store blob %s", im.blobs[i].digest);
				close(bfd);
				goto out;
			}
			close(bfd);
			new_blobs[nnew++] = i;
			if (fstatat(blobs, hex, &lst, AT_SYMLINK_NOFOLLOW) < 0 || lst.st_ino != st.st_ino ||
			    lst.st_dev != st.st_dev) {
				berth_err_set(&err, EINVAL, "store blob %s: not the file verified", im.blobs[i].digest);
				goto out;
			}
		}
		fsync(blobs);

		snprintf(rec, sizeof(rec), "%s/record", stage);
		recfd = open(rec, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (recfd < 0 || write_record(recfd, &im, bundle, blen, is_signed, &sig, tag_ref, &err) < 0) {
			if (recfd < 0)
				berth_err_sys(&err, "open %s", rec);
			goto out;
		}
		berth_store_path(o.store, "rootfs", im.digest, NULL, dst, sizeof(dst));
		rm_rf(dst); /* an earlier import's, that never got its record */
		snprintf(path, sizeof(path), "%s/rootfs", stage);
		if (rename(path, dst) < 0) {
			berth_err_sys(&err, "move the image's root into %s", dst);
			goto out;
		}
		committed = 1;
		berth_store_path(o.store, "images", im.digest, NULL, dst, sizeof(dst));
		rm_rf(dst);
		if (rename(rec, dst) < 0) {
			berth_err_sys(&err, "record the image in %s", dst);
			goto out;
		}
		snprintf(path, sizeof(path), "%s/rootfs", o.store);
		{
			int d = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (d >= 0) {
				fsync(d);
				close(d);
			}
		}
		{
			int d = openat(store_fd, "images", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (d >= 0) {
				fsync(d);
				close(d);
			}
		}
	} else {
		char name[129];

		tag_of(tag_ref, name);
		if (record_add_name(im.digest, name, &err) < 0)
			goto out;
		if (is_signed) {
			/* Keep the newest signature for this name with the record. */
			char rec[600], sigfile[160];
			cleanup_close int recfd = -1;

			berth_store_path(o.store, "images", im.digest, NULL, rec, sizeof(rec));
			berth_store_sig_file(name, sigfile);
			recfd = open(rec, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (recfd < 0 || write_file_at(recfd, sigfile, bundle, blen, &err) < 0)
				goto out;
		}
	}
	if (is_signed && check_trust(1, bundle, blen, im.digest, &sig, &is_signed, &err) < 0)
		goto out;
	{
		char name[129];
		const char *tag = tag_of(tag_ref, name);

		if (tag_write(name, tag, im.digest, &err) < 0)
			goto out;
	}
	berth_format_size((double)im.layer_bytes, human_b, sizeof(human_b));
	say("%s %s\n", present ? "already in the store:" : "imported", tag_ref);
	say("  digest  %s (%s, %d layer%s, %s)\n", im.digest, im.docker ? "docker-save" : "OCI", im.nlayers,
	    im.nlayers == 1 ? "" : "s", human_b);
	if (is_signed) {
		char exp[32];

		iso_time(sig.expires, exp, sizeof(exp));
		say("  signed  by key %s, version %" PRIu64 ", expires %s\n", sig.keyid, sig.version, exp);
	} else {
		say("  signed  no ([trust] RequireSignedImages=no)\n");
	}
	rc = BERTH_OK;
out:
	if (rc != BERTH_OK) {
		char bp[700];

		if (committed)
			remove_image(im.digest);

		for (int i = 0; i < nnew; i++) {
			snprintf(bp, sizeof(bp), "%s/blobs/sha256/%s", o.store, im.blobs[new_blobs[i]].digest + 7);
			unlink(bp);
		}
	}
	for (int i = 0; i < nlayer_fds; i++)
		close(layer_fds[i]);
	if (outer >= 0)
		close(outer);
	rm_rf(stage);
	free(im.manifest);
	free(im.config);
	if (rc != BERTH_OK)
		return fail(&err);
	return finish(BERTH_OK, "%s", "");
}

/* berth-image sandbox-check: the import sandbox tried, on this kernel, with
 * what it must not do (imgsandbox.h); exit 0 only if each got its errno. */
static int cmd_sandbox_check(void)
{
	struct berth_err err = { 0 };
	char dir[600], report[2048];
	int bad;

	if (store_open(1, &err) < 0)
		return fail(&err);
	if (snprintf(dir, sizeof(dir), "%s/tmp/check.XXXXXX", o.store) >= (int)sizeof(dir) || !mkdtemp(dir)) {
		berth_err_sys(&err, "create a directory in %s/tmp", o.store);
		return fail(&err);
	}
	bad = berth_sandbox_check(dir, o.uid_base, report, sizeof(report), &err);
	rm_rf(dir);
	if (bad < 0)
		return fail(&err);
	say("%s", report);
	return bad ? finish(BERTH_FAILED, "sandbox: %d probe%s did not get the error required", bad, bad == 1 ? "" : "s")
		   : finish(BERTH_OK, "sandbox: every probe got the error required");
}

static int usage(void)
{
	return finish(BERTH_USAGE, "usage: berth-image [--store DIR] [--trust-dir DIR] [--root-pub FILE] "
				   "[--require-signed yes|no] [--uid-base N] [--in-use DIGEST=UNIT]... [--json] "
				   "import [--tag NAME:TAG] | ls | inspect REF | rm REF... | prune | trust-update | "
				   "trust-show | sandbox-check");
}

int main(int argc, char **argv)
{
	int type = 0, i = 1;
	socklen_t tl = sizeof(type);

	seqpacket = getsockopt(1, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_SEQPACKET;
	if (seqpacket) {
		/* A client that stops reading must not keep the store locked:
		 * a send that waits this long fails, and so does the command. */
		struct timeval tv = { .tv_sec = 60 };

		setsockopt(1, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	signal(SIGPIPE, SIG_IGN);
	umask(077);
	if (sodium_init() < 0)
		return finish(BERTH_FAILED, "libsodium cannot start");
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--json") == 0) {
			o.json = 1;
			continue;
		}
		if (!v)
			return usage();
		i++;
		if (strcmp(a, "--store") == 0)
			o.store = v;
		else if (strcmp(a, "--trust-dir") == 0)
			o.trust_dir = v;
		else if (strcmp(a, "--root-pub") == 0)
			o.root_pub = v;
		else if (strcmp(a, "--require-signed") == 0 && (!strcmp(v, "yes") || !strcmp(v, "no")))
			o.require_signed = strcmp(v, "yes") == 0;
		else if (strcmp(a, "--uid-base") == 0)
			o.uid_base = (uint32_t)strtoul(v, NULL, 10);
		else if (strcmp(a, "--in-use") == 0 && o.nin_use < MAX_IN_USE)
			o.in_use[o.nin_use++] = v;
		else
			return usage();
	}
	if (i >= argc)
		return usage();
	if (strcmp(argv[i], "import") == 0) {
		if (argc == i + 1)
			return cmd_import(NULL);
		if (argc == i + 3 && strcmp(argv[i + 1], "--tag") == 0)
			return cmd_import(argv[i + 2]);
		return usage();
	}
	if (strcmp(argv[i], "ls") == 0 && (argc == i + 1 || (argc == i + 2 && strcmp(argv[i + 1], "--json") == 0))) {
		o.json |= argc == i + 2;
		return cmd_ls();
	}
	if (strcmp(argv[i], "inspect") == 0 && argc == i + 2)
		return cmd_inspect(argv[i + 1]);
	if (strcmp(argv[i], "rm") == 0 && argc > i + 1)
		return cmd_rm(argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "prune") == 0 && argc == i + 1)
		return cmd_prune();
	if (strcmp(argv[i], "trust-update") == 0 && argc == i + 1)
		return cmd_trust_update();
	if (strcmp(argv[i], "trust-show") == 0 && argc == i + 1)
		return cmd_trust_show();
	if (strcmp(argv[i], "sandbox-check") == 0 && argc == i + 1)
		return cmd_sandbox_check();
	return usage();
}
