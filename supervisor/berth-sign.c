/* berth-sign: the publisher's side of image trust (trust.h, docs/trust.md),
 * run on a build host, never on the appliance. It makes key pairs, has the
 * root key delegate to publisher keys, and signs an image archive by
 * appending a bundle (the delegation and the image signature) to it as the
 * tar member "berth.sig", which berth-image checks on import.
 *
 * The image digest is what the importer computes (berth-image.c): for an OCI
 * image layout the digest of its image manifest, for a docker-save archive
 * the digest of its config (the image ID Docker shows). The archive is read
 * with the importer's own tar reader and JSON parsers. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "archive.h"
#include "imgmeta.h"
#include "lib/cleanup.h"
#include "trust.h"

#define META_MAX (4u << 20) /* bytes of index.json, manifest.json or a manifest blob */
#define MAX_DESC 64

static const char usage_text[] =
	"usage: berth-sign keygen NAME\n"
	"       berth-sign delegate --root ROOT.key --version N --expires DATE|Nd\n"
	"                           --key PUB.pub[=NAMES] [--key ...] -o FILE\n"
	"       berth-sign sign --key KEY.key --delegation FILE --name NAME --tag TAG\n"
	"                       --version N --expires DATE|Nd [--ref REF] ARCHIVE\n"
	"       berth-sign sign --digest-only [--ref REF] ARCHIVE\n"
	"       berth-sign digest [--ref REF] ARCHIVE\n"
	"       berth-sign verify --root ROOT.pub [--ref REF] ARCHIVE\n"
	"       berth-sign --help\n";

static const char help_text[] =
	"NAME\n"
	"    berth-sign - sign container image archives for Berth\n"
	"\n"
	"SYNOPSIS\n"
	"    berth-sign keygen NAME\n"
	"    berth-sign delegate --root ROOT.key --version N --expires DATE|Nd\n"
	"                        --key PUB.pub[=NAMES] [--key ...] -o FILE\n"
	"    berth-sign sign --key KEY.key --delegation FILE --name NAME --tag TAG\n"
	"                    --version N --expires DATE|Nd [--ref REF] ARCHIVE\n"
	"    berth-sign digest [--ref REF] ARCHIVE\n"
	"    berth-sign verify --root ROOT.pub [--ref REF] ARCHIVE\n"
	"\n"
	"DESCRIPTION\n"
	"    An appliance trusts one offline root key, whose public half its image\n"
	"    carries at /etc/berth/trust/root.pub. The root key signs a delegation:\n"
	"    a versioned, expiring list of publisher keys, each with the image names\n"
	"    it may sign. A publisher key signs an image: its digest, name, tag,\n"
	"    version and expiry. Both travel inside the image archive as the tar\n"
	"    member \"berth.sig\". The appliance refuses an image whose version is\n"
	"    lower than one it has seen, and keeps the highest delegation version it\n"
	"    has seen, so a key dropped from a newer delegation stays revoked.\n"
	"\n"
	"COMMANDS\n"
	"    keygen NAME\n"
	"        Make an Ed25519 key pair: NAME.key (secret, mode 0600) and NAME.pub.\n"
	"        Existing files are never overwritten. Prints the key id.\n"
	"\n"
	"    delegate\n"
	"        Write a delegation signed by the root key to FILE.\n"
	"        --root ROOT.key      the root's secret key\n"
	"        --version N          higher than every delegation issued before\n"
	"        --expires DATE|Nd    2027-06-01T00:00:00Z (UTC), or N days from now\n"
	"        --key PUB.pub=NAMES  a publisher key and the image names it may sign,\n"
	"                             comma-separated: \"web\", \"acme/\" followed by\n"
	"                             \"*\" for every name below acme/, or \"*\" for any\n"
	"                             (the default). Up to 16 keys.\n"
	"        -o FILE              where to write it\n"
	"\n"
	"    sign\n"
	"        Sign an uncompressed image archive (docker save, or an OCI image\n"
	"        layout as a tar) in place: a \"berth.sig\" member is appended, or\n"
	"        replaces the one the archive ends with.\n"
	"        --key KEY.key        the publisher's secret key\n"
	"        --delegation FILE    the root's delegation listing that key\n"
	"        --name NAME          the image name the signature is for\n"
	"        --tag TAG            its tag\n"
	"        --version N          higher than every version of NAME signed before\n"
	"        --expires DATE|Nd    when the signature stops being accepted\n"
	"        --expired-ok         accept a DATE in the past (delegate and sign: a\n"
	"                             document appliances refuse, to test freshness)\n"
	"        --ref REF            an OCI index listing several manifests: the one\n"
	"                             whose org.opencontainers.image.ref.name is REF\n"
	"        --digest-only        print the image digest and sign nothing\n"
	"\n"
	"    digest ARCHIVE\n"
	"        Print the image digest, as the appliance computes it.\n"
	"\n"
	"    verify --root ROOT.pub ARCHIVE\n"
	"        Check the archive's signature against the root key and the archive's\n"
	"        digest, as an import would (without the appliance's record of\n"
	"        versions seen), and print what it says.\n"
	"\n"
	"IMAGE DIGEST\n"
	"    OCI layout (index.json): the digest of the image manifest index.json\n"
	"    lists (through one nested index, its first linux/amd64 manifest); the\n"
	"    manifest blob must match it. docker save (manifest.json): the SHA-256 of\n"
	"    the first image's config file.\n"
	"\n"
	"EXIT STATUS\n"
	"    0 done (verify: good signature), 1 failed or refused, 2 usage error.\n"
	"\n"
	"EXAMPLE\n"
	"    berth-sign keygen root; berth-sign keygen ci\n"
	"    berth-sign delegate --root root.key --version 1 --expires 365d \\\n"
	"        --key ci.pub=web,acme/'*' -o delegation\n"
	"    docker save web:1.4 -o web.tar\n"
	"    berth-sign sign --key ci.key --delegation delegation --name web \\\n"
	"        --tag 1.4 --version 14 --expires 180d web.tar\n"
	"    berth-sign verify --root root.pub web.tar\n";

