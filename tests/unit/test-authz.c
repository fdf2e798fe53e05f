/* Unit tests of the control authorization (supervisor/authz.c): the verb table,
 * the shipped default policy, matching of peers and units, and every parse error
 * with its exact FILE:LINE text. The default policy is read from
 * configs/authz.conf: pass its path as the first argument, or run from the top
 * directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "t.h"

/* The bits of every read-only verb ("read" in authz.conf). */
static uint32_t read_mask(void)
{
	uint32_t m = 0;

	for (int v = 0; v < BERTH_VERB_COUNT; v++)
		if (berth_verb_is_read(v))
			m |= 1u << v;
	return m;
}

static const char *conf_path = "configs/authz.conf";

/* Users root=0, admin=1000, ops=1001; groups berth-ops=900, berth-admin=901. */
static int fake_lookup(const char *name, int group, uint32_t *id, void *ctx)
{
	static const struct {
		const char *name;
		int group;
		uint32_t id;
	} db[] = {
		{ "root", 0, 0 },	    { "admin", 0, 1000 },	 { "ops", 0, 1001 },
		{ "berth-ops", 1, 900 }, { "berth-admin", 1, 901 },
	};

	(void)ctx;
	for (size_t i = 0; i < sizeof(db) / sizeof(db[0]); i++)
		if (db[i].group == group && strcmp(db[i].name, name) == 0) {
			*id = db[i].id;
			return 0;
		}
	return -1;
}

static int parse(const char *text, struct berth_authz *a, struct berth_diag *d)
{
	return berth_authz_parse(text, strlen(text), "t.conf", fake_lookup, NULL, a, d);
}

/* The peers of the tests. ops and admin have their own primary group, as
 * useradd makes them; the berth groups are supplementary. */
static const gid_t ops_groups[] = { 1001, 900 }, admin_groups[] = { 1000, 901 };
static const struct berth_peer root = { 0, 0, NULL, 0 };
static const struct berth_peer ops = { 1001, 1001, ops_groups, 2 };
static const struct berth_peer admin = { 1000, 1000, admin_groups, 2 };
static const struct berth_peer stranger = { 2000, 2000, NULL, 0 };

static void verb_table(void)
{
	for (int v = 0; v < BERTH_VERB_COUNT; v++) {
		CHECK(berth_verb_name(v) != NULL);
		CHECK(berth_verb_from_name(berth_verb_name(v)) == v);
		CHECK(berth_verb_is_read(v) == (v <= BERTH_VERB_METRICS || v == BERTH_VERB_IMAGES));
		CHECK(berth_verb_is_global(v) ==
		      (v == BERTH_VERB_RELOAD || v == BERTH_VERB_METRICS || v == BERTH_VERB_DEPLOY ||
		       v == BERTH_VERB_POWEROFF || v == BERTH_VERB_REBOOT || v == BERTH_VERB_IMAGES ||
		       v == BERTH_VERB_IMAGE));
	}
	CHECK(berth_verb_from_name("list") == BERTH_VERB_LIST);
	CHECK(berth_verb_from_name("exec") == BERTH_VERB_EXEC);
	CHECK(berth_verb_from_name("image") == BERTH_VERB_IMAGE);
	CHECK(berth_verb_from_name("images") == BERTH_VERB_IMAGES);
	CHECK(berth_verb_from_name("read") == -1);
	CHECK(berth_verb_from_name("*") == -1);
	CHECK(berth_verb_from_name("Status") == -1);
	CHECK(berth_verb_from_name("") == -1);
	CHECK(berth_verb_name(BERTH_VERB_COUNT) == NULL);
	CHECK(berth_verb_name((enum berth_verb)-1) == NULL);
	CHECK(!berth_verb_is_read(BERTH_VERB_COUNT) && !berth_verb_is_global(BERTH_VERB_COUNT));
}

