/* Unit tests of berth-init's pure code: kernel command line, sysctl lines,
 * module lists, debug-shell values, pids.max and berth.conf parsing. */
#include <stdlib.h>
#include <unistd.h>

#include "init.h"
#include "t.h"

static void cmdline_basic(void)
{
	char v[64];

	CHECK(init_cmdline_get("console=ttyS0 berth.root=/dev/vda quiet", "berth.root", v, sizeof(v)) == 1);
	CHECK_STR(v, "/dev/vda");
	CHECK(init_cmdline_get("console=ttyS0 quiet", "berth.root", v, sizeof(v)) == 0);
	CHECK(init_cmdline_get("", "berth.root", v, sizeof(v)) == 0);
	CHECK(init_cmdline_get("   ", "berth.root", v, sizeof(v)) == 0);
}

static void cmdline_last_wins(void)
{
	char v[64];

	CHECK(init_cmdline_get("berth.var=/dev/a berth.var=/dev/b", "berth.var", v, sizeof(v)) == 1);
	CHECK_STR(v, "/dev/b");
}

static void cmdline_prefix_is_not_a_match(void)
{
	char v[64];

	/* berth.rootfstype must not answer a lookup of berth.root, nor the reverse. */
	CHECK(init_cmdline_get("berth.rootfstype=ext4", "berth.root", v, sizeof(v)) == 0);
	CHECK(init_cmdline_get("xberth.root=/dev/x", "berth.root", v, sizeof(v)) == 0);
	CHECK(init_cmdline_get("berth.root=/dev/vda", "berth.rootfstype", v, sizeof(v)) == 0);
}

static void cmdline_quotes_and_bare(void)
{
	char v[64];

	CHECK(init_cmdline_get("a=1 berth.x=\"two words\" b=2", "berth.x", v, sizeof(v)) == 1);
	CHECK_STR(v, "two words");
	CHECK(init_cmdline_get("a berth.debug_shell b", "berth.debug_shell", v, sizeof(v)) == 1);
	CHECK_STR(v, "");
	CHECK(init_cmdline_get("berth.x=", "berth.x", v, sizeof(v)) == 1);
	CHECK_STR(v, "");
	CHECK(init_cmdline_get("berth.x=\"", "berth.x", v, sizeof(v)) == 1);
	CHECK_STR(v, "\"");
}

static void cmdline_stops_at_double_dash(void)
{
	char v[64];

	CHECK(init_cmdline_get("a=1 -- berth.root=/dev/evil", "berth.root", v, sizeof(v)) == 0);
	CHECK(init_cmdline_get("berth.root=/dev/vda -- berth.root=/dev/evil", "berth.root", v, sizeof(v)) == 1);
	CHECK_STR(v, "/dev/vda");
}

static void cmdline_too_long(void)
{
	char v[4];

	CHECK(init_cmdline_get("berth.root=/dev/vda", "berth.root", v, sizeof(v)) == -1);
	CHECK(init_cmdline_get("berth.root=abc", "berth.root", v, sizeof(v)) == 1);
	CHECK_STR(v, "abc");
	/* The last occurrence decides, whatever came before. */
	CHECK(init_cmdline_get("berth.root=/dev/vda berth.root=xyz", "berth.root", v, sizeof(v)) == 1);
	CHECK_STR(v, "xyz");
	CHECK(init_cmdline_get("berth.root=xyz berth.root=/dev/vda", "berth.root", v, sizeof(v)) == -1);
}

static void sysctl_lines(void)
{
	char p[128], v[64];
	int opt;

	CHECK(init_sysctl_parse_line("kernel.kptr_restrict = 2\n", p, sizeof(p), v, sizeof(v), &opt) == 1);
	CHECK_STR(p, "/proc/sys/kernel/kptr_restrict");
	CHECK_STR(v, "2");
	CHECK(opt == 0);
	CHECK(init_sysctl_parse_line("  -kernel.yama.ptrace_scope=2", p, sizeof(p), v, sizeof(v), &opt) == 1);
	CHECK_STR(p, "/proc/sys/kernel/yama/ptrace_scope");
	CHECK(opt == 1);
	CHECK(init_sysctl_parse_line("net.ipv4.ip_local_port_range = 32768\t60999", p, sizeof(p), v,
				     sizeof(v), &opt) == 1);
	CHECK_STR(v, "32768\t60999");
	CHECK(init_sysctl_parse_line("fs/protected_fifos = 2", p, sizeof(p), v, sizeof(v), &opt) == 1);
	CHECK_STR(p, "/proc/sys/fs/protected_fifos");
}

static void sysctl_comments_and_errors(void)
{
	char p[128], v[64];
	int opt;

	CHECK(init_sysctl_parse_line("", p, sizeof(p), v, sizeof(v), &opt) == 0);
	CHECK(init_sysctl_parse_line("   \n", p, sizeof(p), v, sizeof(v), &opt) == 0);
	CHECK(init_sysctl_parse_line("# kernel.x = 1", p, sizeof(p), v, sizeof(v), &opt) == 0);
	CHECK(init_sysctl_parse_line("; kernel.x = 1", p, sizeof(p), v, sizeof(v), &opt) == 0);
	CHECK(init_sysctl_parse_line("kernel.x", p, sizeof(p), v, sizeof(v), &opt) == -1);
	CHECK(init_sysctl_parse_line("kernel.x =", p, sizeof(p), v, sizeof(v), &opt) == -1);
	CHECK(init_sysctl_parse_line("= 1", p, sizeof(p), v, sizeof(v), &opt) == -1);
	CHECK(init_sysctl_parse_line("- = 1", p, sizeof(p), v, sizeof(v), &opt) == -1);
}

static void sysctl_no_escape_from_proc_sys(void)
{
	char p[128], v[64];
	int opt;

	CHECK(init_sysctl_parse_line("../../etc/passwd = x", p, sizeof(p), v, sizeof(v), &opt) == -1);
	CHECK(init_sysctl_parse_line("kernel/../../x = 1", p, sizeof(p), v, sizeof(v), &opt) == -1);
	CHECK(init_sysctl_parse_line("/etc/x = 1", p, sizeof(p), v, sizeof(v), &opt) == -1);
	CHECK(init_sysctl_parse_line("kernel..x = 1", p, sizeof(p), v, sizeof(v), &opt) == -1);
	CHECK(init_sysctl_parse_line("kernel.x y = 1", p, sizeof(p), v, sizeof(v), &opt) == -1);
}

static void sysctl_bounds(void)
{
	char p[16], v[4];
	int opt;

	CHECK(init_sysctl_parse_line("kernel.kptr_restrict = 2", p, sizeof(p), v, sizeof(v), &opt) == -1);
	CHECK(init_sysctl_parse_line("a = 12345", p, sizeof(p), v, sizeof(v), &opt) == -1);
	CHECK(init_sysctl_parse_line("a = 123", p, sizeof(p), v, sizeof(v), &opt) == 1);
}

static void pids_max_values(void)
{
	long v;

	CHECK(init_parse_pids_max("4096", &v) == 0 && v == 4096);
	CHECK(init_parse_pids_max("1", &v) == 0 && v == 1);
	CHECK(init_parse_pids_max("4194304", &v) == 0 && v == 4194304);
	CHECK(init_parse_pids_max("max", &v) == 0 && v == -1);
	CHECK(init_parse_pids_max("0", &v) == -1);
	CHECK(init_parse_pids_max("4194305", &v) == -1);
	CHECK(init_parse_pids_max("-5", &v) == -1);
	CHECK(init_parse_pids_max("+5", &v) == -1);
	CHECK(init_parse_pids_max(" 5", &v) == -1);
	CHECK(init_parse_pids_max("5x", &v) == -1);
	CHECK(init_parse_pids_max("", &v) == -1);
	CHECK(init_parse_pids_max("99999999999999999999999", &v) == -1);
	CHECK(init_parse_pids_max("MAX", &v) == -1);
}

static void module_lines(void)
{
	char n[16];

	CHECK(init_module_parse_line("virtio_blk\n", n, sizeof(n)) == 1);
	CHECK_STR(n, "virtio_blk");
	CHECK(init_module_parse_line("  erofs  # root fs\n", n, sizeof(n)) == 1);
	CHECK_STR(n, "erofs");
	CHECK(init_module_parse_line("# comment\n", n, sizeof(n)) == 0);
	CHECK(init_module_parse_line("\n", n, sizeof(n)) == 0);
	CHECK(init_module_parse_line("../evil\n", n, sizeof(n)) == -1);
	CHECK(init_module_parse_line("a b\n", n, sizeof(n)) == -1);
	CHECK(init_module_parse_line("averyveryverylongname\n", n, sizeof(n)) == -1);
}

static void debug_shell_values(void)
{
	char p[32];

	CHECK(init_debug_shell_tty("1", p, sizeof(p)) == 1);
	CHECK_STR(p, "/dev/ttyS0");
	CHECK(init_debug_shell_tty("yes", p, sizeof(p)) == 1);
	CHECK_STR(p, "/dev/ttyS0");
	CHECK(init_debug_shell_tty("ttyS1", p, sizeof(p)) == 1);
	CHECK_STR(p, "/dev/ttyS1");
	CHECK(init_debug_shell_tty("0", p, sizeof(p)) == 0);
	CHECK(init_debug_shell_tty("no", p, sizeof(p)) == 0);
	CHECK(init_debug_shell_tty("", p, sizeof(p)) == 0);
	CHECK(init_debug_shell_tty("../sda", p, sizeof(p)) == -1);
	CHECK(init_debug_shell_tty("tty/1", p, sizeof(p)) == -1);
}

static char tmpdir[] = "/tmp/berth-unit-XXXXXX";

static const char *write_conf(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
	return path;
}

