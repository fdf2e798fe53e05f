#!/usr/bin/python3
"""Operations scenarios (issue 5): the shipped image as an operator meets it,
driven over SSH to 127.0.0.1 as the accounts admin and ops. The image is
build/ops-image: the shipped root, units and images, built with the tests'
key and with the probe image beside base and httpd (for the fork bomb).
The debug shell (root, on a serial port) only inspects what SSH users may
not read.

Boot 1, fresh /var:
  1 ops sees every default unit running; web serves its page (seen by exec)
  2 admin copies a unit with scp and deploys it; it runs
  3 a broken unit is refused with FILE:LINE and nothing changes
  4 a fork bomb meets pids.max; SSH and berthctl keep answering
  5 a memory hog is OOM-killed at MemoryMax and restarted by policy
  6 ops is denied every privileged verb and cannot touch the unit store
  8 admin powers the host off over SSH: units stop in reverse order
Boot 2, same /var:
  8 (the order and timeouts of boot 1's stop, from events.log)
  2 the deployed unit runs again and its log from boot 1 is still there
  7 power cut (QEMU killed) while a container writes to a volume and
    while a unit is being deployed over and over
Boot 3, same /var:
  7 the boot is clean; the deployed file is the old or the new one, never
    torn; every unit runs; every synced line of the volume survived;
    then a clean poweroff."""
import glob
import json
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "qemu"))
from harness import Guest, GuestError, ext4_clean, make_var_disk, report, results, scp, ssh, test  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("BUILD", os.path.join(TOP, "build"))
IMAGE = os.path.join(BUILD, "ops-image")
KEY = os.path.join(BUILD, "ssh", "id_ed25519")
EVENTS = "/var/log/berth/events.log"
DEFAULT_UNITS = sorted(os.path.basename(f)[:-len(".container")]
                       for f in glob.glob(os.path.join(TOP, "configs", "units", "*.container")))

HELLO = """[Unit]
Description=deployed over scp
[Container]
Image=base
Exec=/bin/sh -c 'echo "hello from boot $(cat /proc/sys/kernel/random/boot_id)"; exec sleep 1000000'
User=1000
DropCapability=all
RunInit=yes
[Service]
Restart=always
"""
# Needs hello: started after it, stopped before it.
APP = """[Unit]
Description=needs hello
Requires=hello
After=hello
[Container]
Image=base
Exec=sleep 1000000
User=1000
DropCapability=all
RunInit=yes
"""
# RestartSec= belongs in [Service]: line 6.
BROKEN = """[Unit]
Description=broken on purpose
[Container]
Image=base
Exec=/bin/true
RestartSec=1s
"""
NEEDS_MISSING = """[Unit]
Requires=nosuch
[Container]
Image=base
Exec=/bin/true
"""
BOMB = """[Unit]
Description=fork bomb
[Container]
Image=probe
Exec=/usr/bin/probe fork-bomb
User=1000
[Service]
TasksMax=64
Restart=no
"""
HOG = """[Unit]
Description=memory hog
[Container]
Image=base
Exec=/bin/dd if=/dev/zero of=/dev/null bs=64M count=1
User=1000
[Service]
MemoryMax=32M
Restart=on-failure
RestartSec=1s
"""
WRITER = """[Unit]
Description=appends a synced line to its volume, forever
[Container]
Image=base
Exec=/bin/sh -c 'i=0; while :; do i=$((i+1)); echo "line $i" >> /mnt/lines; sync; done'
Volume=writerdata:/mnt:rw
RunInit=yes
[Service]
Restart=always
"""
FLIP = """[Unit]
Description=version %s
[Container]
Image=base
Exec=sleep 1000000
User=1000
RunInit=yes
"""


def as_ops(g, cmd, timeout=60):
    return ssh(g, "ops", cmd, KEY, timeout)


def as_admin(g, cmd, timeout=60):
    return ssh(g, "admin", cmd, KEY, timeout)


