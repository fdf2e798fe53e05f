/* Unit tests of trust.c: key files, delegations, image signatures and the
 * stored state (rollback, revocation, key rotation). Keys are made here with
 * libsodium and documents signed here with libsodium directly, so what is
 * under test never checks its own output. */
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "t.h"
#include "trust.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define FUTURE "2027-06-01T00:00:00Z"
#define PAST "2026-01-01T00:00:00Z"
#define DOC 20000 /* room for documents, oversized ones included */

static int64_t now; /* 2026-06-01T00:00:00Z, set in main */

struct kp {
	unsigned char pk[32], sk[64];
	char id[BERTH_KEYID_LEN + 1];
	struct berth_pubkey pub; /* parsed from its file text by the code under test */
};

static struct kp root, other_root, ka, kb;

static void b64(const unsigned char *bin, size_t n, char *out, size_t cap)
{
	sodium_bin2base64(out, cap, bin, n, sodium_base64_VARIANT_ORIGINAL);
}

static void pub_text(const struct kp *k, char *out, size_t cap)
{
	char e[64];

	b64(k->pk, 32, e, sizeof(e));
	snprintf(out, cap, "berth-ed25519-public %s %s\n", k->id, e);
}

static void make_key(struct kp *k)
{
	unsigned char h[32];
	char text[128];
	struct berth_err err = { 0 };

	crypto_sign_ed25519_keypair(k->pk, k->sk);
	crypto_hash_sha256(h, k->pk, 32);
	sodium_bin2hex(k->id, sizeof(k->id), h, 8);
	pub_text(k, text, sizeof(text));
	if (berth_pubkey_parse(text, strlen(text), &k->pub, &err) < 0) {
		printf("FAIL setup: %s\n", err.msg);
		exit(1);
	}
}

/* Append "signature ID SIG\n" over OUT's current text, signed by K but
 * claiming key id CLAIM (normally K's own). */
static void sign_as(char *out, const struct kp *k, const char *claim)
{
	unsigned char sig[64];
	char e[128];
	size_t len = strlen(out);

	crypto_sign_ed25519_detached(sig, NULL, (const unsigned char *)out, len, k->sk);
	b64(sig, 64, e, sizeof(e));
	snprintf(out + len, DOC - len, "signature %s %s\n", claim, e);
}

static void key_line(char *out, const struct kp *k, const char *names)
{
	char e[64];
	size_t len = strlen(out);

	b64(k->pk, 32, e, sizeof(e));
	snprintf(out + len, DOC - len, "key %s %s %s\n", k->id, e, names);
}

/* A delegation by SIGNER: version, expiry, and up to two keys (NULL: fewer). */
static void deleg(char *out, const struct kp *signer, uint64_t version, const char *expires, const struct kp *k1,
		  const char *n1, const struct kp *k2, const char *n2)
{
	snprintf(out, DOC, "berth-delegation 1\nversion %" PRIu64 "\nexpires %s\n", version, expires);
	if (k1)
		key_line(out, k1, n1);
	if (k2)
		key_line(out, k2, n2);
	sign_as(out, signer, signer->id);
}

static void imgsig(char *out, const struct kp *k, const char *name, uint64_t version, const char *expires,
		   const char *digest)
{
	snprintf(out, DOC, "berth-signature 1\nname %s\ntag 1.0\nversion %" PRIu64 "\nexpires %s\ndigest %s\n", name,
		 version, expires, digest);
	sign_as(out, k, k->id);
}

/* Append S to the string in OUT (CAP bytes), truncating. */
static void append(char *out, size_t cap, const char *s)
{
	size_t n = strlen(out), m = strlen(s);

	if (n + m >= cap)
		m = cap - n - 1;
	memcpy(out + n, s, m);
	out[n + m] = '\0';
}

static void cat2(char *out, const char *a, const char *b)
{
	out[0] = '\0';
	append(out, 2 * DOC, a);
	append(out, 2 * DOC, b);
}

/* 1 when R is -1 and ERR's message contains WANT; says what it got otherwise. */
static int refused(int r, const struct berth_err *err, const char *want)
{
	if (r != -1) {
		printf("  accepted, want refusal \"%s\"\n", want);
		return 0;
	}
	if (!strstr(err->msg, want)) {
		printf("  message \"%s\", want \"%s\"\n", err->msg, want);
		return 0;
	}
	return 1;
}

static int ok(int r, const struct berth_err *err)
{
	if (r != 0)
		printf("  refused: %s\n", err->msg);
	return r == 0;
}

/* State directories: made fresh per test, removed at the end. */
static char dirs[32][64];
static int ndirs;

static int statedir(char path[64])
{
	snprintf(path, 64, "/tmp/test-trust-XXXXXX");
	if (!mkdtemp(path))
		return -1;
	if (ndirs < 32)
		snprintf(dirs[ndirs++], 64, "%s", path);
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)st, (void)type, (void)f;
	return remove(p);
}

/* A snapshot of a directory tree: every path, mode and content. */
static char snap_buf[65536];
static size_t snap_len;
static int snap_one(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)f;
	snap_len += (size_t)snprintf(snap_buf + snap_len, sizeof(snap_buf) - snap_len, "%s %o %d\n", p,
				     (unsigned)st->st_mode, type);
	if (type == FTW_F) {
		FILE *fp = fopen(p, "r");

		if (fp) {
			snap_len += fread(snap_buf + snap_len, 1, sizeof(snap_buf) - snap_len - 1, fp);
			fclose(fp);
		}
	}
	if (snap_len >= sizeof(snap_buf) - 1)
		snap_len = sizeof(snap_buf) - 1;
	snap_buf[snap_len] = '\0';
	return 0;
}
static char *snapshot(const char *path)
{
	snap_len = 0;
	snap_buf[0] = '\0';
	nftw(path, snap_one, 8, FTW_PHYS);
	return strdup(snap_buf);
}

