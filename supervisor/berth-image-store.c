/* berth-image: the store's other commands: ls, inspect, rm, prune, and the
 * trust state's update and show (berth-image.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "berth-image.h"
#include "imgstore.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/values.h"
#include "trust.h"

struct tagrow {
	char ref[272];
	char digest[BERTH_DIGEST_LEN + 1];
};
static struct tagrow rows[4096];
static int nrows;

static void collect(const char *name, const char *tag, const char *digest, void *arg)
{
	(void)arg;
	if (nrows < (int)(sizeof(rows) / sizeof(rows[0]))) {
		snprintf(rows[nrows].ref, sizeof(rows[nrows].ref), "%.128s:%.128s", name, tag);
		memcpy(rows[nrows].digest, digest, BERTH_DIGEST_LEN + 1);
		nrows++;
	}
}

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tagrow *)a)->ref, ((const struct tagrow *)b)->ref);
}

/* A field of an image's info ("format", "imported", ...) into OUT. */
static int info_field(const char *info, const char *key, char *out, size_t len)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\n%s ", key);
	p = strstr(info, k);
	if (!p) {
		snprintf(out, len, "-");
		return -1;
	}
	p += strlen(k);
	snprintf(out, len, "%.*s", (int)strcspn(p, "\n"), p);
	return 0;
}

static char *read_info(const char *digest, struct berth_err *err)
{
	char path[600];
	size_t len;

	if (berth_store_path(o.store, "images", digest, "info", path, sizeof(path)) < 0)
		return NULL;
	return berth_store_read(path, 1 << 20, &len, err);
}

int cmd_ls(void)
{
	struct berth_err err = { 0 };
	DIR *d;
	struct dirent *e;
	char path[600];
	int first = 1;

	if (store_open(0, &err) < 0)
		return fail(&err);
	nrows = 0;
	tags_each(collect, NULL);
	/* Images without a tag are listed too (prune removes them). */
	snprintf(path, sizeof(path), "%s/images", o.store);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		char dg[BERTH_DIGEST_LEN + 8];
		int tagged = 0;

		if (e->d_name[0] == '.' || strlen(e->d_name) != 64)
			continue;
		snprintf(dg, sizeof(dg), "sha256:%.64s", e->d_name);
		for (int i = 0; i < nrows && !tagged; i++)
			tagged = strcmp(rows[i].digest, dg) == 0;
		if (!tagged && nrows < (int)(sizeof(rows) / sizeof(rows[0]))) {
			snprintf(rows[nrows].ref, sizeof(rows[nrows].ref), "<none>");
			memcpy(rows[nrows].digest, dg, BERTH_DIGEST_LEN + 1);
			nrows++;
		}
	}
	if (d)
		closedir(d);
	qsort(rows, (size_t)nrows, sizeof(rows[0]), row_cmp);
	if (o.json)
		say("[");
	else
		say("%-40s %-19s %-11s %-10s %-20s %s\n", "IMAGE", "DIGEST", "FORMAT", "SIZE", "IMPORTED", "SIGNED");
	for (int i = 0; i < nrows; i++) {
		cleanup_free char *info = read_info(rows[i].digest, &err);
		char fmt[32], when[32], bytes[32], sg[128], size_h[32];
		const char *user = in_use_by(rows[i].digest);

		if (!info)
			continue;
		info_field(info, "format", fmt, sizeof(fmt));
		info_field(info, "imported", when, sizeof(when));
		info_field(info, "layer-bytes", bytes, sizeof(bytes));
		berth_format_size((double)strtoull(bytes, NULL, 10), size_h, sizeof(size_h));
		if (info_field(info, "signed", sg, sizeof(sg)) == 0) {
			char key[32] = "";
			unsigned long long ver = 0;

			sscanf(sg, "%31s %llu", key, &ver);
			snprintf(sg, sizeof(sg), "%s v%llu", key, ver);
		} else {
			snprintf(sg, sizeof(sg), "no");
		}
		if (o.json) {
			struct berth_buf b = { 0 };

			berth_buf_printf(&b, "%s{\"image\":", first ? "" : ",");
			berth_buf_json_str(&b, rows[i].ref);
			berth_buf_printf(&b, ",\"digest\":\"%s\",\"format\":", rows[i].digest);
			berth_buf_json_str(&b, fmt);
			berth_buf_printf(&b, ",\"layer_bytes\":%llu,\"imported\":", strtoull(bytes, NULL, 10));
			berth_buf_json_str(&b, when);
			berth_buf_printf(&b, ",\"signed\":");
			berth_buf_json_str(&b, sg);
			berth_buf_printf(&b, ",\"used_by\":");
			berth_buf_json_str(&b, user ? user : "");
			berth_buf_printf(&b, "}");
			out_data(b.p ? b.p : "", b.len);
			berth_buf_free(&b);
			first = 0;
		} else {
			say("%-40s %.19s %-11s %-10s %-20s %s%s%s\n", rows[i].ref, rows[i].digest, fmt, size_h, when, sg,
			    user ? "  used by " : "", user ? user : "");
		}
	}
	if (o.json)
		say("]\n");
	return finish(BERTH_OK, "%s", "");
}