def wait_for(fn, timeout, what):
    """Call FN until it returns something true, within TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
        except (AssertionError, ValueError, KeyError, IndexError) as e:
            last = e
        time.sleep(0.5)
    raise AssertionError("%s: not within %ds (last: %r)" % (what, timeout, last))


def units(g, user="ops"):
    rc, out = ssh(g, user, "berthctl --json status", KEY)
    assert rc == 0, (rc, out)
    return {u["name"]: u for u in json.loads(out)}


def wait_running(g, names, timeout=120):
    def ok():
        u = units(g)
        return u if all(u.get(n, {}).get("state") == "running" for n in names) else None
    return wait_for(ok, timeout, "%s running" % ", ".join(names))


def deploy_over_scp(g, tmp, name, text):
    local = os.path.join(tmp, "%s.container" % name)
    with open(local, "w") as f:
        f.write(text)
    rc, out = scp(g, "admin", local, "/tmp/%s.container" % name, KEY)
    assert rc == 0, "scp: %d %s" % (rc, out)
    return as_admin(g, "berthctl deploy /tmp/%s.container" % name)


def events(g):
    return g.check("cat %s" % EVENTS)


def boot1(g, tmp, var):
    def default_units():
        # Scenario 1: ops logs in with the key; every default unit runs.
        assert DEFAULT_UNITS, "no units in configs/units"
        wait_running(g, DEFAULT_UNITS)
        rc, out = as_ops(g, "berthctl status")
        assert rc == 0, (rc, out)
        for n in DEFAULT_UNITS:
            assert re.search(r"^%s\s+running" % re.escape(n), out, re.M), out
        rc, out = as_ops(g, "berthctl stats")
        assert rc == 0 and re.search(r"^web\s+running", out, re.M), (rc, out)
        rc, out = as_ops(g, "berthctl top -n 1 -d 0.5")
        assert rc == 0 and "berth top - " in out, (rc, out)
        # Each example unit scores well: an exposure of 1.9 at most.
        rc, out = as_ops(g, "berthctl score --threshold=1.9 /etc/berth/units/*.container")
        assert rc == 0 and out.count("Overall exposure level") == len(DEFAULT_UNITS), (rc, out)
        # The example web unit serves its page: inside its network namespace
        # (seen by exec), and on the host's port 80 from this build host
        # through QEMU's forward on 127.0.0.1; a port it does not publish
        # (81) gives no page.
        rc, out = as_admin(g, "berthctl exec web -- wget -q -O - http://127.0.0.1:8080/")
        assert rc == 0 and "Berth" in out, (rc, out[:300])
        page = http_get(g.fwd[80])
        assert page.startswith("HTTP/1.") and " 200 " in page.split("\r\n")[0] and "Berth" in page, page[:300]
        page = http_get(g.fwd[81], tries=1)
        assert not page.startswith("HTTP/"), page[:300]
    test("ops_sees_default_units_running", default_units)
    before = units(g)

    def scp_deploy():
        # Scenario 2, first half.
        rc, out = deploy_over_scp(g, tmp, "hello", HELLO)
        assert rc == 0 and "hello: added" in out, (rc, out)
        rc, out = deploy_over_scp(g, tmp, "app", APP)
        assert rc == 0 and "app: added" in out, (rc, out)
        wait_running(g, ["hello", "app"])
        wait_for(lambda: "hello from boot" in as_ops(g, "berthctl logs hello")[1], 60, "hello's line")
    test("admin_scp_and_deploy", scp_deploy)

    def broken_refused():
        # Scenario 3: refused with FILE:LINE; nothing changes.
        names = sorted(units(g))
        files = g.check("ls -a /var/lib/berth/units")
        rc, out = deploy_over_scp(g, tmp, "broken", BROKEN)
        assert rc == 1, (rc, out)
        assert "/tmp/broken.container:6: " in out and "[Service]" in out, out
        assert "nothing changed" in out, out
        rc, out = deploy_over_scp(g, tmp, "needy", NEEDS_MISSING)
        assert rc == 1 and "nosuch" in out and "nothing changed" in out, (rc, out)
        assert sorted(units(g)) == names, (sorted(units(g)), names)
        assert g.check("ls -a /var/lib/berth/units") == files, files
        rc, out = as_admin(g, "berthctl cat broken")
        assert rc == 4, (rc, out)
    test("broken_deploy_refused_nothing_changed", broken_refused)

    others = {n: units(g)[n]["pid"] for n in DEFAULT_UNITS + ["hello"]}

    def fork_bomb():
        # Scenario 4.
        rc, out = deploy_over_scp(g, tmp, "bomb", BOMB)
        assert rc == 0, (rc, out)
        wait_for(lambda: "at the limit after" in as_ops(g, "berthctl logs bomb", 120)[1], 180, "bomb at its limit")
        st = units(g)["bomb"]
        assert st["pids_current"] == 64 and st["pids_max"] == 64, st
        # A fresh SSH login and a berthctl round trip, during the bomb.
        t0 = time.monotonic()
        rc, out = as_ops(g, "berthctl status", 90)
        took = time.monotonic() - t0
        assert rc == 0 and "bomb" in out, (rc, out)
        print("  (ssh login + berthctl status during the fork bomb: %.1f s)" % took, flush=True)
        assert took < 60, "took %.1f s" % took
        now = units(g)
        for n, pid in others.items():
            assert now[n]["state"] == "running" and now[n]["pid"] == pid, (n, now[n], pid)
        limit = int(g.check("cat /sys/fs/cgroup/berth/pids.max").strip())
        procs = int(g.check("ls -d /proc/[0-9]* | wc -l").strip())
        assert procs < limit, "%d processes on the host, parent limit %d" % (procs, limit)
        # Stopped, then removed (a stop alone lasts until the next boot).
        rc, out = as_admin(g, "berthctl stop bomb")
        assert rc == 0, (rc, out)
        wait_for(lambda: units(g)["bomb"]["state"] in ("inactive", "exited", "failed"), 120, "bomb stopped")
        rc, out = as_admin(g, "berthctl rm bomb")
        assert rc == 0 and "bomb: removed" in out, (rc, out)
    test("fork_bomb_contained", fork_bomb)

    def memory_hog():
        # Scenario 5.
        rc, out = deploy_over_scp(g, tmp, "hog", HOG)
        assert rc == 0, (rc, out)
        wait_for(lambda: units(g)["hog"]["restarts"] >= 1, 120, "hog restarted")
        ev = events(g)
        assert re.search(r"hog: killed by signal 9 \(out of memory: MemoryMax\)", ev), ev[-1500:]
        assert "hog: restarting in" in ev, ev[-1500:]
        rc, out = as_ops(g, "berthctl logs hog")
        assert "[berth] out of memory: the kernel killed" in out, out[-800:]
        now = units(g)
        for n, pid in others.items():
            assert now[n]["state"] == "running" and now[n]["pid"] == pid, (n, now[n], pid)
        avail = int(g.check("awk '/MemAvailable/ {print $2}' /proc/meminfo").strip())
        assert avail > 100 * 1024, "%d KiB available" % avail
        rc, out = as_admin(g, "berthctl stop hog && berthctl rm hog")
        assert rc == 0, (rc, out)
    test("memory_hog_oom_killed_and_restarted", memory_hog)

    def ops_denied():
        # Scenario 6.
        web = units(g)["web"]["pid"]
        rc, out = as_ops(g, "berthctl stop web")
        assert rc == 3 and "permission denied" in out, (rc, out)
        for cmd, want in (("berthctl start web", 3), ("berthctl restart web", 3), ("berthctl reload", 3),
                          ("berthctl deploy /tmp/hello.container", 3), ("berthctl rm hello", 3),
                          ("berthctl poweroff", 3), ("berthctl exec web -- id", 125)):
            rc, out = as_ops(g, cmd)
            assert rc == want and "permission denied" in out, (cmd, rc, out)
        # The denial is in the events log, which operators read through berthd.
        rc, out = as_ops(g, "berthctl logs -n 20 events")
        assert rc == 0 and re.search(r"denied: uid 1001: stop web", out), (rc, out[-800:])
        # The unit store, the logs, the monitors and berthd itself are out of reach.
        for cmd in ("touch /var/lib/berth/units/x.container", "ls /var/lib/berth/units",
                    "cat /var/log/berth/web.log", "ls /run/berth/mon",
                    "kill -HUP $(cat /sys/fs/cgroup/system/berthd/cgroup.procs)"):
            rc, out = as_ops(g, cmd)
            assert rc != 0, (cmd, rc, out)
        assert units(g)["web"]["pid"] == web and units(g)["web"]["state"] == "running"
    test("ops_denied_privileged_verbs", ops_denied)

    def poweroff():
        # Scenario 8: a clean poweroff over SSH.
        rc, out = as_admin(g, "berthctl poweroff")
        assert rc == 0 and "powering off" in out, (rc, out)
        assert g.wait_exit(240) is not None, "QEMU still running after poweroff"
        assert ext4_clean(var), "/var not clean after the poweroff"
    test("poweroff_over_ssh", poweroff)


def boot2(g, tmp):
    def stop_order():
        # Scenario 8, from boot 1's events: reverse order (app before hello),
        # each unit within its TimeoutStopSec (10 s by default), none SIGKILLed.
        ev = events(g)
        start = ev.rindex("\n", 0, ev.index("poweroff requested by uid 1000")) + 1
        lines = ev[start:].splitlines()
        t0 = stamp(lines[0])
        ends = {}
        for line in lines:
            m = re.match(r"^\S+ (\S+): (exited with code|killed by signal) ", line)
            if m and m.group(1) not in ends:
                ends[m.group(1)] = (stamp(line), line)
        for n in DEFAULT_UNITS + ["hello", "app"]:
            assert n in ends, "%s: no end in\n%s" % (n, "\n".join(lines[:40]))
            took = ends[n][0] - t0
            assert took <= 10 + 5, "%s stopped %.1f s after the request" % (n, took)
            assert "stop timeout" not in ends[n][1], ends[n][1]
        assert ends["app"][0] <= ends["hello"][0], (ends["app"], ends["hello"])
        order = [l for l in lines if re.match(r"^\S+ (app|hello): (exited|killed)", l)]
        assert " app: " in order[0], order
        assert "all units stopped; exiting" in ev[start:], ev[start:][-800:]
    test("poweroff_stopped_units_in_reverse_order", stop_order)

    def hello_again():
        # Scenario 2, second half: it runs again, its log from boot 1 kept.
        wait_running(g, ["hello", "app"] + DEFAULT_UNITS)
        out = wait_for(lambda: (lambda o: o if o.count("hello from boot") >= 2 else None)(
            as_ops(g, "berthctl logs hello")[1]), 60, "two boots of hello in its log")
        boots = set(re.findall(r"hello from boot (\S+)", out))
        assert len(boots) == 2, out
    test("deployed_unit_survives_reboot_with_log", hello_again)

    # Scenario 7, the setup: a writer, and deploys in a loop, then the cut.
    for v in ("a", "b"):
        os.makedirs(os.path.join(tmp, v), exist_ok=True)
        with open(os.path.join(tmp, v, "flip.container"), "w") as f:
            f.write(FLIP % v.upper())
        rc, out = scp(g, "admin", os.path.join(tmp, v, "flip.container"), "/tmp/flip-%s.container" % v, KEY)
        assert rc == 0, out
    rc, out = deploy_over_scp(g, tmp, "writer", WRITER)
    assert rc == 0, (rc, out)
    g.check("su admin -s /bin/sh -c 'mkdir -p /tmp/a /tmp/b && cp /tmp/flip-a.container /tmp/a/flip.container"
            " && cp /tmp/flip-b.container /tmp/b/flip.container'")
    g.background("su admin -s /bin/sh -c 'while :; do berthctl deploy /tmp/a/flip.container; "
                 "berthctl deploy /tmp/b/flip.container; done'")
    wait_for(lambda: events(g).count("flip: deployed by uid 1000") >= 6, 180, "six deploys of flip")
    lines = wait_for(lambda: (lambda n: n if n >= 50 else 0)(
        int(g.check("wc -l < /var/lib/berth/volumes/writerdata/lines").strip())), 120, "50 lines written")
    return lines


def boot3(g, var, synced):
    def clean():
        wait_running(g, DEFAULT_UNITS + ["hello", "app", "writer", "flip"], 180)
        text = g.check("cat /var/lib/berth/units/flip.container")
        assert text in (FLIP % "A", FLIP % "B"), repr(text)
        left = g.check("ls -a /var/lib/berth/units").split()
        assert all(f in (".", "..", ".flip.container.tmp") or f.endswith(".container") for f in left), left
        u = units(g)
        assert all(x["state"] == "running" for x in u.values()), {n: x["state"] for n, x in u.items()}
        assert len(u) == len(DEFAULT_UNITS) + 4, sorted(u)
        mons = g.check("cat /sys/fs/cgroup/system/monitors/cgroup.procs").split()
        assert len(mons) == len(u), (mons, sorted(u))
    test("power_cut_boot_clean_deploy_not_torn", clean)

    def volume():
        data = g.check("cat /var/lib/berth/volumes/writerdata/lines")
        rows = data.split("\n")
        whole = rows[:-1] if not data.endswith("\n") or rows[-1] == "" else rows
        whole = [r for r in whole if r]
        # Every complete line in order, and every line synced before the cut.
        # Each run of the writer numbers from 1 (it starts again after the
        # cut, and Restart=always may have started it again before).
        n = 0
        for i, r in enumerate(whole):
            n = 1 if r == "line 1" else n + 1
            assert r == "line %d" % n, (i, r, whole[max(0, i - 3):i + 3])
        assert len(whole) >= synced, "%d lines, %d were synced before the cut" % (len(whole), synced)
    test("power_cut_volume_keeps_synced_lines", volume)

    def off():
        rc, out = as_admin(g, "berthctl poweroff")
        assert rc == 0, (rc, out)
        assert g.wait_exit(240) is not None, "QEMU still running after poweroff"
        assert ext4_clean(var), "/var not clean"
    test("poweroff_after_power_cut_clean", off)


def stamp(line):
    """Seconds of the day of an events.log line."""
    t = line.split()[0]
    return int(t[11:13]) * 3600 + int(t[14:16]) * 60 + float(t[17:23])


def http_get(port, tries=20):
    """GET / from 127.0.0.1:PORT here: the response, or why there is none."""
    import socket
    for i in range(tries):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.settimeout(10)
                s.sendall(b"GET / HTTP/1.0\r\nHost: berth\r\n\r\n")
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                if data or i == tries - 1:
                    return data.decode(errors="replace") or "EOF"
        except OSError as e:
            if i == tries - 1:
                return "error: %s" % e
        time.sleep(1)
    return "no answer"


def main():
    tmp = os.path.join(BUILD, "tests", "system-ops")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    var = os.path.join(tmp, "var.img")
    make_var_disk(var)
    for n, fn in (("1", lambda g: boot1(g, tmp, var)), ("2", lambda g: boot2(g, tmp)), ("3", None)):
        g = Guest(IMAGE, var, tmp, forward=(80, 81))
        try:
            g.wait_shell()
            if n == "3":
                boot3(g, var, main.synced)
            elif n == "2":
                main.synced = fn(g)
                g.kill()  # scenario 7: the power cut
            else:
                fn(g)
        except (GuestError, AssertionError) as e:
            report("ops-boot%s" % n, False, "%s\n%s" % (e, g.console()[-1500:]))
            if n == "2":
                main.synced = 0
        finally:
            g.kill()


if __name__ == "__main__":
    main()
    print("ops: %d passed, %d failed" % (results["pass"], results["fail"]), flush=True)
    sys.exit(1 if results["fail"] else 0)
