import NIOCore
import NIOSSL
import NIOTLS
import X509

/// A check of the server's certificate (DER) beyond its chain, name and purpose: why it is
/// refused, or nil.
public typealias ServerCertificateCheck = @Sendable ([UInt8]) -> String?

/// Once the TLS handshake has verified the chain and the name, checks that the server's
/// certificate is for server authentication, and what `further` checks; until then, and on
/// failure, nothing is sent.
final class ServerPurposeCheck: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    struct Failure: Error {
        let reason: String
    }

    let promise: EventLoopPromise<Void>
    let further: ServerCertificateCheck?

    init(promise: EventLoopPromise<Void>, further: ServerCertificateCheck?) {
        self.promise = promise
        self.further = further
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            let leaf = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self).peerCertificate?
                .toDERBytes()
            let usage = leaf.flatMap { try? Certificate(derEncoded: $0) }.flatMap {
                try? $0.extensions.extendedKeyUsage
            }
            let refusal =
                if usage?.contains(.serverAuth) != true {
                    "the server's certificate is not for server authentication"
                } else {
                    leaf.flatMap { further?($0) }
                }
            if let refusal {
                promise.fail(Failure(reason: refusal))
                context.close(promise: nil)
            } else {
                promise.succeed()
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
