import ArgumentParser
import Foundation
import Registry
import Testing

@testable import CLI

/// Parsing of the registry commands (push, pull, list, show, history, promote, rollback, login): every option lands
/// where it should, and every bad value is a usage error (exit 64) whose message names the value.
@Suite struct RegistryCommandParseTests {
    static func parse<T>(_ arguments: [String], as type: T.Type = T.self) throws -> T {
        try #require(try Modelctl.parseAsRoot(arguments) as? T)
    }

    /// Whether parsing `arguments` fails as a usage error whose message contains `fragment`.
    static func isUsageError(_ arguments: [String], naming fragment: String) -> Bool {
        do {
            _ = try Modelctl.parseAsRoot(arguments)
            return false
        } catch {
            return Modelctl.exitCode(for: error) == .validationFailure
                && Modelctl.message(for: error).contains(fragment)
        }
    }

    // MARK: push

    @Test func pushParsesEveryOption() throws {
        let command = try Self.parse(
            [
                "push", "models/resnet", "--model", "resnet50", "--label", "1.4.0", "--format", "ONNX",
                "--preprocessing", "spec.yaml", "--metric", "top1=0.761", "--metric", "top5=0.93", "--param",
                "lr=0.1", "--param", "epochs=90", "--tag", "team=vision", "--tag", "dataset=imagenet",
                "--description", "the first cut", "--run-id", "run-42", "--sign-key", "k.pem", "--jobs", "8",
                "--registry", "http://127.0.0.1:9000/", "--token", "t0k", "-O", "json",
            ],
            as: Modelctl.Push.self
        )
        #expect(command.path == "models/resnet")
        #expect(command.model == "resnet50")
        #expect(command.label == "1.4.0")
        #expect(command.format == "ONNX")
        #expect(command.preprocessing == "spec.yaml")
        #expect(command.metrics == ["top1=0.761", "top5=0.93"])
        #expect(try command.parsedMetrics() == ["top1": 0.761, "top5": 0.93])
        #expect(command.params == ["lr=0.1", "epochs=90"])
        #expect(command.tags == ["team=vision", "dataset=imagenet"])
        let tags = try Modelctl.Push.pairs(command.tags, "--tag")
        #expect(tags.map(\.0) == ["team", "dataset"])
        #expect(tags.map(\.1) == ["vision", "imagenet"])
        #expect(command.description == "the first cut")
        #expect(command.runId == "run-42")
        #expect(command.signKey == "k.pem")
        #expect(command.jobs == 8)
        #expect(command.registryOptions.registry == "http://127.0.0.1:9000/")
        #expect(command.registryOptions.token == "t0k")
        #expect(command.outputOptions.isJSON)
        let resolved = try command.registryOptions.resolve(environment: [:])
        #expect(resolved.url.absoluteString == "http://127.0.0.1:9000")
        #expect(resolved.token == "t0k")
        #expect(resolved.source == .flag)
    }

    @Test func pushDefaults() throws {
        let command = try Self.parse(["push", "model.onnx", "--model", "m"], as: Modelctl.Push.self)
        #expect(command.label == nil)
        #expect(command.format == nil)
        #expect(command.metrics.isEmpty && command.params.isEmpty && command.tags.isEmpty)
        #expect(command.signKey == nil)
        #expect(command.jobs == 4)
        #expect(command.registryOptions.registry == nil)
        #expect(command.registryOptions.token == nil)
        #expect(!command.outputOptions.isJSON)
        #expect(Modelctl.Push.resumableThreshold == 64 << 20)
    }

    @Test(arguments: [
        (["--metric", "top1=abc"], "invalid --metric 'top1=abc'"),
        (["--metric", "top1=inf"], "invalid --metric 'top1=inf'"),
        (["--metric", "top1"], "invalid --metric 'top1'"),
        (["--metric", "=0.5"], "invalid --metric '=0.5'"),
        (["--metric", "bad name=1"], "invalid metric name 'bad name'"),
        (["--metric", "a=1", "--metric", "a=2"], "--metric 'a' is given twice"),
        (["--tag", "team=a", "--tag", "team=b"], "--tag 'team' is given twice"),
        (["--tag", "bad key=1"], "invalid tag key 'bad key'"),
        (["--tag", "novalue"], "invalid --tag 'novalue'"),
        (["--param", "lr=1", "--param", "lr=2"], "--param 'lr' is given twice"),
        (["--param", "b@d=1"], "invalid parameter name 'b@d'"),
        (["--jobs", "0"], "invalid --jobs 0"),
        (["--jobs", "17"], "invalid --jobs 17"),
        (["--label", "42"], "invalid label '42'"),
        (["--label", "a b"], "invalid label 'a b'"),
        (["--format", "pickle"], "invalid format 'pickle'"),
        (["--registry", "ftp://h"], "invalid registry URL 'ftp://h'"),
        (["--registry", "localhost:8080"], "invalid registry URL 'localhost:8080'"),
        (["-O", "yaml"], "yaml"),
    ])
    func pushUsageErrorsNameTheValue(_ arguments: [String], fragment: String) {
        #expect(Self.isUsageError(["push", "model.onnx", "--model", "m"] + arguments, naming: fragment))
    }

