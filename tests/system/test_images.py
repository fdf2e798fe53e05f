#!/usr/bin/python3
"""System tests of the image store and image trust (issue 8, docs/images.md,
docs/trust.md) in the appliance: archives made here (tests/images/mkarchive.py)
and signed with berth-sign under the test image's root key (build/trust) are
imported over SSH by admin (`berthctl image import -`), then run as units from
their image config's defaults; ops may list but not import; an unsigned image
is refused ([trust] RequireSignedImages=yes ships on); an image in use cannot
be removed; a key revoked after import can no longer start its image."""
import json
import os
import shutil
import subprocess
import sys
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "qemu"))
sys.path.insert(0, os.path.join(TOP, "tests", "images"))
from harness import Guest, make_var_disk, poll, report, results, ssh, test  # noqa: E402
import mkarchive as mk  # noqa: E402

BUILD = os.environ.get("BUILD", os.path.join(TOP, "build"))
KEY = os.path.join(BUILD, "ssh", "id_ed25519")
SIGN = os.path.join(BUILD, "supervisor", "berth-sign")
ROOT_KEY = os.path.join(BUILD, "trust", "root.key")
BUSYBOX = os.path.join(BUILD, "deps", "busybox", "bin", "busybox")


def import_as(g, user, path, timeout=300):
    """berthctl image import - as USER over SSH, the archive on its stdin."""
    cmd = ["ssh", "-i", KEY, "-p", str(g.ssh_port), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
           "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=30",
           "%s@127.0.0.1" % user, "berthctl image import -"]
    with open(path, "rb") as f:
        p = subprocess.run(cmd, stdin=f, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def berth_sign(*args):
    p = subprocess.run([SIGN, *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("berth-sign %s: %s" % (args[0], p.stderr.strip()))
    return p.stdout


def make_archives(tmp):
    """Signed OCI (two layers) and docker-save archives, an unsigned one, and
    the delegation that revokes the first publisher key."""
    keys = os.path.join(tmp, "keys")
    os.makedirs(keys)
    for k in ("pub-a", "pub-b"):
        subprocess.run([SIGN, "keygen", k], cwd=keys, check=True, capture_output=True)
    d1 = os.path.join(keys, "delegation-1")
    berth_sign("delegate", "--root", ROOT_KEY, "--version", "1", "--expires", "30d",
               "--key", os.path.join(keys, "pub-a.pub") + "=demo/*", "-o", d1)
    d2 = os.path.join(keys, "delegation-2")
    berth_sign("delegate", "--root", ROOT_KEY, "--version", "2", "--expires", "30d",
               "--key", os.path.join(keys, "pub-b.pub") + "=demo/*", "-o", d2)
    layers = mk.busybox_layers(BUSYBOX, "the-oci-image")
    out = {}
    arch, digest = mk.oci(layers, ref=None, cmd=["/srv/run.sh"], env=["GREETING=hello-oci"])
    out["oci"] = os.path.join(tmp, "web.tar")
    with open(out["oci"], "wb") as f:
        f.write(arch)
    berth_sign("sign", "--key", os.path.join(keys, "pub-a.key"), "--delegation", d1, "--name", "demo/web",
               "--tag", "1", "--version", "1", "--expires", "30d", out["oci"])
    legacy_layers = mk.busybox_layers(BUSYBOX, "the-docker-image")
    arch, ldigest = mk.docker_save(legacy_layers, tags=("demo/legacy:1",), cmd=["/srv/run.sh"],
                                   env=["GREETING=hello-docker"])
    out["docker"] = os.path.join(tmp, "legacy.tar")
    with open(out["docker"], "wb") as f:
        f.write(arch)
    berth_sign("sign", "--key", os.path.join(keys, "pub-a.key"), "--delegation", d1, "--name", "demo/legacy",
               "--tag", "1", "--version", "1", "--expires", "30d", out["docker"])
    out["unsigned"] = os.path.join(tmp, "unsigned.tar")
    with open(out["unsigned"], "wb") as f:
        f.write(mk.oci(layers, ref="demo/unsigned:1", cmd=["/srv/run.sh"])[0])
    out["revoke"] = d2
    return out, digest, ldigest


def deploy(g, name, text):
    g.check("cat > /tmp/%s.container <<'BERTH_EOF'\n%sBERTH_EOF" % (name, text))
    return g.run("berthctl deploy /tmp/%s.container" % name, timeout=120)


def wait_log(g, unit, text, timeout=120):
    return poll(g, "berthctl logs %s" % unit, lambda rc, out: rc == 0 and text in out, timeout)


def run(g, tmp):
    arch, digest, ldigest = make_archives(tmp)
    # SSH is up once a login answers (host keys are made at the first connection).
    deadline = time.monotonic() + 180
    while ssh(g, "ops", "true", KEY, 60)[0] != 0:
        assert time.monotonic() < deadline, "no SSH login within 180 s"
        time.sleep(1)

    def sandbox_on_this_kernel():
        # The import sandbox tried from inside on the appliance's own kernel:
        # each forbidden thing must get its errno (tests/unit/test-images has the list).
        out = g.check("/usr/libexec/berth/berth-image --uid-base 3000000000 sandbox-check")
        for probe in ("socket-inet EPERM", "read-host-file ENOENT", "proc-absent ENOENT", "write-root EROFS",
                      "write-dotdot EROFS", "mount EPERM", "unshare EPERM", "fork EPERM", "execve EPERM",
                      "ptrace EPERM", "kill EPERM", "chown-unmapped EINVAL", "write-staging allowed"):
            name, want = probe.split()
            assert any(line.split()[:3] == ["ok", name, want] for line in out.splitlines()), (probe, out)
    test("images_sandbox_refuses_from_inside", sandbox_on_this_kernel)

    def ops_cannot_import():
        rc, out = import_as(g, "ops", arch["oci"])
        assert rc == 3 and "permission denied" in out, (rc, out)
    test("images_ops_cannot_import", ops_cannot_import)

    def admin_imports_oci():
        rc, out = import_as(g, "admin", arch["oci"])
        assert rc == 0 and "imported demo/web:1" in out and digest in out and "version 1" in out, (rc, out)
    test("images_import_oci_signed", admin_imports_oci)

    def admin_imports_docker():
        rc, out = import_as(g, "admin", arch["docker"])
        assert rc == 0 and "imported demo/legacy:1" in out and "docker-save" in out, (rc, out)
    test("images_import_docker_save_signed", admin_imports_docker)

    def unsigned_refused():
        rc, out = import_as(g, "admin", arch["unsigned"])
        assert rc == 1 and "unsigned image refused" in out, (rc, out)
        left = g.check("ls -A /var/lib/berth/images/tmp; ls /var/lib/berth/images/tags")
        assert "demo%unsigned" not in left and "import." not in left, left
    test("images_unsigned_refused", unsigned_refused)

    def ops_lists():
        rc, out = ssh(g, "ops", "berthctl image ls", KEY)
        assert rc == 0 and "demo/web:1" in out and "demo/legacy:1" in out, (rc, out)
    test("images_ops_can_list", ops_lists)

    def runs_from_config():
        rc, out = deploy(g, "web", "[Container]\nImage=demo/web:1\n")
        assert rc == 0, out
        wait_log(g, "web", "hello-oci from the-oci-image as 0")
        logs = g.check("berthctl logs web")
        assert "WHITEOUT-FAILED" not in logs, logs
    test("images_oci_unit_runs_with_image_defaults", runs_from_config)

    def runs_by_digest():
        rc, out = deploy(g, "legacy", "[Container]\nImage=demo/legacy@%s\nUser=app\n" % ldigest)
        assert rc == 0, out
        wait_log(g, "legacy", "hello-docker from the-docker-image as 1000")
    test("images_docker_save_unit_runs_by_digest", runs_by_digest)

    def rootfs_read_only():
        rc, out = g.run("berthctl exec web -- /bin/sh -c 'echo x > /etc/marker'")
        assert rc != 0 and "Read-only file system" in out, (rc, out)
    test("images_rootfs_read_only", rootfs_read_only)

    def rm_in_use():
        rc, out = g.run("berthctl image rm demo/web:1")
        assert rc == 1 and "tag demo/web:1 is named by unit web" in out, (rc, out)
        rc, out = g.run("berthctl image rm %s" % digest)
        assert rc == 1 and "is used by unit web" in out, (rc, out)
        g.check("berthctl image inspect demo/web:1")
    test("images_rm_in_use_refused", rm_in_use)

    def revoked_key_cannot_start():
        g.check("cat > /tmp/d2 <<'BERTH_EOF'\n%sBERTH_EOF" % open(arch["revoke"]).read())
        out = g.check("berthctl trust update /tmp/d2")
        assert "version 2" in out, out
        g.run("berthctl restart web", timeout=120)
        st = json.loads(poll(g, "berthctl --json status web",
                             lambda rc, o: rc == 0 and "does not delegate" in o, 120))[0]
        assert st["state"] != "running", st
    test("images_revoked_key_refused_at_start", revoked_key_cannot_start)

    def rm_and_prune():
        g.check("berthctl rm web", timeout=120)
        g.check("berthctl rm legacy", timeout=120)
        for u in ("web", "legacy"):  # stopped, then forgotten: no longer using the image
            poll(g, "berthctl status %s" % u, lambda rc, out: rc == 4, 120)
        out = g.check("berthctl image rm demo/web:1 demo/legacy:1")
        assert "2 images" in out, out
        g.check("berthctl image prune")
        for d in ("blobs/sha256", "rootfs", "images", "tags", "tmp"):
            n = g.check("ls -A /var/lib/berth/images/%s | wc -l" % d).strip()
            assert n == "0", (d, n)
    test("images_rm_and_prune", rm_and_prune)


def main():
    tmp = os.path.join(BUILD, "tests", "system-images")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    var = os.path.join(tmp, "var.img")
    make_var_disk(var)
    g = Guest(os.path.join(BUILD, "test-image"), var, tmp)
    try:
        g.wait_shell()
        run(g, tmp)
    except Exception as e:  # noqa: BLE001 - a boot or harness failure is one failure
        report("images_boot", False, "%s: %s" % (type(e).__name__, e))
    finally:
        g.kill()


if __name__ == "__main__":
    main()
    print("images: %d passed, %d failed" % (results["pass"], results["fail"]), flush=True)
    sys.exit(1 if results["fail"] else 0)
