public import Foundation

/// The outcome of ``BundleVerifier/verify(_:)``.
public struct BundleVerification: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// A `.tar` or `.tar.zst` bundle, checked without unpacking.
        case bundle
        /// A directory: an unpacked bundle or a signed model directory.
        case directory
    }

    public var kind: Kind
    /// The bundle manifest, when there is one (always for a bundle; for a directory, when it has `manifest.json`).
    public var manifest: BundleManifest?
    /// Whether every file was checked against the manifest's sizes and digests.
    public var integrityChecked: Bool
    /// The signature check, or `nil` when no trusted key was given.
    public var signature: VerificationResult?

    /// Whether nothing failed: integrity (when checked) held and the signature, when checked, is valid.
    public var isValid: Bool { signature.map(\.isValid) ?? true }
}

/// Verifies a bundle or a directory: the files against the manifest, and the signature against trusted keys.
///
/// A bundle is read once in a streaming pass with every safety check of ``BundleReader``; its entries' digests then
/// stand in for the unpacked files, so the signature is checked without unpacking. A directory is hashed once; when
/// it holds `manifest.json` (an unpacked bundle) every file is compared with the manifest, and the signature, if keys
/// are given, is checked against the same digests.
public struct BundleVerifier: Sendable {
    public var trustedKeys: [TrustedPublicKey]
    public var limits: BundleReader.Limits

    public init(trustedKeys: [TrustedPublicKey], limits: BundleReader.Limits = .init()) {
        self.trustedKeys = trustedKeys
        self.limits = limits
    }

    /// Verifies `url`, a bundle file or a directory.
    ///
    /// - Returns: What was checked and the signature's outcome. An unsigned, untrusted or tampered signature is a
    ///   result, not an error.
    /// - Throws: ``PackagerError`` `integrityFailure` naming every file that differs from the manifest (changed,
    ///   added, missing), `invalidArgument` for an unsafe or malformed bundle or a directory with neither a manifest
    ///   nor keys to check, `notFound` when `url` does not exist.
    public func verify(_ url: URL) throws -> BundleVerification {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw PackagerError.notFound("\(url.path) does not exist")
        }
        return isDirectory.boolValue ? try verifyDirectory(url) : try verifyBundle(url)
    }

    private func verifyBundle(_ url: URL) throws -> BundleVerification {
        let contents = try BundleReader(limits: limits).check(url)
        var result = BundleVerification(
            kind: .bundle,
            manifest: contents.manifest,
            integrityChecked: true,
            signature: nil
        )
        guard !trustedKeys.isEmpty else { return result }
        guard let signature = contents.signature else {
            result.signature = .unsigned
            return result
        }
        result.signature = try ModelVerifier(trustedKeys: trustedKeys).verify(
            signature: signature,
            source: "\(url.lastPathComponent):\(BundleManifest.signatureName)",
            files: contents.signedFiles
        )
        return result
    }

    /// Verifies a directory whose files' digests the caller has already checked, without hashing them again.
    ///
    /// `modelctl pull` uses it: every file it wrote was hashed while downloading and matched the registry's digest,
    /// so those digests stand for the files. The directory's listing is still read and must hold exactly the files
    /// given (a file the caller did not account for is an `integrityFailure`).
    ///
    /// - Parameters:
    ///   - url: The directory.
    ///   - files: Every file in it (with `manifest.json`, `preprocessing.json` and `model.sig` when present) and
    ///     its SHA-256.
    /// - Throws: ``PackagerError`` as ``verify(_:)`` does.
    public func verify(directory url: URL, knownDigests files: ModelManifest) throws -> BundleVerification {
        let listed = try ModelManifest.regularFiles(in: url, ignoring: []).map(\.name)
        let given = Set(files.resources.map(\.name))
        if let stray = listed.first(where: { !given.contains($0) }) {
            throw PackagerError(
                .integrityFailure,
                "'\(stray)' in \(url.path) is not one of the files that were checked"
            )
        }
        if let absent = files.resources.map(\.name).first(where: { !listed.contains($0) }) {
            throw PackagerError(.integrityFailure, "'\(absent)' is missing from \(url.path)")
        }
        let present = files.resources.filter {
            $0.name != BundleManifest.signatureName && !ModelManifest.gitPaths.contains($0.name)
        }
        return try verifyDirectory(url, onDisk: ModelManifest(resources: present))
    }

    private func verifyDirectory(_ url: URL, onDisk known: ModelManifest? = nil) throws -> BundleVerification {
        let manifestURL = url.appending(path: BundleManifest.manifestName)
        let hasManifest = FileManager.default.fileExists(atPath: manifestURL.path)
        guard hasManifest || !trustedKeys.isEmpty else {
            throw PackagerError.invalid(
                "nothing to verify in \(url.path): it has no \(BundleManifest.manifestName) and no trusted key was given (--key)"
            )
        }
        let onDisk =
            try known
            ?? ModelManifest.build(directory: url, ignoring: ModelManifest.gitPaths + [BundleManifest.signatureName])
        var result = BundleVerification(kind: .directory, manifest: nil, integrityChecked: false, signature: nil)
        if hasManifest {
            let data: Data
            do {
                data = try Data(contentsOf: manifestURL)
            } catch {
                throw PackagerError.io("cannot read \(manifestURL.path)", cause: error)
            }
            let manifest = try BundleReader.decodeManifest(data)
            try Self.compare(manifest, with: onDisk)
            result.manifest = manifest
            result.integrityChecked = true
        }
        guard !trustedKeys.isEmpty else { return result }
        let signatureURL = url.appending(path: BundleManifest.signatureName)
        guard FileManager.default.fileExists(atPath: signatureURL.path) else {
            result.signature = .unsigned
            return result
        }
        let signature: Data
        do {
            signature = try Data(contentsOf: signatureURL)
        } catch {
            throw PackagerError.io("cannot read signature file \(signatureURL.path)", cause: error)
        }
        result.signature = try ModelVerifier(trustedKeys: trustedKeys).verify(
            signature: signature,
            source: signatureURL.path,
            files: onDisk
        )
        return result
    }

    /// Compares an unpacked bundle's files with its manifest; throws naming every difference.
    static func compare(_ manifest: BundleManifest, with onDisk: ModelManifest) throws {
        let reserved: Set = [BundleManifest.manifestName, BundleManifest.preprocessingName]
        let actual = Dictionary(
            uniqueKeysWithValues: onDisk.resources.filter { !reserved.contains($0.name) }.map {
                ($0.name, $0.hexDigest)
            }
        )
        let expected = Dictionary(
            manifest.files.map { ($0.path, $0.sha256.lowercased()) },
            uniquingKeysWith: { a, _ in a }
        )
        let order = { (names: [String]) in names.sorted(by: ModelManifest.precedes) }
        let changed = order(expected.keys.filter { actual[$0] != nil && actual[$0] != expected[$0] })
        let added = order(actual.keys.filter { expected[$0] == nil })
        let missing = order(expected.keys.filter { actual[$0] == nil })
        guard changed.isEmpty, added.isEmpty, missing.isEmpty else {
            var parts: [String] = []
            if !changed.isEmpty { parts.append("changed: \(changed.joined(separator: ", "))") }
            if !added.isEmpty { parts.append("not in the manifest: \(added.joined(separator: ", "))") }
            if !missing.isEmpty { parts.append("missing: \(missing.joined(separator: ", "))") }
            throw PackagerError(
                .integrityFailure,
                "the files differ from \(BundleManifest.manifestName): \(parts.joined(separator: "; "))"
            )
        }
    }
}