static int usage(void)
{
	fputs(usage_text, stderr);
	return 2;
}

static int fail(const struct berth_err *err)
{
	char buf[BERTH_ERR_MSG + 128];

	fprintf(stderr, "berth-sign: %s\n", berth_err_str(err, buf, sizeof(buf)));
	return 1;
}

static void seckey_wipe(struct berth_seckey *k)
{
	sodium_memzero(k, sizeof(*k));
}
#define cleanup_seckey __attribute__((cleanup(seckey_wipe)))

/* Write all of BUF to FD. */
static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* "N" (a version) into *OUT. */
static int parse_version_arg(const char *s, uint64_t *out)
{
	char *end;

	if (!*s || *s < '0' || *s > '9' || (s[0] == '0' && s[1]))
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

/* --expired-ok: a DATE in the past is accepted (documents that appliances
 * refuse: for testing freshness checks). */
static int expired_ok;

/* "2027-06-01T00:00:00Z" or "Nd" (N days from NOW) into OUT, which must be
 * later than NOW unless --expired-ok. */
static int parse_expires_arg(const char *s, int64_t now, char out[21], struct berth_err *err)
{
	int64_t t;
	size_t n = strlen(s);

	if (n >= 2 && s[n - 1] == 'd' && strspn(s, "0123456789") == n - 1 && n - 1 <= 5) {
		long days = strtol(s, NULL, 10);

		if (days < 1)
			return berth_err_set(err, 0, "--expires %s: at least 1d", s);
		t = now + (int64_t)days * 86400;
	} else if (berth_trust_time_parse(s, &t) < 0) {
		return berth_err_set(err, 0, "--expires %s: want YYYY-MM-DDTHH:MM:SSZ (UTC) or a number of days (\"90d\")",
				     s);
	}
	if (t <= now && !expired_ok)
		return berth_err_set(err, 0, "--expires %s: that is not in the future (--expired-ok writes it anyway)", s);
	if (t <= now)
		fprintf(stderr, "berth-sign: warning: --expires %s is past: appliances will refuse this document\n", s);
	if (berth_trust_time_format(t, out) < 0)
		return berth_err_set(err, 0, "--expires %s: out of range", s);
	return 0;
}

static void keyfile_text(const char *magic, const char *id, const unsigned char *key, size_t n, char *out,
			 size_t cap)
{
	char b64[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(b64, sizeof(b64), key, n, sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, cap, "%s %s %s\n", magic, id, b64);
	sodium_memzero(b64, sizeof(b64));
}

/* Create PATH (never over an existing file) holding TEXT. */
static int create_file(const char *path, const char *text, mode_t mode, struct berth_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);

	if (fd < 0)
		return berth_err_sys(err, "create %s", path);
	if (fchmod(fd, mode) < 0 || write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0) {
		berth_err_sys(err, "write %s", path);
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) < 0) {
		berth_err_sys(err, "write %s", path);
		unlink(path);
		return -1;
	}
	return 0;
}

