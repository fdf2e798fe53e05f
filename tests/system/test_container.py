#!/usr/bin/python3
"""System tests of the container runtime: boot the test image under QEMU and
run containers with berth-run; the probe inside each container tries what must
be forbidden and checks the exact errno. Each probe check is one result here."""
import base64
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "qemu"))
from harness import Guest, GuestError, make_var_disk, poll, report, results, test  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("BUILD", os.path.join(TOP, "build"))
IMG = "/usr/lib/berth/images/probe"
RUN = "berth-run"

def relay_probe(out, minimum, prefix=""):
    """Report each PASS/FAIL line the probe printed; too few lines is a failure."""
    n = 0
    for line in out.splitlines():
        m = re.match(r"^(PASS|FAIL) (\S+)(?:: (.*))?$", line.strip())
        if m:
            n += 1
            report(prefix + m.group(2), m.group(1) == "PASS", m.group(3) or "")
    if n < minimum:
        report(prefix + "probe-ran-all-checks", False,
               "%d checks reported, expected at least %d: %s" % (n, minimum, out[-400:]))


def checks(g):
    hostpid = g.check("cat /proc/1/stat | cut -d' ' -f1").strip()
    # First run allocates the id range; the record persists under /var.
    g.check("%s probe %s /bin/true" % (RUN, IMG))
    base = g.check("cat /var/lib/berth/userns/probe").strip()

    def idrange():
        assert base.isdigit() and int(base) >= 1000000, "base %r" % base
        assert int(base) % 65536 == 1000000 % 65536, "base %s not on a range boundary" % base
        g.check("%s other %s /bin/true" % (RUN, IMG))
        other = g.check("cat /var/lib/berth/userns/other").strip()
        assert other != base and abs(int(other) - int(base)) >= 65536, "%s vs %s" % (other, base)
        g.check("%s probe %s /bin/true" % (RUN, IMG))
        again = g.check("cat /var/lib/berth/userns/probe").strip()
        assert again == base, "range changed across restarts: %s -> %s" % (base, again)
    test("userns-range-allocated-and-kept", idrange)

    rc, out = g.run("%s probe %s /usr/bin/probe container %s %s" % (RUN, IMG, hostpid, base), 120)
    relay_probe(out, 54)
    report("probe-suite-exit-status", rc == 0, "probe exited %d: %s" % (rc, out[-300:]))

    rc, out = g.run("%s --user 1000:1000 probeuser %s /usr/bin/probe user 1000" % (RUN, IMG), 120)
    relay_probe(out, 5)

    def pids_limit():
        rc, out = g.run("%s --pids-limit 10 forker %s /usr/bin/probe fork-until-fail" % (RUN, IMG), 120)
        m = re.search(r"forked (\d+), then (\S+)", out)
        assert m, "no result from the fork probe: %r" % out
        assert m.group(2) == "EAGAIN", "fork failed with %s" % m.group(2)
        assert int(m.group(1)) <= 9, "forked %s processes under pids.max=10" % m.group(1)
        # The host is unaffected.
        assert g.check("sh -c 'echo host-ok'").strip() == "host-ok"
    test("pids-limit-eagain-host-fine", pids_limit)

    def cgroup_and_cleanup():
        g.background("%s sleeper %s /bin/sleep 1000" % (RUN, IMG))
        procs = poll(g, "cat /sys/fs/cgroup/berth/sleeper/cgroup.procs 2>/dev/null",
                     lambda rc, out: rc == 0 and out.strip() != "")
        pid = procs.split()[0]
        assert g.check("cat /sys/fs/cgroup/berth/sleeper/pids.max").strip() == "512"
        inside = g.check("cat /proc/%s/cgroup" % pid).strip()
        assert inside == "0::/berth/sleeper", "container process in %r" % inside
        own = g.check("cat /var/lib/berth/userns/sleeper").strip()
        uid = g.check("awk '/^Uid/ {print $2}' /proc/%s/status" % pid).strip()
        assert uid == own, "container root is host uid %s, not its range's base %s" % (uid, own)
        # A pid namespace's init ignores SIGTERM without a handler, even from
        # outside: SIGKILL (berthd escalates the same way after TimeoutStopSec).
        g.check("kill -9 %s" % pid)
        poll(g, "test -d /sys/fs/cgroup/berth/sleeper && echo present || echo gone",
             lambda rc, out: out.strip() == "gone")
    test("cgroup-placement-and-removal", cgroup_and_cleanup)

    def start_errors():
        rc, out = g.run("%s bad1 %s /nonexistent" % (RUN, IMG))
        assert rc == 1, "exit %d" % rc
        assert "bad1: start failed at execve: execve /nonexistent: No such file or directory" in out, out
        rc, out = g.run("%s bad2 %s/etc /bin/true" % (RUN, IMG))
        assert rc == 1 and "bad2: start failed at mounts: mount point /proc: No such file or directory" in out, out
        left = g.check("ls /sys/fs/cgroup/berth/").split()
        assert "bad1" not in left and "bad2" not in left, "cgroups left behind: %s" % left
        assert g.run("test -e /var/lib/berth/userns/bad1")[0] != 0, "id range kept after a failed first start"
    test("start-failure-reported-nothing-left", start_errors)

    def options():
        out = g.check("%s opt %s /bin/sh -c 'hostname; grep -E \"^(Seccomp|CapBnd):\" /proc/self/status'"
                      % (RUN, IMG))
        assert out.split()[0] == "opt", out
        out = g.check("%s --seccomp unconfined --cap-add NET_RAW --cap-drop CHOWN opt %s "
                      "/bin/sh -c 'grep -E \"^(Seccomp|CapBnd):\" /proc/self/status'" % (RUN, IMG))
        assert re.search(r"Seccomp:\s+0", out), out
        assert re.search(r"CapBnd:\s+00000000800425fa", out), out
    test("options-hostname-seccomp-caps", options)

    def readonly_on_ext4():
        # On the erofs root every image is read-only anyway: an image on /var
        # (ext4, writable) shows that the runtime itself makes the root read-only,
        # and that idmapping works there too.
        g.check("cp -a %s /var/lib/img-rw" % IMG)
        out = g.check("%s rwimg /var/lib/img-rw /usr/bin/probe write /berth-probe" % RUN).strip()
        assert out == "EROFS", "write to an image on ext4: %s" % out
        out = g.check("%s rwimg /var/lib/img-rw /bin/stat -c %%u:%%g /bin/busybox" % RUN).strip()
        assert out == "0:0", "image files on ext4 owned by %s inside" % out
    test("readonly-root-on-writable-fs", readonly_on_ext4)

    def read_write_overlay():
        out = g.check("%s --read-write rw %s /bin/sh -c 'echo hi > /etc/new && cat /etc/new && "
                      "/usr/bin/probe write /bin/x'" % (RUN, IMG)).split()
        assert out == ["hi", "OK"], "writes in a --read-write container: %s" % out
        out = g.check("%s --read-write rw %s /bin/sh -c 'test -e /etc/new && echo kept || echo gone'"
                      % (RUN, IMG)).strip()
        assert out == "gone", "overlay writes survived the container: %s" % out
        assert g.run("test -e %s/etc/new" % IMG)[0] != 0, "the write reached the image"
        out = g.check("%s --read-write rw %s /bin/stat -c %%u:%%g /bin/busybox" % (RUN, IMG)).strip()
        assert out == "0:0", "image files under the overlay owned by %s" % out
    test("read-write-overlay-is-private", read_write_overlay)

    def explicit_maps():
        out = g.check("%s --uidmap 0:2000000:1000 --uidmap 1000:3000000:1 maps %s "
                      "/bin/sh -c 'cat /proc/self/uid_map /proc/self/gid_map'" % (RUN, IMG))
        lines = [" ".join(l.split()) for l in out.splitlines()]
        assert lines == ["0 2000000 1000", "1000 3000000 1"] * 2, lines
        assert g.run("test -e /var/lib/berth/userns/maps")[0] != 0, "explicit maps allocated a range"
        rc, out = g.run("%s --uidmap 0:0:10 rootmap %s /bin/true" % (RUN, IMG))
        assert rc == 1 and "maps host root into the container" in out, (rc, out)
    test("explicit-uidmap-gidmap", explicit_maps)

    profiles = "/usr/lib/berth/test-profiles"

    def json_profile_conditions():
        def fs(extra, op, path):
            return g.check("%s %s --seccomp %s/conditional.json jp %s /usr/bin/probe fs %s %s"
                           % (RUN, extra, profiles, IMG, op, path)).strip()
        assert fs("", "mkdir", "/tmp/d") == "EACCES", "errnoRet 13 rule not applied"
        assert fs("--cap-add NET_ADMIN", "mkdir", "/tmp/d") == "OK", "excludes.caps ignored"
        assert fs("", "chmod", "/tmp") == "OK", "includes.minKernel 99.0 applied on 6.1"
        assert fs("", "rmdir", "/tmp/none") == "ENOENT", "an arm64-only rule applied on amd64"
    test("seccomp-json-profile-conditions", json_profile_conditions)

    def json_profile_errors():
        cases = {
            "bad-json.json": "not valid JSON",
            "bad-action.json": "syscalls[0]: action: unknown or unsupported action, or a bad "
                               "errnoRet: SCMP_ACT_NOTIFY",
            "bad-arg.json": "syscalls[1]: args: each needs index 0..5 and whole values",
            "bad-number.json": "syscalls[0]: args: each needs index 0..5 and whole values",
            "bad-caps.json": "syscalls[0]: includes/excludes: expected an array for caps",
            "bad-default.json": "defaultAction: missing, unknown or unsupported",
            "missing.json": "No such file or directory",
        }
        for name, want in cases.items():
            rc, out = g.run("%s --seccomp %s/%s jbad %s /bin/true" % (RUN, profiles, name, IMG))
            assert rc == 1 and want in out and "%s/%s" % (profiles, name) in out, (name, rc, out)
        assert "jbad" not in g.check("ls /sys/fs/cgroup/berth/").split(), "cgroup left by a bad profile"
    test("seccomp-json-profile-errors", json_profile_errors)

    def docker_json():
        # Docker's own profile, loaded through the JSON path, must give the probe
        # the same answers as the built-in default. It is reference data that
        # must not ship in an image, so it is copied into the running guest.
        ref = os.path.join(TOP, "..", "shared", "reference", "docker-seccomp-default.json")
        if not os.path.exists(ref):
            print("SKIP seccomp-docker-json-probe: %s not found" % ref, flush=True)
            return
        with open(ref, "rb") as f:
            data = base64.b64encode(f.read()).decode()
        g.check("rm -f /tmp/docker.b64")
        for i in range(0, len(data), 3800):
            g.check("echo %s >> /tmp/docker.b64" % data[i:i + 3800])
        g.check("base64 -d /tmp/docker.b64 > /tmp/docker.json")
        rc, out = g.run("%s --seccomp /tmp/docker.json -e PROBE_SECCOMP=docker-json probe %s /usr/bin/probe container %s %s"
                        % (RUN, IMG, hostpid, base), 120)
        relay_probe(out, 54, prefix="docker-json-")
    docker_json()

    def clone_fallback():
        # Without clone3 the parent moves the child into its cgroup before the
        # child runs anything: the same confinement, the same probe answers.
        rc, out = g.run("BERTH_TEST_CLONE_FALLBACK=1 %s --pids-limit 10 fb %s /bin/sh -c "
                        "'cat /proc/self/cgroup; /usr/bin/probe fork-until-fail'" % (RUN, IMG), 120)
        assert rc == 0 and out.splitlines()[0] == "0::/", (rc, out)
        m = re.search(r"forked (\d+), then (\S+)", out)
        assert m and m.group(2) == "EAGAIN" and int(m.group(1)) <= 9, out
        rc, out = g.run("BERTH_TEST_CLONE_FALLBACK=1 %s fb %s /usr/bin/probe container %s" % (RUN, IMG, hostpid), 120)
        assert rc == 0, out[-600:]
    test("clone-fallback-same-confinement", clone_fallback)

    def memory_limit():
        # 64 MiB into a tmpfs under memory.max=32M: the kernel kills it (tmpfs
        # pages are charged to the writer's cgroup); the host goes on.
        rc, out = g.run("%s --memory-max 33554432 mem %s /bin/sh -c "
                        "'dd if=/dev/zero of=/tmp/fill bs=1M count=64 2>&1; echo survived'" % (RUN, IMG), 120)
        assert "Killed" in out and "64+0 records out" not in out, \
            "64 MiB written under memory.max=32M: %r" % out
        assert g.check("echo host-ok").strip() == "host-ok"
    test("memory-limit-enforced", memory_limit)

    def cpu_limit():
        # 10 ms per 100 ms: a busy loop must be throttled (a count, not a timing).
        out = g.check("%s --cpu-quota 10000 cpu %s /bin/sh -c 'cat /sys/fs/cgroup/cpu.max; "
                      "timeout 1 sh -c \"while :; do :; done\"; grep nr_throttled /sys/fs/cgroup/cpu.stat'"
                      % (RUN, IMG), 120)
        assert out.split()[:2] == ["10000", "100000"], "cpu.max inside: %r" % out
        m = re.search(r"nr_throttled (\d+)", out)
        assert m and int(m.group(1)) > 0, "busy loop never throttled: %r" % out
    test("cpu-limit-enforced", cpu_limit)

    def sys_admin_refused():
        rc, out = g.run("%s --cap-add SYS_ADMIN sa %s /bin/true" % (RUN, IMG))
        assert rc == 1 and "CAP_SYS_ADMIN is refused" in out, (rc, out)
        rc, out = g.run("%s --cap-add ALL sa %s /bin/true" % (RUN, IMG))
        assert rc == 1 and "CAP_SYS_ADMIN is refused" in out, (rc, out)
    test("cap-sys-admin-refused", sys_admin_refused)

    def volume_targets_refused():
        rc, out = g.run("%s -v /var/lib/voltest:/proc/x vt %s /bin/true" % (RUN, IMG))
        assert rc == 1 and "volume target /proc/x is under /proc" in out, (rc, out)
    test("volume-under-proc-refused", volume_targets_refused)

    def after_shell_restart():
        # The debug shell's restart makes PID 1 kill what it left in its cgroup.
        # Processes of that cgroup must still be able to start containers (on 6.1,
        # after a cgroup.kill they could not: clone3 into a cgroup was SIGKILLed).
        g.background("sleep 1000")
        g.restart_shell()
        out = g.check("%s again %s /bin/sh -c 'echo inside'" % (RUN, IMG)).strip()
        assert out == "inside", out
    test("containers-start-after-shell-restart", after_shell_restart)

    def bad_options():
        rc, out = g.run("%s --pids-limit lots x %s /bin/true" % (RUN, IMG))
        assert rc == 2 and "invalid value for --pids-limit: lots" in out, (rc, out)
        rc, out = g.run("%s --cap-add CAP_NOPE x %s /bin/true" % (RUN, IMG))
        assert rc == 2 and "invalid value for --cap-add: CAP_NOPE" in out, (rc, out)
        for bad in ("-v /a::/b", "-v /a:/b:rw:junk", "-v /a", "--pool -1:65536", "--pool 5:10",
                    "--uidmap 0:1:2:3"):
            rc, out = g.run("%s %s x %s /bin/true" % (RUN, bad, IMG))
            assert rc == 2 and "invalid value for --" in out, (bad, rc, out)
        rc, out = g.run("%s ../x %s /bin/true" % (RUN, IMG))
        assert rc == 2 and "invalid container name" in out, (rc, out)
        assert g.run("test -e /var/lib/berth/userns/x")[0] != 0, "a rejected start allocated ids"
    test("bad-options-rejected", bad_options)

    def minimal_dev():
        out = g.check("%s dev %s /bin/ls -A /dev" % (RUN, IMG)).split()
        want = ["fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin",
                "stdout", "tty", "urandom", "zero"]
        assert sorted(out) == want, "container /dev: %s" % sorted(out)
        opts = g.check("%s dev %s /bin/sh -c \"awk '\\$2 == \\\"/dev\\\" {print \\$4}' /proc/mounts\""
                       % (RUN, IMG)).strip().split(",")
        assert {"nosuid", "noexec"} <= set(opts), "/dev options %s" % opts
    test("minimal-dev", minimal_dev)

    def volumes():
        g.check("mkdir -p /var/lib/voltest && echo data > /var/lib/voltest/f && chown -R %s:%s /var/lib/voltest"
                % (base, base))
        out = g.check("%s -v /var/lib/voltest:/mnt probe %s /usr/bin/probe write /mnt/f" % (RUN, IMG)).strip()
        assert out == "EROFS", "read-only volume write: %s" % out
        out = g.check("%s -v /var/lib/voltest:/mnt:rw probe %s /usr/bin/probe write /mnt/g" % (RUN, IMG)).strip()
        assert out == "OK", "rw volume write: %s" % out
        opts = g.check("%s -v /var/lib/voltest:/mnt probe %s /bin/sh -c \"awk '\\$2 == \\\"/mnt\\\" "
                       "{print \\$4}' /proc/mounts\"" % (RUN, IMG)).strip().split(",")
        assert {"ro", "nosuid", "nodev"} <= set(opts), "volume mount options %s" % opts
        # A read-only volume is read-only all the way down, submounts included.
        g.check("mkdir -p /var/lib/voltest/sub && mount -t tmpfs -o mode=0777 sub /var/lib/voltest/sub")
        out = g.check("%s -v /var/lib/voltest:/mnt probe %s /usr/bin/probe write /mnt/sub/f" % (RUN, IMG)).strip()
        g.check("umount /var/lib/voltest/sub")
        assert out == "EROFS", "write below a submount of a read-only volume: %s" % out
        # A source reached through a symlink is refused; a noexec host source works.
        g.check("ln -sfn / /var/lib/vol-link")
        rc, out = g.run("%s -v /var/lib/vol-link:/mnt probe %s /bin/true" % (RUN, IMG))
        assert rc == 1 and "source /var/lib/vol-link: Symbolic link loop" in out, (rc, out)
        g.check("mkdir -p /tmp/vx && chown %s:%s /tmp/vx" % (base, base))
        out = g.check("%s -v /tmp/vx:/mnt:rw probe %s /usr/bin/probe write /mnt/f" % (RUN, IMG)).strip()
        assert out == "OK", "volume from the host's noexec /tmp: %s" % out
        owner = g.check("stat -c %u /var/lib/voltest/g").strip()
        assert owner == base, "file written by container root owned by %s on the host" % owner
    test("volumes-ro-default-rw-on-request", volumes)


def main():
    tmp = os.path.join(BUILD, "tests", "system-container")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    var = os.path.join(tmp, "var.img")
    make_var_disk(var)
    g = Guest(os.path.join(BUILD, "test-image"), var, tmp)
    try:
        g.wait_shell()
        checks(g)
    except GuestError as e:
        report("container-guest", False, "%s\n%s" % (e, g.console()[-1500:]))
    finally:
        g.kill()


if __name__ == "__main__":
    main()
    print("container: %d passed, %d failed" % (results["pass"], results["fail"]), flush=True)
    sys.exit(1 if results["fail"] else 0)
