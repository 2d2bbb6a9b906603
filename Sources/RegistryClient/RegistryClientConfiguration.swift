public import Foundation

/// Where the registry is and how the ``RegistryClient`` talks to it.
///
/// The defaults suit a CLI on a workstation and an agent on a device alike: a 10 s connect timeout, 60 s for a JSON
/// request to be answered, 60 s without a byte before a streaming transfer is given up, and four attempts with
/// exponential backoff and full jitter (0.2 s base, 5 s cap) on connection errors and 502/503/504.
///
/// Keys: ``baseURL``, ``token``, ``userAgent``, ``timeouts``, ``retry``, ``caCertificates``.
public struct RegistryClientConfiguration: Sendable {
    /// Root of the registry, such as `http://127.0.0.1:8080` or `https://registry.example.com/prefix`.
    ///
    /// Routes (`/api/v1/…`, `/healthz`) are appended to its path. `http` and `https` are accepted; HTTPS verifies
    /// the certificate against the system's trust store, or ``caCertificates``.
    public var baseURL: URL
    /// Bearer token sent as `Authorization: Bearer <token>`; `nil` sends no `Authorization` header.
    public var token: String?
    /// `User-Agent` of every request, `modelctl/<version>` by convention.
    public var userAgent: String
    /// Connect, request and idle-read timeouts.
    public var timeouts: Timeouts
    /// How often and how long to wait before retrying a failed attempt.
    public var retry: RetryPolicy
    /// A PEM file of CA certificates to trust for an `https` registry instead of the system's trust store (a
    /// registry with a certificate from a private CA). Check it first with
    /// ``RegistryClient/checkCACertificates(_:)`` for a clear error; the client never falls back to plain HTTP.
    public var caCertificates: URL?

    /// Creates a configuration.
    ///
    /// - Parameters:
    ///   - baseURL: root of the registry (``baseURL``).
    ///   - token: bearer token, if the registry wants one.
    ///   - userAgent: the `User-Agent` header, for example `"modelctl/1.2.0"`.
    ///   - timeouts: timeouts, ``Timeouts/init(connect:request:idleRead:)`` by default.
    ///   - retry: retry policy, ``RetryPolicy/init(maxAttempts:baseDelay:maxDelay:)`` by default.
    public init(
        baseURL: URL,
        token: String? = nil,
        userAgent: String,
        timeouts: Timeouts = Timeouts(),
        retry: RetryPolicy = RetryPolicy(),
        caCertificates: URL? = nil
    ) {
        self.caCertificates = caCertificates
        self.baseURL = baseURL
        self.token = token
        self.userAgent = userAgent
        self.timeouts = timeouts
        self.retry = retry
    }

    /// The user agent `modelctl/<version>`.
    ///
    /// - Parameter version: the version of the calling program, such as `1.2.0`.
    /// - Returns: `"modelctl/" + version`.
    public static func userAgent(version: String) -> String { "modelctl/\(version)" }

    /// How long the client waits, per attempt.
    public struct Timeouts: Sendable, Equatable {
        /// Establishing a TCP (and TLS) connection.
        public var connect: Duration
        /// From sending a JSON request until its response head arrives. Streaming uploads and downloads are not
        /// bounded by it (they may take hours); ``idleRead`` bounds them instead.
        public var request: Duration
        /// Longest pause without receiving a byte, on any request. Applies to streamed bodies and is what ends a
        /// stalled download.
        public var idleRead: Duration

        /// Creates timeouts.
        ///
        /// - Parameters:
        ///   - connect: connect timeout, 10 s by default.
        ///   - request: JSON request timeout, 60 s by default.
        ///   - idleRead: idle-read timeout, 60 s by default.
        public init(
            connect: Duration = .seconds(10),
            request: Duration = .seconds(60),
            idleRead: Duration = .seconds(60)
        ) {
            self.connect = connect
            self.request = request
            self.idleRead = idleRead
        }
    }

    /// Retries with exponential backoff and full jitter.
    ///
    /// Attempt `n` (1-based) that fails retryably is followed by a pause drawn uniformly from
    /// `0...min(maxDelay, baseDelay * 2^(n-1))` ("full jitter"). Which failures are retryable is described on
    /// ``RegistryClient``.
    public struct RetryPolicy: Sendable, Equatable {
        /// Attempts in total, including the first; 1 disables retries.
        public var maxAttempts: Int
        /// Upper bound of the first pause.
        public var baseDelay: Duration
        /// Upper bound of any pause.
        public var maxDelay: Duration

        /// Creates a retry policy.
        ///
        /// - Parameters:
        ///   - maxAttempts: attempts in total (at least 1), 4 by default.
        ///   - baseDelay: first pause bound, 0.2 s by default.
        ///   - maxDelay: cap of every pause, 5 s by default.
        public init(maxAttempts: Int = 4, baseDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(5)) {
            self.maxAttempts = max(1, maxAttempts)
            self.baseDelay = baseDelay
            self.maxDelay = maxDelay
        }

        /// No retries: every request is attempted once.
        public static let none = RetryPolicy(maxAttempts: 1)

        /// The upper bound of the pause after failed attempt `attempt` (1-based), before jitter.
        ///
        /// - Parameter attempt: the attempt that just failed, starting at 1.
        /// - Returns: `min(maxDelay, baseDelay * 2^(attempt-1))`.
        public func delayBound(afterAttempt attempt: Int) -> Duration {
            let exponent = min(max(attempt - 1, 0), 30)
            let bound = baseDelay * (1 << exponent)
            return min(bound, maxDelay)
        }

        /// A pause drawn with full jitter: uniformly from zero to ``delayBound(afterAttempt:)``.
        ///
        /// - Parameter attempt: the attempt that just failed, starting at 1.
        /// - Returns: the pause before the next attempt.
        public func delay(afterAttempt attempt: Int) -> Duration {
            let bound = delayBound(afterAttempt: attempt)
            let nanoseconds = bound.components.seconds * 1_000_000_000 + bound.components.attoseconds / 1_000_000_000
            guard nanoseconds > 0 else { return .zero }
            return .nanoseconds(Int64.random(in: 0...nanoseconds))
        }
    }
}
