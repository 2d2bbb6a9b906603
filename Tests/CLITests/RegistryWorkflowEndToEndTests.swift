import Foundation
import TestSupport
import Testing

/// The registry commands of the built `modelctl` binary against the real daemon on a loopback port: push, list,
/// show, promote, pull, rollback and history, their JSON shapes and exit codes.
@Suite struct RegistryWorkflowEndToEndTests {
    /// The `KEY  VALUE` rows of `show`'s text output: values by key, in order.
    static func rows(_ text: String) -> [String: [String]] {
        var rows: [String: [String]] = [:]
        for line in text.split(separator: "\n") {
            let trimmed = line.drop { $0 == " " }
            guard let space = trimmed.firstIndex(of: " ") else { continue }
            let value = trimmed[space...].drop { $0 == " " }
            rows[String(trimmed[..<space]), default: []].append(String(value))
        }
        return rows
    }

    @Test func pushPromotePullRollbackAndHistory() async throws {
        try await withTemporaryDirectory { directory in
            let registry = try RegistryHarness(root: directory)
            let v1 = try registry.makeModel("model")
            try registry.generateKey("signing")
            try registry.generateKey("other")

            // push: a directory with the ONNX model and labels, signed.
            let pushed = try registry.run([
                "push", "model", "--model", "tiny", "--label", "1.0.0", "--metric", "top1=0.91", "--metric",
                "top5=0.99", "--param", "lr=0.01", "--tag", "team=vision", "--description", "first cut", "--run-id",
                "run-1", "--sign-key", "signing.pem", "-O", "json",
            ])
            try #require(pushed.status == 0, "\(pushed)")
            #expect(pushed.stderr.isEmpty, "JSON output draws no progress and no notes: \(pushed.stderr)")
            let push = try pushed.object()
            #expect(push["model"] as? String == "tiny")
            #expect(push["version"] as? Int == 1)
            #expect(push["label"] as? String == "1.0.0")
            #expect(push["status"] as? String == "READY")
            #expect(push["files"] as? Int == 4)
            let manifestDigest = try #require(push["manifest_digest"] as? String)
            #expect(manifestDigest.hasPrefix("sha256:") && manifestDigest.count == 71)
            let bytes = try #require(push["bytes"] as? Int)
            #expect(push["uploaded_bytes"] as? Int == bytes, "a new registry lacks every blob")
            #expect(push["skipped_files"] as? Int == 0)

            // list, list NAME
            let models = try registry.run(["list"])
            #expect(models.status == 0, "\(models)")
            #expect(models.stdout.hasPrefix("NAME"))
            #expect(models.stdout.contains("tiny  1"))
            let modelPage = try registry.json(["list"])
            let listed = try #require((modelPage["models"] as? [[String: Any]])?.first)
            #expect(listed["name"] as? String == "tiny")
            #expect(listed["latest_version"] as? Int == 1)

            let versions = try registry.run(["list", "tiny"])
            #expect(versions.status == 0, "\(versions)")
            for column in ["VERSION", "LABEL", "STATUS", "STAGE", "1.0.0", "READY", "None", "onnx"] {
                #expect(versions.stdout.contains(column), "\(column) in \(versions.stdout)")
            }
            let versionPage = try registry.json(["list", "tiny", "--limit", "1"])
            #expect((versionPage["versions"] as? [[String: Any]])?.count == 1)

            // show NAME:1, text and JSON
            let shown = try registry.run(["show", "tiny:1"])
            #expect(shown.status == 0, "\(shown)")
            #expect(shown.stdout.hasPrefix("tiny:1 (1.0.0)\n"))
            let rows = Self.rows(shown.stdout)
            #expect(rows["status"] == ["READY"], "\(shown.stdout)")
            #expect(rows["stage"] == ["None"])
            #expect(rows["aliases"] == ["-"])
            #expect(rows["format"] == ["onnx"])
            #expect(rows["description"] == ["first cut"])
            #expect(rows["run"] == ["run-1"])
            #expect(rows["metric"] == ["top1 = 0.91", "top5 = 0.99"])
            #expect(rows["param"] == ["lr = 0.01"])
            #expect(rows["tag"]?.contains("team = vision") == true)
            for file in ["classifier.onnx", "labels.txt", "manifest.json", "model.sig"] {
                #expect(shown.stdout.contains(file), "\(file) in \(shown.stdout)")
            }
            let version = try registry.json(["show", "tiny:1"])
            #expect(version["model"] as? String == "tiny")
            #expect(version["version"] as? Int == 1)
            #expect(version["label"] as? String == "1.0.0")
            #expect(version["status"] as? String == "READY")
            #expect(version["stage"] as? String == "None")
            #expect(version["aliases"] as? [String] == [])
            #expect(version["format"] as? String == "onnx")
            #expect(version["description"] as? String == "first cut")
            #expect((version["lineage"] as? [String: Any])?["run_id"] as? String == "run-1")
            #expect(version["metrics"] as? [String: Double] == ["top1": 0.91, "top5": 0.99])
            #expect(version["params"] as? [String: String] == ["lr": "0.01"])
            let tags = try #require(version["tags"] as? [String: String])
            #expect(tags["team"] == "vision")
            #expect(tags["inspect.inputs"] == "input float [N,3,224,224]")
            #expect(tags["inspect.outputs"] == "logits float [N,10]")
            let files = try #require(version["files"] as? [[String: Any]])
            for file in files {
                #expect(Set(file.keys) == ["path", "size", "digest", "role"], "\(file)")
            }
            let byPath = Dictionary(uniqueKeysWithValues: files.map { ($0["path"] as? String ?? "", $0) })
            #expect(byPath.keys.sorted() == ["classifier.onnx", "labels.txt", "manifest.json", "model.sig"])
            #expect(byPath["classifier.onnx"]?["role"] as? String == "model")
            #expect(byPath["labels.txt"]?["role"] as? String == "labels")
            #expect(byPath["manifest.json"]?["role"] as? String == "config")
            #expect(byPath["model.sig"]?["role"] as? String == "signature")
            #expect(byPath["manifest.json"]?["digest"] as? String == manifestDigest)
            for name in ["classifier.onnx", "labels.txt"] {
                let data = try Data(contentsOf: v1.appending(path: name))
                #expect(byPath[name]?["digest"] as? String == digest(data))
                #expect(byPath[name]?["size"] as? Int == data.count)
            }
            #expect(files.reduce(0) { $0 + ($1["size"] as? Int ?? 0) } == bytes)

            // promote to Production, then alias champion: prints from → to.
            let promoted = try registry.run(["promote", "tiny:1", "--stage", "Production", "--comment", "ship it"])
            #expect(promoted.status == 0, "\(promoted)")
            #expect(promoted.stdout == "tiny Production: none → 1\n")
            let aliased = try registry.run(["promote", "tiny/production", "--alias", "champion"])
            #expect(aliased.status == 0, "\(aliased)")
            #expect(aliased.stdout == "tiny@champion: none → 1\n")
            let champion = try registry.json(["show", "tiny@champion"])
            #expect(champion["version"] as? Int == 1)
            #expect(champion["aliases"] as? [String] == ["champion"])
            #expect(champion["stage"] as? String == "Production")

            // a second version with different bytes
            let v2 = try registry.makeModel("model-v2", labels: "cat\ndog\nbird\n")
            let second = try registry.json([
                "push", "model-v2", "--model", "tiny", "--label", "2.0.0", "--sign-key", "signing.pem",
            ])
            #expect(second["version"] as? Int == 2)
            #expect(second["skipped_files"] as? Int == 1, "classifier.onnx is in the registry already")

            // promote it with --archive-existing: JSON shape of a stage change
            let change = try registry.json(["promote", "tiny:2", "--stage", "Production", "--archive-existing"])
            #expect(change["model"] as? String == "tiny")
            #expect(change["stage"] as? String == "Production")
            #expect(change["from"] as? [Int] == [1])
            #expect(change["to"] as? [Int] == [2])
            #expect(change["revision"] is Int)
            #expect(change["event_id"] is Int)
            let moves = try #require(change["moves"] as? [[String: Any]])
            let moved = Set(
                moves.map {
                    "\($0["version"] as? Int ?? 0):\($0["from"] as? String ?? "")→\($0["to"] as? String ?? "")"
                }
            )
            #expect(moved == ["1:Production→Archived", "2:None→Production"])
            #expect(try registry.json(["show", "tiny:1"])["stage"] as? String == "Archived")

            // pull NAME/production: version 2, byte for byte, JSON shape
            let pull = try registry.json(["pull", "tiny/production", "-o", "prod"])
            #expect(pull["model"] as? String == "tiny")
            #expect(pull["version"] as? Int == 2)
            #expect(pull["directory"] as? String == "prod")
            #expect(pull["files"] as? Int == 4)
            #expect(pull["bytes"] as? Int == pull["received_bytes"] as? Int)
            #expect(pull["manifest_checked"] as? Bool == true)
            #expect(pull["signature"] as? String == "not_checked")
            try expectSameFiles(registry.work.appending(path: "prod"), as: v2, extras: ["manifest.json", "model.sig"])
            #expect(!registry.exists("prod.partial"))

            // rollback --stage production: back to version 1 (text), and pull gives version 1's bytes
            let rolledBack = try registry.run(["rollback", "tiny", "--stage", "production", "--comment", "regression"])
            #expect(rolledBack.status == 0, "\(rolledBack)")
            #expect(rolledBack.stdout.hasPrefix("rolled back: tiny Production: 2 → 1"), "\(rolledBack.stdout)")
            let again = try registry.run(["pull", "tiny/production", "-o", "prod-again", "-q"])
            #expect(again.status == 0, "\(again)")
            #expect(again.stdout.isEmpty)
            try expectSameFiles(
                registry.work.appending(path: "prod-again"),
                as: v1,
                extras: ["manifest.json", "model.sig"]
            )

            // rollback --alias: JSON shape of an alias change
            let aliasUndone = try registry.json(["rollback", "tiny", "--alias", "champion"])
            #expect(aliasUndone["model"] as? String == "tiny")
            #expect(aliasUndone["alias"] as? String == "champion")
            #expect(aliasUndone["from"] as? Int == 1)
            #expect(aliasUndone["to"] == nil || aliasUndone["to"] is NSNull)
            #expect(aliasUndone["event_id"] is Int)
            let aliasSet = try registry.json(["promote", "tiny:2", "--alias", "champion", "--comment", "new champ"])
            #expect(aliasSet["alias"] as? String == "champion")
            #expect(aliasSet["to"] as? Int == 2)

            // pull with --verify-key: the right key is valid, another key fails (5) and leaves nothing behind
            let verified = try registry.json(["pull", "tiny:1", "-o", "verified", "--verify-key", "signing.pub.pem"])
            #expect(verified["signature"] as? String == "valid")
            #expect(verified["manifest_checked"] as? Bool == true)
            let untrusted = try registry.run(["pull", "tiny:1", "-o", "untrusted", "--verify-key", "other.pub.pem"])
            #expect(untrusted.status == 5, "\(untrusted)")
            #expect(untrusted.stderr.contains("verification of tiny:1 failed"), "\(untrusted.stderr)")
            #expect(!registry.exists("untrusted"))
            #expect(!registry.exists("untrusted.partial"))

            // history: newest first, every event
            let history = try registry.run(["history", "tiny"])
            #expect(history.status == 0, "\(history)")
            for text in [
                "model.created", "version.committed", "stage.changed", "alias.set", "stage.rolled_back",
                "Production: None → Production", "ship it", "regression", "new champ",
            ] {
                #expect(history.stdout.contains(text), "'\(text)' in \(history.stdout)")
            }
            let trail = try registry.json(["history", "tiny"])
            let events = try #require(trail["events"] as? [[String: Any]])
            let ids = events.compactMap { $0["id"] as? Int }
            #expect(ids.count == events.count && ids == ids.sorted(by: >), "newest first: \(ids)")
            #expect(events.first?["kind"] as? String == "alias.set")
            #expect(events.last?["kind"] as? String == "model.created")
            let kinds = events.compactMap { $0["kind"] as? String }
            #expect(kinds.filter { $0 == "stage.changed" }.count == 2)
            #expect(kinds.filter { $0 == "version.committed" }.count == 2)
            #expect(kinds.contains("stage.rolled_back"))
            let rollbackEvent = try #require(events.first { $0["kind"] as? String == "stage.rolled_back" })
            #expect(rollbackEvent["comment"] as? String == "regression")
            #expect(rollbackEvent["reverts_event_id"] is Int)
            let limited = try registry.json(["history", "tiny", "--limit", "2"])
            #expect((limited["events"] as? [[String: Any]])?.count == 2)
        }
    }

