"""A local stand-in for Google's HTTP endpoints: real HTTP on 127.0.0.1, real RSA signatures.

Serves the certificates endpoint (x509 PEMs keyed by key id, with Cache-Control like Google's) and
the OpenID userinfo endpoint. google-auth does the real verification against it.
"""

import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt
from google.auth import jwt as google_jwt

CLIENT_ID = "peerly-test-client.apps.googleusercontent.com"
ISSUER = "https://accounts.google.com"


def _make_key_and_cert(common_name: str) -> tuple[bytes, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


class FakeGoogle:
    def __init__(self) -> None:
        self.key_id = "test-key-1"
        key_pem, self.cert_pem = _make_key_and_cert("fake-google")
        self.signer = crypt.RSASigner.from_string(key_pem, key_id=self.key_id)
        # A key Google never published: tokens signed with it must be refused.
        rogue_pem, _ = _make_key_and_cert("rogue")
        self.rogue_signer = crypt.RSASigner.from_string(rogue_pem, key_id=self.key_id)
        self.userinfo_by_token: dict[str, dict[str, Any]] = {}
        self.certs_requests = 0
        self.down = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def certs_url(self) -> str:
        return f"{self.base_url}/oauth2/v1/certs"

    @property
    def userinfo_url(self) -> str:
        return f"{self.base_url}/v1/userinfo"

    def start(self) -> "FakeGoogle":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        self.userinfo_by_token.clear()
        self.certs_requests = 0
        self.down = False

    def id_token(self, *, email: str, rogue: bool = False, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "azp": CLIENT_ID,
            "sub": f"google-{email}",
            "email": email,
            "email_verified": True,
            "given_name": "Test",
            "family_name": "Person",
            "name": "Test Person",
            "picture": "https://example.com/p.png",
            "iat": now,
            "exp": now + 3600,
        }
        claims.update(overrides)
        signer = self.rogue_signer if rogue else self.signer
        return google_jwt.encode(signer, claims, key_id=self.key_id).decode()

    def access_token(self, *, email: str, **overrides: Any) -> str:
        # Shaped like a real bearer token (RFC 6750 characters only): "@" is not one of them.
        token = f"ya29.fake-{len(self.userinfo_by_token)}-{email.replace('@', '.at.')}"
        info: dict[str, Any] = {
            "sub": f"google-{email}",
            "email": email,
            "email_verified": True,
            "given_name": "Ada",
            "family_name": "Lovelace",
            "name": "Ada Lovelace",
            "picture": "https://example.com/ada.png",
        }
        info.update(overrides)
        self.userinfo_by_token[token] = info
        return token

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                if fake.down:
                    self._send(503, {"error": "backend unavailable"})
                elif self.path == "/oauth2/v1/certs":
                    fake.certs_requests += 1
                    self._send(
                        200, {fake.key_id: fake.cert_pem}, {"Cache-Control": "public, max-age=19000, must-revalidate"}
                    )
                elif self.path == "/v1/userinfo":
                    auth = self.headers.get("Authorization", "")
                    info = fake.userinfo_by_token.get(auth.removeprefix("Bearer "))
                    if info is None:
                        self._send(401, {"error": "invalid_token"})
                    else:
                        self._send(200, info, {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate"})
                else:
                    self._send(404, {"error": "not found"})

        return Handler
