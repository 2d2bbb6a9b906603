public import AsyncHTTPClient
public import Foundation
public import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// A typed client of the registry's v1 HTTP API (`docs/openapi.yaml`), shared by the CLI and the agent.
///
/// One method per route, grouped in extensions: models and history (`RegistryClient+Models.swift`), versions and
/// files, stages and aliases, blobs and resumable uploads, system routes. Every method throws
/// ``RegistryClientError``, mapped from the registry's JSON error body; ``RegistryClientError/Code/unreachable``
/// names the registry's URL.
///
/// ## Retries
///
/// An attempt is retried, after a pause with exponential backoff and full jitter
/// (``RegistryClientConfiguration/RetryPolicy``), only when:
///
/// - no connection could be made (refused, DNS failure, connect or TLS timeout): the request was not sent, so every
///   method retries;
/// - the registry answered 502, 503 or 504: `GET`, `HEAD`, `PUT` and `DELETE` (idempotent) retry on all three;
///   `POST` and `PATCH` retry on 503 only, because the registry answers 503 `unavailable` before it changes anything,
///   while a 502/504 from a proxy may hide a request that the registry did execute;
/// - the connection broke or timed out after the request was sent: idempotent methods only (a `POST` that may have
///   been executed is never sent twice).
///
/// Never on 4xx or on other 5xx. Streaming uploads re-read their file on each attempt; downloads resume from the
/// bytes already written. A chunk of a resumable upload (`PATCH`) that broke mid-way is not resent blindly:
/// ``uploadBlobResumably(digest:from:chunkSize:sessionID:progress:)`` asks for the acknowledged offset and continues
/// from there.
///
/// ## Timeouts
///
/// ``RegistryClientConfiguration/Timeouts``: the connect timeout applies per attempt; JSON requests must be answered
/// within the request timeout; streamed bodies may take as long as they need but fail after the idle-read timeout
/// without a byte.
///
/// ## HTTPS
///
/// `https` base URLs use the system's trust store. A custom CA needs a `TLSConfiguration` from NIOSSL, which this
/// module does not depend on: build an `HTTPClient` with it and pass it to
/// ``init(configuration:httpClient:logger:)``.
///
/// ## Files
///
/// Uploads and downloads stream through 1 MiB chunks with blocking `FileHandle` reads and writes (one chunk at a
/// time, so memory does not grow with the file size).
public final class RegistryClient: Sendable {
    /// The configuration this client was created with.
    public let configuration: RegistryClientConfiguration
    let httpClient: HTTPClient
    let ownsHTTPClient: Bool
    let logger: Logger

    /// Bytes per chunk for file reads and writes.
    static let chunkLength = 1 << 20
    /// Largest JSON answer collected into memory.
    static let maxJSONLength = 64 << 20

