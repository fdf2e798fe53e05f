/* Value syntax of unit files: booleans, times, sizes, signals, integers, words (see values.h). */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "values.h"

/* The largest finite time or size: INT64_MAX itself means "infinity", so a
 * number that reaches it is an overflow, not a silent infinity. */
#define MAX_FINITE (BERTH_INFINITY - 1)

/* Did-you-mean compares words of at most this many characters. */
#define DYM_MAX 64

/* ASCII only, on purpose: unit files must not parse differently by locale. */
static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static char to_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int eq_nocase(const char *a, const char *b)
{
	for (; *a && to_lower(*a) == to_lower(*b); a++)
		b++;
	return to_lower(*a) == to_lower(*b);
}

/* Read a run of decimal digits at *P into *OUT; fails on no digit or on
 * overflow of uint64_t. Advances *P past the digits. */
static int read_digits(const char **p, uint64_t *out)
{
	const char *q = *p;
	uint64_t n = 0;

	if (!is_digit(*q))
		return -1;
	for (; is_digit(*q); q++) {
		unsigned d = (unsigned)(*q - '0');

		if (n > (UINT64_MAX - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*p = q;
	*out = n;
	return 0;
}

int berth_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (eq_nocase(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (eq_nocase(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static const struct {
	const char *name;
	int64_t us;
} time_units[] = {
	{ "us", 1 },
	{ "usec", 1 },
	{ "ms", 1000 },
	{ "msec", 1000 },
	{ "s", 1000000 },
	{ "sec", 1000000 },
	{ "second", 1000000 },
	{ "seconds", 1000000 },
	{ "m", 60 * INT64_C(1000000) },
	{ "min", 60 * INT64_C(1000000) },
	{ "minute", 60 * INT64_C(1000000) },
	{ "minutes", 60 * INT64_C(1000000) },
	{ "h", 3600 * INT64_C(1000000) },
	{ "hr", 3600 * INT64_C(1000000) },
	{ "hour", 3600 * INT64_C(1000000) },
	{ "hours", 3600 * INT64_C(1000000) },
	{ "d", 86400 * INT64_C(1000000) },
	{ "day", 86400 * INT64_C(1000000) },
	{ "days", 86400 * INT64_C(1000000) },
};

/* The multiplier of the unit spelled by the LEN letters at S, or 0. */
static int64_t time_unit(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(time_units) / sizeof(time_units[0]); i++)
		if (strlen(time_units[i].name) == len && memcmp(time_units[i].name, s, len) == 0)
			return time_units[i].us;
	return 0;
}

/* Each pair is NUMBER[.FRACTION][blanks][UNIT]; a pair without a unit counts
 * seconds, as in systemd ("1m30" is 90 s). Pairs are separated by blanks, or
 * follow a unit directly ("1m30s"). A fraction finer than 1 us is truncated. */
int berth_parse_time_us(const char *s, int allow_infinity, int64_t *out)
{
	const char *p = s;
	int64_t total = 0;

	if (strcmp(s, "infinity") == 0) {
		if (!allow_infinity)
			return -1;
		*out = BERTH_INFINITY;
		return 0;
	}
	for (;;) {
		const char *frac = NULL, *q;
		int64_t mult = 1000000;
		uint64_t whole;
		int has_unit = 0;

		/* Also rejects "", leading blanks, signs and ".5". */
		if (read_digits(&p, &whole) < 0)
			return -1;
		if (*p == '.') {
			frac = ++p;
			while (is_digit(*p))
				p++;
			if (p == frac)
				return -1;
		}
		for (q = p; is_blank(*q); q++)
			;
		if (is_alpha(*q)) {
			for (p = q; is_alpha(*p); p++)
				;
			mult = time_unit(q, (size_t)(p - q));
			if (!mult)
				return -1;
			has_unit = 1;
		}
		if (whole > (uint64_t)(MAX_FINITE - total) / (uint64_t)mult)
			return -1;
		total += (int64_t)whole * mult;
		if (frac) {
			int64_t m = mult / 10;

			for (; is_digit(*frac); frac++, m /= 10) {
				int64_t k = (*frac - '0') * m;

				if (k > MAX_FINITE - total)
					return -1;
				total += k;
			}
		}
		if (*p == '\0')
			break;
		if (is_blank(*p)) {
			while (is_blank(*p))
				p++;
			/* Trailing blanks: the next read_digits() sees '\0' and fails. */
		} else if (!has_unit || !is_digit(*p)) {
			return -1;
		}
	}
	*out = total;
	return 0;
}

void berth_format_time_us(int64_t us, char *buf, size_t len)
{
	static const struct {
		const char *suffix;
		uint64_t us;
	} units[] = {
		{ "d", 86400 * UINT64_C(1000000) }, { "h", 3600 * UINT64_C(1000000) },
		{ "min", 60 * UINT64_C(1000000) },  { "s", 1000000 },
		{ "ms", 1000 },			    { "us", 1 },
	};
	const char *sep;
	uint64_t v;
	size_t pos = 0;

	if (len == 0)
		return;
	if (us == BERTH_INFINITY) {
		snprintf(buf, len, "infinity");
		return;
	}
	if (us == 0) {
		snprintf(buf, len, "0");
		return;
	}
	buf[0] = '\0';
	/* Negative spans never come from the parser; show them rather than lie. */
	v = us < 0 ? (uint64_t)-(us + 1) + 1 : (uint64_t)us; /* INT64_MIN too */
	sep = us < 0 ? "-" : "";
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && v; i++) {
		int n;

		if (v < units[i].us)
			continue;
		n = snprintf(buf + pos, len - pos, "%s%" PRIu64 "%s", sep, v / units[i].us,
			     units[i].suffix);
		if (n < 0 || (size_t)n >= len - pos)
			return; /* truncated, still terminated */
		pos += (size_t)n;
		v %= units[i].us;
		sep = " ";
	}
}

int berth_parse_size(const char *s, int allow_infinity, int64_t *out)
{
	const char *p = s;
	uint64_t n, mult = 1;

	if (strcmp(s, "infinity") == 0) {
		if (!allow_infinity)
			return -1;
		*out = BERTH_INFINITY;
		return 0;
	}
	if (read_digits(&p, &n) < 0)
		return -1;
	switch (to_lower(*p)) {
	case '\0':
		break;
	case 'k':
		mult = UINT64_C(1) << 10;
		break;
	case 'm':
		mult = UINT64_C(1) << 20;
		break;
	case 'g':
		mult = UINT64_C(1) << 30;
		break;
	case 't':
		mult = UINT64_C(1) << 40;
		break;
	default:
		return -1;
	}
	if (mult != 1)
		p++;
	if (*p != '\0' || n > (uint64_t)MAX_FINITE / mult)
		return -1;
	*out = (int64_t)(n * mult);
	return 0;
}

/* Indexed by number; the kernel's numbering is the x86_64 (generic) one. */
static const char *const sig_names[65] = {
	[SIGHUP] = "SIGHUP",	   [SIGINT] = "SIGINT",	    [SIGQUIT] = "SIGQUIT",
	[SIGILL] = "SIGILL",	   [SIGTRAP] = "SIGTRAP",   [SIGABRT] = "SIGABRT",
	[SIGBUS] = "SIGBUS",	   [SIGFPE] = "SIGFPE",	    [SIGKILL] = "SIGKILL",
	[SIGUSR1] = "SIGUSR1",	   [SIGSEGV] = "SIGSEGV",   [SIGUSR2] = "SIGUSR2",
	[SIGPIPE] = "SIGPIPE",	   [SIGALRM] = "SIGALRM",   [SIGTERM] = "SIGTERM",
	[SIGSTKFLT] = "SIGSTKFLT", [SIGCHLD] = "SIGCHLD",   [SIGCONT] = "SIGCONT",
	[SIGSTOP] = "SIGSTOP",	   [SIGTSTP] = "SIGTSTP",   [SIGTTIN] = "SIGTTIN",
	[SIGTTOU] = "SIGTTOU",	   [SIGURG] = "SIGURG",	    [SIGXCPU] = "SIGXCPU",
	[SIGXFSZ] = "SIGXFSZ",	   [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF",
	[SIGWINCH] = "SIGWINCH",   [SIGIO] = "SIGIO",	    [SIGPWR] = "SIGPWR",
	[SIGSYS] = "SIGSYS",
};
_Static_assert(SIGTERM == 15 && SIGSTKFLT == 16 && SIGSYS == 31, "x86_64 signal numbering");

/* Accepted when parsing, never printed. */
static const struct {
	const char *name;
	int sig;
} sig_aliases[] = {
	{ "IOT", SIGIOT },
	{ "POLL", SIGPOLL },
};

int berth_parse_signal(const char *s, int *out)
{
	uint64_t n;

	if (is_digit(*s)) {
		if (berth_parse_uint(s, 1, 64, &n) < 0)
			return -1;
		*out = (int)n;
		return 0;
	}
	if (to_lower(s[0]) == 's' && to_lower(s[1]) == 'i' && to_lower(s[2]) == 'g')
		s += 3;
	if (*s == '\0')
		return -1;
	for (int i = 1; i < 65; i++) {
		if (sig_names[i] && eq_nocase(sig_names[i] + 3, s)) {
			*out = i;
			return 0;
		}
	}
	for (size_t i = 0; i < sizeof(sig_aliases) / sizeof(sig_aliases[0]); i++) {
		if (eq_nocase(sig_aliases[i].name, s)) {
			*out = sig_aliases[i].sig;
			return 0;
		}
	}
	return -1;
}

const char *berth_signal_name(int sig)
{
	return sig > 0 && sig < 65 ? sig_names[sig] : NULL;
}

int berth_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t n;

	if (read_digits(&s, &n) < 0 || *s != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

int berth_parse_ipv4(const char *s, uint32_t *out)
{
	uint32_t a = 0;

	for (int i = 0; i < 4; i++) {
		unsigned part = 0;
		const char *start;

		if (i > 0 && *s++ != '.')
			return -1;
		start = s;
		while (is_digit(*s) && s - start < 3)
			part = part * 10 + (unsigned)(*s++ - '0');
		if (s == start || is_digit(*s) || part > 255 || (start[0] == '0' && s - start > 1))
			return -1;
		a = a << 8 | part;
	}
	if (*s != '\0')
		return -1;
	*out = a;
	return 0;
}

char *berth_format_ipv4(uint32_t addr, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255);
	return buf;
}

__attribute__((format(printf, 3, 4))) static int fail(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	if (msg && msglen) {
		va_start(ap, fmt);
		vsnprintf(msg, msglen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	c = to_lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode the escape whose backslash is just before *P; returns the byte
 * (1..255) and advances *P past the escape, or -1 with MSG filled. */
static int unescape(const char **p, char *msg, size_t msglen)
{
	const char *e = *p;
	int c, hi, lo;

	switch (*e) {
	case '\0':
		return fail(msg, msglen, "trailing backslash");
	case 'a':
		c = '\a';
		break;
	case 'b':
		c = '\b';
		break;
	case 'f':
		c = '\f';
		break;
	case 'n':
		c = '\n';
		break;
	case 'r':
		c = '\r';
		break;
	case 't':
		c = '\t';
		break;
	case 'v':
		c = '\v';
		break;
	case 's':
		c = ' ';
		break;
	case '\\':
	case '"':
	case '\'':
		c = *e;
		break;
	case 'x':
		hi = hex_value(e[1]);
		lo = hi < 0 ? -1 : hex_value(e[2]);
		if (lo < 0)
			return fail(msg, msglen, "bad escape \\x (two hex digits needed)");
		c = hi * 16 + lo;
		e += 2;
		break;
	case '0' ... '7':
		if (*e > '3' || e[1] < '0' || e[1] > '7' || e[2] < '0' || e[2] > '7')
			return fail(msg, msglen, "bad octal escape (\\000 to \\377)");
		c = (e[0] - '0') * 64 + (e[1] - '0') * 8 + (e[2] - '0');
		e += 2;
		break;
	default:
		if (*e > ' ' && *e < 0x7f)
			return fail(msg, msglen, "unknown escape \\%c", *e);
		return fail(msg, msglen, "unknown escape (byte 0x%02x)", (unsigned char)*e);
	}
	if (c == 0)
		return fail(msg, msglen, "escape gives a NUL byte");
	*p = e + 1;
	return c;
}

/* Scan the word starting at *P (not at a blank); write it to DST unless DST
 * is NULL, count its length in *LEN and advance *P past it. */
static int scan_word(const char **p, char *dst, size_t *len, char *msg, size_t msglen)
{
	const char *q = *p;
	size_t n = 0;
	char quote = 0;

	for (;;) {
		char c = *q;
		int e;

		if (c == '\0') {
			if (quote)
				return fail(msg, msglen, "unterminated quote");
			break;
		}
		if (!quote && is_blank(c))
			break;
		q++;
		if (quote == '\'') {
			/* Nothing is decoded between single quotes. */
			if (c == '\'') {
				quote = 0;
				continue;
			}
		} else if (c == '\\') {
			e = unescape(&q, msg, msglen);
			if (e < 0)
				return -1;
			c = (char)e;
		} else if (c == '"' && quote) {
			quote = 0;
			continue;
		} else if ((c == '"' || c == '\'') && !quote) {
			quote = c;
			continue;
		}
		if (dst)
			dst[n] = c;
		n++;
	}
	*p = q;
	*len = n;
	return 0;
}

/* Two passes over S: the first checks it and sizes the block, the second fills it. */
int berth_split_words(const char *s, size_t max_words, char ***words, size_t *nwords, char *msg,
		      size_t msglen)
{
	const char *p = s;
	size_t n = 0, bytes = 0, len = 0, size;
	char **argv, *str;

	for (;;) {
		while (is_blank(*p))
			p++;
		if (*p == '\0')
			break;
		if (n == max_words)
			return fail(msg, msglen, "too many words (max %zu)", max_words);
		if (scan_word(&p, NULL, &len, msg, msglen) < 0)
			return -1;
		n++;
		bytes += len + 1;
	}
	if (__builtin_mul_overflow(n + 1, sizeof(char *), &size) ||
	    __builtin_add_overflow(size, bytes, &size))
		return fail(msg, msglen, "too long");
	argv = malloc(size);
	if (!argv)
		return fail(msg, msglen, "out of memory");
	str = (char *)(argv + n + 1);
	p = s;
	for (size_t i = 0; i < n; i++) {
		while (is_blank(*p))
			p++;
		/* Cannot fail: the first pass accepted the same text. */
		scan_word(&p, str, &len, NULL, 0);
		str[len] = '\0';
		argv[i] = str;
		str += len + 1;
	}
	argv[n] = NULL;
	*words = argv;
	*nwords = n;
	return 0;
}

/* Case-insensitive Levenshtein distance of A and B (at most DYM_MAX chars each). */
static size_t distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t row[DYM_MAX + 1];

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (to_lower(a[i - 1]) != to_lower(b[j - 1]));

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* Words and candidates longer than DYM_MAX are never suggested: no allocation,
 * and unit-file keys are far shorter. Ties go to the earlier candidate. */
const char *berth_did_you_mean(const char *word, const char *const *candidates, size_t n)
{
	size_t lw = strnlen(word, DYM_MAX + 1), limit = lw / 3 > 1 ? lw / 3 : 1, best_d = limit + 1;
	const char *best = NULL;

	if (lw > DYM_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t lc = strnlen(candidates[i], DYM_MAX + 1), d;

		/* The distance is at least the difference in length. */
		if (lc > DYM_MAX || (lc > lw ? lc - lw : lw - lc) > limit)
			continue;
		d = distance(word, lw, candidates[i], lc);
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	return best;
}

void berth_format_size(double v, char *b, size_t len)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	if (v < 0) {
		snprintf(b, len, "-");
		return;
	}
	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(b, len, i ? "%.1f%s" : "%.0f%s", v, u[i]);
}
