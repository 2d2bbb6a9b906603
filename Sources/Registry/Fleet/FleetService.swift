public import AgentProtocol
public import Foundation
public import Logging
import Synchronization

/// Computes, signs and long-polls agents' desired states, and keeps when agents were last seen.
///
/// One ``FleetPlan`` is computed per fleet generation and shared by every agent's request (single flight: agents
/// woken together by a promotion wait for the same computation). Long-polls wait for the generation to move: the
/// store's change observer triggers one generation read, however many agents wait, and wakes the waiters only when
/// it moved. The generation is read from the database, so a change made by another replica is noticed on that
/// replica's next write or, at the latest, when the poll's wait ends.
public final class FleetService: Sendable {
    public let store: any MetadataStore
    public let signingKey: RegistrySigningKey
    /// How long a signed desired state stays valid.
    public let validity: TimeInterval
    /// The longest a long-poll is held.
    public let maximumWait: Duration
    let logger: Logger

    private struct Waiter {
        var generation: Int64
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var plan: FleetPlan?
        var building: (generation: Int64, task: Task<FleetPlan, any Error>)?
        var knownGeneration: Int64 = 0
        var checking = false
        var dirty = false
        var waiters: [Int: Waiter] = [:]
        var nextWaiter = 0
        var seen: [Int64: Date] = [:]
        var flushing = false
        var lastFlush = ContinuousClock.now
        var stopping = false
    }

    private let state = Mutex(State())

    public init(
        store: any MetadataStore,
        signingKey: RegistrySigningKey,
        validity: TimeInterval = 24 * 3600,
        maximumWait: Duration = .seconds(30),
        logger: Logger = Logger(label: "modelctl.fleet")
    ) {
        self.store = store
        self.signingKey = signingKey
        self.validity = validity
        self.maximumWait = maximumWait
        self.logger = logger
        store.observeChanges { [weak self] in self?.noteChange() }
    }

    // MARK: Plans

    /// The plan of the current generation (computed at most once per generation).
    public func currentPlan() async throws -> FleetPlan {
        let generation = try await store.fleetGeneration()
        enum Next {
            case ready(FleetPlan)
            case wait(Task<FleetPlan, any Error>)
        }
        let next: Next = state.withLock { state in
            if let plan = state.plan, plan.generation >= generation { return .ready(plan) }
            if let building = state.building, building.generation >= generation { return .wait(building.task) }
            let task = Task { try await self.buildPlan() }
            state.building = (generation, task)
            return .wait(task)
        }
        switch next {
        case .ready(let plan): return plan
        case .wait(let task): return try await task.value
        }
    }

    private func buildPlan() async throws -> FleetPlan {
        do {
            let plan = FleetPlan(try await store.fleetSnapshot())
            let waiters = state.withLock { state in
                if (state.plan?.generation ?? .min) < plan.generation { state.plan = plan }
                if let building = state.building, building.generation <= plan.generation { state.building = nil }
                return Self.takeWaiters(&state, upTo: plan.generation)
            }
            for waiter in waiters { waiter.resume() }
            return plan
        } catch {
            state.withLock { $0.building = nil }
            throw error
        }
    }

    /// Removes and returns the waiters for generations below `generation`, raising the known generation.
    private static func takeWaiters(_ state: inout State, upTo generation: Int64) -> [CheckedContinuation<Void, Never>]
    {
        guard generation > state.knownGeneration else { return [] }
        state.knownGeneration = generation
        let woken = state.waiters.filter { $0.value.generation < generation }
        for id in woken.keys { state.waiters[id] = nil }
        return woken.values.map(\.continuation)
    }

    // MARK: Long-polls

    /// Returns when the fleet generation is above `generation`, or after `timeout`.
    public func waitForGeneration(after generation: Int64, timeout: Duration) async {
        guard timeout > .zero else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let id: Int? = state.withLock { state in
                if state.knownGeneration > generation || state.stopping { return nil }
                let id = state.nextWaiter
                state.nextWaiter += 1
                state.waiters[id] = Waiter(generation: generation, continuation: continuation)
                return id
            }
            guard let id else {
                continuation.resume()
                return
            }
            Task {
                try? await Task.sleep(for: timeout)
                let waiter = self.state.withLock { $0.waiters.removeValue(forKey: id) }
                waiter?.continuation.resume()
            }
        }
    }

    /// Ends every held long-poll now and every later one at once: the daemon is shutting down, and a poll must not
    /// hold it for up to 30 s (agents poll again, elsewhere or after the restart).
    public func stopWaiting() {
        let waiters = state.withLock { state in
            state.stopping = true
            defer { state.waiters = [:] }
            return state.waiters.values.map(\.continuation)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Whether ``stopWaiting()`` was called.
    public var isStopping: Bool { state.withLock { $0.stopping } }

    /// Called after every write of the store: reads the generation once (coalescing writes that come meanwhile) and
    /// wakes the long-polls it concerns.
    private func noteChange() {
        let start = state.withLock { state in
            if state.checking {
                state.dirty = true
                return false
            }
            state.checking = true
            state.dirty = false
            return true
        }
        guard start else { return }
        Task {
            while true {
                let generation = try? await store.fleetGeneration()
                let (waiters, again) = state.withLock { state in
                    let waiters = generation.map { Self.takeWaiters(&state, upTo: $0) } ?? []
                    if state.dirty {
                        state.dirty = false
                        return (waiters, true)
                    }
                    state.checking = false
                    return (waiters, false)
                }
                for waiter in waiters { waiter.resume() }
                if !again { break }
            }
        }
    }

    // MARK: Documents

    /// The agent's signed desired state, its content tag and the plan's generation.
    public func signedState(for agent: AgentRecord, plan: FleetPlan) throws -> (SignedDesiredState, tag: String) {
        let document = plan.desiredState(for: agent, now: Date(), validity: validity)
        return (try SignedDesiredState(signing: document, with: signingKey), document.contentTag)
    }

    // MARK: Last seen

    /// Notes that an agent was heard from; written to the store in batches at most every 5 s.
    public func seen(_ agentID: Int64) {
        let now = Date()
        let batch: [Int64: Date]? = state.withLock { state in
            state.seen[agentID] = now
            guard !state.flushing, ContinuousClock.now - state.lastFlush >= .seconds(5) else { return nil }
            state.flushing = true
            state.lastFlush = ContinuousClock.now
            defer { state.seen = [:] }
            return state.seen
        }
        guard let batch else { return }
        Task {
            do {
                try await store.touchAgents(batch)
            } catch {
                logger.warning("could not record when agents were last seen: \(error)")
            }
            state.withLock { $0.flushing = false }
        }
    }

    /// Last-seen times not yet written to the store.
    public func pendingLastSeen() -> [Int64: Date] { state.withLock { $0.seen } }
}
