import NIOCore

/// The head of a connection's pipeline while it waits for its turn (``ConnectionGuard``):
/// nothing it reads goes on. Only the end of the client's stream makes the channel read
/// before its turn (NIO reads out a half-closed socket whether or not anyone asked), and a
/// client that has stopped sending cannot finish a TLS handshake anyway: the bytes are
/// dropped, unseen by the TLS handler that would have spent a key exchange on them, and the
/// connection closed.
final class TurnGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.close(promise: nil)
    }
}
