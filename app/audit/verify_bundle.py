"""Verify an audit bundle with nothing but the Python standard library (3.11+).

Run it from the unzipped bundle's folder (校验审计包)::

    python verify_bundle.py [--dir DIR] [--pubkey FILE]

Exit status: 0 all checks passed, 1 a fault (one line naming the file and the
place), 2 a usage error. Without ``--pubkey`` the signatures are NOT checked.

The same module defines the audit chain's hash (DESIGN.md, "The audit
trail"), so the application and the auditor's copy can never disagree; the
application also takes the checkpoint format from here.

What is checked, in this order (the first fault stops the run):
1. ``manifest.sig`` — canonical base64 of a 64-byte Ed25519 signature of the
   exact bytes of ``manifest.json``; verified when a key is given.
2. ``manifest.json`` — schema_version 1; ``chain`` {first_seq, last_seq,
   first_prev_hash, head_hash}; ``ledger_totals`` {debits_fen, credits_fen};
   ``files`` {name: {sha256, bytes, rows}} (``rows`` optional: JSONL lines, or
   CSV records after the header, the TOTAL row included).
3. Inventory — every listed file present; no unlisted file except
   manifest.json, manifest.sig, checkpoint.txt and verify_bundle.py (desktop
   litter such as .DS_Store and __MACOSX/ is reported and ignored).
4. ``checkpoint.txt`` — format below; signature verified when a key is given.
5. ``audit_events.jsonl`` — re-hashed line by line from first_prev_hash: seq
   gaps or reordering, broken prev_hash links, altered rows, head and range
   against the manifest, and the checkpoint's head_hash when its seq is here.
6. ``ledger_transfers.csv`` (id, from_account, to_account, amount_fen) and
   ``ledger_entries.csv`` (transfer_id, account, debit_fen, credit_fen): each
   transfer has one debit entry on from_account and one credit entry on
   to_account for its amount; debits = credits = manifest ledger_totals.
7. ``trial_balance.csv`` (code, debits_fen, credits_fen, balance_fen, then a
   last row with code TOTAL): every account recomputed from the entries,
   balance = credits - debits, none negative except world:appropriation.
8. Every listed file's size and sha256 (content checks come first so that a
   tampered row is reported at its place).
CSV files are UTF-8 (BOM optional), RFC 4180; amounts are integer fen.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import hashlib
import json
import os
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

HASH_PREFIX = b"grant-audit-v1\n"
GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor_role",
    "org_id",
    "ip",
    "user_agent",
    "request_id",
    "action",
    "entity_type",
    "entity_id",
    "before",
    "after",
    "reason",
)


def _nfc(value):
    """Return ``value`` with every string NFC-normalised, recursively."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {_nfc(k): _nfc(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_nfc(v) for v in value]
    if isinstance(value, float):
        raise TypeError("floats are not allowed in audit payloads; use integers or strings")
    return value


def canonical_json(event: dict) -> bytes:
    """Canonical JSON of an event's hashed fields: sorted keys, no spaces, UTF-8, NFC."""
    payload = {key: event.get(key) for key in HASHED_FIELDS}
    text = json.dumps(_nfc(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def event_hash(prev_hash: str, event: dict) -> str:
    """The chain link: sha256(prefix + prev_hash + canonical_json(event))."""
    return hashlib.sha256(
        HASH_PREFIX + prev_hash.encode("ascii") + canonical_json(event)
    ).hexdigest()


# ---------------------------------------------------------------------------
# Bundle layout
# ---------------------------------------------------------------------------

EVENTS_FILE = "audit_events.jsonl"
TRANSFERS_FILE = "ledger_transfers.csv"
ENTRIES_FILE = "ledger_entries.csv"
TRIAL_BALANCE_FILE = "trial_balance.csv"
MANIFEST_FILE = "manifest.json"
SIGNATURE_FILE = "manifest.sig"
CHECKPOINT_FILE = "checkpoint.txt"
SCRIPT_FILE = "verify_bundle.py"

REQUIRED_FILES = (EVENTS_FILE, TRANSFERS_FILE, ENTRIES_FILE, TRIAL_BALANCE_FILE)
# Present beside the data but never listed in the manifest (it cannot list itself).
EXEMPT_FILES = frozenset({MANIFEST_FILE, SIGNATURE_FILE, CHECKPOINT_FILE, SCRIPT_FILE})
# What unzipping on a desktop leaves behind; reported, never treated as data.
JUNK_DIRS = frozenset({"__MACOSX", "__pycache__"})
JUNK_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})

WORLD_ACCOUNT = "world:appropriation"
TOTAL_ROW = "TOTAL"
EVENT_FIELDS = frozenset(HASHED_FIELDS) | {"prev_hash", "hash"}

_HEX64 = re.compile(r"[0-9a-f]{64}")
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_RFC3339_UTC = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?Z"
)
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


# ---------------------------------------------------------------------------
# Faults and the report
# ---------------------------------------------------------------------------


