import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// Values read from the store, kept while the store has not changed since they were read.
///
/// Every entry belongs to one ``MetadataStore/changeCount``: the count read *before* the value was read from the
/// store. An entry is served only while the store's count is still that number, so after any write (any model,
/// any kind) every entry is dropped and built again from the database. A value read across a concurrent write is
/// kept under the count from before the write, which is already gone: it is never served.
///
/// Access is checked by the caller before it asks; the values do not depend on who asks.
final class ChangeKeyedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct State {
        var changeCount: UInt64 = 0
        var entries: [Key: Value] = [:]
    }

    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The value kept for `key` under `changeCount`, if any.
    func value(_ key: Key, changeCount: UInt64) -> Value? {
        state.withLock { $0.changeCount == changeCount ? $0.entries[key] : nil }
    }

    /// Keeps `value` for `key`, read after the store's count was `changeCount`; ignored if the store has changed
    /// since. When full, the cache starts again empty: it holds what the last moments asked for.
    func keep(_ value: Value, for key: Key, changeCount: UInt64) {
        state.withLock { state in
            if state.changeCount != changeCount {
                guard changeCount > state.changeCount else { return }
                state = State(changeCount: changeCount)
            }
            if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[key] = value
        }
    }

    /// The value for `key`: kept, or read by `read` and kept.
    func value(
        _ key: Key,
        changeCount: UInt64,
        read: () async throws -> Value
    ) async throws -> Value {
        if let kept = value(key, changeCount: changeCount) { return kept }
        let value = try await read()
        keep(value, for: key, changeCount: changeCount)
        return value
    }
}

/// What the MLflow routes that read the registry keep between requests (``ChangeKeyedCache``): the JSON of model
/// versions and registered models, and the summaries searches filter on. Hot reads (an alias resolved by every
/// training job and server, a search repeated by a dashboard) then cost a lookup instead of several queries and an
/// encoding, and any change through the registry is visible to the next request.
final class MLflowReadCache: Sendable {
    enum FragmentKey: Hashable, Sendable {
        /// `{"name": …, "version": …}` of a model version: the value of `model_version`.
        case version(model: String, number: Int)
        /// The version an alias points to, as `.version`.
        case alias(model: String, alias: String)
        /// A registered model with its latest versions per stage.
        case registeredModel(String)
    }

    struct ModelSummariesKey: Hashable, Sendable {
        var prefix: String?
        var name: String?
    }

    /// Encoded JSON objects, each a few hundred bytes.
    let fragments = ChangeKeyedCache<FragmentKey, ByteBuffer>(capacity: 20_000)
    /// Search candidates: one entry can hold every model or version, so few are kept.
    let modelSummaries = ChangeKeyedCache<ModelSummariesKey, [ModelSummary]>(capacity: 16)
    let versionSummaries = ChangeKeyedCache<[String]?, [VersionSummary]>(capacity: 16)

    /// `value` encoded as the registry encodes its answers (sorted keys).
    static func encode(_ value: some Encodable, context: RegistryRequestContext) throws -> ByteBuffer {
        ByteBuffer(bytes: try context.responseEncoder.encode(value))
    }

    /// A 200 answer whose body is `{"<key>": <fragment>}`, or `{}` without a fragment.
    static func object(_ key: String, _ fragment: ByteBuffer?) -> Response {
        var body = ByteBuffer()
        if let fragment {
            body.writeString("{\"\(key)\":")
            body.writeImmutableBuffer(fragment)
            body.writeString("}")
        } else {
            body.writeString("{}")
        }
        return json(body)
    }

    /// A 200 answer whose body is `{"<key>": [<fragments>], "next_page_token": "<token>"}`, without the list when
    /// it is empty and without the token when there is none (sorted keys, as the encoder writes them).
    static func list(_ key: String, _ fragments: [ByteBuffer], nextPageToken: String?) throws -> Response {
        var members: [(String, ByteBuffer)] = []
        if !fragments.isEmpty {
            var array = ByteBuffer()
            array.writeString("[")
            for (index, fragment) in fragments.enumerated() {
                if index > 0 { array.writeString(",") }
                array.writeImmutableBuffer(fragment)
            }
            array.writeString("]")
            members.append((key, array))
        }
        if let nextPageToken {
            members.append(("next_page_token", ByteBuffer(bytes: try JSONEncoder().encode(nextPageToken))))
        }
        var body = ByteBuffer()
        body.writeString("{")
        for (index, member) in members.sorted(by: { $0.0 < $1.0 }).enumerated() {
            if index > 0 { body.writeString(",") }
            body.writeString("\"\(member.0)\":")
            body.writeImmutableBuffer(member.1)
        }
        body.writeString("}")
        return json(body)
    }

    static func json(_ body: ByteBuffer) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/json; charset=utf-8", .contentLength: String(body.readableBytes)],
            body: .init(byteBuffer: body)
        )
    }
}
