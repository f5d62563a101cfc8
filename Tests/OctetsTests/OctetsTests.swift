import Octets
import Testing

/// The one owner of byte order and MAC addresses reads what it writes, in slices that do
/// not start at zero, and takes no text that is not an address.
@Suite struct OctetsTests {
    @Test func integersRoundTripInBothOrders() {
        let values: [UInt64] = [0, 1, 0x0102_0304_0506_0708, .max]
        for value in values {
            let padded = [0xee, 0xee] + BigEndian.bytes(value)
            #expect(BigEndian.read(UInt64.self, padded[1...], at: 1) == value)
            #expect(LittleEndian.read(UInt64.self, ([0xee] + LittleEndian.bytes(value))[1...], at: 0) == value)
        }
        #expect(BigEndian.bytes(UInt32(0x0a0b_0c0d)) == [0x0a, 0x0b, 0x0c, 0x0d])
        #expect(LittleEndian.bytes(UInt16(0x0a0b)) == [0x0b, 0x0a])
        #expect(BigEndian.read(UInt16.self, [0x12, 0x34][...]) == 0x1234)
        var appended: [UInt8] = [0xff]
        BigEndian.append(UInt32(0x0a0b_0c0d), to: &appended)
        #expect(appended == [0xff, 0x0a, 0x0b, 0x0c, 0x0d])
    }

    @Test func macAddressesHaveOneForm() throws {
        let upper = try #require(MACAddress("52:54:00:AB:CD:EF"))
        #expect(upper.description == "52:54:00:ab:cd:ef")
        #expect(upper == MACAddress("52:54:00:ab:cd:ef"))
        #expect(MACAddress(octets: [0x52, 0x54, 0, 0xab, 0xcd, 0xef] + [UInt8](repeating: 0, count: 10)) == upper)
        #expect(MACAddress(octets: [1, 2, 3]) == nil)
        for text in [
            "", "52:54:00:ab:cd", "52:54:00:ab:cd:ef:01", "52-54-00-ab-cd-ef", "52:54:00:ab:cd:e", "52:54:00:ab:cd:eg",
            "52:54:00:ab:cd:ef:",
            "+2:54:00:ab:cd:ef",
        ] {
            #expect(MACAddress(text) == nil, "\(text)")
        }
    }

    /// A GUID's text is its firmware bytes with the first three fields reversed (UEFI's
    /// EFI_GLOBAL_VARIABLE, as a log carries it), and text and bytes convert both ways.
    @Test func guidsReadAndWriteTheRegistryForm() throws {
        let firmwareOrder: [UInt8] = [
            0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c,
        ]
        #expect(EFIGUID(bytes: firmwareOrder[...]).description == "8be4df61-93ca-11d2-aa0d-00e098032b8c")
        #expect(EFIGUID.globalVariable.bytes == firmwareOrder)
        for text in [
            "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "d719b2cb-3d3a-4596-a3bc-dad00e67656f", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        ] {
            #expect(try #require(EFIGUID(text)).description == text)
        }
        #expect(EFIGUID("D719B2CB-3D3A-4596-A3BC-DAD00E67656F")?.description == "d719b2cb-3d3a-4596-a3bc-dad00e67656f")
        for text in [
            "", "d719b2cb3d3a4596a3bcdad00e67656f", "d719b2cb-3d3a-4596-a3bc-dad00e67656",
            "g719b2cb-3d3a-4596-a3bc-dad00e67656f",
            "+719b2cb-3d3a-4596-a3bc-dad00e67656f", "d719b2cb-3d3a-4596-a3bc-dad00e6765+f",
        ] {
            #expect(EFIGUID(text) == nil)
        }
    }
}