    @Test func aSecondPushSendsOnlyWhatChanged() async throws {
        try await withTemporaryDirectory { directory in
            let registry = try RegistryHarness(root: directory)
            try registry.makeModel("model")
            let first = try registry.json(["push", "model", "--model", "tiny", "--label", "1.0.0"])
            #expect(first["skipped_files"] as? Int == 0)
            #expect(first["uploaded_bytes"] as? Int == first["bytes"] as? Int)

            // Same files, another label: only the manifest (which records the label) is new.
            let second = try registry.json(["push", "model", "--model", "tiny", "--label", "1.0.1"])
            #expect(second["version"] as? Int == 2)
            let v1 = try registry.json(["show", "tiny:1"])
            let v2 = try registry.json(["show", "tiny:2"])
            let known = Set((v1["files"] as? [[String: Any]] ?? []).compactMap { $0["digest"] as? String })
            let changed = (v2["files"] as? [[String: Any]] ?? []).filter {
                !known.contains($0["digest"] as? String ?? "")
            }
            #expect(changed.compactMap { $0["path"] as? String } == ["manifest.json"])
            #expect(second["uploaded_bytes"] as? Int == changed.first?["size"] as? Int)
            #expect(second["skipped_files"] as? Int == 2)
            #expect(second["bytes"] as? Int == first["bytes"] as? Int)

            // Without a label twice (labels are unique): the second time the manifest is the same, nothing is sent.
            let third = try registry.json(["push", "model", "--model", "tiny"])
            #expect(third["version"] as? Int == 3)
            #expect(third["skipped_files"] as? Int == 2)
            let fourth = try registry.json(["push", "model", "--model", "tiny"])
            #expect(fourth["version"] as? Int == 4)
            #expect(fourth["uploaded_bytes"] as? Int == 0)
            #expect(fourth["skipped_files"] as? Int == 3)
            #expect(fourth["manifest_digest"] as? String == third["manifest_digest"] as? String)

            // Text output: NAME:VERSION on stdout, the summary on stderr. A user tag beats the inspected one.
            let text = try registry.run(["push", "model", "--model", "tiny", "--tag", "inspect.inputs=mine"])
            #expect(text.status == 0, "\(text)")
            #expect(text.stdout == "tiny:5\n")
            #expect(text.stderr.contains("sent 0 B, 3 file(s) already in the registry"), "\(text.stderr)")
            let tags = try registry.json(["show", "tiny"])["tags"] as? [String: String]
            #expect(tags?["inspect.inputs"] == "mine")
            #expect(tags?["inspect.outputs"] == "logits float [N,10]")
        }
    }

