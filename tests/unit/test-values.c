/* Unit tests of lib/values.c: booleans, time spans, sizes, signals, integers,
 * ExecStart-style word splitting, did-you-mean and IPv4 addresses. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/values.h"
#include "t.h"

#define SEC INT64_C(1000000)
#define UNTOUCHED INT64_C(-4242)

/* 1 when S parses to WANT; 0 otherwise. */
static int bool_is(const char *s, int want)
{
	int v = -1;

	return berth_parse_bool(s, &v) == 0 && v == want;
}

/* 1 when S is rejected and the output was left alone. */
static int bool_bad(const char *s)
{
	int v = 7;

	return berth_parse_bool(s, &v) == -1 && v == 7;
}

static int time_is(const char *s, int64_t want)
{
	int64_t v = UNTOUCHED;

	return berth_parse_time_us(s, 0, &v) == 0 && v == want;
}

static int time_bad(const char *s)
{
	int64_t v = UNTOUCHED;

	return berth_parse_time_us(s, 1, &v) == -1 && v == UNTOUCHED;
}

static int size_is(const char *s, int64_t want)
{
	int64_t v = UNTOUCHED;

	return berth_parse_size(s, 0, &v) == 0 && v == want;
}

static int size_bad(const char *s)
{
	int64_t v = UNTOUCHED;

	return berth_parse_size(s, 1, &v) == -1 && v == UNTOUCHED;
}

static int sig_is(const char *s, int want)
{
	int v = -1;

	return berth_parse_signal(s, &v) == 0 && v == want;
}

static int sig_bad(const char *s)
{
	int v = -7;

	return berth_parse_signal(s, &v) == -1 && v == -7;
}

static int uint_is(const char *s, uint64_t min, uint64_t max, uint64_t want)
{
	uint64_t v = 4242;

	return berth_parse_uint(s, min, max, &v) == 0 && v == want;
}

static int uint_bad(const char *s, uint64_t min, uint64_t max)
{
	uint64_t v = 4242;

	return berth_parse_uint(s, min, max, &v) == -1 && v == 4242;
}

static void bools(void)
{
	CHECK(bool_is("1", 1) && bool_is("yes", 1) && bool_is("true", 1) && bool_is("on", 1));
	CHECK(bool_is("YES", 1) && bool_is("True", 1) && bool_is("oN", 1));
	CHECK(bool_is("0", 0) && bool_is("no", 0) && bool_is("false", 0) && bool_is("off", 0));
	CHECK(bool_is("NO", 0) && bool_is("False", 0) && bool_is("OFF", 0));
	CHECK(bool_bad(""));
	CHECK(bool_bad(" yes") && bool_bad("yes ") && bool_bad("\tno"));
	CHECK(bool_bad("2") && bool_bad("01") && bool_bad("+1") && bool_bad("-1"));
	CHECK(bool_bad("y") && bool_bad("n") && bool_bad("ye") && bool_bad("yess"));
	CHECK(bool_bad("of") && bool_bad("offf") && bool_bad("enable") && bool_bad("t"));
}

static void time_units(void)
{
	CHECK(time_is("0", 0));
	CHECK(time_is("5", 5 * SEC));
	CHECK(time_is("007", 7 * SEC));
	CHECK(time_is("1us", 1) && time_is("1usec", 1));
	CHECK(time_is("5ms", 5000) && time_is("5msec", 5000));
	CHECK(time_is("2s", 2 * SEC) && time_is("2sec", 2 * SEC));
	CHECK(time_is("1second", SEC) && time_is("2seconds", 2 * SEC));
	CHECK(time_is("3m", 180 * SEC) && time_is("3min", 180 * SEC));
	CHECK(time_is("1minute", 60 * SEC) && time_is("2minutes", 120 * SEC));
	CHECK(time_is("1h", 3600 * SEC) && time_is("1hr", 3600 * SEC));
	CHECK(time_is("1hour", 3600 * SEC) && time_is("2hours", 7200 * SEC));
	CHECK(time_is("1d", 86400 * SEC) && time_is("1day", 86400 * SEC));
	CHECK(time_is("2days", 2 * 86400 * SEC));
	CHECK(time_is("0s", 0) && time_is("0d", 0));
	/* Units are case-sensitive, as in systemd. */
	CHECK(time_bad("1S") && time_bad("1Min") && time_bad("1MS") && time_bad("1H"));
	/* Plurals and spellings outside the list. */
	CHECK(time_bad("1secs") && time_bad("1hrs") && time_bad("1mins") && time_bad("1w"));
	CHECK(time_bad("1y") && time_bad("1ns") && time_bad("1M") && time_bad("1e3"));
}

