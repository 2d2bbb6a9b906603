import ArgumentParser

extension Modelctl {
    /// `modelctl agent`: the agent on a device, and the fleet's agents and enrollment tokens.
    struct Agent: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the deployment agent, enroll it, and manage agents and enrollment tokens.",
            subcommands: [Enroll.self, Run.self, EnrollmentToken.self, List.self, Label.self, Remove.self]
        )
    }
}
