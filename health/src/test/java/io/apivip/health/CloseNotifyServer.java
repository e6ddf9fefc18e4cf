package io.apivip.health;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * A server that ends an HTTP/1.0 body with TLS close_notify and keeps the TCP connection open, as
 * OpenSSL's {@code s_server -WWW} does: it answers any request with a response without
 * Content-Length (none when {@code status} is null), then sends close_notify and leaves the
 * connection open until the client closes it.
 */
final class CloseNotifyServer implements AutoCloseable {
  private final EventLoopGroup serverGroup = Lab.newGroup(1);
  private final Channel listener;

  CloseNotifyServer(Lab lab, String status, String body) throws IOException {
    SslContext tls =
        SslContextBuilder.forServer(
                lab.serverCertificate.key(), lab.serverCertificate.certificate())
            .build();
    byte[] response =
        status == null
            ? new byte[0]
            : ("HTTP/1.0 " + status + "\r\nContent-Type: text/plain\r\n\r\n" + body)
                .getBytes(StandardCharsets.US_ASCII);
    listener =
        new ServerBootstrap()
            .group(serverGroup)
            .channel(NioServerSocketChannel.class)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel channel) {
                    SslHandler ssl = tls.newHandler(channel.alloc());
                    channel.pipeline().addLast(ssl).addLast(new Respond(ssl, response));
                  }
                })
            .bind(new InetSocketAddress("127.0.0.1", 0))
            .syncUninterruptibly()
            .channel();
  }

  InetSocketAddress address() {
    return (InetSocketAddress) listener.localAddress();
  }

  @Override
  public void close() {
    listener.close().syncUninterruptibly();
    serverGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** Waits for the end of the request head, answers, and ends TLS but not TCP. */
  private final class Respond extends ChannelInboundHandlerAdapter {
    private final SslHandler ssl;
    private final byte[] response;
    private final StringBuilder head = new StringBuilder();
    private boolean answered;

    Respond(SslHandler ssl, byte[] response) {
      this.ssl = ssl;
      this.response = response;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object message) {
      ByteBuf bytes = (ByteBuf) message;
      try {
        head.append(bytes.toString(StandardCharsets.US_ASCII));
      } finally {
        bytes.release();
      }
      if (!answered && head.indexOf("\r\n\r\n") >= 0) {
        answered = true;
        ctx.writeAndFlush(Unpooled.wrappedBuffer(response));
        ssl.closeOutbound();
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
