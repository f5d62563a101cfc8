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
}
