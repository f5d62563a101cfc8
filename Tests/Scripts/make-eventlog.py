#!/usr/bin/env python3
"""make-eventlog.py OUT.bin [EXPECTED.txt]

Writes a small, deterministic TCG PC Client *crypto-agile* event log (the
format of /sys/kernel/security/tpm0/binary_bios_measurements, little-endian)
to OUT.bin and prints, one per line on stdout, the `tpm2_pcrextend` argument
("I:sha1=HEX,sha256=HEX") for every measured event, in log order, so the
caller can replay the log into a TPM.  If EXPECTED.txt is given, the replayed
PCR values are written there as "sha1 I HEX" / "sha256 I HEX" lines.

Layout:
  * TCG_PCR_EVENT (SHA-1 format) EV_NO_ACTION, PCR 0: TCG_EfiSpecIDEventStruct
    "Spec ID Event03" declaring sha1 (0x0004, 20) and sha256 (0x000b, 32).
  * TCG_PCR_EVENT2 records: u32 pcrIndex, u32 eventType, TPML_DIGEST_VALUES
    {u32 count, per bank u16 algId + digest}, u32 eventSize, event bytes.

Events follow the PC Client Platform Firmware Profile / what edk2 (OVMF)
produces: S-CRTM version and firmware blobs in PCR 0, Secure Boot policy
(SecureBoot=1, PK, KEK, db, dbx as EFI_SIGNATURE_LISTs) in PCR 7, BootOrder
and Boot0000 in PCR 1, "Calling EFI Application from Boot Option" in PCR 4,
separators in PCRs 0-7, the db authority in PCR 7, a GPT in PCR 5, two boot
applications in PCR 4 and the ExitBootServices actions in PCR 5.

Python 3 standard library only.  The output is byte-for-byte identical on
every run (no randomness, no clock).
"""

import hashlib
import struct
import sys
import uuid
import zlib

# ---------------------------------------------------------------- constants
EV_PREBOOT_CERT = 0x0
EV_POST_CODE = 0x1
EV_NO_ACTION = 0x3
EV_SEPARATOR = 0x4
EV_S_CRTM_VERSION = 0x8
EV_EFI_VARIABLE_DRIVER_CONFIG = 0x80000001
EV_EFI_VARIABLE_BOOT = 0x80000002
EV_EFI_BOOT_SERVICES_APPLICATION = 0x80000003
EV_EFI_GPT_EVENT = 0x80000006
EV_EFI_ACTION = 0x80000007
EV_EFI_PLATFORM_FIRMWARE_BLOB = 0x80000008
EV_EFI_VARIABLE_AUTHORITY = 0x800000E0

TPM_ALG_SHA1 = 0x0004
TPM_ALG_SHA256 = 0x000B
BANKS = [(TPM_ALG_SHA1, "sha1", 20), (TPM_ALG_SHA256, "sha256", 32)]

EFI_GLOBAL_VARIABLE = uuid.UUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")
EFI_IMAGE_SECURITY_DATABASE_GUID = uuid.UUID("d719b2cb-3d3a-4596-a3bc-dad00e67656f")
EFI_CERT_X509_GUID = uuid.UUID("a5c059a1-94e4-4aa7-87b5-ab155c2bf072")
EFI_CERT_SHA256_GUID = uuid.UUID("c1c41626-504c-4092-aca9-41f936934328")
# owner GUID of our fake platform vendor (arbitrary, fixed)
WARDEN_OWNER_GUID = uuid.UUID("6a1ee763-d47a-43b4-aabe-ef1de2ab56fc")
EFI_PART_TYPE_EFI_SYSTEM = uuid.UUID("c12a7328-f81f-11d2-ba4b-00a0c93ec93b")
EFI_PART_TYPE_LINUX_DATA = uuid.UUID("0fc63daf-8483-4772-8e79-3d69d8477de4")


def guid(u):
    """EFI_GUID layout: Data1 u32 LE, Data2 u16 LE, Data3 u16 LE, Data4 8 bytes."""
    return u.bytes_le


def utf16(s, nul=False):
    return (s + ("\0" if nul else "")).encode("utf-16-le")


def digests_of(data):
    return {name: hashlib.new(name, data).digest() for _, name, _ in BANKS}


# ------------------------------------------- tiny DER + P-256 ECDSA (test certs)
# PK/KEK/db hold X.509 certificates.  We build small but well-formed, correctly
# self-signed ECDSA P-256 certificates, deterministically (fixed private keys
# derived from the subject, RFC 6979-style deterministic k via HMAC), so that
# `openssl x509 -inform der` parses them and their signature verifies.

