"""A self-signed certificate for the mirror's onion names, made once per process.

Only :class:`~.server.MirrorServer` with ``tls=True`` needs it, so the
third-party ``cryptography`` package is imported lazily, on first use.
"""

from __future__ import annotations

import atexit
import shutil
import ssl
import tempfile
import threading
from pathlib import Path

from .site import MIRROR_V2, MIRROR_V3

V3_ONION = MIRROR_V3.removeprefix("www.")
"""The v3 onion service name itself (``nytimesn7…yd.onion``)."""
V2_ONION = MIRROR_V2.removeprefix("www.")
CERT_NAMES = (f"*.{V3_ONION}", V3_ONION, f"*.{V2_ONION}")
"""DNS names in the certificate's subjectAltName (the NYT mirror's own are the first two)."""

_lock = threading.Lock()
_cached: tuple[Path, Path] | None = None


def certificate_files() -> tuple[Path, Path]:
    """``(cert.pem, key.pem)`` in a temp dir removed at exit; generated once per process."""
    global _cached
    with _lock:
        if _cached is None:
            tmp = Path(tempfile.mkdtemp(prefix="samplemirror-tls-"))
            atexit.register(shutil.rmtree, tmp, ignore_errors=True)
            cert_pem, key_pem = _generate()
            cert, key = tmp / "cert.pem", tmp / "key.pem"
            key.touch(mode=0o600)
            key.write_bytes(key_pem)
            cert.write_bytes(cert_pem)
            _cached = cert, key
        return _cached


def server_context() -> ssl.SSLContext:
    """A server-side TLS context carrying the certificate (HTTP/1.1 via ALPN)."""
    cert, key = certificate_files()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["http/1.1"])
    return context


def _generate() -> tuple[bytes, bytes]:
    """PEM certificate and private key (ECDSA P-256, valid from yesterday for ten years)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "nytimes sample mirror"),
            x509.NameAttribute(NameOID.COMMON_NAME, CERT_NAMES[0]),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in CERT_NAMES]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem
