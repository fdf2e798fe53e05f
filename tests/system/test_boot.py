#!/usr/bin/python3
"""System tests of the boot: boot the real images under QEMU and check from inside.

Boot 1, test image (berth.conf ParentPidsMax=1234, a berthd stand-in): PID 1,
mounts, cgroup2, sysctls, reaping, berthd restarts, then `reboot`.
Boot 2, shipped image on the same /var disk: /var persisted, default pids.max,
the shipped berthd answers on its socket, then `poweroff`.
Boot 3, no /var disk: tmpfs /var with a loud warning.
Boot 4, a root device that never appears: PID 1 powers off, no kernel panic.
Each check prints PASS or FAIL with its name; tests/run counts them.
"""
import os
import re
import sys
import shutil
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "qemu"))
from harness import Guest, GuestError, ext4_clean, make_var_disk, poll, report, results, test  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("BUILD", os.path.join(TOP, "build"))
TEST_IMAGE = os.path.join(BUILD, "test-image")
IMAGE = os.path.join(BUILD, "image")
PROBE = "/usr/libexec/berth-test/probe"
SHUTDOWN_TIMEOUT = 120

def mount_options(guest, target):
    for line in guest.check("cat /proc/mounts").splitlines():
        f = line.split()
        if len(f) >= 4 and f[1] == target:
            return f[2], set(f[3].split(","))
    raise AssertionError("%s is not mounted" % target)


def sysctl_expectations():
    """(path, value, optional) for each entry of configs/sysctl.conf."""
    out = []
    with open(os.path.join(TOP, "configs", "sysctl.conf")) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            key, value = (s.strip() for s in line.split("=", 1))
            optional = key.startswith("-")
            key = key.lstrip("-")
            out.append(("/proc/sys/" + key.replace(".", "/"), value, optional))
    return out


