/* probe: a static helper the tests run inside the guest (and later inside
 * containers) to try one thing and print the exact outcome: "OK" or the errno
 * name. It always exits 0 when it could run the attempt, 2 on bad usage. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *errname(int e)
{
	static const struct { int e; const char *n; } names[] = {
		{ EPERM, "EPERM" },   { ENOENT, "ENOENT" }, { EACCES, "EACCES" }, { EROFS, "EROFS" },
		{ EEXIST, "EEXIST" }, { EINVAL, "EINVAL" }, { ENOSYS, "ENOSYS" }, { ENOSPC, "ENOSPC" },
		{ EBUSY, "EBUSY" },   { EAGAIN, "EAGAIN" }, { EISDIR, "EISDIR" },
	};
	static char buf[32];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].n;
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

/* write PATH: create (or truncate) PATH and write one byte. */
static int try_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, "x", 1) != 1)
		return errno;
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	int e;

	if (argc == 3 && strcmp(argv[1], "write") == 0) {
		e = try_write(argv[2]);
	} else {
		fprintf(stderr, "usage: probe write PATH\n");
		return 2;
	}
	puts(e ? errname(e) : "OK");
	return 0;
}
