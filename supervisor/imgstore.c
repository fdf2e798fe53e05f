/* The image store's layout, shared by berthd and berth-image (imgstore.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imgstore.h"
#include "lib/cleanup.h"

void berth_store_name_escape(const char *name, char *out)
{
	size_t i = 0;

	for (; name[i] && i < 129; i++)
		out[i] = name[i] == '/' ? '%' : name[i];
	out[i] = '\0';
}

void berth_store_sig_file(const char *name, char *out)
{
	char esc[130];

	berth_store_name_escape(name, esc);
	snprintf(out, 160, "sig-%s", esc);
}

int berth_store_path(const char *store, const char *what, const char *digest, const char *file, char *out,
		     size_t len)
{
	const char *hex = strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest;
	int n = file ? snprintf(out, len, "%s/%s/%s/%s", store, what, hex, file)
		     : snprintf(out, len, "%s/%s/%s", store, what, hex);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

char *berth_store_read(const char *path, size_t max, size_t *len, struct berth_err *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	char *p;
	size_t got = 0;

	if (fd < 0)
		return berth_err_sys(err, "%s", path), NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return berth_err_set(err, EINVAL, "%s: not a regular file", path), NULL;
	if ((uint64_t)st.st_size > max)
		return berth_err_set(err, EFBIG, "%s: larger than %zu bytes", path, max), NULL;
	p = malloc((size_t)st.st_size + 1);
	if (!p)
		return berth_err_set(err, ENOMEM, "%s: out of memory", path), NULL;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, p + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(p);
			return berth_err_sys(err, "read %s", path), NULL;
		}
		got += (size_t)n;
	}
	p[got] = '\0';
	*len = got;
	return p;
}

/* The digest in tags/NAME/TAG. */
static int read_tag(const char *store, const char *name, const char *tag, char digest[BERTH_DIGEST_LEN + 1],
		    struct berth_err *err)
{
	char esc[130], path[600];
	cleanup_free char *text = NULL;
	size_t len;

	berth_store_name_escape(name, esc);
	snprintf(path, sizeof(path), "%s/tags/%s/%s", store, esc, tag);
	text = berth_store_read(path, 128, &len, err);
	if (!text)
		return -1;
	text[strcspn(text, "\n")] = '\0';
	if (!berth_digest_valid(text))
		return berth_err_set(err, EINVAL, "%s: not a digest", path);
	memcpy(digest, text, BERTH_DIGEST_LEN + 1);
	return 0;
}

int berth_store_resolve(const char *store, const char *ref, char digest[BERTH_DIGEST_LEN + 1],
			struct berth_err *err)
{
	char name[129], tag[129], want[BERTH_DIGEST_LEN + 1], path[600];
	struct stat st;

	if (berth_image_ref_parse(ref, name, tag, want, err) < 0)
		return -1;
	if (tag[0]) {
		if (read_tag(store, name, tag, digest, err) < 0) {
			if (err->errnum == ENOENT)
				berth_err_set(err, ENOENT, "image %s is not in the store (berthctl image import)", ref);
			return -1;
		}
	} else {
		memcpy(digest, want, sizeof(want));
	}
	if (berth_store_path(store, "images", digest, "info", path, sizeof(path)) < 0 || stat(path, &st) < 0)
		return berth_err_set(err, ENOENT, "image %s (%s) is not in the store (berthctl image import)", ref,
				     digest);
	if (!tag[0]) {
		/* name@digest: the name must be one the image is known by. */
		char esc[130], info[600];
		cleanup_free char *text = NULL;
		size_t len;
		char line[300];

		berth_store_name_escape(name, esc);
		snprintf(line, sizeof(line), "\nname %s\n", name);
		if (berth_store_path(store, "images", digest, "info", info, sizeof(info)) < 0 ||
		    !(text = berth_store_read(info, 1 << 20, &len, err)))
			return -1;
		if (!strstr(text, line))
			return berth_err_set(err, ENOENT, "image %s: the store's %s was not imported as %s", ref,
					     digest, name);
	}
	return 0;
}

int berth_store_config(const char *store, const char *digest, struct berth_image_config *c,
		       struct berth_err *err)
{
	char path[600];
	cleanup_free char *text = NULL;
	size_t len;

	if (berth_store_path(store, "images", digest, "config.json", path, sizeof(path)) < 0)
		return berth_err_set(err, ENAMETOOLONG, "store path too long");
	text = berth_store_read(path, 4 << 20, &len, err);
	if (!text)
		return -1;
	if (berth_image_config_parse(text, len, c, err) < 0)
		return berth_err_prefix(err, "%s", path);
	return 0;
}
