import NIOCore
import NIOSSL
import NIOTLS
import X509

/// Once the TLS handshake has verified the chain and the name, checks that the server's
/// certificate is for server authentication; until then, and on failure, nothing is sent.
final class ServerPurposeCheck: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    struct Failure: Error {
        let reason: String
    }

    let promise: EventLoopPromise<Void>

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            let leaf = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self).peerCertificate?
                .toDERBytes()
            let usage = leaf.flatMap { try? Certificate(derEncoded: $0) }.flatMap {
                try? $0.extensions.extendedKeyUsage
            }
            if usage?.contains(.serverAuth) == true {
                promise.succeed()
            } else {
                promise.fail(Failure(reason: "the server's certificate is not for server authentication"))
                context.close(promise: nil)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.fireErrorCaught(error)
    }

    /// A connection refused or torn down before the handshake still answers the promise.
    func handlerRemoved(context: ChannelHandlerContext) {
        promise.fail(Failure(reason: "the connection closed before the TLS handshake completed"))
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(Failure(reason: "the connection closed during the TLS handshake"))
        context.fireChannelInactive()
    }
}
