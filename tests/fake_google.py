"""A local stand-in for Google's HTTP endpoints: real HTTP on 127.0.0.1, real RSA signatures.

Serves the certificates endpoint (x509 PEMs keyed by key id, with Cache-Control like Google's), the
OpenID userinfo endpoint and, for the back office's sign-in, the OAuth 2.0 consent page
(`/o/oauth2/v2/auth`: pick an account, be sent back with a code) and token endpoint (`/token`: the code,
the client's secret and the PKCE verifier for a signed ID token). google-auth does the real verification.

For the demo: `python -m tests.fake_google --port 8001` serves it until stopped.
"""

import argparse
import base64
import contextlib
import datetime as dt
import hashlib
import html
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt
from google.auth import jwt as google_jwt

CLIENT_ID = "peerly-test-client.apps.googleusercontent.com"
CLIENT_SECRET = "peerly-test-client-secret"
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
    def __init__(self, port: int = 0) -> None:
        self.key_id = "test-key-1"
        key_pem, self.cert_pem = _make_key_and_cert("fake-google")
        self.signer = crypt.RSASigner.from_string(key_pem, key_id=self.key_id)
        # A key Google never published: tokens signed with it must be refused.
        rogue_pem, _ = _make_key_and_cert("rogue")
        self.rogue_signer = crypt.RSASigner.from_string(rogue_pem, key_id=self.key_id)
        self.userinfo_by_token: dict[str, dict[str, Any]] = {}
        self.certs_requests = 0
        self.down = False
        self.codes: dict[str, dict[str, Any]] = {}  # authorization code -> what the consent granted
        self.token_requests: list[dict[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
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

    @property
    def authorization_url(self) -> str:
        return f"{self.base_url}/o/oauth2/v2/auth"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

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
        self.codes.clear()
        self.token_requests.clear()

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

    def consent(self, authorization_url: str, email: str, **claims: Any) -> str:
        """What pressing "Allow" as `email` on the consent page does: the redirect back, with a code."""
        query = {key: values[0] for key, values in parse_qs(urlsplit(authorization_url).query).items()}
        return self._grant(query, email, claims)

    def _grant(self, query: dict[str, str], email: str, claims: dict[str, Any]) -> str:
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "client_id": query.get("client_id", ""),
            "redirect_uri": query.get("redirect_uri", ""),
            "code_challenge": query.get("code_challenge", ""),
            "code_challenge_method": query.get("code_challenge_method", ""),
            "nonce": query.get("nonce"),
            "email": email,
            "claims": claims,
        }
        back = {"code": code, "scope": query.get("scope", "")}
        if "state" in query:
            back["state"] = query["state"]
        return f"{query.get('redirect_uri', '')}?{urlencode(back)}"

    def _token(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, Any]]:
        """The token endpoint: one use per code, the client authenticated, the PKCE verifier checked."""
        self.token_requests.append(form)
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        if authorization.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
        if client_secret != CLIENT_SECRET:
            return 401, {"error": "invalid_client"}
        grant = self.codes.pop(form.get("code", ""), None)
        if form.get("grant_type") != "authorization_code" or grant is None:
            return 400, {"error": "invalid_grant", "error_description": "Malformed auth code."}
        if grant["client_id"] != client_id or grant["redirect_uri"] != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri_mismatch"}
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if grant["code_challenge_method"] != "S256" or challenge != grant["code_challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "Invalid code verifier."}
        claims = {"aud": client_id, "azp": client_id, **grant["claims"]}
        if grant["nonce"] is not None:
            claims.setdefault("nonce", grant["nonce"])
        return 200, {
            "access_token": self.access_token(email=grant["email"]),
            "expires_in": 3599,
            "scope": "openid email profile",
            "token_type": "Bearer",
            "id_token": self.id_token(email=grant["email"], **claims),
        }

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
                elif self.path.startswith("/o/oauth2/v2/auth?"):
                    self._consent_page()
                else:
                    self._send(404, {"error": "not found"})

            def _consent_page(self) -> None:
                query = {key: values[0] for key, values in parse_qs(urlsplit(self.path).query).items()}
                hidden = "".join(
                    f'<input type="hidden" name="{html.escape(key)}" value="{html.escape(value)}">'
                    for key, value in query.items()
                )
                page = (
                    "<!doctype html><title>Sign in - Google Accounts (fake)</title>"
                    "<h1>Choose an account</h1><p>to continue to Peerly</p>"
                    f'<form method="post" action="/o/oauth2/v2/auth">{hidden}'
                    '<label>Email <input type="email" name="login_email" required></label>'
                    '<button type="submit">Allow</button></form>'
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=UTF-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
                if fake.down:
                    self._send(503, {"error": "backend unavailable"})
                elif self.path == "/o/oauth2/v2/auth":
                    email = form.pop("login_email", "")
                    self.send_response(302)
                    self.send_header("Location", fake._grant(form, email, {}))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path == "/token":
                    status, body = fake._token(form, self.headers.get("Authorization", ""))
                    self._send(status, body, {"Cache-Control": "no-store"})
                else:
                    self._send(404, {"error": "not found"})

        return Handler


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Serve the fake Google on 127.0.0.1 (the demo's back-office sign-in).")
    parser.add_argument("--port", type=int, default=8001)
    arguments = parser.parse_args()
    server = FakeGoogle(port=arguments.port)
    print(f"Fake Google on {server.base_url} (client id {CLIENT_ID})", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server._server.serve_forever()