int cmd_inspect(const char *ref)
{
	struct berth_err err = { 0 };
	char digest[BERTH_DIGEST_LEN + 1], path[600];
	cleanup_free char *info = NULL, *config = NULL;
	size_t len;

	if (store_open(0, &err) < 0)
		return fail(&err);
	if (berth_digest_valid(ref))
		snprintf(digest, sizeof(digest), "%s", ref);
	else if (berth_store_resolve(o.store, ref, digest, &err) < 0)
		return fail(&err);
	info = read_info(digest, &err);
	if (!info) {
		berth_err_set(&err, ENOENT, "image %s is not in the store", ref);
		return fail(&err);
	}
	berth_store_path(o.store, "images", digest, "config.json", path, sizeof(path));
	config = berth_store_read(path, META_MAX, &len, &err);
	nrows = 0;
	tags_each(collect, NULL);
	say("image %s\n", digest);
	for (int i = 0; i < nrows; i++)
		if (strcmp(rows[i].digest, digest) == 0)
			say("tag %s\n", rows[i].ref);
	say("%s", strchr(info, '\n') ? strchr(info, '\n') + 1 : "");
	berth_store_path(o.store, "rootfs", digest, NULL, path, sizeof(path));
	say("rootfs %s\n", path);
	if (in_use_by(digest))
		say("used-by %s\n", in_use_by(digest));
	if (config)
		say("config %s\n", config);
	return finish(BERTH_OK, "%s", "");
}

/* Blobs no image's info names: removed. Returns bytes freed. */
static uint64_t gc_blobs(int *count)
{
	char path[600], **keep = NULL;
	size_t nkeep = 0, cap = 0;
	uint64_t freed = 0;
	DIR *d;
	struct dirent *e;

	*count = 0;
	snprintf(path, sizeof(path), "%s/images", o.store);
	d = opendir(path);
	if (!d)
		return 0; /* no record readable: no blob is known unneeded */
	while ((e = readdir(d))) {
		char ip[1200], *info, *p;
		size_t len;
		struct berth_err err = { 0 };

		if (e->d_name[0] == '.')
			continue;
		snprintf(ip, sizeof(ip), "%s/%s/info", path, e->d_name);
		info = berth_store_read(ip, 1 << 20, &len, &err);
		if (!info) {
			/* An unreadable record: keep every blob (never lose data on a guess). */
			closedir(d);
			for (size_t i = 0; i < nkeep; i++)
				free(keep[i]);
			free(keep);
			return 0;
		}
		for (p = info; (p = strstr(p, "\n")); p++) {
			char dg[BERTH_DIGEST_LEN + 1];

			if ((sscanf(p + 1, "layer %71s", dg) == 1 || sscanf(p + 1, "blob %71s", dg) == 1) &&
			    berth_digest_valid(dg)) {
				if (nkeep == cap) {
					char **nk = realloc(keep, (cap = cap ? cap * 2 : 64) * sizeof(*keep));

					if (!nk)
						break;
					keep = nk;
				}
				keep[nkeep++] = strdup(dg + 7);
			}
		}
		free(info);
	}
	if (d)
		closedir(d);
	snprintf(path, sizeof(path), "%s/blobs/sha256", o.store);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		int kept = 0;
		struct stat st;
		char bp[1200];

		if (e->d_name[0] == '.')
			continue;
		for (size_t i = 0; i < nkeep && !kept; i++)
			kept = keep[i] && strcmp(keep[i], e->d_name) == 0;
		snprintf(bp, sizeof(bp), "%s/%s", path, e->d_name);
		if (!kept && lstat(bp, &st) == 0 && unlink(bp) == 0) {
			freed += (uint64_t)st.st_blocks * 512;
			(*count)++;
		}
	}
	if (d)
		closedir(d);
	for (size_t i = 0; i < nkeep; i++)
		free(keep[i]);
	free(keep);
	return freed;
}

/* Remove the image DIGEST (its tags must be gone): record first (the image
 * stops existing), then its root. Returns bytes freed. */
uint64_t remove_image(const char *digest)
{
	char path[600];
	uint64_t freed = 0;

	berth_store_path(o.store, "images", digest, NULL, path, sizeof(path));
	rm_rf(path);
	berth_store_path(o.store, "rootfs", digest, NULL, path, sizeof(path));
	freed = du(path);
	rm_rf(path);
	return freed;
}

