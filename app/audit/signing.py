"""Ed25519 signing of manifests and checkpoints, with a key kept outside the database."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app

from app.audit.verify_bundle import (
    ed25519_verify,
    format_checkpoint,
    format_checkpoint_file,
    key_fingerprint,
    load_public_key_pem,
    parse_checkpoint,
)
from app.core import clock

PRIVATE_NAME, PUBLIC_NAME = "audit_ed25519.pem", "audit_ed25519.pub.pem"


class KeyMissing(RuntimeError):
    """No signing key is configured; ``flask audit keygen`` makes one."""


def key_dir() -> Path:
    """The folder of the signing key (``AUDIT_SIGNING_KEY``)."""
    return Path(current_app.config["AUDIT_SIGNING_KEY"])


def generate(out: Path) -> tuple[Path, Path, str]:
    """Write a new key pair into ``out``; refuses to overwrite. Returns paths and fingerprint."""
    out.mkdir(parents=True, exist_ok=True)
    private_path, public_path = out / PRIVATE_NAME, out / PUBLIC_NAME
    if private_path.exists():
        raise FileExistsError(f"{private_path} exists; move it away first")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_path.write_bytes(public_pem)
    return private_path, public_path, key_fingerprint(load_public_key_pem(public_pem))


def _private_key() -> Ed25519PrivateKey:
    path = key_dir() / PRIVATE_NAME
    if not path.exists():
        raise KeyMissing(f"no signing key at {path}; run `flask --app wsgi audit keygen`")
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def public_key_bytes() -> bytes:
    """The raw 32-byte public key."""
    path = key_dir() / PUBLIC_NAME
    if not path.exists():
        raise KeyMissing(f"no public key at {path}")
    return load_public_key_pem(path.read_bytes())


def sign(data: bytes) -> bytes:
    """A 64-byte Ed25519 signature of ``data``."""
    return _private_key().sign(data)


def make_checkpoint(seq: int, head_hash: str) -> bytes:
    """A signed checkpoint file for the chain at ``seq``."""
    signed_at = clock.rfc3339(clock.now())
    return format_checkpoint_file(
        seq, head_hash, signed_at, sign(format_checkpoint(seq, head_hash, signed_at))
    )


def check_checkpoint(text: bytes, public_key: bytes) -> dict:
    """Parse a checkpoint and check its signature; raises ValueError if forged."""
    parsed = parse_checkpoint(text)
    if not ed25519_verify(public_key, parsed["signed_bytes"], parsed["signature"]):
        raise ValueError("checkpoint signature does not verify with the public key")
    return parsed
