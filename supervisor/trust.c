/* Image trust (trust.h, docs/trust.md): strict parsing of key files,
 * delegations and image signatures; their Ed25519 signatures checked by
 * libsodium; and the stored state (the newest delegation, the highest image
 * version per name) that makes revocation and rollback protection stick.
 *
 * A document is verified before its fields are parsed: the field parser only
 * ever sees bytes the root (or a delegated key) signed. The frame around them
 * (size, header line, final signature line) is checked first. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/cleanup.h"
#include "trust.h"

#define DELEG_HEADER "berth-delegation 1"
#define SIG_HEADER "berth-signature 1"
#define PUB_MAGIC "berth-ed25519-public"
#define SEC_MAGIC "berth-ed25519-secret"
#define B64 sodium_base64_VARIANT_ORIGINAL
#define NAME_LEN_MAX 128
#define PATTERN_LEN_MAX 129 /* a pattern must fit names[130] */
#define KEYFILE_MAX 256      /* bytes of a key file */
#define SHOW 64              /* bytes of an unknown token quoted in a message */

static int crypto_ready(struct berth_err *err)
{
	static int done;

	if (!done) {
		if (sodium_init() < 0)
			return berth_err_set(err, 0, "libsodium failed to initialise");
		done = 1;
	}
	return 0;
}

/* One space-separated token of a line. */
struct tok {
	const char *p;
	size_t n;
};

static int tok_is(const struct tok *t, const char *s)
{
	return strlen(s) == t->n && memcmp(t->p, s, t->n) == 0;
}

/* Copy T into BUF (CAP bytes, NUL-terminated); -1 if it does not fit. */
static int tok_copy(const struct tok *t, char *buf, size_t cap)
{
	if (t->n >= cap)
		return -1;
	memcpy(buf, t->p, t->n);
	buf[t->n] = '\0';
	return 0;
}

/* Split P[0..N) at single spaces into at most MAX tokens: their count, or -1
 * for an empty token (a leading, trailing or doubled space), -2 for more than
 * MAX tokens. */
static int split_tokens(const char *p, size_t n, struct tok *t, int max)
{
	int k = 0;
	size_t i = 0;

	for (;;) {
		size_t start = i;

		while (i < n && p[i] != ' ')
			i++;
		if (i == start)
			return -1;
		if (k == max)
			return -2;
		t[k].p = p + start;
		t[k].n = i - start;
		k++;
		if (i == n)
			return k;
		i++; /* the space; a token must follow */
	}
}

static int hex_lower(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int keyid_valid(const struct tok *t)
{
	if (t->n != BERTH_KEYID_LEN)
		return 0;
	for (size_t i = 0; i < t->n; i++)
		if (!hex_lower(t->p[i]))
			return 0;
	return 1;
}

/* Decode T, canonical padded standard base64, into exactly N bytes (N <= 64).
 * The round trip must give T back, so each value has one encoding only. */
static int b64_decode(const struct tok *t, unsigned char *out, size_t n)
{
	char back[sodium_base64_ENCODED_LEN(64, B64)];
	const char *end = NULL;
	size_t got = 0;
	int r = -1;

	if (n > 64 || t->n != sodium_base64_ENCODED_LEN(n, B64) - 1)
		return -1;
	if (sodium_base642bin(out, n, t->p, t->n, NULL, &got, &end, B64) == 0 && got == n && end == t->p + t->n) {
		sodium_bin2base64(back, sizeof(back), out, n, B64);
		r = memcmp(back, t->p, t->n) == 0 ? 0 : -1;
	}
	sodium_memzero(back, sizeof(back));
	if (r < 0)
		sodium_memzero(out, n);
	return r;
}

/* A version: decimal, no sign, no leading zero, within uint64_t. */
static int parse_version(const struct tok *t, uint64_t *out)
{
	uint64_t v = 0;

	if (t->n == 0 || t->n > 20 || (t->p[0] == '0' && t->n > 1))
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		unsigned d = (unsigned)(t->p[i] - '0');

		if (t->p[i] < '0' || t->p[i] > '9' || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
	static const unsigned char mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : mdays[m - 1];
}

int berth_trust_time_parse(const char *s, int64_t *out)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	unsigned v[6] = { 0 };
	static const int at[6] = { 0, 5, 8, 11, 14, 17 }, width[6] = { 4, 2, 2, 2, 2, 2 };

	if (strlen(s) != sizeof(shape) - 1)
		return -1;
	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
			return -1;
	for (int f = 0; f < 6; f++)
		for (int i = 0; i < width[f]; i++)
			v[f] = v[f] * 10 + (unsigned)(s[at[f] + i] - '0');
	if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > days_in_month(v[0], v[1]) || v[3] > 23 ||
	    v[4] > 59 || v[5] > 59)
		return -1;
	*out = days_from_civil(v[0], v[1], v[2]) * 86400 + v[3] * 3600 + v[4] * 60 + v[5];
	return 0;
}

