#!/usr/bin/env python3
"""A PXE client's DHCP exchange, written independently of Warden (struct, socket): sends one
DHCPDISCOVER or DHCPREQUEST with the options a PXE ROM, iPXE or a UEFI HTTP Boot client
sends, to 127.0.0.1:PORT, and prints the reply as JSON ({"reply": null} after a timeout).

usage: pxe-dhcp-client.py PORT TYPE ARCH [--vendor TEXT] [--user-class TEXT] [--uuid]
                          [--boot-item HEX] [--server-id A.B.C.D] [--relay A.B.C.D] [--raw HEX]

With --relay, the message carries that relay address (giaddr); a loopback relay awaits the
reply there, on the server's port (as a relay agent would receive it), and the client's own
port must then receive nothing; for any other relay the client waits on its own port.
"""
import argparse, json, os, socket, struct

p = argparse.ArgumentParser()
p.add_argument("port", type=int)
p.add_argument("type", choices=["discover", "request"])
p.add_argument("arch", type=int)
p.add_argument("--vendor", default=None)
p.add_argument("--user-class", default=None)
p.add_argument("--uuid", action="store_true")
p.add_argument("--boot-item", default=None, help="option 43 sub-option 71 (type and layer), hex")
p.add_argument("--server-id", default=None)
p.add_argument("--relay", default=None, help="the relay agent address (giaddr) the message carries")
p.add_argument("--raw", default=None, help="send these bytes (hex) instead of a built message")
a = p.parse_args()

xid = os.urandom(4)
mac = bytes([0x52, 0x54, 0x00, 0x12, 0x34, 0x56])
def opt(code, value): return bytes([code, len(value)]) + value
options = opt(53, bytes([1 if a.type == "discover" else 3]))
if a.vendor is not None:
    options += opt(60, a.vendor.encode())
options += opt(93, struct.pack("!H", a.arch)) + opt(94, bytes([1, 3, 16]))
if a.uuid:
    options += opt(97, bytes([0]) + bytes(range(16)))
if a.user_class is not None:
    options += opt(77, a.user_class.encode())
if a.boot_item:
    options += opt(43, bytes([71, 4]) + bytes.fromhex(a.boot_item) + bytes([255]))
if a.server_id:
    options += opt(54, socket.inet_aton(a.server_id))
options += opt(55, bytes([1, 3, 43, 60, 66, 67, 97])) + bytes([255])
relay = socket.inet_aton(a.relay) if a.relay else bytes(4)
header = struct.pack("!BBBB4sHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000, bytes(4), bytes(4), bytes(4), relay,
                     mac + bytes(10), bytes(64), bytes(128))
message = bytes.fromhex(a.raw) if a.raw else header + bytes([99, 130, 83, 99]) + options

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(1.0)
listener = s
if a.relay and a.relay.startswith("127."):
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind((a.relay, a.port))
    listener.settimeout(1.0)
s.sendto(message, ("127.0.0.1", a.port))
try:
    data, _ = listener.recvfrom(2048)
except socket.timeout:
    print(json.dumps({"reply": None}))
    raise SystemExit(0)
if listener is not s:
    try:
        s.recvfrom(2048)
        raise SystemExit("the reply was also sent to the client's own port")
    except socket.timeout:
        pass

op, htype, hlen, hops, rxid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr, sname, file = struct.unpack("!BBBB4sHH4s4s4s4s16s64s128s", data[:236])
assert data[236:240] == bytes([99, 130, 83, 99]), "no magic cookie"
opts, i = {}, 240
while i < len(data) and data[i] != 255:
    if data[i] == 0:
        i += 1
        continue
    code, length = data[i], data[i + 1]
    opts[code] = opts.get(code, b"") + data[i + 2:i + 2 + length]
    i += 2 + length
sub43, j, raw43 = {}, 0, opts.get(43, b"")
while j + 1 < len(raw43) and raw43[j] != 255:
    sub43[raw43[j]] = raw43[j + 2:j + 2 + raw43[j + 1]].hex()
    j += 2 + raw43[j + 1]
print(json.dumps({"reply": {
    "op": op, "xidMatches": rxid == xid, "chaddr": chaddr[:6].hex(), "yiaddr": socket.inet_ntoa(yiaddr), "siaddr": socket.inet_ntoa(siaddr),
    "file": file.rstrip(b"\0").decode(), "type": opts.get(53, b"\0")[0], "serverID": socket.inet_ntoa(opts[54]) if 54 in opts else None,
    "vendorClass": opts.get(60, b"").decode(), "uuid": opts.get(97, b"").hex(), "bootFileOption": opts.get(67, b"").decode(),
    "vendorOptions": {str(k): v for k, v in sub43.items()},
}}))