static void time_sequences(void)
{
	CHECK(time_is("1m30s", 90 * SEC));
	CHECK(time_is("2min 200ms", 120 * SEC + 200000));
	CHECK(time_is("1h 2min 3s", 3723 * SEC));
	CHECK(time_is("1d2h", 26 * 3600 * SEC));
	CHECK(time_is("1 s", SEC) && time_is("1  \t s", SEC));
	CHECK(time_is("1 min 30 s", 90 * SEC));
	CHECK(time_is("2min\t200ms", 120 * SEC + 200000));
	/* A number without a unit counts seconds wherever it is (systemd). */
	CHECK(time_is("1m30", 90 * SEC));
	CHECK(time_is("1 2", 3 * SEC));
	CHECK(time_is("1s1s", 2 * SEC));
	/* Leading and trailing blanks are junk. */
	CHECK(time_bad(" 5") && time_bad("5 ") && time_bad("1m 30s ") && time_bad("\t1s"));
	CHECK(time_bad("") && time_bad(" ") && time_bad("s") && time_bad("ms"));
	CHECK(time_bad("10x") && time_bad("1m30x") && time_bad("1s,2s") && time_bad("1s 2s x"));
	CHECK(time_bad("1s-2s") && time_bad("1 s s"));
}

static void time_fractions(void)
{
	CHECK(time_is("1.5s", 1500000));
	CHECK(time_is("1.5", 1500000));
	CHECK(time_is("0.25min", 15 * SEC));
	CHECK(time_is("1.5 h", 5400 * SEC));
	CHECK(time_is("0.000001", 1));
	CHECK(time_is("1.000", SEC));
	/* Finer than a microsecond is truncated. */
	CHECK(time_is("0.0000019", 1));
	CHECK(time_is("1.9us", 1));
	CHECK(time_is("1.5ms 0.5ms", 2000));
	CHECK(time_bad("1.") && time_bad("1.s") && time_bad(".5") && time_bad(".5s"));
	CHECK(time_bad("1..5") && time_bad("1.5.5") && time_bad("1.5s.5") && time_bad("1,5s"));
	CHECK(time_bad("1. 5s") && time_bad("1 .5s"));
}

static void time_bad_numbers(void)
{
	CHECK(time_bad("-1") && time_bad("-0") && time_bad("+1") && time_bad("-1s"));
	CHECK(time_bad("0x10") && time_bad("1e6") && time_bad("1_000"));
	CHECK(time_bad("1s -1s"));
}

static void time_overflow(void)
{
	/* INT64_MAX is infinity, so the largest finite span is one below. */
	CHECK(time_is("9223372036854775806us", INT64_MAX - 1));
	CHECK(time_bad("9223372036854775807us"));
	CHECK(time_bad("9223372036854775807"));
	CHECK(time_is("9223372036854s", INT64_C(9223372036854) * SEC));
	CHECK(time_bad("9223372036855s"));
	CHECK(time_is("106751991d", INT64_C(106751991) * 86400 * SEC));
	CHECK(time_bad("106751992d"));
	/* The sum overflows though every part fits. */
	CHECK(time_is("9223372036854s 775806us", INT64_MAX - 1));
	CHECK(time_bad("9223372036854s 775807us"));
	CHECK(time_bad("106751991d 106751991d"));
	/* The fraction pushes it over. */
	CHECK(time_bad("9223372036854.9s"));
	CHECK(time_is("9223372036854.775806s", INT64_MAX - 1));
	CHECK(time_bad("9223372036854.775807s"));
	/* More digits than uint64_t holds. */
	CHECK(time_bad("18446744073709551616us") && time_bad("99999999999999999999999"));
	CHECK(time_bad("18446744073709551615h"));
}