static void default_policy(void)
{
	struct berth_authz a = { 0 };
	struct berth_diag d = { 0 };
	static const enum berth_verb ops_may[] = { BERTH_VERB_STATUS, BERTH_VERB_LOGS, BERTH_VERB_LIST,
						   BERTH_VERB_STATS, BERTH_VERB_INSPECT, BERTH_VERB_CAT, BERTH_VERB_METRICS };
	static const enum berth_verb ops_may_not[] = { BERTH_VERB_STOP,	 BERTH_VERB_START, BERTH_VERB_RESTART,
						       BERTH_VERB_RELOAD, BERTH_VERB_DEPLOY, BERTH_VERB_RM,
						       BERTH_VERB_EXEC, BERTH_VERB_POWEROFF, BERTH_VERB_REBOOT };
	char text[4096];
	size_t len;
	FILE *f = fopen(conf_path, "r");

	if (!f) {
		printf("FAIL default_policy: cannot open %s: run from the top directory or pass its path\n",
		       conf_path);
		t_cur_failed = 1;
		return;
	}
	len = fread(text, 1, sizeof(text), f);
	fclose(f);
	CHECK(len > 0 && len < sizeof(text));
	CHECK(berth_authz_parse(text, len, conf_path, fake_lookup, NULL, &a, &d) == 0);
	CHECK_STR(berth_diag_text(&d), "");
	CHECK(a.n == 3);
	CHECK(!a.rules[0].group && a.rules[0].id == 0 && a.rules[0].all_units);
	CHECK(a.rules[1].group && a.rules[1].id == 901 && a.rules[1].all_units);
	CHECK(a.rules[2].group && a.rules[2].id == 900 && a.rules[2].all_units);
	CHECK(a.rules[2].verbs == read_mask());

	for (size_t i = 0; i < sizeof(ops_may) / sizeof(ops_may[0]); i++) {
		const char *unit = berth_verb_is_global(ops_may[i]) ? NULL : "web";

		CHECK(berth_authz_allowed(&a, &ops, ops_may[i], unit));
	}
	for (size_t i = 0; i < sizeof(ops_may_not) / sizeof(ops_may_not[0]); i++) {
		const char *unit = berth_verb_is_global(ops_may_not[i]) ? NULL : "web";

		CHECK(!berth_authz_allowed(&a, &ops, ops_may_not[i], unit));
		CHECK(!berth_authz_allowed(&a, &ops, ops_may_not[i], "web"));
	}
	for (int v = 0; v < BERTH_VERB_COUNT; v++) {
		CHECK(berth_authz_allowed(&a, &admin, v, "web"));
		CHECK(berth_authz_allowed(&a, &admin, v, NULL));
		CHECK(berth_authz_allowed(&a, &root, v, NULL));
		CHECK(!berth_authz_allowed(&a, &stranger, v, "web"));
		CHECK(!berth_authz_allowed(&a, &stranger, v, NULL));
	}
	berth_authz_free(&a);
	CHECK(a.rules == NULL && a.n == 0);
	berth_authz_free(&a); /* twice is harmless */
	berth_diag_free(&d);
}

