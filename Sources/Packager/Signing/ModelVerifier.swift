public import Foundation

/// Verifies a model directory against an OpenSSF model-signing key signature (Sigstore bundle v0.3).
///
/// It accepts what ``ModelSigner`` writes and what the OpenSSF `model_signing sign key` command (1.1.1 and older
/// layouts) writes. Steps:
/// 1. No signature file: ``VerificationResult/unsigned``.
/// 2. Parse the bundle strictly (see ``SignatureBundle``); a malformed one is an error, not a result.
/// 3. Verify the DSSE signature over the payload bytes as received with each trusted key in turn. A non-empty hint
///    in the bundle (it is not signed) only rules out keys whose hint differs. None verifies:
///    ``VerificationResult/untrustedKey``.
/// 4. Parse and check the signed statement, including its subject digest.
/// 5. Rebuild the manifest from disk — skipping the top-level git paths, the signature file when inside the
///    directory, the statement's `ignore_paths` and the caller's extra ignore paths — and compare it with the
///    statement name by name: ``VerificationResult/tampered(changed:added:missing:)`` or
///    ``VerificationResult/valid(keyIndex:keyHint:)``.
///
/// It does not check the model name in the statement (informational only) and does not support certificate,
/// keyless or transparency-log bundles, or statements hashed with anything other than whole-file SHA-256.
public struct ModelVerifier: Sendable {
    /// The keys a signature may be made with, in order of preference.
    public var trustedKeys: [TrustedPublicKey]

    /// A verifier that trusts `trustedKeys`.
    public init(trustedKeys: [TrustedPublicKey]) {
        self.trustedKeys = trustedKeys
    }

    /// Verifies `directory` against its signature.
    ///
    /// - Parameters:
    ///   - directory: The model root.
    ///   - signatureURL: The signature file; `directory/model.sig` when `nil`.
    ///   - additionalIgnorePaths: More paths, relative to `directory`, to leave out of the comparison (for
    ///     signatures whose signer ignored a path without listing it).
    /// - Returns: The outcome; see ``VerificationResult``.
    /// - Throws: ``PackagerError``: `.invalidArgument` if no key is trusted or the bundle or its statement is
    ///   malformed (naming the field), `.unsupported` for a kind of signature this verifier does not handle,
    ///   `.integrityFailure` if the signed subject digest does not match the signed resources, `.notFound` if the
    ///   directory does not exist, `.unsupported` naming a symbolic link or special file in it, `.io` on read
    ///   failures.
    public func verify(
        directory: URL,
        signatureURL: URL? = nil,
        additionalIgnorePaths: [String] = []
    ) throws -> VerificationResult {
        guard !trustedKeys.isEmpty else {
            throw PackagerError.invalid("no trusted public key was given to verify '\(directory.path)' with")
        }
        let signatureURL = signatureURL ?? directory.appending(path: ModelSigner.defaultSignatureName)
        guard FileManager.default.fileExists(atPath: signatureURL.path) else { return .unsigned }
        let data: Data
        do {
            data = try Data(contentsOf: signatureURL)
        } catch {
            throw PackagerError.io("cannot read signature file '\(signatureURL.path)'", cause: error)
        }
        guard let (keyIndex, statement) = try authenticate(data, source: signatureURL.path) else {
            return .untrustedKey
        }
        var ignorePaths = ModelManifest.gitPaths
        ignorePaths += statement.ignorePaths.compactMap(ModelSigner.normalizedIgnorePath)
        ignorePaths += additionalIgnorePaths.compactMap(ModelSigner.normalizedIgnorePath)
        if let inside = ModelSigner.relativePath(of: signatureURL, inside: directory) { ignorePaths.append(inside) }
        let onDisk = try ModelManifest.build(directory: directory, ignoring: ignorePaths)
        return compare(signed: statement.manifest, actual: onDisk, keyIndex: keyIndex)
    }

    /// Verifies a signature against files whose digests are already known, such as the entries of a bundle that
    /// ``BundleReader`` has checked.
    ///
    /// Files the statement's `ignore_paths` or the top-level git paths cover are left out of `files` before the
    /// comparison, as they are when verifying a directory; so is `model.sig`.
    ///
    /// - Parameters:
    ///   - signature: The bytes of the signature file.
    ///   - source: How to name the signature in errors (e.g. `bundle.tar.zst:model.sig`).
    ///   - files: Every file present, with its SHA-256.
    /// - Returns: The outcome; see ``VerificationResult``.
    /// - Throws: ``PackagerError`` as ``verify(directory:signatureURL:additionalIgnorePaths:)`` does for the signature,
    ///   and `invalidArgument` when `files` lists a name twice.
    public func verify(signature: Data, source: String, files: ModelManifest) throws -> VerificationResult {
        guard !trustedKeys.isEmpty else {
            throw PackagerError.invalid("no trusted public key was given to verify '\(source)' with")
        }
        var names = Set<String>()
        for resource in files.resources where !names.insert(resource.name).inserted {
            throw PackagerError.invalid(
                "file '\(resource.name)' is listed twice among the files to verify '\(source)' against"
            )
        }
        guard let (keyIndex, statement) = try authenticate(signature, source: source) else { return .untrustedKey }
        var ignored = ModelManifest.gitPaths + [ModelSigner.defaultSignatureName]
        ignored += statement.ignorePaths.compactMap(ModelSigner.normalizedIgnorePath)
        let prefixes = ignored.map { $0.split(separator: "/").map(String.init) }
        let present = files.resources.filter { resource in
            let components = resource.name.split(separator: "/").map(String.init)
            return !prefixes.contains { components.starts(with: $0) }
        }
        return compare(signed: statement.manifest, actual: ModelManifest(resources: present), keyIndex: keyIndex)
    }

    /// Parses the signature and finds the trusted key it verifies with; `nil` when none does.
    private func authenticate(_ data: Data, source: String) throws -> (Int, SignatureStatement)? {
        let bundle = try SignatureBundle.parse(data, source: source)
        guard bundle.payloadType == DSSE.inTotoPayloadType else {
            throw PackagerError.invalid(
                "signature '\(source)': payload type \"\(bundle.payloadType)\" is not \"\(DSSE.inTotoPayloadType)\""
            )
        }
        let signedBytes = DSSE.preAuthenticationEncoding(payload: bundle.payload)
        for (index, key) in trustedKeys.enumerated() {
            if let hint = bundle.hint, !hint.isEmpty, hint != key.hint { continue }
            if key.isValidSignature(der: bundle.signature, for: signedBytes) {
                return (index, try SignatureStatement.parse(bundle.payload, source: source))
            }
        }
        return nil
    }

    private func compare(signed: ModelManifest, actual: ModelManifest, keyIndex: Int) -> VerificationResult {
        let signed = Dictionary(uniqueKeysWithValues: signed.resources.map { ($0.name, $0.digest) })
        let actual = Dictionary(uniqueKeysWithValues: actual.resources.map { ($0.name, $0.digest) })
        let ordered = { (names: [String]) in names.sorted(by: ModelManifest.precedes) }
        let changed = ordered(signed.keys.filter { name in actual[name].map { $0 != signed[name] } ?? false })
        let added = ordered(actual.keys.filter { signed[$0] == nil })
        let missing = ordered(signed.keys.filter { actual[$0] == nil })
        if changed.isEmpty, added.isEmpty, missing.isEmpty {
            return .valid(keyIndex: keyIndex, keyHint: trustedKeys[keyIndex].hint)
        }
        return .tampered(changed: changed, added: added, missing: missing)
    }
}
