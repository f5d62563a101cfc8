"""The attacks of a hostile boot network, each against the running appliance and judged by
the ceilings: every well-behaved client served within SERVED_WITHIN seconds while the attack
goes on, the server's memory at most MEMORY_CEILING above idle, its database growing by at
most DATABASE_CEILING bytes a minute, and the appliance alive with every listener.

Each attack runs at a full scale (the figures the red team reported) or a quick one (the
same ceilings, smaller counts and times) and returns one `Result`.
"""
import base64
import http.client
import json
import os
import random
import socket
import ssl
import struct
import threading
import time

from rig import NODE_MAC, Failure, attacker, dhcp_discover, raw_udp, run

SERVED_WITHIN = 2.0
MEMORY_CEILING = 256 << 20
DATABASE_CEILING = 1 << 20
RATE_WINDOW = 10.0  # seconds: the shortest window a database growth rate is taken over
PROBES = ("attest", "operator", "dhcp", "tftp", "script")


class Result:
    def __init__(self, name, scale, ceiling, measured, passed, detail=""):
        self.name, self.scale, self.ceiling, self.measured, self.passed, self.detail = name, scale, ceiling, measured, passed, detail

    def line(self):
        line = "%-17s %s | scale: %s | ceiling: %s | measured: %s" % (self.name, "PASS" if self.passed else "FAIL", self.scale, self.ceiling, self.measured)
        return " / ".join(part.strip() for part in line.splitlines())  # one attack, one line


class Siege:
    """Runs attack workers until stopped, probes the well-behaved clients meanwhile, and
    measures memory above idle, database growth and connections held. The database ceiling is
    a rate for anonymous load, taken over at least RATE_WINDOW seconds so that one probe's
    attestation in a one-second siege does not read as a flood; a siege of operator actions
    reports what they added instead."""

    def __init__(self, context, workers, port=None, anonymous=True):
        self.context = context
        self.anonymous = anonymous
        self.app = context.appliance
        self.workers = workers
        self.port = port
        self.stop = threading.Event()
        self.waits = {}
        self.failures = []
        self.held = 0

    def __enter__(self):
        self.idle = self.app.resident()
        self.app.reset_peak()
        self.database = self.app.database_bytes()
        self.cpu = self.app.cpu_seconds()
        self.started = time.monotonic()
        self.threads = [threading.Thread(target=self.guarded, args=(worker,), daemon=True) for worker in self.workers]
        for thread in self.threads:
            thread.start()
        return self

    def guarded(self, worker):
        # The attackers run at a lower priority: on a boot network they are other machines,
        # and here they share the server's two cores with it and with the clients measured.
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        try:
            worker(self.stop)
        except Exception:  # an attacker's failure is the attack's business, not the suite's
            pass

    def sample(self):
        if self.port:
            self.held = max(self.held, self.app.connections(self.port))

    def wait(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.sample()
            time.sleep(0.25)

    def probe(self, names=PROBES):
        for name in names:
            self.sample()
            try:
                seconds = getattr(self.context.clients, name)()
            except (Failure, OSError, ValueError) as error:
                self.failures.append("%s: %s" % (name, error))
                seconds = float("inf")
            self.waits[name] = max(self.waits.get(name, 0.0), seconds)

    def probe_twice(self, hold, names=("attest", "operator"), settle=3):
        """Lets the attack settle, probes, probes again half the hold later, and sees the hold out."""
        self.wait(settle)
        self.probe(names)
        self.wait(hold / 2)
        self.probe(names)
        self.wait(max(0, hold / 2 - settle))

    def __exit__(self, *exception):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)
        self.elapsed = time.monotonic() - self.started
        self.alive = self.app.alive()
        self.peak = (self.app.peak() - self.idle) if self.alive else 0
        self.server_cpu = ((self.app.cpu_seconds() - self.cpu) / self.elapsed) if self.alive else 0
        self.added = (self.app.database_bytes() - self.database) if self.alive else 0
        self.growth = self.added / max(self.elapsed, RATE_WINDOW) * 60
        return False

    @property
    def slowest(self):
        return max(self.waits.values(), default=0.0)

    def measured(self, extra=""):
        waits = ", ".join("%s %.2f" % (name, seconds) for name, seconds in self.waits.items())
        parts = ["slowest client %.2f s (%s)" % (self.slowest, waits)]
        if self.port:
            parts.append("%d connections held" % self.held)
        database = ("database %+.3f MiB/min" % (self.growth / (1 << 20))) if self.anonymous else ("database %+.0f KiB" % (self.added / 1024))
        parts += ["memory +%.0f MiB" % (self.peak / (1 << 20)), database,
                  "server CPU %.0f%% of a core" % (self.server_cpu * 100)]
        if extra:
            parts.append(extra)
        if not self.alive:
            parts.append("THE SERVER DIED: " + self.app.tail(3).replace("\n", " / "))
        if self.failures:
            parts.append("FAILED: " + "; ".join(self.failures)[:600])
        return "; ".join(parts)

    def passed(self, *conditions):
        return (self.alive and not self.failures and self.slowest <= SERVED_WITHIN and self.peak <= MEMORY_CEILING
                and (self.growth <= DATABASE_CEILING or not self.anonymous) and all(conditions))