static void group_membership(void)
{
	struct berth_authz a = { 0 };
	struct berth_diag d = { 0 };
	const gid_t supp[] = { 5, 900, 7 }, other[] = { 5, 7 };
	struct berth_peer p = { 3000, 900, NULL, 0 };

	CHECK(parse("@berth-ops status *\nops logs *\n", &a, &d) == 0);
	/* Primary gid. */
	CHECK(berth_authz_allowed(&a, &p, BERTH_VERB_STATUS, "web"));
	/* Supplementary group only. */
	p.gid = 100;
	p.groups = supp;
	p.ngroups = 3;
	CHECK(berth_authz_allowed(&a, &p, BERTH_VERB_STATUS, "web"));
	/* Neither. */
	p.groups = other;
	p.ngroups = 2;
	CHECK(!berth_authz_allowed(&a, &p, BERTH_VERB_STATUS, "web"));
	/* The group in the list but NGROUPS says it is not there. */
	p.groups = supp;
	p.ngroups = 1;
	CHECK(!berth_authz_allowed(&a, &p, BERTH_VERB_STATUS, "web"));
	/* A user rule matches the uid, never a gid with the same number. */
	p = (struct berth_peer){ 3000, 1001, NULL, 0 };
	CHECK(!berth_authz_allowed(&a, &p, BERTH_VERB_LOGS, "web"));
	p.groups = (const gid_t[]){ 1001 };
	p.ngroups = 1;
	CHECK(!berth_authz_allowed(&a, &p, BERTH_VERB_LOGS, "web"));
	CHECK(berth_authz_allowed(&a, &ops, BERTH_VERB_LOGS, "web"));
	/* A group rule never matches the uid. */
	p = (struct berth_peer){ 900, 100, NULL, 0 };
	CHECK(!berth_authz_allowed(&a, &p, BERTH_VERB_STATUS, "web"));
	/* Rules only grant: the verb comes from whichever rule matches. */
	CHECK(berth_authz_allowed(&a, &ops, BERTH_VERB_STATUS, "web"));
	CHECK(!berth_authz_allowed(&a, &ops, BERTH_VERB_STOP, "web"));
	berth_authz_free(&a);
	berth_diag_free(&d);
}

static void unit_patterns(void)
{
	struct berth_authz a = { 0 };
	struct berth_diag d = { 0 };

	CHECK(parse("ops start,stop web-*,db\n"
		    "ops status app-[0-9],job?,x[!a]y\n"
		    "ops reload,deploy web-*\n"
		    "ops metrics *,web\n"
		    "admin reload,deploy,list *\n",
		    &a, &d) == 0);
	CHECK(a.n == 5);
	CHECK_STR(a.rules[0].units[0], "web-*");
	CHECK_STR(a.rules[0].units[1], "db");
	CHECK(a.rules[0].units[2] == NULL && !a.rules[0].all_units);
	CHECK(a.rules[0].line == 1 && a.rules[4].line == 5);
	CHECK(!a.rules[3].all_units); /* all_units only when UNITS is exactly "*" */
	CHECK(a.rules[4].all_units && a.rules[4].units[1] == NULL);

	CHECK(berth_authz_allowed(&a, &ops, BERTH_VERB_STOP, "web-1"));
	CHECK(berth_authz_allowed(&a, &ops, BERTH_VERB_START, "web-frontend"));
	CHECK(berth_authz_allowed(&a, &ops, BERTH_VERB_STOP, "db"));
	CHECK(!berth_authz_allowed(&a, &ops, BERTH_VERB_STOP, "web"));
	CHECK(!berth_authz_allowed(&a, &ops, BERTH_VERB_STOP, "xweb-1"));
	CHECK(!berth_authz_allowed(&a, &ops, BERTH_VERB_STOP, "db2"));
	CHECK(!berth_authz_allowed(&a, &ops, BERTH_VERB_STOP, "DB"));
	CHECK(!berth_authz_allowed(&a, &ops, BERTH_VERB_RESTART, "web-1"));
	CHECK(berth_authz_allowed(&a, &ops, BERTH_VERB_STATUS, "app-7"));
	CHECK(!berth_authz_allowed(&a, &ops, BERTH_VERB_STATUS, "app-77"));
	CHECK(berth_authz_allowed(&a, &ops, BERTH_VERB_STATUS, "jobs"));
	CHECK(!berth_authz_allowed(&a, &ops, BERTH_VERB_STATUS, "job"));
	CHECK(berth_authz_allowed(&a, &ops, BERTH_VERB_STATUS, "xby"));
	CHECK(!berth_authz_allowed(&a, &ops, BERTH_VERB_STATUS, "xay"));
	CHECK(!berth_authz_allowed(&a, &ops, BERTH_VERB_STATUS, "web-1"));
	/* A per-unit verb asked about no unit (all units) needs "*" too. */
	CHECK(!berth_authz_allowed(&a, &ops, BERTH_VERB_STOP, NULL));
	CHECK(berth_authz_allowed(&a, &admin, BERTH_VERB_LIST, NULL));
	/* Global verbs need UNITS "*", whatever unit the request names. */
	CHECK(!berth_authz_allowed(&a, &ops, BERTH_VERB_RELOAD, NULL));
	CHECK(!berth_authz_allowed(&a, &ops, BERTH_VERB_RELOAD, "web-1"));
	CHECK(!berth_authz_allowed(&a, &ops, BERTH_VERB_DEPLOY, "web-new"));
	CHECK(!berth_authz_allowed(&a, &ops, BERTH_VERB_METRICS, NULL));
	CHECK(berth_authz_allowed(&a, &admin, BERTH_VERB_RELOAD, NULL));
	CHECK(berth_authz_allowed(&a, &admin, BERTH_VERB_DEPLOY, "anything"));
	CHECK(!berth_authz_allowed(&a, &admin, BERTH_VERB_STOP, "web-1"));
	/* Out-of-range verbs are denied (except for root). */
	CHECK(!berth_authz_allowed(&a, &admin, BERTH_VERB_COUNT, NULL));
	CHECK(berth_authz_allowed(&a, &root, BERTH_VERB_COUNT, NULL));
	berth_authz_free(&a);
	berth_diag_free(&d);
}

