/// The outcome of verifying a model directory against its signature with ``ModelVerifier``.
public enum VerificationResult: Sendable, Equatable {
    /// The signature verifies with trusted key number `keyIndex` (its position in
    /// ``ModelVerifier/trustedKeys``), whose hint is `keyHint`, and the files match it exactly.
    case valid(keyIndex: Int, keyHint: String)
    /// There is no signature file.
    case unsigned
    /// The signature does not verify with any trusted key: made by another key, or its bytes were altered.
    case untrustedKey
    /// The signature is good but the files differ from what it lists. Each list holds relative paths in
    /// component-wise byte order: files whose content changed, files that were not signed, signed files that are
    /// gone.
    case tampered(changed: [String], added: [String], missing: [String])

    /// Whether the result is ``valid(keyIndex:keyHint:)``.
    public var isValid: Bool {
        if case .valid = self { return true }
        return false
    }
}