static int cmd_keygen(int argc, char **argv)
{
	unsigned char pk[32], sk[64];
	char id[BERTH_KEYID_LEN + 1], keypath[4096], pubpath[4096], text[256];
	struct berth_err err = { 0 };
	int r;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(help_text, stdout);
		return 0;
	}
	if (argc != 2 || !argv[1][0] || argv[1][0] == '-')
		return usage();
	if (snprintf(keypath, sizeof(keypath), "%s.key", argv[1]) >= (int)sizeof(keypath) ||
	    snprintf(pubpath, sizeof(pubpath), "%s.pub", argv[1]) >= (int)sizeof(pubpath))
		return berth_err_set(&err, ENAMETOOLONG, "%s", argv[1]), fail(&err);
	/* O_EXCL below is what guards; this only spares making a key for nothing. */
	if (access(keypath, F_OK) == 0 || access(pubpath, F_OK) == 0)
		return berth_err_set(&err, 0, "%s.key or %s.pub already exists; not overwriting", argv[1], argv[1]),
		       fail(&err);
	crypto_sign_ed25519_keypair(pk, sk);
	berth_keyid(pk, id);
	keyfile_text("berth-ed25519-secret", id, sk, 64, text, sizeof(text));
	sodium_memzero(sk, sizeof(sk));
	r = create_file(keypath, text, 0600, &err);
	sodium_memzero(text, sizeof(text));
	if (r < 0)
		return fail(&err);
	keyfile_text("berth-ed25519-public", id, pk, 32, text, sizeof(text));
	if (create_file(pubpath, text, 0644, &err) < 0) {
		unlink(keypath);
		return fail(&err);
	}
	fprintf(stderr, "berth-sign: wrote %s (secret: keep it offline) and %s\n", keypath, pubpath);
	printf("%s\n", id);
	return 0;
}

static int cmd_delegate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' }, { "version", required_argument, NULL, 'v' },
		{ "expires", required_argument, NULL, 'e' }, { "key", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' }, { "help", no_argument, NULL, 'h' },
		{ "expired-ok", no_argument, &expired_ok, 1 }, { NULL, 0, NULL, 0 },
	};
	const char *root_path = NULL, *version = NULL, *expires = NULL, *out = NULL, *keys[BERTH_TRUST_MAX_KEYS];
	int nkeys = 0, c;
	cleanup_seckey struct berth_seckey root = { 0 };
	struct berth_pubkey rootpub;
	struct berth_delegation d;
	struct berth_err err = { 0 };
	static char body[BERTH_TRUST_DOC_MAX + 1], doc[BERTH_TRUST_DOC_MAX + 1];
	char when[21], tmp[4200];
	size_t len = 0, doclen = 0;
	uint64_t v;
	int64_t now = (int64_t)time(NULL);
	int fd;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': root_path = optarg; break;
		case 'v': version = optarg; break;
		case 'e': expires = optarg; break;
		case 'o': out = optarg; break;
		case 'k':
			if (nkeys == BERTH_TRUST_MAX_KEYS) {
				fprintf(stderr, "berth-sign: at most %d --key options\n", BERTH_TRUST_MAX_KEYS);
				return 2;
			}
			keys[nkeys++] = optarg;
			break;
		case 'h': fputs(help_text, stdout); return 0;
		case 0: break;
		default: return usage();
		}
	}
	if (optind != argc || !root_path || !version || !expires || !out) {
		fprintf(stderr, "berth-sign: delegate needs --root, --version, --expires and -o\n");
		return usage();
	}
	if (parse_version_arg(version, &v) < 0) {
		fprintf(stderr, "berth-sign: --version %s: not a number\n", version);
		return 2;
	}
	if (parse_expires_arg(expires, now, when, &err) < 0)
		return fail(&err);
	if (berth_seckey_load(root_path, &root, &err) < 0)
		return fail(&err);
	len = (size_t)snprintf(body, sizeof(body), "berth-delegation 1\nversion %" PRIu64 "\nexpires %s\n", v, when);
	for (int i = 0; i < nkeys; i++) {
		char path[4096], names[1200];
		const char *eq = strrchr(keys[i], '=');
		struct berth_pubkey k;
		char b64[64];
		int n;

		/* PUB.pub=NAMES; the names cannot hold '=', a path may. */
		snprintf(path, sizeof(path), "%.*s", eq ? (int)(eq - keys[i]) : (int)strlen(keys[i]), keys[i]);
		snprintf(names, sizeof(names), "%s", eq ? eq + 1 : "*");
		if (berth_pubkey_load(path, &k, &err) < 0)
			return fail(&err);
		for (char *p = names, *next; p; p = next) {
			next = strchr(p, ',');
			if (next)
				*next = '\0';
			if (!berth_trust_pattern_valid(p)) {
				fprintf(stderr,
					"berth-sign: --key %s: bad name pattern \"%s\" (want a name, \"acme/\" then "
					"\"*\", or \"*\")\n",
					keys[i], p);
				return 2;
			}
			if (next)
				*next++ = ',';
		}
		sodium_bin2base64(b64, sizeof(b64), k.pk, 32, sodium_base64_VARIANT_ORIGINAL);
		n = snprintf(body + len, sizeof(body) - len, "key %s %s %s\n", k.id, b64, names);
		if (n < 0 || (size_t)n >= sizeof(body) - len)
			return berth_err_set(&err, 0, "delegation: larger than %d bytes", BERTH_TRUST_DOC_MAX),
			       fail(&err);
		len += (size_t)n;
	}
	if (berth_trust_sign(body, len, &root, doc, sizeof(doc), &doclen, &err) < 0)
		return fail(&err);
	/* Check the result as an appliance would. */
	memcpy(rootpub.id, root.id, sizeof(rootpub.id));
	memcpy(rootpub.pk, root.sk + 32, 32);
	if (berth_delegation_verify(doc, doclen, &rootpub, &d, &err) < 0)
		return berth_err_prefix(&err, "the new delegation does not verify"), fail(&err);
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return berth_err_sys(&err, "create %s", tmp), fail(&err);
	if (write_all(fd, doc, doclen) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		berth_err_sys(&err, "write %s", tmp);
		unlink(tmp);
		return fail(&err);
	}
	if (rename(tmp, out) < 0) {
		berth_err_sys(&err, "rename %s", tmp);
		unlink(tmp);
		return fail(&err);
	}
	fprintf(stderr, "berth-sign: wrote %s: delegation version %" PRIu64 " by root key %s, %d key%s, expires %s\n",
		out, v, root.id, d.nkeys, d.nkeys == 1 ? "" : "s", when);
	return 0;
}