class BundleFault(Exception):
    """The first thing found wrong, with the file and the place in it.

    ``kind`` is one of: manifest, file, signature, format, gap, broken_link,
    altered_row, head_mismatch, checkpoint, ledger, trial_balance.
    """

    def __init__(
        self,
        file: str,
        message: str,
        *,
        line: int | None = None,
        where: str = "",
        kind: str = "format",
    ) -> None:
        self.file, self.message, self.line, self.where, self.kind = file, message, line, where, kind
        super().__init__(str(self))

    def __str__(self) -> str:
        place = self.file
        if self.line is not None:
            place += f" line {self.line}"
        if self.where:
            place += f" ({self.where})"
        return f"{place}: {self.message}"


@dataclass
class Report:
    """What a successful verification established."""

    directory: str
    files: int = 0
    events: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    head_hash: str = GENESIS_HASH
    checkpoint_seq: int | None = None
    checkpoint_compared: bool = False
    transfers: int = 0
    entries: int = 0
    debits_fen: int = 0
    credits_fen: int = 0
    accounts: int = 0
    signatures_checked: bool = False
    key_fingerprint: str | None = None
    ignored: list[str] = field(default_factory=list)

    def summary_lines(self) -> list[str]:
        """The human summary printed on success, English with Chinese in parentheses."""
        seqs = f"seq {self.first_seq}–{self.last_seq}" if self.events else "no events"
        if self.checkpoint_compared:
            cp = f"seq {self.checkpoint_seq} matches the chain (与审计链一致)"
        else:
            cp = f"seq {self.checkpoint_seq} is outside this bundle's range, not compared (未比对)"
        lines = [
            f"bundle (审计包): {self.directory}",
            f"files (文件): {self.files} listed; sizes and sha256 match; no unlisted files (完整)",
            f"audit chain (审计链): {self.events} events, {seqs}, head {self.head_hash} "
            "matches the manifest (哈希链完整)",
            f"checkpoint (检查点): {cp}",
            f"ledger (账簿): {self.transfers} transfers, {self.entries} entries, debits = credits"
            f" = {self.debits_fen} fen, matches the manifest (借贷平衡)",
            f"trial balance (试算平衡表): {self.accounts} accounts match the entries; none negative"
            f" except {WORLD_ACCOUNT} (一致)",
        ]
        if self.ignored:
            lines.append(f"ignored (已忽略): {', '.join(self.ignored)}")
        if self.signatures_checked:
            lines.append(
                "signatures (签名): manifest.sig and checkpoint.txt verified with the key of "
                f"sha256 {self.key_fingerprint} (签名已验证)"
            )
        else:
            lines.append(
                "WARNING: signatures were NOT checked — pass --pubkey FILE to check them "
                "(未验证签名)"
            )
        return lines


# ---------------------------------------------------------------------------
# Ed25519 verification (RFC 8032, section 5.1.7), Python integers only
# ---------------------------------------------------------------------------

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, -1, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
_IDENTITY = (0, 1, 1, 0)


def _point_add(p: tuple, q: tuple) -> tuple:
    """Add two points in extended coordinates (RFC 8032, 5.1.4); complete, so doubles too."""
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % _P
    b = (y1 + x1) * (y2 + x2) % _P
    c = 2 * t1 * t2 * _D % _P
    d = 2 * z1 * z2 % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _scalar_mult(k: int, p: tuple) -> tuple:
    result = _IDENTITY
    while k:
        if k & 1:
            result = _point_add(result, p)
        p = _point_add(p, p)
        k >>= 1
    return result


def _point_equal(p: tuple, q: tuple) -> bool:
    return (p[0] * q[2] - q[0] * p[2]) % _P == 0 and (p[1] * q[2] - q[1] * p[2]) % _P == 0


def _recover_x(y: int, sign: int) -> int | None:
    """Decoding steps 2-4 of RFC 8032, 5.1.3; ``None`` when no such point exists."""
    if y >= _P:
        return None
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x = u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P) % _P
    if (v * x * x - u) % _P != 0:
        if (v * x * x + u) % _P != 0:
            return None
        x = x * _SQRT_M1 % _P
    if x == 0 and sign:
        return None
    return _P - x if x & 1 != sign else x


def _decode_point(data: bytes) -> tuple | None:
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _P)