# ---------------------------------------------------------------- boot 1
def boot1_checks(g):
    def pid1():
        exe = g.check("readlink /proc/1/exe").strip()
        assert exe == "/sbin/init", "PID 1 runs %r" % exe
        ver = g.check("/sbin/init --version").strip()
        assert ver.startswith("berth-init "), "/sbin/init --version: %r" % ver
        same = g.check("sha256sum /proc/1/exe /sbin/init | cut -d' ' -f1 | uniq | wc -l").strip()
        assert same == "1", "/proc/1/exe differs from /sbin/init"
    test("pid1_is_berth_init", pid1)

    def root_ro():
        fstype, opts = mount_options(g, "/")
        assert fstype == "erofs", "root is %s" % fstype
        assert {"ro", "nosuid", "nodev"} <= opts, "root options %s" % sorted(opts)
        assert g.check("id -u").strip() == "0"
        out = g.check("%s write /etc/berth-test" % PROBE).strip()
        assert out == "EROFS", "write to / as root: %s" % out
        # Even an explicit remount cannot make it writable.
        g.run("mount -o remount,rw /")
        out = g.check("%s write /berth-test" % PROBE).strip()
        assert out == "EROFS", "write after remount,rw: %s" % out
    test("root_readonly_erofs", root_ro)

    def tmpfs_flags():
        for target in ("/tmp", "/run", "/dev/shm"):
            fstype, opts = mount_options(g, target)
            assert fstype == "tmpfs", "%s is %s" % (target, fstype)
            assert {"nosuid", "nodev", "noexec"} <= opts, "%s options %s" % (target, sorted(opts))
        for target in ("/proc", "/sys", "/sys/fs/cgroup"):
            _, opts = mount_options(g, target)
            assert {"nosuid", "nodev", "noexec"} <= opts, "%s options %s" % (target, sorted(opts))
        _, opts = mount_options(g, "/dev")
        assert {"nosuid", "noexec"} <= opts, "/dev options %s" % sorted(opts)
        _, opts = mount_options(g, "/dev/pts")
        assert {"nosuid", "noexec"} <= opts, "/dev/pts options %s" % sorted(opts)
    test("api_mounts_hardened", tmpfs_flags)

    def var_rw():
        fstype, opts = mount_options(g, "/var")
        assert fstype == "ext4", "/var is %s" % fstype
        assert {"rw", "nosuid", "nodev"} <= opts, "/var options %s" % sorted(opts)
        out = g.check("%s write /var/berth-test-marker" % PROBE).strip()
        assert out == "OK", "write to /var: %s" % out
        g.check("echo %s > /var/berth-test-marker && sync" % boot1_checks.token)
    test("var_writable_ext4", var_rw)

    def cgroup2():
        fstype, opts = mount_options(g, "/sys/fs/cgroup")
        assert fstype == "cgroup2", "/sys/fs/cgroup is %s" % fstype
        assert "nsdelegate" in opts, "cgroup2 options %s" % sorted(opts)
        for cg in ("", "berth/", "system/"):
            ctl = set(g.check("cat /sys/fs/cgroup/%scgroup.subtree_control" % cg).split())
            assert {"cpu", "memory", "pids", "io"} <= ctl, "%ssubtree_control: %s" % (cg, ctl)
    test("cgroup2_controllers", cgroup2)

    def pids_max():
        v = g.check("cat /sys/fs/cgroup/berth/pids.max").strip()
        assert v == "1234", "berth/pids.max is %r, berth.conf says 1234" % v
    test("parent_pids_max_configured", pids_max)

    def sysctls():
        bad = []
        for path, value, optional in sysctl_expectations():
            rc, out = g.run("cat %s" % path)
            if rc != 0:
                if not optional:
                    bad.append("%s missing" % path)
                continue
            got = " ".join(out.split())
            if got != " ".join(value.split()):
                bad.append("%s=%s (want %s)" % (path, got, value))
        assert not bad, "; ".join(bad)
        # Some values equal the kernel's defaults: also require that every line applied.
        n = sum(1 for _ in sysctl_expectations())
        log = g.check("dmesg | grep 'berth-init: sysctl:'")
        m = re.search(r"sysctl: (\d+) applied, (\d+) failed", log)
        assert m and m.group(2) == "0", "sysctl log: %s" % log.strip()
        assert n - 1 <= int(m.group(1)) <= n, "%s applied of %d entries" % (m.group(1), n)
    test("sysctl_hardening_holds", sysctls)

    def userns():
        # Root (berthd's privilege) can still make user namespaces for containers...
        rc, out = g.run("unshare -U -r id -u")
        assert rc == 0 and out.strip() == "0", "root: unshare -U: rc %d %s" % (rc, out)
        # ...an unprivileged user cannot.
        rc, out = g.run("su -s /bin/sh -c 'unshare -U true' nobody")
        assert rc != 0 and "Operation not permitted" in out, \
            "unprivileged unshare -U: rc %d %s" % (rc, out)
    test("userns_root_only", userns)

    def host_net():
        assert g.check("hostname").strip() == "berth"
        flags = int(g.check("cat /sys/class/net/lo/flags").strip(), 16)
        assert flags & 1, "lo is down (flags %#x)" % flags
    test("hostname_and_loopback", host_net)

    # The appliance's kernel runs Berth's netlink and nftables code: the
    # host-side checks of tests/unit/test-nft.c again, in namespaces of the
    # guest (every line relayed as guest-nft-NAME; a SKIP is a failure here:
    # the modules are ours to load).
    rc, out = g.run("/usr/libexec/berth-test/nft-check", 120)
    n = 0
    for line in out.splitlines():
        m = re.match(r"^(PASS|FAIL|SKIP) (\S+?):?(?: (.*))?$", line.strip())
        if m:
            n += 1
            report("guest-nft-" + m.group(2), m.group(1) == "PASS", m.group(3) or "")
    if n < 7 or rc != 0:
        report("guest-nft-ran", False, "rc %d, %d checks: %s" % (rc, n, out[-600:]))

    def reaping():
        # The subshell exits at once; its child `sleep` is orphaned to PID 1.
        pid = g.check("sh -c 'sleep 3 & echo $!'").strip()
        assert pid.isdigit(), pid
        ppid = g.check("awk '/^PPid/ {print $2}' /proc/%s/status" % pid).strip()
        assert ppid == "1", "orphan's parent is %r" % ppid
        # Once sleep exits, only PID 1 can reap it: it must vanish (not stay Z).
        poll(g, "test -e /proc/%s && cut -d' ' -f3 /proc/%s/stat || echo gone" % (pid, pid),
             lambda rc, out: out.strip() == "gone", timeout=30)
    test("orphan_zombie_reaped", reaping)

    def starts():
        """(pid, uptime) of each start of the berthd stand-in, in order."""
        out = g.check("cat /run/berthd-standin.log")
        return [(line.split()[0], float(line.split()[1])) for line in out.splitlines()]

    def wait_starts(n, timeout=60):
        poll(g, "wc -l < /run/berthd-standin.log",
             lambda rc, out: rc == 0 and int(out.strip() or 0) >= n, timeout)
        return starts()

    def berthd_restart():
        first = wait_starts(1, 30)[0][0]
        cg = g.check("cat /proc/%s/cgroup" % first).strip()
        assert cg == "0::/system/berthd", "berthd stand-in in cgroup %r" % cg
        stdin = g.check("readlink /proc/%s/fd/0" % first).strip()
        assert stdin == "/dev/null", "berthd's stdin is %r" % stdin
        # Something the old berthd left in its cgroup must not survive its restart.
        leftover = g.check("sh -c 'sleep 1000 >/dev/null 2>&1 & echo $!'").strip()
        g.check("echo %s > /sys/fs/cgroup/system/berthd/cgroup.procs" % leftover)
        g.check("kill -9 %s" % first)
        second = wait_starts(2)[1][0]
        assert second != first
        assert g.run("test -d /proc/%s" % second)[0] == 0, "restarted stand-in not running"
        poll(g, "test -e /proc/%s && cut -d' ' -f3 /proc/%s/stat || echo gone" % (leftover, leftover),
             lambda rc, out: out.strip() == "gone", 30)
        dmesg = g.check("dmesg | grep 'berth-init: berthd'")
        assert "killed by signal 9" in dmesg and "restarting in" in dmesg, dmesg
    test("berthd_restarted_cgroup_cleaned", berthd_restart)

    def berthd_backoff():
        # Make the stand-in exit at once: starts must stay >= 1 s apart and the
        # gaps must grow (doubling backoff) instead of spinning.
        n = len(starts())
        g.check("touch /run/berthd-crashloop && kill -9 %s" % starts()[-1][0])
        times = [t for _, t in wait_starts(n + 4, 90)[n - 1:]]
        gaps = [round(b - a, 2) for a, b in zip(times, times[1:])]
        assert all(x >= 0.95 for x in gaps), "starts closer than 1 s: gaps %s" % gaps
        assert gaps[-1] >= 2 * 0.95 and gaps[-1] > gaps[1], "no backoff: gaps %s" % gaps
        g.check("rm /run/berthd-crashloop")
        last = len(starts())
        pid = wait_starts(last + 1, 90)[-1][0]
        poll(g, "test -d /proc/%s && echo up" % pid, lambda rc, out: out.strip() == "up", 10)
    test("berthd_crash_loop_backs_off", berthd_backoff)

    def shell_cgroup():
        cg = g.check("cat /proc/self/cgroup").strip()
        assert cg == "0::/system/debug-shell", "debug shell in %r" % cg
    test("debug_shell_in_system_cgroup", shell_cgroup)


