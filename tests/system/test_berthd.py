#!/usr/bin/python3
"""System tests of berthd and berthctl (issue 4): boot the test image, deploy
units under /var/lib/berth/units, and check supervision, restart policy, stop
timeouts, reload, authorization, logs and re-adoption after berthd is killed.
A second boot on the same /var checks start order at boot and that logs and
units persist; the first boot's shutdown must have stopped units in reverse
order. Every wait polls the guest with a generous bound."""
import json
import re
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "qemu"))
from harness import Guest, GuestError, ext4_clean, make_var_disk, poll, report, results, ssh, test  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("BUILD", os.path.join(TOP, "build"))
UNITS = "/var/lib/berth/units"
KEY = os.path.join(BUILD, "ssh", "id_ed25519")  # authorized for admin and ops in the test image
HOSTKEY = "/var/lib/berth/ssh/dropbear_ed25519_host_key"
EVENTS = "/var/log/berth/events.log"

# A tiny service: prints a line a second. Its PID 1 is a shell without a
# SIGTERM handler, which (as PID 1 of its namespace) ignores SIGTERM.
TICKER = "/bin/sh -c 'echo started; i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done'"

UNIT_FILES = {
    "db": """[Unit]
Description=the database
[Container]
Image=probe
Exec=%s
Volume=dbdata:/mnt:rw
[Service]
Restart=always
TimeoutStopSec=2s
""" % TICKER,
    "web": """[Unit]
Description=the web server
Requires=db
After=db
[Container]
Image=probe
Exec=%s
RunInit=yes
[Service]
Restart=on-failure
RestartSec=1s
""" % TICKER,
}


def deploy(g, name, text):
    """Write a unit atomically (as an operator's deploy would)."""
    g.check("cat > %s/.%s.tmp <<'BERTH_EOF'\n%sBERTH_EOF\nmv %s/.%s.tmp %s/%s.container"
            % (UNITS, name, text, UNITS, name, UNITS, name))


def status(g, name):
    out = g.check("berthctl --json status %s" % name)
    return json.loads(out)[0]


def wait_state(g, name, state, timeout=60, extra=lambda s: True):
    def ok(rc, out):
        if rc != 0:
            return False
        s = json.loads(out)[0]
        return s["state"] == state and extra(s)
    out = poll(g, "berthctl --json status %s" % name, ok, timeout)
    return json.loads(out)[0]


def stamp(ev, text, after=0.0):
    """Seconds of the day of the first events.log line containing TEXT at or after AFTER."""
    for line in ev.splitlines():
        if text in line:
            t = line.split()[0]
            secs = int(t[11:13]) * 3600 + int(t[14:16]) * 60 + float(t[17:23])
            if secs >= after:
                return secs
    raise AssertionError("no %r in the events log after %s" % (text, after))


def events(g):
    return g.check("cat %s" % EVENTS)


