import TPM

extension BootReference {
    /// Why the boot behind `quote` measured no kernel, or nil when nothing says so: it is
    /// a legacy BIOS boot Warden served (`legacyBoot`, which the store keeps by TPM reset
    /// count), or the firmware's event log records no UEFI event at all (a BIOS log). The
    /// second is only a heuristic — event types are not measured — while the first rests on
    /// what Warden itself served. Without an event log nothing here can tell: a policy that
    /// must know requires the log.
    public static func unmeasuredReason(legacyBoot: Bool, quote: VerifiedQuote) -> String? {
        if legacyBoot {
            return
                "unmeasured boot: Warden booted this machine by legacy BIOS, whose firmware measures neither kernel nor initrd"
        }
        if let log = quote.measuredBoot?.eventLog, !log.events.contains(where: { $0.type.rawValue & 0x8000_0000 != 0 })
        {
            return
                "unmeasured boot: the firmware's event log records no UEFI event (a legacy BIOS log), so nothing measured the kernel"
        }
        return nil
    }
}
