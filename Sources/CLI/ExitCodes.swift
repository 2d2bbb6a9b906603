import Agent
import ArgumentParser
import Foundation
import Packager
import RegistryClient

/// The exit codes of `modelctl`, documented in `docs/cli.md`. Scripts rely on them: change only with the docs.
///
/// | code | meaning |
/// | --- | --- |
/// | 0 | success |
/// | 1 | failure not covered below |
/// | 3 | not found: a file, key, model, version, alias or stage |
/// | 4 | conflict: the target exists already, or changed concurrently |
/// | 5 | verification failed: a digest, size or signature does not check out, or a required signature is missing |
/// | 6 | registry unreachable |
/// | 7 | not authorised: no token, a bad token, or a token without the right |
/// | 64 | usage error |
enum ExitCodes {
    static let success: Int32 = 0
    static let failure: Int32 = 1
    static let notFound: Int32 = 3
    static let conflict: Int32 = 4
    static let verificationFailed: Int32 = 5
    static let registryUnreachable: Int32 = 6
    static let unauthorized: Int32 = 7
    static let usage: Int32 = ExitCode.validationFailure.rawValue

    /// The exit code for a packager failure.
    static func code(for error: PackagerError) -> Int32 {
        switch error.code {
        case .notFound: notFound
        case .alreadyExists: conflict
        case .integrityFailure, .unsigned, .untrustedKey, .tampered: verificationFailed
        case .invalidArgument, .unsupported, .io: failure
        }
    }
}

extension ExitCodes {
    /// The exit code for a registry failure.
    static func code(for error: RegistryClientError) -> Int32 {
        switch error.code {
        case .notFound: notFound
        case .conflict, .preconditionFailed: conflict
        case .integrity: verificationFailed
        case .unreachable: registryUnreachable
        case .unauthorized, .forbidden: unauthorized
        case .invalidArgument, .blobsMissing, .server, .protocolError, .fileSystem: failure
        }
    }
}

/// Runs a command body, turning library errors into a message on stderr and the documented exit code.
///
/// Argument-parser prints other errors itself (`Error: …`, exit 1; usage errors exit 64).
func withExitCodes<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as PackagerError {
        Terminal.error(error.description)
        throw ExitCode(ExitCodes.code(for: error))
    } catch let error as RegistryClientError {
        Terminal.error(error.description)
        throw ExitCode(ExitCodes.code(for: error))
    } catch let error as CommandFailure {
        Terminal.error(error.message)
        throw ExitCode(error.exitCode)
    } catch let error as AgentError {
        Terminal.error(error.message)
        throw ExitCode(
            error.code == .verification || error.code == .refusedDocument
                ? ExitCodes.verificationFailed : ExitCodes.failure
        )
    }
}

/// A failure a command detects itself, with the exit code it documents.
struct CommandFailure: Error {
    var message: String
    var exitCode: Int32

    init(_ message: String, exitCode: Int32 = ExitCodes.failure) {
        self.message = message
        self.exitCode = exitCode
    }
}
