import Foundation
import GRDB

extension SQLiteMetadataStore {
    public func history(model name: String, limit: Int, beforeID: Int64?) async throws -> [AuditEvent] {
        try await read { db in
            // By name, so the history of a deleted model (and of earlier models of the same name) stays readable,
            // and by id for the model that has the name now, so a renamed model keeps its events from before.
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT * FROM audit_events
                        WHERE (model_name = ?1 OR model_id = (SELECT id FROM models WHERE name = ?1)) AND id < ?2
                        ORDER BY id DESC LIMIT ?3
                        """
                ),
                arguments: [name, beforeID ?? Int64.max, limit]
            )
            if rows.isEmpty, beforeID == nil {
                _ = try Self.modelRow(db, name: name)
            }
            return rows.map { row in
                AuditEvent(
                    id: row["id"],
                    model: row["model_name"],
                    kind: AuditEvent.Kind(rawValue: row["kind"]) ?? .modelUpdated,
                    version: row["version"],
                    subject: row["subject"],
                    from: row["from_value"],
                    to: row["to_value"],
                    actor: row["actor"],
                    comment: row["comment"],
                    revertsEventID: row["reverts_event_id"],
                    revision: row["revision"],
                    at: row["at"]
                )
            }
        }
    }

    // MARK: Blob index

    public func recordBlob(_ digest: Digest, size: Int64) async throws {
        let now = clock()
        try await write { db in
            try db.execute(
                cached: "INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                arguments: [digest.description, size, now]
            )
        }
    }

    public func blobStatistics() async throws -> (count: Int, bytes: Int64) {
        try await read { db in
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM blobs")
            )
            return (count: row?["n"] ?? 0, bytes: row?["bytes"] ?? 0)
        }
    }
}
