/* The image JSON documents of imgmeta.h parsed strictly with cJSON: every
 * field Berth reads is checked for its type and bounds, a wrong one is an
 * error naming it ("manifest: layers[2].digest: not a sha256 digest"), and
 * nothing too long is cut short. Pure: no file system. */
#include <cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "imgmeta.h"

#define DOC_MAX (4 << 20)   /* bytes of one document */
#define STR_MAX 65536       /* bytes of one string in a configuration */
#define ARGV_MAX 4096       /* items of Entrypoint, Cmd or Env */
#define PLATFORM_MAX 32     /* os, architecture (struct berth_descriptor) */

int berth_digest_valid(const char *s)
{
	if (!s || strncmp(s, "sha256:", 7) != 0)
		return 0;
	for (int i = 7; i < BERTH_DIGEST_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[BERTH_DIGEST_LEN] == '\0';
}

static const struct {
	const char *name;
	enum berth_media media;
} media_names[] = {
	{ "application/vnd.oci.image.index.v1+json", BERTH_MEDIA_OCI_INDEX },
	{ "application/vnd.oci.image.manifest.v1+json", BERTH_MEDIA_OCI_MANIFEST },
	{ "application/vnd.oci.image.config.v1+json", BERTH_MEDIA_OCI_CONFIG },
	{ "application/vnd.docker.distribution.manifest.list.v2+json", BERTH_MEDIA_DOCKER_LIST },
	{ "application/vnd.docker.distribution.manifest.v2+json", BERTH_MEDIA_DOCKER_MANIFEST },
	{ "application/vnd.docker.container.image.v1+json", BERTH_MEDIA_DOCKER_CONFIG },
	{ "application/vnd.oci.image.layer.v1.tar", BERTH_MEDIA_LAYER_TAR },
	{ "application/vnd.oci.image.layer.v1.tar+gzip", BERTH_MEDIA_LAYER_GZIP },
	{ "application/vnd.docker.image.rootfs.diff.tar.gzip", BERTH_MEDIA_LAYER_GZIP },
};

enum berth_media berth_media_from_name(const char *s)
{
	for (size_t i = 0; s && i < sizeof(media_names) / sizeof(media_names[0]); i++)
		if (strcmp(s, media_names[i].name) == 0)
			return media_names[i].media;
	return BERTH_MEDIA_UNKNOWN;
}

/* The document being read: its name leads every message. */
struct doc {
	const char *name;
	struct berth_err *err;
};

static int bad(struct doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct doc *d, const char *fmt, ...)
{
	char msg[BERTH_ERR_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return berth_err_set(d->err, EINVAL, "%s: %s", d->name, msg);
}

/* "WHERE.KEY", or "KEY" at the top. */
static const char *loc(const char *where, const char *key, char *buf, size_t len)
{
	if (where[0])
		snprintf(buf, len, "%s.%s", where, key);
	else
		snprintf(buf, len, "%s", key);
	return buf;
}

/* The whole of JSON[0..LEN) as one value. cJSON cuts a string at "\u0000"
 * without a word, so a document holding one (or a raw NUL) is refused. */
static cJSON *parse_doc(struct doc *d, const char *json, size_t len)
{
	const char *end = NULL;
	cJSON *root;

	if (len > DOC_MAX) {
		bad(d, "larger than %d bytes", DOC_MAX);
		return NULL;
	}
	if (memchr(json, '\0', len)) {
		bad(d, "contains a NUL byte");
		return NULL;
	}
	for (size_t i = 0; i + 1 < len; i++) {
		if (json[i] != '\\')
			continue;
		if (json[i + 1] == 'u' && i + 5 < len && memcmp(json + i + 2, "0000", 4) == 0) {
			bad(d, "contains \\u0000");
			return NULL;
		}
		i++; /* the escaped character */
	}
	root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (!root) {
		bad(d, "not valid JSON");
		return NULL;
	}
	for (; end && end < json + len; end++)
		if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r') {
			cJSON_Delete(root);
			bad(d, "data after the JSON value");
			return NULL;
		}
	return root;
}

/* OBJ's member KEY (NULL when absent); a key written twice is an error
 * (JSON parsers disagree on which one counts). */
static int field(struct doc *d, const cJSON *obj, const char *where, const char *key, const cJSON **out)
{
	const cJSON *it, *found = NULL;
	char b[160];

	cJSON_ArrayForEach(it, obj) {
		if (!it->string || strcmp(it->string, key) != 0)
			continue;
		if (found)
			return bad(d, "%s: written twice", loc(where, key, b, sizeof(b)));
		found = it;
	}
	*out = found;
	return 0;
}

/* A whole number in 0..2^53-1: every integer a double holds exactly, so a
 * larger one written in the document cannot have been rounded to it. */
static int json_size(const cJSON *n, int64_t *out)
{
	double v;

	if (!cJSON_IsNumber(n))
		return -1;
	v = n->valuedouble;
	if (!(v >= 0) || v >= 9007199254740992.0 || v != (double)(int64_t)v)
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* A string member into OUT (LEN bytes); absent leaves OUT "" unless REQUIRED. */
static int str_field(struct doc *d, const cJSON *obj, const char *where, const char *key, int required, char *out,
		     size_t len)
{
	const cJSON *v;
	char b[160];

	out[0] = '\0';
	if (field(d, obj, where, key, &v) < 0)
		return -1;
	if (!v && !required)
		return 0;
	if (!cJSON_IsString(v))
		return bad(d, "%s: missing or not a string", loc(where, key, b, sizeof(b)));
	if (strlen(v->valuestring) >= len)
		return bad(d, "%s: longer than %zu bytes", loc(where, key, b, sizeof(b)), len - 1);
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

static int schema_version(struct doc *d, const cJSON *root)
{
	const cJSON *v;
	int64_t n;

	if (field(d, root, "", "schemaVersion", &v) < 0)
		return -1;
	if (json_size(v, &n) < 0 || n != 2)
		return bad(d, "schemaVersion: must be 2");
	return 0;
}

/* An OCI content descriptor at WHERE. */
static int descriptor(struct doc *d, const cJSON *o, const char *where, struct berth_descriptor *out)
{
	const cJSON *v, *it;
	char b[160];

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(o))
		return bad(d, "%s: not an object", where);
	if (str_field(d, o, where, "mediaType", 1, out->media_name, sizeof(out->media_name)) < 0)
		return -1;
	out->media = berth_media_from_name(out->media_name);
	if (field(d, o, where, "digest", &v) < 0)
		return -1;
	if (!cJSON_IsString(v) || !berth_digest_valid(v->valuestring))
		return bad(d, "%s: not a sha256 digest", loc(where, "digest", b, sizeof(b)));
	memcpy(out->digest, v->valuestring, BERTH_DIGEST_LEN + 1);
	if (field(d, o, where, "size", &v) < 0)
		return -1;
	if (json_size(v, &out->size) < 0)
		return bad(d, "%s: missing or not a whole number >= 0", loc(where, "size", b, sizeof(b)));
	if (field(d, o, where, "annotations", &v) < 0)
		return -1;
	if (v) {
		char w[160];

		if (!cJSON_IsObject(v))
			return bad(d, "%s: not an object", loc(where, "annotations", b, sizeof(b)));
		cJSON_ArrayForEach(it, v)
			if (!cJSON_IsString(it))
				return bad(d, "%s.%s: not a string", loc(where, "annotations", b, sizeof(b)),
					   it->string);
		if (str_field(d, v, loc(where, "annotations", w, sizeof(w)), "org.opencontainers.image.ref.name", 0,
			      out->ref_name, sizeof(out->ref_name)) < 0)
			return -1;
	}
	if (field(d, o, where, "platform", &v) < 0)
		return -1;
	if (v) {
		char w[160];

		loc(where, "platform", w, sizeof(w));
		if (!cJSON_IsObject(v))
			return bad(d, "%s: not an object", w);
		if (str_field(d, v, w, "os", 1, out->os, sizeof(out->os)) < 0 ||
		    str_field(d, v, w, "architecture", 1, out->arch, sizeof(out->arch)) < 0)
			return -1;
	}
	return 0;
}

/* The document's own mediaType, when it names one: one of A or B. */
static int own_media(struct doc *d, const cJSON *root, enum berth_media a, enum berth_media b, const char *what)
{
	char name[128];
	enum berth_media m;

	if (str_field(d, root, "", "mediaType", 0, name, sizeof(name)) < 0)
		return -1;
	if (!name[0])
		return 0;
	m = berth_media_from_name(name);
	if (m != a && m != b)
		return bad(d, "mediaType: not %s: %s", what, name);
	return 0;
}

int berth_oci_index_parse(const char *json, size_t len, struct berth_descriptor *out, int max,
			  struct berth_err *err)
{
	struct doc d = { "index", err };
	cJSON *root = parse_doc(&d, json, len);
	const cJSON *list, *it;
	int n = 0, r = -1;

	if (!root)
		return -1;
	if (!cJSON_IsObject(root)) {
		bad(&d, "not an object");
		goto out;
	}
	if (schema_version(&d, root) < 0 ||
	    own_media(&d, root, BERTH_MEDIA_OCI_INDEX, BERTH_MEDIA_DOCKER_LIST, "an image index") < 0 ||
	    field(&d, root, "", "manifests", &list) < 0)
		goto out;
	if (!cJSON_IsArray(list)) {
		bad(&d, "manifests: missing or not an array");
		goto out;
	}
	if (cJSON_GetArraySize(list) > max) {
		bad(&d, "manifests: more than %d", max);
		goto out;
	}
	cJSON_ArrayForEach(it, list) {
		char where[32];
		enum berth_media m;

		snprintf(where, sizeof(where), "manifests[%d]", n);
		if (descriptor(&d, it, where, &out[n]) < 0)
			goto out;
		m = out[n].media;
		if (m != BERTH_MEDIA_OCI_MANIFEST && m != BERTH_MEDIA_DOCKER_MANIFEST && m != BERTH_MEDIA_OCI_INDEX &&
		    m != BERTH_MEDIA_DOCKER_LIST) {
			bad(&d, "%s: unsupported media type %s", where, out[n].media_name);
			goto out;
		}
		n++;
	}
	r = n;
out:
	cJSON_Delete(root);
	return r;
}

int berth_oci_manifest_parse(const char *json, size_t len, struct berth_manifest *m, struct berth_err *err)
{
	struct doc d = { "manifest", err };
	cJSON *root = parse_doc(&d, json, len);
	const cJSON *cfg, *layers, *it;
	int r = -1;

	memset(m, 0, sizeof(*m));
	if (!root)
		return -1;
	if (!cJSON_IsObject(root)) {
		bad(&d, "not an object");
		goto out;
	}
	if (schema_version(&d, root) < 0 ||
	    own_media(&d, root, BERTH_MEDIA_OCI_MANIFEST, BERTH_MEDIA_DOCKER_MANIFEST, "an image manifest") < 0 ||
	    field(&d, root, "", "config", &cfg) < 0 || field(&d, root, "", "layers", &layers) < 0)
		goto out;
	if (!cfg) {
		bad(&d, "config: missing");
		goto out;
	}
	if (descriptor(&d, cfg, "config", &m->config) < 0)
		goto out;
	if (m->config.media != BERTH_MEDIA_OCI_CONFIG && m->config.media != BERTH_MEDIA_DOCKER_CONFIG) {
		bad(&d, "config: unsupported media type %s", m->config.media_name);
		goto out;
	}
	if (!cJSON_IsArray(layers)) {
		bad(&d, "layers: missing or not an array");
		goto out;
	}
	if (cJSON_GetArraySize(layers) > BERTH_IMG_MAX_LAYERS) {
		bad(&d, "layers: more than %d", BERTH_IMG_MAX_LAYERS);
		goto out;
	}
	cJSON_ArrayForEach(it, layers) {
		struct berth_descriptor *l = &m->layers[m->nlayers];
		char where[32];

		snprintf(where, sizeof(where), "layers[%d]", m->nlayers);
		if (descriptor(&d, it, where, l) < 0)
			goto out;
		if (l->media != BERTH_MEDIA_LAYER_TAR && l->media != BERTH_MEDIA_LAYER_GZIP) {
			bad(&d, "layer %d: unsupported media type %s", m->nlayers, l->media_name);
			goto out;
		}
		m->nlayers++;
	}
	r = 0;
out:
	cJSON_Delete(root);
	return r;
}

/* A path inside the archive, normalised (berth_tar_path_normalise) into OUT. */
static int archive_path(struct doc *d, const cJSON *v, const char *where, char out[BERTH_TAR_PATH_MAX_META])
{
	char norm[BERTH_TAR_PATH_MAX];

	if (!cJSON_IsString(v))
		return bad(d, "%s: missing or not a string", where);
	if (berth_tar_path_normalise(v->valuestring, norm, d->err) < 0)
		return berth_err_prefix(d->err, "%s: %s", d->name, where);
	if (!norm[0])
		return bad(d, "%s: empty path", where);
	if (strlen(norm) >= BERTH_TAR_PATH_MAX_META)
		return bad(d, "%s: longer than %d bytes", where, BERTH_TAR_PATH_MAX_META - 1);
	memcpy(out, norm, strlen(norm) + 1);
	return 0;
}

static int docker_image(struct doc *d, const cJSON *o, int idx, struct berth_docker_image *img)
{
	const cJSON *cfg, *layers, *tags, *it;
	char where[64];

	memset(img, 0, sizeof(*img));
	snprintf(where, sizeof(where), "[%d]", idx);
	if (!cJSON_IsObject(o))
		return bad(d, "%s: not an object", where);
	if (field(d, o, where, "Config", &cfg) < 0 || field(d, o, where, "Layers", &layers) < 0 ||
	    field(d, o, where, "RepoTags", &tags) < 0)
		return -1;
	snprintf(where, sizeof(where), "[%d].Config", idx);
	if (archive_path(d, cfg, where, img->config) < 0)
		return -1;
	if (!cJSON_IsArray(layers))
		return bad(d, "[%d].Layers: missing or not an array", idx);
	if (cJSON_GetArraySize(layers) > BERTH_IMG_MAX_LAYERS)
		return bad(d, "[%d].Layers: more than %d", idx, BERTH_IMG_MAX_LAYERS);
	cJSON_ArrayForEach(it, layers) {
		snprintf(where, sizeof(where), "[%d].Layers[%d]", idx, img->nlayers);
		if (archive_path(d, it, where, img->layers[img->nlayers]) < 0)
			return -1;
		img->nlayers++;
	}
	if (!tags || cJSON_IsNull(tags))
		return 0;
	if (!cJSON_IsArray(tags))
		return bad(d, "[%d].RepoTags: not an array", idx);
	if (cJSON_GetArraySize(tags) > (int)(sizeof(img->repo_tags) / sizeof(img->repo_tags[0])))
		return bad(d, "[%d].RepoTags: more than %zu", idx, sizeof(img->repo_tags) / sizeof(img->repo_tags[0]));
	cJSON_ArrayForEach(it, tags) {
		const char *s = cJSON_IsString(it) ? it->valuestring : NULL;

		if (!s || !s[0] || strlen(s) >= BERTH_IMG_REF_MAX)
			return bad(d, "[%d].RepoTags[%d]: not a string of 1 to %d bytes", idx, img->ntags,
				   BERTH_IMG_REF_MAX - 1);
		for (const char *p = s; *p; p++)
			if ((unsigned char)*p <= ' ' || *p == 0x7f)
				return bad(d, "[%d].RepoTags[%d]: contains a space or control character", idx,
					   img->ntags);
		memcpy(img->repo_tags[img->ntags++], s, strlen(s) + 1);
	}
	return 0;
}

int berth_docker_manifest_parse(const char *json, size_t len, struct berth_docker_image *out, int max,
				struct berth_err *err)
{
	struct doc d = { "manifest.json", err };
	cJSON *root = parse_doc(&d, json, len);
	const cJSON *it;
	int n = 0, r = -1;

	if (!root)
		return -1;
	if (!cJSON_IsArray(root)) {
		bad(&d, "not an array");
		goto out;
	}
	if (cJSON_GetArraySize(root) == 0) {
		bad(&d, "no images");
		goto out;
	}
	if (cJSON_GetArraySize(root) > max) {
		bad(&d, "more than %d images", max);
		goto out;
	}
	cJSON_ArrayForEach(it, root) {
		if (docker_image(&d, it, n, &out[n]) < 0)
			goto out;
		n++;
	}
	r = n;
out:
	cJSON_Delete(root);
	return r;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void berth_image_config_free(struct berth_image_config *c)
{
	strv_free(c->entrypoint);
	strv_free(c->cmd);
	strv_free(c->env);
	strv_free(c->diff_ids);
	free(c->working_dir);
	free(c->user);
	free(c->os);
	free(c->arch);
	memset(c, 0, sizeof(*c));
}

/* A string at WHERE, copied; NULL with the error set. */
static char *str_dup(struct doc *d, const cJSON *v, const char *where)
{
	char *s;

	if (!cJSON_IsString(v)) {
		bad(d, "%s: not a string", where);
		return NULL;
	}
	if (strlen(v->valuestring) > STR_MAX) {
		bad(d, "%s: longer than %d bytes", where, STR_MAX);
		return NULL;
	}
	s = strdup(v->valuestring);
	if (!s)
		berth_err_set(d->err, ENOMEM, "%s: %s", d->name, where);
	return s;
}

enum strv_check { STRV_ANY, STRV_ENV, STRV_DIGEST };

/* An optional array of strings (null is absent) into *OUT, NULL-terminated. */
static int strv_field(struct doc *d, const cJSON *obj, const char *where, const char *key, int max,
		      enum strv_check check, char ***out, int *count)
{
	const cJSON *v, *it;
	char w[160], b[192];
	int n = 0;

	*out = NULL;
	if (field(d, obj, where, key, &v) < 0)
		return -1;
	if (!v || cJSON_IsNull(v))
		return 0;
	loc(where, key, w, sizeof(w));
	if (!cJSON_IsArray(v))
		return bad(d, "%s: not an array", w);
	if (cJSON_GetArraySize(v) > max)
		return bad(d, "%s: more than %d items", w, max);
	*out = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(char *));
	if (!*out)
		return berth_err_set(d->err, ENOMEM, "%s: %s", d->name, w);
	cJSON_ArrayForEach(it, v) {
		snprintf(b, sizeof(b), "%s[%d]", w, n);
		if (!((*out)[n] = str_dup(d, it, b)))
			return -1;
		if (check == STRV_ENV && ((*out)[n][0] == '=' || !strchr((*out)[n], '=')))
			return bad(d, "%s: not KEY=VALUE", b);
		if (check == STRV_DIGEST && !berth_digest_valid((*out)[n]))
			return bad(d, "%s: not a sha256 digest", b);
		n++;
	}
	if (count)
		*count = n;
	return 0;
}

/* An optional string member, copied (NULL when absent). */
static int str_opt(struct doc *d, const cJSON *obj, const char *where, const char *key, size_t max, char **out)
{
	const cJSON *v;
	char w[160];

	*out = NULL;
	if (field(d, obj, where, key, &v) < 0)
		return -1;
	if (!v)
		return 0;
	loc(where, key, w, sizeof(w));
	if (cJSON_IsString(v) && strlen(v->valuestring) > max)
		return bad(d, "%s: longer than %zu bytes", w, max);
	*out = str_dup(d, v, w);
	return *out ? 0 : -1;
}

static int config_parse(struct doc *d, const cJSON *root, struct berth_image_config *c)
{
	const cJSON *cfg, *rootfs;
	char type[16];

	if (!cJSON_IsObject(root))
		return bad(d, "not an object");
	if (str_opt(d, root, "", "os", PLATFORM_MAX, &c->os) < 0 ||
	    str_opt(d, root, "", "architecture", PLATFORM_MAX, &c->arch) < 0 || field(d, root, "", "config", &cfg) < 0)
		return -1;
	if (cfg && !cJSON_IsNull(cfg)) {
		if (!cJSON_IsObject(cfg))
			return bad(d, "config: not an object");
		if (strv_field(d, cfg, "config", "Entrypoint", ARGV_MAX, STRV_ANY, &c->entrypoint, NULL) < 0 ||
		    strv_field(d, cfg, "config", "Cmd", ARGV_MAX, STRV_ANY, &c->cmd, NULL) < 0 ||
		    strv_field(d, cfg, "config", "Env", ARGV_MAX, STRV_ENV, &c->env, NULL) < 0 ||
		    str_opt(d, cfg, "config", "WorkingDir", 4095, &c->working_dir) < 0 ||
		    str_opt(d, cfg, "config", "User", 255, &c->user) < 0)
			return -1;
	}
	if (field(d, root, "", "rootfs", &rootfs) < 0)
		return -1;
	if (!cJSON_IsObject(rootfs))
		return bad(d, "rootfs: missing or not an object");
	if (str_field(d, rootfs, "rootfs", "type", 1, type, sizeof(type)) < 0)
		return -1;
	if (strcmp(type, "layers") != 0)
		return bad(d, "rootfs.type: must be \"layers\"");
	if (strv_field(d, rootfs, "rootfs", "diff_ids", BERTH_IMG_MAX_LAYERS, STRV_DIGEST, &c->diff_ids,
		       &c->ndiff_ids) < 0)
		return -1;
	if (!c->diff_ids)
		return bad(d, "rootfs.diff_ids: missing");
	return 0;
}

int berth_image_config_parse(const char *json, size_t len, struct berth_image_config *c, struct berth_err *err)
{
	struct doc d = { "config", err };
	cJSON *root;
	int r;

	memset(c, 0, sizeof(*c));
	root = parse_doc(&d, json, len);
	if (!root)
		return -1;
	r = config_parse(&d, root, c);
	cJSON_Delete(root);
	if (r < 0)
		berth_image_config_free(c);
	return r;
}

static int name_char(char ch, int first)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
		return 1;
	return !first && (ch == '.' || ch == '_' || ch == '/' || ch == '-');
}

static int tag_char(char ch, int first)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_')
		return 1;
	return !first && (ch == '.' || ch == '-');
}

