/* libFuzzer target: the image archive reader (supervisor/archive.c) and the
 * image JSON parsers (supervisor/imgmeta.c). The first byte picks the parser;
 * the rest is its input. What the tar reader returns must hold its contract:
 * normalised paths, data only for regular files, within the limits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "archive.h"
#include "imgmeta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A normalised path: relative, no empty, "." or ".." component. */
static void check_path(const char *p)
{
	char again[BERTH_TAR_PATH_MAX];
	struct berth_err err;

	if (p[0] == '/' || strstr(p, "//") || (p[0] && p[strlen(p) - 1] == '/'))
		abort();
	if (berth_tar_path_normalise(p, again, &err) < 0 || strcmp(again, p) != 0)
		abort();
	for (const char *c = p; *c;) {
		size_t n = strcspn(c, "/");

		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			abort();
		c += n + (c[n] == '/');
	}
}

static void fuzz_tar(const uint8_t *data, size_t size)
{
	struct berth_archive_limits lim = {
		.max_total = 1 << 20, .max_file = 64 << 10, .max_entries = 64, .max_ratio = 200,
	};
	static struct berth_tar_entry e;
	struct berth_err err;
	struct berth_tar *t;
	unsigned char buf[4096];
	int r, n = 0;

	err.msg[0] = '\0';
	t = berth_tar_open_mem(data, size, &lim, &err);
	if (!t) {
		if (!err.msg[0])
			abort();
		return;
	}
	while ((r = berth_tar_next(t, &e, &err)) > 0) {
		uint64_t got = 0;
		ssize_t k;

		n++;
		check_path(e.path);
		if (e.type == BERTH_TAR_HARDLINK)
			check_path(e.link);
		if (!strchr("0123456", e.type) || e.mode > 07777 || e.size > lim.max_file || n > 64)
			abort();
		if (e.type != BERTH_TAR_FILE && e.size != 0)
			abort();
		/* Read in odd-sized pieces. */
		while ((k = berth_tar_read(t, buf, 1 + (got % 1000), &err)) > 0)
			got += (uint64_t)k;
		if (k < 0)
			break;
		if (got != e.size)
			abort();
	}
	if (r < 0 && !err.msg[0])
		abort();
	if (berth_tar_offset(t) > lim.max_total)
		abort();
	berth_tar_close(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct berth_manifest m;
	static struct berth_docker_image imgs[2];
	struct berth_descriptor d[4];
	struct berth_image_config c;
	struct berth_tar_entry e;
	struct berth_err err;
	char *s, name[129], tag[129], digest[BERTH_DIGEST_LEN + 1], path[BERTH_TAR_PATH_MAX];
	int n;

	if (size < 1)
		return 0;
	switch (data[0] % 8) {
	case 0: case 1: case 2: case 3:
		fuzz_tar(data + 1, size - 1);
		break;
	case 4:
		n = berth_oci_index_parse((const char *)data + 1, size - 1, d, 4, &err);
		for (int i = 0; i < n; i++)
			if (!berth_digest_valid(d[i].digest) || d[i].size < 0)
				abort();
		break;
	case 5:
		if (berth_oci_manifest_parse((const char *)data + 1, size - 1, &m, &err) == 0 &&
		    (m.nlayers > BERTH_IMG_MAX_LAYERS || !berth_digest_valid(m.config.digest)))
			abort();
		break;
	case 6:
		n = berth_docker_manifest_parse((const char *)data + 1, size - 1, imgs, 2, &err);
		for (int i = 0; i < n; i++)
			for (int j = 0; j < imgs[i].nlayers; j++)
				check_path(imgs[i].layers[j]);
		break;
	default:
		if (berth_image_config_parse((const char *)data + 1, size - 1, &c, &err) == 0)
			berth_image_config_free(&c);
		/* The same bytes as a reference, a path and a header block. */
		s = malloc(size);
		if (!s)
			return 0;
		memcpy(s, data + 1, size - 1);
		s[size - 1] = '\0';
		if (berth_image_ref_parse(s, name, tag, digest, &err) == 0 && !tag[0] == !digest[0])
			abort();
		if (berth_tar_path_normalise(s, path, &err) == 0)
			check_path(path);
		free(s);
		if (size > 512)
			berth_tar_header_parse(data + 1, &e, &err);
	}
	return 0;
}
