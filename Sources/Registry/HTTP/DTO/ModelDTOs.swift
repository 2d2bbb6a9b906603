import Foundation
import Hummingbird

// Wire types of the models resource (`/api/v1/models`). They mirror docs/openapi.yaml.

struct CreateModelRequest: Decodable {
    var name: String
    var description: String?
    var tags: [String: String]?
}

struct UpdateModelRequest: Decodable {
    var description: String?
    var tags: [String: String]?
    var removeTags: [String]?

    enum CodingKeys: String, CodingKey {
        case description, tags
        case removeTags = "remove_tags"
    }
}

struct ModelDTO: ResponseEncodable {
    var name: String
    var description: String
    var tags: [String: String]
    var revision: Int64
    var latestVersion: Int?
    var aliases: [String: Int]
    var createdAt: Date
    var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case name, description, tags, revision, aliases
        case latestVersion = "latest_version"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    init(_ model: Model) {
        name = model.name
        description = model.description
        tags = model.tags
        revision = model.revision
        latestVersion = model.latestVersion
        aliases = model.aliases
        createdAt = model.createdAt
        updatedAt = model.updatedAt
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(description, forKey: .description)
        try container.encode(tags, forKey: .tags)
        try container.encode(revision, forKey: .revision)
        try container.encode(latestVersion, forKey: .latestVersion)
        try container.encode(aliases, forKey: .aliases)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

struct ModelListDTO: ResponseEncodable {
    var models: [ModelDTO]
    var nextPageToken: String?

    enum CodingKeys: String, CodingKey {
        case models
        case nextPageToken = "next_page_token"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(models, forKey: .models)
        try container.encode(nextPageToken, forKey: .nextPageToken)
    }
}

struct AuditEventDTO: Encodable {
    var id: Int64
    var model: String
    var kind: String
    var version: Int?
    var subject: String?
    var from: String?
    var to: String?
    var actor: String
    var comment: String?
    var revertsEventID: Int64?
    var revision: Int64
    var at: Date

    enum CodingKeys: String, CodingKey {
        case id, model, kind, version, subject, from, to, actor, comment, revision, at
        case revertsEventID = "reverts_event_id"
    }

    init(_ event: AuditEvent) {
        id = event.id
        model = event.model
        kind = event.kind.rawValue
        version = event.version
        subject = event.subject
        from = event.from
        to = event.to
        actor = event.actor
        comment = event.comment
        revertsEventID = event.revertsEventID
        revision = event.revision
        at = event.at
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(model, forKey: .model)
        try container.encode(kind, forKey: .kind)
        try container.encode(version, forKey: .version)
        try container.encode(subject, forKey: .subject)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
        try container.encode(actor, forKey: .actor)
        try container.encode(comment, forKey: .comment)
        try container.encode(revertsEventID, forKey: .revertsEventID)
        try container.encode(revision, forKey: .revision)
        try container.encode(at, forKey: .at)
    }
}

struct HistoryDTO: ResponseEncodable {
    var events: [AuditEventDTO]
    /// Pass as `before` to get the next (older) page; `null` on the last page.
    var nextBefore: Int64?

    enum CodingKeys: String, CodingKey {
        case events
        case nextBefore = "next_before"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(events, forKey: .events)
        try container.encode(nextBefore, forKey: .nextBefore)
    }
}
