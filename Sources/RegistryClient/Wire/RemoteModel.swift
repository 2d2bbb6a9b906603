public import Foundation

// Wire types of `/api/v1/models`, decoded from the registry's snake_case JSON. They mirror docs/openapi.yaml and
// are independent of the `Registry` module, so that the agent can use this library on devices.

/// A model as the registry returns it.
public struct RemoteModel: Codable, Sendable, Equatable {
    /// Unique name.
    public var name: String
    /// Free text, possibly empty.
    public var description: String
    /// Tags, key to value.
    public var tags: [String: String]
    /// Increases with every change to the model, its versions, stages or aliases; send it back as `ifMatch`.
    public var revision: Int64
    /// The highest version number, `nil` before the first version.
    public var latestVersion: Int?
    /// Alias name to version number.
    public var aliases: [String: Int]
    /// Creation time.
    public var createdAt: Date
    /// Time of the last change.
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case name, description, tags, revision, aliases
        case latestVersion = "latest_version"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// One page of ``RemoteModel``s.
public struct RemoteModelPage: Codable, Sendable, Equatable {
    /// The models of this page, by name.
    public var models: [RemoteModel]
    /// Pass as `pageToken` for the next page; `nil` on the last page.
    public var nextPageToken: String?

    enum CodingKeys: String, CodingKey {
        case models
        case nextPageToken = "next_page_token"
    }
}

/// One event of a model's audit trail.
public struct AuditEntry: Codable, Sendable, Equatable {
    /// Increasing event id; pass as `before` to page.
    public var id: Int64
    /// The model.
    public var model: String
    /// `model.created`, `version.committed`, `stage.changed`, `alias.set`, `alias.rolled_back`…
    public var kind: String
    /// The version concerned, if any.
    public var version: Int?
    /// The stage or alias concerned, if any.
    public var subject: String?
    /// Value before the change, if any.
    public var from: String?
    /// Value after the change, if any.
    public var to: String?
    /// Who made the change.
    public var actor: String
    /// The comment given with the change.
    public var comment: String?
    /// For a rollback, the event it reverts.
    public var revertsEventID: Int64?
    /// The model's revision after the change.
    public var revision: Int64
    /// When.
    public var at: Date

    enum CodingKeys: String, CodingKey {
        case id, model, kind, version, subject, from, to, actor, comment, revision, at
        case revertsEventID = "reverts_event_id"
    }
}

/// One page of a model's audit trail, newest first.
public struct AuditPage: Codable, Sendable, Equatable {
    /// Events, newest first.
    public var events: [AuditEntry]
    /// Pass as `before` for the next (older) page; `nil` on the last page.
    public var nextBefore: Int64?

    enum CodingKeys: String, CodingKey {
        case events
        case nextBefore = "next_before"
    }
}

// MARK: Requests

struct CreateModelBody: Encodable {
    var name: String
    var description: String?
    var tags: [String: String]?
}

struct UpdateMetadataBody: Encodable {
    var description: String?
    var tags: [String: String]?
    var removeTags: [String]?
    var metrics: [String: Double]?

    enum CodingKeys: String, CodingKey {
        case description, tags, metrics
        case removeTags = "remove_tags"
    }
}
