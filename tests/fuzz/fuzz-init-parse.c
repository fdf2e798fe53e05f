/* libFuzzer target: berth-init's parsers (kernel command line, sysctl and
 * module list lines, debug-shell and pids.max values, berth.conf through inih)
 * on arbitrary input. The sanitizers catch memory errors; the checks below
 * catch broken contracts. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "init.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), out[64], path[128], value[64];
	int opt, r;
	long v;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	r = init_cmdline_get(s, "berth.root", out, sizeof(out));
	if (r == 1 && strlen(out) >= sizeof(out))
		abort();
	r = init_cmdline_get(s, "x", out, 4);
	if (r == 1 && strlen(out) >= sizeof(out))
		abort();
	r = init_sysctl_parse_line(s, path, sizeof(path), value, sizeof(value), &opt);
	/* An accepted key never leaves /proc/sys. */
	if (r == 1 && (strncmp(path, "/proc/sys/", 10) != 0 || strstr(path, "..") || strstr(path, "//")))
		abort();
	r = init_module_parse_line(s, out, sizeof(out));
	if (r == 1 && (strchr(out, '/') || strchr(out, '.')))
		abort();
	r = init_debug_shell_tty(s, path, sizeof(path));
	if (r == 1 && (strncmp(path, "/dev/", 5) != 0 || strchr(path + 5, '/') || strchr(path, '.')))
		abort();
	if (init_parse_pids_max(s, &v) == 0 && v != -1 && (v < 1 || v > INIT_PIDS_MAX_LIMIT))
		abort();
	/* The same bytes as a whole berth.conf, read through a memfd. */
	int fd = memfd_create("conf", 0);
	if (fd >= 0) {
		struct init_conf conf;
		char p[64], err[512];

		if (write(fd, data, size) == (ssize_t)size) {
			snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
			init_conf_load(p, &conf, err, sizeof(err));
			if (conf.parent_pids_max != -1 &&
			    (conf.parent_pids_max < 1 || conf.parent_pids_max > INIT_PIDS_MAX_LIMIT))
				abort();
		}
		close(fd);
	}
	free(s);
	return 0;
}