static void time_infinity(void)
{
	int64_t v = UNTOUCHED;

	CHECK(berth_parse_time_us("infinity", 1, &v) == 0 && v == BERTH_INFINITY);
	v = UNTOUCHED;
	CHECK(berth_parse_time_us("infinity", 0, &v) == -1 && v == UNTOUCHED);
	CHECK(time_bad("Infinity") && time_bad("infinity ") && time_bad(" infinity"));
	CHECK(time_bad("inf") && time_bad("infinitys") && time_bad("1infinity"));
}

static void time_format(void)
{
	static const int64_t round[] = { 1, 999, 1000, 1500000, 90 * SEC, 3723 * SEC + 4005,
					 86400 * SEC, INT64_MAX - 1 };
	char buf[64];
	int64_t v;

	berth_format_time_us(90 * SEC, buf, sizeof(buf));
	CHECK_STR(buf, "1min 30s");
	berth_format_time_us(200000, buf, sizeof(buf));
	CHECK_STR(buf, "200ms");
	berth_format_time_us(0, buf, sizeof(buf));
	CHECK_STR(buf, "0");
	berth_format_time_us(BERTH_INFINITY, buf, sizeof(buf));
	CHECK_STR(buf, "infinity");
	berth_format_time_us(1500000, buf, sizeof(buf));
	CHECK_STR(buf, "1s 500ms");
	berth_format_time_us(86400 * SEC + 3600 * SEC + 1, buf, sizeof(buf));
	CHECK_STR(buf, "1d 1h 1us");
	berth_format_time_us(INT64_MAX - 1, buf, sizeof(buf));
	CHECK_STR(buf, "106751991d 4h 54s 775ms 806us");
	berth_format_time_us(-1500000, buf, sizeof(buf));
	CHECK_STR(buf, "-1s 500ms");
	berth_format_time_us(INT64_MIN, buf, sizeof(buf));
	CHECK_STR(buf, "-106751991d 4h 54s 775ms 808us");
	/* Every finite output parses back to the same span. */
	for (size_t i = 0; i < sizeof(round) / sizeof(round[0]); i++) {
		berth_format_time_us(round[i], buf, sizeof(buf));
		CHECK(berth_parse_time_us(buf, 0, &v) == 0 && v == round[i]);
	}
}

static void time_format_truncated(void)
{
	char buf[8];

	memset(buf, 'x', sizeof(buf));
	berth_format_time_us(90 * SEC, buf, 5);
	CHECK_STR(buf, "1min");
	berth_format_time_us(90 * SEC, buf, 3);
	CHECK_STR(buf, "1m");
	berth_format_time_us(90 * SEC, buf, 1);
	CHECK_STR(buf, "");
	berth_format_time_us(BERTH_INFINITY, buf, 4);
	CHECK_STR(buf, "inf");
	berth_format_time_us(-5, buf, 2);
	CHECK_STR(buf, "-");
	memset(buf, 'x', sizeof(buf));
	berth_format_time_us(90 * SEC, buf, 0);
	CHECK(buf[0] == 'x');
}

