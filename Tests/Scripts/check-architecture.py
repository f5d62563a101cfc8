#!/usr/bin/env python3
"""Fails when a Swift source imports a module its floor may not see (ARCHITECTURE.md).

Every module under Sources/ has a floor; a module imports Warden's own modules only from
floors below its own, and the rules below name the arrows that must never exist even
where the floors would allow them. Third-party modules are checked by the same rules
(GRDB only in Store, Hummingbird only in Server and above). Prints every violation as
FILE:LINE: MODULE imports TARGET (the rule), and exits 1 if there was any.

usage: check-architecture.py [ROOT]     (ROOT defaults to the checkout this script is in)
"""

import os
import re
import sys

# Warden's own modules, floor by floor (ARCHITECTURE.md draws the same picture).
FLOORS = [
    ["CTSS2", "COpenSSL", "CArchive", "CDatagrams", "CFileFlags", "Octets"],
    ["TSS", "WardenCrypto", "Archive"],
    ["TPM", "BundleLines", "WardenAPI", "WardenClient", "Boot", "ImageBuilding", "UEFIVariables"],
    ["Attestation", "AgentCore", "TPMSimulation", "LocalPostgres"],
    ["Store"],
    ["Images", "Audit"],
    ["Server", "WardenCLI"],
    ["WardenAppliance"],
    ["warden", "warden-agent", "warden-bench"],
]

AGENT = {"AgentCore", "warden-agent"}
SERVER_SIDE = {"Store", "Server", "Images", "Audit", "Boot", "WardenCLI", "WardenAppliance", "GRDB", "GRDBSQLite"}
HUMMINGBIRD = {"Hummingbird", "HummingbirdCore", "HummingbirdTLS", "HummingbirdHTTP2"}
ABOVE_SERVER = {"Server", "WardenAppliance", "warden"}

# (who, may not import, why): the arrows that must never exist.
FORBIDDEN = [
    (AGENT, SERVER_SIDE, "the agent carries no server code"),
    ({"Boot"}, {"Store", "Attestation", "Images", "Audit", "Server", "GRDB", "TPM", "WardenCrypto", "TSS"}, "Boot stands on NIO (and Octets) alone"),
    ({"WardenCLI"}, {"Store", "Server", "Images", "Audit", "Boot", "GRDB"} | HUMMINGBIRD, "the operator's client imports no server module"),
    (None, HUMMINGBIRD, "nothing below Server imports Hummingbird"),
    (None, {"GRDB", "GRDBSQLite"}, "only Store speaks to SQLite"),
    (None, {"TPMSimulation"}, "software TPMs are for the tests and warden-bench, never in a product"),
    (None, {"LocalPostgres"}, "clusters of Warden's own are for the tests and warden-bench, never in a product"),
]
# Where the `None` rules above do not apply.
ALLOWED_ANYWAY = {
    "Hummingbird": ABOVE_SERVER, "GRDB": {"Store"}, "GRDBSQLite": {"Store"}, "TPMSimulation": {"warden-bench"}, "LocalPostgres": {"warden-bench"},
}

IMPORT = re.compile(r"^\s*(?:@\w+\s+)*import\s+(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)")


def floor_of():
    return {module: level for level, modules in enumerate(FLOORS) for module in modules}


def violations(root):
    floors = floor_of()
    sources = os.path.join(root, "Sources")
    found = []
    for module in sorted(os.listdir(sources)):
        if module not in floors:
            found.append("Sources/%s: a module with no floor (add it to FLOORS and to ARCHITECTURE.md)" % module)
            continue
        for folder, _, files in os.walk(os.path.join(sources, module)):
            for name in sorted(files):
                if name.endswith(".swift"):
                    path = os.path.join(folder, name)
                    found += check_file(root, path, module, floors)
    return found


def check_file(root, path, module, floors):
    found = []
    relative = os.path.relpath(path, root)
    with open(path, encoding="utf-8") as source:
        for number, line in enumerate(source, 1):
            match = IMPORT.match(line)
            if not match:
                continue
            target = match.group(1)
            reason = rule_broken(module, target, floors)
            if reason:
                found.append("%s:%d: %s imports %s (%s)" % (relative, number, module, target, reason))
    return found


def rule_broken(module, target, floors):
    if target in floors and floors[target] >= floors[module]:
        return "%s is on floor %d, %s on floor %d: imports point downward" % (target, floors[target], module, floors[module])
    for who, targets, why in FORBIDDEN:
        if target not in targets or (who is not None and module not in who):
            continue
        if who is None and any(target.startswith(prefix) and module in allowed for prefix, allowed in ALLOWED_ANYWAY.items()):
            continue
        return why
    return None


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    found = violations(root)
    for line in found:
        print(line)
    if found:
        print("architecture: %d forbidden import(s); see ARCHITECTURE.md" % len(found), file=sys.stderr)
        return 1
    print("architecture: every import points downward and no forbidden arrow exists")
    return 0


if __name__ == "__main__":
    sys.exit(main())
