"""The appliance under attack and its well-behaved clients.

`Appliance` runs a real `warden serve` on loopback ports of its own, with the settings a
site would ship (only its ports are chosen here), and reads what the ceilings are about: its
resident memory and peak (/proc), the connections it holds (/proc/net/tcp), the bytes its
database holds (SQLite's own page counts, read beside the running server).

`Clients` are the well-behaved clients each attack must not stop: a real `warden-agent`
attesting a software TPM (swtpm), an operator call with the `warden` CLI, a PXE client's
DHCP exchange, a TFTP download of ipxe.efi (curl), and a machine's boot script (curl). Each
returns the seconds it took, or raises with what went wrong.

Attackers send from 127.0.0.2 and up, legitimate clients from 127.0.0.1, as machines on a
boot network have addresses of their own. Nothing here sends traffic anywhere but loopback.
"""
import json
import os
import random
import resource
import signal
import socket
import sqlite3
import struct
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODE_MAC = "52:54:00:12:34:56"
# The machine under test (the long audit chain already holds node-0, node-1, …).
NODE_NAME = "target-1"


class Failure(Exception):
    """A well-behaved client was not served, or the appliance broke."""


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_pair():
    """A free TCP port whose successor is free too."""
    for _ in range(100):
        port = random.randint(40_000, 60_000)
        try:
            for candidate in (port, port + 1):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", candidate))
            return port
        except OSError:
            continue
    raise Failure("no two free ports in a row")


def attacker(index):
    """The address of attacker number `index`: 127.0.0.2 and up, never 127.0.0.1."""
    return "127.0.%d.%d" % (index // 250, 2 + index % 250)


def run(argv, timeout=120, env=None, cwd=None):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)


