import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import Registry

/// `docs/openapi.yaml` describes exactly the routes the router serves, and the daemon serves that same file.
@Suite struct OpenAPIDocumentTests {
    static let documentURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "docs/openapi.yaml")
    static let mlflowGuideURL = documentURL.deletingLastPathComponent().appending(path: "mlflow.md")

    /// `METHOD /path` for every operation of the document (paths at two spaces, methods at four).
    static func documentedOperations() throws -> Set<String> {
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]
        var operations = Set<String>()
        var currentPath: String?
        var inPaths = false
        for line in try String(contentsOf: documentURL, encoding: .utf8).split(
            separator: "\n",
            omittingEmptySubsequences: false
        ) {
            if !line.isEmpty, !line.hasPrefix(" ") { inPaths = line == "paths:" }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                currentPath = String(line.dropFirst(2).dropLast())
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), let path = currentPath {
                let key = line.trimmingCharacters(in: .whitespaces).dropLast()
                if line.hasSuffix(":"), methods.contains(String(key)) {
                    operations.insert("\(key.uppercased()) \(path)")
                }
            }
        }
        return operations
    }

    // MARK: Tests

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteExists() async throws {
        try await withTemporaryDirectory { directory in
            // Given the router the daemon serves
            let service = try openRegistry(dataDirectory: directory)
            let router = buildRouter(
                service: service,
                metrics: RegistryMetrics(),
                authenticator: Authenticator(mode: .none, store: service.metadata)
            )
            try router.validate()
            let all = Set(
                router.routes.map { route in
                    let path = route.path.description.replacingOccurrences(of: "**", with: "{path}")
                    return "\(route.method.rawValue) \(path)"
                }
            )
            // The MLflow-compatible routes are MLflow's API, described in docs/mlflow.md rather than in our document.
            let mlflow = all.filter { MLflowError.isMLflowPath(String($0.split(separator: " ")[1])) }
            let served = all.subtracting(mlflow)
            // When the documented operations are read
            let documented = try Self.documentedOperations()
            let guide = try String(contentsOf: Self.mlflowGuideURL, encoding: .utf8)
            // Then both lists are the same
            #expect(served.subtracting(documented).sorted() == [], "served but not documented")
            #expect(documented.subtracting(served).sorted() == [], "documented but not served")
            #expect(served.count > 30)
            // And the MLflow guide lists every MLflow route
            #expect(mlflow.count > 40)
            #expect(
                mlflow.filter { !guide.contains("`\($0)`") }.sorted() == [],
                "MLflow routes missing from docs/mlflow.md"
            )
        }
    }

    @Test func theDaemonServesTheDocumentFromTheRepository() async throws {
        let expected = try String(contentsOf: Self.documentURL, encoding: .utf8)
        try await withTestRegistry { client in
            try await client.execute(uri: "/api/v1/openapi.yaml", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/yaml")
                #expect(String(buffer: response.body) == expected)
            }
        }
    }
}
