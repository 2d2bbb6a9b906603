public import Crypto
public import Foundation

/// Signs a model directory in the OpenSSF model-signing v1.1.1 key format.
///
/// The signature is a Sigstore bundle (v0.3) holding a DSSE envelope over an in-toto statement that lists every
/// regular file with its SHA-256, in component-wise byte order, and a subject digest over them. The OpenSSF
/// `model_signing verify key` command accepts it, and ``ModelVerifier`` checks it.
///
/// What is signed: every regular file under the directory, except the top-level git paths
/// (``ModelManifest/gitPaths``), the signature file itself when it lies inside the directory, and any extra paths
/// the caller names. All of these are listed in the statement's `ignore_paths`, as the tool expects. Symbolic links
/// and special files are refused, not followed.
public struct ModelSigner: Sendable {
    /// The signature file name used when none is given: `model.sig` inside the model directory.
    public static let defaultSignatureName = "model.sig"

    /// The key that signs.
    public var privateKey: P256.Signing.PrivateKey

    /// Signs with `privateKey`.
    public init(privateKey: P256.Signing.PrivateKey) {
        self.privateKey = privateKey
    }

    /// Signs with the private key read from a PEM file (`KEY.pem`).
    ///
    /// - Throws: ``PackagerError``, see ``SigningKeyFiles/loadPrivateKey(at:)``.
    public init(privateKeyAt url: URL) throws {
        self.init(privateKey: try SigningKeyFiles.loadPrivateKey(at: url))
    }

    /// Signs `directory` and writes the signature file.
    ///
    /// The file is written as compact JSON without a trailing newline, replacing an earlier signature at that path.
    ///
    /// - Parameters:
    ///   - directory: The model root.
    ///   - signatureURL: Where to write the signature; `directory/model.sig` when `nil`.
    ///   - additionalIgnorePaths: More paths, relative to `directory`, to leave unsigned (listed in `ignore_paths`).
    /// - Returns: The manifest that was signed.
    /// - Throws: ``PackagerError``: `.notFound` if the directory does not exist, `.unsupported` naming a symbolic
    ///   link, special file or non-UTF-8 name, `.invalidArgument` for an ignore path that is absolute or contains
    ///   `..`, `.io` if reading or writing fails.
    @discardableResult
    public func sign(
        directory: URL,
        signatureURL: URL? = nil,
        additionalIgnorePaths: [String] = []
    ) throws -> ModelManifest {
        let signatureURL = signatureURL ?? directory.appending(path: Self.defaultSignatureName)
        var ignorePaths = ModelManifest.gitPaths
        if let inside = Self.relativePath(of: signatureURL, inside: directory) { ignorePaths.append(inside) }
        for path in additionalIgnorePaths {
            guard let normalized = Self.normalizedIgnorePath(path) else {
                throw PackagerError.invalid(
                    "ignore path '\(path)' must be relative to the model directory, without '..'"
                )
            }
            if !ignorePaths.contains(normalized) { ignorePaths.append(normalized) }
        }
        let manifest = try ModelManifest.build(directory: directory, ignoring: ignorePaths)
        let bytes = try signature(for: manifest, modelName: Self.modelName(of: directory), ignorePaths: ignorePaths)
        do {
            try bytes.write(to: signatureURL, options: .atomic)
        } catch {
            throw PackagerError.io("cannot write signature file '\(signatureURL.path)'", cause: error)
        }
        return manifest
    }

    /// Signs a manifest whose digests are already known and returns the signature file's bytes.
    ///
    /// This is how bundles are signed: the packager hashes every file once while building the bundle manifest, so
    /// the signature is made from those digests without staging or reading the files again. The result is the same
    /// as ``sign(directory:signatureURL:additionalIgnorePaths:)`` on the unpacked files.
    ///
    /// - Parameters:
    ///   - manifest: The files to sign with their SHA-256 digests; sorted here with ``ModelManifest/precedes(_:_:)``.
    ///   - modelName: The name the statement gives the model (informational; verifiers do not check it).
    ///   - ignorePaths: The paths a verifier must leave out, listed in the statement's `ignore_paths`.
    /// - Returns: The Sigstore bundle as compact JSON without a trailing newline.
    /// - Throws: ``PackagerError`` `.invalidArgument` for duplicate or unsafe resource names, `.io` if signing fails.
    public func signature(for manifest: ModelManifest, modelName: String, ignorePaths: [String]) throws -> Data {
        var seen = Set<String>()
        for resource in manifest.resources {
            guard Self.normalizedIgnorePath(resource.name) == resource.name, seen.insert(resource.name).inserted,
                resource.digest.count == 32
            else {
                throw PackagerError.invalid(
                    "cannot sign resource '\(resource.name)': names must be unique relative paths without '..', digests 32 bytes"
                )
            }
        }
        let sorted = ModelManifest(resources: manifest.resources.sorted { ModelManifest.precedes($0.name, $1.name) })
        let statement = SignatureStatement(modelName: modelName, manifest: sorted, ignorePaths: ignorePaths)
        let payload = statement.canonicalJSON()
        let signature: P256.Signing.ECDSASignature
        do {
            signature = try privateKey.signature(for: DSSE.preAuthenticationEncoding(payload: payload))
        } catch {
            throw PackagerError.io("signing the statement of '\(modelName)' failed", cause: error)
        }
        let bundle = SignatureBundle(
            hint: TrustedPublicKey(privateKey.publicKey).hint,
            payloadType: DSSE.inTotoPayloadType,
            payload: Data(payload),
            signature: signature.derRepresentation
        )
        return Data(bundle.jsonBytes())
    }

    /// The name the statement gives the model: the directory's last path component (resolved for `.`).
    static func modelName(of directory: URL) -> String {
        let name = directory.standardizedFileURL.lastPathComponent
        if name.isEmpty || name == "." || name == ".." {
            return directory.resolvingSymlinksInPath().standardizedFileURL.lastPathComponent
        }
        return name
    }

    /// The `/`-separated path of `file` relative to `directory`, or `nil` if it does not lie inside it.
    ///
    /// Symbolic links in both paths are resolved first (for the file, only its parent, since it may not exist).
    static func relativePath(of file: URL, inside directory: URL) -> String? {
        let root = directory.resolvingSymlinksInPath().standardizedFileURL.path
        let parent = file.deletingLastPathComponent().resolvingSymlinksInPath().standardizedFileURL
        let path = parent.appending(path: file.lastPathComponent).path
        let prefix = root.hasSuffix("/") ? root : root + "/"
        guard path.hasPrefix(prefix), path.count > prefix.count else { return nil }
        return String(path.dropFirst(prefix.count))
    }

    /// `path` without `./` components or a trailing slash, or `nil` if it is empty, absolute or contains `..`.
    static func normalizedIgnorePath(_ path: String) -> String? {
        guard !path.hasPrefix("/") else { return nil }
        let components = path.split(separator: "/").filter { $0 != "." }
        guard !components.isEmpty, !components.contains("..") else { return nil }
        return components.joined(separator: "/")
    }
}
