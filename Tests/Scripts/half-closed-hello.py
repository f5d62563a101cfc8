#!/usr/bin/env python3
"""A TLS ClientHello to 127.0.0.1:PORT from SOURCE, then the end of the stream (SHUT_WR):
prints how many bytes the server sent back before it closed. A server that reads a
half-closed socket out and answers the hello sends its handshake flight; one that drops
what it read sends nothing.

usage: half-closed-hello.py PORT SOURCE CA
"""
import socket, ssl, sys

port, source, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ssl.create_default_context(cafile=ca).wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
try:
    tls.do_handshake()
except ssl.SSLWantReadError:
    pass
connection = socket.create_connection(("127.0.0.1", port), source_address=(source, 0), timeout=30)
connection.sendall(outgoing.read())
connection.shutdown(socket.SHUT_WR)
received = 0
try:
    while chunk := connection.recv(65536):
        received += len(chunk)
except ConnectionResetError:
    pass
print(received, end="")
