#!/usr/bin/python3
"""System tests of container networking (issue 6, docs/networking.md): boot
the test image with two guest ports forwarded from 127.0.0.1 here, deploy
units on the bridge, and check from inside the containers (probe connect,
links) and from this host what reaches what. All traffic stays inside the
guest or on 127.0.0.1 of this host."""
import json
import os
import shutil
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "qemu"))
from harness import Guest, make_var_disk, poll, report, results, test  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("BUILD", os.path.join(TOP, "build"))
GATEWAY = "10.88.0.1"
PUBLISHED, UNPUBLISHED = 9000, 7000  # guest ports: a publishes 9000 -> its 7000


def serve(text, extra=""):
    return """[Container]
Image=probe
Exec=/usr/bin/probe serve 7000 %s
%s
[Service]
Restart=always
RestartSec=100ms
""" % (text, extra)


UNITS = {
    "a": serve("from-a", "PublishPort=%d:7000" % PUBLISHED),
    "b": serve("from-b", "IPAddress=10.88.0.50"),
    "iso": serve("from-iso", "NetworkIsolation=yes"),
    "loner": serve("from-loner", "Network=none"),
    "side": """[Container]
Image=probe
Exec=/bin/sleep 100000
Network=container:a
""",
}


def deploy(g, name, text, want_rc=0):
    g.check("cat > /tmp/%s.container <<'BERTH_EOF'\n%sBERTH_EOF" % (name, text))
    rc, out = g.run("berthctl deploy /tmp/%s.container" % name)
    assert rc == want_rc, (rc, out)
    return out


def wait_running(g, name, timeout=90):
    def ok(rc, out):
        return rc == 0 and json.loads(out)[0]["state"] == "running"
    return json.loads(poll(g, "berthctl --json status %s" % name, ok, timeout))[0]


def probe(g, unit, *args):
    rc, out = g.run("berthctl exec %s /usr/bin/probe %s" % (unit, " ".join(args)), timeout=60)
    return out.strip()


def expect(g, unit, want, *args):
    """probe ARGS in UNIT gives WANT. A success is waited for (30 s at most: a
    server just started may not listen yet); a refusal must hold at once."""
    deadline = time.monotonic() + (30 if want.startswith("OK") else 0)
    while True:
        got = probe(g, unit, *args)
        if got == want or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert got == want, "%s: probe %s: got %r, want %r" % (unit, " ".join(args), got, want)