/* ---- The archive ---- */

/* Refuse a compressed archive before the reader (which would inflate gzip). */
static int check_plain(int fd, const char *path, struct berth_err *err)
{
	static const struct { size_t len; const char *magic; } magics[] = {
		{ 2, "\x1f\x8b" },         /* gzip */
		{ 4, "\x28\xb5\x2f\xfd" }, /* zstd */
		{ 6, "\xfd" "7zXZ\0" },    /* xz */
		{ 3, "BZh" },              /* bzip2 */
		{ 2, "\x1f\x9d" },         /* compress */
	};
	unsigned char b[8] = { 0 };
	ssize_t n = pread(fd, b, sizeof(b), 0);

	if (n < 0)
		return berth_err_sys(err, "read %s", path);
	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if ((size_t)n >= magics[i].len && memcmp(b, magics[i].magic, magics[i].len) == 0)
			return berth_err_set(err, 0, "%s is compressed; sign the plain .tar", path);
	return 0;
}

/* A member one pass looks for. */
struct want {
	char path[BERTH_TAR_PATH_MAX];
	size_t keep;          /* keep up to this many bytes of it (0: only hash it) */
	int found;
	char *data;           /* malloc'd when kept, NUL-terminated */
	uint64_t size;
	char digest[BERTH_DIGEST_LEN + 1];
};

/* Where things are, for appending. */
struct layout {
	uint64_t end;        /* where the end-of-archive blocks start */
	uint64_t sig_start;  /* where the last member starts, when it is berth.sig */
	int sigs, last_is_sig;
	int has_index, has_manifest;
};

static void want_free(struct want *w, int n)
{
	for (int i = 0; i < n; i++) {
		free(w[i].data);
		w[i].data = NULL;
	}
}

static int read_want(struct berth_tar *t, struct want *w, const struct berth_tar_entry *e, struct berth_err *err)
{
	crypto_hash_sha256_state st;
	unsigned char buf[65536], h[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1];
	uint64_t got = 0;
	ssize_t n;

	if (w->found)
		return berth_err_set(err, 0, "%s appears twice in the archive", w->path);
	if (e->type != BERTH_TAR_FILE)
		return berth_err_set(err, 0, "%s: not a regular file in the archive", w->path);
	if (w->keep && e->size > w->keep)
		return berth_err_set(err, 0, "%s: larger than %zu bytes", w->path, w->keep);
	if (w->keep) {
		w->data = malloc((size_t)e->size + 1);
		if (!w->data)
			return berth_err_set(err, ENOMEM, "%s", w->path);
	}
	crypto_hash_sha256_init(&st);
	while ((n = berth_tar_read(t, buf, sizeof(buf), err)) > 0) {
		crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
		if (w->data)
			memcpy(w->data + got, buf, (size_t)n);
		got += (uint64_t)n;
	}
	if (n < 0)
		return -1;
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(w->digest, sizeof(w->digest), "sha256:%s", hex);
	if (w->data)
		w->data[got] = '\0';
	w->size = got;
	w->found = 1;
	return 0;
}

