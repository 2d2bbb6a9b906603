import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// The tracking subset: experiments, runs with params and metrics, run search, and logged models.
@Suite struct MLflowTrackingTests {
    /// Creates an experiment; returns its id.
    func createExperiment(_ client: APIClient, _ name: String) async throws -> String {
        let response = try await mlflow(client, .post, "experiments/create", ["name": name])
        try expectStatus(response, .ok)
        struct Created: Decodable { var experimentId: String }
        return try response.decode(Created.self).experimentId
    }

    func logMetric(
        _ client: APIClient,
        run: String,
        _ key: String,
        _ value: Double,
        step: Int64,
        timestamp: Int64,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let response = try await mlflow(
            client,
            .post,
            "runs/log-metric",
            ["run_id": run, "key": key, "value": value, "step": step, "timestamp": timestamp]
        )
        try expectStatus(response, .ok, sourceLocation: sourceLocation)
    }

    func logParameter(_ client: APIClient, run: String, _ key: String, _ value: String) async throws -> TestResponse {
        try await mlflow(client, .post, "runs/log-parameter", ["run_id": run, "key": key, "value": value])
    }

    /// `runs/search` in `experiment`; returns the run ids found in order.
    func searchRuns(
        _ client: APIClient,
        experiment: String,
        filter: String? = nil,
        orderBy: [String] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> [String] {
        var parameters: [String: Any] = ["experiment_ids": [experiment]]
        if let filter { parameters["filter"] = filter }
        if !orderBy.isEmpty { parameters["order_by"] = orderBy }
        let response = try await mlflow(client, .post, "runs/search", parameters)
        try expectStatus(response, .ok, sourceLocation: sourceLocation)
        return try response.decode(MLflowRunSearchAnswer.self, sourceLocation: sourceLocation).runs?.map(\.info.runId)
            ?? []
    }

    // MARK: Params

    @Test func aParamCannotChangeOnceLogged() async throws {
        try await withTestRegistry { client in
            // Given a run with param lr = 0.1
            let run = try await mlflowCreateRun(client).info.runId
            try expectStatus(try await logParameter(client, run: run, "lr", "0.1"), .ok)
            // When the same value is logged again
            // Then it is accepted
            try expectStatus(try await logParameter(client, run: run, "lr", "0.1"), .ok)
            // When another value is logged
            let changed = try await logParameter(client, run: run, "lr", "0.2")
            // Then it is 400 INVALID_PARAMETER_VALUE naming the param, and the run keeps the first value
            expectMLflowError(changed, .badRequest, "INVALID_PARAMETER_VALUE", mentioning: ["lr", "0.1", "0.2"])
            #expect(try await mlflowGetRun(client, run).data.params == [MLflowKeyValue(key: "lr", value: "0.1")])
        }
    }

    @Test func aBatchChangingAParamIsRefusedWhole() async throws {
        try await withTestRegistry { client in
            // Given a run with param lr = 0.1
            let run = try await mlflowCreateRun(client).info.runId
            try expectStatus(try await logParameter(client, run: run, "lr", "0.1"), .ok)
            // When a batch logs a metric, a new param, a tag and another value of lr
            let response = try await mlflow(
                client,
                .post,
                "runs/log-batch",
                [
                    "run_id": run,
                    "metrics": [["key": "acc", "value": 0.9, "timestamp": 1000, "step": 0]],
                    "params": [["key": "epochs", "value": "3"], ["key": "lr", "value": "0.5"]],
                    "tags": [["key": "team", "value": "vision"]],
                ]
            )
            // Then it is 400 and nothing of the batch was kept
            expectMLflowError(response, .badRequest, "INVALID_PARAMETER_VALUE", mentioning: ["lr"])
            let data = try await mlflowGetRun(client, run).data
            #expect(data.params == [MLflowKeyValue(key: "lr", value: "0.1")])
            #expect(data.metrics == nil)
            #expect(data.tags?.contains { $0.key == "team" } != true)
        }
    }

    // MARK: Metrics

    @Test func aRunReportsTheLatestValueOfEachMetricAndTheHistoryAllOfThem() async throws {
        try await withTestRegistry { client in
            // Given acc logged at steps 0, 2 and 1, and loss twice at step 0
            let run = try await mlflowCreateRun(client).info.runId
            try await logMetric(client, run: run, "acc", 0.5, step: 0, timestamp: 1000)
            try await logMetric(client, run: run, "acc", 0.6, step: 2, timestamp: 1100)
            try await logMetric(client, run: run, "acc", 0.7, step: 1, timestamp: 1200)
            try await logMetric(client, run: run, "loss", 1.0, step: 0, timestamp: 2000)
            try await logMetric(client, run: run, "loss", 0.8, step: 0, timestamp: 3000)
            // When the run is read
            let metrics = try await mlflowGetRun(client, run).data.metrics ?? []
            // Then each metric has its value at the highest step, then the latest time
            #expect(
                metrics.sorted { $0.key < $1.key } == [
                    MLflowMetric(key: "acc", value: 0.6, timestamp: 1100, step: 2),
                    MLflowMetric(key: "loss", value: 0.8, timestamp: 3000, step: 0),
                ]
            )
            // When the history of acc is read
            let response = try await mlflow(client, .get, "metrics/get-history", ["run_id": run, "metric_key": "acc"])
            try expectStatus(response, .ok)
            let history = try response.decode(MLflowMetricHistory.self).metrics ?? []
            // Then it has every value, as logged
            #expect(
                history == [
                    MLflowMetric(key: "acc", value: 0.5, timestamp: 1000, step: 0),
                    MLflowMetric(key: "acc", value: 0.6, timestamp: 1100, step: 2),
                    MLflowMetric(key: "acc", value: 0.7, timestamp: 1200, step: 1),
                ]
            )
            // And a metric never logged has an empty history
            let none = try await mlflow(client, .get, "metrics/get-history", ["run_id": run, "metric_key": "f1"])
            try expectStatus(none, .ok)
            #expect(try none.decode(MLflowMetricHistory.self).metrics == nil)
        }
    }

    @Test func int64FieldsOfABatchMayBeJSONStrings() async throws {
        try await withTestRegistry { client in
            // Given a run
            let run = try await mlflowCreateRun(client).info.runId
            // When a batch sends timestamps and steps as strings, as protobuf's JSON mapping writes int64 fields
            let response = try await mlflow(
                client,
                .post,
                "runs/log-batch",
                [
                    "run_id": run,
                    "metrics": [
                        ["key": "acc", "value": 0.5, "timestamp": "1000", "step": "3"],
                        ["key": "acc", "value": "0.75", "timestamp": "2000", "step": "4"],
                    ],
                ]
            )
            try expectStatus(response, .ok)
            // Then the values are logged with those timestamps and steps, not replaced by defaults
            let history = try await mlflow(client, .get, "metrics/get-history", ["run_id": run, "metric_key": "acc"])
            try expectStatus(history, .ok)
            #expect(
                try history.decode(MLflowMetricHistory.self).metrics == [
                    MLflowMetric(key: "acc", value: 0.5, timestamp: 1000, step: 3),
                    MLflowMetric(key: "acc", value: 0.75, timestamp: 2000, step: 4),
                ]
            )
        }
    }

    @Test func theMetricHistoryPages() async throws {
        try await withTestRegistry { client in
            // Given five values of acc
            let run = try await mlflowCreateRun(client).info.runId
            for step in 0..<5 {
                try await logMetric(client, run: run, "acc", Double(step) / 10, step: Int64(step), timestamp: 1000)
            }
            // When the history is read two by two
            var steps: [Int64] = []
            var token: String?
            repeat {
                var parameters: [String: Any] = ["run_id": run, "metric_key": "acc", "max_results": 2]
                if let token { parameters["page_token"] = token }
                let response = try await mlflow(client, .get, "metrics/get-history", parameters)
                try expectStatus(response, .ok)
                let page = try response.decode(MLflowMetricHistory.self)
                steps += page.metrics?.map(\.step) ?? []
                token = page.nextPageToken
            } while token != nil && steps.count < 20
            // Then every value comes once
            #expect(steps == [0, 1, 2, 3, 4])
        }
    }

    // MARK: Run search

    @Test func runsAreSearchedByMetricAndOrderedByIt() async throws {
        try await withTestRegistry { client in
            // Given an experiment with runs of acc 0.9, 0.4 and 0.7, and one without acc
            let experiment = try await createExperiment(client, "search")
            var runs: [String] = []
            for (index, acc) in [0.9, 0.4, 0.7, nil].enumerated() {
                let run = try await mlflowCreateRun(
                    client,
                    experimentID: experiment,
                    name: "run-\(index)",
                    startTime: 1000 + Int64(index)
                ).info.runId
                if let acc { try await logMetric(client, run: run, "acc", acc, step: 0, timestamp: 1000) }
                runs.append(run)
            }
            // And a run of another experiment with a high acc
            let elsewhere = try await mlflowCreateRun(client).info.runId
            try await logMetric(client, run: elsewhere, "acc", 0.99, step: 0, timestamp: 1000)
            // When runs with acc above 0.5 are searched, best first
            let found = try await searchRuns(
                client,
                experiment: experiment,
                filter: "metrics.acc > 0.5",
                orderBy: ["metrics.acc DESC"]
            )
            // Then the runs of 0.9 and 0.7 are found, in that order
            #expect(found == [runs[0], runs[2]])
            // And ascending order reverses them
            #expect(
                try await searchRuns(
                    client,
                    experiment: experiment,
                    filter: "metrics.acc > 0.5",
                    orderBy: ["metrics.acc ASC"]
                ) == [runs[2], runs[0]]
            )
            // And other comparisons select accordingly
            #expect(try await searchRuns(client, experiment: experiment, filter: "metrics.acc <= 0.4") == [runs[1]])
            #expect(
                try await searchRuns(client, experiment: experiment, filter: "attributes.run_name = 'run-3'") == [
                    runs[3]
                ]
            )
        }
    }

    @Test func runsWithoutTheMetricSortLastInBothDirections() async throws {
        try await withTestRegistry { client in
            // Given runs of acc 0.9, 0.4 and 0.7, and one without acc
            let experiment = try await createExperiment(client, "nulls")
            var runs: [String] = []
            for (index, acc) in [0.9, 0.4, nil, 0.7].enumerated() {
                let run = try await mlflowCreateRun(client, experimentID: experiment, startTime: 1000 + Int64(index))
                    .info.runId
                if let acc { try await logMetric(client, run: run, "acc", acc, step: 0, timestamp: 1000) }
                runs.append(run)
            }
            // When all runs are ordered by acc, descending and ascending
            let descending = try await searchRuns(client, experiment: experiment, orderBy: ["metrics.acc DESC"])
            let ascending = try await searchRuns(client, experiment: experiment, orderBy: ["metrics.acc ASC"])
            // Then the run without acc comes last both times, as MLflow sorts missing values
            #expect(descending == [runs[0], runs[3], runs[1], runs[2]])
            #expect(ascending == [runs[1], runs[3], runs[0], runs[2]])
        }
    }

    @Test func runsAreSearchedByParamAndTag() async throws {
        try await withTestRegistry { client in
            // Given two runs with different params and tags
            let experiment = try await createExperiment(client, "params")
            let first = try await mlflowCreateRun(client, experimentID: experiment, startTime: 1).info.runId
            let second = try await mlflowCreateRun(client, experimentID: experiment, startTime: 2).info.runId
            try expectStatus(try await logParameter(client, run: first, "lr", "0.1"), .ok)
            try expectStatus(try await logParameter(client, run: second, "lr", "0.01"), .ok)
            let tag = try await mlflow(
                client,
                .post,
                "runs/set-tag",
                ["run_id": second, "key": "team", "value": "nlp"]
            )
            try expectStatus(tag, .ok)
            // When they are searched by param and by tag
            // Then each finds its run
            #expect(try await searchRuns(client, experiment: experiment, filter: "params.lr = '0.1'") == [first])
            #expect(try await searchRuns(client, experiment: experiment, filter: "tags.team = 'nlp'") == [second])
            #expect(try await searchRuns(client, experiment: experiment, filter: "params.lr LIKE '0.%'").count == 2)
        }
    }

    @Test(arguments: [
        #"{"filter": "metrics.acc > 'high'"}"#,
        #"{"filter": "bogus.acc > 1"}"#,
        #"{"filter": "metrics.acc > 1 OR metrics.acc < 0"}"#,
        #"{"order_by": ["metrics.acc SIDEWAYS"]}"#,
        #"{"order_by": ["bogus DESC"]}"#,
        #"{"max_results": 0}"#,
        #"{"page_token": "garbage"}"#,
        #"{"experiment_ids": ["zero"]}"#,
    ])
    func invalidRunSearchesAre400(_ extra: String) async throws {
        try await withTestRegistry { client in
            // Given / When runs are searched with an invalid parameter
            var parameters: [String: Any] = ["experiment_ids": ["0"]]
            let invalid = try #require(try JSONSerialization.jsonObject(with: Data(extra.utf8)) as? [String: Any])
            parameters.merge(invalid) { _, new in new }
            let response = try await mlflow(client, .post, "runs/search", parameters)
            // Then it is 400 INVALID_PARAMETER_VALUE
            expectMLflowError(response, .badRequest, "INVALID_PARAMETER_VALUE", extra)
        }
    }

    // MARK: Logged models

    @Test func aLoggedModelIsCreatedPendingFinalizedReadyAndReadBack() async throws {
        try await withTestRegistry { client in
            // Given a run
            let run = try await mlflowCreateRun(client).info.runId
            // When a logged model of the run is created
            let response = try await mlflow(
                client,
                .post,
                "logged-models",
                ["experiment_id": "0", "name": "clf", "source_run_id": run, "model_type": "classifier"]
            )
            try expectStatus(response, .ok)
            let created = try response.decode(MLflowLoggedModelAnswer.self).model.info
            // Then it is pending, with an id and an artifact location of its own
            #expect(created.status == "LOGGED_MODEL_PENDING")
            #expect(created.modelId.wholeMatch(of: /m-[0-9a-f]{32}/) != nil, "id: \(created.modelId)")
            #expect(created.artifactUri == "mlflow-artifacts:/0/models/\(created.modelId)/artifacts")
            #expect(created.sourceRunId == run)
            #expect(created.name == "clf")
            // When it is finalized READY
            let finalized = try await mlflow(
                client,
                .patch,
                "logged-models/\(created.modelId)",
                ["model_id": created.modelId, "status": "LOGGED_MODEL_READY"]
            )
            try expectStatus(finalized, .ok)
            #expect(try finalized.decode(MLflowLoggedModelAnswer.self).model.info.status == "LOGGED_MODEL_READY")
            // Then reading it gives it READY with its fields
            let read = try await mlflow(client, .get, "logged-models/\(created.modelId)")
            try expectStatus(read, .ok)
            let info = try read.decode(MLflowLoggedModelAnswer.self).model.info
            #expect(info.status == "LOGGED_MODEL_READY")
            #expect(info.name == "clf")
            #expect(info.modelType == "classifier")
            #expect(info.sourceRunId == run)
            #expect(info.experimentId == "0")
        }
    }

    @Test func loggedModelErrors() async throws {
        try await withTestRegistry { client in
            // Given a logged model
            let logged = try await mlflowCreateLoggedModel(client)
            // When it is finalized with an unknown status
            let badStatus = try await mlflow(
                client,
                .patch,
                "logged-models/\(logged.info.modelId)",
                ["status": "DONE"]
            )
            // Then it is 400 naming the parameter, and it stays pending
            expectMLflowError(badStatus, .badRequest, "INVALID_PARAMETER_VALUE", mentioning: ["status"])
            let read = try await mlflow(client, .get, "logged-models/\(logged.info.modelId)")
            #expect(try read.decode(MLflowLoggedModelAnswer.self).model.info.status == "LOGGED_MODEL_PENDING")
            // And a logged model that does not exist is 404, as is one of a run that does not exist
            let missing = try await mlflow(client, .get, "logged-models/m-0123456789abcdef0123456789abcdef")
            expectMLflowError(missing, .notFound, "RESOURCE_DOES_NOT_EXIST")
            let malformed = try await mlflow(client, .get, "logged-models/not-an-id")
            expectMLflowError(malformed, .notFound, "RESOURCE_DOES_NOT_EXIST")
            let ofMissingRun = try await mlflow(
                client,
                .post,
                "logged-models",
                ["experiment_id": "0", "source_run_id": "0123456789abcdef0123456789abcdef"]
            )
            expectMLflowError(ofMissingRun, .notFound, "RESOURCE_DOES_NOT_EXIST")
        }
    }
}
