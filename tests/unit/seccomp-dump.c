/* seccomp-dump: print Berth's default seccomp policy for the default bounding
 * set, one rule per line, and the names this libseccomp cannot resolve (they
 * stay denied). tests/unit/test-seccomp-docker compares it with Docker's. */
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

#include "caps.h"
#include "seccomp-berth.h"

static const char *op_name(int op)
{
	switch (op) {
	case SCMP_CMP_LT: return "SCMP_CMP_LT";
	case SCMP_CMP_EQ: return "SCMP_CMP_EQ";
	case SCMP_CMP_GT: return "SCMP_CMP_GT";
	case SCMP_CMP_MASKED_EQ: return "SCMP_CMP_MASKED_EQ";
	default: return "?";
	}
}

static void print_rule(const struct berth_seccomp_rule *r, void *arg)
{
	(void)arg;
	printf("rule %s %s", r->name, r->action_errno ? "errno" : "allow");
	if (r->action_errno)
		printf(" %d", r->action_errno);
	if (r->nargs)
		printf(" arg%d %s %llu", r->arg, op_name(r->op), (unsigned long long)r->datum_a);
	printf("\n");
	if (seccomp_syscall_resolve_name(r->name) == __NR_SCMP_ERROR)
		printf("unknown %s\n", r->name);
}

int main(void)
{
	struct berth_bpf bpf;
	struct berth_err err;
	int skipped = 0;

	berth_seccomp_default_rules(berth_caps_default(), print_rule, NULL);
	if (berth_seccomp_compile_default(berth_caps_default(), &bpf, &skipped, &err) < 0) {
		fprintf(stderr, "compile: %s\n", err.msg);
		return 1;
	}
	printf("bpf %zu instructions, %d names skipped\n", bpf.len, skipped);
	/* What a start loads for the default set: the program compiled at build
	 * time (seccomp-gen) must be this very compile. */
	{
		struct berth_bpf pre;

		if (berth_seccomp_default_filter(berth_caps_default(), &pre, &err) < 0) {
			fprintf(stderr, "precompiled: %s\n", err.msg);
			return 1;
		}
		printf("precompiled %s (%zu instructions)\n",
		       pre.len == bpf.len && memcmp(pre.insns, bpf.insns, bpf.len * sizeof(*bpf.insns)) == 0 ? "same"
														      : "DIFFERENT",
		       pre.len);
		berth_bpf_free(&pre);
	}
	berth_bpf_free(&bpf);
	return 0;
}
