import ArgumentParser
import Foundation
import Registry
import RegistryClient

extension Modelctl {
    /// `modelctl token`: API and device tokens.
    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create, list and revoke API and device tokens.",
            discussion: """
                create, list and revoke need a token with admin on '*'. A token is shown once, when it is created; \
                the registry keeps only a hash of it. A new principal holds no role until one is granted with \
                'modelctl role grant'.
                """,
            subcommands: [Create.self, List.self, Revoke.self, Generate.self]
        )
    }
}

extension Modelctl.Token {
    /// `modelctl token create NAME [--kind K] [--description T] [--expires WHEN] [--model M]…`.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token for a principal (created with its first token).",
            discussion: """
                Text output is the token alone on stdout, so TOKEN=$(modelctl token create ci -q) works; a note on \
                stderr (left out with -q) says it is shown only this once. --output json prints the token's record \
                with the token in 'token'. --expires takes a duration (90m, 12h, 30d, 8w) or an ISO 8601 date \
                (2027-01-31, meaning 00:00 UTC) or time (2027-01-31T18:00:00Z, 2027-01-31T18:00:00+02:00).
                """
        )

        @Argument(help: ArgumentHelp("The principal the token acts for, such as alice or ci.", valueName: "NAME"))
        var principal: String

        @Option(
            help: ArgumentHelp(
                "user, service or device (default: user for a new principal, its kind for an existing one).",
                valueName: "KIND"
            )
        )
        var kind: String?

        @Option(help: ArgumentHelp("Free text shown in 'modelctl token list'.", valueName: "TEXT"))
        var description: String?

        @Option(
            help: ArgumentHelp(
                "When the token stops working: a duration (30d, 12h, 90m) or an ISO 8601 date or time (default: never).",
                valueName: "WHEN"
            )
        )
        var expires: String?

        @Option(
            name: .customLong("model"),
            help: ArgumentHelp("A model the device may read; repeatable (devices only).", valueName: "MODEL")
        )
        var models: [String] = []

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func validate() throws {
            try AuthArguments.checkPrincipal(principal)
            let kind = try parsedKind()
            if let description {
                try AuthArguments.check { try Validation.text(description, field: "--description", maxLength: 1000) }
            }
            if let expires { _ = try TokenExpiry.parse(expires, now: Date()) }
            for model in models { try Modelctl.List.checkName(model) }
            if !models.isEmpty, let kind, kind != .device {
                throw ValidationError(
                    "--model goes with --kind device: a \(kind.rawValue) is granted roles instead ('modelctl role grant')"
                )
            }
        }

        /// `--kind` as the client's type; a usage error naming the value otherwise.
        func parsedKind() throws -> RemotePrincipalKind? {
            guard let kind else { return nil }
            guard let parsed = RemotePrincipalKind(rawValue: kind) else {
                throw ValidationError("invalid --kind '\(kind)': expected one of user, service, device")
            }
            return parsed
        }

        func run() async throws {
            try await withExitCodes {
                let expiresAt: Date?
                do {
                    expiresAt = try expires.map { try TokenExpiry.parse($0, now: Date()) }
                } catch let error as ValidationError {
                    throw CommandFailure(error.message, exitCode: ExitCodes.usage)
                }
                try await withRegistry(registryOptions) { client, _ in
                    let created = try await client.createToken(
                        principal: principal,
                        kind: try parsedKind(),
                        description: description,
                        expiresAt: expiresAt,
                        models: models.isEmpty ? nil : models
                    )
                    if outputOptions.isJSON { return try Terminal.printJSON(created) }
                    // The token is the result: printed even with --quiet, which only drops the note.
                    Terminal.print(created.token)
                    guard !outputOptions.quiet else { return }
                    let record = created.record
                    Terminal.note(
                        "token \(record.id) for \(record.kind.rawValue) '\(record.principal)', \(TokenText.expiry(record.expiresAt)): this is the only time it is shown; store it now (the registry keeps only a hash)"
                    )
                }
            }
        }
    }

    /// `modelctl token list [--principal NAME]`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List tokens, oldest first, revoked and expired ones included (never their secrets)."
        )

        @Option(help: ArgumentHelp("Only this principal's tokens.", valueName: "NAME"))
        var principal: String?

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func validate() throws {
            if let principal { try AuthArguments.checkPrincipal(principal) }
        }

        func run() async throws {
            try await withExitCodes {
                try await withRegistry(registryOptions) { client, _ in
                    let list = try await client.listTokens(principal: principal)
                    if outputOptions.isJSON { return try Terminal.printJSON(list) }
                    guard !outputOptions.quiet else { return }
                    let now = Date()
                    var table = Table("ID", "PRINCIPAL", "KIND", "STATUS", "CREATED", "EXPIRES", "DESCRIPTION")
                    for token in list.tokens {
                        table.add(
                            token.id,
                            token.principal,
                            token.kind.rawValue,
                            token.status.rawValue,
                            Units.relative(token.createdAt, now: now),
                            token.expiresAt.map { TokenText.relative($0, now: now) } ?? "never",
                            token.description.orDash
                        )
                    }
                    table.print()
                }
            }
        }
    }

    /// `modelctl token revoke ID`.
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token at once.",
            discussion: """
                ID is the token's id (the 16 hex digits after 'mctl_', as 'modelctl token list' shows) or the \
                token itself. Revoking a revoked token changes nothing. The registry refuses to revoke the last \
                active token with admin on '*' (exit code 4).
                """
        )

        @Argument(help: ArgumentHelp("The token's id, or the token.", valueName: "ID"))
        var token: String

        @OptionGroup var registryOptions: RegistryOptions
        @OptionGroup var outputOptions: OutputOptions

        func validate() throws {
            _ = try tokenID()
        }

        /// The id named by the argument: an id, or the id part of a whole token.
        func tokenID() throws -> String {
            if let parsed = AccessToken(parsing: token) { return parsed.id }
            if AccessToken.isValidID(token) { return token }
            // Never echo what may be a (mistyped) secret.
            if token.hasPrefix(AccessToken.prefix) {
                throw ValidationError(
                    "invalid token: it starts with '\(AccessToken.prefix)' but is not a whole token; give its id instead ('modelctl token list')"
                )
            }
            throw ValidationError(
                "invalid token id '\(Validation.printable(token))': expected the 16 hex digits after '\(AccessToken.prefix)' ('modelctl token list' shows them)"
            )
        }

        func run() async throws {
            try await withExitCodes {
                let id = try tokenID()
                try await withRegistry(registryOptions) { client, _ in
                    let record = try await client.revokeToken(id: id)
                    if outputOptions.isJSON { return try Terminal.printJSON(record) }
                    guard !outputOptions.quiet else { return }
                    let when = record.revokedAt.map { " at \($0.ISO8601Format())" } ?? ""
                    let who = record.revokedBy.map { " by \($0)" } ?? ""
                    Terminal.print(
                        "revoked token \(record.id) of \(record.kind.rawValue) '\(record.principal)'\(when)\(who)"
                    )
                }
            }
        }
    }

    /// `modelctl token generate`: a random token, made offline, for `modelctl serve --admin-token-file`.
    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new random token in the registry's format, without a registry.",
            discussion: """
                For operators who keep the admin token in a secret manager: write it to a file only its owner can \
                read (umask 077; modelctl token generate -q > admin-token) and start the registry with \
                'modelctl serve --admin-token-file admin-token'. Text output is the token alone on stdout; \
                --output json prints 'id' and 'token'.
                """
        )

        @OptionGroup var outputOptions: OutputOptions

        func run() async throws {
            let token = AccessToken.generate()
            if outputOptions.isJSON { return try Terminal.printJSON(GeneratedToken(id: token.id, token: token.text)) }
            Terminal.print(token.text)
            if !outputOptions.quiet {
                Terminal.note(
                    "token \(token.id): keep it secret; give it to 'modelctl serve --admin-token-file FILE' (FILE mode 0600)"
                )
            }
        }
    }

    struct GeneratedToken: Encodable {
        var id: String
        var token: String
    }
}