int berth_trust_time_format(int64_t t, char out[21])
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[80];

	/* 9999-12-31T23:59:59Z */
	if (t < 0 || t > INT64_C(253402300799) || !gmtime_r(&tt, &tm)) {
		snprintf(out, 21, "(bad time)");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec);
	memcpy(out, buf, 20);
	out[20] = '\0';
	return 0;
}

static int name_valid_n(const char *s, size_t n)
{
	if (n == 0 || n > NAME_LEN_MAX || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '/' || c == '-'))
			return 0;
	}
	return 1;
}

int berth_trust_name_valid(const char *s)
{
	return name_valid_n(s, strlen(s));
}

static int pattern_valid_n(const char *s, size_t n)
{
	if (n == 1 && s[0] == '*')
		return 1;
	if (n > PATTERN_LEN_MAX)
		return 0;
	/* A prefix pattern: a name without a trailing '/', then '/' and '*'. */
	if (n >= 3 && s[n - 1] == '*' && s[n - 2] == '/')
		return s[n - 3] != '/' && name_valid_n(s, n - 2);
	return name_valid_n(s, n);
}

int berth_trust_pattern_valid(const char *s)
{
	return pattern_valid_n(s, strlen(s));
}

static int pattern_match(const char *pat, const char *name)
{
	size_t n = strlen(pat);

	if (strcmp(pat, "*") == 0)
		return 1;
	if (n >= 2 && pat[n - 1] == '*')
		return strncmp(name, pat, n - 1) == 0 && name[n - 1] != '\0';
	return strcmp(pat, name) == 0;
}

static int tag_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      (i > 0 && (c == '.' || c == '-'))))
			return 0;
	}
	return 1;
}

static int digest_valid(const char *s)
{
	if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
		return 0;
	for (int i = 7; i < 7 + 64; i++)
		if (!hex_lower(s[i]))
			return 0;
	return 1;
}

void berth_keyid(const unsigned char pk[32], char id[BERTH_KEYID_LEN + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, pk, 32);
	sodium_bin2hex(id, BERTH_KEYID_LEN + 1, h, BERTH_KEYID_LEN / 2);
}

/* A key file: one line "MAGIC KEYID BASE64\n" of N key bytes into KEY. */
static int keyfile_parse(const char *what, const char *magic, const char *text, size_t len, unsigned char *key,
			 size_t n, char id[BERTH_KEYID_LEN + 1], struct berth_err *err)
{
	struct tok t[3];

	if (len == 0 || len > KEYFILE_MAX || text[len - 1] != '\n' || memchr(text, '\n', len - 1) ||
	    memchr(text, '\0', len))
		return berth_err_set(err, 0, "%s: not a single line ending in a newline", what);
	if (split_tokens(text, len - 1, t, 3) != 3 || !tok_is(&t[0], magic))
		return berth_err_set(err, 0, "%s: not \"%s KEYID BASE64\"", what, magic);
	if (!keyid_valid(&t[1]))
		return berth_err_set(err, 0, "%s: bad key id", what);
	if (b64_decode(&t[2], key, n) < 0)
		return berth_err_set(err, 0, "%s: bad key encoding (want base64 of %zu bytes)", what, n);
	tok_copy(&t[1], id, BERTH_KEYID_LEN + 1);
	return 0;
}

int berth_pubkey_parse(const char *text, size_t len, struct berth_pubkey *k, struct berth_err *err)
{
	char want[BERTH_KEYID_LEN + 1];

	if (crypto_ready(err) < 0 || keyfile_parse("public key", PUB_MAGIC, text, len, k->pk, 32, k->id, err) < 0)
		return -1;
	berth_keyid(k->pk, want);
	if (strcmp(want, k->id) != 0)
		return berth_err_set(err, 0, "public key: key id %s does not match the key (%s)", k->id, want);
	return 0;
}

int berth_seckey_parse(const char *text, size_t len, struct berth_seckey *k, struct berth_err *err)
{
	unsigned char pk[32], sk[64];
	char want[BERTH_KEYID_LEN + 1];
	int ok;

	if (crypto_ready(err) < 0 || keyfile_parse("secret key", SEC_MAGIC, text, len, k->sk, 64, k->id, err) < 0)
		return -1;
	/* The second half must be the public key of the first (the seed). */
	crypto_sign_ed25519_seed_keypair(pk, sk, k->sk);
	ok = sodium_memcmp(sk, k->sk, 64) == 0;
	sodium_memzero(sk, sizeof(sk));
	if (!ok) {
		sodium_memzero(k->sk, sizeof(k->sk));
		return berth_err_set(err, 0, "secret key: its public half does not belong to it");
	}
	berth_keyid(pk, want);
	if (strcmp(want, k->id) != 0) {
		sodium_memzero(k->sk, sizeof(k->sk));
		return berth_err_set(err, 0, "secret key: key id %s does not match the key (%s)", k->id, want);
	}
	return 0;
}

