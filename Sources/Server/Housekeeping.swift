import Foundation
import Images
import Logging
import ServiceLifecycle
import Store

/// The appliance's housekeeping, a service of its group: every few seconds it writes the
/// refusal summaries that are due (``RefusalAudit``), and every minute it forgets what
/// requests nobody authenticated created and nobody claimed in time — discovered machines
/// past their lifetime, expired nonces — and brings its image folder in line with the
/// catalogue other appliances may have changed. At shutdown it
/// writes the summaries still open, so no counted refusal goes unrecorded.
public struct Housekeeping: Service {
    private let store: EnrolmentStore
    private let refusals: RefusalAudit
    private let images: ImageCatalogue
    private let logger: Logger
    /// How often the expiry and the image synchronisation run.
    static let expiryPeriod: TimeInterval = 60

    public init(store: EnrolmentStore, refusals: RefusalAudit, images: ImageCatalogue, logger: Logger) {
        self.store = store
        self.refusals = refusals
        self.images = images
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
                let lines = (try? await BlockingPools.admin.run { [images] in images.synchronise(now: now) }) ?? []
                for line in lines { logger.info("\(line)") }
            }
        }
        try? await BlockingPools.agent.run { [refusals] in refusals.flush(all: true) }
    }
}