def from_here(port, timeout=20):
    """Connect to 127.0.0.1:PORT (QEMU's forward into the guest); the first line, or why not."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.settimeout(5)
                data = s.recv(256)
                return data.decode(errors="replace").strip() or "EOF"
        except OSError as e:
            if time.monotonic() > deadline:
                return "error: %s" % e
            time.sleep(0.5)


def links(g):
    return sorted(g.check("ls /sys/class/net").split())


def run(g):
    poll(g, "berthctl list", lambda rc, out: rc == 0, 60)

    def bridge_up():
        out = g.check("cat /sys/class/net/berth0/operstate /proc/sys/net/ipv4/ip_forward")
        assert out.split()[1] == "1", out
        assert "network: bridge berth0, 10.88.0.1/16" in g.check("cat /var/log/berth/events.log")
    test("net_bridge_and_forwarding", bridge_up)

    for name in ["a", "b", "iso", "loner", "side"]:
        deploy(g, name, UNITS[name])
    for name in UNITS:
        wait_running(g, name)

    def by_name_and_address():
        expect(g, "a", "OK from-b", "connect", "b", "7000")
        expect(g, "a", "OK from-b", "connect", "10.88.0.50", "7000")
        expect(g, "b", "OK from-a", "connect", "a", "7000")
        ip_a = json.loads(g.check("berthctl --json inspect a"))["network"]["address"]
        expect(g, "b", "OK from-a", "connect", ip_a, "7000")
        hosts = g.check("berthctl exec b /bin/cat /etc/hosts")
        assert "10.88.0.50\tb\n" in hosts and "%s\ta\n" % ip_a in hosts, hosts
        assert "iso" not in hosts.replace("# b's", ""), hosts  # isolated units are nobody's peers
        links_a = probe(g, "a", "links").splitlines()
        assert links_a == ["lo 127.0.0.1", "eth0 %s" % ip_a], links_a
        # The MAC the port rules let through: 0a:58 and the address.
        mac = g.check("berthctl exec b /bin/cat /sys/class/net/eth0/address").strip()
        assert mac == "0a:58:0a:58:00:32", mac
        # And the container cannot change it (no CAP_NET_ADMIN by default).
        rc, out = g.run("berthctl exec b /sbin/ip link set eth0 address 0a:58:0a:58:00:02")
        assert rc != 0 and "Operation not permitted" in out, (rc, out)
    test("net_peers_by_name_and_address", by_name_and_address)

    def none_has_only_lo():
        got = probe(g, "loner", "links").splitlines()
        assert got == ["lo 127.0.0.1"], got
        expect(g, "loner", "ENETUNREACH", "connect", "10.88.0.50", "7000", "2000")
        expect(g, "loner", "OK from-loner", "connect", "127.0.0.1", "7000")
    test("net_none_sees_only_lo", none_has_only_lo)

    def joined_stack():
        # side is in a's stack: a's server on its loopback, a's address.
        expect(g, "side", "OK from-a", "connect", "127.0.0.1", "7000")
        ip_a = json.loads(g.check("berthctl --json inspect a"))["network"]["address"]
        got = probe(g, "side", "links").splitlines()
        assert got == ["lo 127.0.0.1", "eth0 %s" % ip_a], got
    test("net_container_joins_stack", joined_stack)

    def isolated():
        ip_iso = json.loads(g.check("berthctl --json inspect iso"))["network"]["address"]
        expect(g, "iso", "ETIMEDOUT", "connect", "10.88.0.50", "7000", "2000")
        got = probe(g, "iso", "connect", "b", "7000", "2000")
        assert got.startswith("NONAME"), got
        expect(g, "b", "ETIMEDOUT", "connect", ip_iso, "7000", "2000")
        # Not even through the host's published port.
        expect(g, "iso", "ETIMEDOUT", "connect", GATEWAY, str(PUBLISHED), "2000")
        # Its own server still works, and so does everybody else's.
        expect(g, "iso", "OK from-iso", "connect", "127.0.0.1", "7000")
    test("net_isolated_cut_off", isolated)

    def host_services_closed():
        # SSH on the host, through the bridge: dropped (nothing is published there).
        expect(g, "b", "ETIMEDOUT", "connect", GATEWAY, "22", "2000")
        # A published port through the host: reaches a (hairpin).
        expect(g, "b", "OK from-a", "connect", GATEWAY, str(PUBLISHED))
    test("net_host_only_published", host_services_closed)

    def from_build_host():
        assert from_here(g.fwd[PUBLISHED]) == "from-a", from_here(g.fwd[PUBLISHED])
        # The container port itself is not published on the host: no answer.
        got = from_here(g.fwd[UNPUBLISHED], timeout=3)
        assert not got.startswith("from-"), got
    test("net_published_port_from_build_host", from_build_host)

    def rules_survive_berthd_restart():
        # berthd killed: the containers run on, and the berthd PID 1 starts
        # again rebuilds the rules from each run's record (/run/berth/net),
        # so isolation and published ports hold before and after.
        pids = {n: wait_running(g, n)["pid"] for n in ("a", "iso", "b")}
        berthd = g.check("cat /sys/fs/cgroup/system/berthd/cgroup.procs").strip()
        g.check("test -s /run/berth/net/iso/run && kill -9 %s" % berthd)
        poll(g, "grep -c 'iso: re-adopted its container' /var/log/berth/events.log",
             lambda rc, out: rc == 0 and out.strip() == "1", 90)
        for n, pid in pids.items():
            assert wait_running(g, n)["pid"] == pid, n
        expect(g, "b", "ETIMEDOUT", "connect", json.loads(g.check("berthctl --json inspect iso"))["network"]["address"],
               "7000", "2000")
        expect(g, "iso", "ETIMEDOUT", "connect", "10.88.0.50", "7000", "2000")
        assert from_here(g.fwd[PUBLISHED]) == "from-a", from_here(g.fwd[PUBLISHED])
        expect(g, "b", "ETIMEDOUT", "connect", GATEWAY, "22", "2000")
    test("net_rules_survive_berthd_restart", rules_survive_berthd_restart)

    def restarts_leave_nothing():
        before = links(g)
        local = "grep -c '/32 host LOCAL' /proc/net/fib_trie"
        addrs_before = g.check(local)
        ip_a = json.loads(g.check("berthctl --json inspect a"))["network"]["address"]
        for i in range(20):
            pid = wait_running(g, "b")["pid"]
            g.check("berthctl restart b")
            poll(g, "berthctl --json status b",
                 lambda rc, out: rc == 0 and json.loads(out)[0]["state"] == "running"
                 and json.loads(out)[0]["pid"] != pid, 90)
        expect(g, "a", "OK from-b", "connect", "b", "7000")
        after = links(g)
        assert after == before, (before, after)
        bv = [x for x in after if x.startswith("bv")]
        assert len(bv) == 3, after  # a, b, iso (loner has none; side is in a's)
        assert g.check(local) == addrs_before, (addrs_before, g.check(local))
        assert json.loads(g.check("berthctl --json inspect a"))["network"]["address"] == ip_a
        # Allocated addresses are on record; b's is fixed (IPAddress=).
        recs = sorted(g.check("ls /var/lib/berth/network").split())
        assert recs == ["a", "iso"], recs
    test("net_20_restarts_leave_no_veth", restarts_leave_nothing)

    def stop_tears_down():
        g.check("berthctl stop a")  # side requires a: it stops too
        poll(g, "berthctl --json status side",
             lambda rc, out: rc == 0 and json.loads(out)[0]["state"] == "inactive", 60)
        ip_a = json.loads(g.check("berthctl --json inspect a"))["network"]["address"]
        link = "bv%08x" % int.from_bytes(socket.inet_aton(ip_a), "big")
        poll(g, "ls /sys/class/net", lambda rc, out: rc == 0 and link not in out.split(), 30)
        got = probe(g, "b", "connect", GATEWAY, str(PUBLISHED), "2000")
        assert got in ("ETIMEDOUT", "ECONNREFUSED"), got
        g.check("berthctl start side")  # pulls a in again
        wait_running(g, "a")
        wait_running(g, "side")
        expect(g, "side", "OK from-a", "connect", "127.0.0.1", "7000")
    test("net_stop_tears_down", stop_tears_down)

    def joiner_follows_a_crash():
        # a dies (SIGKILL) and restarts by policy; side, in a's old stack,
        # restarts with it and is in the new one.
        side_pid = wait_running(g, "side")["pid"]
        a_pid = wait_running(g, "a")["pid"]
        g.check("kill -9 %d" % a_pid)
        poll(g, "berthctl --json status side", lambda rc, out: rc == 0 and json.loads(out)[0]["state"] == "running"
             and json.loads(out)[0]["pid"] not in (0, side_pid), 90)
        assert wait_running(g, "a")["pid"] != a_pid
        expect(g, "side", "OK from-a", "connect", "127.0.0.1", "7000")
        assert "side: restarting: the network it joined (a) ended" in g.check("cat /var/log/berth/events.log")
    test("net_joiner_restarts_with_its_network", joiner_follows_a_crash)

    def bad_keys_are_file_line_errors():
        units_before = g.check("ls -l --full-time /var/lib/berth/units; berthctl list")
        out = deploy(g, "bad", "[Container]\nImage=probe\nExec=/bin/true\nPublishPort=%d:80\n" % PUBLISHED,
                     want_rc=1)
        assert "bad.container:4: PublishPort=%d:80/tcp: host port %d/tcp is already published by " \
            "/var/lib/berth/units/a.container:4" % (PUBLISHED, PUBLISHED) in out, out
        out = deploy(g, "bad", "[Container]\nImage=probe\nExec=/bin/true\nPublishPort=80\n", want_rc=1)
        assert "/tmp/bad.container:4: PublishPort=80: '80' has no host port" in out, out
        out = deploy(g, "bad", "[Container]\nImage=probe\nExec=/bin/true\nIPAddress=10.88.0.300\n", want_rc=1)
        assert "/tmp/bad.container:4: IPAddress=10.88.0.300:" in out, out
        out = deploy(g, "bad", "[Container]\nImage=probe\nExec=/bin/true\nIPAddress=10.88.0.50\n", want_rc=1)
        assert "bad.container:4:" in out and "b.container" in out, out
        assert g.check("ls -l --full-time /var/lib/berth/units; berthctl list") == units_before
    test("net_bad_keys_file_line", bad_keys_are_file_line_errors)


def main():
    tmp = os.path.join(BUILD, "tests", "system-net")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    var = os.path.join(tmp, "var.img")
    make_var_disk(var)
    g = Guest(os.path.join(BUILD, "test-image"), var, tmp, forward=(PUBLISHED, UNPUBLISHED))
    try:
        g.wait_shell()
        run(g)
    except Exception as e:  # noqa: BLE001 - a boot or harness failure is one failure
        report("net_boot", False, "%s: %s" % (type(e).__name__, e))
    finally:
        g.kill()


if __name__ == "__main__":
    main()
    print("net: %d passed, %d failed" % (results["pass"], results["fail"]), flush=True)
    sys.exit(1 if results["fail"] else 0)