def boot1(g):
    # The debug shell can be up before berthd: wait for its socket to answer.
    poll(g, "berthctl list", lambda rc, out: rc == 0, 60)
    g.check("mkdir -p %s" % UNITS)
    for name, text in UNIT_FILES.items():
        deploy(g, name, text)

    def reload_starts():
        out = g.check("berthctl reload")
        assert "db: added" in out and "web: added" in out, out
        wait_state(g, "db", "running")
        wait_state(g, "web", "running")
        ev = events(g)
        assert ev.index("db: started") < ev.index("web: started"), ev
        # RunInit: berth-init is the container's PID 1, the command its child.
        pid = status(g, "web")["pid"]
        cmd = g.check("tr '\\0' ' ' < /proc/%d/cmdline" % pid).strip()
        assert cmd.startswith("/run/berth-init -- /bin/sh -c"), cmd
    test("reload_starts_units_in_order", reload_starts)

    def list_and_json():
        out = g.check("berthctl list")
        assert out.splitlines()[0].split()[:3] == ["UNIT", "STATE", "PID"], out
        assert any(line.split()[:2] == ["db", "running"] for line in out.splitlines()), out
        st = status(g, "db")
        assert st["pids_max"] == 512 and st["pids_current"] >= 1, st
        assert st["memory_bytes"] > 0 and st["restarts"] == 0, st
        out = g.check("berthctl status db")
        assert "state:     running" in out and "pids:" in out, out
        assert "has errors" not in events(g), events(g)
    test("list_status_json", list_and_json)

    def monitors_not_berthd():
        # Monitors live beside berthd's cgroup and do not answer to its name.
        pids = g.check("cat /sys/fs/cgroup/system/monitors/cgroup.procs").split()
        assert len(pids) == 2, pids
        for p in pids:
            assert g.check("cat /proc/%s/cmdline" % p).strip("\0\n") == "berth-mon", p
    test("monitors_in_own_cgroup", monitors_not_berthd)

    def killed_is_restarted():
        st = status(g, "web")
        assert st["pid"] > 0, st
        # Kill the command (the child of the container's init), then the init.
        g.check("kill -9 %d" % st["pid"])
        st2 = wait_state(g, "web", "running", 60, lambda s: s["restarts"] == 1)
        assert st2["pid"] != st["pid"], st2
        assert st2["last_exit"]["kind"] == "signal" and st2["last_exit"]["status"] == 9, st2
        # The backoff (RestartSec=1s) counts from the exit: the next start
        # comes at least 0.9 s later (event timestamps) and not much after.
        ev = events(g)
        t_exit = stamp(ev, "web: killed by signal 9")
        t_start = stamp(ev, "web: started", after=t_exit)
        assert 0.9 <= t_start - t_exit <= 30, (t_exit, t_start, ev[-600:])
    test("killed_container_restarted_after_backoff", killed_is_restarted)

    def runinit_stop_is_quick():
        # With RunInit=yes the init forwards SIGTERM: the shell dies at once.
        g.check("berthctl stop web")
        st = wait_state(g, "web", "inactive", 30)
        # berth-init reports its child's death by SIGTERM as 128+15, as tini does.
        assert st["last_exit"]["kind"] == "code" and st["last_exit"]["status"] == 143, st
        log = g.check("cat /var/log/berth/web.log")
        assert "stop timeout" not in log, log[-500:]
        g.check("berthctl start web")
        wait_state(g, "web", "running")
    test("runinit_forwards_sigterm", runinit_stop_is_quick)

    def stop_timeout_kills():
        # db's PID 1 ignores SIGTERM: SIGKILL after TimeoutStopSec=2s. web
        # Requires=db: the operator's stop of db stops web first.
        g.check("berthctl stop db")
        st = wait_state(g, "db", "inactive", 30)
        assert status(g, "web")["state"] == "inactive", status(g, "web")
        assert "web: stopping: it requires db" in events(g)
        assert st["last_exit"]["kind"] == "timeout", st
        log = g.check("cat /var/log/berth/db.log")
        assert "stop timeout: SIGKILL" in log, log[-500:]
        assert g.run("test -e /sys/fs/cgroup/berth/db")[0] != 0, "db's cgroup left behind"
        # Starting web pulls db in.
        g.check("berthctl start web")
        wait_state(g, "db", "running")
        wait_state(g, "web", "running")
    test("stop_ignoring_sigterm_killed_after_timeout", stop_timeout_kills)

    def crash_loop():
        deploy(g, "crash", """[Unit]
StartLimitIntervalSec=60s
StartLimitBurst=3
[Container]
Image=probe
Exec=/bin/sh -c 'echo dying; exit 3'
[Service]
RestartSec=200ms
""")
        g.check("berthctl reload")
        st = wait_state(g, "crash", "failed", 60)
        assert st["restarts"] == 3 and st["reason"] == "start limit hit", st
        assert st["last_exit"]["kind"] == "code" and st["last_exit"]["status"] == 3, st
        ev = events(g)
        delays = [int(m) for m in re.findall(r"crash: restarting in (\d+) ms", ev)]
        assert len(delays) == 3, (delays, ev[-800:])
        for got, want in zip(delays, (200, 400, 800)):
            assert 0.8 * want <= got <= want, (delays, ev[-800:])
        assert g.check("grep -c dying /var/log/berth/crash.log").strip() == "4"
    test("crash_loop_ends_failed", crash_loop)

    def broken_edit_keeps_old():
        before = status(g, "db")
        deploy(g, "db", UNIT_FILES["db"] + "Restrat=always\n")
        rc, out = g.run("berthctl reload")
        assert rc == 1, (rc, out)
        assert "%s/db.container:10: unknown key 'Restrat' in [Service]; did you mean 'Restart'?" % UNITS \
            in out, out
        st = status(g, "db")
        assert st["state"] == "running" and st["pid"] == before["pid"], st
        assert "Restrat" in st["config_errors"], st
        out = g.check("berthctl status db")
        assert "the running definition is kept" in out, out
        rc, out = g.run("berthctl verify %s/db.container" % UNITS)
        assert rc == 1 and "db.container:10:" in out, (rc, out)
        assert "web.container" not in out, out
    test("broken_edit_keeps_old_definition", broken_edit_keeps_old)

    def edit_applied():
        before = status(g, "db")
        deploy(g, "db", UNIT_FILES["db"].replace("[Container]", "[Container]\nEnvironment=MODE=two"))
        out = g.check("berthctl reload")
        assert "db: changed" in out, out
        st = wait_state(g, "db", "running", 60, lambda s: s["pid"] != before["pid"])
        assert not st["config_errors"], st
        env = g.check("tr '\\0' '\\n' < /proc/%d/environ" % st["pid"])
        assert "MODE=two" in env.split(), env
        insp = json.loads(g.check("berthctl --json inspect db"))
        assert "MODE=two" in insp["environment"], insp
        rc, out = g.run("berthctl verify %s/db.container" % UNITS)
        assert rc == 0 and out.strip().endswith("db.container: ok"), (rc, out)
    test("edit_and_reload_applied", edit_applied)

    def authz():
        rc, out = g.run("su ops -c 'berthctl status db'")
        assert rc == 0 and "state:     running" in out, (rc, out)
        rc, out = g.run("su ops -c 'berthctl stop db'")
        assert rc == 3 and "permission denied" in out, (rc, out)
        rc, out = g.run("su ops -c 'berthctl reload'")
        assert rc == 3, (rc, out)
        assert "denied: uid 1001: stop db" in events(g), events(g)[-500:]
        assert status(g, "db")["state"] == "running"
        # Outside berth-ops the socket itself is closed.
        rc, out = g.run("su nobody -s /bin/sh -c 'berthctl list'")
        assert rc == 3 and "Permission denied" in out, (rc, out)
        mode = g.check("stat -c '%a %U %G' /run/berth/berthd.sock").strip()
        assert mode == "660 root berth-ops", mode
        rc, out = g.run("berthctl status nosuch")
        assert rc == 4, (rc, out)
    test("ops_may_read_not_stop", authz)

    def logs():
        poll(g, "berthctl logs -n 2 db", lambda rc, out: rc == 0 and out.count("tick") == 2, 30)
        out = g.check("berthctl logs -n 2 db")
        lines = out.strip().splitlines()
        assert len(lines) == 2, out
        assert lines[0][:4].isdigit() and lines[0][10] == "T" and lines[0][23] == "Z", lines[0]
        rc, out = g.run("su ops -c 'berthctl logs -n 1 db'")
        assert rc == 0 and "tick" in out, (rc, out)
        # Follow: new lines arrive without another request.
        out = g.check("timeout 4 berthctl logs -f -n 0 db; true", timeout=30)
        assert out.count("tick") >= 2, out
    test("logs_tail_and_follow", logs)

    def rotation():
        deploy(g, "chatty", """[Container]
Image=probe
Exec=/bin/sh -c 'i=0; while true; do echo line $i 0123456789012345678901234567890123456789; i=$((i+1)); done'
[Service]
LogMaxSize=4K
LogMaxFiles=2
""")
        g.check("berthctl reload")
        poll(g, "ls /var/log/berth/", lambda rc, out: "chatty.log.2" in out.split(), 60)
        g.check("berthctl stop chatty")
        wait_state(g, "chatty", "inactive", 30)
        files = g.check("ls /var/log/berth/").split()
        assert "chatty.log.3" not in files, files
        for f in ("chatty.log", "chatty.log.1", "chatty.log.2"):
            size = int(g.check("stat -c %%s /var/log/berth/%s" % f).strip())
            assert size <= 4096, (f, size)
        # berthd answered throughout the flood.
        assert status(g, "db")["state"] == "running"
    test("logs_rotate_by_size", rotation)

    def restart_stats_remove():
        before = status(g, "db")["pid"]
        g.check("berthctl restart db")
        st = wait_state(g, "db", "running", 60, lambda s: s["pid"] != before)
        assert st["restarts"] == 0, st  # an operator's restart is not a failure
        wait_state(g, "web", "running")
        out = g.check("berthctl stats")
        rows = {l.split()[0]: l.split() for l in out.splitlines()[1:]}
        assert out.splitlines()[0].split()[:3] == ["UNIT", "STATE", "CPU"], out
        assert "db" in rows and rows["db"][1] == "running" and "/512" in rows["db"][-1], out
        data = json.loads(g.check("berthctl --json stats"))
        assert any(d["name"] == "db" and d["pids_current"] >= 1 for d in data), data
        # A unit whose file is removed is stopped and forgotten on reload.
        g.check("rm %s/chatty.container" % UNITS)
        out = g.check("berthctl reload")
        assert "chatty: removed" in out, out
        rc, out = g.run("berthctl status chatty")
        assert rc == 4, (rc, out)
    test("restart_stats_remove", restart_stats_remove)

    def ssh_access():
        # Operators log in with their key; the session lands in system/ssh.
        rc, out = ssh(g, "ops", "id; cat /proc/self/cgroup; berthctl status db", KEY, 120)
        assert rc == 0 and "groups=901(berth-ops)" in out and "0::/system/ssh" in out, (rc, out)
        assert "state:     running" in out, out
        rc, out = ssh(g, "ops", "berthctl stop db", KEY)
        assert rc == 3 and "permission denied" in out, (rc, out)
        # No root login, no one outside berth-ops, and no passwords at all.
        rc, out = ssh(g, "root", "id", KEY)
        assert rc == 255 and "Permission denied" in out, (rc, out)
        rc, out = ssh(g, "nobody", "id", KEY)
        assert rc == 255 and "Permission denied" in out, (rc, out)
        rc, out = ssh(g, "ops", "id", KEY, extra=("-o", "PubkeyAuthentication=no",
                                                  "-o", "PreferredAuthentications=password,keyboard-interactive"))
        assert rc == 255 and "Permission denied" in out, (rc, out)
        # An interactive login shell greets with host, version and unit counts.
        rc, out = ssh(g, "ops", "sh -li -c true", KEY)
        assert rc == 0 and "- Berth " in out and "units: " in out and " running, " in out \
            and "next: berthctl status" in out, (rc, out)
        # The host key was made at the first connection, on /var.
        mode = g.check("stat -c '%%a %%U' %s" % HOSTKEY).strip()
        assert mode == "600 root", mode
        boot1.hostkey = g.check("dropbearkey -y -f %s | grep Fingerprint" % HOSTKEY).strip()
    test("ssh_keys_only_operators", ssh_access)

    confined = {}
    # Containers started by berthd (under a monitor, stdio on its log pipe)
    # are exactly as confined as berth-run's: the same probe as PID 1 of its
    # namespace, every check relayed. (RunInit: berthd_mounts_confined.)
    deploy(g, "confined", """[Container]
Image=probe
Exec=/usr/bin/probe container 1
Environment=PROBE_NET=bridge
[Service]
Type=oneshot
Restart=no
""")
    g.check("berthctl reload")
    try:
        poll(g, "berthctl --json status confined",
             lambda rc, out: rc == 0 and json.loads(out)[0]["state"] in ("exited", "failed"), 120)
        out = g.check("berthctl logs confined")
        n = 0
        for line in out.splitlines():
            m = re.match(r"^\S+ (PASS|FAIL) (\S+)(?:: (.*))?$", line.strip())
            if m:
                n += 1
                confined[m.group(2)] = m.group(1)
                report("berthd-" + m.group(2), m.group(1) == "PASS", m.group(3) or "")
        if n < 40:
            report("berthd-probe-ran-all-checks", False, "%d checks in the log: %s" % (n, out[-600:]))
    except Exception as e:
        report("berthd-probe", False, str(e))

    def new_mounts_confined():
        # RunInit's init is a read-only file; Tmpfs= mounts are nosuid,nodev
        # and sized; a noexec volume refuses execve (EACCES).
        deploy(g, "mounts", """[Container]
Image=probe
Exec=/bin/sh -c 'echo init=$(/usr/bin/probe write /run/berth-init); grep " /tmp " /proc/mounts | tail -n 1; cp /bin/busybox /mnt/bb && /mnt/bb true; echo exec-rc=$?'
RunInit=yes
Tmpfs=/tmp:size=1M,mode=1777
Volume=scratch:/mnt:rw,noexec
[Service]
Type=oneshot
Restart=no
""")
        g.check("berthctl reload")
        poll(g, "berthctl --json status mounts",
             lambda rc, out: rc == 0 and json.loads(out)[0]["state"] in ("exited", "failed"), 120)
        out = g.check("berthctl logs mounts")
        assert "init=EROFS" in out, out
        tmp = [l for l in out.splitlines() if " /tmp tmpfs " in l]
        assert tmp and "nosuid" in tmp[-1] and "nodev" in tmp[-1] and "size=1024k" in tmp[-1], out
        assert "Permission denied" in out and "exec-rc=126" in out, out
        owner = g.check("stat -c %u /var/lib/berth/volumes/scratch").strip()
        assert owner == g.check("cat /var/lib/berth/userns/mounts").strip(), owner
    test("berthd_mounts_confined", new_mounts_confined)

    exec_edit_deploy(g, confined)

    def readopt():
        web = status(g, "web")
        db = status(g, "db")
        assert web["pid"] > 0 and db["pid"] > 0, (web, db)
        # (busybox pidof also matches monitors by their executable: berthd is
        # the one process of its cgroup.)
        berthd = g.check("cat /sys/fs/cgroup/system/berthd/cgroup.procs").strip()
        assert berthd.isdigit(), berthd
        g.check("kill -9 %s" % berthd)
        # Meanwhile web's container dies: the restart policy must still apply.
        g.check("kill -9 %d" % web["pid"])
        poll(g, "cat /sys/fs/cgroup/system/berthd/cgroup.procs",
             lambda rc, out: rc == 0 and out.strip().isdigit() and out.strip() != berthd, 60)
        st = wait_state(g, "db", "running")
        assert st["pid"] == db["pid"], "db's container changed: %s -> %s" % (db["pid"], st["pid"])
        assert st["restarts"] == db["restarts"], st
        st = wait_state(g, "web", "running", 60, lambda s: s["restarts"] == web["restarts"] + 1)
        assert st["pid"] != web["pid"], st
        ev = events(g)
        assert "db: re-adopted its container (pid %d" % db["pid"] in ev, ev[-800:]
    test("berthd_sigkill_readopts", readopt)


