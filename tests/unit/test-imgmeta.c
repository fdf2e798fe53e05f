/* Unit tests of imgmeta.c: OCI index, manifest and configuration documents,
 * docker-save's manifest.json, digests and image references; each refusal
 * checked by its message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgmeta.h"
#include "t.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_GZ "application/vnd.oci.image.layer.v1.tar+gzip"

static struct berth_err err;

static void digests_and_media(void)
{
	CHECK(berth_digest_valid(D1));
	CHECK(berth_digest_valid("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	CHECK(!berth_digest_valid("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
	CHECK(!berth_digest_valid(D1 "0"));
	CHECK(!berth_digest_valid("sha256:111"));
	CHECK(!berth_digest_valid("sha512:1111111111111111111111111111111111111111111111111111111111111111"));
	CHECK(!berth_digest_valid(""));
	CHECK(!berth_digest_valid(NULL));
	CHECK(berth_media_from_name(OCI_GZ) == BERTH_MEDIA_LAYER_GZIP);
	CHECK(berth_media_from_name("application/vnd.docker.image.rootfs.diff.tar.gzip") == BERTH_MEDIA_LAYER_GZIP);
	CHECK(berth_media_from_name("application/vnd.oci.image.layer.v1.tar") == BERTH_MEDIA_LAYER_TAR);
	CHECK(berth_media_from_name("application/vnd.oci.image.layer.v1.tar+zstd") == BERTH_MEDIA_UNKNOWN);
	CHECK(berth_media_from_name("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip") ==
	      BERTH_MEDIA_UNKNOWN);
	CHECK(berth_media_from_name(OCI_MANIFEST) == BERTH_MEDIA_OCI_MANIFEST);
	CHECK(berth_media_from_name("application/vnd.docker.distribution.manifest.list.v2+json") ==
	      BERTH_MEDIA_DOCKER_LIST);
}

static int index_err(const char *json, int max, const char *want)
{
	struct berth_descriptor d[4];

	if (berth_oci_index_parse(json, strlen(json), d, max, &err) != -1) {
		printf("  accepted: %s\n", json);
		return 0;
	}
	if (strcmp(err.msg, want) != 0) {
		printf("  got \"%s\", want \"%s\"\n", err.msg, want);
		return 0;
	}
	return 1;
}

static void oci_index(void)
{
	static const char good[] =
		"{\"schemaVersion\": 2, \"mediaType\": \"application/vnd.oci.image.index.v1+json\",\n"
		" \"manifests\": [\n"
		"  {\"mediaType\": \"" OCI_MANIFEST "\", \"digest\": \"" D1 "\", \"size\": 1234,\n"
		"   \"annotations\": {\"org.opencontainers.image.ref.name\": \"1.0\", \"other\": \"x\"},\n"
		"   \"platform\": {\"os\": \"linux\", \"architecture\": \"amd64\", \"variant\": \"v8\"}},\n"
		"  {\"mediaType\": \"application/vnd.oci.image.index.v1+json\", \"digest\": \"" D2 "\", \"size\": 0}\n"
		" ]}\n";
	struct berth_descriptor d[4];

	CHECK(berth_oci_index_parse(good, strlen(good), d, 4, &err) == 2);
	CHECK(d[0].media == BERTH_MEDIA_OCI_MANIFEST && d[0].size == 1234);
	CHECK_STR(d[0].digest, D1);
	CHECK_STR(d[0].ref_name, "1.0");
	CHECK_STR(d[0].os, "linux");
	CHECK_STR(d[0].arch, "amd64");
	CHECK(d[1].media == BERTH_MEDIA_OCI_INDEX && d[1].size == 0 && d[1].ref_name[0] == '\0' && !d[1].os[0]);
	CHECK(berth_oci_index_parse("{\"schemaVersion\":2,\"manifests\":[]}", 34, d, 4, &err) == 0);

	CHECK(index_err(good, 1, "index: manifests: more than 1"));
	CHECK(index_err("{\"schemaVersion\": 1, \"manifests\": []}", 4, "index: schemaVersion: must be 2"));
	CHECK(index_err("{\"manifests\": []}", 4, "index: schemaVersion: must be 2"));
	CHECK(index_err("{\"schemaVersion\": 2}", 4, "index: manifests: missing or not an array"));
	CHECK(index_err("{\"schemaVersion\": 2, \"manifests\": {}}", 4, "index: manifests: missing or not an array"));
	CHECK(index_err("[]", 4, "index: not an object"));
	CHECK(index_err("{\"schemaVersion\": 2, \"manifests\": [", 4, "index: not valid JSON"));
	CHECK(index_err("{\"schemaVersion\": 2, \"manifests\": []} x", 4, "index: data after the JSON value"));
	CHECK(index_err("{\"schemaVersion\": 2, \"schemaVersion\": 2, \"manifests\": []}", 4,
			"index: schemaVersion: written twice"));
	CHECK(index_err("{\"schemaVersion\": 2, \"mediaType\": \"" OCI_MANIFEST "\", \"manifests\": []}", 4,
			"index: mediaType: not an image index: " OCI_MANIFEST));
	CHECK(index_err("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" OCI_GZ "\",\"digest\":\"" D1
			"\",\"size\":1}]}",
			4, "index: manifests[0]: unsupported media type " OCI_GZ));
	CHECK(index_err("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" OCI_MANIFEST
			"\",\"digest\":\"sha256:abc\",\"size\":1}]}",
			4, "index: manifests[0].digest: not a sha256 digest"));
	CHECK(index_err("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" OCI_MANIFEST "\",\"digest\":\"" D1
			"\",\"size\":-1}]}",
			4, "index: manifests[0].size: missing or not a whole number >= 0"));
	CHECK(index_err("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" OCI_MANIFEST "\",\"digest\":\"" D1
			"\",\"size\":1.5}]}",
			4, "index: manifests[0].size: missing or not a whole number >= 0"));
	CHECK(index_err("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" OCI_MANIFEST "\",\"digest\":\"" D1
			"\",\"size\":\"1\"}]}",
			4, "index: manifests[0].size: missing or not a whole number >= 0"));
	CHECK(index_err("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" OCI_MANIFEST "\",\"digest\":\"" D1
			"\",\"size\":1e300}]}",
			4, "index: manifests[0].size: missing or not a whole number >= 0"));
	CHECK(index_err("{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" D1 "\",\"size\":1}]}", 4,
			"index: manifests[0].mediaType: missing or not a string"));
	CHECK(index_err("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" OCI_MANIFEST "\",\"digest\":\"" D1
			"\",\"size\":1,\"platform\":{\"os\":\"linux\"}}]}",
			4, "index: manifests[0].platform.architecture: missing or not a string"));
	CHECK(index_err("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" OCI_MANIFEST "\",\"digest\":\"" D1
			"\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":"
			"\"an-architecture-name-of-more-than-31-bytes\"}}]}",
			4, "index: manifests[0].platform.architecture: longer than 31 bytes"));
	CHECK(index_err("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" OCI_MANIFEST "\",\"digest\":\"" D1
			"\",\"size\":1,\"annotations\":{\"a\":1}}]}",
			4, "index: manifests[0].annotations.a: not a string"));
	/* cJSON would cut "1.0\u0000x" to "1.0": refused, not truncated. */
	CHECK(index_err("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" OCI_MANIFEST "\",\"digest\":\"" D1
			"\",\"size\":1,\"annotations\":{\"org.opencontainers.image.ref.name\":\"1.0\\u0000x\"}}]}",
			4, "index: contains \\u0000"));
	/* An escaped backslash before "u0000" is text, not a NUL. */
	{
		static const char ok[] = "{\"schemaVersion\":2,\"manifests\":[],\"x\":\"\\\\u0000\"}";

		CHECK(berth_oci_index_parse(ok, strlen(ok), d, 4, &err) == 0);
	}
	{
		char big[600];

		snprintf(big, sizeof(big),
			 "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" OCI_MANIFEST "\",\"digest\":\"" D1
			 "\",\"size\":1,\"annotations\":{\"org.opencontainers.image.ref.name\":\"%0300d\"}}]}",
			 0);
		CHECK(index_err(big, 4, "index: manifests[0].annotations.org.opencontainers.image.ref.name: "
					"longer than 255 bytes"));
	}
}

