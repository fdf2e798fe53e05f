/* Authorization of control requests: the verb table, the authz.conf parser and
 * the allow/deny decision. Pure code: names are resolved by the caller's lookup. */
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "lib/values.h"

#define AUTHZ_LINE_MAX 1024 /* bytes of a line, without its '\n' */
#define SHOW_MAX 64         /* bytes of a name or pattern quoted in a message */

/* The verbs, in enum order.
 *   read    changes nothing; "read" in VERBS grants exactly these.
 *   global  acts on no single unit, so only a rule whose UNITS is exactly "*"
 *           grants it, whatever unit the request names:
 *             reload   re-reads every unit file
 *             metrics  the daemon's counters, which cover every unit
 *             deploy   names a unit file, not an existing unit: a pattern cannot
 *                      vouch for a unit that does not exist yet, and a new unit is
 *                      a new container with privileges of its own choosing
 * list and stats without a NAME are answered per unit: the server asks about each
 * unit and shows the allowed ones. Asked with no unit (NULL), a per-unit verb is a
 * question about all units and needs "*" as well. */
static const struct verb {
	const char *name;
	unsigned read : 1, global : 1;
} verbs[BERTH_VERB_COUNT] = {
	[BERTH_VERB_LIST] = { "list", 1, 0 },
	[BERTH_VERB_STATUS] = { "status", 1, 0 },
	[BERTH_VERB_LOGS] = { "logs", 1, 0 },
	[BERTH_VERB_STATS] = { "stats", 1, 0 },
	[BERTH_VERB_INSPECT] = { "inspect", 1, 0 },
	[BERTH_VERB_CAT] = { "cat", 1, 0 },
	[BERTH_VERB_METRICS] = { "metrics", 1, 1 },
	[BERTH_VERB_START] = { "start", 0, 0 },
	[BERTH_VERB_STOP] = { "stop", 0, 0 },
	[BERTH_VERB_RESTART] = { "restart", 0, 0 },
	[BERTH_VERB_RELOAD] = { "reload", 0, 1 },
	[BERTH_VERB_DEPLOY] = { "deploy", 0, 1 },
	[BERTH_VERB_RM] = { "rm", 0, 0 },
	[BERTH_VERB_EXEC] = { "exec", 0, 0 },
	[BERTH_VERB_POWEROFF] = { "poweroff", 0, 1 },
	[BERTH_VERB_REBOOT] = { "reboot", 0, 1 },
	[BERTH_VERB_IMAGES] = { "images", 1, 1 },
	[BERTH_VERB_IMAGE] = { "image", 0, 1 },
};

int berth_verb_from_name(const char *name)
{
	for (int v = 0; v < BERTH_VERB_COUNT; v++)
		if (strcmp(verbs[v].name, name) == 0)
			return v;
	return -1;
}

const char *berth_verb_name(enum berth_verb v)
{
	return (unsigned)v < BERTH_VERB_COUNT ? verbs[v].name : NULL;
}

int berth_verb_is_read(enum berth_verb v)
{
	return (unsigned)v < BERTH_VERB_COUNT && verbs[v].read;
}

int berth_verb_is_global(enum berth_verb v)
{
	return (unsigned)v < BERTH_VERB_COUNT && verbs[v].global;
}

struct parser {
	const char *file;
	berth_authz_lookup_fn lookup;
	void *ctx;
	struct berth_diag *diag;
	int line;
	int errors; /* of this file only: DIAG may hold other files' errors */
};

static void __attribute__((format(printf, 2, 3))) error(struct parser *p, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	berth_diag_error(p->diag, p->file, p->line, "%s", msg);
	p->errors++;
}

/* S (N bytes) fit for a message: at most SHOW_MAX bytes, then "...", and every
 * byte that is not printable ASCII as \xHH, so a hostile file cannot put terminal
 * control sequences into the log. */
static const char *show(const char *s, size_t n, char buf[static SHOW_MAX * 4 + 4])
{
	char *o = buf;

	for (size_t i = 0; i < n && i < SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f)
			*o++ = (char)c;
		else
			o += sprintf(o, "\\x%02x", c);
	}
	if (n > SHOW_MAX)
		o = stpcpy(o, "...");
	*o = '\0';
	return buf;
}

