import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

@testable import Registry

/// An upload session belongs to the principal that started it: another writer holding its id is told it does not
/// exist; an administrator may still look at it and cancel it.
@Suite struct UploadSessionOwnerTests {
    @Test func anotherWriterCannotUseASessionItDidNotStart() async throws {
        try await withAuthRegistry { registry in
            let client = registry.client
            let admin = registry.adminToken
            let alice = try await tokenWithRole(client, admin: admin, principal: "alice", role: "writer", pattern: "*")
            let bob = try await tokenWithRole(client, admin: admin, principal: "bob", role: "writer", pattern: "*")
            // Given a session alice started, with one chunk
            let created = try await send(client, .post, "/api/v1/uploads", token: alice)
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(
                (try JSONSerialization.jsonObject(with: Data(created.bytes)) as? [String: Any])?["id"] as? String
            )
            let blob = BlobFixture(count: 100, seed: 77)
            let first = try await send(
                client,
                .patch,
                "/api/v1/uploads/\(id)",
                token: alice,
                body: ByteBuffer(bytes: blob.bytes.prefix(40)),
                headers: [.contentRange: "bytes 0-39/*"]
            )
            #expect(first.status == .ok, "\(first.text)")

            // When bob uses its id, every route answers 404, as for an unknown session
            let status = try await send(client, .get, "/api/v1/uploads/\(id)", token: bob)
            let append = try await send(
                client,
                .patch,
                "/api/v1/uploads/\(id)",
                token: bob,
                body: ByteBuffer(bytes: blob.bytes.suffix(60)),
                headers: [.contentRange: "bytes 40-99/*"]
            )
            let finish = try await send(client, .put, "/api/v1/uploads/\(id)?digest=\(blob.digest)", token: bob)
            let cancel = try await send(client, .delete, "/api/v1/uploads/\(id)", token: bob)
            for response in [status, append, finish, cancel] {
                #expect(response.status == .notFound, "\(response.status.code) \(response.text)")
                #expect(response.text.contains("another principal"))
            }
            // Then the session is untouched: the administrator sees alice's 40 bytes
            let seen = try await send(client, .get, "/api/v1/uploads/\(id)", token: admin)
            #expect(seen.status == .ok)
            #expect(seen.text.contains("\"offset\":40"), "\(seen.text)")
            // And alice finishes it
            let rest = try await send(
                client,
                .patch,
                "/api/v1/uploads/\(id)",
                token: alice,
                body: ByteBuffer(bytes: blob.bytes.suffix(60)),
                headers: [.contentRange: "bytes 40-99/*"]
            )
            #expect(rest.status == .ok, "\(rest.text)")
            let done = try await send(client, .put, "/api/v1/uploads/\(id)?digest=\(blob.digest)", token: alice)
            #expect(done.status == .created, "\(done.text)")
        }
    }
}