static void sizes(void)
{
	int64_t v = UNTOUCHED;

	CHECK(size_is("0", 0) && size_is("0K", 0) && size_is("1", 1) && size_is("1024", 1024));
	CHECK(size_is("512M", INT64_C(512) << 20));
	CHECK(size_is("1g", INT64_C(1) << 30) && size_is("1G", INT64_C(1) << 30));
	CHECK(size_is("1k", 1024) && size_is("1K", 1024) && size_is("3m", 3 << 20));
	CHECK(size_is("2T", INT64_C(2) << 40) && size_is("2t", INT64_C(2) << 40));
	CHECK(size_is("007", 7));
	CHECK(size_is("9223372036854775806", INT64_MAX - 1));
	CHECK(size_is("8388607T", INT64_C(8388607) << 40));
	CHECK(size_is("9007199254740991K", INT64_C(9007199254740991) << 10));
	/* Overflow, including reaching INT64_MAX, which means infinity. */
	CHECK(size_bad("9223372036854775807") && size_bad("9223372036854775808"));
	CHECK(size_bad("18446744073709551615") && size_bad("18446744073709551616"));
	CHECK(size_bad("8388608T") && size_bad("9007199254740992K") && size_bad("99999999999999999999G"));
	/* Strict suffixes: no E/P, no B, no iB, no fractions, no spaces. */
	CHECK(size_bad("8E") && size_bad("1P") && size_bad("1KB") && size_bad("1KiB"));
	CHECK(size_bad("1b") && size_bad("1B") && size_bad("1.5G") && size_bad("1 K"));
	CHECK(size_bad("1KK") && size_bad("K") && size_bad("1x"));
	CHECK(size_bad("") && size_bad(" 1") && size_bad("1 ") && size_bad("-1") && size_bad("+1"));
	CHECK(size_bad("0x10") && size_bad("1e3"));
	CHECK(berth_parse_size("infinity", 1, &v) == 0 && v == BERTH_INFINITY);
	v = UNTOUCHED;
	CHECK(berth_parse_size("infinity", 0, &v) == -1 && v == UNTOUCHED);
	CHECK(size_bad("Infinity") && size_bad("infinity "));
}

static void signals(void)
{
	CHECK(sig_is("TERM", 15) && sig_is("SIGTERM", 15) && sig_is("sigterm", 15));
	CHECK(sig_is("sigkill", 9) && sig_is("Kill", 9) && sig_is("SigInt", 2));
	CHECK(sig_is("HUP", 1) && sig_is("STKFLT", 16) && sig_is("CHLD", 17) && sig_is("SYS", 31));
	CHECK(sig_is("WINCH", 28) && sig_is("SIGVTALRM", 26) && sig_is("IO", 29) && sig_is("PWR", 30));
	CHECK(sig_is("IOT", 6) && sig_is("SIGPOLL", 29));
	CHECK(sig_is("9", 9) && sig_is("1", 1) && sig_is("31", 31) && sig_is("34", 34));
	CHECK(sig_is("64", 64));
	CHECK(sig_bad("0") && sig_bad("65") && sig_bad("100") && sig_bad("-9") && sig_bad("+9"));
	CHECK(sig_bad("18446744073709551625") && sig_bad("9x") && sig_bad("0x9"));
	CHECK(sig_bad("SIGFOO") && sig_bad("SIG") && sig_bad("sig") && sig_bad("") && sig_bad("SIG9"));
	CHECK(sig_bad(" TERM") && sig_bad("TERM ") && sig_bad("SIG TERM") && sig_bad("SIGSIGTERM"));
	CHECK(sig_bad("SIGRTMIN") && sig_bad("SIGRTMIN+1") && sig_bad("RTMAX") && sig_bad("TER"));
	CHECK(sig_bad("SIGTERMINATE") && sig_bad("CLD"));
}

static void signal_names(void)
{
	int v;

	CHECK_STR(berth_signal_name(15), "SIGTERM");
	CHECK_STR(berth_signal_name(1), "SIGHUP");
	CHECK_STR(berth_signal_name(6), "SIGABRT");
	CHECK_STR(berth_signal_name(29), "SIGIO");
	CHECK_STR(berth_signal_name(31), "SIGSYS");
	CHECK(berth_signal_name(0) == NULL && berth_signal_name(-1) == NULL);
	CHECK(berth_signal_name(32) == NULL && berth_signal_name(64) == NULL);
	CHECK(berth_signal_name(65) == NULL && berth_signal_name(1000) == NULL);
	/* Every named signal has a name that parses back. */
	for (int i = 1; i <= 31; i++) {
		CHECK(berth_signal_name(i) != NULL);
		CHECK(berth_parse_signal(berth_signal_name(i), &v) == 0 && v == i);
		CHECK(berth_parse_signal(berth_signal_name(i) + 3, &v) == 0 && v == i);
	}
}