int berth_trust_read_file(const char *path, char *buf, size_t cap, size_t *len, int private, struct berth_err *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	size_t got = 0;

	if (fd < 0)
		return berth_err_sys(err, "open %s", path);
	if (fstat(fd, &st) < 0)
		return berth_err_sys(err, "stat %s", path);
	if (!S_ISREG(st.st_mode))
		return berth_err_set(err, 0, "%s: not a regular file", path);
	if (private && (st.st_mode & 077))
		return berth_err_set(err, 0, "%s: secret key is accessible to others (mode %04o); chmod 600 it",
				     path, (unsigned)(st.st_mode & 07777));
	for (;;) {
		ssize_t n = read(fd, buf + got, cap - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berth_err_sys(err, "read %s", path);
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == cap - 1) {
			char c;

			if (read(fd, &c, 1) != 0)
				return berth_err_set(err, 0, "%s: larger than %zu bytes", path, cap - 1);
			break;
		}
	}
	buf[got] = '\0';
	*len = got;
	return 0;
}

int berth_pubkey_load(const char *path, struct berth_pubkey *k, struct berth_err *err)
{
	char buf[KEYFILE_MAX + 1];
	size_t len = 0;

	if (berth_trust_read_file(path, buf, sizeof(buf), &len, 0, err) < 0)
		return -1;
	if (berth_pubkey_parse(buf, len, k, err) < 0)
		return berth_err_prefix(err, "%s", path);
	return 0;
}

int berth_seckey_load(const char *path, struct berth_seckey *k, struct berth_err *err)
{
	char buf[KEYFILE_MAX + 1];
	size_t len = 0;
	int r;

	r = berth_trust_read_file(path, buf, sizeof(buf), &len, 1, err);
	if (r == 0 && berth_seckey_parse(buf, len, k, err) < 0)
		r = berth_err_prefix(err, "%s", path);
	sodium_memzero(buf, sizeof(buf));
	return r;
}

/* The frame of a signed document: HEADER line first, the signature line last. */
struct frame {
	size_t body_len; /* the signed bytes: everything before the signature line */
	char keyid[BERTH_KEYID_LEN + 1];
	unsigned char sig[crypto_sign_ed25519_BYTES];
};

static int doc_frame(const char *what, const char *header, const char *text, size_t len, struct frame *f,
		     struct berth_err *err)
{
	size_t hlen = strlen(header), start;
	struct tok t[3];

	if (len > BERTH_TRUST_DOC_MAX)
		return berth_err_set(err, 0, "%s: larger than %d bytes", what, BERTH_TRUST_DOC_MAX);
	if (len == 0 || text[len - 1] != '\n')
		return berth_err_set(err, 0, "%s: does not end with a newline", what);
	if (memchr(text, '\0', len))
		return berth_err_set(err, 0, "%s: contains a NUL byte", what);
	if (len <= hlen || memcmp(text, header, hlen) != 0 || text[hlen] != '\n')
		return berth_err_set(err, 0, "%s: the first line is not \"%s\"", what, header);
	start = len - 1;
	while (start > 0 && text[start - 1] != '\n')
		start--;
	if (start == 0)
		return berth_err_set(err, 0, "%s: no signature line", what);
	if (split_tokens(text + start, len - 1 - start, t, 3) != 3 || !tok_is(&t[0], "signature"))
		return berth_err_set(err, 0, "%s: the last line is not \"signature KEYID BASE64\"", what);
	if (!keyid_valid(&t[1]))
		return berth_err_set(err, 0, "%s: signature line: bad key id", what);
	if (b64_decode(&t[2], f->sig, sizeof(f->sig)) < 0)
		return berth_err_set(err, 0, "%s: signature line: bad signature encoding", what);
	tok_copy(&t[1], f->keyid, sizeof(f->keyid));
	f->body_len = start;
	return 0;
}

/* The lines between the header and the signature line, one at a time. */
struct lines {
	const char *text;
	size_t pos, end;
	int lineno;
};

/* The next line: 1 with P/N set, 0 at the end, -1 with ERR for a byte that
 * has no place in a document (anything but printable ASCII). */
static int next_line(struct lines *l, const char *what, const char **p, size_t *n, struct berth_err *err)
{
	size_t i;

	if (l->pos >= l->end)
		return 0;
	l->lineno++;
	for (i = l->pos; l->text[i] != '\n'; i++)
		if ((unsigned char)l->text[i] < 0x20 || (unsigned char)l->text[i] > 0x7e)
			return berth_err_set(err, 0, "%s: line %d: byte 0x%02x is not printable ASCII", what,
					     l->lineno, (unsigned char)l->text[i]);
	*p = l->text + l->pos;
	*n = i - l->pos;
	l->pos = i + 1;
	return 1;
}