/* One pass over the archive at FD: the members W asks for, and the layout. */
static int scan(int fd, const char *path, struct want *w, int nw, struct layout *lay, struct berth_err *err)
{
	struct berth_archive_limits lim;
	struct berth_tar *t;
	struct berth_tar_entry *e = malloc(sizeof(*e));
	uint64_t prev_end = 0;
	int r;

	if (!e)
		return berth_err_set(err, ENOMEM, "out of memory");
	memset(lay, 0, sizeof(*lay));
	if (lseek(fd, 0, SEEK_SET) < 0) {
		free(e);
		return berth_err_sys(err, "seek %s", path);
	}
	/* Whatever size the publisher's archive has: the limits that matter are
	 * on the appliance. */
	berth_archive_limits_default(&lim);
	lim.max_total = lim.max_file = UINT64_MAX / 2;
	t = berth_tar_open(fd, &lim, err);
	if (!t) {
		free(e);
		return berth_err_prefix(err, "%s", path);
	}
	while ((r = berth_tar_next(t, e, err)) > 0) {
		uint64_t start = prev_end;

		/* After the header(s): the data, then padding to 512 bytes. */
		prev_end = berth_tar_offset(t) + (e->size + 511) / 512 * 512;
		lay->last_is_sig = strcmp(e->path, BERTH_SIG_MEMBER) == 0;
		if (lay->last_is_sig) {
			lay->sigs++;
			lay->sig_start = start;
		}
		lay->has_index |= strcmp(e->path, "index.json") == 0;
		lay->has_manifest |= strcmp(e->path, "manifest.json") == 0;
		for (int i = 0; i < nw; i++)
			if (strcmp(e->path, w[i].path) == 0 && read_want(t, &w[i], e, err) < 0) {
				r = -1;
				break;
			}
		if (r < 0)
			break;
	}
	lay->end = prev_end;
	berth_tar_close(t);
	free(e);
	if (r < 0)
		return berth_err_prefix(err, "%s", path);
	if (lay->sigs > 1 || (lay->sigs == 1 && !lay->last_is_sig))
		return berth_err_set(err, 0, "%s: a %s member that is not the last one; rebuild the archive", path,
				     BERTH_SIG_MEMBER);
	return 0;
}

static int is_linux_amd64(const struct berth_descriptor *d)
{
	return (!d->os[0] || strcmp(d->os, "linux") == 0) && (!d->arch[0] || strcmp(d->arch, "amd64") == 0);
}

static int is_manifest(const struct berth_descriptor *d)
{
	return d->media == BERTH_MEDIA_OCI_MANIFEST || d->media == BERTH_MEDIA_DOCKER_MANIFEST;
}

/* The blob D names, read and checked against D's digest and size. */
static int read_blob(int fd, const char *path, const struct berth_descriptor *d, struct want *w,
		     struct berth_err *err)
{
	struct layout lay;

	memset(w, 0, sizeof(*w));
	snprintf(w->path, sizeof(w->path), "blobs/sha256/%s", d->digest + 7);
	w->keep = META_MAX;
	if (scan(fd, path, w, 1, &lay, err) < 0)
		return -1;
	if (!w->found)
		return berth_err_set(err, 0, "%s: no %s in the archive", path, w->path);
	if (strcmp(w->digest, d->digest) != 0)
		return berth_err_set(err, 0, "%s: %s: content does not match its digest (it is %s)", path, w->path,
				     w->digest);
	if (d->size != (int64_t)w->size)
		return berth_err_set(err, 0, "%s: %s: %" PRIu64 " bytes, the index says %" PRId64, path, w->path,
				     w->size, d->size);
	return 0;
}