_BASE = _decode_point((4 * pow(5, -1, _P) % _P).to_bytes(32, "little"))


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``message`` by ``public_key``.

    RFC 8032, 5.1.7, with the cofactorless check [S]B = R + [k]A that the RFC
    allows. Malformed keys or signatures give False, never an exception.
    """
    public_key, message, signature = bytes(public_key), bytes(message), bytes(signature)
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a, r = _decode_point(public_key), _decode_point(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= _L:
        return False
    digest = hashlib.sha512(signature[:32] + public_key + message).digest()
    k = int.from_bytes(digest, "little") % _L
    return _point_equal(_scalar_mult(s, _BASE), _point_add(r, _scalar_mult(k, a)))


# ---------------------------------------------------------------------------
# Public keys
# ---------------------------------------------------------------------------

# SEQUENCE { SEQUENCE { OID 1.3.101.112 (Ed25519) } BIT STRING (32 bytes) }: the
# only DER encoding an Ed25519 SubjectPublicKeyInfo can have (RFC 8410).
_ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----(.*?)-----END PUBLIC KEY-----", re.DOTALL)


def _strict_b64decode(text: str) -> bytes:
    """Decode canonical base64 only, so no two texts decode to the same bytes."""
    if not _BASE64.fullmatch(text) or len(text) % 4:
        raise ValueError("not canonical base64")
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("not canonical base64")
    return raw


def _key_from_spki(der: bytes) -> bytes:
    if len(der) != 44 or not der.startswith(_ED25519_SPKI_PREFIX):
        raise ValueError("not an Ed25519 SubjectPublicKeyInfo (OID 1.3.101.112)")
    return _checked_key(der[12:])


def _checked_key(raw: bytes) -> bytes:
    if _decode_point(raw) is None:
        raise ValueError("not a valid Ed25519 public key")
    return raw


def load_public_key_pem(text: str | bytes) -> bytes:
    """The raw 32-byte key from a PEM ``PUBLIC KEY`` block (Ed25519 SPKI, RFC 8410)."""
    if isinstance(text, bytes):
        text = text.decode("ascii")
    match = _PEM.search(text)
    if match is None:
        raise ValueError("no -----BEGIN PUBLIC KEY----- block")
    return _key_from_spki(_strict_b64decode("".join(match.group(1).split())))


def load_public_key(data: bytes) -> bytes:
    """The raw key from a key file: PEM, 64 hex digits, base64 of 32 bytes, or 32 raw bytes."""
    if b"-----BEGIN" in data:
        return load_public_key_pem(data)
    if len(data) == 32:
        return _checked_key(bytes(data))
    try:
        text = data.decode("ascii").strip()
    except UnicodeDecodeError:
        raise ValueError("not a public key: expected PEM, hex or base64") from None
    if _HEX64.fullmatch(text.lower()):
        return _checked_key(bytes.fromhex(text))
    try:
        raw = _strict_b64decode(text)
    except ValueError:
        raise ValueError("not a public key: expected PEM, hex or base64") from None
    return _key_from_spki(raw) if len(raw) == 44 else _checked_key(raw)


def key_fingerprint(public_key: bytes) -> str:
    """sha256 of the raw 32-byte key, in hex: what to compare with the published fingerprint."""
    return hashlib.sha256(bytes(public_key)).hexdigest()


# ---------------------------------------------------------------------------
# The checkpoint format
# ---------------------------------------------------------------------------
# checkpoint.txt, ASCII, "\n" line ends, exactly:
#     seq=<decimal, no leading zeros>\n
#     head_hash=<64 lowercase hex>\n
#     signed_at=<RFC 3339 UTC, e.g. 2015-07-01T02:00:00.000000Z>\n
#     signature=<canonical base64 of the 64-byte Ed25519 signature>\n
# The signature covers the first three lines, final "\n" included: every byte
# before "signature=". That is what format_checkpoint() returns.


class CheckpointFormatError(ValueError):
    """checkpoint.txt does not follow the format; ``line`` says where."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(message)


def format_checkpoint(seq: int, head_hash: str, signed_at: str) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ValueError("seq must be a non-negative integer")
    if not _HEX64.fullmatch(head_hash):
        raise ValueError("head_hash must be 64 lowercase hex digits")
    if not _RFC3339_UTC.fullmatch(signed_at):
        raise ValueError("signed_at must be RFC 3339 UTC ending in Z")
    return f"seq={seq}\nhead_hash={head_hash}\nsigned_at={signed_at}\n".encode("ascii")


def format_checkpoint_file(seq: int, head_hash: str, signed_at: str, signature: bytes) -> bytes:
    """The whole checkpoint.txt: the signed bytes, then the signature line."""
    if len(signature) != 64:
        raise ValueError("an Ed25519 signature is 64 bytes")
    encoded = base64.b64encode(bytes(signature)).decode("ascii")
    return format_checkpoint(seq, head_hash, signed_at) + f"signature={encoded}\n".encode("ascii")