/* Common checks on a line's tokens: the count, and a field seen twice. */
static int field_line(const char *what, int lineno, const struct tok *t, int ntok, int want, int *seen,
		      struct berth_err *err)
{
	if (seen && *seen)
		return berth_err_set(err, 0, "%s: line %d: duplicate field \"%.*s\"", what, lineno, (int)t[0].n,
				     t[0].p);
	if (ntok != want)
		return berth_err_set(err, 0, "%s: line %d: \"%.*s\" takes %d value%s", what, lineno, (int)t[0].n,
				     t[0].p, want - 1, want == 2 ? "" : "s");
	if (seen)
		*seen = 1;
	return 0;
}

static int split_line(const char *what, int lineno, const char *p, size_t n, struct tok *t, int max,
		      struct berth_err *err)
{
	int k = split_tokens(p, n, t, max);

	if (k == -1)
		return berth_err_set(err, 0, "%s: line %d: empty field (a leading, trailing or doubled space)", what,
				     lineno);
	if (k == -2)
		return berth_err_set(err, 0, "%s: line %d: too many values", what, lineno);
	return k;
}

static int unknown_field(const char *what, int lineno, const struct tok *t, struct berth_err *err)
{
	if (tok_is(t, "signature"))
		return berth_err_set(err, 0, "%s: line %d: the signature line is not the last line", what, lineno);
	return berth_err_set(err, 0, "%s: line %d: unknown field \"%.*s\"", what, lineno,
			     (int)(t->n < SHOW ? t->n : SHOW), t->p);
}

static int parse_expires(const char *what, int lineno, const struct tok *t, int64_t *out, struct berth_err *err)
{
	char buf[32];

	if (tok_copy(t, buf, sizeof(buf)) < 0 || berth_trust_time_parse(buf, out) < 0)
		return berth_err_set(err, 0, "%s: line %d: bad expiry (want YYYY-MM-DDTHH:MM:SSZ)", what, lineno);
	return 0;
}

/* "key KEYID BASE64 NAMES" into slot K of D. */
static int deleg_key(const char *what, int lineno, const struct tok *t, struct berth_delegation *d, int k,
		     struct berth_err *err)
{
	char want[BERTH_KEYID_LEN + 1];
	size_t i = 0;

	if (!keyid_valid(&t[1]))
		return berth_err_set(err, 0, "%s: line %d: bad key id", what, lineno);
	if (b64_decode(&t[2], d->keys[k].key.pk, 32) < 0)
		return berth_err_set(err, 0, "%s: line %d: bad key encoding (want base64 of 32 bytes)", what, lineno);
	tok_copy(&t[1], d->keys[k].key.id, sizeof(d->keys[k].key.id));
	berth_keyid(d->keys[k].key.pk, want);
	if (strcmp(want, d->keys[k].key.id) != 0)
		return berth_err_set(err, 0, "%s: line %d: key id %s does not match the key (%s)", what, lineno,
				     d->keys[k].key.id, want);
	for (int j = 0; j < k; j++)
		if (strcmp(d->keys[j].key.id, want) == 0)
			return berth_err_set(err, 0, "%s: line %d: key %s listed twice", what, lineno, want);
	/* NAMES: comma-separated patterns, none empty. */
	d->keys[k].nnames = 0;
	for (;;) {
		size_t start = i;
		char *name;

		while (i < t[3].n && t[3].p[i] != ',')
			i++;
		if (d->keys[k].nnames == BERTH_TRUST_MAX_NAMES)
			return berth_err_set(err, 0, "%s: line %d: more than %d name patterns", what, lineno,
					     BERTH_TRUST_MAX_NAMES);
		if (!pattern_valid_n(t[3].p + start, i - start))
			return berth_err_set(err, 0, "%s: line %d: bad name pattern \"%.*s\"", what, lineno,
					     (int)(i - start < SHOW ? i - start : SHOW), t[3].p + start);
		name = d->keys[k].names[d->keys[k].nnames++];
		memcpy(name, t[3].p + start, i - start);
		name[i - start] = '\0';
		if (i == t[3].n)
			return 0;
		i++;
	}
}

static int deleg_body(const char *what, const char *text, size_t body_len, struct berth_delegation *d,
		      struct berth_err *err)
{
	struct lines l = { text, strlen(DELEG_HEADER) + 1, body_len, 1 };
	int seen_version = 0, seen_expires = 0, r;
	const char *p = NULL;
	size_t n = 0;