P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
A = P - 3
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
G = (0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
     0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)


def _ec_add(p1, p2):
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % P == 0:
        return None
    if p1 == p2:
        lam = (3 * x1 * x1 + A) * pow(2 * y1, -1, P) % P
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (lam * lam - x1 - x2) % P
    return x3, (lam * (x1 - x3) - y1) % P


def _ec_mul(k, pt):
    acc = None
    while k:
        if k & 1:
            acc = _ec_add(acc, pt)
        pt = _ec_add(pt, pt)
        k >>= 1
    return acc


def _ecdsa_sign_sha256(d, msg):
    z = int.from_bytes(hashlib.sha256(msg).digest(), "big")
    ctr = 0
    while True:
        k = int.from_bytes(hashlib.sha256(b"warden-k" + d.to_bytes(32, "big") + msg
                                          + bytes([ctr])).digest(), "big") % N
        ctr += 1
        if k == 0:
            continue
        r = _ec_mul(k, G)[0] % N
        s = pow(k, -1, N) * (z + r * d) % N
        if r and s:
            return r, s


def _der(tag, body):
    n = len(body)
    if n < 0x80:
        ln = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        ln = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + ln + body


def _der_int(v):
    b = v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big")  # keeps a leading 0 if needed
    return _der(0x02, b)


def _der_oid(dotted):
    parts = [int(x) for x in dotted.split(".")]
    out = bytes([40 * parts[0] + parts[1]])
    for p in parts[2:]:
        enc = [p & 0x7F]
        p >>= 7
        while p:
            enc.append(0x80 | (p & 0x7F))
            p >>= 7
        out += bytes(reversed(enc))
    return _der(0x06, out)


def _der_seq(*items):
    return _der(0x30, b"".join(items))


def _der_name(cn):
    attr = _der_seq(_der_oid("2.5.4.10"), _der(0x0C, b"Warden Test"))
    common = _der_seq(_der_oid("2.5.4.3"), _der(0x0C, cn.encode()))
    return _der_seq(_der(0x31, attr), _der(0x31, common))


def make_cert(cn, serial):
    d = int.from_bytes(hashlib.sha256(b"warden test key " + cn.encode()).digest(), "big") % N
    qx, qy = _ec_mul(d, G)
    ecdsa_sha256 = _der_seq(_der_oid("1.2.840.10045.4.3.2"))
    spki = _der_seq(
        _der_seq(_der_oid("1.2.840.10045.2.1"), _der_oid("1.2.840.10045.3.1.7")),
        _der(0x03, b"\x00\x04" + qx.to_bytes(32, "big") + qy.to_bytes(32, "big")))
    validity = _der_seq(_der(0x17, b"200101000000Z"), _der(0x18, b"20491231235959Z"))
    basic_constraints = _der_seq(_der_oid("2.5.29.19"), _der(0x01, b"\xff"),
                                 _der(0x04, _der_seq(_der(0x01, b"\xff"))))
    tbs = _der_seq(
        _der(0xA0, _der_int(2)),                     # version v3
        _der_int(serial),
        ecdsa_sha256,
        _der_name(cn),                               # issuer (self-signed)
        validity,
        _der_name(cn),                               # subject
        spki,
        _der(0xA3, _der_seq(basic_constraints)))     # extensions
    r, s = _ecdsa_sign_sha256(d, tbs)
    sig = _der_seq(_der_int(r), _der_int(s))
    return _der_seq(tbs, ecdsa_sha256, _der(0x03, b"\x00" + sig))


# ------------------------------------------------------------ UEFI structures
def signature_list(sig_type, entries):
    """EFI_SIGNATURE_LIST with one EFI_SIGNATURE_DATA per entry (all same size)."""
    size = 16 + len(entries[0])
    assert all(len(e) == len(entries[0]) for e in entries)
    body = b"".join(guid(WARDEN_OWNER_GUID) + e for e in entries)
    return guid(sig_type) + struct.pack("<III", 28 + len(body), 0, size) + body


def uefi_variable_data(vendor_guid, name, data):
    """UEFI_VARIABLE_DATA: GUID, u64 UnicodeNameLength (chars), u64 VariableDataLength,
    UnicodeName (UTF-16LE, no NUL), VariableData."""
    return (guid(vendor_guid) + struct.pack("<QQ", len(name), len(data))
            + utf16(name) + data)


def device_path_file(path):
    """MEDIA_DEVICE_PATH / MEDIA_FILEPATH_DP node followed by End-of-path."""
    p = utf16(path, nul=True)
    return struct.pack("<BBH", 0x04, 0x04, 4 + len(p)) + p + bytes([0x7F, 0xFF, 0x04, 0x00])


