import Crypto

/// Rendezvous (highest random weight) hashing of agents within a deployment.
///
/// Every agent gets a score from the deployment's name and its own; a canary of `p` % is the agents with the
/// highest scores. Scores do not depend on the other agents, so widening a canary from 10 % to 25 % keeps every
/// agent of the 10 % and adds the next ones, and a new deployment draws a different subset.
public enum Rendezvous {
    public static func score(deployment: String, agent: String) -> UInt64 {
        var hash = SHA256()
        hash.update(data: Array(deployment.utf8))
        hash.update(data: [0])
        hash.update(data: Array(agent.utf8))
        return hash.finalize().prefix(8).reduce(0) { ($0 << 8) | UInt64($1) }
    }

    /// The agents of `agents` ordered by score, highest first (ties by name).
    public static func ranked(_ agents: [String], deployment: String) -> [String] {
        agents.map { (agent: $0, score: score(deployment: deployment, agent: $0)) }
            .sorted { $0.score != $1.score ? $0.score > $1.score : $0.agent < $1.agent }
            .map(\.agent)
    }

    /// How many of `count` agents a share of `percent` % covers: rounded up, so that any share above zero reaches
    /// at least one agent.
    public static func share(of count: Int, percent: Int) -> Int {
        guard count > 0, percent > 0 else { return 0 }
        return min(count, (count * percent + 99) / 100)
    }
}
