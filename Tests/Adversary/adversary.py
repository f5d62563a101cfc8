#!/usr/bin/env python3
"""Warden's adversarial suite: every attack of a hostile boot network against a real
`warden serve` on loopback, each judged by the same ceilings (see attacks.py), one line per
attack in OUT/summary.txt.

usage: adversary.py --warden BIN --agent BIN --out DIR [--quick] [--only NAME,...]

The appliance runs with the settings a site ships (only its ports are chosen), on a state
folder whose audit chain is already long (`warden-bench audit` builds it), with one machine,
target-1, enrolled by a software TPM's EK and given an image. Attackers send from 127.0.0.2
and up, at nice 10 (on a boot network they would be other machines, not the server's own
cores); the well-behaved clients from 127.0.0.1, at normal priority. It needs root: raw sockets for source port
0, /proc/PID/clear_refs. It stops what it started, by process id. Exit 0 when every attack
stayed within its ceilings.
"""
import argparse
import os
import shutil
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from attacks import ATTACKS, Result  # noqa: E402
from rig import NODE_MAC, NODE_NAME, Appliance, Clients, Failure, Machine, run  # noqa: E402


class Context:
    """What every attack is given."""

    def __init__(self, appliance, machine, clients, work, quick):
        self.appliance, self.machine, self.clients, self.work, self.quick = appliance, machine, clients, work, quick

    def query(self, sql):
        db = sqlite3.connect(os.path.join(self.appliance.state, "warden.sqlite"), timeout=30)
        try:
            return db.execute(sql).fetchone()[0] or 0
        finally:
            db.close()

    def latest_key(self):
        return self.query("SELECT MAX(id) FROM attestationKey")

    def discovered(self):
        return self.query("SELECT COUNT(*) FROM machine WHERE state = 'discovered'")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warden", required=True)
    parser.add_argument("--agent", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true", help="smaller counts and times, the same ceilings (make test)")
    parser.add_argument("--only", default="", help="comma-separated attack names, as the summary prints them")
    arguments = parser.parse_args()
    warden, agent = os.path.abspath(arguments.warden), os.path.abspath(arguments.agent)
    out = os.path.abspath(arguments.out)
    shutil.rmtree(out, ignore_errors=True)
    work = os.path.join(out, "work")
    os.makedirs(work)
    summary_path = os.path.join(out, "summary.txt")

    # At full scale an export is about 60 MB, as the red team's were.
    records = 20_000 if arguments.quick else 500_000
    started = time.monotonic()
    # warden-bench sits beside warden; builds before it carried the benchmarks as `warden bench`.
    bench = os.path.join(os.path.dirname(warden), "warden-bench")
    bench_command = [bench] if os.path.exists(bench) else [warden, "bench"]
    built = run(bench_command + ["audit", "--records", str(records), "--attestations", "200", "--work-dir", os.path.join(work, "chain"), "--keep"],
                timeout=1800)
    if built.returncode != 0:
        raise SystemExit("warden-bench audit could not build the chain: " + built.stderr[-500:])
    appliance = Appliance(warden, work, state=os.path.join(work, "chain", "state"))
    machine = None
    results = []
    try:
        appliance.start()
        machine = Machine(work)
        for name, size in (("vmlinuz", 400_000), ("initrd.img", 90_000)):
            with open(os.path.join(work, name), "wb") as f:
                f.write(os.urandom(size))
        appliance.expect("image", "add", "node", "--kernel", os.path.join(work, "vmlinuz"), "--initrd", os.path.join(work, "initrd.img"))
        appliance.expect("machine", "enroll", NODE_NAME, "--ek", machine.ek, "--mac", NODE_MAC, "--image", "node")
        clients = Clients(appliance, machine, agent, work)
        if "--kernel-command-line" not in run([agent, "attest", "--help"]).stdout:
            machine.command_line = None  # an agent from before the option existed
        context = Context(appliance, machine, clients, work, arguments.quick)
        baseline = clients.all()
        header = "%s; %s scale; audit chain of %d records built in %.0f s; without attack: %s" % (
            warden, "quick" if arguments.quick else "full", records,
            time.monotonic() - started, ", ".join("%s %.2f s" % item for item in baseline.items()))
        print(header, flush=True)
        with open(summary_path, "w") as summary:
            summary.write(header + "\n")
        only = set(name.replace("-", "_") for name in arguments.only.split(",") if name)
        for attack in ATTACKS:
            if only and attack.__name__ not in only:
                continue
            attack_started = time.monotonic()
            try:
                result = attack(context)
            except Failure as error:
                result = Result(attack.__name__, "-", "-", "could not run: %s" % error, False)
            line = result.line() + " | %.0f s" % (time.monotonic() - attack_started)
            print(line, flush=True)
            with open(summary_path, "a") as summary:
                summary.write(line + "\n")
            results.append(result)
            if not appliance.alive():
                print("the appliance is gone; the remaining attacks cannot run", flush=True)
                break
    finally:
        appliance.stop()
        if machine:
            machine.stop()
    failed = [result.name for result in results if not result.passed]
    print("%d attacks, %d within their ceilings%s; %s" % (len(results), len(results) - len(failed), (": failed " + ", ".join(failed)) if failed else "",
                                                         summary_path))
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
