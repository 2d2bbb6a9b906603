import Foundation

/// The in-toto statement a model signature signs: the model's name, its subject digest and its manifest.
///
/// Our signer writes it in one canonical layout (compact JSON, fixed key order, see ``canonicalJSON()``), so the
/// same tree always gives the same bytes. The parser accepts any valid JSON layout, as the OpenSSF tool writes
/// protobuf-style JSON with varying key order, and checks everything a verifier relies on.
struct SignatureStatement: Sendable, Equatable {
    /// The in-toto statement type.
    static let statementType = "https://in-toto.io/Statement/v1"
    /// The model-signing predicate type.
    static let predicateType = "https://model_signing/signature/v1.0"

    /// The model's name (informational; never compared by verifiers).
    var modelName: String
    /// The files and digests, in the order of the statement.
    var manifest: ModelManifest
    /// The subject digest as stated (for a parsed statement it has been checked against ``manifest``).
    var subjectDigest: [UInt8]
    /// Relative paths that the signer excluded and a verifier must skip.
    var ignorePaths: [String]
    /// Whether the signer followed symbolic links (ours never does).
    var allowSymlinks: Bool

    /// A statement for `manifest`, with the subject digest computed from it.
    init(modelName: String, manifest: ModelManifest, ignorePaths: [String]) {
        self.modelName = modelName
        self.manifest = manifest
        self.subjectDigest = manifest.subjectDigest
        self.ignorePaths = ignorePaths
        self.allowSymlinks = false
    }

    /// The canonical UTF-8 JSON: compact, keys in the order of the model-signing reference's canonical vector,
    /// non-ASCII raw, no trailing newline.
    func canonicalJSON() -> [UInt8] {
        let resources = manifest.resources.map { resource in
            "{\"name\":\(JSONText.quoted(resource.name)),\"algorithm\":\"sha256\",\"digest\":\"\(resource.hexDigest)\"}"
        }
        let text =
            "{\"_type\":\(JSONText.quoted(Self.statementType)),"
            + "\"subject\":[{\"name\":\(JSONText.quoted(modelName)),"
            + "\"digest\":{\"sha256\":\"\(Hex.encode(subjectDigest))\"}}],"
            + "\"predicateType\":\(JSONText.quoted(Self.predicateType)),"
            + "\"predicate\":{\"serialization\":{\"method\":\"files\",\"hash_type\":\"sha256\","
            + "\"allow_symlinks\":\(allowSymlinks),\"ignore_paths\":\(JSONText.array(ignorePaths))},"
            + "\"resources\":[\(resources.joined(separator: ","))]}}"
        return Array(text.utf8)
    }

    /// Parses and checks a statement.
    ///
    /// Checks: `_type` and `predicateType`; exactly one subject with a lowercase-hex SHA-256 digest;
    /// `serialization` with `method` `files`, `hash_type` `sha256` and a boolean `allow_symlinks`; string
    /// `ignore_paths` if present; resources with unique names, algorithm `sha256` and 32-byte hex digests (either
    /// case); and that the subject digest equals the SHA-256 of the resource digests in listed order (the list is
    /// not re-sorted). Unknown extra fields are ignored.
    ///
    /// - Parameters:
    ///   - payload: The statement bytes, as carried in the envelope.
    ///   - source: The signature file, named in error messages.
    /// - Throws: ``PackagerError`` `.invalidArgument` naming the field for a malformed statement, `.unsupported`
    ///   for another predicate or hashing method, `.integrityFailure` if the subject digest does not match the
    ///   resources.
    static func parse(_ payload: Data, source: String) throws -> SignatureStatement {
        func invalid(_ detail: String) -> PackagerError {
            PackagerError.invalid("signature '\(source)': the signed statement \(detail)")
        }
        guard let root = try? JSONSerialization.jsonObject(with: payload) as? [String: Any] else {
            throw invalid("is not a JSON object")
        }
        guard root["_type"] as? String == statementType else {
            throw invalid("has `_type` \(describe(root["_type"])), expected \"\(statementType)\"")
        }
        guard root["predicateType"] as? String == predicateType else {
            throw PackagerError.unsupported(
                "signature '\(source)': predicate type \(describe(root["predicateType"])) is not supported; "
                    + "expected \"\(predicateType)\""
            )
        }
        guard let subjects = root["subject"] as? [Any], subjects.count == 1,
            let subject = subjects[0] as? [String: Any]
        else {
            throw invalid("must have exactly one `subject`")
        }
        let modelName = subject["name"] as? String ?? ""
        guard let subjectHex = (subject["digest"] as? [String: Any])?["sha256"] as? String,
            subjectHex == subjectHex.lowercased(), let subjectDigest = Hex.decode(subjectHex),
            subjectDigest.count == 32
        else {
            throw invalid("has no lowercase-hex `subject[0].digest.sha256`")
        }
        guard let predicate = root["predicate"] as? [String: Any],
            let serialization = predicate["serialization"] as? [String: Any]
        else {
            throw invalid("has no `predicate.serialization` object")
        }
        guard serialization["method"] as? String == "files" else {
            throw PackagerError.unsupported(
                "signature '\(source)': serialization method \(describe(serialization["method"])) is not "
                    + "supported; only \"files\" is"
            )
        }
        guard serialization["hash_type"] as? String == "sha256" else {
            throw PackagerError.unsupported(
                "signature '\(source)': hash type \(describe(serialization["hash_type"])) is not supported; "
                    + "only \"sha256\" is"
            )
        }
        guard let allowSymlinks = serialization["allow_symlinks"] as? Bool else {
            throw invalid("has no boolean `predicate.serialization.allow_symlinks`")
        }
        var ignorePaths: [String] = []
        if let value = serialization["ignore_paths"], !(value is NSNull) {
            guard let paths = value as? [String] else {
                throw invalid("has a `predicate.serialization.ignore_paths` that is not a list of strings")
            }
            ignorePaths = paths
        }
        guard let resourceList = predicate["resources"] as? [Any] else {
            throw invalid("has no `predicate.resources` list")
        }
        var resources: [ModelManifest.Resource] = []
        var names: Set<String> = []
        for (index, item) in resourceList.enumerated() {
            guard let resource = item as? [String: Any], let name = resource["name"] as? String else {
                throw invalid("has a resource \(index) without a string `name`")
            }
            guard resource["algorithm"] as? String == "sha256" else {
                throw PackagerError.unsupported(
                    "signature '\(source)': resource '\(name)' uses algorithm \(describe(resource["algorithm"])); "
                        + "only \"sha256\" is supported"
                )
            }
            guard let hex = resource["digest"] as? String, let digest = Hex.decode(hex), digest.count == 32 else {
                throw invalid("has no 32-byte hex `digest` for resource '\(name)'")
            }
            guard names.insert(name).inserted else { throw invalid("lists resource '\(name)' twice") }
            resources.append(ModelManifest.Resource(name: name, digest: digest))
        }
        var statement = SignatureStatement(
            modelName: modelName,
            manifest: ModelManifest(resources: resources),
            ignorePaths: ignorePaths
        )
        statement.allowSymlinks = allowSymlinks
        guard statement.subjectDigest == subjectDigest else {
            throw PackagerError(
                .integrityFailure,
                "signature '\(source)': the subject digest \(subjectHex) does not match the listed resources "
                    + "(their digests hash to \(Hex.encode(statement.subjectDigest)))"
            )
        }
        return statement
    }

    private static func describe(_ value: Any?) -> String {
        switch value {
        case nil: "(missing)"
        case let text as String: "\"\(text)\""
        default: "(not a string)"
        }
    }
}