def probe_results(out):
    res = {}
    for line in out.splitlines():
        m = re.match(r"^(PASS|FAIL) (\S+)(?:: (.*))?$", line.strip())
        if m:
            res[m.group(2)] = (m.group(1), m.group(3) or "")
    return res


# The probe's checks that differ by design between a container's PID 1 and a
# command exec'd into it (each side names its own).
EXEC_ONLY = {"container-exec-dies-with-session", "container-pid-namespace-container", "container-cgroup-container"}
PID1_ONLY = {"container-no-parent-death-signal", "container-pid-namespace-alone"}

EDITOR_SCRIPT = r"""#!/bin/sh
n=$(cat /tmp/ed.n 2>/dev/null || echo 0); echo $((n+1)) > /tmp/ed.n
if [ "$n" = 0 ]; then printf '[Container]\nImage=probe\nExec=sleep 1000\nBogus=1\n' > "$1"
else printf '[Unit]\nDescription=edited\n[Container]\nImage=probe\nExec=sleep 1000\n' > "$1"; fi
"""


# Saves the same invalid file every time.
EDITOR_SAME_BAD = r"""printf '[Container]\nImage=probe\nExec=sleep 1000\nBogus=2\n' > "$1"
"""


def exec_edit_deploy(g, confined):
    """berthctl exec, edit, deploy, rm, metrics and top (issue 5)."""
    deploy(g, "execme", """[Container]
Image=probe
Exec=/bin/sh -c 'while true; do sleep 1; done'
Environment=PROBE_NET=bridge
""")
    g.check("berthctl reload")
    target = wait_state(g, "execme", "running")
    berthd = g.check("cat /sys/fs/cgroup/system/berthd/cgroup.procs").strip()

    # The full probe, exec'd: every check passes, and every check the
    # container's own PID 1 made ("confined" above) has the same result.
    # (-t: on a terminal of its own, so the terminal checks run too.)
    rc, out = g.run("berthctl exec -t execme -- /usr/bin/probe exec %s" % berthd, 120)
    got = probe_results(out)
    for name, (res, why) in sorted(got.items()):
        report("berthd-exec-" + name, res == "PASS", why)

    def same_as_container():
        assert rc == 0 and len(got) >= 40, (rc, out[-600:])
        assert confined, "the container's own probe results are missing"
        # (exec also runs the checks that need a host pid or a terminal.)
        mine = set(got) - EXEC_ONLY
        theirs = set(confined) - PID1_ONLY
        assert not theirs - mine, "not checked by exec: %s" % sorted(theirs - mine)
        diff = [n for n in theirs if got[n][0] != confined[n]]
        assert not diff, diff
    test("exec_confined_as_the_container", same_as_container)

    def same_namespaces():
        # The very namespaces of the container's PID 1 (inode numbers), the
        # same seccomp filter count, capability sets and no_new_privs.
        pid = target["pid"]
        ns = "cgroup ipc mnt net pid uts user"
        host = g.check("for n in %s; do readlink /proc/%d/ns/$n; done" % (ns, pid)).split()
        inside = g.check("berthctl exec execme -- sh -c 'for n in %s; do readlink /proc/self/ns/$n; done'"
                         % ns).split()
        assert host == inside and len(host) == 7, (host, inside)
        # Both seen from inside (ids as the container maps them).
        keys = "^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp|Seccomp_filters|Uid|Gid|Groups):"
        want = g.check("berthctl exec execme -- grep -E '%s' /proc/1/status" % keys)
        have = g.check("berthctl exec execme -- grep -E '%s' /proc/self/status" % keys)
        assert "Seccomp:\t2" in have and "NoNewPrivs:\t1" in have, have
        assert want == have, (want, have)
        cg = g.check("berthctl exec execme -- cat /proc/self/cgroup").strip()
        assert cg == "0::/", cg
    test("exec_joins_the_container_namespaces", same_namespaces)

    def exec_status_and_streams():
        rc, out = g.run("echo piped | berthctl exec -i execme -- cat")
        assert rc == 0 and out.strip() == "piped", (rc, out)
        # Without -i its stdin is an empty pipe; with -t a terminal of its
        # own, never ours (the debug shell's serial line).
        rc, out = g.run("berthctl exec execme -- cat")
        assert rc == 0 and out.strip() == "", (rc, out)
        rc, out = g.run("berthctl exec -t execme -- sh -c 'test -t 0 && test -t 1 && echo terminal'")
        assert rc == 0 and out.strip() == "terminal", (rc, out)
        rc, out = g.run("berthctl exec execme -- sh -c 'ls -l /proc/self/fd/0 /proc/self/fd/1'")
        assert rc == 0 and out.count("pipe:[") == 2, (rc, out)
        rc, out = g.run("berthctl exec execme -- sh -c 'echo err >&2; exit 7' 2>&1")
        assert rc == 7 and out.strip() == "err", (rc, out)
        rc, out = g.run("berthctl exec execme nosuchcommand")
        assert rc == 127 and "nosuchcommand" in out, (rc, out)
        rc, out = g.run("berthctl exec execme -- /etc/passwd")
        assert rc == 126, (rc, out)
        rc, out = g.run("berthctl exec execme -- sh -c 'kill -9 $$'")
        assert rc == 137, (rc, out)
        rc, out = g.run("berthctl exec confined -- true")
        assert rc == 125 and "not running" in out, (rc, out)
        rc, out = g.run("berthctl exec nosuch -- true")
        assert rc == 125 and "no unit" in out, (rc, out)
        assert "execme: exec by uid 0: cat (pid" in events(g), events(g)[-600:]
        # A client that passes a file and a directory as the streams (a
        # directory inside the container would be the host's: CVE-2024-21626).
        out = g.check("/usr/libexec/berth-test/probe exec-stream execme").strip()
        assert out == "2 exec: the standard streams must be pipes or a pseudo-terminal", out
        rc, out = g.run("berthctl exec -t execme -- true </dev/null")
        assert rc == 2 and "not a terminal" in out, (rc, out)
    test("exec_status_and_streams", exec_status_and_streams)

    def exec_ends_with_client():
        # berthctl gone (an SSH session dropped): its command is killed.
        g.background("berthctl exec execme -- sleep 4242")
        cg = "/sys/fs/cgroup/berth/execme/cgroup.procs"
        find = "for p in $(cat %s); do grep -l 4242 /proc/$p/cmdline; done 2>/dev/null | wc -l" % cg
        poll(g, find, lambda rc, out: out.strip() == "1", 60)
        g.check("kill $(pidof berthctl)")
        poll(g, find, lambda rc, out: out.strip() == "0", 60)
        assert status(g, "execme")["state"] == "running"
    test("exec_command_dies_with_its_client", exec_ends_with_client)

    def edit_loop():
        # First save: an unknown key (shown as FILE:LINE, editor reopened);
        # second save: valid, deployed.
        g.check("cat > /tmp/ed.sh <<'BERTH_EOF'\n%sBERTH_EOF\nrm -f /tmp/ed.n" % EDITOR_SCRIPT)
        # (/tmp is noexec on the appliance: the editor command names sh.)
        rc, out = g.run("EDITOR='sh /tmp/ed.sh' berthctl edit edited </dev/null")
        assert rc == 0, (rc, out)
        assert "edited.container:4: unknown key 'Bogus'" in out and "edited: added" in out, out
        assert g.check("cat /tmp/ed.n").strip() == "2"
        wait_state(g, "edited", "running")
        assert status(g, "edited")["description"] == "edited"
        # Quit without a change: nothing deployed.
        rc, out = g.run("EDITOR=true berthctl edit edited </dev/null")
        assert rc == 0 and "no changes; nothing deployed" in out, (rc, out)
        # The same invalid save twice: the loop ends, the copy is kept.
        g.check("cat > /tmp/ed2.sh <<'BERTH_EOF'\n%sBERTH_EOF" % EDITOR_SAME_BAD)
        rc, out = g.run("EDITOR='sh /tmp/ed2.sh' berthctl edit edited </dev/null")
        assert rc == 1 and "unchanged since the errors above" in out, (rc, out)
        kept = re.search(r"your copy is kept in (\S+)", out)
        assert kept and "Bogus=2" in g.check("cat %s" % kept.group(1)), out
        assert "Bogus" not in g.check("berthctl cat edited")
    test("edit_shows_errors_and_reopens", edit_loop)

    def deploy_and_rm():
        # deploy: root-owned 0644; the same file again is a no-op; rm of a
        # unit others require is refused; rm stops and forgets a unit.
        g.check("printf '[Container]\\nImage=probe\\nExec=sleep 1000\\n' > /tmp/dep.container")
        rc, out = g.run("berthctl deploy /tmp/dep.container")
        assert rc == 0 and "dep: added" in out, (rc, out)
        assert g.check("stat -c '%%a %%U' %s/dep.container" % UNITS).strip() == "644 root"
        rc, out = g.run("berthctl deploy /tmp/dep.container")
        assert rc == 0 and "dep: unchanged" in out, (rc, out)
        rc, out = g.run("berthctl rm db")
        assert rc == 1 and "other units need it" in out and "web" in out, (rc, out)
        assert status(g, "db")["state"] == "running"
        rc, out = g.run("berthctl rm nosuch")
        assert rc == 4, (rc, out)
        # A name is never a path.
        g.check("mkdir -p /var/lib/berth/volumes/x && touch /var/lib/berth/volumes/x/f.container")
        rc, out = g.run("berthctl rm ../volumes/x/f")
        assert rc == 2 and "not a unit name" in out, (rc, out)
        g.check("test -e /var/lib/berth/volumes/x/f.container && rm -r /var/lib/berth/volumes/x")
        rc, out = g.run("berthctl deploy /tmp/dep.txt")
        assert rc == 2, (rc, out)
        rc, out = g.run("berthctl rm dep")
        assert rc == 0 and "dep: removed" in out, (rc, out)
        assert g.run("test -e %s/dep.container" % UNITS)[0] == 1
        poll(g, "berthctl status dep", lambda rc, out: rc == 4, 60)
    test("deploy_and_rm", deploy_and_rm)

    def metrics():
        out = g.check("berthctl metrics")
        seen_type = set()
        states = {}
        for line in out.splitlines():
            if line.startswith("# TYPE "):
                seen_type.add(line.split()[2])
                continue
            if line.startswith("#"):
                continue
            m = re.match(r'^([a-z_0-9]+)(\{[^}]*\})? (\S+)$', line)
            assert m, "not exposition format: %r" % line
            assert m.group(1) in seen_type, "no TYPE before %r" % line
            float(m.group(3))
            if m.group(1) == "berth_unit_state":
                unit = re.search(r'unit="([^"]+)"', m.group(2)).group(1)
                states[unit] = states.get(unit, 0) + int(m.group(3))
        assert states and all(v == 1 for v in states.values()), states
        assert re.search(r'^berth_unit_pids_max\{unit="db"\} 512$', out, re.M), out
        assert re.search(r'^berth_unit_memory_bytes\{unit="db"\} [1-9]', out, re.M), out
        assert re.search(r"^berth_host_memory_total_bytes [1-9]", out, re.M), out
        rc, out = g.run("su nobody -s /bin/sh -c 'berthctl metrics'")
        assert rc == 3, (rc, out)
    test("metrics_prometheus_text", metrics)

    def top():
        out = g.check("berthctl top -n 2 -d 0.5 | cat")
        assert out.count("berth top - ") == 2 and re.search(r"^db\s+running", out, re.M), out
    test("top_refreshes", top)
    for name in ("execme", "edited"):
        g.run("berthctl rm %s" % name)


