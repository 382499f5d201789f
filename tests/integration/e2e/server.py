"""Runs inside the server namespace: accepts TCP 443 connections on every
address of the namespace and closes them."""
import socket

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 443))
s.listen(512)
while True:
    c, _ = s.accept()
    c.close()
