/* SeccompProfile=FILE: a Docker/OCI seccomp profile in JSON, parsed with cJSON,
 * resolved the way dockerd resolves it for this container, and compiled with
 * libseccomp. The file is input from the operator, so everything in it is
 * checked and every problem is an error naming the file and the place. */
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "caps.h"
#include "seccomp-berth.h"

#define PROFILE_MAX_BYTES (1 << 20)

struct profile_ctx {
	const char *path;
	uint64_t caps;
	int kernel[2]; /* major, minor */
	scmp_filter_ctx ctx;
	uint32_t default_action;
	struct berth_err *err;
};

/* "PATH: WHERE: WHAT[ DETAIL]" as the error; returns -1. */
static int fail(struct profile_ctx *p, const char *where, const char *what, const char *detail)
{
	return berth_err_set(p->err, EINVAL, "%s: %s: %s%s%s", p->path, where, what, detail ? " " : "",
			     detail ? detail : "");
}

/* A JSON number that is exactly a whole number in 0..2^53 (what a double holds
 * without rounding); anything else is an error, never silently converted. */
static int json_uint(const cJSON *n, uint64_t max, uint64_t *out)
{
	double v;

	if (!cJSON_IsNumber(n))
		return -1;
	v = n->valuedouble;
	if (!(v >= 0) || v > 9007199254740992.0 || v != (double)(uint64_t)v || (uint64_t)v > max)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

/* "SCMP_ACT_ERRNO" + errnoRet -> a libseccomp action; -1 if unknown. */
static int64_t parse_action(const char *s, const cJSON *errno_ret)
{
	uint64_t e = EPERM;

	if (errno_ret && json_uint(errno_ret, 4095, &e) < 0)
		return -1;
	if (strcmp(s, "SCMP_ACT_ALLOW") == 0)
		return SCMP_ACT_ALLOW;
	if (strcmp(s, "SCMP_ACT_ERRNO") == 0)
		return SCMP_ACT_ERRNO((uint32_t)e);
	if (strcmp(s, "SCMP_ACT_KILL") == 0 || strcmp(s, "SCMP_ACT_KILL_THREAD") == 0)
		return SCMP_ACT_KILL_THREAD;
	if (strcmp(s, "SCMP_ACT_KILL_PROCESS") == 0)
		return SCMP_ACT_KILL_PROCESS;
	if (strcmp(s, "SCMP_ACT_TRAP") == 0)
		return SCMP_ACT_TRAP;
	if (strcmp(s, "SCMP_ACT_LOG") == 0)
		return SCMP_ACT_LOG;
	return -1;
}

static int parse_op(const char *s)
{
	static const struct { const char *n; int op; } ops[] = {
		{ "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT },
		{ "SCMP_CMP_LE", SCMP_CMP_LE }, { "SCMP_CMP_EQ", SCMP_CMP_EQ },
		{ "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
		{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
	};

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(s, ops[i].n) == 0)
			return ops[i].op;
	return -1;
}

static int has_string(const cJSON *arr, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
			return 1;
	return 0;
}

/* Does the rule apply here? (dockerd's includes/excludes: arches against
 * amd64, caps against the bounding set, minKernel against the running kernel.) */
static int applies(struct profile_ctx *p, const cJSON *rule, const char *where, int *ok)
{
	const cJSON *inc = cJSON_GetObjectItemCaseSensitive(rule, "includes");
	const cJSON *exc = cJSON_GetObjectItemCaseSensitive(rule, "excludes");
	const cJSON *it, *arr;

	*ok = 1;
	if ((inc && !cJSON_IsObject(inc)) || (exc && !cJSON_IsObject(exc)))
		return fail(p, where, "includes/excludes must be objects", NULL);
	static const char *const lists[] = { "arches", "caps" };
	for (size_t i = 0; i < 2; i++) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(inc, lists[i]);
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(exc, lists[i]);

		if ((a && !cJSON_IsArray(a)) || (b && !cJSON_IsArray(b)))
			return fail(p, where, "includes/excludes: expected an array for", lists[i]);
	}
	arr = cJSON_GetObjectItemCaseSensitive(inc, "arches");
	if (cJSON_GetArraySize(arr) > 0 && !has_string(arr, "amd64"))
		*ok = 0;
	if (has_string(cJSON_GetObjectItemCaseSensitive(exc, "arches"), "amd64"))
		*ok = 0;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(inc, "caps")) {
		int c = cJSON_IsString(it) ? berth_cap_from_name(it->valuestring) : -1;

		if (c < 0)
			return fail(p, where, "includes.caps: unknown capability",
				    cJSON_IsString(it) ? it->valuestring : "(not a string)");
		if (!(p->caps & BERTH_CAP_MASK(c)))
			*ok = 0;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(exc, "caps")) {
		int c = cJSON_IsString(it) ? berth_cap_from_name(it->valuestring) : -1;

		if (c < 0)
			return fail(p, where, "excludes.caps: unknown capability",
				    cJSON_IsString(it) ? it->valuestring : "(not a string)");
		if (p->caps & BERTH_CAP_MASK(c))
			*ok = 0;
	}
	it = cJSON_GetObjectItemCaseSensitive(inc, "minKernel");
	if (it) {
		int maj, min;

		if (!cJSON_IsString(it) || sscanf(it->valuestring, "%d.%d", &maj, &min) != 2)
			return fail(p, where, "includes.minKernel: expected \"MAJOR.MINOR\"", NULL);
		if (p->kernel[0] < maj || (p->kernel[0] == maj && p->kernel[1] < min))
			*ok = 0;
	}
	return 0;
}

static int add_rules(struct profile_ctx *p, const cJSON *rule, int idx)
{
	char where[48];
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(rule, "names");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(rule, "name");
	const cJSON *action = cJSON_GetObjectItemCaseSensitive(rule, "action");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(rule, "args");
	struct scmp_arg_cmp cmp[6];
	unsigned ncmp = 0;
	const cJSON *it;
	int64_t act;
	int ok;

	snprintf(where, sizeof(where), "syscalls[%d]", idx);
	if (!cJSON_IsObject(rule))
		return fail(p, where, "expected an object", NULL);
	if (!cJSON_IsString(action))
		return fail(p, where, "action: missing or not a string", NULL);
	act = parse_action(action->valuestring, cJSON_GetObjectItemCaseSensitive(rule, "errnoRet"));
	if (act < 0)
		return fail(p, where, "action: unknown or unsupported action, or a bad errnoRet:",
			    action->valuestring);
	if (applies(p, rule, where, &ok) < 0)
		return -1;
	if (args && !cJSON_IsArray(args))
		return fail(p, where, "args: expected an array", NULL);
	cJSON_ArrayForEach(it, args) {
		const cJSON *index = cJSON_GetObjectItemCaseSensitive(it, "index");
		const cJSON *value = cJSON_GetObjectItemCaseSensitive(it, "value");
		const cJSON *value2 = cJSON_GetObjectItemCaseSensitive(it, "valueTwo");
		const cJSON *op = cJSON_GetObjectItemCaseSensitive(it, "op");
		int o = cJSON_IsString(op) ? parse_op(op->valuestring) : -1;
		uint64_t ix, v1, v2 = 0;

		if (ncmp == 6 || json_uint(index, 5, &ix) < 0 || json_uint(value, UINT64_MAX, &v1) < 0 ||
		    (value2 && json_uint(value2, UINT64_MAX, &v2) < 0))
			return fail(p, where, "args: each needs index 0..5 and whole values in 0..2^53", NULL);
		if (o < 0)
			return fail(p, where, "args: unknown op", cJSON_IsString(op) ? op->valuestring : "");
		cmp[ncmp++] = SCMP_CMP((unsigned)ix, (enum scmp_compare)o, v1, v2);
	}
	if (names && !cJSON_IsArray(names))
		return fail(p, where, "names: expected an array", NULL);
	if (!names && !cJSON_IsString(name))
		return fail(p, where, "needs names (array) or name (string)", NULL);
	if (!ok || (uint32_t)act == p->default_action)
		return 0;
	for (it = names ? names->child : name; it; it = names ? it->next : NULL) {
		int nr, rc;

		if (!cJSON_IsString(it))
			return fail(p, where, "names: expected strings", NULL);
		nr = seccomp_syscall_resolve_name(it->valuestring);
		if (nr == __NR_SCMP_ERROR)
			continue; /* unknown to this libseccomp (and so to its kernels): stays at the default */
		rc = seccomp_rule_add_array(p->ctx, (uint32_t)act, nr, ncmp, cmp);
		if (rc < 0)
			return berth_err_set(p->err, -rc, "%s: %s: cannot add a rule for %s", p->path, where,
					     it->valuestring);
	}
	return 0;
}

static int add_arches(struct profile_ctx *p, const cJSON *root)
{
	static const struct { const char *n; uint32_t a; } known[] = {
		{ "SCMP_ARCH_X86_64", SCMP_ARCH_X86_64 }, { "SCMP_ARCH_X86", SCMP_ARCH_X86 },
		{ "SCMP_ARCH_X32", SCMP_ARCH_X32 },
	};
	const cJSON *archmap = cJSON_GetObjectItemCaseSensitive(root, "archMap");
	const cJSON *arches = cJSON_GetObjectItemCaseSensitive(root, "architectures");
	const cJSON *it, *list = arches;

	/* Docker's archMap: the native x86_64 entry and its sub-architectures. */
	cJSON_ArrayForEach(it, archmap) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(it, "architecture");

		if (cJSON_IsString(a) && strcmp(a->valuestring, "SCMP_ARCH_X86_64") == 0)
			list = cJSON_GetObjectItemCaseSensitive(it, "subArchitectures");
	}
	cJSON_ArrayForEach(it, list) {
		size_t i;

		if (!cJSON_IsString(it))
			return fail(p, "architectures", "expected strings", NULL);
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(it->valuestring, known[i].n) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0]))
			continue; /* another machine's architecture: not ours to filter */
		if (known[i].a != SCMP_ARCH_X86_64 && seccomp_arch_add(p->ctx, known[i].a) < 0)
			return fail(p, "architectures", "cannot add", it->valuestring);
	}
	return 0;
}