    /// Creates a client with its own `HTTPClient`; call ``shutdown()`` when done.
    ///
    /// - Parameters:
    ///   - configuration: registry URL, token, user agent, timeouts and retry policy.
    ///   - logger: logs retries at `debug` level.
    public init(configuration: RegistryClientConfiguration, logger: Logger = Logger(label: "modelctl.registry-client"))
    {
        var http = HTTPClient.Configuration()
        http.timeout = HTTPClient.Configuration.Timeout(
            connect: TimeAmount(configuration.timeouts.connect),
            read: TimeAmount(configuration.timeouts.idleRead)
        )
        // Fail an attempt as soon as the connection cannot be made; this client retries with its own policy.
        http.connectionPool.retryConnectionEstablishment = false
        if let certificates = configuration.caCertificates {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(certificates.path)
            http.tlsConfiguration = tls
        }
        self.configuration = configuration
        self.httpClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: http)
        self.ownsHTTPClient = true
        self.logger = logger
    }

    /// Creates a client on an `HTTPClient` that the caller owns (and shuts down).
    ///
    /// The client's own connect and read timeouts and TLS configuration apply; the request timeout and retry policy
    /// of `configuration` still do.
    ///
    /// - Parameters:
    ///   - configuration: registry URL, token, user agent, request timeout and retry policy.
    ///   - httpClient: the HTTP client to use; ``shutdown()`` leaves it running.
    ///   - logger: logs retries at `debug` level.
    public init(
        configuration: RegistryClientConfiguration,
        httpClient: HTTPClient,
        logger: Logger = Logger(label: "modelctl.registry-client")
    ) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.ownsHTTPClient = false
        self.logger = logger
    }

    /// Checks that a file holds PEM CA certificates, before a client trusts it.
    ///
    /// - Parameter url: the PEM file.
    /// - Throws: ``RegistryClientError`` `fileSystem` when it cannot be read, `invalidArgument` when it holds no PEM
    ///   certificate.
    public static func checkCACertificates(_ url: URL) throws {
        guard FileManager.default.isReadableFile(atPath: url.path) else {
            throw RegistryClientError(.fileSystem, "cannot read the CA certificate file \(url.path)")
        }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(url.path)
        } catch {
            throw RegistryClientError(
                .invalidArgument,
                "\(url.path) is not a PEM file of CA certificates (-----BEGIN CERTIFICATE-----)"
            )
        }
        guard !certificates.isEmpty else {
            throw RegistryClientError(.invalidArgument, "\(url.path) holds no PEM certificate")
        }
    }

    /// Shuts down the `HTTPClient` this client created; does nothing for an injected one.
    ///
    /// - Throws: the `HTTPClient`'s shutdown error.
    public func shutdown() async throws {
        if ownsHTTPClient { try await httpClient.shutdown() }
    }

    /// The base URL as text, without a trailing slash, as error messages name it.
    var registryName: String {
        var text = configuration.baseURL.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}

// MARK: Requests

/// A collected answer.
struct Answer {
    var status: Int
    var headers: HTTPHeaders
    var body: Data
}

extension RegistryClient {
    /// The full URL of a route.
    ///
    /// - Parameters:
    ///   - path: the route, starting with `/`, already percent-encoded.
    ///   - query: query parameters, encoded here.
    func url(_ path: String, query: [(String, String)] = []) -> String {
        var text = registryName + path
        if !query.isEmpty {
            text += "?" + query.map { "\(Self.encodeQuery($0.0))=\(Self.encodeQuery($0.1))" }.joined(separator: "&")
        }
        return text
    }