/* The text of FILE under PATH, or "" (static buffer). */
static const char *file_text(const char *path, const char *file)
{
	static char buf[DOC];
	char p[256];
	FILE *fp;
	size_t n;

	snprintf(p, sizeof(p), "%s/%s", path, file);
	buf[0] = '\0';
	fp = fopen(p, "r");
	if (!fp)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static int check(int dfd, const char *bundle, const char *digest, int record, struct berth_imgsig *s,
		 struct berth_err *err)
{
	return berth_trust_check(dfd, &root.pub, bundle, strlen(bundle), digest, now, record, s, err);
}

static void time_parse(void)
{
	int64_t t = -1;
	char back[21];

	CHECK(berth_trust_time_parse("1970-01-01T00:00:00Z", &t) == 0 && t == 0);
	CHECK(berth_trust_time_parse("2027-06-01T00:00:00Z", &t) == 0 && t == INT64_C(1811808000));
	CHECK(berth_trust_time_parse("2024-02-29T23:59:59Z", &t) == 0 && t == INT64_C(1709251199));
	CHECK(berth_trust_time_parse("2000-02-29T12:00:00Z", &t) == 0 && t == INT64_C(951825600));
	CHECK(berth_trust_time_format(INT64_C(1709251199), back) == 0);
	CHECK_STR(back, "2024-02-29T23:59:59Z");
	t = 42;
	CHECK(berth_trust_time_parse("2026-02-29T00:00:00Z", &t) == -1 && t == 42);
	CHECK(berth_trust_time_parse("1900-02-29T00:00:00Z", &t) == -1);
	CHECK(berth_trust_time_parse("2026-13-01T00:00:00Z", &t) == -1);
	CHECK(berth_trust_time_parse("2026-00-01T00:00:00Z", &t) == -1);
	CHECK(berth_trust_time_parse("2026-04-31T00:00:00Z", &t) == -1);
	CHECK(berth_trust_time_parse("2026-01-01T24:00:00Z", &t) == -1);
	CHECK(berth_trust_time_parse("2026-01-01T00:00:60Z", &t) == -1);
	CHECK(berth_trust_time_parse("2026-01-01T00:00:00", &t) == -1);
	CHECK(berth_trust_time_parse("2026-01-01T00:00:00+00:00", &t) == -1);
	CHECK(berth_trust_time_parse("2026-01-01 00:00:00Z", &t) == -1);
	CHECK(berth_trust_time_parse("2026-1-01T00:00:00Z", &t) == -1);
	CHECK(berth_trust_time_parse("1969-12-31T23:59:59Z", &t) == -1);
	CHECK(berth_trust_time_parse("", &t) == -1 && t == 42);
}

static void names(void)
{
	CHECK(berth_trust_name_valid("web") && berth_trust_name_valid("acme/web-1.2_x"));
	CHECK(!berth_trust_name_valid("") && !berth_trust_name_valid("Web") && !berth_trust_name_valid("/web") &&
	      !berth_trust_name_valid(".web") && !berth_trust_name_valid("web app") &&
	      !berth_trust_name_valid("web%2F"));
	CHECK(berth_trust_pattern_valid("*") && berth_trust_pattern_valid("acme/*") &&
	      berth_trust_pattern_valid("web"));
	CHECK(!berth_trust_pattern_valid("acme*") && !berth_trust_pattern_valid("acme//*") &&
	      !berth_trust_pattern_valid("*/web") && !berth_trust_pattern_valid("/*") &&
	      !berth_trust_pattern_valid(""));
}

static void pubkey_files(void)
{
	char text[256], bad[256], e[64];
	struct berth_pubkey k;
	struct berth_err err = { 0 };
	size_t n;

	pub_text(&ka, text, sizeof(text));
	CHECK(ok(berth_pubkey_parse(text, strlen(text), &k, &err), &err));
	CHECK_STR(k.id, ka.id);
	CHECK(memcmp(k.pk, ka.pk, 32) == 0);
	/* No final newline, a trailing space, a second line. */
	CHECK(refused(berth_pubkey_parse(text, strlen(text) - 1, &k, &err), &err, "newline"));
	n = strlen(text);
	memcpy(bad, text, n - 1);
	memcpy(bad + n - 1, " \n", 3);
	CHECK(refused(berth_pubkey_parse(bad, strlen(bad), &k, &err), &err, "public key"));
	bad[0] = '\0';
	append(bad, sizeof(bad), text);
	append(bad, sizeof(bad), text);
	CHECK(refused(berth_pubkey_parse(bad, strlen(bad), &k, &err), &err, "single line"));
	/* Another key's id. */
	b64(ka.pk, 32, e, sizeof(e));
	snprintf(bad, sizeof(bad), "berth-ed25519-public %s %s\n", kb.id, e);
	CHECK(refused(berth_pubkey_parse(bad, strlen(bad), &k, &err), &err, "does not match"));
	/* Non-canonical base64: the last digit before '=' carries unused bits. */
	snprintf(bad, sizeof(bad), "%s", text);
	{
		static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		char *eq = strchr(bad, '=');

		CHECK(eq && strchr(alphabet, eq[-1]));
		eq[-1] = alphabet[(strchr(alphabet, eq[-1]) - alphabet) ^ 1];
	}
	CHECK(refused(berth_pubkey_parse(bad, strlen(bad), &k, &err), &err, "encoding"));
	/* A secret key file is not a public key file. */
	snprintf(bad, sizeof(bad), "berth-ed25519-secret %s %s\n", ka.id, e);
	CHECK(refused(berth_pubkey_parse(bad, strlen(bad), &k, &err), &err, "berth-ed25519-public"));
}

static void seckey_and_sign(void)
{
	char text[256], e[128], body[DOC], mine[DOC], out[DOC];
	struct berth_seckey sk;
	struct berth_err err = { 0 };
	unsigned char mixed[64];
	size_t outlen = 0;

	b64(ka.sk, 64, e, sizeof(e));
	snprintf(text, sizeof(text), "berth-ed25519-secret %s %s\n", ka.id, e);
	CHECK(ok(berth_seckey_parse(text, strlen(text), &sk, &err), &err));
	CHECK_STR(sk.id, ka.id);
	/* Ed25519 is deterministic: the same signature as libsodium's own. */
	snprintf(body, sizeof(body), "berth-signature 1\nname web\n");
	snprintf(mine, sizeof(mine), "%s", body);
	sign_as(mine, &ka, ka.id);
	CHECK(ok(berth_trust_sign(body, strlen(body), &sk, out, sizeof(out), &outlen, &err), &err));
	CHECK(outlen == strlen(mine) && memcmp(out, mine, outlen) == 0);
	sodium_memzero(&sk, sizeof(sk));
	/* A seed with another key's public half. */
	memcpy(mixed, ka.sk, 32);
	memcpy(mixed + 32, kb.pk, 32);
	b64(mixed, 64, e, sizeof(e));
	snprintf(text, sizeof(text), "berth-ed25519-secret %s %s\n", kb.id, e);
	CHECK(refused(berth_seckey_parse(text, strlen(text), &sk, &err), &err, "does not belong"));
	sodium_memzero(mixed, sizeof(mixed));
}

static void good_path(void)
{
	char path[64], d[DOC], s[DOC], b[2 * DOC];
	int dfd = statedir(path);
	struct berth_imgsig out;
	struct berth_delegation dl;
	struct berth_err err = { 0 };
	struct stat st;

	CHECK(dfd >= 0);
	deleg(d, &root, 1, FUTURE, &ka, "web,acme/*", &kb, "*");
	CHECK(ok(berth_delegation_verify(d, strlen(d), &root.pub, &dl, &err), &err));
	CHECK(dl.version == 1 && dl.nkeys == 2 && dl.keys[0].nnames == 2 && dl.keys[1].nnames == 1);
	CHECK_STR(dl.keys[0].key.id, ka.id);
	CHECK_STR(dl.keys[0].names[1], "acme/*");
	CHECK_STR(dl.signer, root.id);
	imgsig(s, &ka, "web", 3, FUTURE, D1);
	cat2(b, d, s);
	CHECK(ok(check(dfd, b, D1, 1, &out, &err), &err));
	CHECK_STR(out.name, "web");
	CHECK_STR(out.tag, "1.0");
	CHECK_STR(out.digest, D1);
	CHECK_STR(out.keyid, ka.id);
	CHECK(out.version == 3);
	CHECK(out.expires == INT64_C(1811808000));
	CHECK_STR(file_text(path, "delegation"), d);
	CHECK_STR(file_text(path, "versions/web"), "3 " D1 "\n");
	CHECK(stat(path, &st) == 0);
	{
		char vp[128];

		snprintf(vp, sizeof(vp), "%s/versions", path);
		CHECK(stat(vp, &st) == 0 && (st.st_mode & 07777) == 0700);
	}
	/* A name with '/' is one file, escaped. */
	imgsig(s, &ka, "acme/db", 1, FUTURE, D2);
	cat2(b, d, s);
	CHECK(ok(check(dfd, b, D2, 1, &out, &err), &err));
	CHECK_STR(file_text(path, "versions/acme%2Fdb"), "1 " D2 "\n");
	/* Again: the same version and digest is fine. */
	CHECK(ok(check(dfd, b, D2, 1, &out, &err), &err));
	/* With no state at all (berth-sign verify). */
	CHECK(ok(berth_trust_check(-1, &root.pub, b, strlen(b), D2, now, 0, &out, &err), &err));
	CHECK(refused(berth_trust_check(-1, &root.pub, b, strlen(b), D2, now, 1, &out, &err), &err,
		      "without a state directory"));
	close(dfd);
}

static void bad_root_signature(void)
{
	char d[DOC], s[DOC], b[2 * DOC], want[128];
	struct berth_delegation dl;
	struct berth_imgsig out;
	struct berth_err err = { 0 };

	/* Signed by another key that claims to be root. */
	snprintf(d, sizeof(d), "berth-delegation 1\nversion 1\nexpires %s\n", FUTURE);
	key_line(d, &ka, "*");
	sign_as(d, &other_root, root.id);
	snprintf(want, sizeof(want), "delegation: bad signature by root key %s", root.id);
	CHECK(refused(berth_delegation_verify(d, strlen(d), &root.pub, &dl, &err), &err, want));
	imgsig(s, &ka, "web", 1, FUTURE, D1);
	cat2(b, d, s);
	CHECK(refused(check(-1, b, D1, 0, &out, &err), &err, want));
	/* Signed by another key under its own name. */
	deleg(d, &other_root, 1, FUTURE, &ka, "*", NULL, NULL);
	snprintf(want, sizeof(want), "delegation signed by key %s, not the root key %s", other_root.id, root.id);
	CHECK(refused(berth_delegation_verify(d, strlen(d), &root.pub, &dl, &err), &err, want));
}

static void tampered_delegation(void)
{
	char d[DOC], t[DOC];
	struct berth_delegation dl;
	struct berth_err err = { 0 };
	char *p;

	deleg(d, &root, 1, FUTURE, &ka, "web", NULL, NULL);
	CHECK(ok(berth_delegation_verify(d, strlen(d), &root.pub, &dl, &err), &err));
	/* Every single byte before the signature line, flipped in its low bit. */
	p = strstr(d, "signature ");
	CHECK(p);
	for (size_t i = 0; i < (size_t)(p - d); i++) {
		memcpy(t, d, strlen(d) + 1);
		t[i] ^= 1;
		CHECK(berth_delegation_verify(t, strlen(t), &root.pub, &dl, &err) == -1);
	}
	/* The names widened: "web" to "*". */
	p = strstr(d, " web\n");
	CHECK(p);
	snprintf(t, sizeof(t), "%.*s *\n%s", (int)(p - d), d, p + 5);
	CHECK(refused(berth_delegation_verify(t, strlen(t), &root.pub, &dl, &err), &err, "bad signature by root key"));
	/* A byte of the signature itself. */
	memcpy(t, d, strlen(d) + 1);
	p = strrchr(t, ' ') + 5;
	*p = *p == 'A' ? 'B' : 'A';
	CHECK(refused(berth_delegation_verify(t, strlen(t), &root.pub, &dl, &err), &err, "bad signature by root key"));
}

static void tampered_imgsig(void)
{
	char d[DOC], s[DOC], b[2 * DOC], *p;
	struct berth_imgsig out;
	struct berth_err err = { 0 }, want = { 0 };

	deleg(d, &root, 1, FUTURE, &ka, "*", NULL, NULL);
	imgsig(s, &ka, "web", 4, FUTURE, D1);
	p = strstr(s, "version 4");
	CHECK(p);
	p[8] = '9';
	cat2(b, d, s);
	snprintf(want.msg, sizeof(want.msg), "image signature: bad signature by key %s", ka.id);
	CHECK(refused(check(-1, b, D1, 0, &out, &err), &err, want.msg));
	/* The digest swapped for another image's. */
	imgsig(s, &ka, "web", 4, FUTURE, D1);
	p = strstr(s, D1);
	memcpy(p, D2, strlen(D2));
	cat2(b, d, s);
	CHECK(refused(check(-1, b, D2, 0, &out, &err), &err, want.msg));
}

static void wrong_digest(void)
{
	char d[DOC], s[DOC], b[2 * DOC];
	struct berth_imgsig out;
	struct berth_err err = { 0 };

	deleg(d, &root, 1, FUTURE, &ka, "*", NULL, NULL);
	imgsig(s, &ka, "web", 1, FUTURE, D1);
	cat2(b, d, s);
	CHECK(refused(check(-1, b, D2, 0, &out, &err), &err, "signature is for " D1 ", not this image (" D2 ")"));
	CHECK(refused(check(-1, b, "sha256:abc", 0, &out, &err), &err, "bad image digest"));
}

static void signer_not_delegated(void)
{
	char d[DOC], s[DOC], b[2 * DOC], want[160];
	struct berth_imgsig out;
	struct berth_err err = { 0 };

	deleg(d, &root, 4, FUTURE, &ka, "*", NULL, NULL);
	imgsig(s, &kb, "web", 1, FUTURE, D1);
	cat2(b, d, s);
	snprintf(want, sizeof(want), "image signed by key %s, which root does not delegate to (delegation version 4)",
		 kb.id);
	CHECK(refused(check(-1, b, D1, 0, &out, &err), &err, want));
	/* Root's own key signs delegations, not images. */
	imgsig(s, &root, "web", 1, FUTURE, D1);
	cat2(b, d, s);
	CHECK(refused(check(-1, b, D1, 0, &out, &err), &err, "which root does not delegate to"));
}

static void name_not_allowed(void)
{
	char d[DOC], s[DOC], b[2 * DOC], want[160];
	struct berth_imgsig out;
	struct berth_err err = { 0 };
	static const char *const yes[] = { "web", "acme/db", "acme/x/y" };
	static const char *const no[] = { "db", "acme", "acmex/y", "webx" };

	deleg(d, &root, 1, FUTURE, &ka, "web,acme/*", NULL, NULL);
	imgsig(s, &ka, "db", 1, FUTURE, D1);
	cat2(b, d, s);
	snprintf(want, sizeof(want), "key %s may not sign image 'db' (allowed: web, acme/*)", ka.id);
	CHECK(refused(check(-1, b, D1, 0, &out, &err), &err, want));
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		imgsig(s, &ka, yes[i], 1, FUTURE, D1);
		cat2(b, d, s);
		CHECK(ok(check(-1, b, D1, 0, &out, &err), &err));
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		imgsig(s, &ka, no[i], 1, FUTURE, D1);
		cat2(b, d, s);
		CHECK(refused(check(-1, b, D1, 0, &out, &err), &err, "may not sign image"));
	}
}

