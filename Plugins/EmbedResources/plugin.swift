import Foundation
import PackagePlugin

/// Embeds the SQL migrations (`migrations/sqlite/*.sql`) and the HTTP API description (`docs/openapi.yaml`)
/// into the `Registry` module as Swift source, so the `modelctl` binary runs with nothing beside it.
///
/// The plugin lists the migration directory each time the build is planned, so adding a file is picked up
/// without touching the package manifest.
@main
struct EmbedResources: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) async throws -> [Command] {
        let root = context.package.directoryURL
        let migrationsDirectory = root.appending(path: "migrations/sqlite")
        let openAPI = root.appending(path: "docs/openapi.yaml")
        let names = try FileManager.default.contentsOfDirectory(atPath: migrationsDirectory.path())
            .filter { $0.hasSuffix(".sql") }
            .sorted()
        let migrations = names.map { migrationsDirectory.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedResources.swift")
        let tool = try context.tool(named: "ResourceEmbedder")
        return [
            .buildCommand(
                displayName: "Embedding \(migrations.count) migrations and openapi.yaml into \(target.name)",
                executable: tool.url,
                arguments: [output.path(), openAPI.path()] + migrations.map { $0.path() },
                inputFiles: [openAPI] + migrations + [migrationsDirectory],
                outputFiles: [output]
            )
        ]
    }
}
