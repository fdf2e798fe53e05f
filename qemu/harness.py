"""Boot a Berth image under QEMU for the system tests and drive it.

The kernel console (ttyS0) goes to a log file; berth-init's debug shell runs on
a second serial port (ttyS1) wired to our pipes. Commands are sent to that shell
and their output and exit status are read back between unique markers. Every
wait polls a condition with an upper bound: no fixed sleeps.
"""
import os
import re
import subprocess
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class GuestError(Exception):
    pass


# Results of a system test file: one "PASS name" / "FAIL name: why" line each,
# counted by tests/run.
results = {"pass": 0, "fail": 0}


def report(name, ok, detail=""):
    results["pass" if ok else "fail"] += 1
    line = "%s %s" % ("PASS" if ok else "FAIL", name)
    if not ok and detail:
        line += ": " + detail.strip().replace("\n", " | ")[:600]
    print(line, flush=True)


def test(name, fn):
    """Run FN as the check NAME; any exception is that check's failure, not the run's end."""
    try:
        fn()
        report(name, True)
    except Exception as e:
        report(name, False, "%s: %s" % (type(e).__name__, e) if str(e) else type(e).__name__)


def poll(guest, command, want, timeout=60):
    """Run COMMAND in GUEST until WANT(rc, output) holds, within TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while True:
        rc, out = guest.run(command)
        if want(rc, out):
            return out
        if time.monotonic() > deadline:
            raise AssertionError("%r: condition not met within %ds; last output: %r (rc %d)"
                                 % (command, timeout, out.strip(), rc))
        guest.run("sleep 0.2")


class Guest:
    def __init__(self, image, var, workdir, kernel_args=(), boot_timeout=180, forward=()):
        self.workdir = workdir
        self.console_path = os.path.join(workdir, "console-%d.log" % time.monotonic_ns())
        cmd = [os.path.join(TOP, "qemu", "run"), "--image", image, "--var", var,
               "--console-log", self.console_path, "--no-reboot", "--",
               "berth.debug_shell=ttyS1", *kernel_args]
        env = dict(os.environ)
        # Tests never listen on a fixed host port: forward a free loopback port.
        env.setdefault("BERTH_SSH_PORT", str(_free_port()))
        # FORWARD: guest TCP ports to reach from 127.0.0.1 here, each through a
        # free port (self.fwd[GUEST_PORT]).
        self.fwd = {p: _free_port() for p in forward}
        env["BERTH_FORWARD"] = " ".join("%d:%d" % (h, p) for p, h in self.fwd.items())
        env.setdefault("BERTH_QEMU_SMP", "1")
        self.ssh_port = int(env["BERTH_SSH_PORT"])
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env)
        self._buf = b""
        self._cond = threading.Condition()
        self._eof = False
        self._seq = 0
        threading.Thread(target=self._reader, daemon=True).start()
        self.boot_timeout = boot_timeout

    def _reader(self):
        while True:
            chunk = self.proc.stdout.read1(65536)
            with self._cond:
                if not chunk:
                    self._eof = True
                    self._cond.notify_all()
                    return
                self._buf += chunk
                self._cond.notify_all()

    def _wait_for(self, pattern, timeout):
        """Wait until PATTERN (bytes regex) appears in the output; consume up to it."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern, re.S)
        with self._cond:
            while True:
                m = rx.search(self._buf)
                if m:
                    self._buf = self._buf[m.end():]
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self._eof:
                    tail = ANSI.sub("", self._buf[-400:].decode(errors="replace"))
                    why = [l for l in self.console().splitlines() if "debug-shell: " in l
                           and "started" not in l]
                    raise GuestError("timed out waiting for %r (eof=%s)%s; last output: %s"
                                     % (pattern, self._eof,
                                        " after the debug shell ended (%s)" % why[0].strip()
                                        if why else "", tail))
                self._cond.wait(min(left, 1.0))

    def _send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def wait_shell(self):
        """Wait for the debug shell, then make it quiet: no echo, no prompt, and no
        job control (whose "[1]+ Done" notices would land in command output)."""
        self._wait_for(rb"built-in shell", self.boot_timeout)
        self._send("stty -echo; set +m; PS1=''; PS2=''; printf '@@%s@@\\n' READY\n")
        self._wait_for(rb"@@READY@@\r?\n", 60)

    def run(self, command, timeout=60):
        """Run COMMAND in the guest shell; return (exit status, output)."""
        self._seq += 1
        tag = "@@%d@@" % self._seq
        # The marker is printed by printf so that the command line itself (should
        # the tty echo it) never contains the finished marker.
        self._send("%s\nprintf '%%s:%%s:END\\n' %s $?\n" % (command, tag))
        m = self._wait_for((r"(.*?)%s:(\d+):END\r?\n" % re.escape(tag)).encode(), timeout)
        out = ANSI.sub("", m.group(1).decode(errors="replace")).replace("\r", "")
        return int(m.group(2)), out

    def check(self, command, timeout=60):
        """Run COMMAND; raise unless it exits 0; return its output."""
        rc, out = self.run(command, timeout)
        if rc != 0:
            raise GuestError("%r exited %d: %s" % (command, rc, out.strip()))
        return out

    def background(self, command):
        """Start COMMAND in the guest, detached from the shell: through an
        intermediate sh, so the test shell never has a child of its own dying
        while it waits for input (busybox ash without job control exits then)."""
        self.check("sh -c '%s </dev/null >/dev/null 2>&1 &'" % command.replace("'", "'\\''"))

    def restart_shell(self):
        """End the debug shell; wait for PID 1 to start a new one and set it up."""
        self._send("exit\n")
        self.wait_shell()

    def send_nowait(self, command):
        self._send(command + "\n")

    def wait_exit(self, timeout):
        """Wait for QEMU to exit; return its status or None on timeout."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def console(self):
        try:
            with open(self.console_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def ssh(guest, user, command, key, timeout=60, extra=()):
    """Run COMMAND as USER over SSH to GUEST's forwarded port on 127.0.0.1 with
    the private KEY (no password ever asked). Returns (rc, stdout+stderr)."""
    cmd = ["ssh", "-i", key, "-p", str(guest.ssh_port), "-o", "BatchMode=yes",
           "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
           "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=30", *extra, "%s@127.0.0.1" % user, command]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, "ssh timed out after %ds" % timeout
    return p.returncode, p.stdout + p.stderr


def scp(guest, user, src, dest, key, timeout=60):
    """Copy the local file SRC to DEST in GUEST as USER over SSH (the classic
    scp protocol: dropbear has no SFTP server). Returns (rc, output)."""
    cmd = ["scp", "-O", "-q", "-i", key, "-P", str(guest.ssh_port), "-o", "BatchMode=yes",
           "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
           "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=30", src, "%s@127.0.0.1:%s" % (user, dest)]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, "scp timed out after %ds" % timeout
    return p.returncode, p.stdout + p.stderr


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_var_disk(path, size="256M"):
    """A blank ext4 /var disk, as rootfs/mkimage makes one."""
    subprocess.run(["truncate", "-s", size, path], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "berth-var", path], check=True)


def ext4_clean(path):
    """True when the ext4 image was unmounted cleanly (state clean, no journal replay due)."""
    out = subprocess.run(["dumpe2fs", "-h", path], capture_output=True, text=True).stdout
    state = re.search(r"^Filesystem state:\s*(.*)$", out, re.M)
    features = re.search(r"^Filesystem features:\s*(.*)$", out, re.M)
    return (state is not None and state.group(1).strip() == "clean"
            and features is not None and "needs_recovery" not in features.group(1))
