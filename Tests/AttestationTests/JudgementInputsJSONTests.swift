@testable import Attestation
import Foundation
import Testing
import TSS
import TestSupport
import WardenAPI

/// The judgement's inputs, written by hand for speed, are the very bytes `JSONEncoder` writes
/// for them (keys sorted, slashes unescaped), and read back to the same value.
@Suite struct JudgementInputsJSONTests {
    static let image = BootReference.Image(
        name: "node/1",
        bootApplications: [BootMeasurement(what: "ipxe.efi", sha256: String(repeating: "ab", count: 32))],
        unifiedKernelImage: BootMeasurement(what: "image \"node\"", sha256: String(repeating: "cd", count: 32)),
        pcr11: [BootMeasurement(what: ".linux", sha256: String(repeating: "ef", count: 32))], pcr12: [])

    static var variants: [JudgementInputs] {
        let policies: [JudgementInputs.PolicyStanding] =
            [.firstUse]
            + awkwardJSONTexts.map { .missing(name: $0) }
            + [.version(id: 1, name: "rack", version: 3), .version(id: Int64.max, name: "a/b", version: 0)]
        let images: [JudgementInputs.ImageStanding?] =
            [nil, .measured(reference: image)] + awkwardJSONTexts.map { .unmeasured(reason: $0) }
        let clocks: [TPMAttest.ClockInfo?] = [
            nil, TPMAttest.ClockInfo(clock: 0, resetCount: 0, restartCount: 0, safe: false),
            TPMAttest.ClockInfo(clock: UInt64.max, resetCount: UInt32.max, restartCount: 7, safe: true),
        ]
        var variants: [JudgementInputs] = []
        for (index, state) in MachineState.allCases.enumerated() {
            for policy in policies {
                variants.append(
                    JudgementInputs(
                        machineName: awkwardJSONTexts[index % awkwardJSONTexts.count], machineState: state,
                        nonceProblem: index.isMultiple(of: 2)
                            ? nil : awkwardJSONTexts[(index + 3) % awkwardJSONTexts.count],
                        lastClock: clocks[(index + 1) % clocks.count],
                        legacyBootResetCount: index.isMultiple(of: 3) ? UInt32(index) : nil, policy: policy,
                        image: images[index % images.count]))
            }
        }
        for (index, image) in images.enumerated() {
            variants.append(
                JudgementInputs(
                    machineName: "node-\(index)", machineState: .enrolled, lastClock: clocks[index % clocks.count],
                    policy: .firstUse, image: image))
        }
        return variants
    }

    /// A stored property added later must be written by hand too: this fails until the
    /// writer and these counts are brought up to date together.
    @Test func theWriterKnowsEveryStoredProperty() throws {
        let inputs = try #require(Self.variants.first)
        #expect(Mirror(reflecting: inputs).children.count == 8)
        let clock = TPMAttest.ClockInfo(clock: 1, resetCount: 2, restartCount: 3, safe: true)
        #expect(Mirror(reflecting: clock).children.count == 4)
    }

    @Test func theHandWrittenBytesAreTheEncodersBytes() throws {
        let variants = Self.variants
        #expect(variants.count >= 80)
        for inputs in variants {
            let written = inputs.json
            #expect(
                written == KeptJSON.encode(inputs),
                "\(String(decoding: written, as: UTF8.self)) against \(String(decoding: KeptJSON.encode(inputs), as: UTF8.self))"
            )
            #expect(try JudgementInputs(json: written) == inputs)
        }
    }
}
