import ArgumentParser
import Packager
import Testing

@testable import CLI

@Suite struct PackagerCommandParseTests {
    @Test func packageParsesEveryOption() throws {
        let command = try #require(
            try Modelctl.parseAsRoot([
                "package", "models/resnet", "--model", "resnet50", "--version", "3", "--label", "1.4.0", "--format",
                "ONNX", "--preprocessing", "spec.yaml", "--sign-key", "k.pem", "--annotation", "team=vision",
                "--annotation", "ticket=ML-12", "-o", "out.tar.zst", "--output", "json",
            ]) as? Modelctl.Package
        )
        #expect(command.path == "models/resnet")
        #expect(command.model == "resnet50")
        #expect(command.version == 3)
        #expect(command.label == "1.4.0")
        #expect(try command.parsedFormat() == .onnx)
        #expect(command.preprocessing == "spec.yaml")
        #expect(command.signKey == "k.pem")
        let annotations: [String: String] = try command.parsedAnnotations()
        #expect(annotations == ["team": "vision", "ticket": "ML-12"])
        #expect(command.out == "out.tar.zst")
        #expect(command.outputOptions.isJSON)
    }

    @Test(arguments: [
        (["--model", "../x", "-o", "b.tar.zst"], "invalid model name '../x'"),
        (["--model", "m", "--label", "42", "-o", "b.tar.zst"], "invalid label '42'"),
        (["--model", "m", "--version", "0", "-o", "b.tar.zst"], "invalid version 0"),
        (["--model", "m", "-o", "b.zip"], "invalid output 'b.zip'"),
        (["--model", "m", "--format", "pickle", "-o", "b.tar"], "invalid format 'pickle'"),
        (["--model", "m", "--annotation", "novalue", "-o", "b.tar"], "invalid annotation 'novalue'"),
        (
            ["--model", "m", "--annotation", "a=1", "--annotation", "a=2", "-o", "b.tar"],
            "annotation 'a' is given twice"
        ),
        (["--model", "m"], "Missing expected argument '--out <OUT>'"),
    ])
    func packageUsageErrorsNameTheValue(_ arguments: [String], message: String) {
        #expect {
            _ = try Modelctl.parseAsRoot(["package", "model.onnx"] + arguments)
        } throws: { error in
            Modelctl.exitCode(for: error) == .validationFailure && Modelctl.message(for: error).contains(message)
        }
    }

    @Test func verifyTakesSeveralKeys() throws {
        let command = try #require(
            try Modelctl.parseAsRoot(["verify", "b.tar.zst", "--key", "a.pub.pem", "--key", "b.pub.pem", "-q"])
                as? Modelctl.Verify
        )
        #expect(command.path == "b.tar.zst")
        #expect(command.keys == ["a.pub.pem", "b.pub.pem"])
        #expect(command.outputOptions.quiet)
    }

    @Test func keysGenerateNeedsAnOutputFile() throws {
        let command = try #require(
            try Modelctl.parseAsRoot(["keys", "generate", "--out", "k.pem"]) as? Modelctl.Keys.Generate
        )
        #expect(command.out == "k.pem")
        #expect {
            _ = try Modelctl.parseAsRoot(["keys", "generate"])
        } throws: { error in
            Modelctl.exitCode(for: error) == .validationFailure
        }
    }

    @Test func unknownOutputFormatIsAUsageError() {
        #expect {
            _ = try Modelctl.parseAsRoot(["verify", "b.tar", "--output", "yaml"])
        } throws: { error in
            Modelctl.exitCode(for: error) == .validationFailure && Modelctl.message(for: error).contains("yaml")
        }
    }
}