def device_path_hd_file(part_no, start, size, part_guid, path):
    """HARDDRIVE_DEVICE_PATH (GPT) + file path + end."""
    hd = struct.pack("<BBHIQQ", 0x04, 0x01, 42, part_no, start, size) + guid(part_guid) \
        + bytes([0x02, 0x02])  # MBRType = GPT, SignatureType = GUID
    return hd + device_path_file(path)


def efi_load_option(description, file_path):
    """EFI_LOAD_OPTION: u32 Attributes, u16 FilePathListLength, Description, FilePathList."""
    return struct.pack("<IH", 0x00000001, len(file_path)) + utf16(description, nul=True) + file_path


def image_load_event(location, length, device_path):
    """UEFI_IMAGE_LOAD_EVENT."""
    return struct.pack("<QQQQ", location, length, 0, len(device_path)) + device_path


DISK_GUID = uuid.UUID("2c8d1b5e-7c5a-4a3e-9f7e-3f1d0d8e6a11")
ESP_GUID = uuid.UUID("7e3b9f34-0c2a-4b56-8d0e-5a6b7c8d9e01")
ROOT_GUID = uuid.UUID("a1b2c3d4-e5f6-4789-8abc-def012345678")
ESP_START, ESP_END = 2048, 2048 + 204800 - 1
ROOT_START, ROOT_END = 206848, 4192255


def gpt_event():
    """UEFI_GPT_DATA: EFI_PARTITION_TABLE_HEADER, u64 NumberOfPartitions, entries."""
    def entry(ptype, pguid, start, end, name):
        return (guid(ptype) + guid(pguid) + struct.pack("<QQQ", start, end, 0)
                + utf16(name).ljust(72, b"\0"))
    entries = [entry(EFI_PART_TYPE_EFI_SYSTEM, ESP_GUID, ESP_START, ESP_END, "EFI System"),
               entry(EFI_PART_TYPE_LINUX_DATA, ROOT_GUID, ROOT_START, ROOT_END, "root")]
    array_crc = zlib.crc32(b"".join(entries).ljust(128 * 128, b"\0"))

    def header(hcrc):
        return (b"EFI PART" + struct.pack("<IIII", 0x00010000, 92, hcrc, 0)
                + struct.pack("<QQQQ", 1, 4194303, 34, 4194270) + guid(DISK_GUID)
                + struct.pack("<QIII", 2, 128, 128, array_crc))
    hdr = header(zlib.crc32(header(0)))
    assert len(hdr) == 92
    return hdr + struct.pack("<Q", len(entries)) + b"".join(entries)


def firmware_blob(n, length):
    """Deterministic fake firmware volume contents of the given length."""
    out = bytearray()
    i = 0
    while len(out) < length:
        out += hashlib.sha256(b"warden fake firmware volume %d block %d" % (n, i)).digest()
        i += 1
    return bytes(out[:length])


# ------------------------------------------------------------------ the log
def spec_id_event():
    algs = b"".join(struct.pack("<HH", alg, size) for alg, _, size in BANKS)
    return (b"Spec ID Event03\0"
            + struct.pack("<IBBBBI", 0, 0, 2, 0, 2, len(BANKS))  # platformClass, minor, major, errata, uintnSize
            + algs + b"\x00")                                   # vendorInfoSize 0


