/* seccomp-berth.h (named apart from libseccomp's seccomp.h). Seccomp: Berth's built-in default filter (Docker's default profile for
 * x86_64, resolved against the container's bounding set), compiled to BPF in
 * the parent with libseccomp and loaded in the child right before execve. */
#ifndef BERTH_SECCOMP_BERTH_H
#define BERTH_SECCOMP_BERTH_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct berth_bpf {
	struct sock_filter *insns;
	size_t len; /* instructions */
};

/* One allow or errno rule of the default policy, after capability resolution. */
struct berth_seccomp_rule {
	const char *name;
	int action_errno; /* 0: allow; otherwise fail with this errno */
	int nargs;        /* 0: any arguments; 1: the condition below */
	int arg, op;      /* op: SCMP_CMP_* */
	uint64_t datum_a, datum_b;
};

/* Enumerate the default policy for bounding set CAPS: calls FN for each rule, in
 * a stable order. Pure (no libseccomp): what the comparison test reads. */
void berth_seccomp_default_rules(uint64_t caps, void (*fn)(const struct berth_seccomp_rule *, void *),
				 void *arg);

/* Compile the default policy for CAPS into OUT (x86_64 and i386 ABIs; x32,
 * which the kernel Berth ships lacks, fails with EPERM;
 * everything else fails with EPERM). Names this libseccomp does not know are
 * skipped (they stay denied) and counted in *SKIPPED when not NULL. */
int berth_seccomp_compile_default(uint64_t caps, struct berth_bpf *out, int *skipped,
				  struct berth_err *err);
void berth_bpf_free(struct berth_bpf *b);

/* The default policy for CAPS as a start loads it: the program compiled at
 * build time when CAPS is the default bounding set (the same compile, done
 * once: seccomp-gen), else berth_seccomp_compile_default's. */
int berth_seccomp_default_filter(uint64_t caps, struct berth_bpf *out, struct berth_err *err);

/* Compile the Docker/OCI seccomp profile (JSON) at PATH for a container with
 * bounding set CAPS on x86_64: includes/excludes resolved as dockerd does
 * (arches against amd64, caps against CAPS, minKernel against the running
 * kernel); syscall names this libseccomp does not know are skipped, as crun
 * does. Every malformed or unsupported part is an error naming PATH and the
 * place ("syscalls[3].action: unknown action SCMP_ACT_FOO"). */
int berth_seccomp_compile_profile(const char *path, uint64_t caps, struct berth_bpf *out,
				  struct berth_err *err);

/* Export a libseccomp filter context to BPF (shared by both compilers). */
int berth_seccomp_export(void *ctx, struct berth_bpf *out, struct berth_err *err);

/* In the child: load PROG (no_new_privs must already be set). */
int berth_seccomp_load(const struct berth_bpf *prog, struct berth_err *err);

#endif
