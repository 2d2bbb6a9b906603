import Crypto
import Foundation
import RegistryClient
import TestSupport
import Testing

/// Streaming downloads with `Range` resume and digest checks, and resumable uploads, against the real registry.
@Suite struct RegistryClientTransferTests {
    /// 3 MiB: several 1 MiB chunks each way.
    static let blob = BlobFixture(count: 3 << 20, seed: 11)

    func upload(_ client: RegistryClient, _ blob: BlobFixture, in directory: URL) async throws {
        _ = try await client.uploadBlob(digest: blob.digest, from: try write(blob, in: directory))
    }

    func sha256(of url: URL) throws -> String {
        "sha256:" + SHA256.hash(data: try Data(contentsOf: url)).map { String(format: "%02x", $0) }.joined()
    }

    // MARK: Tests

    @Test func downloadStreamsToAFileAndVerifiesTheDigest() async throws {
        try await withLiveRegistry { client, directory in
            // Given a stored blob
            try await upload(client, Self.blob, in: directory)
            // When it is downloaded
            let destination = directory.appending(path: "out.bin")
            let progress = ProgressLog()
            let result = try await client.downloadBlob(
                digest: Self.blob.digest,
                to: destination,
                progress: progress.progress
            )
            // Then the file holds the bytes, all of which came over the network
            #expect(result.digest == Self.blob.digest)
            #expect(result.size == Int64(Self.blob.size))
            #expect(result.resumedFrom == 0)
            #expect(result.bytesReceived == Int64(Self.blob.size))
            #expect(try sha256(of: destination) == Self.blob.digest)
            #expect(progress.all.last?.completed == Int64(Self.blob.size))
            #expect(progress.all.last?.total == Int64(Self.blob.size))
        }
    }

    @Test func downloadResumesAPartialFileWithRange() async throws {
        try await withLiveRegistry { client, directory in
            // Given a stored blob and the first half of it already in the destination
            try await upload(client, Self.blob, in: directory)
            let half = Self.blob.size / 2
            let destination = directory.appending(path: "partial.bin")
            try Data(Self.blob.bytes[0..<half]).write(to: destination)
            // When it is downloaded
            let progress = ProgressLog()
            let result = try await client.downloadBlob(
                digest: Self.blob.digest,
                to: destination,
                progress: progress.progress
            )
            // Then only the second half was requested and received, and the whole file verifies
            #expect(result.resumedFrom == Int64(half))
            #expect(result.bytesReceived == Int64(Self.blob.size - half))
            #expect(progress.all.first?.completed == Int64(half))
            #expect(try sha256(of: destination) == Self.blob.digest)
        }
    }

    @Test func downloadOfAnAlreadyCompleteFileReceivesNothing() async throws {
        try await withLiveRegistry { client, directory in
            // Given the whole blob already in the destination
            let small = BlobFixture(count: 1000, seed: 12)
            try await upload(client, small, in: directory)
            let destination = try write(small, in: directory, name: "complete.bin")
            // When it is downloaded again (the registry answers 416 to bytes=1000-)
            let result = try await client.downloadBlob(digest: small.digest, to: destination)
            // Then nothing is received and the file verifies
            #expect(result.bytesReceived == 0)
            #expect(result.digest == small.digest)
        }
    }

    @Test func downloadWithoutResumeRewritesTheFile() async throws {
        try await withLiveRegistry { client, directory in
            let small = BlobFixture(count: 1000, seed: 13)
            try await upload(client, small, in: directory)
            let destination = directory.appending(path: "junk.bin")
            try Data(repeating: 7, count: 5000).write(to: destination)
            let result = try await client.downloadBlob(digest: small.digest, to: destination, resume: false)
            #expect(result.bytesReceived == 1000)
            #expect(try sha256(of: destination) == small.digest)
        }
    }

    @Test func corruptPartialFileIsAnIntegrityErrorAndIsRemoved() async throws {
        try await withLiveRegistry { client, directory in
            // Given a partial file whose bytes differ from the blob's
            try await upload(client, Self.blob, in: directory)
            let destination = directory.appending(path: "corrupt.bin")
            try Data(repeating: 0, count: 1000).write(to: destination)
            // When it is resumed
            let error = try await expectClientError {
                _ = try await client.downloadBlob(digest: Self.blob.digest, to: destination)
            }
            // Then the digest check fails and the file is gone, so that the next attempt starts afresh
            #expect(error.code == .integrity)
            #expect(error.details["expected"] == Self.blob.digest)
            #expect(!FileManager.default.fileExists(atPath: destination.path))
        }
    }

    @Test func missingBlobIsNotFound() async throws {
        try await withLiveRegistry { client, directory in
            let digest = BlobFixture(count: 1, seed: 99).digest
            #expect(try await client.blobInfo(digest: digest) == nil)
            #expect(try await client.blobExists(digest: digest) == false)
            let error = try await expectClientError {
                _ = try await client.downloadBlob(digest: digest, to: directory.appending(path: "x"))
            }
            #expect(error.code == .notFound)
            #expect(error.status == 404)
        }
    }