def build_events():
    """Returns [(pcr, type, data, {bank: digest})] for the measured events."""
    ev = []

    def add(pcr, etype, data, measured=None):
        ev.append((pcr, etype, data, digests_of(data if measured is None else measured)))

    def add_fixed(pcr, etype, data, digests):
        ev.append((pcr, etype, data, digests))

    # PCR 0: S-CRTM version (UCS-2 string incl. terminator), two firmware volumes
    add(0, EV_S_CRTM_VERSION, utf16("Warden Test CRTM 1.00", nul=True))
    for n, (base, length) in enumerate([(0xFFC84000, 0x348000), (0x00820000, 0xE0000)]):
        # digest = hash of the (fake) firmware volume, not of the 16-byte event data
        add(0, EV_EFI_PLATFORM_FIRMWARE_BLOB, struct.pack("<QQ", base, length),
            measured=firmware_blob(n, length))

    # PCR 7: Secure Boot policy (digest over the whole UEFI_VARIABLE_DATA)
    pk_cert = make_cert("Warden Test Platform Key", 1)
    kek_cert = make_cert("Warden Test KEK", 2)
    db_cert = make_cert("Warden Test Signing CA", 3)
    dbx_hashes = [hashlib.sha256(b"warden revoked image %d" % i).digest() for i in range(3)]
    sb_vars = [
        (EFI_GLOBAL_VARIABLE, "SecureBoot", b"\x01"),
        (EFI_GLOBAL_VARIABLE, "PK", signature_list(EFI_CERT_X509_GUID, [pk_cert])),
        (EFI_GLOBAL_VARIABLE, "KEK", signature_list(EFI_CERT_X509_GUID, [kek_cert])),
        (EFI_IMAGE_SECURITY_DATABASE_GUID, "db", signature_list(EFI_CERT_X509_GUID, [db_cert])),
        (EFI_IMAGE_SECURITY_DATABASE_GUID, "dbx", signature_list(EFI_CERT_SHA256_GUID, dbx_hashes)),
    ]
    for vguid, name, data in sb_vars:
        add(7, EV_EFI_VARIABLE_DRIVER_CONFIG, uefi_variable_data(vguid, name, data))
    # edk2 measures the PCR 7 separator right after the Secure Boot policy
    add(7, EV_SEPARATOR, b"\x00\x00\x00\x00")

    # PCR 1: boot variables (edk2: digest over the variable data only)
    boot_order = struct.pack("<HH", 0x0000, 0x0001)
    add(1, EV_EFI_VARIABLE_BOOT, uefi_variable_data(EFI_GLOBAL_VARIABLE, "BootOrder", boot_order),
        measured=boot_order)
    shim_path = device_path_hd_file(1, ESP_START, ESP_END - ESP_START + 1, ESP_GUID,
                                    "\\EFI\\warden\\shimx64.efi")
    boot0000 = efi_load_option("Warden Linux", shim_path)
    add(1, EV_EFI_VARIABLE_BOOT, uefi_variable_data(EFI_GLOBAL_VARIABLE, "Boot0000", boot0000),
        measured=boot0000)

    # PCR 4: about to call the boot option
    action = b"Calling EFI Application from Boot Option"
    add(4, EV_EFI_ACTION, action)

    # PCRs 0-6: separators (PCR 7's was measured above)
    for pcr in range(0, 7):
        add(pcr, EV_SEPARATOR, b"\x00\x00\x00\x00")

    # PCR 7: the db certificate that authorised the boot application
    add(7, EV_EFI_VARIABLE_AUTHORITY,
        uefi_variable_data(EFI_IMAGE_SECURITY_DATABASE_GUID, "db",
                           guid(WARDEN_OWNER_GUID) + db_cert))

    # PCR 5: GPT of the boot disk
    add(5, EV_EFI_GPT_EVENT, gpt_event())

    # PCR 4: two boot applications; the digest is the image's Authenticode hash,
    # here a fixed fake one: hash("warden test boot application N")
    apps = [(0x7E0F3018, 0xEB248, shim_path),
            (0x7D9E1018, 0x1A6E48, device_path_file("\\EFI\\warden\\grubx64.efi"))]
    for n, (loc, length, path) in enumerate(apps, start=1):
        add(4, EV_EFI_BOOT_SERVICES_APPLICATION, image_load_event(loc, length, path),
            measured=b"warden test boot application %d" % n)

    # PCR 5: ExitBootServices
    add(5, EV_EFI_ACTION, b"Exit Boot Services Invocation")
    add(5, EV_EFI_ACTION, b"Exit Boot Services Returned with Success")
    return ev


def serialize(events):
    spec = spec_id_event()
    out = struct.pack("<II", 0, EV_NO_ACTION) + b"\0" * 20 + struct.pack("<I", len(spec)) + spec
    for pcr, etype, data, dig in events:
        out += struct.pack("<III", pcr, etype, len(BANKS))
        for alg, name, size in BANKS:
            assert len(dig[name]) == size
            out += struct.pack("<H", alg) + dig[name]
        out += struct.pack("<I", len(data)) + data
    return out


def replay(events):
    pcrs = {name: {i: b"\0" * size for i in range(8)} for _, name, size in BANKS}
    for pcr, _, _, dig in events:
        for _, name, _ in BANKS:
            pcrs[name][pcr] = hashlib.new(name, pcrs[name][pcr] + dig[name]).digest()
    return pcrs


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write(__doc__)
        return 2
    events = build_events()
    with open(argv[1], "wb") as f:
        f.write(serialize(events))
    for pcr, _, _, dig in events:
        print("%d:sha1=%s,sha256=%s" % (pcr, dig["sha1"].hex(), dig["sha256"].hex()))
    if len(argv) == 3:
        with open(argv[2], "w") as f:
            for _, name, _ in BANKS:
                for i, v in sorted(replay(events)[name].items()):
                    f.write("%s %d %s\n" % (name, i, v.hex()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