    /// A request with the headers every request carries.
    func request(_ method: HTTPMethod, _ url: String, ifMatch: Int64? = nil) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "User-Agent", value: configuration.userAgent)
        if let token = configuration.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let ifMatch { request.headers.add(name: "If-Match", value: "\"\(ifMatch)\"") }
        return request
    }

    /// Sends a JSON request (or one without a body) and collects the answer.
    ///
    /// - Parameters:
    ///   - method: HTTP method.
    ///   - path: encoded route.
    ///   - query: query parameters.
    ///   - body: JSON body.
    ///   - ifMatch: model revision for `If-Match`.
    ///   - accept: statuses returned rather than thrown; 2xx by default.
    func exchange(
        _ method: HTTPMethod,
        _ path: String,
        query: [(String, String)] = [],
        body: (any Encodable)? = nil,
        ifMatch: Int64? = nil,
        headers extra: [(String, String)] = [],
        accept: (Int) -> Bool = { (200..<300).contains($0) }
    ) async throws -> Answer {
        let url = url(path, query: query)
        let what = "\(method.rawValue) \(path)"
        let payload: Data?
        do {
            payload = try body.map { try Self.encoder.encode($0) }
        } catch {
            throw RegistryClientError(.invalidArgument, "cannot encode the body of \(what): \(error)")
        }
        return try await perform(what, method: method, streaming: false) {
            var request = request(method, url, ifMatch: ifMatch)
            for (name, value) in extra { request.headers.add(name: name, value: value) }
            if let payload {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: payload))
            }
            return request
        } handle: { response in
            let buffer = try await response.body.collect(upTo: Self.maxJSONLength)
            let data = Data(buffer.readableBytesView)
            let status = Int(response.status.code)
            guard accept(status) else {
                throw RegistryClientError.fromResponse(
                    status: status,
                    body: data,
                    sentIfMatch: ifMatch != nil,
                    what: what
                )
            }
            return Answer(status: status, headers: response.headers, body: data)
        }
    }

    /// Sends a request and decodes the JSON answer.
    func json<T: Decodable>(
        _ type: T.Type,
        _ method: HTTPMethod,
        _ path: String,
        query: [(String, String)] = [],
        body: (any Encodable)? = nil,
        ifMatch: Int64? = nil
    ) async throws -> T {
        let answer = try await exchange(method, path, query: query, body: body, ifMatch: ifMatch)
        return try decode(type, answer.body, what: "\(method.rawValue) \(path)")
    }

    func decode<T: Decodable>(_ type: T.Type, _ data: Data, what: String) throws -> T {
        do {
            return try Self.decoder.decode(type, from: data)
        } catch {
            throw RegistryClientError(
                .protocolError,
                "unexpected answer from the registry at \(registryName) to \(what): \(error)"
            )
        }
    }

    /// Runs one request with the retry policy.
    ///
    /// - Parameters:
    ///   - what: `METHOD /path`, for logs.
    ///   - method: decides which failures are retried (see ``RegistryClient``).
    ///   - streaming: no request deadline (the idle-read timeout applies).
    ///   - makeRequest: builds the request of each attempt (a fresh body stream each time).
    ///   - handle: consumes the response; transport errors it throws count as failed attempts.
    func perform<T>(
        _ what: String,
        method: HTTPMethod,
        streaming: Bool,
        makeRequest: () throws -> HTTPClientRequest,
        handle: (HTTPClientResponse) async throws -> T
    ) async throws -> T {
        let idempotent = method != .POST && method != .PATCH
        let policy = configuration.retry
        var attempt = 1
        while true {
            let request = try makeRequest()
            let failure: TransportFailure
            do {
                let deadline: NIODeadline =
                    streaming ? .distantFuture : .now() + TimeAmount(configuration.timeouts.request)
                let started = ContinuousClock.now
                // async-http-client's own connection logs only at trace level: at debug, one line per request.
                let transportLogger = logger.logLevel <= .trace ? logger : Self.silentLogger
                let response = try await httpClient.execute(request, deadline: deadline, logger: transportLogger)
                let status = response.status.code
                let elapsed = (ContinuousClock.now - started).components
                let milliseconds = Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) / 1e15
                logger.debug(
                    "\(what) → \(status)",
                    metadata: ["attempt": "\(attempt)", "ms": "\(String(format: "%.1f", milliseconds))"]
                )
                let retryable = idempotent ? [502, 503, 504].contains(status) : status == 503
                if retryable, attempt < policy.maxAttempts {
                    // Drain the (small) error body so the connection can be reused; its content does not matter.
                    _ = try? await response.body.collect(upTo: Self.maxJSONLength)
                    logger.debug(
                        "retrying after an HTTP error",
                        metadata: ["request": "\(what)", "status": "\(status)", "attempt": "\(attempt)"]
                    )
                    try await Task.sleep(for: policy.delay(afterAttempt: attempt))
                    attempt += 1
                    continue
                }
                return try await handle(response)
            } catch let error as RegistryClientError {
                throw error
            } catch {
                guard let classified = TransportFailure(error) else {
                    if Task.isCancelled { throw CancellationError() }
                    throw error
                }
                failure = classified
            }
            let canRetry = failure.retryable && (idempotent || !failure.mayHaveBeenSent)
            guard canRetry, attempt < policy.maxAttempts else {
                throw failure.error(registry: registryName, attempts: attempt)
            }
            logger.debug(
                "retrying after a connection failure",
                metadata: ["request": "\(what)", "reason": "\(failure.reason)", "attempt": "\(attempt)"]
            )
            try await Task.sleep(for: policy.delay(afterAttempt: attempt))
            attempt += 1
        }
    }

    static let silentLogger = Logger(label: "modelctl.http.transport") { _ in SwiftLogNoOpLogHandler() }

    // MARK: Encoding

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    /// Characters left as they are in a path segment or query component.
    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    )

    /// Percent-encodes one path segment (a `/` in it is encoded too).
    static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved.union(CharacterSet(charactersIn: ":@+"))) ?? text
    }

    static func encodeQuery(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved.union(CharacterSet(charactersIn: ":"))) ?? text
    }

    /// `/api/v1/models/{name}`.
    static func modelPath(_ name: String) -> String { "/api/v1/models/\(segment(name))" }
}
