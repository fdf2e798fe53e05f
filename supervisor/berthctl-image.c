/* berthctl image ... and berthctl trust ...: the image store (docs/images.md)
 * and image trust (docs/trust.md), served by berthd's helper berth-image. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "berthctl.h"
#include "lib/buf.h"
#include "proto.h"

static const char image_usage[] =
	"usage: berthctl image import [--tag NAME:TAG] FILE|-   an OCI layout or docker-save archive (tar)\n"
	"       berthctl image ls                              the store's images\n"
	"       berthctl image inspect NAME:TAG|NAME@sha256:HEX|sha256:HEX\n"
	"       berthctl image rm REF...                       untag; an image goes with its last tag\n"
	"       berthctl image prune                           untagged images, unused blobs, leftovers\n";
static const char trust_usage[] =
	"usage: berthctl trust show                 the root key, the delegation in force, versions seen\n"
	"       berthctl trust update FILE|-        install newer root-signed delegation metadata\n";

/* One call to berthd; the helper's output to stdout (stderr on failure). */
static int run(const char *verb, const char *const *args, int nargs, int pass)
{
	struct berth_buf data = { 0 };
	char msg[1100];
	int st = berthctl_call(verb, args, nargs, pass >= 0 ? &pass : NULL, pass >= 0 ? 1 : 0, &data, msg,
			       sizeof(msg), NULL);

	if (data.p)
		fputs(data.p, st == BERTH_OK ? stdout : stderr);
	if (st != BERTH_OK)
		fprintf(stderr, "berthctl: %s\n", msg);
	else if (msg[0])
		printf("%s\n", msg);
	berth_buf_free(&data);
	return st;
}

/* FILE, or "-" for stdin: the descriptor berthd's helper reads. */
static int input(const char *file)
{
	int fd;

	if (strcmp(file, "-") == 0)
		return 0;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "berthctl: %s: %s\n", file, strerror(errno));
	return fd;
}

int berthctl_image(int argc, char **argv)
{
	const char *args[34];
	int n = 0, fd, st;

	if (argc < 2) {
		fputs(image_usage, stderr);
		return BERTH_USAGE;
	}
	if (strcmp(argv[1], "import") == 0) {
		const char *tag = NULL, *file = NULL;

		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--tag") == 0 && i + 1 < argc && !tag)
				tag = argv[++i];
			else if (!file && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
				file = argv[i];
			else
				file = NULL, i = argc + 1;
		}
		if (!file) {
			fputs(image_usage, stderr);
			return BERTH_USAGE;
		}
		if ((fd = input(file)) < 0)
			return BERTH_FAILED;
		args[n++] = "import";
		if (tag) {
			args[n++] = "--tag";
			args[n++] = tag;
		}
		st = run("image", args, n, fd);
		if (fd > 0)
			close(fd);
		return st;
	}
	if (strcmp(argv[1], "ls") == 0 && argc == 2) {
		args[n++] = "ls";
		if (json_out)
			args[n++] = "--json";
		return run("images", args, n, -1);
	}
	if (strcmp(argv[1], "inspect") == 0 && argc == 3) {
		args[0] = "inspect";
		args[1] = argv[2];
		return run("images", args, 2, -1);
	}
	if (strcmp(argv[1], "rm") == 0 && argc >= 3 && argc <= 34) {
		args[n++] = "rm";
		for (int i = 2; i < argc; i++)
			args[n++] = argv[i];
		return run("image", args, n, -1);
	}
	if (strcmp(argv[1], "prune") == 0 && argc == 2) {
		args[0] = "prune";
		return run("image", args, 1, -1);
	}
	fputs(image_usage, stderr);
	return BERTH_USAGE;
}

int berthctl_trust(int argc, char **argv)
{
	const char *args[1];
	int fd, st;

	if (argc == 2 && strcmp(argv[1], "show") == 0) {
		args[0] = "trust-show";
		return run("images", args, 1, -1);
	}
	if (argc == 3 && strcmp(argv[1], "update") == 0) {
		if ((fd = input(argv[2])) < 0)
			return BERTH_FAILED;
		args[0] = "trust-update";
		st = run("image", args, 1, fd);
		if (fd > 0)
			close(fd);
		return st;
	}
	fputs(trust_usage, stderr);
	return BERTH_USAGE;
}