static void root_always(void)
{
	struct berth_authz a = { 0 };
	struct berth_diag d = { 0 };

	CHECK(berth_authz_parse(NULL, 0, "t.conf", fake_lookup, NULL, &a, &d) == 0 && a.n == 0);
	CHECK(parse("", &a, &d) == 0 && a.n == 0 && a.rules == NULL);
	for (int v = 0; v < BERTH_VERB_COUNT; v++) {
		CHECK(berth_authz_allowed(&a, &root, v, "web"));
		CHECK(berth_authz_allowed(&a, &root, v, NULL));
		CHECK(berth_authz_allowed(NULL, &root, v, NULL));
		CHECK(!berth_authz_allowed(&a, &ops, v, "web"));
		CHECK(!berth_authz_allowed(NULL, &ops, v, "web"));
	}
	/* uid 0 does not need a rule even when its gid is someone else's. */
	CHECK(berth_authz_allowed(&a, &(struct berth_peer){ 0, 900, NULL, 0 }, BERTH_VERB_EXEC, "x"));
	CHECK(d.errors == 0);
	berth_diag_free(&d);
}

static void syntax(void)
{
	struct berth_authz a = { 0 };
	struct berth_diag d = { 0 };

	/* Comments (whole lines, after optional blanks), blank lines, tabs and runs
	 * of blanks between fields, no newline at the end. */
	CHECK(parse("# policy\n"
		    "\n"
		    "   # indented comment\n"
		    "\t#tab comment\n"
		    " \t \n"
		    "  ops\tstatus,logs \t web-*  \n"
		    "#ops stop *\n"
		    "@berth-admin * *",
		    &a, &d) == 0);
	CHECK(a.n == 2);
	CHECK(a.rules[0].line == 6 && a.rules[0].verbs == ((1u << BERTH_VERB_STATUS) | (1u << BERTH_VERB_LOGS)));
	CHECK(a.rules[1].line == 8 && a.rules[1].verbs == (1u << BERTH_VERB_COUNT) - 1);
	berth_authz_free(&a);
	/* Verbs can repeat and mix with "read". */
	CHECK(parse("ops read,stop,read,stop *\n", &a, &d) == 0 && a.n == 1);
	CHECK(a.rules[0].verbs == (read_mask() | (1u << BERTH_VERB_STOP)));
	berth_authz_free(&a);
	/* A line of exactly 1024 bytes is fine. */
	{
		char text[1100];

		memset(text, 'x', 1024);
		text[0] = '#';
		text[1024] = '\n';
		CHECK(berth_authz_parse(text, 1025, "t.conf", fake_lookup, NULL, &a, &d) == 0);
		CHECK(berth_authz_parse(text, 1024, "t.conf", fake_lookup, NULL, &a, &d) == 0);
	}
	CHECK(d.errors == 0);
	berth_diag_free(&d);
}