    @Test func exitCodesForMissingThingsConflictsAndAnUnreachableRegistry() async throws {
        try await withTemporaryDirectory { directory in
            let registry = try RegistryHarness(root: directory)
            try registry.makeModel("model")
            _ = try registry.json(["push", "model", "--model", "tiny"])
            _ = try registry.json(["promote", "tiny:1", "--alias", "champion"])

            let noAlias = try registry.run(["show", "tiny@nope"])
            #expect(noAlias.status == 3, "\(noAlias)")
            #expect(noAlias.stderr.contains("model 'tiny' has no alias 'nope' (aliases: champion)"), "\(noAlias)")
            let noModel = try registry.run(["show", "nosuch"])
            #expect(noModel.status == 3, "\(noModel)")
            #expect(noModel.stderr.contains("model 'nosuch' does not exist"), "\(noModel)")
            let noVersion = try registry.run(["show", "tiny:9"])
            #expect(noVersion.status == 3, "\(noVersion)")
            #expect(noVersion.stderr.contains("has no version 9 (versions go up to 1)"), "\(noVersion)")
            let noStage = try registry.run(["pull", "tiny/staging", "-o", "staging"])
            #expect(noStage.status == 3, "\(noStage)")
            #expect(noStage.stderr.contains("has no version in stage Staging"), "\(noStage)")
            #expect(!registry.exists("staging") && !registry.exists("staging.partial"))
            for arguments in [["list", "nosuch"], ["history", "nosuch"], ["rollback", "nosuch", "--alias", "a"]] {
                let result = try registry.run(arguments)
                #expect(result.status == 3, "\(arguments): \(result)")
                #expect(result.stderr.contains("model 'nosuch' does not exist"), "\(arguments): \(result)")
            }

            // pull into a directory that exists: conflict, and the directory is left alone
            let existing = registry.work.appending(path: "existing")
            try FileManager.default.createDirectory(at: existing, withIntermediateDirectories: false)
            try Data("mine".utf8).write(to: existing.appending(path: "keep.txt"))
            let conflict = try registry.run(["pull", "tiny:1", "-o", "existing"])
            #expect(conflict.status == 4, "\(conflict)")
            #expect(conflict.stderr.contains("already exists"), "\(conflict)")
            #expect(try filesByPath(existing) == ["keep.txt": Data("mine".utf8)])
            #expect(!registry.exists("existing.partial"))

            // missing local files: not found, before anything is sent
            let noKey = try registry.run(["pull", "tiny:1", "-o", "keyless", "--verify-key", "missing.pub.pem"])
            #expect(noKey.status == 3, "\(noKey)")
            #expect(noKey.stderr.contains("missing.pub.pem"), "\(noKey)")
            #expect(!registry.exists("keyless") && !registry.exists("keyless.partial"))
            let noPath = try registry.run(["push", "missing-dir", "--model", "tiny"])
            #expect(noPath.status == 3, "\(noPath)")
            #expect(noPath.stderr.contains("missing-dir"), "\(noPath)")

            // nothing left to roll back: conflict
            let undone = try registry.run(["rollback", "tiny", "--alias", "champion"])
            #expect(undone.status == 0, "\(undone)")
            #expect(undone.stdout == "rolled back: tiny@champion: 1 → none\n")
            let nothingLeft = try registry.run(["rollback", "tiny", "--alias", "champion"])
            #expect(nothingLeft.status == 4, "\(nothingLeft)")

            // a usage error from the binary itself
            let usage = try registry.run(["promote", "tiny:1", "--stage", "Production", "--alias", "x"])
            #expect(usage.status == 64, "\(usage)")
            #expect(usage.stderr.contains("give exactly one of --stage STAGE or --alias ALIAS"))
        }
    }