static void uints(void)
{
	CHECK(uint_is("0", 0, 10, 0) && uint_is("10", 0, 10, 10) && uint_is("42", 1, 100, 42));
	CHECK(uint_is("1", 1, 1, 1) && uint_is("007", 0, 10, 7));
	CHECK(uint_is("18446744073709551615", 0, UINT64_MAX, UINT64_MAX));
	CHECK(uint_bad("18446744073709551616", 0, UINT64_MAX));
	CHECK(uint_bad("99999999999999999999999", 0, UINT64_MAX));
	CHECK(uint_bad("11", 0, 10) && uint_bad("0", 1, 10) && uint_bad("5", 6, 4));
	CHECK(uint_bad("", 0, 10) && uint_bad(" 1", 0, 10) && uint_bad("1 ", 0, 10));
	CHECK(uint_bad("+1", 0, 10) && uint_bad("-1", 0, 10) && uint_bad("-0", 0, 10));
	CHECK(uint_bad("0x1", 0, 10) && uint_bad("1.0", 0, 10) && uint_bad("1k", 0, 10000));
	CHECK(uint_bad("1e2", 0, 1000) && uint_bad("a", 0, 10));
}

/* Split S (max MAX words) and compare with the NULL-terminated WANT. */
static int split_is(const char *s, size_t max, const char *const *want)
{
	char **w = NULL, msg[64] = "";
	size_t n = 99, i;
	int ok;

	if (berth_split_words(s, max, &w, &n, msg, sizeof(msg)) < 0) {
		printf("  split \"%s\": %s\n", s, msg);
		return 0;
	}
	for (i = 0; want[i]; i++)
		if (i >= n || !w[i] || strcmp(w[i], want[i]) != 0)
			break;
	ok = !want[i] && i == n && w[n] == NULL;
	/* One block: the strings live right after the array. */
	for (i = 0; i < n; i++)
		ok = ok && (char *)w[i] >= (char *)(w + n + 1);
	free(w);
	return ok;
}

/* 1 when S is rejected with a message containing WHY, outputs left alone. */
static int split_bad(const char *s, size_t max, const char *why)
{
	char **w = (char **)&w, msg[64] = "";
	size_t n = 99;

	if (berth_split_words(s, max, &w, &n, msg, sizeof(msg)) != -1)
		return 0;
	if (w != (char **)&w || n != 99)
		return 0;
	if (!strstr(msg, why)) {
		printf("  split \"%s\": message \"%s\", want \"%s\"\n", s, msg, why);
		return 0;
	}
	return 1;
}

static void split_basic(void)
{
	CHECK(split_is("a 'b c' \"d\\\"e\" f\\x41 \\101", 64,
		       (const char *const[]){ "a", "b c", "d\"e", "fA", "A", NULL }));
	CHECK(split_is("/bin/echo hello", 64, (const char *const[]){ "/bin/echo", "hello", NULL }));
	CHECK(split_is("a\tb \t c", 64, (const char *const[]){ "a", "b", "c", NULL }));
	CHECK(split_is("  \ta  b\t ", 64, (const char *const[]){ "a", "b", NULL }));
	CHECK(split_is("", 64, (const char *const[]){ NULL }));
	CHECK(split_is(" \t ", 64, (const char *const[]){ NULL }));
	CHECK(split_is("one", 64, (const char *const[]){ "one", NULL }));
	/* Quoted parts join adjacent text; empty quotes make an empty word. */
	CHECK(split_is("x'y z'\"w\"v", 64, (const char *const[]){ "xy zwv", NULL }));
	CHECK(split_is("'' \"\" a''", 64, (const char *const[]){ "", "", "a", NULL }));
	CHECK(split_is("\"it's\" 'say \"hi\"'", 64,
		       (const char *const[]){ "it's", "say \"hi\"", NULL }));
	/* Blanks inside quotes are kept as they are. */
	CHECK(split_is("'a\tb'  \" c \"", 64, (const char *const[]){ "a\tb", " c ", NULL }));
}

