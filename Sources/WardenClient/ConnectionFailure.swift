import NIOCore
import NIOPosix
import NIOSSL

#if canImport(Glibc)
import Glibc
#endif

/// What went wrong reaching a Warden server, in one line an operator can act on, instead of
/// the library's own error (`SingleConnectionFailure(… errno: 111)`, `BoringSSLError …`).
enum ConnectionFailure {
    /// `error`, from connecting to `host`:`port` and checking it against the CA in `serverCA`.
    static func explain(_ error: any Error, host: String, port: Int, serverCA: String) -> ClientError {
        let place = "\(host.contains(":") ? "[\(host)]" : host):\(port)"
        switch error {
        case let failure as NIOConnectionError:
            if failure.connectionErrors.isEmpty, failure.dnsAError != nil || failure.dnsAAAAError != nil {
                return .connection("cannot resolve \(host): check the server's name")
            }
            let codes = failure.connectionErrors.compactMap { ($0.error as? IOError)?.errnoCode }
            if codes.contains(ECONNREFUSED) {
                return .connection("nothing listens on \(place) (connection refused): is `warden serve` running there?")
            }
            if let code = codes.first {
                return .connection("cannot reach \(place): \(String(cString: strerror(code)))")
            }
            return .connection("cannot reach \(place)")
        case ChannelError.connectTimeout(let after):
            return .connection(
                "\(place) did not answer within \(after.nanoseconds / 1_000_000_000) s: check the address and any firewall"
            )
        case let failure as NIOSSLError:
            let text = "\(failure)"
            if text.contains("WRONG_VERSION_NUMBER") || text.contains("PACKET_LENGTH_TOO_LONG") {
                return .connection(
                    "\(place) does not speak TLS: is that Warden's HTTPS API port (apiPort), not boot HTTP or another service?"
                )
            }
            if text.contains("CERTIFICATE_VERIFY_FAILED") {
                return .untrustedServer(
                    "the certificate of \(place) is not signed by the CA in \(serverCA): is it the Warden server that identity belongs to?"
                )
            }
            if case .unableToValidateCertificate = failure {
                return .untrustedServer(
                    "the certificate of \(place) does not name \(host): call it by one of its serverNames, or reissue it with those names"
                )
            }
            return .untrustedServer("the TLS handshake with \(place) failed: \(text)")
        case let failure as IOError where failure.errnoCode == ECONNRESET || failure.errnoCode == EPIPE:
            return .connection("\(place) closed the connection during the handshake: is it a Warden server?")
        default:
            return .connection("\(place): \(error)")
        }
    }
}