static void expired(void)
{
	char d[DOC], s[DOC], b[2 * DOC], at_now[21];
	struct berth_imgsig out;
	struct berth_err err = { 0 };

	deleg(d, &root, 1, PAST, &ka, "*", NULL, NULL);
	imgsig(s, &ka, "web", 1, FUTURE, D1);
	cat2(b, d, s);
	CHECK(refused(check(-1, b, D1, 0, &out, &err), &err, "delegation metadata expired on " PAST));
	/* Expiry is the first second no longer valid. */
	CHECK(berth_trust_time_format(now, at_now) == 0);
	deleg(d, &root, 1, at_now, &ka, "*", NULL, NULL);
	cat2(b, d, s);
	CHECK(refused(check(-1, b, D1, 0, &out, &err), &err, "delegation metadata expired on"));
	deleg(d, &root, 1, FUTURE, &ka, "*", NULL, NULL);
	imgsig(s, &ka, "web", 1, PAST, D1);
	cat2(b, d, s);
	CHECK(refused(check(-1, b, D1, 0, &out, &err), &err, "signature expired on " PAST));
	imgsig(s, &ka, "web", 1, at_now, D1);
	cat2(b, d, s);
	CHECK(refused(check(-1, b, D1, 0, &out, &err), &err, "signature expired on"));
}