CEILING = "clients served within %.0f s, memory +%d MiB, database +%d MiB/min" % (SERVED_WITHIN, MEMORY_CEILING >> 20, DATABASE_CEILING >> 20)


def tls_context(app):
    context = ssl.create_default_context(cafile=app.ca)
    return context


def https(app, source, timeout=10):
    return http.client.HTTPSConnection("127.0.0.1", app.ports["api"], context=tls_context(app), source_address=(source, 0), timeout=timeout)


def request(connection, method, path, body=None):
    """One request on a kept-alive connection; the status, or None when the server closed it."""
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json"} if body is not None else {})
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        connection.close()
        return None


def rsa_public(attributes, policy=b"", symmetric=struct.pack("!H", 0x0010), scheme=struct.pack("!HH", 0x0014, 0x000B)):
    """A TPM2B_PUBLIC for an RSA-2048 key with a random modulus (anyone can make one)."""
    area = struct.pack("!HHI", 0x0001, 0x000B, attributes) + struct.pack("!H", len(policy)) + policy + symmetric + scheme
    area += struct.pack("!HI", 2048, 0) + struct.pack("!H", 256) + os.urandom(256)
    return struct.pack("!H", len(area)) + area


def random_ak():
    return rsa_public(0x00050072)


def random_ek():
    policy = bytes.fromhex("837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa")
    return rsa_public(0x000300B2, policy, symmetric=struct.pack("!HHH", 0x0006, 128, 0x0043), scheme=struct.pack("!H", 0x0010))


def b64(data):
    return base64.b64encode(data).decode()


# 1. One UDP packet disables ProxyDHCP.

def dhcp_poison(context):
    app, quick = context.appliance, context.quick
    count = 100 if quick else 1_000
    relay_listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    relay_listener.bind(("127.0.0.3", app.ports["dhcp"]))
    relay_listener.settimeout(2)
    requester = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    requester.bind(("127.0.0.2", 0))
    requester.settimeout(1)

    def poison(stop):
        for index in range(count):
            if stop.is_set():
                return
            kind = index % 4
            if kind == 0:
                raw_udp("127.0.0.2", "127.0.0.1", 68, app.ports["dhcp"], dhcp_discover(relay=bytes([0, 0, 0, 1])))
            elif kind == 1:
                raw_udp("127.0.0.2", "127.0.0.1", 68, app.ports["dhcp"], dhcp_discover(relay=bytes([240, 0, 0, 1])))
            elif kind == 2:
                raw_udp("127.0.0.2", "127.0.0.1", 0, app.ports["dhcp"], dhcp_discover())
            else:
                raw_udp("127.0.0.2", "127.0.0.1", 4011, app.ports["pxe"], dhcp_discover(relay=bytes([240, 0, 0, 1]), message_type=3, boot_item=True))
    with Siege(context, [poison]) as siege:
        siege.wait(1.5 if quick else 3)
        siege.probe()
        # A relayed request: the answer goes to the relay's server port, not back to the
        # port the request claims to come from.
        requester.sendto(dhcp_discover(relay=socket.inet_aton("127.0.0.3")), ("127.0.0.1", app.ports["dhcp"]))
        try:
            relay_listener.recvfrom(2048)
            to_relay = True
        except socket.timeout:
            to_relay = False
        try:
            requester.recvfrom(2048)
            reflected = True
        except socket.timeout:
            reflected = False
    relay_listener.close()
    requester.close()
    extra = "answer to the relay's server port: %s; reflected to the source port: %s" % ("yes" if to_relay else "no", "yes" if reflected else "no")
    return Result("dhcp-poison", "%d datagrams (relay 0.0.0.1 and 240.0.0.1, source port 0, REQUEST to 4011)" % count,
                  CEILING + "; relayed answers to the relay's port 67, never reflected", siege.measured(extra), siege.passed(to_relay, not reflected))


