import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `Expect: 100-continue` with an interim `100 Continue` as soon as the request head arrives.
///
/// Clients such as curl send that header before large bodies and wait (one second for curl) for the interim
/// answer before sending the body. Hummingbird 2.28 does not send it, so every large upload would stall; this
/// handler sits in the HTTP/1 pipeline after header decoding and writes the interim response itself.
/// (Workaround noted 2026-11-23 for the registry-core issue; drop it when Hummingbird answers the header.)
///
/// With authentication on, a request without an `Authorization` header gets no interim answer: its 401 comes
/// instead, and the client never sends a body that would be refused (RFC 9110, 10.1.1).
final class ExpectContinueHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    let requiresCredentials: Bool

    init(requiresCredentials: Bool) {
        self.requiresCredentials = requiresCredentials
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data),
            let expect = head.headerFields[.expect], expect.lowercased() == "100-continue",
            !requiresCredentials || head.headerFields[.authorization] != nil
        {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        }
        context.fireChannelRead(data)
    }
}
