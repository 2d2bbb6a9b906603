import Foundation
import GRDB
import Packager
import TestSupport
import Testing

@testable import Registry

/// Store tests against a real SQLite file (DatabasePool, WAL) in a temporary directory.
@Suite struct SQLiteMetadataStoreTests {
    static let alice = Principal(id: "user:alice")

    func withStore(_ body: (SQLiteMetadataStore, RegistryDatabase) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            let database = try RegistryDatabase(path: directory.appending(path: "registry.sqlite").path)
            try await body(SQLiteMetadataStore(database: database), database)
        }
    }

    static func file(_ path: String = "model.onnx", seed: UInt64 = 1) throws -> VersionFile {
        let fixture = BlobFixture(count: 64, seed: seed)
        return VersionFile(
            path: path,
            size: Int64(fixture.size),
            digest: try Digest(parsing: fixture.digest),
            role: .model
        )
    }

    /// Creates `count` READY versions of `model` (creating the model first).
    @discardableResult
    static func readyVersions(_ store: SQLiteMetadataStore, model: String, count: Int) async throws -> [ModelVersion] {
        _ = try? await store.createModel(name: model, description: "", tags: [:], actor: alice)
        var versions: [ModelVersion] = []
        for index in 0..<count {
            let created = try await store.createVersion(
                model: model,
                NewVersion(files: [try file(seed: UInt64(index + 1))]),
                actor: alice
            )
            versions.append(
                try await store.commitVersion(model: model, number: created.number, format: .onnx, actor: alice)
            )
        }
        return versions
    }

    // MARK: Tests

    @Test func modelsAreCreatedListedByPrefixAndTagAndPaged() async throws {
        try await withStore { store, _ in
            // Given five models, two tagged team=vision
            for name in ["resnet-a", "resnet-b", "resnet-c", "yolo", "bert"] {
                let tags = name.hasPrefix("resnet-a") || name == "yolo" ? ["team": "vision"] : [:]
                _ = try await store.createModel(name: name, description: "d", tags: tags, actor: Self.alice)
            }
            // When listing by prefix with a page size of 2
            let first = try await store.models(matching: ModelQuery(namePrefix: "resnet", limit: 2))
            let second = try await store.models(
                matching: ModelQuery(namePrefix: "resnet", limit: 2, pageToken: first.nextPageToken)
            )
            // Then pages follow each other in name order and end
            #expect(first.items.map(\.name) == ["resnet-a", "resnet-b"])
            #expect(second.items.map(\.name) == ["resnet-c"])
            #expect(second.nextPageToken == nil)
            // And tag filters select by key and value
            let vision = try await store.models(matching: ModelQuery(tags: [TagFilter(key: "team", value: "vision")]))
            #expect(vision.items.map(\.name) == ["resnet-a", "yolo"])
            let anyTeam = try await store.models(matching: ModelQuery(tags: [TagFilter(key: "team")]))
            #expect(anyTeam.items.count == 2)
        }
    }

    @Test func searchSummariesCarryTagsAndPagesReadOnlyWhatStillExists() async throws {
        try await withStore { store, _ in
            // Given models with zero, one and two tags, and versions with and without tags
            _ = try await store.createModel(name: "a-bare", description: "", tags: [:], actor: Self.alice)
            _ = try await store.createModel(name: "a-one", description: "", tags: ["k": "1"], actor: Self.alice)
            _ = try await store.createModel(
                name: "b-two",
                description: "",
                tags: ["k": "2", "j": "x"],
                actor: Self.alice
            )
            try await Self.readyVersions(store, model: "a-one", count: 3)
            _ = try await store.updateVersion(
                model: "a-one",
                number: 2,
                MetadataUpdate(setTags: ["t": "v", "u": "w"]),
                actor: Self.alice
            )
            // Then one summary per model, in name order, each with all its tags, also under a prefix or a name
            let all = try await store.modelSummaries(prefix: nil, name: nil)
            #expect(all.map(\.name) == ["a-bare", "a-one", "b-two"])
            #expect(all.map(\.tags) == [[:], ["k": "1"], ["k": "2", "j": "x"]])
            #expect(try await store.modelSummaries(prefix: "a-", name: nil).map(\.name) == ["a-bare", "a-one"])
            #expect(try await store.modelSummaries(prefix: nil, name: "b-two").map(\.tags) == [["k": "2", "j": "x"]])
            #expect(try await store.modelSummaries(prefix: nil, name: "a").isEmpty)
            // And one summary per version, newest first, with its tags
            let versions = try await store.versionSummaries(ofModels: ["a-one", "a-bare"])
            #expect(versions.map(\.key.number) == [3, 2, 1])
            #expect(versions.map(\.tags) == [[:], ["t": "v", "u": "w"], [:]])
            #expect(try await store.versionSummaries(ofModels: nil).count == 3)
            // When a version and a model go away between the summaries and the page
            try await store.deleteVersion(model: "a-one", number: 2, actor: Self.alice)
            try await store.deleteModel(named: "a-bare", force: true, expectedRevision: nil, actor: Self.alice)
            // Then the page holds what is left, in the order asked
            let page = try await store.versions(versions.map(\.key))
            #expect(page.map(\.number) == [3, 1])
            let models = try await store.registeredModels(named: ["b-two", "a-bare", "a-one"])
            #expect(models.map(\.model.name) == ["b-two", "a-one"])
            #expect(models.map { $0.latest.map(\.number) } == [[], [3]])
        }
    }

    @Test func duplicateModelNameIsAlreadyExists() async throws {
        try await withStore { store, _ in
            _ = try await store.createModel(name: "resnet", description: "", tags: [:], actor: Self.alice)
            await #expect(throws: RegistryError(.alreadyExists, "model 'resnet' already exists")) {
                _ = try await store.createModel(name: "resnet", description: "", tags: [:], actor: Self.alice)
            }
        }
    }

    @Test func versionsNumberPerModelAndMoveFromPendingToReadyOnce() async throws {
        try await withStore { store, database in
            _ = try await store.createModel(name: "a", description: "", tags: [:], actor: Self.alice)
            _ = try await store.createModel(name: "b", description: "", tags: [:], actor: Self.alice)
            let a1 = try await store.createVersion(
                model: "a",
                NewVersion(label: "1.0.0", files: [try Self.file()]),
                actor: Self.alice
            )
            let b1 = try await store.createVersion(model: "b", NewVersion(files: [try Self.file()]), actor: Self.alice)
            let a2 = try await store.createVersion(model: "a", NewVersion(files: [try Self.file()]), actor: Self.alice)
            let numbers: [Int] = [a1.number, b1.number, a2.number]
            #expect(numbers == [1, 1, 2])
            #expect(a1.status == .pending)

            let ready = try await store.commitVersion(model: "a", number: 1, format: .onnx, actor: Self.alice)
            #expect(ready.status == .ready && ready.format == .onnx)
            // Committing again is idempotent
            #expect(
                try await store.commitVersion(model: "a", number: 1, format: .onnx, actor: Self.alice).status == .ready
            )
            // A READY version cannot fail, a FAILED one cannot be committed
            await #expect(throws: RegistryError.self) {
                _ = try await store.failVersion(model: "a", number: 1, reason: "x", actor: Self.alice)
            }
            _ = try await store.failVersion(model: "a", number: 2, reason: "upload aborted", actor: Self.alice)
            await #expect(throws: RegistryError.self) {
                _ = try await store.commitVersion(model: "a", number: 2, format: .onnx, actor: Self.alice)
            }
            // Labels are unique per model and resolve
            #expect(try await store.version(model: "a", label: "1.0.0").number == 1)
            await #expect {
                _ = try await store.createVersion(
                    model: "a",
                    NewVersion(label: "1.0.0", files: [try Self.file()]),
                    actor: Self.alice
                )
            } throws: { ($0 as? RegistryError)?.code == .alreadyExists }
            // The schema itself refuses changing the files of a version
            await #expect(throws: DatabaseError.self) {
                try await database.writer.write { db in try db.execute(sql: "UPDATE version_files SET size = 1") }
            }
            await #expect(throws: DatabaseError.self) {
                try await database.writer.write { db in
                    try db.execute(
                        sql:
                            "UPDATE versions SET status = 'PENDING' WHERE number = 1 AND model_id = (SELECT id FROM models WHERE name = 'a')"
                    )
                }
            }
        }
    }

    @Test func versionSearchFiltersByStageTagMetricAndLabel() async throws {
        try await withStore { store, _ in
            _ = try await store.createModel(name: "m", description: "", tags: [:], actor: Self.alice)
            for (index, accuracy) in [0.7, 0.85, 0.93].enumerated() {
                let created = try await store.createVersion(
                    model: "m",
                    NewVersion(
                        label: "v-\(index)",
                        files: [try Self.file()],
                        metrics: ["accuracy": accuracy],
                        tags: ["split": index == 2 ? "b" : "a"]
                    ),
                    actor: Self.alice
                )
                _ = try await store.commitVersion(model: "m", number: created.number, format: .onnx, actor: Self.alice)
            }
            _ = try await store.setStage(
                model: "m",
                number: 2,
                stage: .staging,
                archiveExisting: false,
                expectedRevision: nil,
                comment: nil,
                actor: Self.alice
            )

            let good = try await store.versions(
                matching: VersionQuery(model: "m", metrics: [try MetricFilter(parsing: "accuracy>=0.85")])
            )
            #expect(good.items.map(\.number) == [3, 2])
            let staged = try await store.versions(matching: VersionQuery(model: "m", stage: .staging))
            #expect(staged.items.map(\.number) == [2])
            let tagged = try await store.versions(
                matching: VersionQuery(model: "m", tags: [TagFilter(key: "split", value: "a")], ascending: true)
            )
            #expect(tagged.items.map(\.number) == [1, 2])
            let labelled = try await store.versions(matching: VersionQuery(model: "m", label: "v-2"))
            #expect(labelled.items.map(\.number) == [3])
            let page1 = try await store.versions(matching: VersionQuery(model: "m", limit: 2))
            let page2 = try await store.versions(
                matching: VersionQuery(model: "m", limit: 2, pageToken: page1.nextPageToken)
            )
            #expect(
                page1.items.map(\.number) == [3, 2] && page2.items.map(\.number) == [1] && page2.nextPageToken == nil
            )
        }
    }

    @Test func promotionArchivesThePreviousHolderAndRollbackRestoresItStepByStep() async throws {
        try await withStore { store, _ in
            try await Self.readyVersions(store, model: "m", count: 3)
            _ = try await store.setStage(
                model: "m",
                number: 1,
                stage: .production,
                archiveExisting: true,
                expectedRevision: nil,
                comment: nil,
                actor: Self.alice
            )
            _ = try await store.setStage(
                model: "m",
                number: 2,
                stage: .staging,
                archiveExisting: false,
                expectedRevision: nil,
                comment: nil,
                actor: Self.alice
            )
            // When version 2 goes to Production archiving the holder
            let change = try await store.setStage(
                model: "m",
                number: 2,
                stage: .production,
                archiveExisting: true,
                expectedRevision: nil,
                comment: "better",
                actor: Self.alice
            )
            #expect(change.holdersBefore == [1] && change.holdersAfter == [2])
            #expect(try await store.version(model: "m", number: 1).stage == .archived)
            // And version 3 after it
            _ = try await store.setStage(
                model: "m",
                number: 3,
                stage: .production,
                archiveExisting: true,
                expectedRevision: nil,
                comment: nil,
                actor: Self.alice
            )
            // Then rolling back returns Production to 2 (and 3 to None), then to 1 (and 2 to Staging)
            let first = try await store.rollbackStage(
                model: "m",
                stage: .production,
                expectedRevision: nil,
                comment: nil,
                actor: Self.alice
            )
            #expect(first.holdersBefore == [3] && first.holdersAfter == [2])
            #expect(try await store.version(model: "m", number: 3).stage == .none)
            let second = try await store.rollbackStage(
                model: "m",
                stage: .production,
                expectedRevision: nil,
                comment: nil,
                actor: Self.alice
            )
            #expect(second.holdersAfter == [1])
            #expect(try await store.version(model: "m", number: 2).stage == .staging)
            // And the stage resolves to its holder
            #expect(try await store.version(model: "m", stage: .production).number == 1)
            // And each rollback is itself audited, naming the event it undid
            let history = try await store.history(model: "m", limit: 2, beforeID: nil)
            #expect(history.map(\.kind) == [.stageRolledBack, .stageRolledBack])
            #expect(history.allSatisfy { $0.revertsEventID != nil })
            // And the last rollback has nothing left to undo
            _ = try await store.rollbackStage(
                model: "m",
                stage: .production,
                expectedRevision: nil,
                comment: nil,
                actor: Self.alice
            )
            await #expect {
                _ = try await store.rollbackStage(
                    model: "m",
                    stage: .production,
                    expectedRevision: nil,
                    comment: nil,
                    actor: Self.alice
                )
            } throws: { ($0 as? RegistryError)?.code == .conflict }
        }
    }

    @Test func rollbackRefusesWhenTheStageWasChangedOtherwise() async throws {
        try await withStore { store, _ in
            try await Self.readyVersions(store, model: "m", count: 2)
            _ = try await store.setStage(
                model: "m",
                number: 1,
                stage: .production,
                archiveExisting: false,
                expectedRevision: nil,
                comment: nil,
                actor: Self.alice
            )
            // Version 1 leaves Production through another stage change
            _ = try await store.setStage(
                model: "m",
                number: 1,
                stage: .staging,
                archiveExisting: false,
                expectedRevision: nil,
                comment: nil,
                actor: Self.alice
            )
            await #expect {
                _ = try await store.rollbackStage(
                    model: "m",
                    stage: .production,
                    expectedRevision: nil,
                    comment: nil,
                    actor: Self.alice
                )
            } throws: { error in
                let error = try #require(error as? RegistryError)
                return error.code == .conflict && error.message.contains("version 1")
            }
        }
    }

    @Test func aliasesMoveRollBackAndDeleteWithAudit() async throws {
        try await withStore { store, _ in
            try await Self.readyVersions(store, model: "m", count: 3)
            let set1 = try await store.setAlias(
                model: "m",
                alias: "champion",
                number: 1,
                expectedRevision: nil,
                comment: nil,
                actor: Self.alice
            )
            #expect(set1.from == nil && set1.to == 1)
            let set2 = try await store.setAlias(
                model: "m",
                alias: "champion",
                number: 3,
                expectedRevision: nil,
                comment: nil,
                actor: Self.alice
            )
            #expect(set2.from == 1 && set2.to == 3)
            #expect(try await store.version(model: "m", alias: "champion").number == 3)

            let back = try await store.rollbackAlias(
                model: "m",
                alias: "champion",
                expectedRevision: nil,
                comment: nil,
                actor: Self.alice
            )
            #expect(back.from == 3 && back.to == 1)
            let gone = try await store.rollbackAlias(
                model: "m",
                alias: "champion",
                expectedRevision: nil,
                comment: nil,
                actor: Self.alice
            )
            #expect(gone.from == 1 && gone.to == nil)
            await #expect {
                _ = try await store.version(model: "m", alias: "champion")
            } throws: { error in
                let error = try #require(error as? RegistryError)
                return error.code == .notFound
                    && error.message == "model 'm' has no alias 'champion' (it has no aliases)"
            }
            // A deleted alias can be rolled back too
            _ = try await store.setAlias(
                model: "m",
                alias: "canary",
                number: 2,
                expectedRevision: nil,
                comment: nil,
                actor: Self.alice
            )
            _ = try await store.setAlias(
                model: "m",
                alias: "prod",
                number: 2,
                expectedRevision: nil,
                comment: nil,
                actor: Self.alice
            )
            _ = try await store.deleteAlias(
                model: "m",
                alias: "canary",
                expectedRevision: nil,
                comment: nil,
                actor: Self.alice
            )
            await #expect {
                _ = try await store.version(model: "m", alias: "champion")
            } throws: { ($0 as? RegistryError)?.message == "model 'm' has no alias 'champion' (aliases: prod)" }
            _ = try await store.rollbackAlias(
                model: "m",
                alias: "canary",
                expectedRevision: nil,
                comment: nil,
                actor: Self.alice
            )
            #expect(try await store.version(model: "m", alias: "canary").number == 2)
            let kinds = try await store.history(model: "m", limit: 6, beforeID: nil).map(\.kind)
            #expect(
                kinds == [.aliasRolledBack, .aliasDeleted, .aliasSet, .aliasSet, .aliasRolledBack, .aliasRolledBack]
            )
        }
    }

    @Test func onlyReadyVersionsCanBePromoted() async throws {
        try await withStore { store, _ in
            _ = try await store.createModel(name: "m", description: "", tags: [:], actor: Self.alice)
            _ = try await store.createVersion(model: "m", NewVersion(files: [try Self.file()]), actor: Self.alice)
            await #expect {
                _ = try await store.setAlias(
                    model: "m",
                    alias: "a",
                    number: 1,
                    expectedRevision: nil,
                    comment: nil,
                    actor: Self.alice
                )
            } throws: { ($0 as? RegistryError)?.code == .conflict }
            await #expect {
                _ = try await store.setStage(
                    model: "m",
                    number: 1,
                    stage: .production,
                    archiveExisting: false,
                    expectedRevision: nil,
                    comment: nil,
                    actor: Self.alice
                )
            } throws: { ($0 as? RegistryError)?.code == .conflict }
        }
    }

    @Test func staleRevisionIsAConflictAndChangesNothing() async throws {
        try await withStore { store, _ in
            try await Self.readyVersions(store, model: "m", count: 2)
            let revision = try await store.model(named: "m").revision
            _ = try await store.setAlias(
                model: "m",
                alias: "prod",
                number: 1,
                expectedRevision: revision,
                comment: nil,
                actor: Self.alice
            )
            // A second writer still holding the old revision
            await #expect {
                _ = try await store.setAlias(
                    model: "m",
                    alias: "prod",
                    number: 2,
                    expectedRevision: revision,
                    comment: nil,
                    actor: Self.alice
                )
            } throws: { error in
                let error = try #require(error as? RegistryError)
                return error.code == .conflict && error.details["revision"] == String(revision + 1)
            }
            #expect(try await store.version(model: "m", alias: "prod").number == 1)
        }
    }

    @Test func deletingAModelInUseNeedsForceAndKeepsItsHistory() async throws {
        try await withStore { store, database in
            try await Self.readyVersions(store, model: "m", count: 1)
            _ = try await store.setAlias(
                model: "m",
                alias: "prod",
                number: 1,
                expectedRevision: nil,
                comment: nil,
                actor: Self.alice
            )
            await #expect {
                try await store.deleteModel(named: "m", force: false, expectedRevision: nil, actor: Self.alice)
            } throws: { error in
                let error = try #require(error as? RegistryError)
                return error.code == .conflict && error.message.contains("alias 'prod'")
            }
            try await store.deleteModel(named: "m", force: true, expectedRevision: nil, actor: Self.alice)
            await #expect { _ = try await store.model(named: "m") } throws: {
                ($0 as? RegistryError)?.code == .notFound
            }
            let remaining = try await database.writer.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM version_files")
            }
            #expect(remaining == 0)
            // The history stays readable by name after the deletion
            let history = try await store.history(model: "m", limit: 100, beforeID: nil)
            #expect(history.first?.kind == .modelDeleted)
            #expect(history.last?.kind == .modelCreated)
            await #expect {
                _ = try await store.history(model: "never-existed", limit: 10, beforeID: nil)
            } throws: { ($0 as? RegistryError)?.code == .notFound }
        }
    }

    @Test func auditEventsCannotBeChangedOrDeleted() async throws {
        try await withStore { store, database in
            _ = try await store.createModel(name: "m", description: "", tags: [:], actor: Self.alice)
            await #expect(throws: DatabaseError.self) {
                try await database.writer.write { db in try db.execute(sql: "UPDATE audit_events SET actor = 'mallory'")
                }
            }
            await #expect(throws: DatabaseError.self) {
                try await database.writer.write { db in try db.execute(sql: "DELETE FROM audit_events") }
            }
            let history = try await store.history(model: "m", limit: 10, beforeID: nil)
            #expect(history.map(\.actor) == ["user:alice"])
        }
    }

    @Test func fiftyConcurrentPromotionsOfOneAliasLeaveOneHolderAndFiftyEvents() async throws {
        try await withStore { store, database in
            // Given a model with five READY versions
            try await Self.readyVersions(store, model: "m", count: 5)
            let eventsBefore = try await store.history(model: "m", limit: 1000, beforeID: nil).count
            // When 50 tasks promote the alias at the same time
            let changes = try await withThrowingTaskGroup(of: AliasChange.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        try await store.setAlias(
                            model: "m",
                            alias: "champion",
                            number: index % 5 + 1,
                            expectedRevision: nil,
                            comment: "#\(index)",
                            actor: Principal(id: "task:\(index)")
                        )
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // Then exactly one row holds the alias, every promotion is audited once, and the changes form one chain
            #expect(changes.count == 50)
            let rows = try await database.writer.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM aliases WHERE alias = 'champion'")
            }
            #expect(rows == 1)
            let history = try await store.history(model: "m", limit: 1000, beforeID: nil)
            #expect(history.count - eventsBefore == 50)
            #expect(Set(history.filter { $0.kind == .aliasSet }.map(\.actor)).count == 50)
            let ordered = changes.sorted { $0.revision < $1.revision }
            #expect(Set(ordered.map(\.revision)).count == 50)
            for (previous, next) in zip(ordered, ordered.dropFirst()) {
                #expect(next.from == previous.to)
            }
            #expect(try await store.version(model: "m", alias: "champion").number == ordered.last?.to)
        }
    }
}