# 2. The HTTPS API: connections that never start TLS, and bodies held in memory.

def tls_silent(context):
    app, quick = context.appliance, context.quick
    total, sources, hold = (300, 6, 12) if quick else (1_100, 20, 30)

    def holder(source, count):
        def work(stop):
            sockets = []
            while not stop.is_set():
                alive = []
                for s in sockets:
                    try:
                        if s.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b"":
                            s.close()
                            continue
                    except BlockingIOError:
                        pass
                    except OSError:
                        s.close()
                        continue
                    alive.append(s)
                sockets = alive
                while len(sockets) < count and not stop.is_set():
                    s = socket.socket()
                    try:
                        s.bind((source, 0))
                        s.settimeout(3)
                        s.connect(("127.0.0.1", app.ports["api"]))
                        sockets.append(s)
                    except OSError:
                        s.close()
                        break
                stop.wait(0.5)
            for s in sockets:
                s.close()
        return work
    workers = [holder(attacker(index), total // sources) for index in range(sources)]
    with Siege(context, workers, port=app.ports["api"]) as siege:
        siege.probe_twice(hold)
    return Result("tls-silent", "%d TCP connections from %d addresses that never start TLS, kept up for %d s" % (total, sources, hold),
                  CEILING + "; connections bounded (apiMaxConnections, per source)", siege.measured(), siege.passed())


def held_bodies(context):
    app, quick = context.appliance, context.quick
    total, sources, hold = (120, 4, 12) if quick else (600, 10, 30)
    payload = b"a" * 4_000_000

    def holder(source, count):
        def one(stop):
            while not stop.is_set():
                try:
                    s = socket.create_connection(("127.0.0.1", app.ports["api"]), timeout=5, source_address=(source, 0))
                    s = tls_context(app).wrap_socket(s, server_hostname="127.0.0.1")
                    s.sendall(b"POST /v1/agent/attest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 4000001\r\n\r\n")
                    s.sendall(payload)
                    s.settimeout(1)
                    while not stop.is_set():
                        try:
                            if s.recv(4096) == b"":
                                break
                        except socket.timeout:
                            continue
                    s.close()
                except OSError:
                    stop.wait(0.2)
        return [one] * count
    workers = [worker for index in range(sources) for worker in holder(attacker(index), total // sources)]
    with Siege(context, workers, port=app.ports["api"]) as siege:
        siege.probe_twice(hold, settle=5)
    return Result("held-bodies", "%d connections from %d addresses, each sending 4,000,000 bytes of a 4,000,001-byte body and holding, %d s"
                  % (total, sources, hold), CEILING, siege.measured(), siege.passed())


def client_hello(app):
    """The first flight of a TLS handshake with the appliance, as bytes to send by hand."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = tls_context(app).wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def handshake_flood(context):
    app, quick = context.appliance, context.quick
    sources, per_source, hold = (4, 8, 12) if quick else (10, 8, 30)

    def flooder(source, half_close):
        def work(stop):
            while not stop.is_set():
                try:
                    s = socket.create_connection(("127.0.0.1", app.ports["api"]), timeout=5, source_address=(source, 0))
                    if half_close:
                        # A ClientHello, then the end of the stream: a server reads a half-closed
                        # socket out whether or not it asked to, so this is how to skip a queue.
                        s.sendall(client_hello(app))
                        s.shutdown(socket.SHUT_WR)
                        s.recv(65536)
                        s.close()
                    else:
                        tls_context(app).wrap_socket(s, server_hostname="127.0.0.1").close()
                except OSError:
                    stop.wait(0.05)
        return work
    workers = [flooder(attacker(index), half_close=thread % 2 == 1) for index in range(sources) for thread in range(per_source)]
    with Siege(context, workers, port=app.ports["api"]) as siege:
        siege.probe_twice(hold)
    return Result("handshake-flood", "%d clients from %d addresses completing TLS handshakes (or sending a ClientHello and half-closing) "
                  "as fast as they can, %d s" % (sources * per_source, sources, hold),
                  CEILING + "; server CPU at most 3/4 of a core (handshakes paced per source: apiHandshakesPerSecondPerSource)",
                  siege.measured(), siege.passed(siege.server_cpu <= 0.75))

# 3. Anyone can starve a machine of nonces.

def nonce_starvation(context):
    app, quick = context.appliance, context.quick
    rounds, spacing = (2, 4) if quick else (7, 10)
    connection = [https(app, attacker(0))]

    def starve(stop):
        while not stop.is_set():
            top = context.latest_key()
            for key in range(max(1, top - 2), top + 4):
                for _ in range(5):
                    body = json.dumps({"attestationKeyID": key, "proof": b64(os.urandom(32))})
                    if request(connection[0], "POST", "/v1/agent/challenge", body) is None:
                        connection[0] = https(app, attacker(0))
    records = app.audit_records()
    with Siege(context, [starve]) as siege:
        for _ in range(rounds):
            siege.wait(spacing / 2)
            siege.probe(("attest",))
            siege.wait(spacing / 2)
    refusals = app.audit_records() - records - 2 * rounds
    extra = "%d of %d genuine attestations passed; %d audit records of refusals" % (rounds - len(siege.failures), rounds, refusals)
    return Result("nonce-starvation", "challenge requests for the newest key ids, all the rate limit allows, %d genuine attestations over %d s"
                  % (rounds, rounds * spacing), CEILING + "; refusals audited in bounded form (at most a few records a minute)",
                  siege.measured(extra), siege.passed(refusals <= 10 * max(1, rounds * spacing // 60 + 1)))


# 4. Anonymous clients grow the database.

def database_flood(context):
    app, quick = context.appliance, context.quick
    sources, duration = (16, 15) if quick else (32, 60)
    ek = open(context.machine.ek, "rb").read()
    log = b64(os.urandom(1 << 20))
    long_path = "/v1/admin/" + "x" * 81_000

    def flood(source, index):
        def work(stop):
            connection = https(app, source)
            step = index
            while not stop.is_set():
                step += 1
                kind = step % 7
                if kind == 0:
                    body = json.dumps({"attestationKeyID": random.randint(1, 200), "nonce": b64(os.urandom(32)), "attest": b64(os.urandom(200)),
                                       "signature": b64(os.urandom(262)), "pcrs": b64(os.urandom(600)), "eventLog": log})
                    status = request(connection, "POST", "/v1/agent/attest", body)
                elif kind == 1:
                    status = request(connection, "GET", long_path)
                elif kind == 2:
                    status = request(connection, "POST", "/v1/agent/register", json.dumps({"ekPublic": b64(ek), "akPublic": b64(random_ak())}))
                elif kind == 3:
                    status = request(connection, "POST", "/v1/agent/discover", json.dumps({"ekPublic": b64(random_ek()), "ekCertificate": b64(os.urandom(4000))}))
                elif kind == 4:
                    body = json.dumps({"attestationKeyID": random.randint(1, 200), "registration": b64(os.urandom(400)), "proof": b64(os.urandom(32))})
                    status = request(connection, "POST", random.choice(["/v1/agent/challenge", "/v1/agent/activate"]), body)
                elif kind == 5:
                    mac = "02:%02x:%02x:%02x:%02x:%02x" % tuple(os.urandom(5))
                    status = boot_get(app, source, "/boot.ipxe?mac=%s&platform=efi" % mac)
                else:
                    status = boot_get(app, source, "/boot.ipxe?mac=%s&platform=pcbios" % NODE_MAC)
                if status is None:
                    connection = https(app, source)
        return work
    workers = [flood(attacker(index), index) for index in range(sources)]
    with Siege(context, workers) as siege:
        siege.wait(duration / 2)
        siege.probe()
        siege.wait(duration / 2)
    verified, said = app.audit_verifies(context.work)
    return Result("database-flood", "%d addresses for %d s: garbage evidence with 1 MiB event logs, 81 KB admin paths, registrations with an "
                  "enrolled EK, invented EKs and MACs, challenges, activations, forged legacy requests" % (sources, duration),
                  CEILING + "; audit chain contiguous and verifying", siege.measured("audit chain: " + said), siege.passed(verified))


def boot_get(app, source, path):
    try:
        connection = http.client.HTTPConnection("127.0.0.1", app.ports["http"], source_address=(source, 0), timeout=10)
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        connection.close()
        return response.status
    except (OSError, http.client.HTTPException):
        return None


# 5. TFTP slots held by requests nobody acknowledges.

def tftp_slots(context):
    app, quick = context.appliance, context.quick
    total, sources, duration = (300, 20, 10) if quick else (1_030, 64, 30)
    request = b"\0\1ipxe.efi\0octet\0timeout\0" + b"255\0" + b"blksize\0" + b"1468\0"

    def flood(source, count):
        def work(stop):
            sockets = []
            for _ in range(count):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind((source, 0))
                sockets.append(s)
            while not stop.is_set():
                for s in sockets:
                    s.sendto(request, ("127.0.0.1", app.ports["tftp"]))
                stop.wait(2)
            for s in sockets:
                s.close()
        return work
    workers = [flood(attacker(index), total // sources + 1) for index in range(sources)]
    with Siege(context, workers) as siege:
        siege.wait(2)
        siege.probe(("tftp", "dhcp", "script"))
        siege.wait(duration / 2)
        siege.probe(("tftp",))
        siege.wait(duration / 2 - 2)
    return Result("tftp-slots", "%d read requests with timeout 255, never acknowledged, from %d addresses, repeated every 2 s for %d s"
                  % (total, sources, duration), CEILING, siege.measured(), siege.passed())


# 6. Slowloris on boot HTTP.

def http_slowloris(context):
    app, quick = context.appliance, context.quick
    total, sources, every, duration = (300, 12, 5, 12) if quick else (1_030, 40, 20, 45)
    head = b"GET /boot.ipxe?mac=02:00:00:00:00:01 HTTP/1.1\r\nHost: warden\r\nX-Slow: " + b"a" * 200

    def trickle(source, count):
        def work(stop):
            connections = []
            while not stop.is_set():
                while len(connections) < count:
                    s = socket.socket()
                    try:
                        s.bind((source, 0))
                        s.settimeout(3)
                        s.connect(("127.0.0.1", app.ports["http"]))
                        connections.append([s, 0])
                    except OSError:
                        s.close()
                        break
                alive = []
                for entry in connections:
                    s, sent = entry
                    try:
                        s.send(head[sent:sent + 1])
                        entry[1] = (sent + 1) % len(head)
                        alive.append(entry)
                    except OSError:
                        s.close()
                connections = alive
                stop.wait(every)
            for s, _ in connections:
                s.close()
        return work
    workers = [trickle(attacker(index), total // sources + 1) for index in range(sources)]
    with Siege(context, workers, port=app.ports["http"]) as siege:
        siege.wait(3)
        siege.probe(("script", "tftp"))
        siege.wait(duration / 2)
        siege.probe(("script",))
        siege.wait(duration / 2 - 3)
    return Result("http-slowloris", "%d connections from %d addresses, one byte every %d s, for %d s" % (total, sources, every, duration),
                  CEILING + "; connections bounded (bootHTTPMaxConnections, per source)", siege.measured(), siege.passed())


# 7. A forged legacy-BIOS request blocks a machine.

def legacy_forgery(context):
    app = context.appliance
    with Siege(context, []) as siege:
        for _ in range(20):
            boot_get(app, attacker(0), "/boot.ipxe?mac=%s&platform=pcbios&arch=i386" % NODE_MAC)
        siege.probe(("attest", "script"))
    # The first is recorded at once, the rest counted into a summary (RefusalAudit).
    audited = context.query("SELECT COUNT(*) FROM auditRecord WHERE details LIKE '%legacy BIOS boot script%'") > 0
    return Result("legacy-forgery", "20 requests for target-1's legacy BIOS script from another address, then target-1 boots by UEFI and attests",
                  CEILING + "; the genuine attestation passes; the forged requests are audited", siege.measured("audited: %s" % audited),
                  siege.passed(audited))


# 8. The discovery cap fills from boot HTTP.

def discovery_flood(context):
    app, quick = context.appliance, context.quick
    requests = 300 if quick else 1_100
    before = context.discovered()

    def flood(stop):
        for index in range(requests):
            if stop.is_set():
                return
            boot_get(app, attacker(1), "/boot.ipxe?mac=02:aa:00:%02x:%02x:%02x&platform=efi" % (index >> 16, (index >> 8) & 0xff, index & 0xff))
    with Siege(context, [flood]) as siege:
        siege.wait(2)
        siege.probe(("script",))
        for thread in siege.threads:
            thread.join()
    created = context.discovered() - before
    forgot = app.cli("machine", "forget", "boot-02aa00000000")
    extra = "%d discovered machines recorded from one address; forget: %s" % (created, "yes" if forgot.returncode == 0 else forgot.stderr.strip()[-120:])
    return Result("discovery-flood", "%d boot script requests with invented MACs from one address" % requests,
                  CEILING + "; at most discoveriesPerMinutePerSource new machines per address; each expires; an operator can forget one",
                  siege.measured(extra), siege.passed(created <= 30, forgot.returncode == 0))


# 9. An auditor's export stalls attestations.

def export_stall(context):
    app = context.appliance
    auditor = os.path.join(context.work, "auditor")
    if not os.path.exists(auditor):
        app.expect("operator", "add", "auditor", "--role", "auditor", "--out", auditor)
    outcomes = []

    def export(index):
        def work(stop):
            result = app.cli("audit", "export", "--out", os.path.join(context.work, "export-%d.tar.gz" % index), identity=auditor, timeout=900)
            outcomes.append(result.returncode == 0 or "503" in result.stderr)
        return work
    with Siege(context, [export(index) for index in range(6)]) as siege:
        siege.wait(1)
        for _ in range(3):
            siege.probe(("attest",))
        for thread in siege.threads:
            thread.join()
    size = max((os.path.getsize(os.path.join(context.work, name)) for name in os.listdir(context.work) if name.startswith("export-")), default=0)
    extra = "6 exports of %.0f MB: %d completed or were asked to retry" % (size / 1e6, sum(outcomes))
    return Result("export-stall", "6 concurrent audit exports by an auditor, %d audit records" % app.audit_records(),
                  CEILING, siege.measured(extra), siege.passed(len(outcomes) == 6 and all(outcomes)))


# 10. The local operator identity revoked.

def operator_lockout(context):
    app = context.appliance
    with Siege(context, [], anonymous=False) as siege:
        revoked = app.cli("operator", "revoke", "operator")
        locked = app.cli("machine", "list")
        recovered = run([app.warden, "operator", "recover", "--state-dir", app.state], cwd=app.work)
        siege.probe(("operator",))
    steps = "revoke %s, locked out %s, recover %s" % ("ok" if revoked.returncode == 0 else "failed", "yes" if locked.returncode != 0 else "no",
                                                      "ok" if recovered.returncode == 0 else (recovered.stderr.strip()[-160:] or "failed"))
    return Result("operator-lockout", "the local operator's certificate revoked by an operator", "`warden operator recover` (root, on the appliance) restores it",
                  siege.measured(steps), siege.passed(revoked.returncode == 0, locked.returncode != 0, recovered.returncode == 0))


ATTACKS = [dhcp_poison, tls_silent, handshake_flood, held_bodies, nonce_starvation, tftp_slots, http_slowloris, legacy_forgery, discovery_flood, export_stall, database_flood,
           operator_lockout]
