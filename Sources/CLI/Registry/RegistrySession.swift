import Foundation
import Logging
import Registry
import RegistryClient

/// Opens a ``RegistryClient`` for the registry the options resolve to, runs `body`, and shuts the client down.
func withRegistry<T>(
    _ options: RegistryOptions,
    _ body: (RegistryClient, RegistryOptions.Resolved) async throws -> T
) async throws -> T {
    let resolved: RegistryOptions.Resolved
    do {
        resolved = try options.resolve()
    } catch let error as ConfigError {
        throw CommandFailure(error.description)
    }
    var logger = Logger(label: "modelctl.http") { StreamLogHandler.standardError(label: $0) }
    logger.logLevel =
        options.verbose || ProcessInfo.processInfo.environment["MODELCTL_DEBUG"] != nil ? .debug : .critical
    if let certificates = resolved.caCertificate { try RegistryClient.checkCACertificates(certificates) }
    if resolved.token != nil, resolved.url.scheme?.lowercased() == "http",
        !RegistryConfiguration.isLoopback(resolved.url.host ?? "")
    {
        Terminal.note(
            "Warning: sending the token over plain HTTP to \(resolved.url.host ?? "the registry"): anyone on the network can read it; use https://"
        )
    }
    let client = RegistryClient(
        configuration: RegistryClientConfiguration(
            baseURL: resolved.url,
            token: resolved.token,
            userAgent: RegistryClientConfiguration.userAgent(version: Modelctl.version),
            caCertificates: resolved.caCertificate
        ),
        logger: logger
    )
    do {
        let result = try await body(client, resolved)
        try? await client.shutdown()
        return result
    } catch var error as RegistryClientError where error.message.contains("certificate is not trusted") {
        try? await client.shutdown()
        error.message +=
            resolved.caCertificate == nil
            ? "; if it comes from a private CA, pass that CA with --ca-cert FILE (or MODELCTL_CA_CERT)"
            : "; it is not signed by a CA in \(resolved.caCertificate!.path)"
        throw error
    } catch {
        try? await client.shutdown()
        throw error
    }
}

extension RegistryClient {
    /// The version a reference names, with errors a person can act on ("model 'resnet' has no alias 'champion'
    /// (aliases: canary, prod)").
    func version(_ reference: ModelReference) async throws -> RemoteVersion {
        do {
            switch reference {
            case .latest(let model):
                let remote = try await self.model(named: model)
                guard let latest = remote.latestVersion else {
                    throw CommandFailure("model '\(model)' has no versions yet", exitCode: ExitCodes.notFound)
                }
                return try await version(model: model, number: latest)
            case .version(let model, let number):
                return try await version(model: model, number: number)
            case .alias(let model, let alias):
                return try await version(model: model, alias: alias)
            case .stage(let model, let stage):
                return try await version(model: model, stage: RemoteStage(rawValue: stage.rawValue) ?? .none)
            }
        } catch let error as RegistryClientError where error.code == .notFound {
            throw try await explain(error, reference)
        }
    }

    /// Rewrites a 404 into a message naming what exists instead.
    private func explain(_ error: RegistryClientError, _ reference: ModelReference) async throws -> any Error {
        let model: RemoteModel
        do {
            model = try await self.model(named: reference.model)
        } catch let lookup as RegistryClientError where lookup.code == .notFound {
            return CommandFailure("model '\(reference.model)' does not exist", exitCode: ExitCodes.notFound)
        }
        switch reference {
        case .alias(_, let alias):
            let names = model.aliases.keys.sorted()
            let known = names.isEmpty ? "it has none" : "aliases: \(names.joined(separator: ", "))"
            return CommandFailure(
                "model '\(model.name)' has no alias '\(alias)' (\(known))",
                exitCode: ExitCodes.notFound
            )
        case .version(_, let number):
            let latest = model.latestVersion.map { "versions go up to \($0)" } ?? "it has no versions yet"
            return CommandFailure(
                "model '\(model.name)' has no version \(number) (\(latest))",
                exitCode: ExitCodes.notFound
            )
        case .stage(_, let stage):
            return CommandFailure(
                "model '\(model.name)' has no version in stage \(stage.rawValue)",
                exitCode: ExitCodes.notFound
            )
        case .latest:
            return error
        }
    }
}
