import Foundation
import Store
import Testing
import TestSupport

/// Machines as the boot server sees them: found by MAC or UUID, recorded once when unknown,
/// bounded, and replaced by a real enrolment of the same hardware.
extension EnrolmentStoreTests {
    @Test(arguments: StoreBackend.allCases) func anUnknownBootingMachineIsRecordedOncePerMAC(backend: StoreBackend)
        throws
    {
        let (store, _, _) = try backend.freshStore()
        let sighting = BootSighting(
            mac: "52:54:00:12:34:56", uuid: "4c4c4544-0000-1000-8000-000000000001", platform: "efi", arch: "x86_64",
            client: "10.0.0.9")
        #expect(try store.bootTarget(mac: sighting.mac, uuid: nil) == nil)
        let first = try store.discoverAtBoot(sighting)
        #expect(first.state == .discovered && first.name == "boot-525400123456")
        #expect(try store.discoverAtBoot(sighting) == first)
        #expect(try store.bootTarget(mac: nil, uuid: sighting.uuid) == first, "found by UUID when iPXE sends no MAC")
        let listed = try store.machine(named: first.name)
        #expect(
            listed.macs == ["52:54:00:12:34:56"] && listed.smbiosUUID == sighting.uuid && listed.state == .discovered
                && listed.ekName.isEmpty)
        let audit = try store.auditRecords(subjectPrefix: "machine/\(first.machineID)")
        #expect(audit.map(\.action) == ["discovery"] && audit[0].actor == "boot/10.0.0.9")
        #expect(audit[0].details.contains("52:54:00:12:34:56") && audit[0].details.contains("platform efi"))
        #expect(throws: StoreError.self) {
            _ = try store.discoverAtBoot(BootSighting(mac: nil, uuid: nil, platform: nil, arch: nil, client: "x"))
        }
    }

    @Test(arguments: StoreBackend.allCases) func bootDiscoveryIsCapped(backend: StoreBackend) throws {
        var limits = EnrolmentStore.Limits()
        limits.maxDiscoveredMachines = 50
        let (store, _, _) = try backend.freshStore(limits: limits)
        for index in 0..<50 {
            _ = try store.discoverAtBoot(
                BootSighting(
                    mac: String(format: "02:00:00:00:00:%02x", index), uuid: nil, platform: nil, arch: nil,
                    client: "flood"))
        }
        #expect(throws: StoreError.self) {
            _ = try store.discoverAtBoot(
                BootSighting(mac: "02:00:00:00:ff:ff", uuid: nil, platform: nil, arch: nil, client: "flood"))
        }
        #expect(try store.machines().count == 50)
    }

    @Test(arguments: StoreBackend.allCases) func enrollingTheHardwareTakesTheSightingsPlace(backend: StoreBackend)
        throws
    {
        let (store, _, _) = try backend.freshStore()
        let seen = try store.discoverAtBoot(
            BootSighting(mac: "52:54:00:00:00:07", uuid: nil, platform: "efi", arch: "x86_64", client: "10.0.0.7"))
        #expect(throws: StoreError.self) {
            try store.adopt(discoveredID: seen.machineID, as: machine("node-7"), actor: "test")
        }
        let id = try store.enroll(machine("node-7", macs: ["52:54:00:00:00:07"]), actor: "test")
        #expect(try store.machines().map(\.name) == ["node-7"])
        #expect(
            try store.bootTarget(mac: "52:54:00:00:00:07", uuid: nil)
                == BootTarget(machineID: id, name: "node-7", state: .enrolled))
        let enrolment = try #require(try store.auditRecords(subjectPrefix: "machine/\(id)").last)
        #expect(enrolment.details.contains("seen network-booting as boot-525400000007"))
    }
}
