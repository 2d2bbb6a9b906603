import ArgumentParser
import Foundation

/// `--registry` and `--token`, for every command that talks to a registry.
///
/// Precedence: these flags, then `MODELCTL_REGISTRY` / `MODELCTL_TOKEN`, then the stored login
/// (``UserConfig``), then `http://127.0.0.1:8080` without a token.
struct RegistryOptions: ParsableArguments {
    static let defaultRegistry = "http://127.0.0.1:8080"

    @Option(
        help: ArgumentHelp(
            "The registry's URL (default: MODELCTL_REGISTRY, the stored login, \(defaultRegistry)).",
            valueName: "URL"
        )
    )
    var registry: String?

    @Option(help: ArgumentHelp("The API token (default: MODELCTL_TOKEN, the stored login).", valueName: "TOKEN"))
    var token: String?

    @Option(
        name: .customLong("ca-cert"),
        help: ArgumentHelp(
            "PEM file of the CA certificates to trust for an https:// registry instead of the system's (default: MODELCTL_CA_CERT).",
            valueName: "FILE"
        )
    )
    var caCertificate: String?

    @Flag(
        name: [.customShort("v"), .long],
        help: "Log every HTTP request (method, path, status, time) to stderr; never the token."
    )
    var verbose = false

    func validate() throws {
        if let registry { _ = try Self.parseURL(registry) }
    }

    /// The registry URL and token in effect, and where the URL came from.
    struct Resolved: Equatable {
        enum Source: String {
            case flag, environment, config
            case builtIn = "default"
        }
        var url: URL
        var token: String?
        var source: Source
        /// CA certificates to trust (`--ca-cert`, `MODELCTL_CA_CERT`).
        var caCertificate: URL? = nil
    }

    func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Resolved {
        var config: UserConfig?
        func stored() throws -> UserConfig {
            if let config { return config }
            let loaded = try UserConfig.load(from: try UserConfig.location(environment: environment))
            config = loaded
            return loaded
        }
        let url: URL
        let source: Resolved.Source
        if let registry {
            (url, source) = (try Self.parseURL(registry), .flag)
        } else if let value = environment["MODELCTL_REGISTRY"], !value.isEmpty {
            (url, source) = (try Self.parseURL(value, origin: "MODELCTL_REGISTRY"), .environment)
        } else if let value = try stored().registry {
            (url, source) = (try Self.parseURL(value, origin: "the stored login"), .config)
        } else {
            (url, source) = (try Self.parseURL(Self.defaultRegistry), .builtIn)
        }
        let resolvedToken: String?
        if let token {
            resolvedToken = token
        } else if let value = environment["MODELCTL_TOKEN"], !value.isEmpty {
            resolvedToken = value
        } else {
            resolvedToken = try stored().token
        }
        let caPath = caCertificate ?? environment["MODELCTL_CA_CERT"].flatMap { $0.isEmpty ? nil : $0 }
        if let caPath, url.scheme?.lowercased() != "https" {
            throw ConfigError(
                "\(caCertificate != nil ? "--ca-cert" : "MODELCTL_CA_CERT") \(caPath) is for an https:// registry, and the registry is \(url.absoluteString)"
            )
        }
        return Resolved(
            url: url,
            token: resolvedToken,
            source: source,
            caCertificate: caPath.map { URL(fileURLWithPath: $0).standardizedFileURL }
        )
    }

    /// An `http` or `https` URL with a host and no query or fragment; a trailing slash is dropped.
    static func parseURL(_ text: String, origin: String = "--registry") throws -> URL {
        let trimmed = text.hasSuffix("/") ? String(text.dropLast()) : text
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
            components.query == nil, components.fragment == nil, components.user == nil,
            let url = components.url
        else {
            throw ValidationError(
                "invalid registry URL '\(text)' (from \(origin)): expected http://HOST[:PORT] or https://HOST[:PORT]"
            )
        }
        return url
    }
}