/* Parse TEXT (LEN bytes), expecting an error; OUT starts filled with junk and
 * must come back empty. The diagnostics land in D. */
static int parse_bad(const char *text, size_t len, struct berth_diag *d)
{
	struct berth_authz a = { (struct berth_authz_rule *)&a, 42 };
	int r = berth_authz_parse(text, len, "t.conf", fake_lookup, NULL, &a, d);

	return r == -1 && a.rules == NULL && a.n == 0 ? 0 : -1;
}

#define CHECK_ERROR(text, want)                                              \
	do {                                                                 \
		struct berth_diag d_ = { 0 };                                \
		int r_ = parse_bad((text), sizeof(text) - 1, &d_);           \
		char got_[2048];                                             \
		snprintf(got_, sizeof(got_), "%s", berth_diag_text(&d_));    \
		int n_ = d_.errors;                                          \
		berth_diag_free(&d_);                                        \
		CHECK(r_ == 0);                                              \
		CHECK_STR(got_, want);                                       \
		CHECK(n_ == 1);                                              \
	} while (0)

static void errors(void)
{
	CHECK_ERROR("ops statuss *\n", "t.conf:1: unknown verb 'statuss'; did you mean 'status'?\n");
	CHECK_ERROR("ops status,stopp web\n", "t.conf:1: unknown verb 'stopp'; did you mean 'stop'?\n");
	CHECK_ERROR("ops frobnicate *\n", "t.conf:1: unknown verb 'frobnicate'\n");
	CHECK_ERROR("ops Status *\n", "t.conf:1: unknown verb 'Status'; did you mean 'status'?\n");
	CHECK_ERROR("\nbob status *\n", "t.conf:2: unknown user 'bob'\n");
	CHECK_ERROR("@nobody status *\n", "t.conf:1: unknown group 'nobody'\n");
	/* A user name is not a group name and the other way round. */
	CHECK_ERROR("@ops status *\n", "t.conf:1: unknown group 'ops'\n");
	CHECK_ERROR("berth-ops status *\n", "t.conf:1: unknown user 'berth-ops'\n");
	CHECK_ERROR("@ status *\n", "t.conf:1: missing group name after '@'\n");
	CHECK_ERROR("ops status\n", "t.conf:1: expected 3 fields (PRINCIPAL VERBS UNITS), got 2\n");
	CHECK_ERROR("ops\n", "t.conf:1: expected 3 fields (PRINCIPAL VERBS UNITS), got 1\n");
	CHECK_ERROR("ops status web db\n", "t.conf:1: expected 3 fields (PRINCIPAL VERBS UNITS), got 4\n");
	/* No trailing comments: '#' after a rule is a fourth field. */
	CHECK_ERROR("ops status web # note\n",
		    "t.conf:1: expected 3 fields (PRINCIPAL VERBS UNITS), got 5\n");
	CHECK_ERROR("ops status web/x\n",
		    "t.conf:1: bad unit pattern 'web/x' (allowed: A-Z a-z 0-9 _ . * ? [ ] ! -)\n");
	CHECK_ERROR("ops status web,db,\n", "t.conf:1: empty unit pattern in the list of units\n");
	CHECK_ERROR("ops status,,logs web\n", "t.conf:1: empty verb in the list of verbs\n");
	/* Bytes that are not printable are shown escaped (here a CRLF line end). */
	CHECK_ERROR("ops status web\r\n",
		    "t.conf:1: bad unit pattern 'web\\x0d' (allowed: A-Z a-z 0-9 _ . * ? [ ] ! -)\n");
	CHECK_ERROR("ops status *\n# a comment\nops logs w\0b\n", "t.conf:3: NUL byte in the line\n");
	CHECK_ERROR("# comment \0 too\n", "t.conf:1: NUL byte in the line\n");
	CHECK_ERROR("\0", "t.conf:1: NUL byte in the line\n");
}