    @Test func pushNeedsAModelName() {
        #expect(Self.isUsageError(["push", "model.onnx"], naming: "--model"))
        #expect(Self.isUsageError(["push", "model.onnx", "--model", "../x"], naming: "invalid model name '../x'"))
    }

    // MARK: pull

    @Test func pullParsesEveryOption() throws {
        let command = try Self.parse(
            [
                "pull", "models:/resnet50/Production", "-o", "out", "--verify-key", "a.pub.pem", "--verify-key",
                "b.pub.pem", "--jobs", "2", "--registry", "https://r.example.com", "--token", "t", "--output", "json",
            ],
            as: Modelctl.Pull.self
        )
        #expect(command.reference == .stage(model: "resnet50", stage: .production))
        #expect(command.out == "out")
        #expect(command.verifyKeys == ["a.pub.pem", "b.pub.pem"])
        #expect(command.jobs == 2)
        #expect(command.registryOptions.registry == "https://r.example.com")
        #expect(command.registryOptions.token == "t")
        #expect(command.outputOptions.isJSON)

        let long = try Self.parse(["pull", "resnet50@champion", "--out", "dir", "-q"], as: Modelctl.Pull.self)
        #expect(long.reference == .alias(model: "resnet50", alias: "champion"))
        #expect(long.out == "dir")
        #expect(long.verifyKeys.isEmpty)
        #expect(long.jobs == 4)
        #expect(long.outputOptions.quiet)

        let latest = try Self.parse(["pull", "resnet50"], as: Modelctl.Pull.self)
        #expect(latest.reference == .latest(model: "resnet50"))
        #expect(latest.out == nil)
    }

    @Test(arguments: [
        (["pull", "x:0"], "invalid model reference 'x:0'"),
        (["pull", "x/prod"], "invalid stage 'prod'"),
        (["pull", "x@latest"], "invalid alias 'latest'"),
        (["pull", "x:1", "--jobs", "0"], "invalid --jobs 0"),
        (["pull", "x:1", "--jobs", "17"], "invalid --jobs 17"),
        (["pull", "x:1", "--registry", "http://"], "invalid registry URL 'http://'"),
        (["pull"], "Missing expected argument '<REF>'"),
    ])
    func pullUsageErrorsNameTheValue(_ arguments: [String], fragment: String) {
        #expect(Self.isUsageError(arguments, naming: fragment))
    }

    // MARK: list, show, history

    @Test func listParsesNameAndLimit() throws {
        let all = try Self.parse(["list"], as: Modelctl.List.self)
        #expect(all.name == nil)
        #expect(all.limit == 100)
        let one = try Self.parse(["list", "resnet50", "--limit", "5", "-O", "json"], as: Modelctl.List.self)
        #expect(one.name == "resnet50")
        #expect(one.limit == 5)
        #expect(one.outputOptions.isJSON)
    }

