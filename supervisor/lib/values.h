/* Value syntax of unit files and berth.conf (systemd.syntax(7) conventions):
 * booleans, time spans, sizes, signals, argv word splitting, bounded integers,
 * and a did-you-mean helper. Pure code: no I/O, no allocation except where a
 * function says so. Every parser returns 0 on success and -1 on a bad value
 * (leaving *OUT untouched); none of them accepts leading or trailing junk. */
#ifndef BERTH_VALUES_H
#define BERTH_VALUES_H

#include <stddef.h>
#include <stdint.h>

#define BERTH_INFINITY INT64_MAX /* "infinity" from the time and size parsers */

/* 1/yes/true/on and 0/no/false/off, any case. */
int berth_parse_bool(const char *s, int *out);

/* A time span in microseconds: a bare number is seconds; otherwise a sequence
 * of NUMBER[UNIT] with optional spaces between and inside pairs ("1m30s",
 * "2min 200ms", "1.5s"), units us/usec, ms/msec, s/sec/second(s), m/min/minute(s),
 * h/hr/hour(s), d/day(s) (case-sensitive, as systemd). A decimal fraction is
 * allowed on each number. "infinity" gives BERTH_INFINITY when ALLOW_INFINITY.
 * Overflow, an empty string, a negative number and an unknown unit are errors. */
int berth_parse_time_us(const char *s, int allow_infinity, int64_t *out);

/* Format a time span for humans ("1min 30s", "200ms", "infinity"). */
void berth_format_time_us(int64_t us, char *buf, size_t len);

/* A size in bytes: a number with an optional K, M, G or T suffix (base 1024,
 * any case, an optional trailing 'B' or 'iB' is not accepted: keep it simple and
 * strict), or "infinity" (BERTH_INFINITY) when ALLOW_INFINITY. Overflow is an error. */
int berth_parse_size(const char *s, int allow_infinity, int64_t *out);

/* Format a size in bytes for humans ("512B", "1.5MiB"; "-" below 0). */
void berth_format_size(double v, char *buf, size_t len);

/* A signal: "TERM", "SIGTERM" (any case) or a number 1..64 (SIGRTMIN+N is not
 * accepted). Returns the signal number in *OUT. */
int berth_parse_signal(const char *s, int *out);
/* "SIGTERM" for 15; NULL when the number has no name. */
const char *berth_signal_name(int sig);

/* An unsigned decimal integer in [MIN, MAX]; no sign, no spaces, no base prefix. */
int berth_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* An IPv4 address as a dotted quad: exactly four decimal parts 0..255, no
 * leading zeros (inet_aton would read "010" as octal 8), no blanks. *OUT is in
 * host byte order ("10.88.0.2" is 0x0a580002). */
int berth_parse_ipv4(const char *s, uint32_t *out);
/* Host-order address -> "10.88.0.2" in BUF (at least 16 bytes); returns BUF. */
char *berth_format_ipv4(uint32_t addr, char *buf);

/* Split S into words as systemd does for ExecStart= (systemd.syntax(7) "Quoting"):
 * words separated by runs of spaces/tabs; a word may be or contain 'single' or
 * "double" quoted parts (concatenated with adjacent text); inside double quotes
 * and unquoted, C escapes \a \b \f \n \r \t \v \\ \" \' \s (space) \xHH \NNN
 * (octal) are decoded; inside single quotes nothing is decoded; a NUL produced
 * by an escape, an unterminated quote or a trailing lone backslash is an error.
 * On success *WORDS is a NULL-terminated array of MAX_WORDS words at most, every
 * string and the array in ONE allocation (free(*WORDS) frees all); *NWORDS is the
 * count. On error returns -1 and fills MSG (a short reason: "unterminated quote",
 * "too many words (max 64)", ...). */
int berth_split_words(const char *s, size_t max_words, char ***words, size_t *nwords, char *msg,
		      size_t msglen);

/* The closest of CANDIDATES[0..N) to WORD by edit distance (case-insensitive),
 * if the distance is at most max(1, strlen(WORD)/3); else NULL. */
const char *berth_did_you_mean(const char *word, const char *const *candidates, size_t n);

#endif
