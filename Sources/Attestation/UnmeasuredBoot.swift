import TPM

extension BootReference {
    /// The platform a legacy BIOS boot script reports (iPXE's `${platform}`).
    public static let legacyPlatform = "pcbios"

    /// Why the boot behind `quote` measured no kernel, or nil when nothing says so: Warden
    /// handed the machine a kernel and initrd for legacy BIOS (`lastBootPlatform`), or the
    /// firmware's event log records no UEFI event at all (a BIOS log: no firmware measured
    /// what iPXE loaded). Both are checked: a forged boot-script request could claim UEFI
    /// for a legacy machine, and its own firmware's log still says otherwise.
    public static func unmeasuredReason(lastBootPlatform: String?, quote: VerifiedQuote) -> String? {
        if lastBootPlatform == legacyPlatform {
            return "unmeasured boot: Warden last booted this machine by legacy BIOS, whose firmware measures neither kernel nor initrd"
        }
        if let log = quote.measuredBoot?.eventLog, !log.events.contains(where: { $0.type.rawValue & 0x8000_0000 != 0 }) {
            return "unmeasured boot: the firmware's event log records no UEFI event (a legacy BIOS log), so nothing measured the kernel"
        }
        return nil
    }
}
