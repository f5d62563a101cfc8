// swift-tools-version:6.0
import PackageDescription

/// Warden: TPM 2.0 attestation, measured-boot verification and bare-metal provisioning.
///
/// C libraries (TSS, OpenSSL's libcrypto, libarchive) are system-library targets; each has
/// exactly one Swift module above it that owns its handles (`TSS`, `WardenCrypto`, `Archive`).
/// `CDatagrams` is Warden's own C: segmented UDP sends and `sendmmsg(2)`, which Swift's Glibc module does not declare;
/// `CFileFlags` the one ioctl(2) the agent makes (a file's immutable attribute), which Swift cannot call.
let package = Package(
    name: "Warden",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "warden", targets: ["warden"]),
        .executable(name: "warden-agent", targets: ["warden-agent"]),
        .executable(name: "warden-bench", targets: ["warden-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.30.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.20.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.3.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CTSS2",
            pkgConfig: "tss2-esys",
            providers: [.apt(["libtss2-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CArchive",
            pkgConfig: "libarchive",
            providers: [.apt(["libarchive-dev"])]
        ),
        .target(name: "TSS", dependencies: ["CTSS2", "Octets"]),
        .target(name: "WardenAPI", dependencies: ["WardenCrypto"]),
        .target(
            name: "WardenClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        // Integers in either byte order and hardware addresses, as every layer reads and writes them.
        .target(name: "Octets"),
        .target(name: "WardenCrypto", dependencies: ["COpenSSL", "Octets"]),
        .target(name: "Archive", dependencies: ["CArchive"]),
        // UEFI Secure Boot variables: signature lists and authenticated updates.
        .target(name: "UEFIVariables", dependencies: ["Octets", "WardenCrypto"]),
        .target(name: "TPM", dependencies: ["Octets", "TSS", "WardenCrypto"]),
        // Software EKs, AKs and event logs: for the tests and benchmarks, never in a product.
        .target(name: "TPMSimulation", dependencies: ["Octets", "TPM", "TSS", "WardenCrypto"]),
        .target(
            name: "Store",
            dependencies: [
                "Attestation", "Octets", "TPM", "TSS", "WardenAPI", "WardenCrypto",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]),
        .target(
            name: "Attestation",
            dependencies: [
                "Octets", "TPM", "TSS", "WardenAPI", "WardenCrypto", .product(name: "Yams", package: "Yams"),
            ]),
        .target(name: "CDatagrams"),
        .target(name: "CFileFlags"),
        // PostgreSQL clusters of Warden's own, for its tests, benchmarks and labs: never in a product.
        .target(name: "LocalPostgres"),
        .target(
            name: "Boot",
            dependencies: [
                "CDatagrams", "Octets",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Images",
            dependencies: [
                "Archive", "Attestation", "Boot", "ImageBuilding", "Octets", "Store", "WardenAPI", "WardenCrypto",
            ]),
        // Building UKIs and the agent's initrd overlay on an operator's machine.
        .target(name: "ImageBuilding", dependencies: ["Archive"]),
        // The bundle's line format: its own small module, so that its fuzz target builds fast.
        .target(name: "BundleLines", dependencies: ["WardenCrypto"]),
        .target(
            name: "Audit",
            dependencies: [
                "Store", "Attestation", "TPM", "Archive", "BundleLines", "WardenCrypto",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "Server",
            dependencies: [
                "Store", "Attestation", "Audit", "Boot", "ImageBuilding", "Images", "Octets", "TPM", "TSS",
                "UEFIVariables", "WardenCrypto", "WardenAPI", .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The operator's and auditor's client: the admin API and the verifier's tools, no server module.
        .target(
            name: "WardenCLI",
            dependencies: [
                "Octets", "TPM", "WardenCrypto", "WardenAPI", "WardenClient", "ImageBuilding",
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The commands that run the appliance or read its state folder and bundles: `serve`,
        // `operator recover`, `audit`; and `warden`'s root, which gathers both.
        .target(
            name: "WardenAppliance",
            dependencies: [
                "WardenCLI", "Server", "Store", "Audit", "Boot", "Images", "UEFIVariables", "WardenAPI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "warden", dependencies: ["WardenAppliance"]),
        // The benchmarks: their own executable, beside `warden`, whose `serve` they measure.
        .executableTarget(
            name: "warden-bench",
            dependencies: [
                "WardenCLI", "TPMSimulation", "LocalPostgres", "Audit", "Boot", "Images", "Octets", "Server", "Store",
                "TPM", "TSS",
                "WardenAPI", "WardenClient", "WardenCrypto",
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The node's agent: TPM, OpenSSL and an HTTPS client; no HTTP server, no database.
        .target(
            name: "AgentCore",
            dependencies: [
                "Octets", "TPM", "TSS", "WardenCrypto", "WardenAPI", "WardenClient", "CFileFlags",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "warden-agent",
            dependencies: [
                "AgentCore", "WardenAPI", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "TestSupport", dependencies: ["LocalPostgres", "Store", "TPM", "WardenCrypto"],
            path: "Tests/TestSupport"),
        .testTarget(name: "WardenCryptoTests", dependencies: ["WardenCrypto"]),
        .testTarget(
            name: "UEFIVariablesTests", dependencies: ["Octets", "UEFIVariables", "WardenCrypto", "TestSupport"]),
        .testTarget(name: "TSSTests", dependencies: ["TSS", "TestSupport"]),
        .testTarget(name: "TPMTests", dependencies: ["TPM", "TPMSimulation", "TSS", "WardenCrypto", "TestSupport"]),
        .testTarget(
            name: "AttestationTests", dependencies: ["Attestation", "TPM", "TPMSimulation", "TSS", "TestSupport"]),
        .testTarget(
            name: "StoreTests",
            dependencies: [
                "Attestation", "LocalPostgres", "Octets", "Store", "TPM", "WardenAPI", "WardenCrypto", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Boot", "ImageBuilding", "Images", "Server", "Store", "TPM", "TSS", "WardenCrypto", "WardenAPI",
                "TestSupport",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SystemTests",
            dependencies: [
                "LocalPostgres", "Octets", "Store", "TPM", "TPMSimulation", "TSS", "WardenCrypto", "WardenAPI",
                "WardenClient", "TestSupport", .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(name: "ArchiveTests", dependencies: ["Archive", "TestSupport"]),
        .testTarget(
            name: "BootTests", dependencies: ["Boot", "TestSupport", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(
            name: "ImagesTests",
            dependencies: ["Images", "ImageBuilding", "Boot", "Store", "WardenCrypto", "TestSupport"]),
        .testTarget(
            name: "AuditTests",
            dependencies: [
                "Attestation", "Audit", "Store", "Server", "TPM", "TPMSimulation", "TSS", "WardenAPI", "WardenCrypto",
                "TestSupport", .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .testTarget(name: "WardenCLITests", dependencies: ["TestSupport", "WardenCLI"]),
        .testTarget(name: "OctetsTests", dependencies: ["Octets"]),
    ]
)

/// libFuzzer targets, one per parser. They define LLVMFuzzerTestOneInput instead of main,
/// so they exist only in fuzzing builds: `make fuzz` sets WARDEN_FUZZ=1 (see the Makefile).
if Context.environment["WARDEN_FUZZ"] != nil {
    let parsers: [(name: String, modules: [Target.Dependency])] = [
        ("Attest", ["TPM", "TSS"]), ("Signature", ["TPM", "TSS"]), ("Public", ["TPM", "TSS"]),
        ("PCRFile", ["TPM", "TSS"]), ("EventLog", ["TPM", "TSS"]),
        ("TFTP", ["Boot"]), ("DHCP", ["Boot"]), ("AgentBody", ["TPM", "TSS", "WardenAPI"]),
        ("BundleLine", ["BundleLines"]),
    ]
    for parser in parsers {
        package.targets.append(
            .executableTarget(
                name: "Fuzz\(parser.name)", dependencies: parser.modules, path: "Tests/Fuzz/Fuzz\(parser.name)"))
        package.products.append(.executable(name: "fuzz-\(parser.name.lowercased())", targets: ["Fuzz\(parser.name)"]))
    }
}