    @Test func showParsesEveryReferenceForm() throws {
        #expect(try Self.parse(["show", "r:3"], as: Modelctl.Show.self).reference == .version(model: "r", number: 3))
        #expect(
            try Self.parse(["show", "r@prod"], as: Modelctl.Show.self).reference == .alias(model: "r", alias: "prod")
        )
        #expect(
            try Self.parse(["show", "r/staging"], as: Modelctl.Show.self).reference
                == .stage(model: "r", stage: .staging)
        )
        #expect(try Self.parse(["show", "r"], as: Modelctl.Show.self).reference == .latest(model: "r"))
        let json = try Self.parse(["show", "models:/r/2", "-O", "json"], as: Modelctl.Show.self)
        #expect(json.reference == .version(model: "r", number: 2))
        #expect(json.outputOptions.isJSON)
    }

    @Test func historyParsesNameAndLimit() throws {
        let command = try Self.parse(["history", "resnet50", "--limit", "7"], as: Modelctl.History.self)
        #expect(command.name == "resnet50")
        #expect(command.limit == 7)
        #expect(try Self.parse(["history", "resnet50"], as: Modelctl.History.self).limit == 50)
    }

    @Test(arguments: [
        (["list", "--limit", "0"], "invalid limit 0"),
        (["list", "m", "--limit", "1001"], "invalid limit 1001"),
        (["list", "../x"], "'../x'"),
        (["show", "x:0"], "invalid model reference 'x:0'"),
        (["show", "x:abc"], "invalid model reference 'x:abc'"),
        (["show", "models:/x"], "invalid model reference 'models:/x'"),
        (["show"], "Missing expected argument '<REF>'"),
        (["history", "m", "--limit", "0"], "invalid limit 0"),
        (["history", "m", "--limit", "1001"], "invalid limit 1001"),
        (["history", "../x"], "'../x'"),
        (["history"], "Missing expected argument '<NAME>'"),
    ])
    func listShowHistoryUsageErrorsNameTheValue(_ arguments: [String], fragment: String) {
        #expect(Self.isUsageError(arguments, naming: fragment))
    }

    /// `list` and `history` take a model NAME, not a reference: a reference form is a typo to report before
    /// anything is sent (ModelReference's contract), not a registry round trip ending in exit code 1.
    @Test(arguments: [["list", "resnet50:1"], ["list", "resnet50@champion"], ["history", "resnet50/production"]])
    func listAndHistoryRefuseAReferenceWhereANameIsExpected(_ arguments: [String]) {
        #expect(
            Self.isUsageError(arguments, naming: "invalid model name '\(arguments[1])'"),
            "\(arguments.joined(separator: " ")) should be a usage error"
        )
    }

    // MARK: promote, rollback

    @Test func promoteParsesStageAndAliasForms() throws {
        let stage = try Self.parse(
            ["promote", "resnet50:3", "--stage", "production", "--archive-existing", "--comment", "ship it"],
            as: Modelctl.Promote.self
        )
        #expect(stage.reference == .version(model: "resnet50", number: 3))
        #expect(stage.stage == "production")
        #expect(stage.archiveExisting)
        #expect(stage.alias == nil)
        #expect(stage.comment == "ship it")

        let alias = try Self.parse(
            ["promote", "resnet50@canary", "--alias", "champion", "-O", "json"],
            as: Modelctl.Promote.self
        )
        #expect(alias.reference == .alias(model: "resnet50", alias: "canary"))
        #expect(alias.alias == "champion")
        #expect(alias.stage == nil)
        #expect(!alias.archiveExisting)
        #expect(alias.comment == nil)
        #expect(alias.outputOptions.isJSON)

        for name in ["None", "staging", "PRODUCTION", "Archived"] {
            #expect(try Self.parse(["promote", "m:1", "--stage", name], as: Modelctl.Promote.self).stage == name)
        }
    }

    @Test(arguments: [
        (["promote", "m:1", "--stage", "Production", "--alias", "champion"], "give exactly one of --stage"),
        (["promote", "m:1"], "give exactly one of --stage"),
        (["promote", "m:1", "--alias", "champion", "--archive-existing"], "--archive-existing goes with --stage"),
        (["promote", "m:1", "--stage", "prod"], "invalid stage 'prod'"),
        (["promote", "m:1", "--stage", "Production/x"], "invalid stage 'Production/x'"),
        (["promote", "m:1", "--alias", "1champion"], "invalid alias '1champion'"),
        (["promote", "m:1", "--alias", "latest"], "invalid alias 'latest'"),
        (["promote", "m:1", "--alias", "v2"], "invalid alias 'v2'"),
        (["promote", "x:0", "--stage", "Production"], "invalid model reference 'x:0'"),
        (["promote", "m:1", "--stage", "Production", "--registry", "m.example.com"], "invalid registry URL"),
    ])
    func promoteUsageErrorsNameTheValue(_ arguments: [String], fragment: String) {
        #expect(Self.isUsageError(arguments, naming: fragment))
    }

    @Test func rollbackParsesStageAndAliasForms() throws {
        let stage = try Self.parse(
            ["rollback", "resnet50", "--stage", "Production", "--comment", "bad metrics"],
            as: Modelctl.Rollback.self
        )
        #expect(stage.name == "resnet50")
        #expect(stage.stage == "Production")
        #expect(stage.alias == nil)
        #expect(stage.comment == "bad metrics")
        let alias = try Self.parse(["rollback", "resnet50", "--alias", "champion", "-q"], as: Modelctl.Rollback.self)
        #expect(alias.alias == "champion")
        #expect(alias.stage == nil)
        #expect(alias.outputOptions.quiet)
    }

    @Test(arguments: [
        (["rollback", "m", "--stage", "Production", "--alias", "champion"], "give exactly one of --stage"),
        (["rollback", "m"], "give exactly one of --stage"),
        (["rollback", "m", "--stage", "prod"], "invalid stage 'prod'"),
        (["rollback", "m", "--alias", "latest"], "invalid alias 'latest'"),
        (["rollback", "../m", "--stage", "Production"], "'../m'"),
        (["rollback", "m", "--stage", "Production", "--archive-existing"], "--archive-existing"),
    ])
    func rollbackUsageErrorsNameTheValue(_ arguments: [String], fragment: String) {
        #expect(Self.isUsageError(arguments, naming: fragment))
    }

    // MARK: login

    @Test func loginParsesURLAndToken() throws {
        let command = try Self.parse(
            ["login", "https://models.example.com", "--token", "abc"],
            as: Modelctl.Login.self
        )
        #expect(command.url == "https://models.example.com")
        #expect(command.token == "abc")
        #expect(try Self.parse(["login", "http://127.0.0.1:8080"], as: Modelctl.Login.self).token == nil)
    }

    @Test(arguments: [
        (["login", "models.example.com"], "invalid registry URL 'models.example.com'"),
        (["login", "https://m.example.com", "--token", "a b"], "invalid token"),
        (["login", "https://m.example.com", "--token", ""], "invalid token"),
    ])
    func loginUsageErrorsNameTheValue(_ arguments: [String], fragment: String) {
        #expect(Self.isUsageError(arguments, naming: fragment))
    }
}
