/// `README.txt` of every bundle: what is in it and how to check it without Warden.
enum BundleReadme {
    static let text = """
        Warden audit export
        ===================

        records.jsonl      the audit records, one JSON object per line, in chain order,
                           each naming the appliance that wrote it
        records.csv        the same records as CSV
        checkpoints.jsonl  signed chain heads (Ed25519, audit key) within this stretch
        evidence/ID/       each attestation's raw evidence in tpm2-tools' file formats
                           (ak.pub, quote.msg, quote.sig, quote.pcrs, eventlog.bin, nonce),
                           boot-reference.json where the verdict compared the boot with
                           Warden's reference (the machine's image: the PCR 4 applications,
                           PCR 11 and PCR 12 events it predicts; or why no kernel was measured),
                           legacy-bios where the agent reported a legacy BIOS boot,
                           judgement.json (what the verdict was judged on besides the evidence)
                           and attestation.json (recorded verdict, policy version)
        policies/          every policy version those attestations were judged by
        bundle.json        the stretch: first and last sequence, hashes, filters
        audit-key.pem      the audit public key (compare its fingerprint with the one
                           you were given: openssl pkey -pubin -in audit-key.pem -outform DER | sha256sum)
        manifest.sha256    SHA-256 of every other file; manifest.sha256.sig signs it

        Check the signature and the files with standard tools:

          openssl pkeyutl -verify -pubin -inkey audit-key.pem -rawin \\
              -in manifest.sha256 -sigfile manifest.sha256.sig
          sha256sum -c manifest.sha256

        Re-check one quote:

          tpm2_checkquote -u evidence/ID/ak.pub -m evidence/ID/quote.msg -s evidence/ID/quote.sig \\
              -f evidence/ID/quote.pcrs -g sha256 -q evidence/ID/nonce

        Everything (chain, checkpoints, every verdict re-computed):

          warden audit verify BUNDLE.tar.gz --key PINNED-KEY.pem [--previous OLDER.tar.gz]

        """
}