/* The OCI layout's image manifest digest (see the header comment). */
static int oci_digest(int fd, const char *path, const char *index, size_t len, const char *ref,
		      char digest[BERTH_DIGEST_LEN + 1], struct berth_err *err)
{
	struct berth_descriptor *ds = calloc(2 * MAX_DESC, sizeof(*ds)), *nested = ds + MAX_DESC, pick;
	struct want w;
	int n, chosen = -1, amd64 = 0;

	if (!ds)
		return berth_err_set(err, ENOMEM, "out of memory");
	n = berth_oci_index_parse(index, len, ds, MAX_DESC, err);
	if (n < 0) {
		free(ds);
		return berth_err_prefix(err, "%s: index.json", path);
	}
	for (int i = 0; i < n; i++) {
		if (ref && strcmp(ds[i].ref_name, ref) == 0) {
			chosen = i;
			break;
		}
		if (!ref && is_linux_amd64(&ds[i])) {
			amd64++;
			chosen = i;
		}
	}
	if (n == 0 || (ref && chosen < 0)) {
		free(ds);
		return ref ? berth_err_set(err, 0, "%s: index.json lists no manifest named %s", path, ref)
			   : berth_err_set(err, 0, "%s: index.json lists no manifest", path);
	}
	/* Without --ref: the only entry, or the only linux/amd64 one (which is
	 * what the importer takes). */
	if (!ref && n > 1 && amd64 != 1) {
		free(ds);
		return berth_err_set(err, 0, "%s: index lists %d manifests; choose one with --ref", path, n);
	}
	if (!ref && n == 1)
		chosen = 0;
	pick = ds[chosen];
	if (pick.media == BERTH_MEDIA_OCI_INDEX || pick.media == BERTH_MEDIA_DOCKER_LIST) {
		int nn;

		if (read_blob(fd, path, &pick, &w, err) < 0) {
			free(w.data);
			free(ds);
			return -1;
		}
		nn = berth_oci_index_parse(w.data, w.size, nested, MAX_DESC, err);
		free(w.data);
		if (nn < 0) {
			free(ds);
			return berth_err_prefix(err, "%s: image index %s", path, pick.digest);
		}
		chosen = -1;
		for (int i = 0; i < nn && chosen < 0; i++)
			if (is_linux_amd64(&nested[i]) && is_manifest(&nested[i]) && (nested[i].os[0] || nn == 1))
				chosen = i;
		if (chosen < 0) {
			free(ds);
			return berth_err_set(err, 0, "%s: image index %s has no linux/amd64 manifest", path,
					     pick.digest);
		}
		pick = nested[chosen];
	}
	free(ds);
	if (!is_manifest(&pick))
		return berth_err_set(err, 0, "%s: index.json: unsupported media type %s", path, pick.media_name);
	if (read_blob(fd, path, &pick, &w, err) < 0) {
		free(w.data);
		return -1;
	}
	free(w.data);
	memcpy(digest, pick.digest, BERTH_DIGEST_LEN + 1);
	return 0;
}

/* The image digest of the archive at FD; with SIG, also the berth.sig
 * member's text (*SIG malloc'd, or NULL when there is none). */
static int image_digest(int fd, const char *path, const char *ref, char digest[BERTH_DIGEST_LEN + 1],
			struct layout *lay, char **sig, size_t *siglen, struct berth_err *err)
{
	struct want w[3];
	int r = -1;

	memset(w, 0, sizeof(w));
	snprintf(w[0].path, sizeof(w[0].path), "index.json");
	snprintf(w[1].path, sizeof(w[1].path), "manifest.json");
	snprintf(w[2].path, sizeof(w[2].path), "%s", BERTH_SIG_MEMBER);
	w[0].keep = w[1].keep = META_MAX;
	w[2].keep = BERTH_TRUST_DOC_MAX;
	if (check_plain(fd, path, err) < 0 || scan(fd, path, w, 3, lay, err) < 0)
		goto out;
	if (w[0].found) {
		r = oci_digest(fd, path, w[0].data, w[0].size, ref, digest, err);
	} else if (w[1].found) {
		struct berth_docker_image *im = calloc(1, sizeof(*im));
		struct want cfg;
		struct layout l2;

		if (!im) {
			berth_err_set(err, ENOMEM, "out of memory");
			goto out;
		}
		if (ref)
			fprintf(stderr, "berth-sign: --ref is for OCI layouts; %s is a docker-save archive\n", path);
		memset(&cfg, 0, sizeof(cfg));
		r = berth_docker_manifest_parse(w[1].data, w[1].size, im, 1, err);
		if (r < 1) {
			if (r < 0)
				berth_err_prefix(err, "%s: manifest.json", path);
			else
				berth_err_set(err, 0, "%s: manifest.json lists no image", path);
			free(im);
			r = -1;
			goto out;
		}
		r = berth_tar_path_normalise(im->config, cfg.path, err);
		free(im);
		if (r < 0) {
			berth_err_prefix(err, "%s: manifest.json: Config", path);
			goto out;
		}
		r = scan(fd, path, &cfg, 1, &l2, err);
		if (r == 0 && !cfg.found)
			r = berth_err_set(err, 0, "%s: no %s (manifest.json's Config) in the archive", path, cfg.path);
		if (r == 0)
			memcpy(digest, cfg.digest, BERTH_DIGEST_LEN + 1);
	} else {
		berth_err_set(err, 0, "%s: neither index.json (OCI layout) nor manifest.json (docker save) in it",
			      path);
	}
	if (r == 0 && sig) {
		*sig = w[2].data;
		*siglen = w[2].found ? w[2].size : 0;
		w[2].data = NULL;
	}
out:
	want_free(w, 3);
	return r;
}

