import Foundation

/// Assembles a Unified Kernel Image: systemd's EFI stub with the kernel, the initrd, the
/// command line and an os-release added as sections by `objcopy`, each placed after the
/// last at the stub's section alignment (the layout `ukify` makes). The firmware then
/// measures one Authenticode digest that covers all of them.
public struct UKIBuilder: Sendable {
    /// Debian's stub (package systemd-boot-efi).
    public static let debianStub = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub"

    /// Why no image was built.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public var stub = Self.debianStub
    public var objcopy = "/usr/bin/objcopy"

    public init() {}

    /// Builds `output` from `kernel`, `initrd`, `commandLine` and `osRelease`.
    public func build(kernel: String, initrd: String, commandLine: String, osRelease: String, output: String)
        throws(Failure)
    {
        let stubBytes: [UInt8]
        do { stubBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: stub))) } catch {
            throw Failure(
                description:
                    "the EFI stub \(stub) cannot be read (install Debian's systemd-boot-efi): \(error.localizedDescription)"
            )
        }
        let image: PEImage
        do { image = try PEImage(stubBytes) } catch { throw Failure(description: "the EFI stub \(stub): \(error)") }
        guard let last = image.sections.max(by: { $0.virtualAddress < $1.virtualAddress }) else {
            throw Failure(description: "the EFI stub has no sections")
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("warden-uki-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let commandLineFile = work.appendingPathComponent("cmdline").path
        let osReleaseFile = work.appendingPathComponent("os-release").path
        do {
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            try Data(commandLine.utf8).write(to: URL(fileURLWithPath: commandLineFile))
            try Data(osRelease.utf8).write(to: URL(fileURLWithPath: osReleaseFile))
        } catch {
            throw Failure(description: "cannot prepare the image's sections: \(error.localizedDescription)")
        }
        let alignment = UInt64(max(image.sectionAlignment, 512))
        var next = Self.align(
            image.imageBase + UInt64(last.virtualAddress + max(last.virtualSize, last.rawSize)), alignment)
        var arguments: [String] = []
        for (name, file) in [
            (".osrel", osReleaseFile), (".cmdline", commandLineFile), (".linux", kernel), (".initrd", initrd),
        ] {
            arguments += [
                "--add-section", "\(name)=\(file)", "--change-section-vma", "\(name)=0x" + String(next, radix: 16),
            ]
            next = Self.align(next + (try Self.size(of: file)), alignment)
        }
        try run(arguments + [stub, output])
    }

    private func run(_ arguments: [String]) throws(Failure) {
        do { _ = try ImageTool.run(objcopy, arguments, hint: "install binutils") } catch {
            throw Failure(description: error.description)
        }
    }

    private static func size(of file: String) throws(Failure) -> UInt64 {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? NSNumber else {
            throw Failure(description: "\(file) cannot be read")
        }
        return size.uint64Value
    }

    private static func align(_ value: UInt64, _ alignment: UInt64) -> UInt64 {
        (value + alignment - 1) / alignment * alignment
    }
}
