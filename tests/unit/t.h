/* Minimal unit-test support: each TEST prints "PASS name" or "FAIL name: why";
 * the runner (tests/run) counts those lines. A failed CHECK ends its test. */
#ifndef BERTH_T_H
#define BERTH_T_H
#include <stdio.h>
#include <string.h>

static int t_failed_total;
static int t_cur_failed;
static const char *t_cur;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			printf("FAIL %s: %s:%d: %s\n", t_cur, __FILE__, __LINE__, #cond); \
			t_cur_failed = 1;                                             \
			return;                                                       \
		}                                                                     \
	} while (0)
#define CHECK_STR(got, want)                                                              \
	do {                                                                              \
		const char *g_ = (got), *w_ = (want);                                     \
		if (strcmp(g_, w_) != 0) {                                                \
			printf("FAIL %s: %s:%d: got \"%s\", want \"%s\"\n", t_cur, __FILE__, \
			       __LINE__, g_, w_);                                         \
			t_cur_failed = 1;                                                 \
			return;                                                           \
		}                                                                         \
	} while (0)

#define RUN(fn)                                              \
	do {                                                 \
		t_cur = #fn;                                 \
		t_cur_failed = 0;                            \
		fn();                                        \
		if (t_cur_failed)                            \
			t_failed_total++;                    \
		else                                         \
			printf("PASS %s\n", #fn);            \
		fflush(stdout);                              \
	} while (0)

#endif