/* A ustar header for the berth.sig member of SIZE bytes. */
static void sig_header(unsigned char h[512], size_t size)
{
	unsigned sum = 0;

	memset(h, 0, 512);
	memcpy(h, BERTH_SIG_MEMBER, strlen(BERTH_SIG_MEMBER));
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
	snprintf((char *)h + 136, 12, "%011llo", (unsigned long long)time(NULL));
	memset(h + 148, ' ', 8);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6); /* with its NUL */
	memcpy(h + 263, "00", 2);
	memcpy(h + 265, "root", 4);
	memcpy(h + 297, "root", 4);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 7, "%06o", sum);
	h[155] = ' ';
}

/* Write BUNDLE as the archive's last member (over an old berth.sig), then the
 * end-of-archive blocks, and cut the file there. */
static int append_sig(int fd, const char *path, const struct layout *lay, const char *bundle, size_t len,
		      struct berth_err *err)
{
	size_t pad = (512 - len % 512) % 512, total = 512 + len + pad + 1024;
	uint64_t at = lay->last_is_sig ? lay->sig_start : lay->end;
	cleanup_free unsigned char *tail = calloc(1, total);
	struct berth_tar_entry e;
	size_t off = 0;

	if (!tail)
		return berth_err_set(err, ENOMEM, "out of memory");
	sig_header(tail, len);
	if (berth_tar_header_parse(tail, &e, err) != 1 || strcmp(e.path, BERTH_SIG_MEMBER) != 0 || e.size != len)
		return berth_err_prefix(err, "internal error: the berth.sig header does not parse");
	memcpy(tail + 512, bundle, len);
	while (off < total) {
		ssize_t n = pwrite(fd, tail + off, total - off, (off_t)(at + off));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berth_err_sys(err, "write %s", path);
		off += (size_t)n;
	}
	if (ftruncate(fd, (off_t)(at + total)) < 0 || fsync(fd) < 0)
		return berth_err_sys(err, "write %s", path);
	return 0;
}

static int cmd_digest(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ref", required_argument, NULL, 'R' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *ref = NULL;
	char digest[BERTH_DIGEST_LEN + 1];
	struct berth_err err = { 0 };
	struct layout lay;
	cleanup_close int fd = -1;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'R': ref = optarg; break;
		case 'h': fputs(help_text, stdout); return 0;
		default: return usage();
		}
	}
	if (optind != argc - 1)
		return usage();
	fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berth_err_sys(&err, "open %s", argv[optind]), fail(&err);
	if (image_digest(fd, argv[optind], ref, digest, &lay, NULL, NULL, &err) < 0)
		return fail(&err);
	printf("%s\n", digest);
	return 0;
}