/* A manifest with LAYERS (a JSON array's inside) and CONFIG_MEDIA. */
static int manifest_err(const char *config_media, const char *layers, const char *want)
{
	static char json[40000];
	struct berth_manifest *m = malloc(sizeof(*m));
	int r;

	snprintf(json, sizeof(json),
		 "{\"schemaVersion\": 2, \"config\": {\"mediaType\": \"%s\", \"digest\": \"" D1 "\", \"size\": 7},"
		 " \"layers\": [%s]}",
		 config_media, layers);
	r = berth_oci_manifest_parse(json, strlen(json), m, &err);
	free(m);
	if (r != -1) {
		printf("  accepted: %s\n", json);
		return 0;
	}
	if (strcmp(err.msg, want) != 0) {
		printf("  got \"%s\", want \"%s\"\n", err.msg, want);
		return 0;
	}
	return 1;
}

#define LAYER(media, digest) "{\"mediaType\": \"" media "\", \"digest\": \"" digest "\", \"size\": 100}"

static void oci_manifest(void)
{
	static const char good[] =
		"{\"schemaVersion\": 2, \"mediaType\": \"" OCI_MANIFEST "\",\n"
		" \"config\": {\"mediaType\": \"" OCI_CONFIG "\", \"digest\": \"" D1 "\", \"size\": 7},\n"
		" \"layers\": [" LAYER(OCI_GZ, D2) ", " LAYER("application/vnd.oci.image.layer.v1.tar", D3) "],\n"
		" \"annotations\": {\"x\": \"y\"}}";
	static const char docker[] =
		"{\"schemaVersion\": 2, \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
		" \"config\": {\"mediaType\": \"application/vnd.docker.container.image.v1+json\", \"digest\": \"" D1
		"\", \"size\": 7},\n"
		" \"layers\": [" LAYER("application/vnd.docker.image.rootfs.diff.tar.gzip", D2) "]}";
	struct berth_manifest *m = malloc(sizeof(*m));
	static char many[40000];
	int ok;

	CHECK(m);
	ok = berth_oci_manifest_parse(good, strlen(good), m, &err) == 0 && m->nlayers == 2 &&
	     m->config.media == BERTH_MEDIA_OCI_CONFIG && m->config.size == 7 &&
	     m->layers[0].media == BERTH_MEDIA_LAYER_GZIP && strcmp(m->layers[0].digest, D2) == 0 &&
	     m->layers[1].media == BERTH_MEDIA_LAYER_TAR && m->layers[1].size == 100;
	ok = ok && berth_oci_manifest_parse(docker, strlen(docker), m, &err) == 0 && m->nlayers == 1 &&
	     m->config.media == BERTH_MEDIA_DOCKER_CONFIG && m->layers[0].media == BERTH_MEDIA_LAYER_GZIP;
	free(m);
	CHECK(ok);

	CHECK(manifest_err(OCI_CONFIG, LAYER(OCI_GZ, D2) "," LAYER(OCI_GZ, D2) "," LAYER(OCI_GZ, "sha256:xyz"),
			   "manifest: layers[2].digest: not a sha256 digest"));
	CHECK(manifest_err(OCI_CONFIG,
			   LAYER(OCI_GZ, D2) "," LAYER(OCI_GZ, D2) "," LAYER(
				   "application/vnd.oci.image.layer.v1.tar+zstd", D3),
			   "manifest: layer 2: unsupported media type application/vnd.oci.image.layer.v1.tar+zstd"));
	CHECK(manifest_err(OCI_CONFIG, LAYER("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", D3),
			   "manifest: layer 0: unsupported media type "
			   "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"));
	CHECK(manifest_err(OCI_GZ, "", "manifest: config: unsupported media type " OCI_GZ));
	CHECK(manifest_err(OCI_CONFIG, "42", "manifest: layers[0]: not an object"));
	CHECK(manifest_err(OCI_CONFIG,
			   "{\"mediaType\": \"" OCI_GZ "\", \"digest\": \"" D2 "\", \"size\": 9007199254740993}",
			   "manifest: layers[0].size: missing or not a whole number >= 0"));
	for (int i = 0; i <= BERTH_IMG_MAX_LAYERS; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s" LAYER(OCI_GZ, D2), i ? "," : "");
	CHECK(manifest_err(OCI_CONFIG, many, "manifest: layers: more than 128"));
	{
		static const char noconfig[] = "{\"schemaVersion\": 2, \"layers\": []}";
		static const char nolayers[] = "{\"schemaVersion\": 2, \"config\": {\"mediaType\": \"" OCI_CONFIG
					       "\", \"digest\": \"" D1 "\", \"size\": 7}}";
		static const char index[] = "{\"schemaVersion\": 2, \"mediaType\": "
					    "\"application/vnd.oci.image.index.v1+json\", \"layers\": []}";
		struct berth_manifest *m2 = malloc(sizeof(*m2));

		CHECK(m2);
		ok = berth_oci_manifest_parse(noconfig, strlen(noconfig), m2, &err) == -1 &&
		     strcmp(err.msg, "manifest: config: missing") == 0;
		ok = ok && berth_oci_manifest_parse(nolayers, strlen(nolayers), m2, &err) == -1 &&
		     strcmp(err.msg, "manifest: layers: missing or not an array") == 0;
		ok = ok && berth_oci_manifest_parse(index, strlen(index), m2, &err) == -1 &&
		     strcmp(err.msg, "manifest: mediaType: not an image manifest: "
				     "application/vnd.oci.image.index.v1+json") == 0;
		free(m2);
		CHECK(ok);
	}
}

static int docker_err(const char *json, int max, const char *want)
{
	struct berth_docker_image *img = calloc(2, sizeof(*img));
	int r = berth_docker_manifest_parse(json, strlen(json), img, max, &err);

	free(img);
	if (r != -1) {
		printf("  accepted: %s\n", json);
		return 0;
	}
	if (strcmp(err.msg, want) != 0) {
		printf("  got \"%s\", want \"%s\"\n", err.msg, want);
		return 0;
	}
	return 1;
}

static void docker_manifest(void)
{
	static const char good[] =
		"[{\"Config\": \"abc.json\", \"RepoTags\": [\"web:1.0\", \"localhost:5000/web:latest\"],\n"
		"  \"Layers\": [\"11/layer.tar\", \"./22//layer.tar\"], \"Parent\": \"\"},\n"
		" {\"Config\": \"blobs/sha256/def\", \"RepoTags\": null, \"Layers\": []}]";
	struct berth_docker_image *img = calloc(2, sizeof(*img));
	int ok;

	CHECK(img);
	ok = berth_docker_manifest_parse(good, strlen(good), img, 2, &err) == 2 &&
	     strcmp(img[0].config, "abc.json") == 0 && img[0].nlayers == 2 &&
	     strcmp(img[0].layers[1], "22/layer.tar") == 0 && img[0].ntags == 2 &&
	     strcmp(img[0].repo_tags[1], "localhost:5000/web:latest") == 0 && img[1].ntags == 0 &&
	     img[1].nlayers == 0 && strcmp(img[1].config, "blobs/sha256/def") == 0;
	free(img);
	CHECK(ok);
	CHECK(docker_err(good, 1, "manifest.json: more than 1 images"));
	CHECK(docker_err("[]", 1, "manifest.json: no images"));
	CHECK(docker_err("{}", 1, "manifest.json: not an array"));
	CHECK(docker_err("[{\"Config\": \"a.json\", \"Layers\": [\"x/layer.tar\", \"../etc/layer.tar\"]}]", 1,
			 "manifest.json: [0].Layers[1]: path traversal: ../etc/layer.tar"));
	CHECK(docker_err("[{\"Config\": \"/a.json\", \"Layers\": []}]", 1,
			 "manifest.json: [0].Config: path traversal: /a.json"));
	CHECK(docker_err("[{\"Config\": \".\", \"Layers\": []}]", 1, "manifest.json: [0].Config: empty path"));
	CHECK(docker_err("[{\"Layers\": []}]", 1, "manifest.json: [0].Config: missing or not a string"));
	CHECK(docker_err("[{\"Config\": \"a\"}]", 1, "manifest.json: [0].Layers: missing or not an array"));
	CHECK(docker_err("[{\"Config\": \"a\", \"Layers\": [1]}]", 1,
			 "manifest.json: [0].Layers[0]: missing or not a string"));
	CHECK(docker_err("[{\"Config\": \"a\", \"Layers\": [], \"RepoTags\": \"web:1\"}]", 1,
			 "manifest.json: [0].RepoTags: not an array"));
	CHECK(docker_err("[{\"Config\": \"a\", \"Layers\": [], \"RepoTags\": [\"web 1\"]}]", 1,
			 "manifest.json: [0].RepoTags[0]: contains a space or control character"));
	CHECK(docker_err("[{\"Config\": \"a\", \"Layers\": [], \"RepoTags\": "
			 "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}]",
			 1, "manifest.json: [0].RepoTags: more than 8"));
	{
		char json[600];

		snprintf(json, sizeof(json), "[{\"Config\": \"%0300d\", \"Layers\": []}]", 0);
		CHECK(docker_err(json, 1, "manifest.json: [0].Config: longer than 255 bytes"));
	}
}

static int config_err(const char *json, const char *want)
{
	struct berth_image_config c;

	if (berth_image_config_parse(json, strlen(json), &c, &err) != -1) {
		printf("  accepted: %s\n", json);
		berth_image_config_free(&c);
		return 0;
	}
	if (c.entrypoint || c.cmd || c.env || c.diff_ids || c.os || c.user) {
		printf("  left allocations after failing: %s\n", json);
		return 0;
	}
	if (strcmp(err.msg, want) != 0) {
		printf("  got \"%s\", want \"%s\"\n", err.msg, want);
		return 0;
	}
	return 1;
}

#define ROOTFS "\"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"" D1 "\"]}"

static void image_config(void)
{
	static const char good[] =
		"{\"architecture\": \"amd64\", \"os\": \"linux\", \"created\": \"2024-01-01T00:00:00Z\",\n"
		" \"config\": {\"Entrypoint\": [\"/bin/httpd\", \"-f\"], \"Cmd\": [\"-p\", \"80\"],\n"
		"   \"Env\": [\"PATH=/usr/bin:/bin\", \"EMPTY=\"], \"WorkingDir\": \"/srv\", \"User\": \"www:www\",\n"
		"   \"ExposedPorts\": {\"80/tcp\": {}}},\n"
		" \"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"" D1 "\", \"" D2 "\"]},\n"
		" \"history\": [{\"created_by\": \"x\"}]}";
	static const char minimal[] = "{" ROOTFS ", \"config\": null}";
	struct berth_image_config c;
	int ok;

	CHECK(berth_image_config_parse(good, strlen(good), &c, &err) == 0);
	ok = strcmp(c.entrypoint[0], "/bin/httpd") == 0 && strcmp(c.entrypoint[1], "-f") == 0 && !c.entrypoint[2] &&
	     strcmp(c.cmd[1], "80") == 0 && !c.cmd[2] && strcmp(c.env[1], "EMPTY=") == 0 && !c.env[2] &&
	     strcmp(c.working_dir, "/srv") == 0 && strcmp(c.user, "www:www") == 0 && strcmp(c.os, "linux") == 0 &&
	     strcmp(c.arch, "amd64") == 0 && c.ndiff_ids == 2 && strcmp(c.diff_ids[1], D2) == 0 && !c.diff_ids[2];
	berth_image_config_free(&c);
	CHECK(ok);
	CHECK(berth_image_config_parse(minimal, strlen(minimal), &c, &err) == 0);
	ok = !c.entrypoint && !c.cmd && !c.env && !c.working_dir && !c.user && !c.os && c.ndiff_ids == 1;
	berth_image_config_free(&c);
	CHECK(ok);

	CHECK(config_err("{\"os\": \"linux\"}", "config: rootfs: missing or not an object"));
	CHECK(config_err("{\"rootfs\": {\"type\": \"tarball\", \"diff_ids\": []}}",
			 "config: rootfs.type: must be \"layers\""));
	CHECK(config_err("{\"rootfs\": {\"type\": \"layers\"}}", "config: rootfs.diff_ids: missing"));
	CHECK(config_err("{\"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"" D1 "\", \"md5:x\"]}}",
			 "config: rootfs.diff_ids[1]: not a sha256 digest"));
	CHECK(config_err("{\"config\": {\"Cmd\": [\"a\", 1]}, " ROOTFS "}", "config: config.Cmd[1]: not a string"));
	CHECK(config_err("{\"config\": {\"Cmd\": \"sh -c x\"}, " ROOTFS "}", "config: config.Cmd: not an array"));
	CHECK(config_err("{\"config\": {\"Env\": [\"A=1\", \"B\"]}, " ROOTFS "}", "config: config.Env[1]: not KEY=VALUE"));
	CHECK(config_err("{\"config\": {\"Env\": [\"=1\"]}, " ROOTFS "}", "config: config.Env[0]: not KEY=VALUE"));
	CHECK(config_err("{\"config\": {\"User\": 0}, " ROOTFS "}", "config: config.User: not a string"));
	CHECK(config_err("{\"config\": [], " ROOTFS "}", "config: config: not an object"));
	CHECK(config_err("{\"os\": 1, " ROOTFS "}", "config: os: not a string"));
	CHECK(config_err("{\"config\": {\"Entrypoint\": [\"a\"], \"Entrypoint\": [\"b\"]}, " ROOTFS "}",
			 "config: config.Entrypoint: written twice"));
	{
		size_t n = 70000;
		char *json = malloc(n + 200);

		CHECK(json);
		strcpy(json, "{\"config\": {\"Cmd\": [\"");
		memset(json + strlen(json), 'a', n);
		strcpy(json + strlen("{\"config\": {\"Cmd\": [\"") + n, "\"]}, " ROOTFS "}");
		ok = config_err(json, "config: config.Cmd[0]: longer than 65536 bytes");
		free(json);
		CHECK(ok);
	}
}

static int ref_is(const char *ref, const char *name, const char *tag, const char *digest)
{
	char n[129], t[129], d[BERTH_DIGEST_LEN + 1];

	return berth_image_ref_parse(ref, n, t, d, &err) == 0 && strcmp(n, name) == 0 && strcmp(t, tag) == 0 &&
	       strcmp(d, digest) == 0;
}

static int ref_bad(const char *ref, const char *msg)
{
	char n[129], t[129], d[BERTH_DIGEST_LEN + 1];

	return berth_image_ref_parse(ref, n, t, d, &err) == -1 && strstr(err.msg, msg) != NULL;
}

static void image_refs(void)
{
	char longname[200], want[129];

	CHECK(ref_is("web:1.0", "web", "1.0", ""));
	CHECK(ref_is("acme/web-app_2.x:Release_1.0-rc1", "acme/web-app_2.x", "Release_1.0-rc1", ""));
	CHECK(ref_is("web@" D1, "web", "", D1));
	CHECK(ref_is("0web:_x", "0web", "_x", ""));
	CHECK(ref_bad("web", "needs :TAG or @sha256:DIGEST"));
	CHECK(ref_bad("Web:1", "the name must be [a-z0-9] then [a-z0-9._/-]"));
	CHECK(ref_bad("-web:1", "the name must be"));
	CHECK(ref_bad(":1", "the name must have 1 to 128 characters"));
	CHECK(ref_bad("web:", "the tag must have 1 to 128 characters"));
	CHECK(ref_bad("web:.1", "the tag must be [A-Za-z0-9_] then [A-Za-z0-9_.-]"));
	CHECK(ref_bad("web:1@" D1, "the tag must be"));
	CHECK(ref_bad("web@sha256:abc", "not a sha256 digest after '@'"));
	CHECK(ref_bad("web@" D1 ":x", "not a sha256 digest"));
	CHECK(ref_bad("localhost:5000/web:1", "the tag must be"));
	memset(want, 'a', 128);
	want[128] = '\0';
	snprintf(longname, sizeof(longname), "%s:1", want);
	CHECK(ref_is(longname, want, "1", ""));
	snprintf(longname, sizeof(longname), "a%s:1", want);
	CHECK(ref_bad(longname, "the name must have 1 to 128 characters"));
	memset(want, 'b', 128);
	snprintf(longname, sizeof(longname), "w:%s", want);
	CHECK(ref_is(longname, "w", want, ""));
	snprintf(longname, sizeof(longname), "w:b%s", want);
	CHECK(ref_bad(longname, "the tag must have 1 to 128 characters"));
}

int main(void)
{
	RUN(digests_and_media);
	RUN(oci_index);
	RUN(oci_manifest);
	RUN(docker_manifest);
	RUN(image_config);
	RUN(image_refs);
	return t_failed_total != 0;
}
