"""Keypair material as Nova makes and reads it: OpenSSH public keys (MD5 fingerprint) and x509
certificates (SHA-1 fingerprint of the certificate), imported or generated.

A generated ssh key returns its RSA private key in PEM; a generated x509 keypair is a
self-signed certificate for ``CN=<user_id>`` (the public key) with its key and certificate as a
base64 PKCS#12 bundle without password (the private key), as Nova returns them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import struct
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tricircle.api.errors import BadRequest

SSH = "ssh"
X509 = "x509"
KEY_TYPES = (SSH, X509)
GENERATED_KEY_BITS = 2048
CERTIFICATE_DAYS = 3650


@dataclass(frozen=True)
class KeyMaterial:
    """A keypair's public key and fingerprint, and its private key when generated here."""

    public_key: str
    fingerprint: str
    private_key: str | None = None


def _colon_hex(digest: bytes) -> str:
    text = digest.hex()
    return ":".join(text[index : index + 2] for index in range(0, len(text), 2))


def ssh_fingerprint(public_key: str) -> str:
    """The MD5 fingerprint of an OpenSSH public key (``aa:bb:...``); BadRequest if invalid."""
    parts = public_key.strip().split()
    if len(parts) < 2:
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint")
    try:
        blob = base64.b64decode(parts[1], validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        embedded_type = blob[4 : 4 + length].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError) as exc:
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint") from exc
    if embedded_type != parts[0]:
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint")
    return _colon_hex(hashlib.md5(blob, usedforsecurity=False).digest())


def x509_fingerprint(certificate: str) -> str:
    """The SHA-1 fingerprint of a PEM certificate (``aa:bb:...``); BadRequest if invalid."""
    try:
        loaded = x509.load_pem_x509_certificate(certificate.encode())
    except ValueError as exc:
        raise BadRequest(
            f"Keypair data is invalid: failed to generate X509 fingerprint. Error message: {exc}"
        ) from exc
    return _colon_hex(loaded.fingerprint(hashes.SHA1()))


def imported(public_key: str, key_type: str) -> KeyMaterial:
    """An imported public key of ``key_type`` with its fingerprint; BadRequest if invalid."""
    if key_type == X509:
        return KeyMaterial(public_key, x509_fingerprint(public_key))
    return KeyMaterial(public_key, ssh_fingerprint(public_key))


def _new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=GENERATED_KEY_BITS)


def _generated_ssh() -> KeyMaterial:
    key = _new_rsa_key()
    private_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public_key = (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    public_key = f"{public_key} Generated-by-Tricircle"
    return KeyMaterial(public_key, ssh_fingerprint(public_key), private_key)


def _generated_x509(user_id: str) -> KeyMaterial:
    key = _new_rsa_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=CERTIFICATE_DAYS))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    bundle = pkcs12.serialize_key_and_certificates(
        None, key, certificate, None, serialization.NoEncryption()
    )
    public_key = certificate.public_bytes(serialization.Encoding.PEM).decode()
    return KeyMaterial(
        public_key, x509_fingerprint(public_key), base64.b64encode(bundle).decode("ascii")
    )


def generated(key_type: str, user_id: str) -> KeyMaterial:
    """A new keypair of ``key_type`` for ``user_id``, with its private key."""
    return _generated_x509(user_id) if key_type == X509 else _generated_ssh()