/* PRINCIPAL: NAME (a user) or @NAME (a group). */
static int parse_principal(struct parser *p, const char *s, struct berth_authz_rule *r)
{
	char buf[SHOW_MAX * 4 + 4];

	r->group = s[0] == '@';
	if (r->group)
		s++;
	if (!*s) {
		error(p, "missing group name after '@'");
		return -1;
	}
	if (p->lookup(s, r->group, &r->id, p->ctx) != 0) {
		error(p, "unknown %s '%s'", r->group ? "group" : "user", show(s, strlen(s), buf));
		return -1;
	}
	return 0;
}

/* VERBS: comma-separated verb names, "read" or "*". Reports every bad item. */
static int parse_verbs(struct parser *p, const char *s, uint32_t *mask)
{
	char buf[SHOW_MAX * 4 + 4], word[AUTHZ_LINE_MAX + 1];
	int ret = 0;

	*mask = 0;
	for (;;) {
		size_t n = strcspn(s, ",");
		int v;

		memcpy(word, s, n);
		word[n] = '\0';
		if (n == 0) {
			error(p, "empty verb in the list of verbs");
			ret = -1;
		} else if (strcmp(word, "*") == 0) {
			*mask |= (1u << BERTH_VERB_COUNT) - 1;
		} else if (strcmp(word, "read") == 0) {
			for (v = 0; v < BERTH_VERB_COUNT; v++)
				if (verbs[v].read)
					*mask |= 1u << v;
		} else if ((v = berth_verb_from_name(word)) >= 0) {
			*mask |= 1u << v;
		} else {
			const char *words[BERTH_VERB_COUNT + 1], *hint;

			for (v = 0; v < BERTH_VERB_COUNT; v++)
				words[v] = verbs[v].name;
			words[BERTH_VERB_COUNT] = "read";
			hint = berth_did_you_mean(word, words, BERTH_VERB_COUNT + 1);
			if (hint)
				error(p, "unknown verb '%s'; did you mean '%s'?", show(word, n, buf), hint);
			else
				error(p, "unknown verb '%s'", show(word, n, buf));
			ret = -1;
		}
		if (!s[n])
			return ret;
		s += n + 1;
	}
}

static int pattern_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       strchr("_.*?[]!-", c) != NULL;
}

/* UNITS: comma-separated patterns. Every pattern is checked (reporting each bad
 * one) before the array and its strings are allocated as one block. Returns -1
 * after an error, -2 when out of memory. */
static int parse_units(struct parser *p, const char *s, struct berth_authz_rule *r)
{
	char buf[SHOW_MAX * 4 + 4], **units, *str;
	size_t count = 0, bytes = 0;
	const char *q;
	int ret = 0;

	for (q = s;; q++) {
		size_t n = strcspn(q, ",");

		if (n == 0) {
			error(p, "empty unit pattern in the list of units");
			ret = -1;
		} else {
			for (size_t i = 0; i < n; i++)
				if (!pattern_char(q[i])) {
					error(p, "bad unit pattern '%s' (allowed: A-Z a-z 0-9 _ . * ? [ ] ! -)",
					      show(q, n, buf));
					ret = -1;
					break;
				}
		}
		count++;
		bytes += n + 1;
		q += n;
		if (!*q)
			break;
	}
	if (ret < 0)
		return ret;
	units = malloc((count + 1) * sizeof(*units) + bytes);
	if (!units)
		return -2;
	str = (char *)(units + count + 1);
	count = 0;
	for (q = s;; q++) {
		size_t n = strcspn(q, ",");

		units[count++] = memcpy(str, q, n);
		str[n] = '\0';
		str += n + 1;
		q += n;
		if (!*q)
			break;
	}
	units[count] = NULL;
	r->units = units;
	r->all_units = strcmp(s, "*") == 0;
	return 0;
}

/* One line (N bytes, no '\n'). Returns -2 when out of memory, else 0 (errors
 * are counted in P). */
