import Foundation
import Images
import Logging
import ServiceLifecycle
import Store

/// The appliance's housekeeping, a service of its group: every few seconds it writes the
/// refusal summaries that are due (``RefusalAudit``), and every minute it forgets what
/// requests nobody authenticated created and nobody claimed in time — discovered machines
/// past their lifetime, expired nonces — brings its image folder in line with the
/// catalogue other appliances may have changed, and stops the appliance (the whole
/// service group, with an error) once an operator removed it. At shutdown it
/// writes the summaries still open, so no counted refusal goes unrecorded.
public struct Housekeeping: Service {
    private let store: EnrolmentStore
    private let refusals: RefusalAudit
    private let images: ImageCatalogue
    private let applianceName: String
    private let logger: Logger
    /// How often the expiry and the image synchronisation run.
    static let expiryPeriod: TimeInterval = 60

    public init(
        store: EnrolmentStore, refusals: RefusalAudit, images: ImageCatalogue, applianceName: String, logger: Logger
    ) {
        self.store = store
        self.refusals = refusals
        self.images = images
        self.applianceName = applianceName
        self.logger = logger
    }

    public func run() async throws {
        let tick = Duration.seconds(min(5, max(1, refusals.interval / 2)))
        var lastExpiry = Date.distantPast
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: tick) } } catch { break }
            let now = Date()
            let expire = now.timeIntervalSince(lastExpiry) >= Self.expiryPeriod
            if expire { lastExpiry = now }
            try? await BlockingPools.agent.run { [store, refusals] in
                refusals.flush(now: now)
                if expire { _ = try? store.expireUnclaimed(now: now) }
            }
            if expire {
                // Images another appliance added without the Secure Boot key are signed here.
                let lines =
                    (try? await BlockingPools.admin.run { [images] in
                        images.signForSecureBoot(actor: "system (Secure Boot)") + images.synchronise(now: now)
                    }) ?? []
                for line in lines { logger.info("\(line)") }
                let standing = try? await BlockingPools.admin.run { [store, applianceName] in
                    try store.appliances().first { $0.name == applianceName }?.state
                }
                if standing == .removed { throw ApplianceRemoved(name: applianceName) }
            }
        }
        try? await BlockingPools.agent.run { [refusals] in refusals.flush(all: true) }
    }
}

/// This appliance was removed by an operator while it ran: it stops.
struct ApplianceRemoved: Error, CustomStringConvertible {
    let name: String
    var description: String { "appliance \(name) was removed from the database's appliances: it stops serving" }
}