static int digest_tagged(const char *digest)
{
	for (int i = 0; i < nrows; i++)
		if (strcmp(rows[i].digest, digest) == 0)
			return 1;
	return 0;
}

static int untag(const char *ref)
{
	char name[129], esc[130], path[800];
	const char *tag = tag_of(ref, name);

	berth_store_name_escape(name, esc);
	snprintf(path, sizeof(path), "%s/tags/%s/%s", o.store, esc, tag);
	if (unlink(path) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/tags/%s", o.store, esc);
	rmdir(path); /* fails while other tags of NAME remain */
	return 0;
}

int cmd_rm(int argc, char **argv)
{
	struct berth_err err = { 0 };
	uint64_t freed = 0;
	int images = 0, blobs = 0;
	char hb[32];

	if (store_open(1, &err) < 0)
		return fail(&err);
	/* All checked first: a refused rm changes nothing. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < argc; i++) {
			char digest[BERTH_DIGEST_LEN + 1];
			int by_digest = berth_digest_valid(argv[i]) || strchr(argv[i], '@');
			const char *user;
			int others = 0;

			nrows = 0;
			tags_each(collect, NULL);
			if (berth_digest_valid(argv[i])) {
				snprintf(digest, sizeof(digest), "%s", argv[i]);
				if (!store_has("images", digest, "info")) {
					berth_err_set(&err, ENOENT, "image %s is not in the store", argv[i]);
					return fail(&err);
				}
			} else if (berth_store_resolve(o.store, argv[i], digest, &err) < 0) {
				return fail(&err);
			}
			/* Tags of this image that stay: not named by any argument
			 * (in the check pass, all arguments are to go). */
			for (int r = 0; r < nrows; r++) {
				int going = 0;

				for (int k = 0; k < argc && !going; k++)
					going = (pass == 0 || k == i) && strcmp(rows[r].ref, argv[k]) == 0;
				others += strcmp(rows[r].digest, digest) == 0 && !going;
			}
			user = by_digest ? NULL : in_use_ref(argv[i]);
			if (user) {
				berth_err_set(&err, EBUSY, "tag %s is named by unit %s (remove or change the unit first)",
					      argv[i], user);
				return fail(&err);
			}
			user = in_use_by(digest);
			if ((by_digest || !others) && user) {
				berth_err_set(&err, EBUSY, "image %s is used by unit %s (remove or change the unit first)",
					      argv[i], user);
				return fail(&err);
			}
			if (pass == 0)
				continue;
			if (by_digest) {
				for (int r = 0; r < nrows; r++)
					if (strcmp(rows[r].digest, digest) == 0)
						untag(rows[r].ref);
			} else {
				untag(argv[i]);
				say("untagged %s\n", argv[i]);
			}
			nrows = 0;
			tags_each(collect, NULL);
			if (!digest_tagged(digest)) {
				freed += remove_image(digest);
				images++;
				say("deleted %s\n", digest);
			}
		}
	}
	freed += gc_blobs(&blobs);
	berth_format_size((double)freed, hb, sizeof(hb));
	return finish(BERTH_OK, "%d image%s and %d blob%s removed, %s freed", images, images == 1 ? "" : "s", blobs,
		      blobs == 1 ? "" : "s", hb);
}

int cmd_prune(void)
{
	struct berth_err err = { 0 };
	uint64_t freed = 0;
	int images = 0, blobs = 0, stale = 0;
	char path[600], hb[32];
	DIR *d;
	struct dirent *e;

	if (store_open(1, &err) < 0)
		return fail(&err);
	nrows = 0;
	tags_each(collect, NULL);
	/* Untagged images no unit uses. */
	snprintf(path, sizeof(path), "%s/images", o.store);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		char dg[BERTH_DIGEST_LEN + 8];

		if (e->d_name[0] == '.' || strlen(e->d_name) != 64)
			continue;
		snprintf(dg, sizeof(dg), "sha256:%.64s", e->d_name);
		if (!digest_tagged(dg) && !in_use_by(dg)) {
			freed += remove_image(dg);
			images++;
			say("deleted %s\n", dg);
		}
	}
	if (d)
		closedir(d);
	/* Roots without a record (an import cut short between its renames). */
	snprintf(path, sizeof(path), "%s/rootfs", o.store);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		char dg[BERTH_DIGEST_LEN + 8], rp[1200];

		if (e->d_name[0] == '.' || strlen(e->d_name) != 64)
			continue;
		snprintf(dg, sizeof(dg), "sha256:%.64s", e->d_name);
		if (!store_has("images", dg, "info")) {
			snprintf(rp, sizeof(rp), "%s/%s", path, e->d_name);
			freed += du(rp);
			rm_rf(rp);
			stale++;
		}
	}
	if (d)
		closedir(d);
	/* Staging left by an import that was killed (we hold the lock: none runs). */
	snprintf(path, sizeof(path), "%s/tmp", o.store);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		char tp[1200];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(tp, sizeof(tp), "%s/%s", path, e->d_name);
		freed += du(tp);
		rm_rf(tp);
		stale++;
	}
	if (d)
		closedir(d);
	freed += gc_blobs(&blobs);
	berth_format_size((double)freed, hb, sizeof(hb));
	return finish(BERTH_OK, "%d image%s, %d blob%s and %d leftover%s removed, %s freed", images,
		      images == 1 ? "" : "s", blobs, blobs == 1 ? "" : "s", stale, stale == 1 ? "" : "s", hb);
}

