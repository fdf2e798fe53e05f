/* berth-init: Berth's PID 1. As /init in the initramfs it is stage 1 (mount the
 * root, switch to it); as /sbin/init on the root it is stage 2 (set up the host,
 * supervise berthd, reap, shut down). As /run/berth-init it is a container's
 * init (cinit.c). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "init.h"

int main(int argc, char **argv)
{
	/* Only the supervisor can start it under this name (see init.h). */
	if (argc > 0 && strcmp(argv[0], BERTH_CONTAINER_INIT_PATH) == 0)
		init_container(argc, argv);
	/* As PID 1, argv holds whatever the kernel command line did not claim
	 * (even "--version"): never act on it, and never return. */
	if (getpid() != 1) {
		if (argc > 1 && strcmp(argv[1], "--version") == 0) {
			puts("berth-init " BERTH_VERSION);
			return 0;
		}
		fprintf(stderr, "berth-init: must run as PID 1 (it is started by the kernel)\n");
		return 1;
	}
	init_block_signals();
	if (argc > 0 && strcmp(argv[0], "/init") == 0)
		init_stage1();
	init_stage2();
}
