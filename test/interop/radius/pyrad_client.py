"""A RADIUS client on pyrad (Debian python3-pyrad), for Gatehouse's interop tests.

pyrad 2.1 encodes and decodes the packets and verifies the Response Authenticator; it has no
Message-Authenticator support, so this script adds one (RFC 3579 section 3.2) and checks the
reply's on the raw bytes, including that it is the first attribute (BlastRADIUS).

Usage: python3 pyrad_client.py '<json>' with keys port, secret, user, password, state (hex),
message_authenticator (bool, default true), timeout. Prints one JSON object.
"""
import hashlib
import hmac
import json
import os
import socket
import sys

from pyrad import dictionary, packet

args = json.loads(sys.argv[1])
here = os.path.dirname(os.path.abspath(__file__))
d = dictionary.Dictionary(os.path.join(here, "pyrad.dictionary"))
secret = args["secret"].encode()

req = packet.AuthPacket(code=packet.AccessRequest, secret=secret, dict=d)
req["User-Name"] = args["user"]
req["User-Password"] = req.PwCrypt(args["password"])
req["NAS-IP-Address"] = "127.0.0.1"
if args.get("state"):
    req["State"] = bytes.fromhex(args["state"])
with_ma = args.get("message_authenticator", True)
if with_ma:
    req["Message-Authenticator"] = b"\x00" * 16
raw = bytearray(req.RequestPacket())


def attributes(buf):
    """(type, offset of value, value) for each attribute of a packet."""
    out, off = [], 20
    while off < len(buf):
        t, n = buf[off], buf[off + 1]
        out.append((t, off + 2, bytes(buf[off + 2 : off + n])))
        off += n
    return out


if with_ma:
    ma = [a for a in attributes(raw) if a[0] == 80][0]
    raw[ma[1] : ma[1] + 16] = hmac.new(secret, bytes(raw), hashlib.md5).digest()

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(args.get("timeout", 2))
sock.sendto(bytes(raw), ("127.0.0.1", args["port"]))
try:
    reply_raw, _ = sock.recvfrom(4096)
except socket.timeout:
    print(json.dumps({"reply": None}))
    sys.exit(0)

reply = packet.Packet(packet=reply_raw, secret=secret, dict=d)
attrs = attributes(reply_raw)
ma_ok = False
ma_first = bool(attrs) and attrs[0][0] == 80
mas = [a for a in attrs if a[0] == 80]
if mas:
    z = bytearray(reply_raw)
    z[4:20] = req.authenticator
    z[mas[0][1] : mas[0][1] + 16] = b"\x00" * 16
    ma_ok = hmac.compare_digest(hmac.new(secret, bytes(z), hashlib.md5).digest(), mas[0][2])

decoded = {}
for key in reply.keys():
    values = reply[key]
    decoded[str(key)] = [v.hex() if isinstance(v, bytes) else (list(v) if isinstance(v, tuple) else v) for v in values]

print(
    json.dumps(
        {
            "reply": {
                "code": reply.code,
                "response_authenticator_ok": req.VerifyReply(reply, reply_raw),
                "message_authenticator_first": ma_first,
                "message_authenticator_ok": ma_ok,
                "attributes": decoded,
                "types": [a[0] for a in attrs],
            }
        }
    )
)