def shutdown_check(g, var, command, name, want_log):
    def fn():
        g.send_nowait(command)
        status = g.wait_exit(SHUTDOWN_TIMEOUT)
        assert status is not None, "QEMU still running %ds after %s" % (SHUTDOWN_TIMEOUT, command)
        con = g.console()
        assert want_log in con, "console lacks %r: %s" % (want_log, con[-1200:])
        assert "berth-init: shutdown: /var unmounted" in con, "/var was not unmounted"
        assert "Kernel panic" not in con, "kernel panic"
        assert ext4_clean(var), "/var filesystem not clean after %s" % command
    test(name, fn)


def main():
    for f in ("vmlinuz", "initramfs.img", "root.img"):
        for d in (IMAGE, TEST_IMAGE):
            if not os.path.exists(os.path.join(d, f)):
                print("FAIL system_images_present: %s/%s missing" % (d, f))
                return 1
    # Console logs and disks stay in BUILD/tests/system for a look after a failure.
    tmp = os.path.join(BUILD, "tests", "system")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    if True:
        var = os.path.join(tmp, "var.img")
        make_var_disk(var)
        boot1_checks.token = "token-%d" % time.time_ns()

        g = Guest(TEST_IMAGE, var, tmp)
        try:
            g.wait_shell()
            report("boot_test_image", True)
            boot1_checks(g)
            # A process that ignores SIGTERM must not hold up the shutdown.
            g.background("sh -c \"trap '' TERM HUP; exec sleep 100000\"")
            shutdown_check(g, var, "reboot", "reboot_clean", "berth-init: shutdown: reboot")

            def stubborn_killed():
                assert "shutdown: sending SIGKILL to what is left" in g.console(), \
                    "no SIGKILL step for a process that ignored SIGTERM"
            test("shutdown_kills_term_ignorer", stubborn_killed)
        except GuestError as e:
            report("boot_test_image", False, "%s\n%s" % (e, g.console()[-1500:]))
        finally:
            g.kill()

        g = Guest(IMAGE, var, tmp)
        try:
            g.wait_shell()
            report("boot_shipped_image", True)

            def persisted():
                out = g.check("cat /var/berth-test-marker").strip()
                assert out == boot1_checks.token, "marker %r, want %r" % (out, boot1_checks.token)
            test("var_persists_across_reboot", persisted)

            def default_pids():
                v = g.check("cat /sys/fs/cgroup/berth/pids.max").strip()
                assert v == "4096", "default berth/pids.max is %r" % v
            test("parent_pids_max_default", default_pids)

            def shipped_berthd():
                # The shipped image runs the real berthd in system/berthd, and
                # its control socket answers.
                poll(g, "berthctl list", lambda rc, out: rc == 0 and out.startswith("UNIT"), 60)
                # A unit's monitor is forked in berthd's cgroup and moves to
                # its own at once: wait for berthd to be alone there.
                pid = poll(g, "cat /sys/fs/cgroup/system/berthd/cgroup.procs",
                           lambda rc, out: rc == 0 and len(out.split()) == 1, 60).strip()
                assert g.check("readlink /proc/%s/exe" % pid).strip() == "/sbin/berthd", pid
                assert g.check("readlink /proc/1/exe").strip() == "/sbin/init"
            test("shipped_berthd_answers", shipped_berthd)
            shutdown_check(g, var, "poweroff", "poweroff_clean", "berth-init: shutdown: power off")
        except GuestError as e:
            report("boot_shipped_image", False, "%s\n%s" % (e, g.console()[-1500:]))
        finally:
            g.kill()

        g = Guest(IMAGE, "none", tmp)
        try:
            g.wait_shell()

            def var_tmpfs():
                fstype, _ = mount_options(g, "/var")
                assert fstype == "tmpfs", "/var is %s without a disk" % fstype
                con = g.console()
                assert "WARNING: /var is a tmpfs" in con, "no loud warning on the console"
            test("var_tmpfs_without_disk", var_tmpfs)

            def halt():
                # A halted machine stays on: wait for the kernel's last word instead.
                g.send_nowait("halt")
                deadline = time.monotonic() + SHUTDOWN_TIMEOUT
                while "reboot: System halted" not in g.console():
                    assert time.monotonic() < deadline, "no 'System halted' after halt"
                    assert g.wait_exit(0.5) is None, "QEMU exited: halt must not power off"
                assert "berth-init: shutdown: halt" in g.console()
            test("halt_halts", halt)
        except GuestError as e:
            report("var_tmpfs_without_disk", False, str(e))
        finally:
            g.kill()

        def bad_root():
            g4 = Guest(IMAGE, "none", tmp, kernel_args=["berth.root=/dev/vdz"])
            try:
                status = g4.wait_exit(SHUTDOWN_TIMEOUT)
                con = g4.console()
                assert status is not None, "QEMU still running: PID 1 did not power off"
                assert "fatal: root device did not appear" in con, con[-800:]
                assert "Kernel panic" not in con, "kernel panic"
                assert re.search(r"reboot: Power down", con), "no orderly power down"
            finally:
                g4.kill()
        test("missing_root_powers_off_without_panic", bad_root)
    return 0


if __name__ == "__main__":
    rc = main()
    print("system: %d passed, %d failed" % (results["pass"], results["fail"]), flush=True)
    sys.exit(1 if rc or results["fail"] else 0)
