import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// What went wrong talking to PostgreSQL, in one line an operator can act on.
enum PostgresFailure: Error, CustomStringConvertible {
    case timedOut(seconds: Int)
    /// The connection was closed (by the server, or because it died) before a statement went.
    case closed
    /// A prepared statement failed other than by the server's refusal: its connection broke
    /// (PostgresNIO reports those in its older error type, the connection's own error
    /// unwrapped, a TLS error when the server died, say).
    case broken(String)

    var description: String {
        switch self {
        case .timedOut(let seconds): "no answer within \(seconds) s"
        case .closed: "the server closed the connection"
        case .broken(let detail): "the connection broke: \(detail)"
        }
    }

    /// A prepared statement's `error` as the store reads it: the server's refusal as it came
    /// (``refusal(_:)`` reads it), anything else as the broken connection it means.
    static func ofPreparedStatement(_ error: any Error) -> any Error {
        if let error = error as? PostgresError, case .server = error { return error }
        return PostgresFailure.broken("\(error)")
    }

    /// Whether `error` is the server's refusal of a prepared statement it no longer runs as
    /// prepared: its result changed (0A000, "cached plan must not change result type") or it
    /// is gone (26000).
    static func isStalePreparedStatement(_ error: any Error) -> Bool {
        guard let (state, _) = refusal(error) else { return false }
        return state == "0A000" || state == "26000"
    }

    /// Whether `error` means the connection or the server's role is gone (a closed
    /// connection, a server shutting down, a primary turned read-only), not that the
    /// statement was wrong: the store then looks for the writable server again.
    static func isFailOver(_ error: any Error) -> Bool {
        if error is PostgresFailure || error is ChannelError { return true }
        if let (state, _) = refusal(error) {
            // 08: connection exception; 57P0x: shutting down; 25006: read-only transaction;
            // 40001 would be a serialization failure, which writes (serialised) never meet.
            return state.hasPrefix("08") || state.hasPrefix("57P0") || state == "25006"
        }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown,
            .messageDecodingFailure, .unexpectedBackendMessage:
            return true
        default:
            return false
        }
    }

    /// A statement's failure as the store reports it: what may succeed when tried again (a
    /// deadlock, a serialisation failure, a lock or statement timeout) as unavailable, the rest
    /// with PostgreSQL's SQLSTATE and message (never its detail, which may quote values).
    static func storeError(_ error: any Error) -> any Error {
        guard let (state, message) = refusal(error) else { return error }
        if ["40P01", "40001", "55P03", "57014"].contains(state) {
            return StoreError.unavailable("\(message) (SQLSTATE \(state)); try again")
        }
        return StoreError.database("\(message) (SQLSTATE \(state))")
    }

    /// The SQLSTATE and message of a statement the server refused, in either of PostgresNIO's
    /// error types; nil for any other failure.
    private static func refusal(_ error: any Error) -> (state: String, message: String)? {
        if let error = error as? PSQLError, error.code == .server {
            return (error.serverInfo?[.sqlState] ?? "", error.serverInfo?[.message] ?? "refused")
        }
        if let error = error as? PostgresError, case .server(let refused) = error {
            return (refused.fields[.sqlState] ?? "", refused.fields[.message] ?? "refused")
        }
        return nil
    }

    /// One line for `error`, naming what to check; never a password.
    static func describe(_ error: any Error, location: PostgresLocation) -> String {
        if let failure = error as? PostgresFailure { return failure.description }
        if let (state, message) = refusal(error) {
            switch state {
            case "28P01":
                return "password authentication failed for user \(location.user) (check the password file)"
            case "28000": return "the server refused user \(location.user): \(message) (check pg_hba.conf)"
            case "3D000": return "database \(location.database) does not exist"
            default: return "\(message) (SQLSTATE \(state))"
            }
        }
        if let error = error as? PSQLError {
            switch error.code {
            case .sslUnsupported:
                return "the server does not offer TLS, and sslmode \(location.sslMode.rawValue) requires it"
            case .authMechanismRequiresPassword:
                return "the server asks for a password and none was given (WARDEN_DATABASE_PASSWORD_FILE)"
            case .unsupportedAuthMechanism:
                return "the server asks for an authentication method Warden does not speak (use scram-sha-256)"
            case .connectionError, .failedToAddSSLHandler, .uncleanShutdown, .serverClosedConnection:
                if let underlying = error.underlying { return describe(underlying, location: location) }
                return "the connection failed (\(error.code))"
            default:
                return "\(error.code)"
            }
        }
        if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname {
            return "the server's certificate does not name the host (sslmode verify-full checks the name)"
        }
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            return tlsFailure("\(error)", location: location)
        }
        if let error = error as? NIOConnectionError {
            return error.connectionErrors.first.map { describe($0.error, location: location) } ?? "cannot connect"
        }
        if let error = error as? IOError {
            return switch error.errnoCode {
            case ECONNREFUSED: "connection refused (is PostgreSQL running and listening there?)"
            case ENOENT: "no socket there (is PostgreSQL running?)"
            case EHOSTUNREACH, ENETUNREACH: "host unreachable"
            default: "\(error)"
            }
        }
        if error is ChannelError { return "the connection closed" }
        return "\(error)"
    }

    private static func tlsFailure(_ detail: String, location: PostgresLocation) -> String {
        if detail.contains("CERTIFICATE_VERIFY_FAILED") {
            return "the server's certificate is not signed by the CA in sslrootcert "
                + (location.sslRootCertificate ?? "(none named)")
        }
        return "TLS failed: \(detail)"
    }
}
