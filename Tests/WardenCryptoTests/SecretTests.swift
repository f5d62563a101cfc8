import Foundation
import Testing
import WardenCrypto

@Suite struct SecretTests {
    static let token = "K10" + String(repeating: "ab", count: 32) + "::server:do-not-print-this-password"

    /// Every way Swift turns a value into text: interpolation, `String(describing:)`,
    /// `String(reflecting:)`, `dump` and the value inside an optional, an array and a struct.
    @Test func noPrintedFormShowsTheContent() {
        struct Holder { let token: Secret }
        let secret = Secret(text: Self.token)
        var dumped = ""
        dump(Holder(token: secret), to: &dumped)
        let forms = [
            "\(secret)", String(describing: secret), String(reflecting: secret), dumped,
            "\(Optional(secret) as Any)", "\([secret])", "\(Holder(token: secret))",
        ]
        for form in forms {
            #expect(!form.contains("password"), "a printed form shows the secret: \(form.count) characters")
            #expect(!form.contains("K10"), "a printed form shows the secret's prefix")
        }
        #expect(forms[0] == "<secret>")
    }

    @Test func equalityIsByContent() {
        #expect(Secret(text: Self.token) == Secret(bytes: Array(Self.token.utf8)))
        #expect(Secret(text: Self.token) != Secret(text: Self.token + "x"))
        #expect(Secret(bytes: [1, 2, 3]) != Secret(bytes: [1, 2, 4]))
        #expect(Secret(bytes: []) == Secret(bytes: []))
    }

    @Test func jsonCarriesTheTextAndRefusesBinary() throws {
        let encoded = try JSONEncoder().encode([Secret(text: Self.token)])
        #expect(String(decoding: encoded, as: UTF8.self) == "[\"\(Self.token)\"]")
        #expect(try JSONDecoder().decode([Secret].self, from: encoded) == [Secret(text: Self.token)])
        #expect(throws: EncodingError.self) { try JSONEncoder().encode([Secret(bytes: [0xff, 0xfe, 0x00])]) }
    }
}