static void long_lines(void)
{
	struct berth_diag d = { 0 };
	char text[13 + 1025 + 12 + 2000];

	/* 1025 bytes on line 2, then a good line and a 2000-byte comment on line 4. */
	memcpy(text, "ops status *\n", 13);
	memset(text + 13, '#', 1025);
	memcpy(text + 13 + 1025, "\nops logs *\n", 12);
	memset(text + 13 + 1025 + 12, '#', 2000);
	CHECK(parse_bad(text, 13 + 1025 + 12 + 2000, &d) == 0);
	CHECK_STR(berth_diag_text(&d), "t.conf:2: line too long (1025 bytes, at most 1024)\n"
				       "t.conf:4: line too long (2000 bytes, at most 1024)\n");
	CHECK(d.errors == 2);
	berth_diag_free(&d);
}

static void all_errors_at_once(void)
{
	static const char text[] = "# policy with mistakes\n"
				   "root * *\n"
				   "bob status *\n"
				   "ops statuss *\n"
				   "@berth-ops read\n"
				   "@berth-admin * * *\n"
				   "ops status web/1\n"
				   "ops stop web-*\n"
				   "@nobody restrat,frob a/b,,c\n"
				   "ops logs \0\n";
	struct berth_diag d = { 0 };

	berth_diag_error(&d, "other.conf", 9, "an earlier file's error");
	CHECK(parse_bad(text, sizeof(text) - 1, &d) == 0);
	CHECK_STR(berth_diag_text(&d),
		  "other.conf:9: an earlier file's error\n"
		  "t.conf:3: unknown user 'bob'\n"
		  "t.conf:4: unknown verb 'statuss'; did you mean 'status'?\n"
		  "t.conf:5: expected 3 fields (PRINCIPAL VERBS UNITS), got 2\n"
		  "t.conf:6: expected 3 fields (PRINCIPAL VERBS UNITS), got 4\n"
		  "t.conf:7: bad unit pattern 'web/1' (allowed: A-Z a-z 0-9 _ . * ? [ ] ! -)\n"
		  "t.conf:9: unknown group 'nobody'\n"
		  "t.conf:9: unknown verb 'restrat'; did you mean 'restart'?\n"
		  "t.conf:9: unknown verb 'frob'\n"
		  "t.conf:9: bad unit pattern 'a/b' (allowed: A-Z a-z 0-9 _ . * ? [ ] ! -)\n"
		  "t.conf:9: empty unit pattern in the list of units\n"
		  "t.conf:10: NUL byte in the line\n");
	CHECK(d.errors == 1 + 11);
	berth_diag_free(&d);
}

/* The errors of one file do not depend on those already in DIAG: a good file
 * parses even when an earlier file failed. */
static void diag_shared(void)
{
	struct berth_authz a = { 0 };
	struct berth_diag d = { 0 };

	berth_diag_error(&d, "other.conf", 1, "broken");
	CHECK(parse("ops status *\n", &a, &d) == 0 && a.n == 1);
	CHECK(d.errors == 1);
	berth_authz_free(&a);
	berth_diag_free(&d);
}

/* A hostile name or pattern is cut short and escaped in the message. */
static void message_escaping(void)
{
	struct berth_diag d = { 0 };
	char text[200], want[400];

	memset(text, 'u', 100);
	text[0] = '\x1b';
	memcpy(text + 100, " status *\n", 10);
	CHECK(parse_bad(text, 110, &d) == 0);
	memset(want, 0, sizeof(want));
	strcpy(want, "t.conf:1: unknown user '\\x1b");
	memset(want + strlen(want), 'u', 63);
	strcat(want, "...'\n");
	CHECK_STR(berth_diag_text(&d), want);
	berth_diag_free(&d);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		conf_path = argv[1];
	RUN(verb_table);
	RUN(default_policy);
	RUN(group_membership);
	RUN(unit_patterns);
	RUN(root_always);
	RUN(syntax);
	RUN(errors);
	RUN(long_lines);
	RUN(all_errors_at_once);
	RUN(diag_shared);
	RUN(message_escaping);
	return t_failed_total != 0;
}
