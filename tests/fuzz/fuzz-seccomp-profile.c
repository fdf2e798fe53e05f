/* libFuzzer target: the Docker/OCI seccomp profile parser and compiler
 * (supervisor/seccomp-json.c) on arbitrary bytes, through a memfd as the
 * profile file. It must never crash, leak or hang, and must either produce a
 * filter or an error message naming the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "caps.h"
#include "seccomp-berth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct berth_bpf bpf;
	struct berth_err err = { 0 };
	char path[64];
	int fd = memfd_create("profile", 0);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (berth_seccomp_compile_profile(path, berth_caps_default(), &bpf, &err) == 0) {
			if (bpf.len == 0)
				abort();
			berth_bpf_free(&bpf);
		} else if (!strstr(err.msg, path) && !strstr(err.msg, "seccomp")) {
			abort(); /* every error names the profile */
		}
	}
	close(fd);
	return 0;
}