def parse_checkpoint(text: str | bytes) -> dict:
    """Parse checkpoint.txt strictly.

    Returns ``{"seq", "head_hash", "signed_at", "signature" (64 bytes),
    "signed_bytes"}``; raises CheckpointFormatError naming the line.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise CheckpointFormatError(1, "not ASCII text") from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    names = ("seq", "head_hash", "signed_at", "signature")
    if len(lines) != len(names):
        line = min(len(lines), len(names)) + 1  # the first missing or extra line
        raise CheckpointFormatError(line, f"expected {len(names)} lines, found {len(lines)}")
    values = {}
    for number, (name, line) in enumerate(zip(names, lines, strict=True), start=1):
        key, sep, value = line.partition("=")
        if key != name or not sep:
            raise CheckpointFormatError(number, f"expected '{name}=…'")
        values[name] = value
    if not _INT.fullmatch(values["seq"]) or values["seq"].startswith("-"):
        raise CheckpointFormatError(1, "seq is not a non-negative integer")
    if not _HEX64.fullmatch(values["head_hash"]):
        raise CheckpointFormatError(2, "head_hash is not 64 lowercase hex digits")
    if not _RFC3339_UTC.fullmatch(values["signed_at"]):
        raise CheckpointFormatError(3, "signed_at is not RFC 3339 UTC ending in Z")
    try:
        signature = _strict_b64decode(values["signature"])
    except ValueError:
        raise CheckpointFormatError(4, "signature is not canonical base64") from None
    if len(signature) != 64:
        raise CheckpointFormatError(4, "signature is not 64 bytes")
    seq = int(values["seq"])
    return {
        "seq": seq,
        "head_hash": values["head_hash"],
        "signed_at": values["signed_at"],
        "signature": signature,
        "signed_bytes": format_checkpoint(seq, values["head_hash"], values["signed_at"]),
    }


# ---------------------------------------------------------------------------
# The audit chain
# ---------------------------------------------------------------------------


def _reject_duplicates(pairs: list) -> dict:
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str):
    raise ValueError(f"{name} is not allowed")


def _strict_json(text: str):
    return json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_event(raw: bytes | str, number: int, file: str) -> dict:
    """One JSONL line as a dict with exactly the event fields, or a fault."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        event = _strict_json(text)
    except UnicodeDecodeError:
        raise BundleFault(file, "not valid UTF-8 (编码错误)", line=number) from None
    except ValueError as exc:
        raise BundleFault(file, f"not valid JSON: {exc} (格式错误)", line=number) from None
    if not isinstance(event, dict):
        raise BundleFault(file, "not a JSON object (格式错误)", line=number)
    if event.keys() != EVENT_FIELDS:
        missing = ", ".join(sorted(EVENT_FIELDS - event.keys())) or "-"
        extra = ", ".join(sorted(event.keys() - EVENT_FIELDS)) or "-"
        raise BundleFault(
            file, f"wrong fields: missing {missing}; unexpected {extra} (字段错误)", line=number
        )
    if not _is_int(event["seq"]) or event["seq"] < 1:
        raise BundleFault(file, "seq is not a positive integer (序号错误)", line=number)
    for name in ("prev_hash", "hash"):
        if not isinstance(event[name], str) or not _HEX64.fullmatch(event[name]):
            raise BundleFault(
                file,
                f"{name} is not 64 lowercase hex digits (格式错误)",
                line=number,
                where=f"seq {event['seq']}",
            )
    return event


def _walk_chain(
    lines,
    first_prev_hash: str,
    *,
    first_seq: int | None = None,
    watch_seq: int | None = None,
    file: str = EVENTS_FILE,
) -> dict:
    """Re-hash the chain line by line; the first fault raises BundleFault.

    Returns ``{"count", "first_seq", "last_seq", "head_hash", "watched_hash"}``
    where ``watched_hash`` is the hash of ``watch_seq`` if it was seen.
    """
    prev, expected, count, watched, seen_first = first_prev_hash, first_seq, 0, None, None
    for number, raw in enumerate(lines, start=1):
        raw = raw[:-1] if raw[-1:] in (b"\n", "\n") else raw
        if not raw:
            raise BundleFault(file, "empty line (空行)", line=number)
        event = _parse_event(raw, number, file)
        seq, where = event["seq"], f"seq {event['seq']}"
        if expected is None:
            expected = 1 if first_prev_hash == GENESIS_HASH else seq
        if seq != expected:
            raise BundleFault(
                file,
                f"expected seq {expected}, found seq {seq} — missing or "
                "reordered row (序号不连续或顺序错乱)",
                line=number,
                where=where,
                kind="gap",
            )
        if event["prev_hash"] != prev:
            raise BundleFault(
                file,
                "broken link — prev_hash is not the previous row's hash (链接断裂)",
                line=number,
                where=where,
                kind="broken_link",
            )
        try:
            recomputed = event_hash(prev, event)
        except TypeError as exc:
            raise BundleFault(file, f"{exc} (格式错误)", line=number, where=where) from None
        if recomputed != event["hash"]:
            raise BundleFault(
                file,
                "altered row — hash mismatch (内容被篡改)",
                line=number,
                where=where,
                kind="altered_row",
            )
        if seq == watch_seq:
            watched = recomputed
        seen_first = seq if seen_first is None else seen_first
        prev, expected, count = recomputed, seq + 1, count + 1
    last = expected - 1 if count else None
    return {
        "count": count,
        "first_seq": seen_first,
        "last_seq": last,
        "head_hash": prev,
        "watched_hash": watched,
    }


def verify_chain_lines(
    lines,
    first_prev_hash: str = GENESIS_HASH,
    *,
    first_seq: int | None = None,
    file: str = EVENTS_FILE,
):
    """Re-hash JSONL lines (str or bytes) from ``first_prev_hash``.

    Returns ``(last_seq, head_hash)`` — ``(None, first_prev_hash)`` for no
    lines — or raises BundleFault at the first gap, broken link or altered row.
    From genesis the first seq must be 1; otherwise ``first_seq`` if given.
    """
    result = _walk_chain(lines, first_prev_hash, first_seq=first_seq, file=file)
    return result["last_seq"], result["head_hash"]


