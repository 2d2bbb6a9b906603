import Foundation
import TOMLKit

/// The user's stored login: `$XDG_CONFIG_HOME/modelctl/config.toml` (or `~/.config/modelctl/config.toml`).
///
/// ```toml
/// registry = "https://models.example.com"
/// token = "…"
/// ```
///
/// The file is written with mode 0600 inside a 0700 directory, atomically (temporary file, fsync, rename). A file
/// that holds a token and that others can read is refused: a token is a password.
struct UserConfig: Codable, Equatable {
    var registry: String?
    var token: String?

    /// The config file's path for `environment` (XDG_CONFIG_HOME, else HOME/.config).
    static func location(environment: [String: String]) throws -> URL {
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") {
            return URL(fileURLWithPath: xdg).appending(path: "modelctl/config.toml")
        }
        guard let home = environment["HOME"], !home.isEmpty else {
            throw ConfigError("cannot find the config file: neither XDG_CONFIG_HOME nor HOME is set")
        }
        return URL(fileURLWithPath: home).appending(path: ".config/modelctl/config.toml")
    }

    /// Reads the config at `url`; an absent file is an empty config.
    static func load(from url: URL) throws -> UserConfig {
        var status = stat()
        guard stat(url.path, &status) == 0 else {
            if errno == ENOENT { return UserConfig() }
            throw ConfigError("cannot read \(url.path): \(String(cString: strerror(errno)))")
        }
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ConfigError("cannot read \(url.path): \(error.localizedDescription)")
        }
        let config: UserConfig
        do {
            config = try TOMLDecoder().decode(UserConfig.self, from: text)
        } catch {
            throw ConfigError("\(url.path) is not valid TOML with string keys 'registry' and 'token': \(error)")
        }
        if config.token != nil, status.st_mode & 0o077 != 0 {
            throw ConfigError(
                "\(url.path) holds a token but others can read it (mode \(String(status.st_mode & 0o777, radix: 8))); run: chmod 600 \(url.path)"
            )
        }
        return config
    }

    /// Writes the config to `url` with mode 0600, creating its directory with mode 0700.
    func save(to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(
                at: directory,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw ConfigError("cannot create \(directory.path): \(error.localizedDescription)")
        }
        let text: String
        do {
            text = try TOMLEncoder().encode(self)
        } catch {
            throw ConfigError("cannot write the config as TOML: \(error)")
        }
        let temporary = directory.appending(path: ".config.toml.\(getpid()).tmp")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ConfigError("cannot create \(temporary.path): \(String(cString: strerror(errno)))")
        }
        let bytes = Array((text.hasSuffix("\n") ? text : text + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == bytes.count, synced, rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary.path)
            throw ConfigError("cannot write \(url.path): \(reason)")
        }
    }
}

/// A problem with the user's config file; printed as `Error: …` (exit 1).
struct ConfigError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