static int parse_line(struct parser *p, const char *line, size_t n, struct berth_authz *a, size_t *cap)
{
	char buf[AUTHZ_LINE_MAX + 1], *field[3], *s = buf;
	struct berth_authz_rule r = { .line = p->line };
	int nfields = 0, ok;

	if (n > AUTHZ_LINE_MAX) {
		error(p, "line too long (%zu bytes, at most %d)", n, AUTHZ_LINE_MAX);
		return 0;
	}
	if (memchr(line, '\0', n)) {
		error(p, "NUL byte in the line");
		return 0;
	}
	memcpy(buf, line, n);
	buf[n] = '\0';
	for (;;) {
		s += strspn(s, " \t");
		if (!*s)
			break;
		if (nfields < 3)
			field[nfields] = s;
		nfields++;
		s += strcspn(s, " \t");
		if (*s)
			*s++ = '\0';
	}
	if (nfields == 0 || field[0][0] == '#')
		return 0;
	if (nfields != 3) {
		error(p, "expected 3 fields (PRINCIPAL VERBS UNITS), got %d", nfields);
		return 0;
	}
	/* Check every field, so each line reports all of its errors at once. */
	ok = parse_principal(p, field[0], &r) == 0;
	ok &= parse_verbs(p, field[1], &r.verbs) == 0;
	switch (parse_units(p, field[2], &r)) {
	case -2:
		return -2;
	case -1:
		ok = 0;
		break;
	}
	if (!ok || p->errors) {
		/* The policy is dropped at the end anyway: keep reporting, stop storing. */
		free(r.units);
		return 0;
	}
	if (a->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct berth_authz_rule *t = realloc(a->rules, ncap * sizeof(*t));

		if (!t) {
			free(r.units);
			return -2;
		}
		a->rules = t;
		*cap = ncap;
	}
	a->rules[a->n++] = r;
	return 0;
}

int berth_authz_parse(const char *text, size_t len, const char *file, berth_authz_lookup_fn lookup,
		      void *ctx, struct berth_authz *out, struct berth_diag *diag)
{
	struct parser p = { .file = file, .lookup = lookup, .ctx = ctx, .diag = diag };
	struct berth_authz a = { 0 };
	size_t cap = 0, off = 0;

	out->rules = NULL;
	out->n = 0;
	while (off < len) {
		const char *line = text + off, *nl = memchr(line, '\n', len - off);
		size_t n = nl ? (size_t)(nl - line) : len - off;

		if (p.line == INT_MAX) {
			error(&p, "too many lines");
			break;
		}
		p.line++;
		if (parse_line(&p, line, n, &a, &cap) < 0) {
			error(&p, "out of memory");
			break;
		}
		off += n + 1;
	}
	if (p.errors) {
		berth_authz_free(&a);
		return -1;
	}
	*out = a;
	return 0;
}

static int peer_matches(const struct berth_authz_rule *r, const struct berth_peer *peer)
{
	if (!r->group)
		return (uint32_t)peer->uid == r->id;
	if ((uint32_t)peer->gid == r->id)
		return 1;
	for (size_t i = 0; i < peer->ngroups; i++)
		if ((uint32_t)peer->groups[i] == r->id)
			return 1;
	return 0;
}

int berth_authz_allowed(const struct berth_authz *a, const struct berth_peer *peer, enum berth_verb verb,
			const char *unit)
{
	if (peer->uid == 0)
		return 1;
	if ((unsigned)verb >= BERTH_VERB_COUNT || !a)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct berth_authz_rule *r = &a->rules[i];

		if (!(r->verbs & (1u << verb)) || !peer_matches(r, peer))
			continue;
		if (r->all_units)
			return 1;
		if (verbs[verb].global || !unit)
			continue;
		for (char **u = r->units; *u; u++)
			if (fnmatch(*u, unit, 0) == 0)
				return 1;
	}
	return 0;
}

void berth_authz_free(struct berth_authz *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->rules[i].units);
	free(a->rules);
	a->rules = NULL;
	a->n = 0;
}
