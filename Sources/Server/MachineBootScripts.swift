import Attestation
import Boot
import Foundation
import Store
import Synchronization
import WardenAPI

/// Each network-booting machine's iPXE script, from its enrolment record: an unknown
/// machine is recorded as discovered and sent on to its next boot device — or, where a
/// discovery image is configured, boots it, so that its agent can register the machine's
/// EK (a UEFI machine boots the Secure Boot enrolment image instead while enrolment is on);
/// a discovered one likewise waits for an operator; a revoked one is refused (audited at most once an hour per
/// machine, so a boot loop cannot flood the log); an enrolled one boots its image, a
/// Unified Kernel Image, with exactly the command line the catalogue recorded — or, on
/// legacy BIOS, which cannot start a UKI, the image's kernel and initrd sections, with
/// ``legacyBootMarker`` added to the command line: the machine's agent reports it with its
/// attestation, which marks that boot (and only that boot, by its TPM's reset count) as
/// unmeasured. A request claiming legacy BIOS marks nothing by itself — anyone can send
/// one — and is audited, in bounded form, as is every refusal here.
public final class MachineBootScripts: BootScriptSource {
    private let store: EnrolmentStore
    /// Whether scripts have iPXE check each image against its signature.
    private let imageTrust: Bool
    /// The catalogue image machines nobody enrolled boot; nil: they are sent on.
    private let discoveryImage: String?
    /// The image UEFI machines nobody enrolled boot instead while Secure Boot enrolment is on.
    private let enrolmentImage: String?
    private let refusals: RefusalAudit
    /// How fast new discovered machines may be recorded (shared with the agent API).
    private let discoveries: DiscoveryPace
    /// When each revoked machine's refusal was last audited.
    private let refusalsAudited = Mutex<[Int64: Date]>([:])
    private static let refusalAuditInterval: TimeInterval = 3_600

    /// The kernel parameter a legacy BIOS boot's command line carries, which the agent reports.
    static let legacyBootMarker = AgentMessages.legacyBIOSBootParameter

    public init(
        store: EnrolmentStore, imageTrust: Bool = false, discoveryImage: String? = nil,
        enrolmentImage: String? = nil, refusals: RefusalAudit, discoveries: DiscoveryPace
    ) {
        self.store = store
        self.imageTrust = imageTrust
        self.discoveryImage = discoveryImage
        self.enrolmentImage = enrolmentImage
        self.refusals = refusals
        self.discoveries = discoveries
    }

    public func script(for request: BootScriptRequest) throws(BootScriptsUnavailable) -> IPXEScript {
        do throws(StoreError) {
            guard let target = try store.bootTarget(mac: request.mac, uuid: request.uuid) else {
                guard discoveries.admit(request.client) else {
                    refused("too many new machines from \(request.client)", request)
                    return .exit(
                        "this machine is not enrolled, and too many new machines came from this address; try again later"
                    )
                }
                let sighting = BootSighting(
                    mac: request.mac, uuid: request.uuid, platform: request.platform, arch: request.arch,
                    client: request.client)
                let recorded = try store.discoverAtBoot(sighting)
                return try discovery(recorded, request)
                    ?? .exit("this machine is not enrolled; recorded as \(recorded.name) for an operator")
            }
            switch target.state {
            case .revoked, .retired:
                auditRefusal(target, client: request.client)
                return .refuse("machine \(target.name) is \(target.state.rawValue)")
            case .discovered:
                return try discovery(target, request)
                    ?? .exit("machine \(target.name) waits for an operator to enrol it")
            default:
                guard let image = try store.image(ofMachine: target.machineID) else {
                    return .exit("machine \(target.name) is enrolled but has no image assigned")
                }
                if request.isLegacyBIOS {
                    refusals.refused(
                        .legacyBoot, actor: "boot/\(request.client)", subject: "machine/\(target.machineID)",
                        details: "legacy BIOS boot script (kernel and initrd, unmeasured) served for \(target.name)",
                        source: request.client)
                }
                return boot(image, as: target.name, request)
            }
        } catch .limit(let why) {
            refused(why, request)
            return .exit("this machine is not enrolled, and the list of discovered machines is full")
        } catch .unavailable {
            throw BootScriptsUnavailable("the enrolment records are unavailable; retry shortly")
        } catch {
            return .exit("the enrolment records cannot be read now; try again")
        }
    }

    /// The script for a machine nobody enrolled, when an image is configured for it: the
    /// Secure Boot enrolment image while enrolment is on (a legacy BIOS has no Secure Boot),
    /// else the discovery image.
    private func discovery(_ target: BootTarget, _ request: BootScriptRequest) throws(StoreError) -> IPXEScript? {
        let enrolling = request.isLegacyBIOS ? nil : enrolmentImage
        guard let name = enrolling ?? discoveryImage else { return nil }
        do throws(StoreError) {
            return boot(try store.image(named: name), as: target.name, request)
        } catch .notFound {
            return .exit(
                "the \(enrolling == nil ? "discovery" : "Secure Boot enrolment") image \(name) is not in the catalogue; machine \(target.name) waits for an operator"
            )
        }
    }

    /// The script that boots `image` with exactly its recorded command line.
    private func boot(_ image: ImageRecord, as machine: String, _ request: BootScriptRequest) -> IPXEScript {
        let base = "\(request.base)/images/\(image.sha256)"
        do throws(IPXEScript.ScriptError) {
            // A legacy BIOS machine gets the unsigned image's sections; UEFI the file signed
            // for Secure Boot when there is one.
            if request.isLegacyBIOS {
                let commandLine =
                    image.commandLine.isEmpty ? Self.legacyBootMarker : image.commandLine + " " + Self.legacyBootMarker
                return try .chainKernel(
                    machine: machine, kernelURL: base + ".linux", initrdURL: base + ".initrd", commandLine: commandLine,
                    verify: imageTrust)
            }
            return try .chainEFI(
                machine: machine, url: "\(request.base)/images/\(image.servedSHA256).efi",
                commandLine: image.commandLine, verify: imageTrust)
        } catch {
            return .exit("image \(image.name) cannot be booted from a script")
        }
    }

    /// A machine nobody enrolled was not recorded: audited in bounded form.
    private func refused(_ why: String, _ request: BootScriptRequest) {
        refusals.refused(
            .discovery, actor: "boot/\(request.client)", subject: "discovery",
            details: "network-booting machine \(request.mac ?? request.uuid ?? "?") not recorded: \(why)",
            source: request.client)
    }

    private func auditRefusal(_ target: BootTarget, client: String) {
        let now = Date()
        let due = refusalsAudited.withLock { last in
            guard last[target.machineID].map({ now.timeIntervalSince($0) >= Self.refusalAuditInterval }) ?? true else {
                return false
            }
            last[target.machineID] = now
            return true
        }
        guard due else { return }
        refusals.record("boot-refused") {
            try store.audit(
                actor: "boot/\(client)", action: "boot-refused", subject: "machine/\(target.machineID)",
                details:
                    "revoked machine \(target.name) asked for its boot script; refused (further refusals within the hour are not recorded)"
            )
        }
    }
}