	while ((r = next_line(&l, what, &p, &n, err)) > 0) {
		struct tok t[5];
		int k = split_line(what, l.lineno, p, n, t, 5, err);

		if (k < 0)
			return -1;
		if (tok_is(&t[0], "version")) {
			if (field_line(what, l.lineno, t, k, 2, &seen_version, err) < 0)
				return -1;
			if (parse_version(&t[1], &d->version) < 0)
				return berth_err_set(err, 0, "%s: line %d: bad version", what, l.lineno);
		} else if (tok_is(&t[0], "expires")) {
			if (field_line(what, l.lineno, t, k, 2, &seen_expires, err) < 0 ||
			    parse_expires(what, l.lineno, &t[1], &d->expires, err) < 0)
				return -1;
		} else if (tok_is(&t[0], "key")) {
			if (field_line(what, l.lineno, t, k, 4, NULL, err) < 0)
				return -1;
			if (d->nkeys == BERTH_TRUST_MAX_KEYS)
				return berth_err_set(err, 0, "%s: line %d: more than %d keys", what, l.lineno,
						     BERTH_TRUST_MAX_KEYS);
			if (deleg_key(what, l.lineno, t, d, d->nkeys, err) < 0)
				return -1;
			d->nkeys++;
		} else {
			return unknown_field(what, l.lineno, &t[0], err);
		}
	}
	if (r < 0)
		return -1;
	if (!seen_version)
		return berth_err_set(err, 0, "%s: no version line", what);
	if (!seen_expires)
		return berth_err_set(err, 0, "%s: no expires line", what);
	return 0;
}

int berth_delegation_parse(const char *text, size_t len, struct berth_delegation *d, struct berth_err *err)
{
	struct frame f;

	if (crypto_ready(err) < 0 || doc_frame("delegation", DELEG_HEADER, text, len, &f, err) < 0)
		return -1;
	memset(d, 0, sizeof(*d));
	if (deleg_body("delegation", text, f.body_len, d, err) < 0)
		return -1;
	memcpy(d->signer, f.keyid, sizeof(d->signer));
	return 0;
}

int berth_delegation_verify(const char *text, size_t len, const struct berth_pubkey *root,
			    struct berth_delegation *d, struct berth_err *err)
{
	struct frame f;

	if (crypto_ready(err) < 0 || doc_frame("delegation", DELEG_HEADER, text, len, &f, err) < 0)
		return -1;
	if (strcmp(f.keyid, root->id) != 0)
		return berth_err_set(err, 0, "delegation signed by key %s, not the root key %s", f.keyid, root->id);
	if (crypto_sign_ed25519_verify_detached(f.sig, (const unsigned char *)text, f.body_len, root->pk) != 0)
		return berth_err_set(err, 0, "delegation: bad signature by root key %s", root->id);
	memset(d, 0, sizeof(*d));
	if (deleg_body("delegation", text, f.body_len, d, err) < 0)
		return -1;
	memcpy(d->signer, f.keyid, sizeof(d->signer));
	return 0;
}

static int imgsig_body(const char *what, const char *text, size_t body_len, struct berth_imgsig *s,
		       struct berth_err *err)
{
	static const char *const fields[5] = { "name", "tag", "version", "expires", "digest" };
	struct lines l = { text, strlen(SIG_HEADER) + 1, body_len, 1 };
	int seen[5] = { 0 }, r;
	const char *p = NULL;
	size_t n = 0;

	while ((r = next_line(&l, what, &p, &n, err)) > 0) {
		struct tok t[3];
		int k = split_line(what, l.lineno, p, n, t, 3, err);

		if (k < 0)
			return -1;
		if (tok_is(&t[0], "name")) {
			if (field_line(what, l.lineno, t, k, 2, &seen[0], err) < 0)
				return -1;
			if (tok_copy(&t[1], s->name, sizeof(s->name)) < 0 || !berth_trust_name_valid(s->name))
				return berth_err_set(err, 0, "%s: line %d: bad image name", what, l.lineno);
		} else if (tok_is(&t[0], "tag")) {
			if (field_line(what, l.lineno, t, k, 2, &seen[1], err) < 0)
				return -1;
			if (tok_copy(&t[1], s->tag, sizeof(s->tag)) < 0 || !tag_valid(s->tag))
				return berth_err_set(err, 0, "%s: line %d: bad tag", what, l.lineno);
		} else if (tok_is(&t[0], "version")) {
			if (field_line(what, l.lineno, t, k, 2, &seen[2], err) < 0)
				return -1;
			if (parse_version(&t[1], &s->version) < 0)
				return berth_err_set(err, 0, "%s: line %d: bad version", what, l.lineno);
		} else if (tok_is(&t[0], "expires")) {
			if (field_line(what, l.lineno, t, k, 2, &seen[3], err) < 0 ||
			    parse_expires(what, l.lineno, &t[1], &s->expires, err) < 0)
				return -1;
		} else if (tok_is(&t[0], "digest")) {
			if (field_line(what, l.lineno, t, k, 2, &seen[4], err) < 0)
				return -1;
			if (tok_copy(&t[1], s->digest, sizeof(s->digest)) < 0 || !digest_valid(s->digest))
				return berth_err_set(err, 0, "%s: line %d: bad digest (want sha256:HEX)", what,
						     l.lineno);
		} else {
			return unknown_field(what, l.lineno, &t[0], err);
		}
	}
	if (r < 0)
		return -1;
	for (int i = 0; i < 5; i++)
		if (!seen[i])
			return berth_err_set(err, 0, "%s: no %s line", what, fields[i]);
	return 0;
}