/* --- trust --- */

int cmd_trust_update(void)
{
	struct berth_err err = { 0 };
	struct berth_pubkey root;
	struct berth_delegation d;
	char text[BERTH_TRUST_DOC_MAX + 1], exp[32];
	size_t len = 0;
	cleanup_close int tfd = -1;

	while (len < sizeof(text)) {
		ssize_t n = read(0, text + len, sizeof(text) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (len > BERTH_TRUST_DOC_MAX) {
		berth_err_set(&err, EFBIG, "delegation: more than %d bytes", BERTH_TRUST_DOC_MAX);
		return fail(&err);
	}
	if (store_open(1, &err) < 0 || berth_pubkey_load(o.root_pub, &root, &err) < 0)
		return fail(&err);
	if (mkdir(o.trust_dir, 0700) < 0 && errno != EEXIST) {
		berth_err_sys(&err, "create %s", o.trust_dir);
		return fail(&err);
	}
	tfd = open(o.trust_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (tfd < 0) {
		berth_err_sys(&err, "open %s", o.trust_dir);
		return fail(&err);
	}
	if (berth_trust_update(tfd, &root, text, len, (int64_t)time(NULL), &d, &err) < 0)
		return fail(&err);
	iso_time(d.expires, exp, sizeof(exp));
	say("delegation version %" PRIu64 " in force, expires %s, signed by root key %s\n", d.version, exp, d.signer);
	for (int i = 0; i < d.nkeys; i++) {
		say("  key %s may sign:", d.keys[i].key.id);
		for (int k = 0; k < d.keys[i].nnames; k++)
			say(" %s", d.keys[i].names[k]);
		say("\n");
	}
	return finish(BERTH_OK, "%s", "");
}

int cmd_trust_show(void)
{
	struct berth_err err = { 0 };
	struct berth_pubkey root;
	struct berth_delegation d;
	char path[600], exp[32];
	cleanup_free char *text = NULL;
	size_t len;
	DIR *dir;
	struct dirent *e;

	if (berth_pubkey_load(o.root_pub, &root, &err) < 0)
		return fail(&err);
	say("root key %s (%s)\n", root.id, o.root_pub);
	snprintf(path, sizeof(path), "%s/delegation", o.trust_dir);
	text = berth_store_read(path, BERTH_TRUST_DOC_MAX, &len, &err);
	if (!text) {
		say("no delegation yet (one arrives with the first signed image, or berthctl trust update)\n");
		return finish(BERTH_OK, "%s", "");
	}
	if (berth_delegation_verify(text, len, &root, &d, &err) < 0)
		return fail(&err);
	iso_time(d.expires, exp, sizeof(exp));
	say("delegation version %" PRIu64 ", expires %s%s\n", d.version, exp,
	    d.expires < (int64_t)time(NULL) ? " (EXPIRED: signed images are refused)" : "");
	for (int i = 0; i < d.nkeys; i++) {
		say("  key %s may sign:", d.keys[i].key.id);
		for (int k = 0; k < d.keys[i].nnames; k++)
			say(" %s", d.keys[i].names[k]);
		say("\n");
	}
	snprintf(path, sizeof(path), "%s/versions", o.trust_dir);
	dir = opendir(path);
	while (dir && (e = readdir(dir))) {
		char vp[1200], *v;
		size_t vl;

		if (e->d_name[0] == '.')
			continue;
		snprintf(vp, sizeof(vp), "%s/%s", path, e->d_name);
		v = berth_store_read(vp, 4096, &vl, &err);
		if (v) {
			v[strcspn(v, "\n")] = '\0';
			say("highest version seen: %s %s\n", e->d_name, v);
			free(v);
		}
	}
	if (dir)
		closedir(dir);
	return finish(BERTH_OK, "%s", "");
}
