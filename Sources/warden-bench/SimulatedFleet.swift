import Foundation
import WardenAPI
import WardenCLI
import WardenCrypto

/// Software machines made ready to attest: enrolled through an appliance's admin API,
/// registered, activated, and attested once with their release opened and checked as an
/// agent would (their policies are pinned on that first use).
enum SimulatedFleet {
    /// Makes `count` machines named `prefix-0…`; machine `i` joins `servers[i % servers.count]`.
    /// `admin` enrols them; `serverCA` is the CA the appliances' certificates chain to.
    static func prepare(
        count: Int, prefix: String = "bench", scheme: SignatureScheme, scenario: VerificationScenario,
        admin: AdminTarget, servers: [String], serverCA: String
    ) async throws -> [SimulatedMachine] {
        let pcrs = scenario.pcrValues, log = scenario.eventLog
        let machines = try await inParallel(Array(0..<count)) { index in
            try SimulatedMachine(name: "\(prefix)-\(index)", akScheme: scheme, pcrs: pcrs, eventLog: log)
        }
        let client = try await admin.connect()
        for machine in machines {
            let request = AdminMessages.EnrollRequest(
                name: machine.name, ek: Data(machine.ek.publicArea).base64EncodedString(), discoveredID: nil, macs: [],
                uuid: nil, cluster: nil, role: nil,
                policy: nil, labels: [])
            let _: MachineSummaryName = try await client.call(.POST, "/v1/admin/machines", request)
        }
        await client.close()
        _ = try await inParallel(Array(machines.indices)) { (index: Int) in
            let machine = machines[index]
            try await machine.join(server: servers[index % servers.count], serverCA: serverCA)
            guard try await machine.attest(open: true).nodeName == machine.name else {
                throw BenchError("\(machine.name) opened another machine's release")
            }
        }
        return machines
    }

    /// Runs `body` over `items` with four tasks per core, keeping order.
    static func inParallel<Item: Sendable, Result: Sendable>(
        _ items: [Item], _ body: @escaping @Sendable (Item) async throws -> Result
    ) async throws -> [Result] {
        let width = max(2, ProcessInfo.processInfo.activeProcessorCount) * 4
        var results = [Result?](repeating: nil, count: items.count)
        try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            for (index, item) in items.enumerated() {
                if index >= width, let (done, result) = try await group.next() { results[done] = result }
                group.addTask { (index, try await body(item)) }
            }
            for try await (done, result) in group { results[done] = result }
        }
        return results.compactMap { $0 }
    }
}

/// The part of an enrolment answer the benchmark reads.
private struct MachineSummaryName: Decodable {
    let name: String
}