static void rollback(void)
{
	char path[64], d[DOC], s[DOC], b[2 * DOC];
	int dfd = statedir(path);
	struct berth_imgsig out;
	struct berth_err err = { 0 };

	CHECK(dfd >= 0);
	deleg(d, &root, 1, FUTURE, &ka, "*", NULL, NULL);
	imgsig(s, &ka, "web", 5, FUTURE, D1);
	cat2(b, d, s);
	CHECK(ok(check(dfd, b, D1, 1, &out, &err), &err));
	imgsig(s, &ka, "web", 3, FUTURE, D2);
	cat2(b, d, s);
	CHECK(refused(check(dfd, b, D2, 0, &out, &err), &err,
		      "version 3 of 'web' is older than the highest seen (5): rollback refused"));
	CHECK(refused(check(dfd, b, D2, 1, &out, &err), &err, "rollback refused"));
	imgsig(s, &ka, "web", 5, FUTURE, D2);
	cat2(b, d, s);
	CHECK(refused(check(dfd, b, D2, 1, &out, &err), &err, "version 5 of 'web' was already seen for another image"));
	imgsig(s, &ka, "web", 5, FUTURE, D1);
	cat2(b, d, s);
	CHECK(ok(check(dfd, b, D1, 0, &out, &err), &err));
	CHECK(ok(check(dfd, b, D1, 1, &out, &err), &err));
	CHECK_STR(file_text(path, "versions/web"), "5 " D1 "\n");
	/* Higher: accepted and recorded; another name is independent. */
	imgsig(s, &ka, "web", 6, FUTURE, D2);
	cat2(b, d, s);
	CHECK(ok(check(dfd, b, D2, 1, &out, &err), &err));
	CHECK_STR(file_text(path, "versions/web"), "6 " D2 "\n");
	imgsig(s, &ka, "db", 1, FUTURE, D1);
	cat2(b, d, s);
	CHECK(ok(check(dfd, b, D1, 1, &out, &err), &err));
	/* A start (RECORD = 0) of the old one is refused as well. */
	imgsig(s, &ka, "web", 5, FUTURE, D1);
	cat2(b, d, s);
	CHECK(refused(check(dfd, b, D1, 0, &out, &err), &err, "rollback refused"));
	close(dfd);
}

