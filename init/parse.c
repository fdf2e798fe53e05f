/* berth-init: pure parsers for the kernel command line, sysctl lists, module
 * lists and config values. No system calls here: this is what unit tests reach. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "init.h"

static int copy_out(const char *s, size_t n, char *out, size_t outlen)
{
	if (n >= outlen)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return 1;
}

int init_cmdline_get(const char *cmdline, const char *key, char *out, size_t outlen)
{
	size_t keylen = strlen(key);
	const char *p = cmdline;
	int found = 0;

	while (*p) {
		const char *tok, *val = NULL;
		size_t toklen, vallen = 0;
		int quoted = 0;

		while (*p && isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		tok = p;
		/* A token ends at unquoted whitespace; quotes may open anywhere. */
		while (*p && (quoted || !isspace((unsigned char)*p))) {
			if (*p == '"')
				quoted = !quoted;
			p++;
		}
		toklen = (size_t)(p - tok);
		if (toklen == 2 && tok[0] == '-' && tok[1] == '-')
			break;
		if (toklen < keylen || memcmp(tok, key, keylen) != 0)
			continue;
		if (toklen == keylen) {
			val = tok + toklen;
		} else if (tok[keylen] == '=') {
			val = tok + keylen + 1;
			vallen = toklen - keylen - 1;
			if (vallen >= 2 && val[0] == '"' && val[vallen - 1] == '"') {
				val++;
				vallen -= 2;
			}
		} else {
			continue;
		}
		/* Only the last occurrence counts, also when an earlier one was too long. */
		found = copy_out(val, vallen, out, outlen);
	}
	return found;
}

static const char *trim(const char *s, size_t *len)
{
	size_t n = *len;

	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	*len = n;
	return s;
}

int init_sysctl_parse_line(const char *line, char *path, size_t pathlen, char *value,
			   size_t valuelen, int *optional)
{
	const char *eq, *k, *v;
	size_t klen, vlen, i;
	static const char prefix[] = "/proc/sys/";

	klen = strlen(line);
	k = trim(line, &klen);
	if (klen == 0 || k[0] == '#' || k[0] == ';')
		return 0;
	eq = memchr(k, '=', klen);
	if (!eq)
		return -1;
	vlen = klen - (size_t)(eq - k) - 1;
	v = trim(eq + 1, &vlen);
	klen = (size_t)(eq - k);
	k = trim(k, &klen);
	*optional = 0;
	if (klen && k[0] == '-') {
		*optional = 1;
		k++;
		klen--;
	}
	if (klen == 0 || vlen == 0 || k[0] == '.' || k[0] == '/')
		return -1;
	if (sizeof(prefix) - 1 + klen >= pathlen || vlen >= valuelen)
		return -1;
	memcpy(path, prefix, sizeof(prefix) - 1);
	for (i = 0; i < klen; i++) {
		char c = k[i];

		/* Keys name files under /proc/sys: no way out of it. */
		if (!(isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' || c == '/'))
			return -1;
		if ((c == '.' || c == '/') && i + 1 < klen && (k[i + 1] == '.' || k[i + 1] == '/'))
			return -1;
		path[sizeof(prefix) - 1 + i] = c == '.' ? '/' : c;
	}
	path[sizeof(prefix) - 1 + klen] = '\0';
	memcpy(value, v, vlen);
	value[vlen] = '\0';
	return 1;
}

int init_parse_pids_max(const char *s, long *out)
{
	char *end;
	long v;

	if (strcmp(s, "max") == 0) {
		*out = -1;
		return 0;
	}
	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > INIT_PIDS_MAX_LIMIT)
		return -1;
	*out = v;
	return 0;
}

int init_module_parse_line(const char *line, char *name, size_t namelen)
{
	size_t n = strcspn(line, "#");
	const char *s = trim(line, &n);
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-'))
			return -1;
	return copy_out(s, n, name, namelen);
}

int init_debug_shell_tty(const char *value, char *path, size_t pathlen)
{
	size_t i, n = strlen(value);

	if (n == 0 || strcmp(value, "0") == 0 || strcmp(value, "no") == 0)
		return 0;
	if (strcmp(value, "1") == 0 || strcmp(value, "yes") == 0)
		value = "ttyS0";
	n = strlen(value);
	if (n > 32)
		return -1;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)value[i]))
			return -1;
	if (5 + n >= pathlen)
		return -1;
	memcpy(path, "/dev/", 5);
	memcpy(path + 5, value, n + 1);
	return 1;
}