static void split_escapes(void)
{
	CHECK(split_is("\\a\\b\\f\\n\\r\\t\\v\\\\", 64,
		       (const char *const[]){ "\a\b\f\n\r\t\v\\", NULL }));
	CHECK(split_is("a\\sb \"\\s\\t\"", 64, (const char *const[]){ "a b", " \t", NULL }));
	CHECK(split_is("\\' \\\" \"\\'\"", 64, (const char *const[]){ "'", "\"", "'", NULL }));
	CHECK(split_is("\\x7e\\x7E \\377 \\001", 64,
		       (const char *const[]){ "~~", "\377", "\001", NULL }));
	/* Octal takes exactly three digits: \0101 is \010 then "1". */
	CHECK(split_is("\\0101", 64, (const char *const[]){ "\b1", NULL }));
	/* Nothing is decoded inside single quotes. */
	CHECK(split_is("'a\\nb\\x41\\'", 64, (const char *const[]){ "a\\nb\\x41\\", NULL }));
}

static void split_errors(void)
{
	CHECK(split_bad("a 'b c", 64, "unterminated quote"));
	CHECK(split_bad("\"abc", 64, "unterminated quote"));
	CHECK(split_bad("'a\"", 64, "unterminated quote"));
	CHECK(split_bad("abc\\", 64, "trailing backslash"));
	CHECK(split_bad("\"abc\\", 64, "backslash"));
	CHECK(split_bad("\\x00", 64, "NUL"));
	CHECK(split_bad("\"a\\000\"", 64, "NUL"));
	CHECK(split_bad("\\x4", 64, "\\x"));
	CHECK(split_bad("\\xzz", 64, "\\x"));
	CHECK(split_bad("\\x", 64, "\\x"));
	CHECK(split_bad("\\400", 64, "octal"));
	CHECK(split_bad("\\18", 64, "octal"));
	CHECK(split_bad("\\7", 64, "octal"));
	CHECK(split_bad("\\q", 64, "unknown escape \\q"));
	CHECK(split_bad("a\\ b", 64, "unknown escape"));
	CHECK(split_bad("\\\001", 64, "byte 0x01"));
	CHECK(split_bad("\\u0041", 64, "unknown escape"));
	/* A NULL message buffer is fine. */
	{
		char **w = NULL;
		size_t n = 0;

		CHECK(berth_split_words("'x", 64, &w, &n, NULL, 0) == -1 && w == NULL);
	}
}

static void split_max_words(void)
{
	char line[256] = "", msg[64];
	char **w = NULL;
	size_t n = 0;

	CHECK(split_is("a b", 2, (const char *const[]){ "a", "b", NULL }));
	CHECK(split_bad("a b c", 2, "too many words (max 2)"));
	CHECK(split_is("", 0, (const char *const[]){ NULL }));
	CHECK(split_bad("a", 0, "too many words (max 0)"));
	for (int i = 0; i < 64; i++)
		strcat(line, "w ");
	CHECK(berth_split_words(line, 64, &w, &n, msg, sizeof(msg)) == 0 && n == 64 && !w[64]);
	CHECK(strcmp(w[63], "w") == 0);
	free(w);
	strcat(line, "extra");
	CHECK(split_bad(line, 64, "too many words (max 64)"));
}