/* An old bundle whose delegation still lists a key that a newer, stored
 * delegation dropped: the stored one is in force, the key is revoked. */
static void revoked_key_replay(void)
{
	char path[64], d1[DOC], d2[DOC], s[DOC], b[2 * DOC], want[160];
	int dfd = statedir(path);
	struct berth_imgsig out;
	struct berth_err err = { 0 };

	CHECK(dfd >= 0);
	deleg(d1, &root, 1, FUTURE, &ka, "*", &kb, "*");
	deleg(d2, &root, 2, FUTURE, &kb, "*", NULL, NULL);
	/* Before the revocation, A's image is fine. */
	imgsig(s, &ka, "web", 1, FUTURE, D1);
	cat2(b, d1, s);
	CHECK(ok(check(dfd, b, D1, 1, &out, &err), &err));
	/* B imports something with the newer delegation: now stored. */
	imgsig(s, &kb, "db", 1, FUTURE, D2);
	cat2(b, d2, s);
	CHECK(ok(check(dfd, b, D2, 1, &out, &err), &err));
	CHECK_STR(file_text(path, "delegation"), d2);
	/* The old bundle by A, replayed (for a new version, so rollback is no
	 * reason to refuse): refused, and by the revocation. */
	imgsig(s, &ka, "web", 2, FUTURE, D2);
	cat2(b, d1, s);
	snprintf(want, sizeof(want), "image signed by key %s, which root does not delegate to (delegation version 2)",
		 ka.id);
	CHECK(refused(check(dfd, b, D2, 0, &out, &err), &err, want));
	CHECK(refused(check(dfd, b, D2, 1, &out, &err), &err, want));
	/* The very bundle imported before: also refused at start now. */
	imgsig(s, &ka, "web", 1, FUTURE, D1);
	cat2(b, d1, s);
	CHECK(refused(check(dfd, b, D1, 0, &out, &err), &err, want));
	/* The older delegation did not replace the stored one. */
	CHECK_STR(file_text(path, "delegation"), d2);
	/* An older delegation is no error by itself: B under d1 is judged by d2. */
	imgsig(s, &kb, "web", 3, FUTURE, D1);
	cat2(b, d1, s);
	CHECK(ok(check(dfd, b, D1, 1, &out, &err), &err));
	CHECK_STR(file_text(path, "delegation"), d2);
	close(dfd);
}

static void key_rotation(void)
{
	char path[64], d1[DOC], d2[DOC], d2b[DOC], s[DOC], b[2 * DOC];
	int dfd = statedir(path);
	struct berth_imgsig out;
	struct berth_delegation dl;
	struct berth_err err = { 0 };

	CHECK(dfd >= 0);
	deleg(d1, &root, 1, FUTURE, &ka, "*", NULL, NULL);
	deleg(d2, &root, 2, FUTURE, &kb, "*", NULL, NULL);
	imgsig(s, &ka, "web", 1, FUTURE, D1);
	cat2(b, d1, s);
	CHECK(ok(check(dfd, b, D1, 1, &out, &err), &err));
	/* berthctl trust update: B only. */
	CHECK(ok(berth_trust_update(dfd, &root.pub, d2, strlen(d2), now, &dl, &err), &err));
	CHECK(dl.version == 2 && dl.nkeys == 1);
	CHECK_STR(file_text(path, "delegation"), d2);
	/* The same document again: nothing to do, fine. */
	CHECK(ok(berth_trust_update(dfd, &root.pub, d2, strlen(d2), now, &dl, &err), &err));
	imgsig(s, &kb, "web", 2, FUTURE, D2);
	cat2(b, d2, s);
	CHECK(ok(check(dfd, b, D2, 1, &out, &err), &err));
	CHECK_STR(out.keyid, kb.id);
	imgsig(s, &ka, "web", 3, FUTURE, D1);
	cat2(b, d1, s);
	CHECK(refused(check(dfd, b, D1, 1, &out, &err), &err, "which root does not delegate to (delegation version 2)"));
	cat2(b, d2, s);
	CHECK(refused(check(dfd, b, D1, 1, &out, &err), &err, "which root does not delegate to (delegation version 2)"));
	/* Another version-2 document, in a bundle or an update: refused. */
	deleg(d2b, &root, 2, FUTURE, &ka, "*", &kb, "*");
	cat2(b, d2b, s);
	CHECK(refused(check(dfd, b, D1, 0, &out, &err), &err,
		      "delegation version 2 differs from the stored delegation of the same version"));
	CHECK(refused(berth_trust_update(dfd, &root.pub, d2b, strlen(d2b), now, &dl, &err), &err,
		      "differs from the stored delegation"));
	CHECK_STR(file_text(path, "delegation"), d2);
	close(dfd);
}