int berth_imgsig_verify(const char *text, size_t len, const struct berth_delegation *d, struct berth_imgsig *s,
			struct berth_err *err)
{
	const char *what = "image signature";
	char allowed[BERTH_ERR_MSG] = "";
	size_t used = 0;
	struct frame f;
	int k;

	if (crypto_ready(err) < 0 || doc_frame(what, SIG_HEADER, text, len, &f, err) < 0)
		return -1;
	for (k = 0; k < d->nkeys; k++)
		if (strcmp(d->keys[k].key.id, f.keyid) == 0)
			break;
	if (k == d->nkeys)
		return berth_err_set(err, 0,
				     "image signed by key %s, which root does not delegate to (delegation version %" PRIu64
				     ")",
				     f.keyid, d->version);
	if (crypto_sign_ed25519_verify_detached(f.sig, (const unsigned char *)text, f.body_len, d->keys[k].key.pk) != 0)
		return berth_err_set(err, 0, "%s: bad signature by key %s", what, f.keyid);
	memset(s, 0, sizeof(*s));
	if (imgsig_body(what, text, f.body_len, s, err) < 0)
		return -1;
	memcpy(s->keyid, f.keyid, sizeof(s->keyid));
	for (int i = 0; i < d->keys[k].nnames; i++)
		if (pattern_match(d->keys[k].names[i], s->name))
			return 0;
	for (int i = 0; i < d->keys[k].nnames && used < sizeof(allowed); i++)
		used += (size_t)snprintf(allowed + used, sizeof(allowed) - used, "%s%s", i ? ", " : "",
					 d->keys[k].names[i]);
	return berth_err_set(err, 0, "key %s may not sign image '%s' (allowed: %s)", f.keyid, s->name, allowed);
}

int berth_bundle_split(const char *text, size_t len, const char **deleg, size_t *dlen, const char **sig,
		       size_t *slen, struct berth_err *err)
{
	static const char dh[] = DELEG_HEADER "\n", sh[] = SIG_HEADER "\n";
	size_t pos = 0;

	if (len > BERTH_TRUST_DOC_MAX)
		return berth_err_set(err, 0, "bundle: larger than %d bytes", BERTH_TRUST_DOC_MAX);
	if (len < sizeof(dh) - 1 || memcmp(text, dh, sizeof(dh) - 1) != 0)
		return berth_err_set(err, 0, "bundle: does not start with \"%s\"", DELEG_HEADER);
	/* The delegation ends with its first signature line. */
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t next = nl ? (size_t)(nl - text) + 1 : len;

		if (len - pos >= 10 && memcmp(text + pos, "signature ", 10) == 0) {
			if (!nl || next == len)
				break;
			if (len - next < sizeof(sh) - 1 || memcmp(text + next, sh, sizeof(sh) - 1) != 0)
				return berth_err_set(err, 0, "bundle: the delegation is not followed by \"%s\"",
						     SIG_HEADER);
			*deleg = text;
			*dlen = next;
			*sig = text + next;
			*slen = len - next;
			return 0;
		}
		pos = next;
	}
	return berth_err_set(err, 0, "bundle: no image signature after the delegation");
}

/* Stored state: small files under the state directory, replaced atomically. */

/* Read NAME under DIRFD into BUF (CAP bytes): 1, 0 if it does not exist, -1. */
static int state_read(int dirfd, const char *name, char *buf, size_t cap, size_t *len, struct berth_err *err)
{
	cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	struct stat st;
	size_t got = 0;

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return berth_err_sys(err, "trust state: open %s", name);
	if (fstat(fd, &st) < 0)
		return berth_err_sys(err, "trust state: stat %s", name);
	if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size > cap)
		return berth_err_set(err, 0, "trust state: %s is not a regular file of at most %zu bytes", name, cap);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berth_err_sys(err, "trust state: read %s", name);
		if (n == 0)
			return berth_err_set(err, 0, "trust state: %s shrank while being read", name);
		got += (size_t)n;
	}
	*len = got;
	return 1;
}

/* Replace NAME under DIRFD with DATA: a temporary file (its name starts with
 * '.', which no escaped image name does), fsync, rename, fsync of the directory. */
