import Foundation
import Hummingbird
import Packager

// Wire types of versions, stages and aliases. They mirror docs/openapi.yaml.

struct FileDTO: Codable {
    var path: String
    var size: Int64
    var digest: String
    var role: String?
}

struct LineageDTO: Codable {
    var runID: String?
    var source: String?
    var gitCommit: String?
    var datasetDigest: String?

    enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case source
        case gitCommit = "git_commit"
        case datasetDigest = "dataset_digest"
    }

    init(_ lineage: Lineage) {
        runID = lineage.runID
        source = lineage.source
        gitCommit = lineage.gitCommit
        datasetDigest = lineage.datasetDigest
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(runID, forKey: .runID)
        try container.encode(source, forKey: .source)
        try container.encode(gitCommit, forKey: .gitCommit)
        try container.encode(datasetDigest, forKey: .datasetDigest)
    }

    var domain: Lineage { Lineage(runID: runID, source: source, gitCommit: gitCommit, datasetDigest: datasetDigest) }
}

struct CreateVersionRequest: Decodable {
    var label: String?
    var format: String?
    var files: [FileDTO]
    var metrics: [String: Double]?
    var params: [String: String]?
    var tags: [String: String]?
    var lineage: LineageDTO?
    var description: String?

    func domain() throws -> NewVersion {
        NewVersion(
            label: label,
            format: format,
            files: try files.map { file in
                VersionFile(
                    path: file.path,
                    size: file.size,
                    digest: try Digest(parsing: file.digest),
                    role: try file.role.map { try FileRole(parsing: $0) } ?? .model
                )
            },
            metrics: metrics ?? [:],
            params: params ?? [:],
            tags: tags ?? [:],
            lineage: lineage?.domain ?? Lineage(),
            description: description ?? ""
        )
    }
}

struct UpdateVersionRequest: Decodable {
    var description: String?
    var tags: [String: String]?
    var removeTags: [String]?
    var metrics: [String: Double]?

    enum CodingKeys: String, CodingKey {
        case description, tags, metrics
        case removeTags = "remove_tags"
    }
}

struct FailVersionRequest: Decodable {
    var reason: String
}

struct VersionDTO: ResponseEncodable {
    var version: ModelVersion

    init(_ version: ModelVersion) { self.version = version }

    enum CodingKeys: String, CodingKey {
        case model, version, label, status, stage, aliases, format, files, metrics, params, tags, lineage, description
        case failureReason = "failure_reason"
        case createdBy = "created_by"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(version.model, forKey: .model)
        try container.encode(version.number, forKey: .version)
        try container.encode(version.label, forKey: .label)
        try container.encode(version.status.rawValue, forKey: .status)
        try container.encode(version.stage.rawValue, forKey: .stage)
        try container.encode(version.aliases, forKey: .aliases)
        try container.encode(version.format?.rawValue, forKey: .format)
        try container.encode(
            version.files.map {
                FileDTO(path: $0.path, size: $0.size, digest: $0.digest.description, role: $0.role.rawValue)
            },
            forKey: .files
        )
        try container.encode(version.metrics, forKey: .metrics)
        try container.encode(version.params, forKey: .params)
        try container.encode(version.tags, forKey: .tags)
        try container.encode(LineageDTO(version.lineage), forKey: .lineage)
        try container.encode(version.description, forKey: .description)
        try container.encode(version.failureReason, forKey: .failureReason)
        try container.encode(version.createdBy, forKey: .createdBy)
        try container.encode(version.createdAt, forKey: .createdAt)
        try container.encode(version.updatedAt, forKey: .updatedAt)
    }
}

struct VersionListDTO: ResponseEncodable {
    var versions: [VersionDTO]
    var nextPageToken: String?

    enum CodingKeys: String, CodingKey {
        case versions
        case nextPageToken = "next_page_token"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(versions, forKey: .versions)
        try container.encode(nextPageToken, forKey: .nextPageToken)
    }
}

struct SetStageRequest: Decodable {
    var stage: String
    var archiveExisting: Bool?
    var comment: String?

    enum CodingKeys: String, CodingKey {
        case stage, comment
        case archiveExisting = "archive_existing"
    }
}

struct RollbackRequest: Decodable {
    var comment: String?
}

struct SetAliasRequest: Decodable {
    var version: Int
    var comment: String?
}

struct StageChangeDTO: ResponseEncodable {
    var model: String
    var stage: String
    var from: [Int]
    var to: [Int]
    var moves: [MoveDTO]
    var revision: Int64
    var eventID: Int64

    struct MoveDTO: Encodable {
        var version: Int
        var from: String
        var to: String
    }

    enum CodingKeys: String, CodingKey {
        case model, stage, from, to, moves, revision
        case eventID = "event_id"
    }

    init(_ change: StageChange) {
        model = change.model
        stage = change.stage.rawValue
        from = change.holdersBefore
        to = change.holdersAfter
        moves = change.moves.map { MoveDTO(version: $0.version, from: $0.from.rawValue, to: $0.to.rawValue) }
        revision = change.revision
        eventID = change.eventID
    }
}

struct AliasChangeDTO: ResponseEncodable {
    var model: String
    var alias: String
    var from: Int?
    var to: Int?
    var revision: Int64
    var eventID: Int64

    enum CodingKeys: String, CodingKey {
        case model, alias, from, to, revision
        case eventID = "event_id"
    }

    init(_ change: AliasChange) {
        model = change.model
        alias = change.alias
        from = change.from
        to = change.to
        revision = change.revision
        eventID = change.eventID
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(model, forKey: .model)
        try container.encode(alias, forKey: .alias)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
        try container.encode(revision, forKey: .revision)
        try container.encode(eventID, forKey: .eventID)
    }
}

struct AliasesDTO: ResponseEncodable {
    var model: String
    var aliases: [String: Int]
    var revision: Int64
}

struct BlobDTO: ResponseEncodable {
    var digest: String
    var size: Int64
    var created: Bool
}

struct UploadDTO: ResponseEncodable {
    var id: String
    var offset: Int64
    var location: String
}