static void update_refusals(void)
{
	char path[64], d1[DOC], d3[DOC], dx[DOC];
	int dfd = statedir(path);
	struct berth_delegation dl;
	struct berth_err err = { 0 };
	char *before;

	CHECK(dfd >= 0);
	deleg(d3, &root, 3, FUTURE, &kb, "*", NULL, NULL);
	deleg(d1, &root, 1, FUTURE, &ka, "*", NULL, NULL);
	deleg(dx, &root, 4, PAST, &ka, "*", NULL, NULL);
	/* Expired: refused even with nothing stored. */
	CHECK(refused(berth_trust_update(dfd, &root.pub, dx, strlen(dx), now, &dl, &err), &err,
		      "delegation metadata expired on " PAST));
	CHECK_STR(file_text(path, "delegation"), "");
	CHECK(ok(berth_trust_update(dfd, &root.pub, d3, strlen(d3), now, &dl, &err), &err));
	before = snapshot(path);
	CHECK(refused(berth_trust_update(dfd, &root.pub, d1, strlen(d1), now, &dl, &err), &err,
		      "delegation version 1 is older than the stored one (3)"));
	CHECK(refused(berth_trust_update(dfd, &root.pub, dx, strlen(dx), now, &dl, &err), &err, "expired"));
	/* Signed by another root. */
	deleg(dx, &other_root, 9, FUTURE, &ka, "*", NULL, NULL);
	CHECK(refused(berth_trust_update(dfd, &root.pub, dx, strlen(dx), now, &dl, &err), &err, "not the root key"));
	{
		char *after = snapshot(path);
		int same = strcmp(before, after) == 0;

		free(after);
		free(before);
		CHECK(same);
	}
	close(dfd);
}

/* RECORD = 0 (a start) writes nothing, even when it would have recorded. */
static void record_zero_writes_nothing(void)
{
	char path[64], d1[DOC], d2[DOC], s[DOC], b[2 * DOC], *before, *after;
	int dfd = statedir(path), same;
	struct berth_imgsig out;
	struct berth_err err = { 0 };

	CHECK(dfd >= 0);
	deleg(d1, &root, 1, FUTURE, &ka, "*", NULL, NULL);
	deleg(d2, &root, 2, FUTURE, &ka, "*", NULL, NULL);
	/* Empty state: not even "versions" appears. */
	before = snapshot(path);
	imgsig(s, &ka, "web", 1, FUTURE, D1);
	cat2(b, d1, s);
	CHECK(ok(check(dfd, b, D1, 0, &out, &err), &err));
	after = snapshot(path);
	same = strcmp(before, after) == 0;
	free(before);
	free(after);
	CHECK(same);
	CHECK(ok(check(dfd, b, D1, 1, &out, &err), &err));
	/* A newer delegation and a higher version, not recorded. */
	before = snapshot(path);
	imgsig(s, &ka, "web", 7, FUTURE, D2);
	cat2(b, d2, s);
	CHECK(ok(check(dfd, b, D2, 0, &out, &err), &err));
	imgsig(s, &ka, "other", 1, FUTURE, D2);
	cat2(b, d2, s);
	CHECK(ok(check(dfd, b, D2, 0, &out, &err), &err));
	after = snapshot(path);
	same = strcmp(before, after) == 0;
	free(before);
	free(after);
	CHECK(same);
	CHECK_STR(file_text(path, "delegation"), d1);
	CHECK_STR(file_text(path, "versions/web"), "1 " D1 "\n");
	close(dfd);
}

/* BODY (lines after the header) under HEADER, signed by K. */
static void doc_of(char *out, const char *header, const char *body, const struct kp *k)
{
	snprintf(out, DOC, "%s\n%s", header, body);
	sign_as(out, k, k->id);
}

static int deleg_refused(const char *body, const char *want)
{
	char d[DOC];
	struct berth_delegation dl;
	struct berth_err err = { 0 };

	doc_of(d, "berth-delegation 1", body, &root);
	return refused(berth_delegation_verify(d, strlen(d), &root.pub, &dl, &err), &err, want);
}

static int imgsig_refused(const char *body, const char *want)
{
	char d[DOC], s[DOC], b[2 * DOC];
	struct berth_imgsig out;
	struct berth_err err = { 0 };

	deleg(d, &root, 1, FUTURE, &ka, "*", NULL, NULL);
	doc_of(s, "berth-signature 1", body, &ka);
	cat2(b, d, s);
	return refused(check(-1, b, D1, 0, &out, &err), &err, want);
}