static int state_write(int dirfd, const char *name, const char *data, size_t len, struct berth_err *err)
{
	char tmp[32];
	int fd;
	size_t off = 0;

	snprintf(tmp, sizeof(tmp), ".tmp.%ld", (long)getpid());
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return berth_err_sys(err, "trust state: create %s", tmp);
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (off < len || fsync(fd) < 0) {
		berth_err_sys(err, "trust state: write %s", name);
		close(fd);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	if (close(fd) < 0) {
		berth_err_sys(err, "trust state: write %s", name);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		berth_err_sys(err, "trust state: rename %s", name);
		unlinkat(dirfd, tmp, 0);
		return -1;
	}
	if (fsync(dirfd) < 0)
		return berth_err_sys(err, "trust state: fsync after writing %s", name);
	return 0;
}

/* "versions" under STATEDIR: *FD, or -1 when it does not exist and CREATE is 0. */
static int versions_dir(int statedir, int create, int *fd, struct berth_err *err)
{
	*fd = openat(statedir, "versions", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (*fd >= 0)
		return 0;
	if (errno != ENOENT)
		return berth_err_sys(err, "trust state: open versions");
	if (!create)
		return 0;
	if (mkdirat(statedir, "versions", 0700) < 0 && errno != EEXIST)
		return berth_err_sys(err, "trust state: mkdir versions");
	if (fsync(statedir) < 0)
		return berth_err_sys(err, "trust state: fsync after mkdir versions");
	*fd = openat(statedir, "versions", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (*fd < 0)
		return berth_err_sys(err, "trust state: open versions");
	return 0;
}

/* NAME as one file name: '%' becomes "%25" and '/' "%2F". */
static int escape_name(const char *name, char out[NAME_MAX + 1], struct berth_err *err)
{
	size_t o = 0;

	for (const char *c = name; *c; c++) {
		const char *rep = *c == '/' ? "%2F" : *c == '%' ? "%25" : NULL;
		size_t n = rep ? 3 : 1;

		if (o + n > NAME_MAX)
			return berth_err_set(err, 0, "trust state: image name '%s' is too long to record", name);
		memcpy(out + o, rep ? rep : c, n);
		o += n;
	}
	out[o] = '\0';
	if (o == 0 || out[0] == '.')
		return berth_err_set(err, 0, "trust state: image name '%s' cannot be recorded", name);
	return 0;
}

struct seen {
	int found;
	uint64_t version;
	char digest[72];
};

/* versions/NAME: "VERSION DIGEST\n". */
static int versions_read(int vdir, const char *file, struct seen *sv, struct berth_err *err)
{
	char buf[128];
	size_t len = 0;
	struct tok t[2];
	int r;

	sv->found = 0;
	if (vdir < 0)
		return 0;
	r = state_read(vdir, file, buf, sizeof(buf), &len, err);
	if (r <= 0)
		return r;
	if (len == 0 || buf[len - 1] != '\n' || memchr(buf, '\n', len - 1) ||
	    split_tokens(buf, len - 1, t, 2) != 2 || parse_version(&t[0], &sv->version) < 0 ||
	    tok_copy(&t[1], sv->digest, sizeof(sv->digest)) < 0 || !digest_valid(sv->digest))
		return berth_err_set(err, 0, "trust state: versions/%s is malformed", file);
	sv->found = 1;
	return 0;
}

/* The stored delegation, verified by ROOT: 1 with D, TEXT and LEN, 0 if none. */
static int stored_delegation(int statedir, const struct berth_pubkey *root, char *text, size_t *len,
			     struct berth_delegation *d, struct berth_err *err)
{
	int r;

	if (statedir < 0)
		return 0;
	r = state_read(statedir, "delegation", text, BERTH_TRUST_DOC_MAX, len, err);
	if (r <= 0)
		return r;
	if (berth_delegation_verify(text, *len, root, d, err) < 0)
		return berth_err_prefix(err, "trust state: stored delegation");
	return 1;
}

int berth_trust_check(int statedir, const struct berth_pubkey *root, const char *bundle, size_t len,
		      const char *digest, int64_t now, int record, struct berth_imgsig *out, struct berth_err *err)
{
	char stored[BERTH_TRUST_DOC_MAX];
	struct berth_delegation bd, sd;
	const struct berth_delegation *inforce = &bd;
	const char *dtext = NULL, *stext = NULL;
	size_t dlen = 0, slen = 0, storedlen = 0;
	int has_stored, newer = 1;
	cleanup_close int vdir = -1;
	char file[NAME_MAX + 1], when[21];
	struct berth_imgsig s;
	struct seen sv;

	if (record && statedir < 0)
		return berth_err_set(err, EINVAL, "trust: nothing to record in without a state directory");
	if (!digest_valid(digest))
		return berth_err_set(err, 0, "trust: bad image digest \"%.80s\"", digest);
	if (berth_bundle_split(bundle, len, &dtext, &dlen, &stext, &slen, err) < 0 ||
	    berth_delegation_verify(dtext, dlen, root, &bd, err) < 0)
		return -1;
	has_stored = stored_delegation(statedir, root, stored, &storedlen, &sd, err);
	if (has_stored < 0)
		return -1;
	/* The higher version is in force: an older bundle cannot bring back a
	 * key that a newer delegation has dropped. */
	if (has_stored && sd.version >= bd.version) {
		if (sd.version == bd.version && (storedlen != dlen || memcmp(stored, dtext, dlen) != 0))
			return berth_err_set(err, 0,
					     "delegation version %" PRIu64
					     " differs from the stored delegation of the same version",
					     bd.version);
		inforce = &sd;
		newer = 0;
	}
	if (now >= inforce->expires) {
		berth_trust_time_format(inforce->expires, when);
		return berth_err_set(err, 0, "delegation metadata expired on %s", when);
	}
	if (berth_imgsig_verify(stext, slen, inforce, &s, err) < 0)
		return -1;
	if (strcmp(s.digest, digest) != 0)
		return berth_err_set(err, 0, "signature is for %s, not this image (%s)", s.digest, digest);
	if (now >= s.expires) {
		berth_trust_time_format(s.expires, when);
		return berth_err_set(err, 0, "signature expired on %s", when);
	}
	if (escape_name(s.name, file, err) < 0)
		return -1;
	if (statedir >= 0 && versions_dir(statedir, 0, &vdir, err) < 0)
		return -1;
	if (versions_read(vdir, file, &sv, err) < 0)
		return -1;
	if (sv.found && s.version < sv.version)
		return berth_err_set(err, 0,
				     "version %" PRIu64 " of '%s' is older than the highest seen (%" PRIu64
				     "): rollback refused",
				     s.version, s.name, sv.version);
	if (sv.found && s.version == sv.version && strcmp(sv.digest, digest) != 0)
		return berth_err_set(err, 0, "version %" PRIu64 " of '%s' was already seen for another image",
				     s.version, s.name);
	if (record) {
		char line[128];
		int n;

		if (newer && state_write(statedir, "delegation", dtext, dlen, err) < 0)
			return -1;
		if (!sv.found || s.version > sv.version) {
			if (vdir < 0 && versions_dir(statedir, 1, &vdir, err) < 0)
				return -1;
			n = snprintf(line, sizeof(line), "%" PRIu64 " %s\n", s.version, digest);
			if (state_write(vdir, file, line, (size_t)n, err) < 0)
				return berth_err_prefix(err, "versions");
		}
	}
	*out = s;
	return 0;
}

int berth_trust_update(int statedir, const struct berth_pubkey *root, const char *text, size_t len, int64_t now,
		       struct berth_delegation *d, struct berth_err *err)
{
	char stored[BERTH_TRUST_DOC_MAX];
	struct berth_delegation sd;
	size_t storedlen = 0;
	char when[21];
	int has_stored;

	if (berth_delegation_verify(text, len, root, d, err) < 0)
		return -1;
	if (now >= d->expires) {
		berth_trust_time_format(d->expires, when);
		return berth_err_set(err, 0, "delegation metadata expired on %s", when);
	}
	has_stored = stored_delegation(statedir, root, stored, &storedlen, &sd, err);
	if (has_stored < 0)
		return -1;
	if (has_stored && sd.version > d->version)
		return berth_err_set(err, 0,
				     "delegation version %" PRIu64 " is older than the stored one (%" PRIu64
				     "): rollback refused",
				     d->version, sd.version);
	if (has_stored && sd.version == d->version) {
		if (storedlen == len && memcmp(stored, text, len) == 0)
			return 0;
		return berth_err_set(err, 0,
				     "delegation version %" PRIu64 " differs from the stored delegation of the same version",
				     d->version);
	}
	return state_write(statedir, "delegation", text, len, err);
}

int berth_trust_state_open(const char *path, struct berth_err *err)
{
	char p[PATH_MAX];
	size_t n = strlen(path);
	int fd;

	if (n == 0 || n >= sizeof(p))
		return berth_err_set(err, ENAMETOOLONG, "trust state: %s", path);
	memcpy(p, path, n + 1);
	/* Each missing component, parents first. */
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return berth_err_sys(err, "trust state: mkdir %s", p);
		p[i] = path[i];
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return berth_err_sys(err, "trust state: open %s", path);
	return fd;
}

int berth_trust_sign(const char *body, size_t len, const struct berth_seckey *k, char *out, size_t cap,
		     size_t *outlen, struct berth_err *err)
{
	unsigned char sig[crypto_sign_ed25519_BYTES];
	char b64[sodium_base64_ENCODED_LEN(sizeof(sig), B64)];
	int n;

	if (crypto_ready(err) < 0)
		return -1;
	if (len == 0 || body[len - 1] != '\n')
		return berth_err_set(err, 0, "sign: the document does not end with a newline");
	if (crypto_sign_ed25519_detached(sig, NULL, (const unsigned char *)body, len, k->sk) != 0)
		return berth_err_set(err, 0, "sign: libsodium refused to sign");
	sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig), B64);
	if (len >= cap)
		return berth_err_set(err, 0, "sign: the document is too large");
	memmove(out, body, len);
	n = snprintf(out + len, cap - len, "signature %s %s\n", k->id, b64);
	if (n < 0 || (size_t)n >= cap - len || len + (size_t)n > BERTH_TRUST_DOC_MAX)
		return berth_err_set(err, 0, "sign: the document is larger than %d bytes", BERTH_TRUST_DOC_MAX);
	*outlen = len + (size_t)n;
	return 0;
}