static void conf_default_when_missing(void)
{
	struct init_conf c;
	char err[256];

	CHECK(init_conf_load("/nonexistent/berth.conf", &c, err, sizeof(err)) == 0);
	CHECK(c.parent_pids_max == 4096);
}

static void conf_parent_pids_max(void)
{
	struct init_conf c;
	char err[256];
	const char *p = write_conf("a.conf", "# comment\n[userns]\nStart=100000\n\n[cgroup]\nParentPidsMax = 1234\n");

	CHECK(init_conf_load(p, &c, err, sizeof(err)) == 0);
	CHECK(c.parent_pids_max == 1234);
	p = write_conf("b.conf", "[cgroup]\nParentPidsMax=max\n");
	CHECK(init_conf_load(p, &c, err, sizeof(err)) == 0);
	CHECK(c.parent_pids_max == -1);
	/* The key belongs to [cgroup]: elsewhere it is not PID 1's business. */
	p = write_conf("c.conf", "[other]\nParentPidsMax=7\n");
	CHECK(init_conf_load(p, &c, err, sizeof(err)) == 0);
	CHECK(c.parent_pids_max == 4096);
}

static void conf_invalid_keeps_default(void)
{
	struct init_conf c;
	char err[256], want[320];
	const char *p = write_conf("d.conf", "[cgroup]\n\nParentPidsMax = lots\n");

	CHECK(init_conf_load(p, &c, err, sizeof(err)) == -1);
	CHECK(c.parent_pids_max == 4096);
	snprintf(want, sizeof(want), "%s:3: ParentPidsMax=lots: expected 1..4194304 or \"max\"", p);
	CHECK_STR(err, want);
	/* Inline comments are off (design.md): "; x" is part of the value. */
	p = write_conf("e.conf", "[cgroup]\nParentPidsMax = 10 ; ten\n");
	CHECK(init_conf_load(p, &c, err, sizeof(err)) == -1);
	CHECK(c.parent_pids_max == 4096);
}

static void conf_syntax_error(void)
{
	struct init_conf c;
	char err[256], want[320];
	const char *p = write_conf("f.conf", "[cgroup]\nParentPidsMax = 5\nthis line has no equals sign\n");

	CHECK(init_conf_load(p, &c, err, sizeof(err)) == -1);
	snprintf(want, sizeof(want), "%s:3: syntax error", p);
	CHECK_STR(err, want);
}

struct lines_seen {
	char text[8][16];
	int lineno[8], n;
};

static int collect_line(void *arg, const char *line, int lineno)
{
	struct lines_seen *ls = arg;

	snprintf(ls->text[ls->n], sizeof(ls->text[0]), "%s", line ? line : "(too long)");
	ls->lineno[ls->n++] = lineno;
	return line ? 0 : 1;
}

static void list_lines_too_long(void)
{
	static char longline[1200];
	char text[2048];
	struct lines_seen ls = { .n = 0 };

	/* 600 bytes on line 2 (over the 511 a line may hold), 510 on line 4 (fits). */
	memset(longline, 'x', 600);
	snprintf(text, sizeof(text), "short\n%s\nnext\n%.510s\nlast", longline, longline);
	const char *p = write_conf("g.conf", text);

	CHECK(init_each_line(p, collect_line, &ls) == 1);
	CHECK(ls.n == 5);
	CHECK_STR(ls.text[0], "short\n");
	/* The tail of an over-long line is skipped, never read as a line of its own. */
	CHECK_STR(ls.text[1], "(too long)");
	CHECK(ls.lineno[1] == 2);
	CHECK_STR(ls.text[2], "next\n");
	CHECK(ls.lineno[2] == 3);
	CHECK(strncmp(ls.text[3], "xxxx", 4) == 0);
	CHECK_STR(ls.text[4], "last");
	CHECK(init_each_line("/nonexistent/list", collect_line, &ls) == -1);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 2;
	RUN(cmdline_basic);
	RUN(cmdline_last_wins);
	RUN(cmdline_prefix_is_not_a_match);
	RUN(cmdline_quotes_and_bare);
	RUN(cmdline_stops_at_double_dash);
	RUN(cmdline_too_long);
	RUN(sysctl_lines);
	RUN(sysctl_comments_and_errors);
	RUN(sysctl_no_escape_from_proc_sys);
	RUN(sysctl_bounds);
	RUN(pids_max_values);
	RUN(module_lines);
	RUN(debug_shell_values);
	RUN(conf_default_when_missing);
	RUN(conf_parent_pids_max);
	RUN(conf_invalid_keeps_default);
	RUN(conf_syntax_error);
	RUN(list_lines_too_long);
	for (const char *n = "abcdefg"; *n; n++) {
		char path[300];

		snprintf(path, sizeof(path), "%s/%c.conf", tmpdir, *n);
		unlink(path);
	}
	rmdir(tmpdir);
	return t_failed_total ? 1 : 0;
}