static char *read_profile(const char *path, size_t *len, struct berth_err *err)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); /* a FIFO must not block us */
	ssize_t n;

	if (fd < 0) {
		berth_err_sys(err, "seccomp profile %s", path);
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PROFILE_MAX_BYTES) {
		close(fd);
		berth_err_set(err, EINVAL, "seccomp profile %s: not a regular file of at most %d bytes", path,
			      PROFILE_MAX_BYTES);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
	close(fd);
	if (n != st.st_size) {
		free(buf);
		berth_err_set(err, EIO, "seccomp profile %s: short read", path);
		return NULL;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

int berth_seccomp_compile_profile(const char *path, uint64_t caps, struct berth_bpf *out,
				  struct berth_err *err)
{
	struct profile_ctx p = { .path = path, .caps = caps, .err = err };
	struct utsname u;
	const cJSON *dflt, *syscalls, *it;
	cJSON *root;
	size_t len = 0;
	char *text;
	int64_t act;
	int rc = -1, idx = 0;

	out->insns = NULL;
	out->len = 0;
	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &p.kernel[0], &p.kernel[1]) != 2)
		return berth_err_sys(err, "uname");
	if (!(text = read_profile(path, &len, err)))
		return -1;
	root = cJSON_ParseWithLength(text, len);
	if (!root) {
		const char *at = cJSON_GetErrorPtr();

		berth_err_set(err, EINVAL, "seccomp profile %s: not valid JSON (near byte %ld)", path,
			      at ? (long)(at - text) : -1L);
		free(text);
		return -1;
	}
	dflt = cJSON_GetObjectItemCaseSensitive(root, "defaultAction");
	act = cJSON_IsString(dflt)
		      ? parse_action(dflt->valuestring, cJSON_GetObjectItemCaseSensitive(root, "defaultErrnoRet"))
		      : -1;
	syscalls = cJSON_GetObjectItemCaseSensitive(root, "syscalls");
	if (act < 0) {
		fail(&p, "defaultAction", "missing, unknown or unsupported", NULL);
		goto out;
	}
	if (syscalls && !cJSON_IsArray(syscalls)) {
		fail(&p, "syscalls", "expected an array", NULL);
		goto out;
	}
	p.default_action = (uint32_t)act;
	if (!(p.ctx = seccomp_init(p.default_action))) {
		berth_err_set(err, EINVAL, "seccomp profile %s: cannot initialise the filter", path);
		goto out;
	}
	seccomp_attr_set(p.ctx, SCMP_FLTATR_CTL_NNP, 0);
	seccomp_attr_set(p.ctx, SCMP_FLTATR_CTL_OPTIMIZE, 1); /* as the default filter (seccomp.c) */
	if (add_arches(&p, root) < 0)
		goto out;
	cJSON_ArrayForEach(it, syscalls)
		if (add_rules(&p, it, idx++) < 0)
			goto out;
	rc = berth_seccomp_export(p.ctx, out, err);
out:
	if (p.ctx)
		seccomp_release(p.ctx);
	cJSON_Delete(root);
	free(text);
	return rc;
}
