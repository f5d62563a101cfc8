import Foundation
import WardenAPI

/// A simulated machine's attestation request as JSON, encoded once with every field that
/// stays the same (key ID, PCR values, event log) by the agent's own encoder; each quote's
/// nonce, TPMS_ATTEST and signature are put in their places as base64, which JSON carries
/// unescaped, so the body is byte for byte what encoding the whole request would give.
///
/// The load generator shares the appliance's two cores: encoding the 200-event log again for
/// every quote was a fifth of its CPU, taken from the server it measures.
struct AttestRequestBody: Sendable {
    /// The fields that change with each quote, in the order the encoder wrote them.
    private enum Slot: CaseIterable {
        case nonce, attest, signature

        /// What stands in the slot's place while the constant part is encoded: standard
        /// base64 has no `_`, and the key ID is a number, so it cannot occur in any other field.
        var mark: [UInt8] { Array("_warden_bench_\(self)_".utf8) }
    }

    private let slots: [Slot]
    /// The encoded request cut at the slots: one piece more than there are slots.
    private let pieces: [[UInt8]]

    init(attestationKeyID: Int64, pcrs: [UInt8], eventLog: [UInt8]) throws {
        let marked = AgentMessages.AttestRequest(
            attestationKeyID: attestationKeyID, nonce: String(decoding: Slot.nonce.mark, as: UTF8.self),
            attest: String(decoding: Slot.attest.mark, as: UTF8.self),
            signature: String(decoding: Slot.signature.mark, as: UTF8.self), pcrs: Base64.encode(pcrs),
            eventLog: Base64.encode(eventLog))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        var rest = [UInt8](try encoder.encode(marked))[...]
        var found: [(slot: Slot, at: Int)] = []
        for slot in Slot.allCases {
            guard let range = rest.firstRange(of: slot.mark) else {
                throw BenchError("the attestation request's JSON lost its \(slot) field")
            }
            found.append((slot, range.lowerBound))
        }
        found.sort { $0.at < $1.at }
        var pieces: [[UInt8]] = []
        for (slot, at) in found {
            pieces.append(Array(rest[..<at]))
            rest = rest[(at + slot.mark.count)...]
        }
        pieces.append(Array(rest))
        self.slots = found.map(\.slot)
        self.pieces = pieces
    }

    /// The request carrying this quote.
    func json(nonce: [UInt8], attest: [UInt8], signature: [UInt8]) -> [UInt8] {
        var body = pieces[0]
        for (slot, piece) in zip(slots, pieces.dropFirst()) {
            switch slot {
            case .nonce: body += Base64.encode(nonce).utf8
            case .attest: body += Base64.encode(attest).utf8
            case .signature: body += Base64.encode(signature).utf8
            }
            body += piece
        }
        return body
    }
}