    @Test func versionFileDownloadsByPathAndResumes() async throws {
        try await withLiveRegistry { client, directory in
            // Given a committed version with a nested file
            _ = try await client.createModel(name: "m")
            try await upload(client, Self.blob, in: directory)
            _ = try await client.createVersion(
                model: "m",
                NewRemoteVersion(
                    files: [
                        RemoteFile(path: "weights/model.bin", size: Int64(Self.blob.size), digest: Self.blob.digest)
                    ],
                    format: "custom"
                )
            )
            _ = try await client.commitVersion(model: "m", version: 1)
            // When its size is asked and a third of it is already downloaded
            let info = try await client.fileInfo(model: "m", version: 1, path: "weights/model.bin")
            #expect(info == RemoteContentInfo(digest: Self.blob.digest, size: Int64(Self.blob.size)))
            let destination = directory.appending(path: "model.bin")
            try Data(Self.blob.bytes[0..<(1 << 20)]).write(to: destination)
            let result = try await client.downloadFile(
                model: "m",
                version: 1,
                path: "weights/model.bin",
                to: destination
            )
            // Then the rest arrives and the registry's digest verifies it
            #expect(result.bytesReceived == Int64(Self.blob.size - (1 << 20)))
            #expect(result.digest == Self.blob.digest)
            // And an unknown path is not found
            let error = try await expectClientError {
                _ = try await client.fileInfo(model: "m", version: 1, path: "nope.bin")
            }
            #expect(error.code == .notFound)
            // And a wrong expected digest is an integrity error
            let wrong = try await expectClientError {
                _ = try await client.downloadFile(
                    model: "m",
                    version: 1,
                    path: "weights/model.bin",
                    to: directory.appending(path: "again.bin"),
                    expectedDigest: BlobFixture(count: 1).digest
                )
            }
            #expect(wrong.code == .integrity)
        }
    }

    @Test func resumableUploadInChunks() async throws {
        try await withLiveRegistry { client, directory in
            // Given a file
            let file = try write(Self.blob, in: directory)
            // When it is uploaded through a session in 1 MiB chunks
            let progress = ProgressLog()
            let blob = try await client.uploadBlobResumably(
                digest: Self.blob.digest,
                from: file,
                chunkSize: 1 << 20,
                progress: progress.progress
            )
            // Then it is stored, and reads back
            #expect(blob == RemoteBlob(digest: Self.blob.digest, size: Int64(Self.blob.size), created: true))
            #expect(progress.all.last?.completed == Int64(Self.blob.size))
            #expect(try await client.blobInfo(digest: Self.blob.digest)?.size == Int64(Self.blob.size))
        }
    }

    @Test func resumableUploadWithTheDefaultChunkStoresTheFile() async throws {
        try await withLiveRegistry { client, directory in
            let fixture = BlobFixture(count: 3 << 20, seed: 9)
            let file = try write(fixture, in: directory)
            let progress = ProgressLog()
            let blob = try await client.uploadBlobResumably(
                digest: fixture.digest,
                from: file,
                progress: progress.progress
            )
            #expect(blob == RemoteBlob(digest: fixture.digest, size: Int64(fixture.size), created: true))
            let completed = progress.all.map(\.completed)
            #expect(completed == completed.sorted())
            #expect(completed.last == Int64(fixture.size))
            #expect(try await client.blobInfo(digest: fixture.digest)?.size == Int64(fixture.size))
        }
    }

    @Test func resumableUploadContinuesAnInterruptedSession() async throws {
        try await withLiveRegistry { client, directory in
            // Given a session that received the first MiB
            let file = try write(Self.blob, in: directory)
            let session = try await client.startUpload()
            #expect(session.offset == 0)
            let first = try await client.uploadChunk(id: session.id, from: file, offset: 0, length: 1 << 20)
            #expect(first.offset == 1 << 20)
            #expect(try await client.uploadSession(id: session.id).offset == 1 << 20)
            // When a chunk is sent at the wrong offset
            let error = try await expectClientError {
                _ = try await client.uploadChunk(id: session.id, from: file, offset: 0, length: 10)
            }
            // Then it is a conflict naming the acknowledged offset
            #expect(error.code == .conflict)
            #expect(error.uploadOffset == 1 << 20)
            // And the session can be continued to the end
            let blob = try await client.uploadBlobResumably(
                digest: Self.blob.digest,
                from: file,
                chunkSize: 1 << 20,
                sessionID: session.id
            )
            #expect(blob.created)
            // And a finished session is gone
            let gone = try await expectClientError { try await client.cancelUpload(id: session.id) }
            #expect(gone.code == .notFound)
        }
    }

    @Test func resumableUploadWithTheWrongDigestIsIntegrity() async throws {
        try await withLiveRegistry { client, directory in
            let file = try write(BlobFixture(count: 5000, seed: 3), in: directory)
            let error = try await expectClientError {
                _ = try await client.uploadBlobResumably(
                    digest: BlobFixture(count: 5000, seed: 4).digest,
                    from: file,
                    chunkSize: 2000
                )
            }
            #expect(error.code == .integrity)
            #expect(error.status == 422)
        }
    }

    @Test func missingUploadSourceIsAFileSystemError() async throws {
        try await withLiveRegistry { client, directory in
            let error = try await expectClientError {
                _ = try await client.uploadBlob(
                    digest: Self.blob.digest,
                    from: directory.appending(path: "does-not-exist")
                )
            }
            #expect(error.code == .fileSystem)
        }
    }
}
