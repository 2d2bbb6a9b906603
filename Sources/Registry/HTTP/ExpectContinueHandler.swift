import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `Expect: 100-continue` with an interim `100 Continue` as soon as the request head arrives.
///
/// Clients such as curl send that header before large bodies and wait (one second for curl) for the interim
/// answer before sending the body. Hummingbird 2.28 does not send it, so every large upload would stall; this
/// handler sits in the HTTP/1 pipeline after header decoding and writes the interim response itself.
/// (Workaround noted 2026-11-23 for the registry-core issue; drop it when Hummingbird answers the header.)
final class ExpectContinueHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data),
            let expect = head.headerFields[.expect], expect.lowercased() == "100-continue"
        {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        }
        context.fireChannelRead(data)
    }
}