static void malformed(void)
{
	char d[DOC], big[DOC], k[DOC] = "";
	struct berth_delegation dl;
	struct berth_err err = { 0 };
	const char *img = "name web\ntag 1.0\nversion 1\nexpires " FUTURE "\ndigest " D1 "\n";

	CHECK(deleg_refused("version 1\nversion 2\nexpires " FUTURE "\n", "line 3: duplicate field \"version\""));
	CHECK(deleg_refused("version 1\nexpires " FUTURE "\nexpires " FUTURE "\n", "duplicate field \"expires\""));
	CHECK(deleg_refused("version 1\nexpires " FUTURE "\ncomment hi\n", "line 4: unknown field \"comment\""));
	CHECK(deleg_refused("version 1 2\nexpires " FUTURE "\n", "\"version\" takes 1 value"));
	CHECK(deleg_refused("version 1\nexpires " FUTURE " \n", "empty field"));
	CHECK(deleg_refused("version  1\nexpires " FUTURE "\n", "empty field"));
	CHECK(deleg_refused("version 1\r\nexpires " FUTURE "\n", "not printable"));
	CHECK(deleg_refused("\nversion 1\nexpires " FUTURE "\n", "line 2: empty field"));
	CHECK(deleg_refused("version 01\nexpires " FUTURE "\n", "bad version"));
	CHECK(deleg_refused("version -1\nexpires " FUTURE "\n", "bad version"));
	CHECK(deleg_refused("version 18446744073709551616\nexpires " FUTURE "\n", "bad version"));
	CHECK(deleg_refused("version 1\nexpires 2027-06-01\n", "bad expiry"));
	CHECK(deleg_refused("expires " FUTURE "\n", "no version line"));
	CHECK(deleg_refused("version 1\n", "no expires line"));
	key_line(k, &ka, "web,,db");
	snprintf(big, sizeof(big), "version 1\nexpires %s\n", FUTURE);
	append(big, sizeof(big), k);
	CHECK(deleg_refused(big, "bad name pattern \"\""));
	k[0] = '\0';
	key_line(k, &ka, "*");
	snprintf(big, sizeof(big), "version 1\nexpires %s\n", FUTURE);
	append(big, sizeof(big), k);
	append(big, sizeof(big), k);
	CHECK(deleg_refused(big, "listed twice"));
	k[0] = '\0';
	key_line(k, &ka, "a,b,c,d,e,f,g,h,i");
	snprintf(big, sizeof(big), "version 1\nexpires %s\n", FUTURE);
	append(big, sizeof(big), k);
	CHECK(deleg_refused(big, "more than 8 name patterns"));
	/* A key line whose id is not its key's. */
	k[0] = '\0';
	key_line(k, &ka, "*");
	memcpy(k + 4, kb.id, BERTH_KEYID_LEN);
	snprintf(big, sizeof(big), "version 1\nexpires %s\n", FUTURE);
	append(big, sizeof(big), k);
	CHECK(deleg_refused(big, "does not match the key"));
	/* Wrong header, header with trailing space. */
	snprintf(d, sizeof(d), "berth-delegation 2\nversion 1\nexpires %s\n", FUTURE);
	sign_as(d, &root, root.id);
	CHECK(refused(berth_delegation_verify(d, strlen(d), &root.pub, &dl, &err), &err, "first line"));
	snprintf(d, sizeof(d), "berth-delegation 1 \nversion 1\nexpires %s\n", FUTURE);
	sign_as(d, &root, root.id);
	CHECK(refused(berth_delegation_verify(d, strlen(d), &root.pub, &dl, &err), &err, "first line"));
	/* Missing final newline. */
	deleg(d, &root, 1, FUTURE, &ka, "*", NULL, NULL);
	CHECK(ok(berth_delegation_verify(d, strlen(d), &root.pub, &dl, &err), &err));
	CHECK(refused(berth_delegation_verify(d, strlen(d) - 1, &root.pub, &dl, &err), &err,
		      "does not end with a newline"));
	/* Signature not last: a line after it, signed or not. */
	snprintf(d + strlen(d), DOC - strlen(d), "version 2\n");
	CHECK(refused(berth_delegation_verify(d, strlen(d), &root.pub, &dl, &err), &err, "last line is not"));
	deleg(d, &root, 1, FUTURE, &ka, "*", NULL, NULL);
	sign_as(d, &root, root.id);
	CHECK(refused(berth_delegation_verify(d, strlen(d), &root.pub, &dl, &err), &err,
		      "line 5: the signature line is not the last line"));
	/* A signature line with something after the signature. */
	deleg(d, &root, 1, FUTURE, &ka, "*", NULL, NULL);
	memcpy(d + strlen(d) - 1, " x\n", 4);
	CHECK(refused(berth_delegation_verify(d, strlen(d), &root.pub, &dl, &err), &err, "last line is not"));
	/* A NUL inside. */
	deleg(d, &root, 1, FUTURE, &ka, "*", NULL, NULL);
	{
		size_t n = strlen(d);

		d[5] = '\0';
		CHECK(refused(berth_delegation_verify(d, n, &root.pub, &dl, &err), &err, "NUL"));
	}
	/* Oversized, yet properly signed. */
	snprintf(big, sizeof(big), "berth-delegation 1\nversion 1\nexpires %s\n", FUTURE);
	while (strlen(big) < BERTH_TRUST_DOC_MAX)
		key_line(big, &ka, "*");
	sign_as(big, &root, root.id);
	CHECK(strlen(big) > BERTH_TRUST_DOC_MAX);
	CHECK(refused(berth_delegation_verify(big, strlen(big), &root.pub, &dl, &err), &err, "larger than 16384"));
	/* More keys than fit. */
	snprintf(big, sizeof(big), "berth-delegation 1\nversion 1\nexpires %s\n", FUTURE);
	for (int i = 0; i < BERTH_TRUST_MAX_KEYS + 1; i++) {
		struct kp extra;

		crypto_sign_ed25519_keypair(extra.pk, extra.sk);
		{
			unsigned char h[32];

			crypto_hash_sha256(h, extra.pk, 32);
			sodium_bin2hex(extra.id, sizeof(extra.id), h, 8);
		}
		key_line(big, &extra, "*");
	}
	sign_as(big, &root, root.id);
	CHECK(refused(berth_delegation_verify(big, strlen(big), &root.pub, &dl, &err), &err, "more than 16 keys"));

	/* The image signature, likewise. */
	/* The well-formed body is accepted. */
	deleg(d, &root, 1, FUTURE, &ka, "*", NULL, NULL);
	{
		char s[DOC], b[2 * DOC];
		struct berth_imgsig out;

		doc_of(s, "berth-signature 1", img, &ka);
		cat2(b, d, s);
		CHECK(ok(check(-1, b, D1, 0, &out, &err), &err));
	}
	snprintf(big, sizeof(big), "%sname db\n", img);
	CHECK(imgsig_refused(big, "line 7: duplicate field \"name\""));
	snprintf(big, sizeof(big), "%sarch amd64\n", img);
	CHECK(imgsig_refused(big, "unknown field \"arch\""));
	CHECK(imgsig_refused("name web\ntag 1.0\nversion 1\nexpires " FUTURE "\n", "no digest line"));
	CHECK(imgsig_refused("name web\nversion 1\nexpires " FUTURE "\ndigest " D1 "\n", "no tag line"));
	CHECK(imgsig_refused("name Web\ntag 1.0\nversion 1\nexpires " FUTURE "\ndigest " D1 "\n", "bad image name"));
	CHECK(imgsig_refused("name web\ntag .x\nversion 1\nexpires " FUTURE "\ndigest " D1 "\n", "bad tag"));
	CHECK(imgsig_refused("name web\ntag 1.0\nversion 1\nexpires " FUTURE "\ndigest sha256:ABC\n", "bad digest"));
	CHECK(imgsig_refused("name web\ntag 1.0\nversion 1\nexpires " FUTURE "\ndigest " D1 " \n", "empty field"));
	/* Oversized bundle. */
	snprintf(big, sizeof(big), "%s", img);
	while (strlen(big) < BERTH_TRUST_DOC_MAX)
		snprintf(big + strlen(big), sizeof(big) - strlen(big), "x\n");
	CHECK(imgsig_refused(big, "larger than 16384"));
}