# ---------------------------------------------------------------------------
# Manifest and files
# ---------------------------------------------------------------------------


def _manifest_fault(message: str) -> BundleFault:
    return BundleFault(MANIFEST_FILE, f"{message} (清单格式错误)", kind="manifest")


def _load_manifest(data: bytes) -> dict:
    try:
        manifest = _strict_json(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise _manifest_fault("not valid UTF-8") from None
    except ValueError as exc:
        raise _manifest_fault(f"not valid JSON: {exc}") from None
    if not isinstance(manifest, dict):
        raise _manifest_fault("not a JSON object")
    if manifest.get("schema_version") != 1:
        raise _manifest_fault(f"unsupported schema_version {manifest.get('schema_version')!r}")
    chain, totals, files = (
        manifest.get("chain"),
        manifest.get("ledger_totals"),
        manifest.get("files"),
    )
    if not isinstance(chain, dict) or not isinstance(totals, dict) or not isinstance(files, dict):
        raise _manifest_fault("chain, ledger_totals and files must be objects")
    for name in ("first_seq", "last_seq"):
        if chain.get(name) is not None and not _is_int(chain.get(name)):
            raise _manifest_fault(f"chain.{name} must be an integer or null")
    for name in ("first_prev_hash", "head_hash"):
        if not isinstance(chain.get(name), str) or not _HEX64.fullmatch(chain[name]):
            raise _manifest_fault(f"chain.{name} must be 64 lowercase hex digits")
    for name in ("debits_fen", "credits_fen"):
        if not _is_int(totals.get(name)):
            raise _manifest_fault(f"ledger_totals.{name} must be an integer")
    for name, meta in files.items():
        _check_name(name)
        if (
            not isinstance(meta, dict)
            or not isinstance(meta.get("sha256"), str)
            or not _HEX64.fullmatch(meta["sha256"])
            or not _is_int(meta.get("bytes"))
        ):
            raise _manifest_fault(f"files[{name!r}] needs sha256 (64 hex) and bytes (integer)")
        if meta.get("rows") is not None and not _is_int(meta["rows"]):
            raise _manifest_fault(f"files[{name!r}].rows must be an integer or null")
    for name in REQUIRED_FILES:
        if name not in files:
            raise _manifest_fault(f"{name} is not listed in files")
    return manifest


def _check_name(name: str) -> None:
    """Refuse names that could point outside the bundle or differ between systems."""
    parts = name.split("/")
    if (
        not name
        or "\\" in name
        or "\0" in name
        or ":" in name
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise _manifest_fault(f"unsafe file name {name!r}")


def _check_inventory(root: Path, files: dict, report: Report) -> None:
    """Every listed file is present (a regular file, not a link); nothing else is."""
    for name in sorted(files):
        path = root / name
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise BundleFault(name, "not a regular file (不是普通文件)", kind="file")
        if not path.is_file():
            raise BundleFault(name, "listed in manifest.json but missing (文件缺失)", kind="file")
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        junk = sorted(d for d in dirnames if d in JUNK_DIRS)
        dirnames[:] = sorted(d for d in dirnames if d not in JUNK_DIRS)
        report.ignored += [(rel_dir / d).as_posix() + "/" for d in junk]
        links = [d for d in dirnames if (Path(dirpath) / d).is_symlink()]
        for filename in sorted(filenames) + links:
            rel = (rel_dir / filename).as_posix()
            if rel in files or rel in EXEMPT_FILES:
                continue
            if filename in JUNK_FILES:
                report.ignored.append(rel)
                continue
            raise BundleFault(
                rel, "unlisted file — not in manifest.json (清单外的文件)", kind="file"
            )


def _check_digests(root: Path, files: dict) -> None:
    for name in sorted(files):
        meta, path = files[name], root / name
        size = path.stat().st_size
        if size != meta["bytes"]:
            raise BundleFault(
                name,
                f"size {size} bytes, manifest.json says {meta['bytes']} (文件大小不符)",
                kind="file",
            )
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != meta["sha256"]:
            raise BundleFault(name, "sha256 differs from manifest.json (文件哈希不符)", kind="file")


def _check_rows(files: dict, name: str, rows: int) -> None:
    expected = files[name].get("rows")
    if expected is not None and expected != rows:
        raise BundleFault(
            name, f"{rows} records, manifest.json says {expected} (行数不符)", kind="file"
        )


def _read_signature_file(root: Path) -> bytes:
    path = root / SIGNATURE_FILE
    if not path.is_file():
        raise BundleFault(SIGNATURE_FILE, "missing (签名文件缺失)", kind="signature")
    try:
        text = path.read_bytes().decode("ascii")
        signature = _strict_b64decode(text[:-1] if text.endswith("\n") else text)
    except (UnicodeDecodeError, ValueError):
        raise BundleFault(
            SIGNATURE_FILE, "not one line of canonical base64 (格式错误)", kind="signature"
        ) from None
    if len(signature) != 64:
        raise BundleFault(
            SIGNATURE_FILE, "not a 64-byte Ed25519 signature (格式错误)", kind="signature"
        )
    return signature


# ---------------------------------------------------------------------------
# Ledger and trial balance
# ---------------------------------------------------------------------------


def _read_csv(path: Path, file: str, required: tuple[str, ...]):
    """Yield ``(line number, row dict)`` from a UTF-8 (BOM optional) RFC 4180 file."""
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, strict=True)
            header = next(reader, None)
            if header is None:
                raise BundleFault(file, "empty file, no header (空文件)", line=1)
            missing = [name for name in required if name not in header]
            if missing or len(set(header)) != len(header):
                raise BundleFault(
                    file,
                    f"header lacks {', '.join(missing) or '-'} or repeats a column (表头错误)",
                    line=1,
                )
            for record in reader:
                if not record:
                    continue
                if len(record) != len(header):
                    raise BundleFault(
                        file,
                        f"{len(record)} fields, the header has {len(header)} (列数不符)",
                        line=reader.line_num,
                    )
                yield reader.line_num, dict(zip(header, record, strict=True))
    except UnicodeDecodeError:
        raise BundleFault(file, "not valid UTF-8 (编码错误)") from None
    except csv.Error as exc:
        raise BundleFault(file, f"malformed CSV: {exc} (格式错误)") from None


def _fen(row: dict, column: str, file: str, line: int, *, negative_ok: bool = False) -> int:
    """An integer amount in fen; an empty cell is 0, a leading ' (spreadsheet guard) is dropped."""
    text = row[column]
    text = text[1:] if text.startswith("'") else text
    if text == "":
        return 0
    if not _INT.fullmatch(text) or (text.startswith("-") and not negative_ok):
        raise BundleFault(
            file,
            f"{column} {row[column]!r} is not an integer number of fen (金额格式错误)",
            line=line,
            kind="ledger",
        )
    return int(text)


def _load_transfers(path: Path) -> dict:
    transfers = {}
    for line, row in _read_csv(
        path, TRANSFERS_FILE, ("id", "from_account", "to_account", "amount_fen")
    ):
        tid = row["id"]
        where = f"transfer {tid}"
        if not tid or tid in transfers:
            raise BundleFault(
                TRANSFERS_FILE,
                "empty or repeated id (编号重复)",
                line=line,
                where=where,
                kind="ledger",
            )
        amount = _fen(row, "amount_fen", TRANSFERS_FILE, line)
        source, target = row["from_account"], row["to_account"]
        if amount <= 0 or not source or not target or source == target:
            raise BundleFault(
                TRANSFERS_FILE,
                "amount must be positive and the accounts distinct (转账无效)",
                line=line,
                where=where,
                kind="ledger",
            )
        transfers[tid] = {
            "line": line,
            "from": row["from_account"],
            "to": row["to_account"],
            "amount": amount,
            "debit": None,
            "credit": None,
        }
    return transfers


def _check_ledger(path: Path, transfers: dict, report: Report) -> dict:
    """Match every entry to its transfer's leg; return {account: [debits, credits]}."""
    accounts: dict[str, list[int]] = {}
    for line, row in _read_csv(
        path, ENTRIES_FILE, ("transfer_id", "account", "debit_fen", "credit_fen")
    ):
        tid, account = row["transfer_id"], row["account"]
        debit = _fen(row, "debit_fen", ENTRIES_FILE, line)
        credit = _fen(row, "credit_fen", ENTRIES_FILE, line)
        where = f"transfer {tid}"
        transfer = transfers.get(tid)
        if transfer is None:
            raise BundleFault(
                ENTRIES_FILE,
                f"transfer {tid} is not in {TRANSFERS_FILE} (无对应转账)",
                line=line,
                kind="ledger",
            )
        if (debit == 0) == (credit == 0):
            raise BundleFault(
                ENTRIES_FILE,
                "an entry needs exactly one of debit_fen, credit_fen (借贷方向错误)",
                line=line,
                where=where,
                kind="ledger",
            )
        leg, expected_account = ("debit", "from") if debit else ("credit", "to")
        amount = debit or credit
        if transfer[leg] is not None:
            raise BundleFault(
                ENTRIES_FILE,
                f"second {leg} entry for the transfer (重复分录)",
                line=line,
                where=where,
                kind="ledger",
            )
        if account != transfer[expected_account] or amount != transfer["amount"]:
            raise BundleFault(
                ENTRIES_FILE,
                f"{leg} of {amount} fen on {account} does not match "
                f"{TRANSFERS_FILE} line {transfer['line']} ({transfer['amount']} "
                f"fen from {transfer['from']} to {transfer['to']}) (分录与转账不符)",
                line=line,
                where=where,
                kind="ledger",
            )
        transfer[leg] = line
        totals = accounts.setdefault(account, [0, 0])
        totals[0 if debit else 1] += amount
        report.entries += 1
        report.debits_fen += debit
        report.credits_fen += credit
    for tid, transfer in transfers.items():
        for leg in ("debit", "credit"):
            if transfer[leg] is None:
                raise BundleFault(
                    ENTRIES_FILE,
                    f"no {leg} entry for transfer {tid} "
                    f"({TRANSFERS_FILE} line {transfer['line']}) (缺少分录)",
                    kind="ledger",
                )
    report.transfers = len(transfers)
    return accounts


def _check_totals(manifest: dict, report: Report) -> None:
    totals = manifest["ledger_totals"]
    if report.debits_fen != report.credits_fen:
        raise BundleFault(
            ENTRIES_FILE,
            f"debits {report.debits_fen} ≠ credits {report.credits_fen} fen (借贷不平)",
            kind="ledger",
        )
    if (report.debits_fen, report.credits_fen) != (totals["debits_fen"], totals["credits_fen"]):
        raise BundleFault(
            ENTRIES_FILE,
            f"totals {report.debits_fen}/{report.credits_fen} fen "
            f"differ from manifest.json ledger_totals {totals['debits_fen']}/"
            f"{totals['credits_fen']} (合计与清单不符)",
            kind="ledger",
        )


def _check_trial_balance(path: Path, accounts: dict, report: Report) -> int:
    """Compare every row with the entries; return the number of records read."""
    file, seen, total_line, records = TRIAL_BALANCE_FILE, set(), None, 0
    for line, row in _read_csv(path, file, ("code", "debits_fen", "credits_fen", "balance_fen")):
        records += 1
        code = row["code"]
        if total_line is not None:
            raise BundleFault(
                file,
                f"row after the {TOTAL_ROW} row (合计行须在最后)",
                line=line,
                kind="trial_balance",
            )
        debits = _fen(row, "debits_fen", file, line)
        credits = _fen(row, "credits_fen", file, line)
        balance = _fen(row, "balance_fen", file, line, negative_ok=True)
        if balance != credits - debits:
            raise BundleFault(
                file,
                "balance_fen ≠ credits_fen − debits_fen (余额计算错误)",
                line=line,
                where=code,
                kind="trial_balance",
            )
        if code == TOTAL_ROW:
            expected, total_line = (report.debits_fen, report.credits_fen), line
        elif code in seen or not code:
            raise BundleFault(
                file,
                "empty or repeated account code (科目重复)",
                line=line,
                where=code,
                kind="trial_balance",
            )
        else:
            seen.add(code)
            expected = tuple(accounts.get(code, (0, 0)))
        if (debits, credits) != expected:
            raise BundleFault(
                file,
                f"debits/credits {debits}/{credits} fen, but "
                f"{ENTRIES_FILE} gives {expected[0]}/{expected[1]} (与分录不符)",
                line=line,
                where=code,
                kind="trial_balance",
            )
        if balance < 0 and code not in (WORLD_ACCOUNT, TOTAL_ROW):
            raise BundleFault(
                file,
                f"negative balance {balance} fen (余额为负)",
                line=line,
                where=code,
                kind="trial_balance",
            )
    if total_line is None:
        raise BundleFault(file, f"no final {TOTAL_ROW} row (缺少合计行)", kind="trial_balance")
    missing = sorted(accounts.keys() - seen)
    if missing:
        code = missing[0]
        raise BundleFault(
            file,
            f"account {code} has entries in {ENTRIES_FILE} but no row (缺少科目)",
            kind="trial_balance",
        )
    report.accounts = len(seen)
    return records


# ---------------------------------------------------------------------------
# The whole bundle
# ---------------------------------------------------------------------------


def _read_checkpoint(root: Path, public_key: bytes | None) -> dict:
    path = root / CHECKPOINT_FILE
    if not path.is_file():
        raise BundleFault(CHECKPOINT_FILE, "missing (检查点缺失)", kind="checkpoint")
    try:
        checkpoint = parse_checkpoint(path.read_bytes())
    except CheckpointFormatError as exc:
        raise BundleFault(
            CHECKPOINT_FILE, f"{exc} (格式错误)", line=exc.line, kind="checkpoint"
        ) from None
    if public_key is not None and not ed25519_verify(
        public_key, checkpoint["signed_bytes"], checkpoint["signature"]
    ):
        raise BundleFault(
            CHECKPOINT_FILE,
            "signature does not verify with the given public key (签名无效)",
            line=4,
            kind="signature",
        )
    return checkpoint


def _check_chain(root: Path, manifest: dict, checkpoint: dict, report: Report) -> None:
    chain, cp_seq = manifest["chain"], checkpoint["seq"]
    first_seq, first_prev = chain["first_seq"], chain["first_prev_hash"]
    if first_seq is not None and (first_seq == 1) != (first_prev == GENESIS_HASH):
        raise _manifest_fault("chain.first_prev_hash must be the genesis hash iff first_seq is 1")
    with (root / EVENTS_FILE).open("rb") as fh:
        walk = _walk_chain(fh, first_prev, first_seq=first_seq, watch_seq=cp_seq)
    _check_rows(manifest["files"], EVENTS_FILE, walk["count"])
    if (walk["first_seq"], walk["last_seq"]) != (first_seq, chain["last_seq"]):
        raise BundleFault(
            EVENTS_FILE,
            f"holds seq {walk['first_seq']}–{walk['last_seq']}, "
            f"manifest.json chain says {first_seq}–{chain['last_seq']} "
            "(范围与清单不符)",
            kind="head_mismatch",
        )
    if walk["head_hash"] != chain["head_hash"]:
        raise BundleFault(
            EVENTS_FILE,
            "head mismatch — last hash differs from manifest.json chain.head_hash (链头与清单不符)",
            line=walk["count"] or None,
            where=f"seq {walk['last_seq']}",
            kind="head_mismatch",
        )
    if walk["watched_hash"] is None and first_seq is not None and cp_seq == first_seq - 1:
        walk["watched_hash"] = first_prev
    if walk["watched_hash"] is not None:
        if walk["watched_hash"] != checkpoint["head_hash"]:
            place = f"seq {cp_seq}"
            if first_seq is not None and cp_seq >= first_seq:
                place = f"line {cp_seq - first_seq + 1} ({place})"
            raise BundleFault(
                CHECKPOINT_FILE,
                f"head_hash is not the hash of {EVENTS_FILE} {place} (检查点与审计链不符)",
                line=2,
                where=f"seq {cp_seq}",
                kind="checkpoint",
            )
        report.checkpoint_compared = True
    report.events, report.first_seq, report.last_seq = walk["count"], first_seq, walk["last_seq"]
    report.head_hash, report.checkpoint_seq = walk["head_hash"], cp_seq


def verify_directory(path, pubkey_bytes: bytes | None = None) -> Report:
    """Verify an unzipped bundle; return a Report, or raise BundleFault at the first fault.

    Order: manifest signature (with a key), manifest, inventory, checkpoint,
    chain, ledger, trial balance, then every file's size and sha256 — content
    checks come before digests so a tampered file is reported at its place.
    """
    root = Path(path)
    report = Report(directory=str(root.resolve()))
    manifest_path = root / MANIFEST_FILE
    if not manifest_path.is_file():
        raise BundleFault(
            MANIFEST_FILE, "missing — not an audit bundle folder (清单缺失)", kind="manifest"
        )
    manifest_bytes = manifest_path.read_bytes()
    signature = _read_signature_file(root)
    if pubkey_bytes is not None:
        pubkey_bytes = _checked_key(bytes(pubkey_bytes))
        if not ed25519_verify(pubkey_bytes, manifest_bytes, signature):
            raise BundleFault(
                SIGNATURE_FILE,
                "signature over manifest.json does not verify with the given public key (签名无效)",
                kind="signature",
            )
        report.signatures_checked = True
        report.key_fingerprint = key_fingerprint(pubkey_bytes)
    manifest = _load_manifest(manifest_bytes)
    files = manifest["files"]
    _check_inventory(root, files, report)
    checkpoint = _read_checkpoint(root, pubkey_bytes)
    _check_chain(root, manifest, checkpoint, report)
    transfers = _load_transfers(root / TRANSFERS_FILE)
    _check_rows(files, TRANSFERS_FILE, len(transfers))
    accounts = _check_ledger(root / ENTRIES_FILE, transfers, report)
    _check_rows(files, ENTRIES_FILE, report.entries)
    _check_totals(manifest, report)
    _check_rows(
        files, TRIAL_BALANCE_FILE, _check_trial_balance(root / TRIAL_BALANCE_FILE, accounts, report)
    )
    _check_digests(root, files)
    report.files = len(files)
    return report


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when the bundle verifies, 1 at the first fault, 2 on a usage error."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")
    parser = argparse.ArgumentParser(
        prog="verify_bundle.py",
        description="Verify an unzipped audit bundle (校验审计包). "
        "Exit 0 = OK, 1 = fault, 2 = usage error.",
    )
    parser.add_argument("--dir", default=".", help="the bundle folder (default: current folder)")
    parser.add_argument(
        "--pubkey", metavar="FILE", help="Ed25519 public key: PEM, hex or base64 (公钥文件)"
    )
    args = parser.parse_args(argv)
    root = Path(args.dir)
    if not (root / MANIFEST_FILE).is_file():
        parser.print_usage(sys.stderr)
        print(
            f"verify_bundle.py: error: no {MANIFEST_FILE} in {root} — run from the bundle "
            "folder or pass --dir (找不到清单)",
            file=sys.stderr,
        )
        return 2
    public_key = None
    if args.pubkey:
        try:
            public_key = load_public_key(Path(args.pubkey).read_bytes())
        except (OSError, ValueError) as exc:
            print(
                f"verify_bundle.py: error: --pubkey {args.pubkey}: {exc} (公钥无法读取)",
                file=sys.stderr,
            )
            return 2
    try:
        report = verify_directory(root, public_key)
    except BundleFault as fault:
        print(f"FAIL 未通过: {fault}")
        return 1
    except OSError as exc:
        print(f"FAIL 未通过: {exc.filename or root}: cannot be read: {exc.strerror} (无法读取)")
        return 1
    for line in report.summary_lines():
        print(line)
    print("OK 通过")
    return 0


if __name__ == "__main__":
    sys.exit(main())
