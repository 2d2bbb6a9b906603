public import AgentProtocol
public import Hummingbird

// The fleet's wire types (`Sources/AgentProtocol/FleetWire.swift`) are answered as JSON as they are.

extension EnrollmentResponse: ResponseEncodable {}
extension DeploymentInfo: ResponseEncodable {}
extension DeploymentList: ResponseEncodable {}
extension EnrollmentTokenInfo: ResponseEncodable {}
extension EnrollmentTokenList: ResponseEncodable {}
extension FleetStatus: ResponseEncodable {}
extension AgentStatus: ResponseEncodable {}
