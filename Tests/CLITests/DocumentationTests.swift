import ArgumentParser
import Foundation
import TestSupport
import Testing

@testable import CLI

/// docs/cli.md is written by hand; these tests keep it in step with the parser's own help text.
@Suite struct DocumentationTests {
    static let cliDoc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appending(path: "docs/cli.md")

    /// Every subcommand, with nested ones (`keys generate`) spelled as on the command line.
    static func commands(
        _ type: any ParsableCommand.Type = Modelctl.self,
        prefix: [String] = []
    ) -> [(path: [String], type: any ParsableCommand.Type)] {
        type.configuration.subcommands.flatMap { sub -> [(path: [String], type: any ParsableCommand.Type)] in
            let path = prefix + [sub._commandName]
            let nested = commands(sub, prefix: path)
            return nested.isEmpty ? [(path, sub)] : nested
        }
    }

    @Test func everyCommandAndOptionIsDocumented() throws {
        let doc = try String(contentsOf: Self.cliDoc, encoding: .utf8)
        for (path, type) in Self.commands() {
            #expect(doc.contains("modelctl \(path.joined(separator: " "))"), "docs/cli.md does not mention \(path)")
            let usage = Modelctl.helpMessage(for: type, includeHidden: false, columns: 1000)
            let options = usage.matches(of: /--[a-z][a-z-]*/).map { String($0.output) }
            for option in Set(options) where !["--help", "--version"].contains(option) {
                #expect(
                    doc.contains(option),
                    "docs/cli.md does not mention \(option) of '\(path.joined(separator: " "))'"
                )
            }
        }
    }

    /// docs/modelctl.1 is generated from the help text by scripts/man.sh; this fails while it lags the parser.
    @Test func theManPageHasEveryCommandAndOption() throws {
        let page = try String(
            contentsOf: Self.cliDoc.deletingLastPathComponent().appending(path: "modelctl.1"),
            encoding: .utf8
        )
        for (path, type) in Self.commands() {
            for name in path {
                #expect(page.contains(".It Em \(name)\n"), "docs/modelctl.1 lacks \(path): run scripts/man.sh")
            }
            let usage = Modelctl.helpMessage(for: type, includeHidden: false, columns: 1000)
            let options = usage.matches(of: /--[a-z][a-z-]*/).map { String($0.output) }
            for option in Set(options) where !["--help", "--version"].contains(option) {
                #expect(
                    page.contains("Fl -\(option.dropFirst(2)) ") || page.contains("Fl -\(option.dropFirst(2))\n")
                        || page.contains(", -\(option.dropFirst(2)) ") || page.contains(", -\(option.dropFirst(2))\n"),
                    "docs/modelctl.1 lacks \(option) of '\(path.joined(separator: " "))': run scripts/man.sh"
                )
            }
        }
    }

    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScriptsAreGenerated(_ shell: String) async throws {
        try await withTemporaryDirectory { directory in
            let result = try runModelctl(["--generate-completion-script", shell], in: directory)
            #expect(result.status == 0, "\(result)")
            for command in ["push", "pull", "promote", "rollback", "package", "verify"] {
                #expect(result.stdout.contains(command), "\(shell) completion lacks \(command)")
            }
        }
    }
}
