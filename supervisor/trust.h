/* Image trust (docs/trust.md): an offline root key, whose public half is baked
 * into the image at /etc/berth/trust/root.pub, delegates to publisher keys
 * through signed, versioned, expiring metadata; a publisher signs an image's
 * digest with its name, tag, version and expiry. Ed25519 and SHA-256 come from
 * libsodium; nothing here is hand-written crypto.
 *
 * Every document is line-based text, "key value" per line, signed over all
 * bytes before its final "signature KEYID BASE64" line:
 *
 *   public key file   berth-ed25519-public KEYID BASE64(32 bytes)
 *   secret key file   berth-ed25519-secret KEYID BASE64(64 bytes)      (0600)
 *   delegation        berth-delegation 1
 *                     version N
 *                     expires 2027-06-01T00:00:00Z
 *                     key KEYID BASE64(32) NAMES      (NAMES: comma-separated;
 *                                                      "*", a name like "web",
 *                                                      or "acme/" + "*": any
 *                                                      name below acme/)
 *                     ...
 *                     signature ROOTKEYID BASE64(64)
 *   image signature   berth-signature 1
 *                     name NAME
 *                     tag TAG
 *                     version N
 *                     expires 2027-01-01T00:00:00Z
 *                     digest sha256:HEX
 *                     signature KEYID BASE64(64)
 *   bundle            a delegation followed by an image signature: what
 *                     berth-sign appends to an archive as member "berth.sig".
 *
 * KEYID is the first 8 bytes of SHA-256(public key), in lowercase hex. */
#ifndef BERTH_TRUST_H
#define BERTH_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define BERTH_KEYID_LEN 16
#define BERTH_TRUST_MAX_KEYS 16
#define BERTH_TRUST_MAX_NAMES 8
#define BERTH_TRUST_DOC_MAX 16384 /* bytes of one document or bundle */
#define BERTH_SIG_MEMBER "berth.sig"

struct berth_pubkey {
	char id[BERTH_KEYID_LEN + 1];
	unsigned char pk[32];
};

struct berth_delegation {
	uint64_t version;
	int64_t expires; /* Unix seconds */
	int nkeys;
	struct {
		struct berth_pubkey key;
		char names[BERTH_TRUST_MAX_NAMES][130];
		int nnames;
	} keys[BERTH_TRUST_MAX_KEYS];
	char signer[BERTH_KEYID_LEN + 1];
};

struct berth_imgsig {
	char name[129], tag[129], digest[72];
	uint64_t version;
	int64_t expires;
	char keyid[BERTH_KEYID_LEN + 1];
};

/* A public key file's text. */
int berth_pubkey_parse(const char *text, size_t len, struct berth_pubkey *k, struct berth_err *err);
/* Read and parse a public key file. */
int berth_pubkey_load(const char *path, struct berth_pubkey *k, struct berth_err *err);

/* Verify a delegation document's signature by ROOT and parse it into D.
 * Neither expiry nor version is judged here. */
int berth_delegation_verify(const char *text, size_t len, const struct berth_pubkey *root,
			    struct berth_delegation *d, struct berth_err *err);
/* Verify an image signature document against delegation D: the signer must be
 * one of D's keys and the image name one its names allow. Expiry not judged. */
int berth_imgsig_verify(const char *text, size_t len, const struct berth_delegation *d, struct berth_imgsig *s,
			struct berth_err *err);
/* Split a bundle into its delegation and its image signature (pointers into TEXT). */
int berth_bundle_split(const char *text, size_t len, const char **deleg, size_t *dlen, const char **sig,
		       size_t *slen, struct berth_err *err);

/* The whole policy, for import (RECORD = 1) and start (RECORD = 0).
 * STATEDIR is a directory fd (/var/lib/berth/trust) holding "delegation" (the
 * highest-versioned delegation seen) and "versions/NAME" (the highest image
 * version seen per name, with its digest). The delegation in force is the
 * higher-versioned of the stored one and the bundle's; it must not be expired
 * at NOW; the image signature must verify under it, be for DIGEST, and not be
 * expired; its version must not be lower than the highest seen for its name
 * (nor equal with another digest). With RECORD, a newer delegation and a
 * higher version are written (atomically, fsynced) once all checks pass.
 * Returns 0 with OUT filled, or -1 with ERR saying which check refused.
 * STATEDIR -1 means no state at all (berth-sign verify): the bundle's
 * delegation is in force and nothing is recorded (RECORD must be 0). */
int berth_trust_check(int statedir, const struct berth_pubkey *root, const char *bundle, size_t len,
		      const char *digest, int64_t now, int record, struct berth_imgsig *out, struct berth_err *err);

/* Install a delegation document on its own (berthctl trust update): verified by
 * ROOT, not expired at NOW, version higher than the stored one (the same
 * version only with the same content). How keys are rotated and revoked. */
int berth_trust_update(int statedir, const struct berth_pubkey *root, const char *text, size_t len, int64_t now,
		       struct berth_delegation *d, struct berth_err *err);

/* A small regular file (key, delegation) whole into BUF: at most CAP - 1
 * bytes, NUL-terminated, length in *LEN; PRIVATE: refused when group or
 * others may access it (a secret key). */
int berth_trust_read_file(const char *path, char *buf, size_t cap, size_t *len, int private, struct berth_err *err);

/* Pure: "2027-06-01T00:00:00Z" to Unix seconds (UTC only). */
int berth_trust_time_parse(const char *s, int64_t *out);
/* Pure: the reverse, into OUT (21 bytes); -1 outside years 1970-9999. */
int berth_trust_time_format(int64_t t, char out[21]);

/* Pure: an image name ([a-z0-9] then [a-z0-9._/-], at most 128) and a name
 * pattern of a delegation: "*", NAME, or NAME followed by "/" and "*" for
 * every name below NAME/. */
int berth_trust_name_valid(const char *s);
int berth_trust_pattern_valid(const char *s);

/* KEYID of a public key: the first 8 bytes of its SHA-256, lowercase hex. */
void berth_keyid(const unsigned char pk[32], char id[BERTH_KEYID_LEN + 1]);

/* Open (creating it and its missing parents, 0700) the state directory PATH
 * for berth_trust_check and berth_trust_update. Returns the fd or -1 with ERR. */
int berth_trust_state_open(const char *path, struct berth_err *err);

/* Publisher side (berth-sign; never part of a trust decision). */
struct berth_seckey {
	char id[BERTH_KEYID_LEN + 1];
	unsigned char sk[64]; /* libsodium's: seed, then the public key */
};
/* A secret key file's text; the key's halves must agree. Wipe K with
 * sodium_memzero when done. */
int berth_seckey_parse(const char *text, size_t len, struct berth_seckey *k, struct berth_err *err);
/* Read and parse a secret key file, which must not be accessible to group or others. */
int berth_seckey_load(const char *path, struct berth_seckey *k, struct berth_err *err);
/* Sign BODY (a document up to its signature line) with K: OUT gets BODY then
 * "signature KEYID BASE64\n", *OUTLEN its length. -1 if it exceeds CAP or
 * BERTH_TRUST_DOC_MAX. */
int berth_trust_sign(const char *body, size_t len, const struct berth_seckey *k, char *out, size_t cap,
		     size_t *outlen, struct berth_err *err);
/* Parse a delegation WITHOUT checking its signature (D->signer is the key
 * that claims it): berth-sign's check of its own inputs, nothing more. */
int berth_delegation_parse(const char *text, size_t len, struct berth_delegation *d, struct berth_err *err);

#endif
