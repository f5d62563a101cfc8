import Logging
import Server

/// `warden serve`'s log: every logger of the process writes structured lines to standard
/// error, in the configured format from the configured level on.
enum ServeLogging {
    /// Installs the handler (once per process) and returns the server's own logger.
    static func start(_ configuration: WardenConfiguration) -> Logger {
        let format = StructuredLogHandler.Format(rawValue: configuration.logFormat) ?? .logfmt
        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        LoggingSystem.bootstrap { label in StructuredLogHandler(label: label, format: format, level: level) }
        return Logger(label: "warden.server")
    }
}