static int cmd_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },     { "delegation", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },    { "tag", required_argument, NULL, 't' },
		{ "version", required_argument, NULL, 'v' }, { "expires", required_argument, NULL, 'e' },
		{ "ref", required_argument, NULL, 'R' },     { "digest-only", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },          { "expired-ok", no_argument, &expired_ok, 1 },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL, *dpath = NULL, *name = NULL, *tag = NULL, *version = NULL, *expires = NULL,
		   *ref = NULL, *archive;
	int digest_only = 0, c;
	cleanup_seckey struct berth_seckey sk = { 0 };
	static char dtext[BERTH_TRUST_DOC_MAX + 2], body[BERTH_TRUST_DOC_MAX + 1], sigdoc[BERTH_TRUST_DOC_MAX + 1],
		bundle[2 * BERTH_TRUST_DOC_MAX + 2];
	static struct berth_delegation d;
	struct berth_imgsig s;
	struct berth_err err = { 0 };
	char digest[BERTH_DIGEST_LEN + 1], when[21], dwhen[21];
	size_t dlen = 0, blen, slen = 0;
	struct layout lay;
	cleanup_close int fd = -1;
	cleanup_free char *oldsig = NULL;
	size_t oldlen = 0;
	uint64_t v = 0;
	int64_t now = (int64_t)time(NULL);

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'd': dpath = optarg; break;
		case 'n': name = optarg; break;
		case 't': tag = optarg; break;
		case 'v': version = optarg; break;
		case 'e': expires = optarg; break;
		case 'R': ref = optarg; break;
		case 'D': digest_only = 1; break;
		case 'h': fputs(help_text, stdout); return 0;
		case 0: break;
		default: return usage();
		}
	}
	if (optind != argc - 1)
		return usage();
	archive = argv[optind];
	if (!digest_only) {
		if (!key || !dpath || !name || !tag || !version || !expires) {
			fprintf(stderr, "berth-sign: sign needs --key, --delegation, --name, --tag, --version and "
					"--expires\n");
			return usage();
		}
		if (!berth_trust_name_valid(name)) {
			fprintf(stderr, "berth-sign: --name %s: want [a-z0-9] then [a-z0-9._/-], at most 128\n", name);
			return 2;
		}
		if (parse_version_arg(version, &v) < 0) {
			fprintf(stderr, "berth-sign: --version %s: not a number\n", version);
			return 2;
		}
		if (parse_expires_arg(expires, now, when, &err) < 0)
			return fail(&err);
		/* Inputs first: a mistake here should not cost a pass over the archive. */
		if (berth_seckey_load(key, &sk, &err) < 0 ||
		    berth_trust_read_file(dpath, dtext, sizeof(dtext), &dlen, 0, &err) < 0)
			return fail(&err);
		if (berth_delegation_parse(dtext, dlen, &d, &err) < 0)
			return berth_err_prefix(&err, "%s", dpath), fail(&err);
		if (d.expires <= now && !expired_ok) {
			berth_trust_time_format(d.expires, dwhen);
			return berth_err_set(&err, 0, "%s: delegation metadata expired on %s; ask for a new one", dpath,
					     dwhen),
			       fail(&err);
		}
	}
	fd = open(archive, (digest_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return berth_err_sys(&err, "open %s", archive), fail(&err);
	if (image_digest(fd, archive, ref, digest, &lay, &oldsig, &oldlen, &err) < 0)
		return fail(&err);
	if (digest_only) {
		printf("%s\n", digest);
		return 0;
	}
	blen = (size_t)snprintf(body, sizeof(body), "berth-signature 1\nname %s\ntag %s\nversion %" PRIu64
						 "\nexpires %s\ndigest %s\n",
				name, tag, v, when, digest);
	if (blen >= sizeof(body) || berth_trust_sign(body, blen, &sk, sigdoc, sizeof(sigdoc), &slen, &err) < 0)
		return fail(&err);
	/* What the appliance will check, short of the root's signature (which
	 * verify checks with the root's public key). */
	if (berth_imgsig_verify(sigdoc, slen, &d, &s, &err) < 0)
		return fail(&err);
	if (dlen + slen > BERTH_TRUST_DOC_MAX)
		return berth_err_set(&err, 0, "bundle: larger than %d bytes", BERTH_TRUST_DOC_MAX), fail(&err);
	memcpy(bundle, dtext, dlen);
	memcpy(bundle + dlen, sigdoc, slen);
	if (append_sig(fd, archive, &lay, bundle, dlen + slen, &err) < 0)
		return fail(&err);
	fprintf(stderr, "berth-sign: %s: %s %s:%s version %" PRIu64 " (%s), key %s, expires %s\n", archive,
		lay.last_is_sig ? "re-signed" : "signed", name, tag, v, digest, sk.id, when);
	return 0;
}

static int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' }, { "ref", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },       { NULL, 0, NULL, 0 },
	};
	const char *root_path = NULL, *ref = NULL, *archive;
	struct berth_pubkey root;
	struct berth_imgsig s;
	struct berth_err err = { 0 };
	char digest[BERTH_DIGEST_LEN + 1], when[21];
	struct layout lay;
	cleanup_close int fd = -1;
	cleanup_free char *sig = NULL;
	size_t siglen = 0;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': root_path = optarg; break;
		case 'R': ref = optarg; break;
		case 'h': fputs(help_text, stdout); return 0;
		default: return usage();
		}
	}
	if (optind != argc - 1 || !root_path)
		return usage();
	archive = argv[optind];
	if (berth_pubkey_load(root_path, &root, &err) < 0)
		return fail(&err);
	fd = open(archive, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berth_err_sys(&err, "open %s", archive), fail(&err);
	if (image_digest(fd, archive, ref, digest, &lay, &sig, &siglen, &err) < 0)
		return fail(&err);
	if (!sig)
		return berth_err_set(&err, 0, "%s: not signed (no %s member)", archive, BERTH_SIG_MEMBER), fail(&err);
	if (berth_trust_check(-1, &root, sig, siglen, digest, (int64_t)time(NULL), 0, &s, &err) < 0)
		return berth_err_prefix(&err, "%s", archive), fail(&err);
	berth_trust_time_format(s.expires, when);
	printf("%s: good signature\nname %s\ntag %s\nversion %" PRIu64 "\nexpires %s\nkey %s\ndigest %s\n", archive,
	       s.name, s.tag, s.version, when, s.keyid, s.digest);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "keygen", cmd_keygen }, { "delegate", cmd_delegate }, { "sign", cmd_sign },
		{ "digest", cmd_digest }, { "verify", cmd_verify },
	};

	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		fputs(help_text, stdout);
		return 0;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "berth-sign: libsodium failed to initialise\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "berth-sign: unknown command \"%s\"\n", argv[1]);
	return usage();
}