// MARK: Arguments and text

/// Local checks of auth-related arguments, as usage errors (exit 64) with the registry's own wording.
enum AuthArguments {
    /// Runs a check of the `Registry` module and turns its error into a usage error.
    static func check(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as RegistryError {
            throw ValidationError(error.message)
        }
    }

    /// A principal name: 1–64 of `A–Z a–z 0–9 . _ - @`, starting with a letter or digit.
    static func checkPrincipal(_ name: String) throws {
        try check { try Validation.principalName(name) }
    }
}

/// `--expires`: a duration from now or an ISO 8601 date or time, in the future.
enum TokenExpiry {
    static let units: [Character: (seconds: Int, name: String)] = [
        "m": (60, "minutes"), "h": (3600, "hours"), "d": (86_400, "days"), "w": (7 * 86_400, "weeks"),
    ]

    /// Parses `30d`, `12h`, `90m`, `8w`, `2027-01-31` (00:00 UTC) or `2027-01-31T18:00:00Z` (with `Z` or an offset,
    /// fractional seconds allowed).
    ///
    /// - Throws: `ValidationError` naming the value and the accepted forms, or saying that the time has passed.
    static func parse(_ text: String, now: Date) throws -> Date {
        let date: Date
        if let last = text.last, let unit = units[last], let count = Int(text.dropLast()),
            text.dropLast().allSatisfy(\.isASCII), text.dropLast().allSatisfy(\.isNumber)
        {
            guard count > 0, count <= 100 * 366 * 86_400 / unit.seconds else {
                throw ValidationError(
                    "invalid --expires '\(text)': the duration must be at least 1 and at most 100 years"
                )
            }
            date = now.addingTimeInterval(TimeInterval(count * unit.seconds))
        } else if let day = day(text) {
            date = day
        } else if text.contains("T"), let time = timestamp(text) {
            date = time
        } else {
            throw ValidationError(
                "invalid --expires '\(Validation.printable(text))': expected a duration (90m, 12h, 30d, 8w) or an ISO 8601 date or time (2027-01-31, 2027-01-31T18:00:00Z)"
            )
        }
        guard date > now else {
            throw ValidationError(
                "invalid --expires '\(text)': \(date.ISO8601Format()) is not in the future (now: \(now.ISO8601Format()))"
            )
        }
        return date
    }

