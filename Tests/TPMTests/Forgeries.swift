import Testing
import TestSupport
import TPM
import TPMSimulation
import TSS
import WardenCrypto

/// One forged or corrupted piece of evidence and the checks that must catch it.
struct Forgery: CustomTestStringConvertible, Sendable {
    let name: String
    let make: @Sendable () throws -> QuoteFiles
    let expected: Set<QuoteCheck>
    var testDescription: String { name }
}

/// Builders for forgeries: genuine swtpm evidence, edited; or attestations a software key
/// signs, so that exactly one field is wrong while the signature still verifies.
enum Forge {
    static func swtpm(_ quote: String = "rsa", ak: String = "rsa", log: Bool = false) throws -> QuoteFiles {
        try QuoteFiles.swtpm(quote, ak: ak, eventLog: log)
    }

    /// quote_rsa re-signed by a software AK after `edit` changed its decoded fields.
    static func resigned(
        key: SoftwareAttestationKey? = nil, hash: String = "sha256",
        _ edit: (TPMAttest) throws -> TPMAttest = { $0 }
    ) throws -> QuoteFiles {
        let genuine = try swtpm()
        let key = try key ?? SoftwareAttestationKey()
        let attest = try edit(TPMAttest.decode(genuine.evidence.attest)).marshaled()
        var files = genuine
        files.evidence.attestationKey = key.publicArea
        files.evidence.attest = attest
        files.evidence.signature = try key.sign(attest)
        files.hash = hash
        return files
    }

    /// A copy of `attest` with some fields replaced.
    static func attest(
        _ a: TPMAttest, magic: UInt32? = nil, type: UInt16? = nil, extraData: [UInt8]? = nil,
        quote: TPMAttest.QuoteInfo?? = nil
    ) -> TPMAttest {
        TPMAttest(
            magic: magic ?? a.magic, type: type ?? a.type, qualifiedSigner: a.qualifiedSigner,
            extraData: extraData ?? a.extraData, clockInfo: a.clockInfo, firmwareVersion: a.firmwareVersion,
            quote: quote ?? a.quote
        )
    }

    /// Evidence whose PCR values were replaced by `edit` (selection and values).
    static func pcrs(_ files: QuoteFiles, _ edit: ([PCRSelection.Bank], [[UInt8]]) -> ([PCRSelection.Bank], [[UInt8]]))
        throws -> QuoteFiles
    {
        let values = try files.pcrValues
        let (banks, list) = edit(values.selection.banks, values.values)
        var edited = files
        edited.evidence.pcrs = try TPM2ToolsPCRFile.serialize(PCRValues(selection: PCRSelection(banks), values: list))
        return edited
    }

    /// quote_log's evidence with its event log edited at the byte level.
    static func eventLog(_ edit: (EventLog, inout [UInt8]) throws -> Void) throws -> QuoteFiles {
        var files = try swtpm("log", log: true)
        var bytes = try SwtpmEvidence.bytes("eventlog.bin")
        try edit(try EventLog.parse(bytes), &bytes)
        files.evidence.eventLog = bytes
        return files
    }

    /// The byte range of a whole event.
    static func range(of event: LogEvent, in log: EventLog) -> Range<Int> {
        let next = log.events.first { $0.index == event.index + 1 }?.offset ?? event.data.endIndex
        return event.offset..<next
    }

    /// The first event matching `predicate`.
    static func event(_ log: EventLog, _ predicate: (LogEvent) -> Bool) throws -> LogEvent {
        guard let event = log.events.first(where: predicate) else { throw ForgeryError("no such event") }
        return event
    }
}

struct ForgeryError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