    @Test func anUnreachableRegistryExitsWithSixQuickly() async throws {
        try await withTemporaryDirectory { directory in
            var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MODELCTL_") }
            environment["HOME"] = directory.path
            environment["XDG_STATE_HOME"] = directory.appending(path: "state").path
            environment["XDG_CONFIG_HOME"] = directory.appending(path: "config").path
            let started = Date()
            let flag = try runModelctl(
                ["list", "--registry", "http://127.0.0.1:1"],
                in: directory,
                environment: environment,
                timeout: 30
            )
            let elapsed = Date().timeIntervalSince(started)
            #expect(flag.status == 6, "\(flag)")
            #expect(flag.stderr.contains("cannot reach the registry at http://127.0.0.1:1"), "\(flag)")
            #expect(elapsed < 10, "took \(elapsed) s")

            environment["MODELCTL_REGISTRY"] = "http://127.0.0.1:1"
            let variable = try runModelctl(["pull", "tiny:1", "-o", "out"], in: directory, environment: environment)
            #expect(variable.status == 6, "\(variable)")
            #expect(!FileManager.default.fileExists(atPath: directory.appending(path: "out").path))
            #expect(!FileManager.default.fileExists(atPath: directory.appending(path: "out.partial").path))
        }
    }

    /// `show` indents everything under the `NAME:VERSION` line, the file table included (its cells are given a
    /// two-space prefix in List.swift).
    @Test func showIndentsTheFileTableUnderTheVersion() async throws {
        try await withTemporaryDirectory { directory in
            let registry = try RegistryHarness(root: directory)
            try registry.makeModel("model")
            _ = try registry.json(["push", "model", "--model", "tiny"])
            let shown = try registry.run(["show", "tiny:1"])
            #expect(shown.status == 0, "\(shown)")
            let lines = shown.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first == "tiny:1")
            #expect(lines.contains { $0.contains("classifier.onnx") })
            let flush = lines.dropFirst().filter { !$0.hasPrefix("  ") }
            #expect(flush.isEmpty, "not indented: \(flush)\n\(shown.stdout)")
        }
    }

    /// A blob changed on the registry's disk (same length, other bytes): the pull fails with 5, names the file and
    /// leaves neither the directory nor DIR.partial. One file at a time here; concurrently in the next test.
    @Test func aCorruptedBlobFailsThePullAndLeavesNothing() async throws {
        try await withTemporaryDirectory { directory in
            let registry = try RegistryHarness(root: directory)
            try registry.makeModel("model")
            _ = try registry.json(["push", "model", "--model", "tiny"])
            let files = try #require(try registry.json(["show", "tiny:1"])["files"] as? [[String: Any]])
            let model = try #require(files.first { $0["path"] as? String == "classifier.onnx" })
            let blob = registry.blobFile(try #require(model["digest"] as? String))
            var bytes = try Data(contentsOf: blob)
            #expect(bytes.count == model["size"] as? Int)
            for index in bytes.indices { bytes[index] ^= 0x5A }
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: blob.path)
            try bytes.write(to: blob)

            let pulled = try registry.run(["pull", "tiny:1", "-o", "out", "--jobs", "1"])
            #expect(pulled.status == 5, "\(pulled)")
            #expect(pulled.stderr.contains("'classifier.onnx' of tiny:1 does not match its digest"), "\(pulled)")
            #expect(!registry.exists("out"))
            #expect(!registry.exists("out.partial"))
        }
    }

    /// The same with many files fetched concurrently: the files still in flight when the corrupted one is detected
    /// must not bring DIR.partial back (each run is a fresh chance for the race, so try several).
    @Test func aCorruptedBlobAmongManyFilesLeavesNoPartialDirectory() async throws {
        try await withTemporaryDirectory { directory in
            let registry = try RegistryHarness(root: directory)
            let model = try registry.makeModel("model")
            for index in 0..<40 {
                let fixture = BlobFixture(count: 64 << 10, seed: UInt64(index + 1))
                try Data(fixture.bytes).write(to: model.appending(path: "shard-\(100 + index).bin"))
            }
            _ = try registry.json(["push", "model", "--model", "many"])
            let files = try #require(try registry.json(["show", "many:1"])["files"] as? [[String: Any]])
            let first = try #require(files.first?["path"] as? String, "\(files)")
            let blob = registry.blobFile(try #require(files.first?["digest"] as? String))
            var bytes = try Data(contentsOf: blob)
            bytes[bytes.count / 2] ^= 0xFF
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: blob.path)
            try bytes.write(to: blob)

            var leftovers: [String] = []
            for run in 0..<12 {
                let out = "out-\(run)"
                let pulled = try registry.run(["pull", "many:1", "-o", out, "--jobs", "4"])
                #expect(pulled.status == 5, "\(pulled)")
                #expect(pulled.stderr.contains("'\(first)' of many:1 does not match its digest"), "\(pulled)")
                #expect(!registry.exists(out))
                if registry.exists(out + ".partial") {
                    let left = try filesByPath(registry.work.appending(path: out + ".partial")).keys.sorted()
                    leftovers.append("\(out).partial: \(left)")
                }
            }
            #expect(leftovers.isEmpty, "a failed pull left a partial directory behind: \(leftovers)")
        }
    }
}