def shutdown_and_reboot(g, var):
    def fn():
        g.send_nowait("reboot")
        status_ = g.wait_exit(240)
        assert status_ is not None, "QEMU still running after reboot"
        assert ext4_clean(var), "/var not clean"
    test("reboot_with_units", fn)


def boot2(g):
    def order():
        ev = events(g)
        # The first boot's shutdown: web (which needs db) stopped before db.
        first_stop = ev.index("stopping every unit")
        lines = ev[first_stop:].splitlines()
        ends = [i for i, l in enumerate(lines) if " exited with code " in l or " killed by signal " in l]
        web = [i for i in ends if " web: " in lines[i]]
        db = [i for i in ends if " db: " in lines[i]]
        assert web and db and web[0] < db[0], "\n".join(lines[:40])
        assert "all units stopped; exiting" in ev[first_stop:], ev[first_stop:]
        wait_state(g, "db", "running")
        wait_state(g, "web", "running")
        ev = events(g)
        boot = [m.start() for m in re.finditer(r"berthd \S+ \(\S+\) starting", ev)][-1]
        assert ev.index("db: started", boot) < ev.index("web: started", boot), ev[boot:]
    test("units_start_at_boot_in_order", order)

    def persisted():
        out = g.check("cat /var/log/berth/db.log")
        assert out.count("[berth] started") >= 2, out[-800:]
        assert g.check("stat -c %u /var/lib/berth/volumes/dbdata").strip() != "0"
    test("logs_and_volumes_persist", persisted)

    def hostkey_kept():
        rc, out = ssh(g, "admin", "berthctl list", KEY, 120)
        assert rc == 0 and "db" in out, (rc, out)
        fp = g.check("dropbearkey -y -f %s | grep Fingerprint" % HOSTKEY).strip()
        assert fp == getattr(boot1, "hostkey", None), (fp, getattr(boot1, "hostkey", None))
    test("ssh_host_key_kept_across_reboot", hostkey_kept)

    def score():
        rc, out = g.run("berthctl score %s/db.container" % UNITS)
        assert rc == 0 and "Overall exposure level for %s/db.container:" % UNITS in out, (rc, out)
        rc, out = g.run("berthctl score --threshold=0.5 %s/db.container" % UNITS)
        assert rc == 1, (rc, out)
        data = json.loads(g.check("berthctl --json score %s/web.container" % UNITS))
        assert 0 < data[0]["exposure"] < 5 and data[0]["label"] in ("OK", "SAFE"), data
    test("score_offline", score)

    def idle_no_wakeups():
        # Once nothing is pending (crash has failed again: /run is new at
        # each boot), an idle berthd sleeps in epoll_wait: no context switch
        # in 5 s of guest time (no berthctl call in the window).
        wait_state(g, "crash", "failed", 90)
        pid = g.check("cat /sys/fs/cgroup/system/berthd/cgroup.procs").strip()
        cmd = "grep -E '^(voluntary|nonvoluntary)_ctxt_switches' /proc/%s/status | awk '{s+=$2} END {print s}'" % pid
        out = g.check("a=$(%s); sleep 5; b=$(%s); echo $a $b" % (cmd, cmd)).split()
        assert out[0] == out[1], "berthd woke up %d times in 5 s" % (int(out[1]) - int(out[0]))
    test("idle_berthd_no_wakeups", idle_no_wakeups)


def main():
    tmp = os.path.join(BUILD, "tests", "system-berthd")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    var = os.path.join(tmp, "var.img")
    make_var_disk(var)
    image = os.path.join(BUILD, "test-image")
    g = Guest(image, var, tmp)
    try:
        g.wait_shell()
        boot1(g)
        shutdown_and_reboot(g, var)
    except GuestError as e:
        report("berthd-boot1", False, "%s\n%s" % (e, g.console()[-1500:]))
    finally:
        g.kill()
    g = Guest(image, var, tmp)
    try:
        g.wait_shell()
        boot2(g)
    except GuestError as e:
        report("berthd-boot2", False, "%s\n%s" % (e, g.console()[-1500:]))
    finally:
        g.kill()


if __name__ == "__main__":
    main()
    print("berthd: %d passed, %d failed" % (results["pass"], results["fail"]), flush=True)
    sys.exit(1 if results["fail"] else 0)