static void bundles(void)
{
	char d[DOC], s[DOC], b[2 * DOC];
	const char *dp = NULL, *sp = NULL;
	size_t dl = 0, sl = 0;
	struct berth_err err = { 0 };

	deleg(d, &root, 1, FUTURE, &ka, "*", NULL, NULL);
	imgsig(s, &ka, "web", 1, FUTURE, D1);
	cat2(b, d, s);
	CHECK(ok(berth_bundle_split(b, strlen(b), &dp, &dl, &sp, &sl, &err), &err));
	CHECK(dp == b && dl == strlen(d) && sp == b + strlen(d) && sl == strlen(s));
	CHECK(refused(berth_bundle_split(d, strlen(d), &dp, &dl, &sp, &sl, &err), &err, "no image signature"));
	CHECK(refused(berth_bundle_split(s, strlen(s), &dp, &dl, &sp, &sl, &err), &err, "does not start with"));
	cat2(b, s, d);
	CHECK(refused(berth_bundle_split(b, strlen(b), &dp, &dl, &sp, &sl, &err), &err, "does not start with"));
	snprintf(b, sizeof(b), "%s\n%s", d, s);
	CHECK(refused(berth_bundle_split(b, strlen(b), &dp, &dl, &sp, &sl, &err), &err, "is not followed by"));
	/* Two image signatures: the second is part of the first document. */
	cat2(b, d, s);
	append(b, sizeof(b), s);
	{
		struct berth_imgsig out;

		CHECK(refused(check(-1, b, D1, 0, &out, &err), &err, "image signature"));
	}
}

static void state_files(void)
{
	char path[64], d[DOC], s[DOC], b[2 * DOC], p[128];
	int dfd = statedir(path);
	struct berth_imgsig out;
	struct berth_err err = { 0 };
	FILE *fp;

	CHECK(dfd >= 0);
	deleg(d, &root, 1, FUTURE, &ka, "*", NULL, NULL);
	imgsig(s, &ka, "web", 1, FUTURE, D1);
	cat2(b, d, s);
	/* A corrupt versions file refuses rather than forgets. */
	snprintf(p, sizeof(p), "%s/versions", path);
	CHECK(mkdir(p, 0700) == 0);
	snprintf(p, sizeof(p), "%s/versions/web", path);
	fp = fopen(p, "w");
	CHECK(fp);
	fputs("7 sha256:nothex\n", fp);
	fclose(fp);
	CHECK(refused(check(dfd, b, D1, 0, &out, &err), &err, "versions/web is malformed"));
	/* A stored delegation that root did not sign. */
	CHECK(unlink(p) == 0);
	snprintf(p, sizeof(p), "%s/delegation", path);
	deleg(s, &other_root, 9, FUTURE, &ka, "*", NULL, NULL);
	fp = fopen(p, "w");
	CHECK(fp);
	fputs(s, fp);
	fclose(fp);
	imgsig(s, &ka, "web", 1, FUTURE, D1);
	cat2(b, d, s);
	CHECK(refused(check(dfd, b, D1, 0, &out, &err), &err, "trust state: stored delegation"));
	close(dfd);
	/* berth_trust_state_open makes missing directories, 0700. */
	{
		char q[160];
		struct stat st;
		int fd;

		snprintf(q, sizeof(q), "%s/a/b/trust", path);
		fd = berth_trust_state_open(q, &err);
		CHECK(ok(fd >= 0 ? 0 : -1, &err));
		close(fd);
		CHECK(stat(q, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700);
		fd = berth_trust_state_open(q, &err);
		CHECK(fd >= 0);
		close(fd);
	}
}

int main(void)
{
	if (sodium_init() < 0) {
		printf("FAIL setup: sodium_init\n");
		return 1;
	}
	if (berth_trust_time_parse("2026-06-01T00:00:00Z", &now) < 0) {
		printf("FAIL setup: time\n");
		return 1;
	}
	make_key(&root);
	make_key(&other_root);
	make_key(&ka);
	make_key(&kb);
	RUN(time_parse);
	RUN(names);
	RUN(pubkey_files);
	RUN(seckey_and_sign);
	RUN(good_path);
	RUN(bad_root_signature);
	RUN(tampered_delegation);
	RUN(tampered_imgsig);
	RUN(wrong_digest);
	RUN(signer_not_delegated);
	RUN(name_not_allowed);
	RUN(expired);
	RUN(rollback);
	RUN(revoked_key_replay);
	RUN(key_rotation);
	RUN(update_refusals);
	RUN(record_zero_writes_nothing);
	RUN(malformed);
	RUN(bundles);
	RUN(state_files);
	for (int i = 0; i < ndirs; i++)
		nftw(dirs[i], rm_one, 8, FTW_DEPTH | FTW_PHYS);
	sodium_memzero(&root, sizeof(root));
	sodium_memzero(&other_root, sizeof(other_root));
	return t_failed_total ? 1 : 0;
}