static void did_you_mean(void)
{
	static const char *const keys[] = { "ExecStart", "Restart", "RestartSec", "Type",
					    "TimeoutStopSec", "User" };
	static const char *const two[] = { "TimeoutStopSec", "Type" };
	static const char *const tie[] = { "abcd", "abce" };
	static const char *const empty[] = { "" };
	char longw[80];

	CHECK_STR(berth_did_you_mean("Restrat", keys, 6), "Restart");
	CHECK_STR(berth_did_you_mean("restart", keys, 6), "Restart");
	CHECK_STR(berth_did_you_mean("RESTARTSEC", keys, 6), "RestartSec");
	CHECK_STR(berth_did_you_mean("ExecStrat", keys, 6), "ExecStart");
	CHECK_STR(berth_did_you_mean("Tpe", keys, 6), "Type");
	/* 11 letters allow 3 edits: exactly the missing "Sec". */
	CHECK_STR(berth_did_you_mean("TimeoutStop", two, 2), "TimeoutStopSec");
	/* 10 letters allow 3 edits, 4 are needed. */
	CHECK(berth_did_you_mean("TimeoutSto", two, 2) == NULL);
	/* Short words still get one edit. */
	CHECK_STR(berth_did_you_mean("Usr", keys, 6), "User");
	CHECK(berth_did_you_mean("Ty", keys, 6) == NULL);
	CHECK(berth_did_you_mean("Foo", keys, 6) == NULL);
	CHECK(berth_did_you_mean("WorkingDirectory", keys, 6) == NULL);
	CHECK(berth_did_you_mean("Restart", keys, 0) == NULL);
	/* Ties go to the earlier candidate. */
	CHECK_STR(berth_did_you_mean("abcx", tie, 2), "abcd");
	/* The empty word is one edit from any one-letter candidate, and zero from "". */
	CHECK_STR(berth_did_you_mean("", empty, 1), "");
	CHECK_STR(berth_did_you_mean("", (const char *const[]){ "ab", "c" }, 2), "c");
	/* Words longer than 64 characters are never matched. */
	memset(longw, 'a', sizeof(longw));
	longw[64] = '\0';
	CHECK(berth_did_you_mean(longw, (const char *const[]){ longw }, 1) == longw);
	longw[64] = 'a';
	longw[65] = '\0';
	CHECK(berth_did_you_mean(longw, (const char *const[]){ longw }, 1) == NULL);
	CHECK(berth_did_you_mean("aaaa", (const char *const[]){ longw }, 1) == NULL);
}

static int ip_is(const char *s, uint32_t want)
{
	uint32_t v = 4242;

	return berth_parse_ipv4(s, &v) == 0 && v == want;
}

static int ip_bad(const char *s)
{
	uint32_t v = 4242;

	return berth_parse_ipv4(s, &v) == -1 && v == 4242;
}

static void ipv4(void)
{
	char buf[16];

	CHECK(ip_is("10.88.0.2", 0x0a580002));
	CHECK(ip_is("0.0.0.0", 0));
	CHECK(ip_is("255.255.255.255", 0xffffffff));
	CHECK(ip_is("192.168.100.10", 0xc0a8640a));
	CHECK(ip_bad(""));
	CHECK(ip_bad("10.88.0"));
	CHECK(ip_bad("10.88.0.2.1"));
	CHECK(ip_bad("10.88.0.256"));
	CHECK(ip_bad("10.88.0.1000"));
	CHECK(ip_bad("10.88.00.2"));  /* a leading zero: octal to inet_aton */
	CHECK(ip_bad("010.88.0.2"));
	CHECK(ip_bad("10.88..2"));
	CHECK(ip_bad(".10.88.0.2"));
	CHECK(ip_bad("10.88.0.2."));
	CHECK(ip_bad(" 10.88.0.2"));
	CHECK(ip_bad("10.88.0.2 "));
	CHECK(ip_bad("10.88.0.+2"));
	CHECK(ip_bad("0x0a.88.0.2"));
	CHECK(ip_bad("167772162"));
	CHECK(ip_bad("::1"));
	CHECK_STR(berth_format_ipv4(0x0a580002, buf), "10.88.0.2");
	CHECK_STR(berth_format_ipv4(0xffffffff, buf), "255.255.255.255");
	CHECK_STR(berth_format_ipv4(0, buf), "0.0.0.0");
}

int main(void)
{
	RUN(bools);
	RUN(time_units);
	RUN(time_sequences);
	RUN(time_fractions);
	RUN(time_bad_numbers);
	RUN(time_overflow);
	RUN(time_infinity);
	RUN(time_format);
	RUN(time_format_truncated);
	RUN(sizes);
	RUN(signals);
	RUN(signal_names);
	RUN(uints);
	RUN(split_basic);
	RUN(split_escapes);
	RUN(split_errors);
	RUN(split_max_words);
	RUN(did_you_mean);
	RUN(ipv4);
	return t_failed_total != 0;
}