int berth_image_ref_parse(const char *ref, char name[129], char tag[129], char digest[BERTH_DIGEST_LEN + 1],
			  struct berth_err *err)
{
	size_t nlen = strcspn(ref, ":@"), i;
	const char *rest = ref + nlen;

	name[0] = tag[0] = digest[0] = '\0';
	if (nlen == 0 || nlen > 128)
		return berth_err_set(err, EINVAL, "image reference %.200s: the name must have 1 to 128 characters", ref);
	for (i = 0; i < nlen; i++)
		if (!name_char(ref[i], i == 0))
			return berth_err_set(err, EINVAL,
					     "image reference %.200s: the name must be [a-z0-9] then [a-z0-9._/-]", ref);
	if (*rest == '@') {
		if (!berth_digest_valid(rest + 1))
			return berth_err_set(err, EINVAL, "image reference %.200s: not a sha256 digest after '@'", ref);
		memcpy(digest, rest + 1, BERTH_DIGEST_LEN + 1);
	} else if (*rest == ':') {
		size_t tlen = strlen(rest + 1);

		if (tlen == 0 || tlen > 128)
			return berth_err_set(err, EINVAL, "image reference %.200s: the tag must have 1 to 128 characters",
					     ref);
		for (i = 0; i < tlen; i++)
			if (!tag_char(rest[1 + i], i == 0))
				return berth_err_set(err, EINVAL,
						     "image reference %.200s: the tag must be [A-Za-z0-9_] then [A-Za-z0-9_.-]",
						     ref);
		memcpy(tag, rest + 1, tlen + 1);
	} else {
		return berth_err_set(err, EINVAL, "image reference %.200s: needs :TAG or @sha256:DIGEST", ref);
	}
	memcpy(name, ref, nlen);
	name[nlen] = '\0';
	return 0;
}
