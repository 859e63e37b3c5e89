#!/usr/bin/env python3
"""Minimal MySQL client for the fixture: logs in (mysql_native_password), then sends binary
prepared-statement commands the `mariadb` client cannot (COM_STMT_PREPARE, COM_STMT_EXECUTE
with one integer parameter, an EXECUTE of an unknown statement id, COM_STMT_CLOSE), COM_PING,
COM_INIT_DB and COM_QUIT. Usage: stmt-client.py PORT USER PASSWORD DB"""
import hashlib
import socket
import struct
import sys


def recvn(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b


def rd(s):
    h = recvn(s, 4)
    return h[3], recvn(s, h[0] | h[1] << 8 | h[2] << 16)


def wr(s, seq, p):
    s.sendall(struct.pack("<I", len(p))[:3] + bytes([seq]) + p)


def native(pw, scramble):
    a = hashlib.sha1(pw).digest()
    b = hashlib.sha1(scramble + hashlib.sha1(a).digest()).digest()
    return bytes(x ^ y for x, y in zip(a, b))


def until_eof(s):
    while True:
        _, p = rd(s)
        if p[:1] == b"\xfe" and len(p) < 9 or p[:1] == b"\xff":
            return p


port, user, pw, db = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3].encode(), sys.argv[4].encode()
s = socket.create_connection(("127.0.0.1", port))
_, g = rd(s)
p = g.index(0, 1) + 1 + 4
s1 = g[p:p + 8]
p += 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10
s2 = g[p:p + 12]
caps = 0x1 | 0x4 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x20000 | 0x80000
resp = struct.pack("<IIB", caps, 1 << 24, 33) + b"\0" * 23 + user + b"\0"
tok = native(pw, s1 + s2)
resp += bytes([len(tok)]) + tok + db + b"\0" + b"mysql_native_password\0"
wr(s, 1, resp)
_, r = rd(s)
assert r[:1] == b"\x00", r

wr(s, 0, b"\x16SELECT id, name FROM animals WHERE id > ?")
_, r = rd(s)
assert r[:1] == b"\x00", r
stmt, ncols, nparams = struct.unpack("<IHH", r[1:9])
if nparams:
    until_eof(s)
if ncols:
    until_eof(s)

for value in (0, 1):
    wr(s, 0, b"\x17" + struct.pack("<IBI", stmt, 0, 1) + b"\x00\x01\x08\x00" + struct.pack("<q", value))
    rd(s)  # column count
    until_eof(s)  # column definitions
    until_eof(s)  # rows

wr(s, 0, b"\x17" + struct.pack("<IBI", stmt + 100, 0, 1))
_, r = rd(s)
assert r[:1] == b"\xff", r

wr(s, 0, b"\x19" + struct.pack("<I", stmt))
wr(s, 0, b"\x0e")
rd(s)
wr(s, 0, b"\x02" + db)
rd(s)
wr(s, 0, b"\x01")
s.close()