class Appliance:
    """`warden serve` on loopback, with its state folder in `work`."""

    def __init__(self, warden, work, state=None, environment=None):
        self.warden = warden
        self.work = work
        self.state = state or os.path.join(work, ".warden")
        self.ports = {"api": free_port(), "http": free_port(), "tftp": free_port(socket.SOCK_DGRAM),
                      "dhcp": free_port(socket.SOCK_DGRAM), "pxe": free_port(socket.SOCK_DGRAM)}
        self.environment = dict(os.environ)
        self.environment.update({
            "WARDEN_API_PORT": str(self.ports["api"]), "WARDEN_BOOT_HTTP_PORT": str(self.ports["http"]),
            "WARDEN_TFTP_PORT": str(self.ports["tftp"]), "WARDEN_PROXYDHCP_PORT": str(self.ports["dhcp"]),
            "WARDEN_PROXYDHCP_ALT_PORT": str(self.ports["pxe"]), "WARDEN_FIRMWARE": os.path.join(ROOT, "Firmware/firmware.yaml"),
        })
        self.environment.update(environment or {})
        self.log = os.path.join(work, "serve.log")
        self.process = None

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.ports["api"]

    @property
    def ca(self):
        return os.path.join(self.state, "ca.pem")

    # A systemd service starts with a soft limit of 1,024 descriptors, as the red team's
    # server had; the container running this may allow far more, which would hide what
    # an unbounded server does at 1,100 connections.
    SERVICE_DESCRIPTOR_LIMIT = 1024

    def start(self):
        def service_limits():
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(self.SERVICE_DESCRIPTOR_LIMIT, hard), hard))
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([self.warden, "serve", "--state-dir", self.state], stdout=log, stderr=subprocess.STDOUT,
                                            env=self.environment, cwd=self.work, start_new_session=True, preexec_fn=service_limits)
        for _ in range(300):
            if self.process.poll() is not None:
                raise Failure("warden serve exited at start: " + self.tail())
            if 'msg="serving https://127.0.0.1:%d"' % self.ports["api"] in self.read_log():
                return
            time.sleep(0.05)
        raise Failure("warden serve did not start: " + self.tail())

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def alive(self):
        return self.process.poll() is None

    def read_log(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def tail(self, lines=15):
        return "\n".join(self.read_log().splitlines()[-lines:])

    def cli(self, *args, identity=None, timeout=120):
        argv = [self.warden, *args, "--warden-url", self.url, "--state-dir", self.state]
        return run(argv + (["--identity", identity] if identity else []), timeout=timeout, cwd=self.work)

    def expect(self, *args, identity=None):
        result = self.cli(*args, identity=identity)
        if result.returncode != 0:
            raise Failure("warden %s: %s%s" % (" ".join(args), result.stdout, result.stderr))
        return result.stdout

    # What the ceilings are about.

    def status(self, field):
        with open("/proc/%d/status" % self.process.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        raise Failure("no %s in /proc/%d/status" % (field, self.process.pid))

    def resident(self):
        return self.status("VmRSS")

    def reset_peak(self):
        """Starts a new peak of resident memory (Linux's clear_refs 5)."""
        with open("/proc/%d/clear_refs" % self.process.pid, "w") as f:
            f.write("5")

    def peak(self):
        return self.status("VmHWM")

    def cpu_seconds(self):
        """User and system CPU seconds the server has used."""
        with open("/proc/%d/stat" % self.process.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def connections(self, port):
        """Established TCP connections the server holds on `port`."""
        held = 0
        with open("/proc/net/tcp") as f:
            for line in list(f)[1:]:
                fields = line.split()
                if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
                    held += 1
        return held

    def database_bytes(self):
        """Bytes the database holds (pages in use), read beside the running server."""
        db = sqlite3.connect(os.path.join(self.state, "warden.sqlite"), timeout=30)
        try:
            page_size = db.execute("PRAGMA page_size").fetchone()[0]
            pages = db.execute("PRAGMA page_count").fetchone()[0] - db.execute("PRAGMA freelist_count").fetchone()[0]
            return page_size * pages
        finally:
            db.close()

    def audit_records(self):
        db = sqlite3.connect(os.path.join(self.state, "warden.sqlite"), timeout=30)
        try:
            return db.execute("SELECT COUNT(*) FROM auditRecord").fetchone()[0]
        finally:
            db.close()

    def audit_verifies(self, work):
        """Exports the whole chain and verifies it against the audit key: (ok, what verify said)."""
        bundle, key = os.path.join(work, "audit.tar.gz"), os.path.join(work, "audit-key.pem")
        exported = self.cli("audit", "export", "--out", bundle, timeout=600)
        if exported.returncode != 0:
            return False, "export failed: " + exported.stderr.strip()
        run(["openssl", "pkey", "-in", os.path.join(self.state, "audit.key"), "-pubout", "-out", key])
        verified = run([self.warden, "audit", "verify", bundle, "--key", key, "--no-reverify"], timeout=600)
        lines = (verified.stdout + verified.stderr).strip().splitlines()
        return verified.returncode == 0, (lines[-1] if lines else "")


class Machine:
    """A software TPM (swtpm) enrolled as NODE_NAME, attested by the real warden-agent."""

    def __init__(self, work):
        self.folder = os.path.join(work, "tpm")
        os.makedirs(self.folder, exist_ok=True)
        # The swtpm TCTI finds the control channel on the port after the TPM's.
        self.port = free_pair()
        self.control = self.port + 1
        self.process = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + self.folder,
             "--server", "type=tcp,port=%d,bindaddr=127.0.0.1" % self.port, "--ctrl", "type=tcp,port=%d,bindaddr=127.0.0.1" % self.control,
             "--flags", "not-need-init,startup-clear"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.tcti = "swtpm:host=127.0.0.1,port=%d" % self.port
        environment = dict(os.environ, TPM2TOOLS_TCTI=self.tcti)
        for _ in range(100):
            if run(["tpm2_createek", "-c", os.path.join(self.folder, "ek.ctx"), "-G", "rsa", "-u", self.ek], env=environment).returncode == 0:
                break
            time.sleep(0.1)
        else:
            self.stop()
            raise Failure("swtpm did not answer")
        run(["tpm2_flushcontext", "-t"], env=environment)
        self.command_line = os.path.join(self.folder, "cmdline")
        with open(self.command_line, "w") as f:
            f.write("console=ttyS0\n")

    @property
    def ek(self):
        return os.path.join(self.folder, "ek.pub")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait()


class Clients:
    """The well-behaved clients, timed."""

    def __init__(self, appliance, machine, agent, work):
        self.appliance = appliance
        self.machine = machine
        self.agent = agent
        self.work = work
        self.firmware = os.path.join(appliance.state, "tftp", "ipxe.efi")

    def timed(self, name, body):
        start = time.monotonic()
        body()
        return time.monotonic() - start

    def attest(self):
        out = os.path.join(self.work, "release-%d" % random.getrandbits(32))

        def body():
            command_line = ["--kernel-command-line", self.machine.command_line] if self.machine.command_line else []
            # One attempt (--patience 0): what is measured is how this appliance serves under attack.
            result = run([self.agent, "attest", "--server", self.appliance.url, "--ca", self.appliance.ca, "--tcti", self.machine.tcti,
                          "--patience", "0", "--out", out] + command_line, timeout=60)
            if result.returncode != 0:
                raise Failure("agent attestation: " + (result.stderr or result.stdout).strip()[-300:])
        return self.timed("attest", body)

    def operator(self):
        def body():
            result = self.appliance.cli("machine", "list", timeout=60)
            if result.returncode != 0 or NODE_NAME not in result.stdout:
                raise Failure("operator call: " + (result.stderr or result.stdout).strip()[-300:])
        return self.timed("operator", body)

    def dhcp(self):
        def body():
            result = run(["python3", os.path.join(ROOT, "Tests/Scripts/pxe-dhcp-client.py"), str(self.appliance.ports["dhcp"]), "discover", "7",
                          "--vendor", "PXEClient:Arch:00007:UNDI:003016", "--user-class", "iPXE"], timeout=30)
            reply = json.loads(result.stdout or "{}").get("reply") if result.returncode == 0 else None
            if not reply or not reply.get("file", "").endswith("/boot.ipxe"):
                raise Failure("PXE DHCP answer: %s %s" % (result.stdout.strip(), result.stderr.strip()[-200:]))
        return self.timed("dhcp", body)

    def tftp(self):
        out = os.path.join(self.work, "ipxe-%d.efi" % random.getrandbits(32))

        def body():
            result = run(["curl", "-sS", "--max-time", "30", "--tftp-blksize", "1468", "-o", out,
                          "tftp://127.0.0.1:%d/ipxe.efi" % self.appliance.ports["tftp"]], timeout=40)
            if result.returncode != 0 or not same_file(out, self.firmware):
                raise Failure("TFTP ipxe.efi: " + result.stderr.strip()[-200:])
            os.unlink(out)
        return self.timed("tftp", body)

    def script(self):
        def body():
            result = run(["curl", "-sS", "--max-time", "30", "http://127.0.0.1:%d/boot.ipxe?mac=%s&platform=efi" % (self.appliance.ports["http"], NODE_MAC)],
                         timeout=40)
            if result.returncode != 0 or "#!ipxe" not in result.stdout:
                raise Failure("boot script: %s %s" % (result.stdout.strip()[-200:], result.stderr.strip()[-200:]))
        return self.timed("script", body)

    def all(self):
        """Every client once: {name: seconds}."""
        return {name: getattr(self, name)() for name in ("attest", "operator", "dhcp", "tftp", "script")}


def same_file(a, b):
    try:
        with open(a, "rb") as x, open(b, "rb") as y:
            return x.read() == y.read()
    except OSError:
        return False


def dhcp_discover(mac=bytes.fromhex("525400abcdef"), relay=b"\0\0\0\0", message_type=1, boot_item=False):
    """A PXE client's DISCOVER (or REQUEST with the boot item), with `relay` as giaddr."""
    def option(code, value):
        return bytes([code, len(value)]) + value
    options = option(53, bytes([message_type])) + option(60, b"PXEClient:Arch:00007:UNDI:003016") + option(93, struct.pack("!H", 7))
    if boot_item:
        options += option(43, bytes([71, 4, 0x80, 0, 0, 0, 255]))
    header = struct.pack("!BBBB4sHH4s4s4s4s16s64s128s", 1, 1, 6, 0, os.urandom(4), 0, 0x8000, bytes(4), bytes(4), bytes(4), relay,
                         mac + bytes(10), bytes(64), bytes(128))
    return header + bytes([99, 130, 83, 99]) + options + bytes([255])


def raw_udp(source, destination, source_port, destination_port, payload):
    """One UDP datagram with a source port a normal socket cannot have (0), through a raw socket (root)."""
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as s:
        udp = struct.pack("!HHHH", source_port, destination_port, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), random.getrandbits(16), 0, 64, socket.IPPROTO_UDP, 0,
                         socket.inet_aton(source), socket.inet_aton(destination))
        s.sendto(ip + udp, (destination, 0))
