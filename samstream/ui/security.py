"""Exposing the live view safely: the access token, the TLS certificate, the URL and its QR code.

* :class:`TokenGate` — ASGI middleware in front of the whole web app (the Gradio page and its
  API, the MJPEG stream, the WebRTC page and signalling, the status route, any other path):
  a request without the token gets ``401``. The token comes as ``?token=T`` (the URL the
  terminal prints; the answer then sets an HttpOnly cookie so the page's own requests carry it),
  the ``samstream_token`` cookie, an ``X-Samstream-Token`` header or ``Authorization: Bearer T``.
* :func:`self_signed_cert` — a self-signed certificate for ``--https`` (``cryptography``), for
  ``localhost``, this host's name and addresses; kept in the cache (so a phone that accepted it
  once keeps it) and remade when it expires or misses an address.
* :func:`lan_address`, :func:`terminal_qr` — the address a phone can reach and its QR code.

No Gradio here.
"""

from __future__ import annotations

import datetime
import hmac
import ipaddress
import os
import socket
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Iterable, Optional
from urllib.parse import parse_qs

__all__ = ["TokenGate", "self_signed_cert", "lan_address", "terminal_qr", "COOKIE"]

COOKIE = "samstream_token"
_DENIED = (b"this samstream live view needs its access token: open the URL that `samstream demo --token ...` "
           b"printed (it ends in ?token=...).\n")


class TokenGate:
    """ASGI middleware: every HTTP request and websocket must carry ``token`` (see the module doc).

    Args:
        app: the ASGI app behind it.
        token: the access token (non-empty).
        secure_cookie: mark the cookie ``Secure`` (served over https).
        allow_once: paths that may pass once without the token (Gradio's own start-up
            self-request, made by the server itself before it serves anyone).
    """

    def __init__(self, app, token: str, secure_cookie: bool = False, allow_once: Iterable[str] = ()) -> None:
        if not token:
            raise ValueError("an access token must not be empty: pass --token SOMETHING (or --token auto).")
        self.app = app
        self._token = token.encode()
        self.secure = bool(secure_cookie)
        self._once = set(allow_once)
        self.denied = 0

    def _ok(self, value: Optional[str]) -> bool:
        return bool(value) and hmac.compare_digest(value.encode(), self._token)

    def _check(self, scope) -> tuple[bool, bool]:
        """(allowed, came in the query string)."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if any(self._ok(v) for v in query.get("token", [])):
            return True, True
        if self._ok(headers.get("x-samstream-token")):
            return True, False
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer " and self._ok(auth[7:].strip()):
            return True, False
        if "cookie" in headers:
            c = SimpleCookie()
            try:
                c.load(headers["cookie"])
            except Exception:
                return False, False
            if COOKIE in c and self._ok(c[COOKIE].value):
                return True, False
        return False, False

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        ok, in_query = self._check(scope)
        path = scope.get("path", "")
        if not ok and path in self._once:
            self._once.discard(path)
            ok = True
        if not ok:
            self.denied += 1
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4401})
                return
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    (b"www-authenticate", b'Bearer realm="samstream"'),
                                    (b"cache-control", b"no-store")]})
            await send({"type": "http.response.body", "body": _DENIED})
            return
        if not (in_query and scope["type"] == "http"):
            return await self.app(scope, receive, send)
        cookie = f"{COOKIE}={self._token.decode()}; Path=/; HttpOnly; SameSite=Strict"
        if self.secure:
            cookie += "; Secure"

        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                message = dict(message, headers=list(message.get("headers", [])) +
                               [(b"set-cookie", cookie.encode("latin-1"))])
            await send(message)

        return await self.app(scope, receive, send_with_cookie)


def lan_address() -> Optional[str]:
    """This machine's address on its LAN (the one its default route uses), or ``None``.

    No packet is sent (a UDP socket is only connected, which picks the outgoing interface).
    """
    for probe in ("10.255.255.255", "192.168.255.255", "172.31.255.255"):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect((probe, 1))
                ip = s.getsockname()[0]
            if ip and not ip.startswith("127."):
                return ip
        except OSError:
            continue
    return None


def _names_for(host: str) -> tuple[list[str], list[str]]:
    dns = {"localhost", socket.gethostname()}
    ips = {"127.0.0.1", "::1"}
    lan = lan_address()
    if lan:
        ips.add(lan)
    if host not in ("", "0.0.0.0", "::"):
        try:
            ipaddress.ip_address(host)
            ips.add(host)
        except ValueError:
            dns.add(host)
    return sorted(d for d in dns if d), sorted(ips)


def self_signed_cert(host: str = "127.0.0.1", folder: Optional[Path] = None, days: int = 365) -> tuple[Path, Path]:
    """``(cert.pem, key.pem)`` of a self-signed certificate valid for ``localhost``, this host's
    name, its LAN address and ``host``; reused from ``folder`` (default: the samstream cache's
    ``tls/``) while valid for another day and covering those names, else made anew (ECDSA P-256)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    if folder is None:
        from ..models.cache import cache_root

        folder = cache_root() / "tls"
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    cert_path, key_path = folder / "samstream-selfsigned.pem", folder / "samstream-selfsigned.key"
    dns, ips = _names_for(host)
    now = datetime.datetime.now(datetime.timezone.utc)
    if cert_path.exists() and key_path.exists():
        try:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            have = {str(v) for v in san.get_values_for_type(x509.DNSName)} | {
                str(v) for v in san.get_values_for_type(x509.IPAddress)}
            if cert.not_valid_after_utc - now > datetime.timedelta(days=1) and set(dns) | set(ips) <= have:
                return cert_path, key_path
        except Exception:
            pass  # unreadable: make a new one
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "samstream live view (self-signed)")])
    alt = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def terminal_qr(text: str) -> str:
    """``text`` as a QR code drawn with block characters for a terminal ("" if segno is missing)."""
    try:
        import segno
    except ImportError:
        return ""
    import io

    buf = io.StringIO()
    segno.make(text, error="l").terminal(out=buf, compact=True, border=2)
    return buf.getvalue()
