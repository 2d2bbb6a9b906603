import ArgumentParser

/// How a command prints its result.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// For people: aligned text, progress bars on a terminal.
    case text
    /// For scripts: one JSON document on stdout, stable field names, no progress output.
    case json
}

/// `--output` and `--quiet`, shared by every command that prints a result.
struct OutputOptions: ParsableArguments {
    @Option(
        name: [.customShort("O"), .long],
        help: ArgumentHelp("Output format: text or json.", valueName: "FORMAT")
    )
    var output: OutputFormat = .text

    @Flag(
        name: [.customShort("q"), .long],
        help: "Print nothing but errors (and the JSON document with --output json)."
    )
    var quiet = false

    var isJSON: Bool { output == .json }

    /// Whether to draw progress bars: text output, not quiet, and stderr is a terminal.
    var showsProgress: Bool { output == .text && !quiet && Terminal.isTerminal(.standardError) }
}
