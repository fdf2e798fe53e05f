/* The default filter as a start gets it: for the default bounding set, the
 * program compiled at build time (seccomp-gen, from the same seccomp.c and
 * libseccomp); for any other set, compiled now. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "seccomp-berth.h"
#include "seccomp-precompiled.h"

int berth_seccomp_default_filter(uint64_t caps, struct berth_bpf *out, struct berth_err *err)
{
	if (caps != BERTH_SECCOMP_PRECOMPILED_CAPS)
		return berth_seccomp_compile_default(caps, out, NULL, err);
	out->len = sizeof(berth_seccomp_precompiled) / sizeof(berth_seccomp_precompiled[0]);
	out->insns = malloc(sizeof(berth_seccomp_precompiled));
	if (!out->insns) {
		out->len = 0;
		return berth_err_set(err, ENOMEM, "seccomp: the default filter");
	}
	memcpy(out->insns, berth_seccomp_precompiled, sizeof(berth_seccomp_precompiled));
	return 0;
}