    /// `YYYY-MM-DD` at 00:00 UTC; `nil` for anything else, including days that do not exist (2027-02-30).
    private static func day(_ text: String) -> Date? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.map(\.count) == [4, 2, 2],
            parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: DateComponents(year: year, month: month, day: day)) else { return nil }
        let back = calendar.dateComponents([.year, .month, .day], from: date)
        guard back.year == year, back.month == month, back.day == day else { return nil }
        return date
    }

    /// A full ISO 8601 time with `Z` or an offset.
    private static func timestamp(_ text: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        return try? Date.ISO8601FormatStyle().parse(text)
    }
}

/// How tokens' times read in text output.
enum TokenText {
    /// `never expires`, `expires in 30 days (2027-01-31T00:00:00Z)`, `expired 2 days ago (…)`.
    static func expiry(_ date: Date?, now: Date = Date()) -> String {
        guard let date else { return "never expires" }
        let verb = date > now ? "expires" : "expired"
        return "\(verb) \(relative(date, now: now)) (\(date.ISO8601Format()))"
    }

    /// `in 30 days`, `in 5 hours` for a time to come; `3 days ago` (as ``Units/relative(_:now:)``) for a past one.
    static func relative(_ date: Date, now: Date = Date()) -> String {
        let seconds = Int(date.timeIntervalSince(now))
        if seconds <= 0 { return Units.relative(date, now: now) }
        func plural(_ count: Int, _ unit: String) -> String { count == 1 ? "1 \(unit)" : "\(count) \(unit)s" }
        if seconds < 60 { return "in " + plural(seconds, "second") }
        if seconds < 3600 { return "in " + plural(seconds / 60, "minute") }
        if seconds < 86_400 { return "in " + plural(seconds / 3600, "hour") }
        if seconds < 60 * 86_400 { return "in " + plural(seconds / 86_400, "day") }
        return date.formatted(.iso8601.year().month().day())
    }
}
