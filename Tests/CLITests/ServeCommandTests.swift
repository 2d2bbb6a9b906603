import ArgumentParser
import Testing

@testable import CLI

@Suite struct ServeCommandTests {
    @Test func defaultsAreLoopbackAndALocalDataDirectory() throws {
        let command = try #require(try Modelctl.parseAsRoot(["serve"]) as? Modelctl.Serve)
        #expect(command.listen == "127.0.0.1:8080")
        #expect(command.dataDirectory == "./modelctl-data")
        #expect(command.logLevel == "info")
        #expect(command.ioThreads == 1)
        #expect(command.shutdownTimeout == 30)
    }

    @Test func optionsAreParsed() throws {
        let command = try #require(
            try Modelctl.parseAsRoot([
                "serve", "--data-dir", "/srv/models", "--listen", "[::1]:9000", "--log-level", "debug",
            ])
                as? Modelctl.Serve
        )
        #expect(command.dataDirectory == "/srv/models")
        #expect(command.listen == "[::1]:9000")
        #expect(command.logLevel == "debug")
    }

    @Test(arguments: ["8080", "localhost", "127.0.0.1:99999", ":8080", "127.0.0.1:http", "[::1]8080"])
    func invalidListenAddressIsAUsageErrorNamingTheValue(_ value: String) {
        #expect {
            _ = try Modelctl.parseAsRoot(["serve", "--listen", value])
        } throws: { error in
            Modelctl.exitCode(for: error) == .validationFailure
                && Modelctl.message(for: error).contains("invalid listen address '\(value)'")
        }
    }

    @Test(arguments: [
        (["--io-threads", "0"], "0"), (["--io-threads", "65"], "65"), (["--shutdown-timeout=-1"], "-1"),
    ])
    func outOfRangeNumbersAreUsageErrorsNamingTheValue(_ arguments: [String], value: String) {
        #expect {
            _ = try Modelctl.parseAsRoot(["serve"] + arguments)
        } throws: { error in
            Modelctl.exitCode(for: error) == .validationFailure && Modelctl.message(for: error).contains(value)
        }
    }

    @Test func invalidLogLevelIsAUsageError() {
        #expect {
            _ = try Modelctl.parseAsRoot(["serve", "--log-level", "loud"])
        } throws: { error in
            Modelctl.exitCode(for: error) == .validationFailure && Modelctl.message(for: error).contains("'loud'")
        }
    }

    @Test func versionIsPrinted() {
        #expect {
            _ = try Modelctl.parseAsRoot(["--version"])
        } throws: { error in
            Modelctl.exitCode(for: error) == .success && Modelctl.message(for: error) == Modelctl.version
        }
    }
}
