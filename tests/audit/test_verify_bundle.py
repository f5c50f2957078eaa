"""The standalone bundle verifier: chain hashes, Ed25519, and whole bundles.

The module is loaded from its file, not through the ``app`` package, because
auditors run it on its own; the subprocess tests run it with ``-I -S``.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.util
import io
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

SCRIPT = Path(__file__).resolve().parents[2] / "app" / "audit" / "verify_bundle.py"


def _load_module():
    spec = importlib.util.spec_from_file_location("verify_bundle_standalone", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


vb = _load_module()


def _vectors_path() -> Path:
    beside = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "audit-chain.json"
    if beside.is_file():
        return beside
    shared = os.environ.get("SHARED_DIR")
    if shared and (Path(shared) / "vectors" / "audit-chain.json").is_file():
        return Path(shared) / "vectors" / "audit-chain.json"
    # A copy kept in the repo, so a clone anywhere still checks the golden vectors.
    return Path(__file__).with_name("audit-chain.json")


# ---------------------------------------------------------------------------
# Golden vectors
# ---------------------------------------------------------------------------


def test_golden_vectors_reproduce_every_hash():
    data = json.loads(_vectors_path().read_text(encoding="utf-8"))
    assert bytes.fromhex(data["prefix_hex"]) == vb.HASH_PREFIX
    assert data["genesis_prev_hash"] == vb.GENESIS_HASH
    prev = vb.GENESIS_HASH
    for vector in data["vectors"]:
        assert vector["prev_hash"] == prev
        assert vb.canonical_json(vector["event"]) == vector["canonical_json"].encode("utf-8")
        assert vb.event_hash(prev, vector["event"]) == vector["hash"]
        prev = vector["hash"]
    lines = [
        json.dumps({**v["event"], "prev_hash": v["prev_hash"], "hash": v["hash"]})
        for v in data["vectors"]
    ]
    assert vb.verify_chain_lines(lines, vb.GENESIS_HASH) == (len(lines), prev)


def test_canonical_json_composes_nfc_and_refuses_floats():
    event = {"seq": 1, "reason": "cafe\u0301"}
    assert "café".encode() in vb.canonical_json(event)
    with pytest.raises(TypeError):
        vb.canonical_json({"seq": 1, "after": {"score": 8.5}})


# ---------------------------------------------------------------------------
# Ed25519
# ---------------------------------------------------------------------------

RFC8032_VECTORS = [  # RFC 8032, section 7.1, tests 1-3: secret, public, message, signature
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _pem_public(key) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032_VECTORS)
def test_rfc8032_vectors(secret, public, message, signature):
    public, message, signature = map(bytes.fromhex, (public, message, signature))
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret))
    assert _raw_public(key) == public
    assert key.sign(message) == signature
    assert vb.ed25519_verify(public, message, signature)
    assert not vb.ed25519_verify(public, message + b"x", signature)
    assert not vb.ed25519_verify(_raw_public(Ed25519PrivateKey.generate()), message, signature)


@settings(max_examples=25, deadline=None, database=None)
@given(message=st.binary(max_size=300), seed=st.binary(min_size=32, max_size=32))
def test_random_signatures_agree_with_cryptography(message, seed):
    key = Ed25519PrivateKey.from_private_bytes(seed)
    public, signature = _raw_public(key), key.sign(message)
    assert vb.ed25519_verify(public, message, signature)
    for index in (0, 31, 32, 63):  # R and S halves
        bad = bytearray(signature)
        bad[index] ^= 0x01
        assert not vb.ed25519_verify(public, message, bytes(bad))
    assert not vb.ed25519_verify(_raw_public(Ed25519PrivateKey.generate()), message, signature)


def test_malformed_signatures_and_keys_are_rejected_not_raised():
    _, public, message, signature = map(bytes.fromhex, RFC8032_VECTORS[1])
    s = int.from_bytes(signature[32:], "little") + vb._L  # same point equation, non-canonical S
    assert not vb.ed25519_verify(public, message, signature[:32] + s.to_bytes(32, "little"))
    assert not vb.ed25519_verify(public, message, signature[:63])
    assert not vb.ed25519_verify(public[:31], message, signature)
    not_a_point = (2).to_bytes(32, "little")  # y = 2 has no x on the curve
    assert vb._decode_point(not_a_point) is None
    assert not vb.ed25519_verify(not_a_point, message, signature)


def test_public_key_formats():
    key = Ed25519PrivateKey.generate()
    raw = _raw_public(key)
    pem = _pem_public(key)
    assert vb.load_public_key_pem(pem.decode()) == raw
    assert vb.load_public_key(pem) == raw
    assert vb.load_public_key(raw.hex().encode() + b"\n") == raw
    assert vb.load_public_key(base64.b64encode(raw) + b"\n") == raw
    assert vb.load_public_key(raw) == raw
    with pytest.raises(ValueError, match="Ed25519"):
        vb.load_public_key_pem(_pem_public(X25519PrivateKey.generate()).decode())
    with pytest.raises(ValueError):
        vb.load_public_key(b"not a key")


# ---------------------------------------------------------------------------
# Checkpoint format
# ---------------------------------------------------------------------------

SIGNED_AT = "2015-08-01T00:00:00.000000Z"


def test_checkpoint_round_trip_and_exact_bytes():
    head = "ab" * 32
    signed = vb.format_checkpoint(17, head, SIGNED_AT)
    assert signed == f"seq=17\nhead_hash={head}\nsigned_at={SIGNED_AT}\n".encode()
    text = vb.format_checkpoint_file(17, head, SIGNED_AT, bytes(64))
    assert text == signed + b"signature=" + base64.b64encode(bytes(64)) + b"\n"
    parsed = vb.parse_checkpoint(text.decode())
    assert parsed == {
        "seq": 17,
        "head_hash": head,
        "signed_at": SIGNED_AT,
        "signature": bytes(64),
        "signed_bytes": signed,
    }
    assert vb.parse_checkpoint(text.rstrip(b"\n")) == parsed


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("seq=017\nhead_hash={h}\nsigned_at={t}\nsignature={s}\n", 1),
        ("head_hash={h}\nseq=17\nsigned_at={t}\nsignature={s}\n", 1),
        ("seq=17\nhead_hash={H}\nsigned_at={t}\nsignature={s}\n", 2),
        ("seq=17\nhead_hash={h}\nsigned_at=2015-08-01 00:00\nsignature={s}\n", 3),
        ("seq=17\nhead_hash={h}\nsigned_at={t}\nsignature={s}x\n", 4),
        ("seq=17\nhead_hash={h}\nsigned_at={t}\nsignature={s}\n\n", 5),
        ("seq=17\nhead_hash={h}\nsigned_at={t}\n", 4),
    ],
)
def test_checkpoint_parser_is_strict(text, line):
    text = text.format(
        h="ab" * 32, H="AB" * 32, t=SIGNED_AT, s=base64.b64encode(bytes(64)).decode()
    )
    with pytest.raises(vb.CheckpointFormatError) as caught:
        vb.parse_checkpoint(text)
    assert caught.value.line == line


def test_checkpoint_refuses_non_canonical_base64():
    good = base64.b64encode(bytes(64)).decode()  # ends "AA=="; "AB==" decodes the same
    bad = good[:-3] + "B=="
    assert base64.b64decode(bad) == bytes(64)
    text = vb.format_checkpoint(1, "ab" * 32, SIGNED_AT).decode() + f"signature={bad}\n"
    with pytest.raises(vb.CheckpointFormatError):
        vb.parse_checkpoint(text)


# ---------------------------------------------------------------------------
# A synthetic bundle
# ---------------------------------------------------------------------------

TRANSFERS = [  # id, code, from, to, amount_fen, voucher
    (1, "APPROPRIATE", "world:appropriation", "fund:1:available", 500_000_000, ""),
    (2, "RESERVE", "fund:1:available", "call:1:available", 300_000_000, ""),
    (3, "COMMIT", "call:1:available", "grant:12:committed", 12_000_000, ""),
    (4, "RELEASE", "grant:12:committed", "grant:12:payable", 6_000_000, ""),
    (5, "DISBURSE", "grant:12:payable", "grant:12:disbursed", 6_000_000, "记-2015-031"),
]
CHECKPOINT_SEQ = 5


def make_events(count: int = 8) -> list[dict]:
    """A chain from genesis whose payloads use Chinese, nesting, nulls and decimal strings."""
    events, prev = [], vb.GENESIS_HASH
    for seq in range(1, count + 1):
        event = {
            "seq": seq,
            "occurred_at": f"2015-07-01T02:00:{seq:02d}.000000Z",
            "actor_id": seq % 3 + 1,
            "actor_role": ["officer", "approver", "finance"][seq % 3],
            "org_id": 1,
            "ip": "10.0.0.8",
            "user_agent": "Mozilla/5.0",
            "request_id": f"req-{seq}",
            "action": "ledger.transfer" if seq <= len(TRANSFERS) else "review.submit",
            "entity_type": "transfer",
            "entity_id": str(seq),
            "before": None if seq % 2 else {"state": "draft"},
            "after": {"state": "done", "amount_fen": seq * 100, "scores": {"team": "8.5"}},
            "reason": "经学会部集体研究" if seq % 2 else None,
        }
        event["prev_hash"], event["hash"] = prev, vb.event_hash(prev, event)
        prev = event["hash"]
        events.append(event)
    return events


def _csv_bytes(header: list[str], rows: list[list]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _ledger_files(transfers) -> dict[str, bytes]:
    entries, balances = [], {}
    for tid, _code, source, target, amount, _voucher in transfers:
        entries += [[tid, source, amount, 0], [tid, target, 0, amount]]
        balances.setdefault(source, [0, 0])[0] += amount
        balances.setdefault(target, [0, 0])[1] += amount
    total = sum(t[4] for t in transfers)
    trial = [[code, d, c, c - d] for code, (d, c) in sorted(balances.items())]
    trial.append(["TOTAL", total, total, 0])
    transfer_header = ["id", "code", "from_account", "to_account", "amount_fen"]
    transfer_header += ["idempotency_key", "occurred_at", "voucher_no"]
    return {
        "ledger_transfers.csv": _csv_bytes(
            transfer_header,
            [
                [tid, code, s, t, a, f"key-{tid}", f"2015-07-0{tid}T00:00:00.000000Z", v]
                for tid, code, s, t, a, v in transfers
            ],
        ),
        "ledger_entries.csv": _csv_bytes(
            ["transfer_id", "account", "debit_fen", "credit_fen"], entries
        ),
        "trial_balance.csv": _csv_bytes(
            ["code", "debits_fen", "credits_fen", "balance_fen"], trial
        ),
    }


def _jsonl(events) -> bytes:
    return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events).encode("utf-8")


def _records(name: str, data: bytes) -> int:
    if name.endswith(".jsonl"):
        return data.count(b"\n")
    return sum(1 for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) if row) - 1


def write_manifest(root: Path, key: Ed25519PrivateKey, *, events=None, totals=None) -> None:
    """(Re)write manifest.json from the files on disk and sign it, as the app would."""
    if events is None:
        lines = (root / "audit_events.jsonl").read_text(encoding="utf-8").splitlines()
        events = [json.loads(line) for line in lines]
    if totals is None:
        entries = list(
            csv.DictReader(io.StringIO((root / "ledger_entries.csv").read_text("utf-8-sig")))
        )
        totals = [sum(int(e[c]) for e in entries) for c in ("debit_fen", "credit_fen")]
    files = {}
    for path in sorted(root.iterdir()):
        if path.name in ("manifest.json", "manifest.sig", "checkpoint.txt", "verify_bundle.py"):
            continue
        data = path.read_bytes()
        meta = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "rows": None}
        if path.suffix in (".csv", ".jsonl"):
            meta["rows"] = _records(path.name, data)
        files[path.name] = meta
    manifest = {
        "schema_version": 1,
        "app_version": "0.1.0",
        "generated_at": "2015-08-02T00:00:00.000000Z",
        "generated_by": 7,
        "filters": {},
        "database": "sqlite",
        "chain": {
            "first_seq": events[0]["seq"],
            "last_seq": events[-1]["seq"],
            "first_prev_hash": events[0]["prev_hash"],
            "head_hash": events[-1]["hash"],
        },
        "ledger_totals": {"debits_fen": totals[0], "credits_fen": totals[1]},
        "files": files,
    }
    data = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
    (root / "manifest.json").write_bytes(data)
    (root / "manifest.sig").write_text(base64.b64encode(key.sign(data)).decode() + "\n")


def write_checkpoint(root: Path, key, seq: int, head_hash: str) -> None:
    signed = vb.format_checkpoint(seq, head_hash, SIGNED_AT)
    (root / "checkpoint.txt").write_bytes(
        vb.format_checkpoint_file(seq, head_hash, SIGNED_AT, key.sign(signed))
    )


def build_bundle(root: Path, key, *, events=None, transfers=TRANSFERS) -> Path:
    """An unzipped bundle: chain, ledger, an extra CSV and xlsx, manifest, signature, checkpoint."""
    root.mkdir(parents=True, exist_ok=True)
    events = make_events() if events is None else events
    (root / "audit_events.jsonl").write_bytes(_jsonl(events))
    for name, data in _ledger_files(transfers).items():
        (root / name).write_bytes(data)
    (root / "applications.csv").write_bytes(
        _csv_bytes(["id", "title", "state"], [[1, "乡村科技服务站", "submitted"]])
    )
    (root / "awards.xlsx").write_bytes(b"PK\x03\x04" + bytes(range(256)))
    write_manifest(root, key, events=events)
    cp = events[CHECKPOINT_SEQ - events[0]["seq"]]
    write_checkpoint(root, key, cp["seq"], cp["hash"])
    return root


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def bundle(tmp_path, key) -> Path:
    return build_bundle(tmp_path / "bundle", key)


def _fault(root: Path, public_key: bytes | None) -> vb.BundleFault:
    with pytest.raises(vb.BundleFault) as caught:
        vb.verify_directory(root, public_key)
    return caught.value


def _rewrite_lines(root: Path, change) -> None:
    path = root / "audit_events.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(change(lines)), encoding="utf-8")


# ---------------------------------------------------------------------------
# Whole bundles
# ---------------------------------------------------------------------------


def test_bundle_passes_with_the_key(bundle, key):
    report = vb.verify_directory(bundle, _raw_public(key))
    assert (report.events, report.first_seq, report.last_seq) == (8, 1, 8)
    assert report.checkpoint_compared and report.checkpoint_seq == CHECKPOINT_SEQ
    assert report.transfers == 5 and report.entries == 10 and report.accounts == 6
    assert report.debits_fen == report.credits_fen == sum(t[4] for t in TRANSFERS)
    assert report.signatures_checked
    assert report.files == 6


def test_bundle_passes_without_a_key_but_says_so(bundle):
    report = vb.verify_directory(bundle)
    assert not report.signatures_checked
    assert any("NOT checked" in line for line in report.summary_lines())


def test_bundle_starting_after_genesis_passes(tmp_path, key):
    events = make_events(10)[3:]
    root = build_bundle(tmp_path / "b", key, events=events)
    report = vb.verify_directory(root, _raw_public(key))
    assert (report.first_seq, report.last_seq, report.events) == (4, 10, 7)
    write_checkpoint(root, key, 3, events[0]["prev_hash"])  # just before the range
    assert vb.verify_directory(root, _raw_public(key)).checkpoint_compared
    write_checkpoint(root, key, 3, events[0]["hash"])
    assert _fault(root, _raw_public(key)).kind == "checkpoint"


DATA_FILES = [
    "audit_events.jsonl",
    "ledger_transfers.csv",
    "ledger_entries.csv",
    "trial_balance.csv",
    "applications.csv",
    "awards.xlsx",
]
SIGNATURE_FILES = ["manifest.json", "manifest.sig", "checkpoint.txt"]


def _flip_each(root: Path, name: str, positions, masks, public: bytes | None) -> None:
    original = (root / name).read_bytes()
    for position in positions:
        for mask in masks:
            data = bytearray(original)
            data[position] ^= mask
            (root / name).write_bytes(bytes(data))
            fault = _fault(root, public)
            assert name in str(fault), (position, mask, str(fault))
    (root / name).write_bytes(original)
    vb.verify_directory(root, public)


@pytest.mark.parametrize("name", DATA_FILES)
def test_flipping_every_byte_of_a_data_file_fails_naming_it(tmp_path, key, name):
    # No key needed: the manifest's digests and the content checks catch all of them.
    root = build_bundle(tmp_path / "b", key)
    size = (root / name).stat().st_size
    _flip_each(root, name, range(size), (0x01,), None)
    rng = random.Random(name)
    _flip_each(root, name, rng.sample(range(size), 8), (0x80, rng.randrange(2, 256)), None)


@pytest.mark.parametrize("name", SIGNATURE_FILES)
def test_flipping_bytes_of_signed_files_fails_naming_them(tmp_path, key, name):
    root = build_bundle(tmp_path / "b", key)
    size = (root / name).stat().st_size
    rng = random.Random(name)
    positions = sorted({0, size - 1, size // 2, *rng.sample(range(size), 20)})
    _flip_each(root, name, positions, (0x01, 0x80, rng.randrange(2, 256)), _raw_public(key))


@pytest.mark.parametrize("reseal", [False, True])
def test_removed_line_is_a_gap(bundle, key, reseal):
    _rewrite_lines(bundle, lambda lines: lines[:3] + lines[4:])
    if reseal:  # digests rewritten too: the chain alone must catch it
        write_manifest(bundle, key)
    fault = _fault(bundle, _raw_public(key))
    assert fault.kind == "gap"
    assert str(fault).startswith("audit_events.jsonl line 4 (seq 5): expected seq 4, found seq 5")


def test_swapped_lines_are_detected(bundle, key):
    _rewrite_lines(bundle, lambda lines: lines[:2] + [lines[3], lines[2]] + lines[4:])
    write_manifest(bundle, key)
    fault = _fault(bundle, _raw_public(key))
    assert (fault.kind, fault.line) == ("gap", 3)
    assert "expected seq 3, found seq 4" in str(fault)


def _alter_after(lines, index, *, rehash):
    event = json.loads(lines[index])
    event["after"]["amount_fen"] += 1
    if rehash:
        event["hash"] = vb.event_hash(event["prev_hash"], event)
    lines[index] = json.dumps(event, ensure_ascii=False) + "\n"
    return lines


FORGERIES = {
    "before": {"state": "approved"},
    "after": {"state": "done", "amount_fen": 999},
    "reason": "经学会部集体研究",
    "occurred_at": "2016-01-01T00:00:00.000000Z",
}


@pytest.mark.parametrize(("field", "value"), FORGERIES.items())
def test_altered_field_is_an_altered_row(bundle, key, field, value):
    def change(lines):
        event = json.loads(lines[5])
        event[field] = value
        lines[5] = json.dumps(event, ensure_ascii=False) + "\n"
        return lines

    _rewrite_lines(bundle, change)
    write_manifest(bundle, key)  # even with matching digests and a valid signature
    fault = _fault(bundle, _raw_public(key))
    assert fault.kind == "altered_row"
    expected = "audit_events.jsonl line 6 (seq 6): altered row — hash mismatch (内容被篡改)"
    assert str(fault) == expected


def test_rehashed_row_breaks_the_next_link(bundle, key):
    _rewrite_lines(bundle, lambda lines: _alter_after(lines, 5, rehash=True))
    fault = _fault(bundle, None)
    assert (fault.kind, fault.line, fault.where) == ("broken_link", 7, "seq 7")


def test_rehashed_tail_is_a_head_mismatch(bundle, key):
    events = make_events()
    events[6]["after"]["amount_fen"] = 1
    for index in range(6, len(events)):
        events[index]["prev_hash"] = events[index - 1]["hash"]
        events[index]["hash"] = vb.event_hash(events[index]["prev_hash"], events[index])
    (bundle / "audit_events.jsonl").write_bytes(_jsonl(events))
    fault = _fault(bundle, None)
    assert fault.kind == "head_mismatch" and fault.file == "audit_events.jsonl"


def test_duplicate_key_in_a_line_is_refused(bundle):
    _rewrite_lines(bundle, lambda lines: lines[:1] + [lines[1][:-2] + ',"seq":2}\n'] + lines[2:])
    fault = _fault(bundle, None)
    assert fault.line == 2 and "duplicate key" in str(fault)


def test_forged_checkpoint_signature(bundle, key):
    events = make_events()
    write_checkpoint(bundle, Ed25519PrivateKey.generate(), 3, events[2]["hash"])
    fault = _fault(bundle, _raw_public(key))
    assert fault.kind == "signature" and fault.file == "checkpoint.txt"


@pytest.mark.parametrize("public", [True, False])
def test_checkpoint_that_disagrees_with_the_chain(bundle, key, public):
    write_checkpoint(bundle, key, 6, make_events()[2]["hash"])  # a real hash, wrong seq
    fault = _fault(bundle, _raw_public(key) if public else None)
    assert fault.kind == "checkpoint"
    assert "audit_events.jsonl line 6 (seq 6)" in str(fault)
    assert str(fault).startswith("checkpoint.txt line 2 (seq 6)")


def test_checkpoint_outside_the_range_is_noted_not_compared(tmp_path, key):
    root = build_bundle(tmp_path / "b", key)
    write_checkpoint(root, key, 99, "cd" * 32)
    report = vb.verify_directory(root, _raw_public(key))
    assert not report.checkpoint_compared
    assert any("not compared" in line for line in report.summary_lines())


def test_wrong_public_key(bundle):
    fault = _fault(bundle, _raw_public(Ed25519PrivateKey.generate()))
    assert fault.kind == "signature"
    assert str(fault).startswith("manifest.sig: signature over manifest.json does not verify")


def test_resealed_manifest_needs_the_real_key(bundle, key):
    _rewrite_lines(bundle, lambda lines: lines[:-1])
    write_manifest(bundle, Ed25519PrivateKey.generate())
    assert _fault(bundle, _raw_public(key)).file == "manifest.sig"
    vb.verify_directory(bundle)  # consistent, only the signature can tell


def test_extra_unlisted_file(bundle, key):
    (bundle / "notes.txt").write_text("hi")
    fault = _fault(bundle, _raw_public(key))
    assert str(fault) == "notes.txt: unlisted file — not in manifest.json (清单外的文件)"


def test_unlisted_file_in_a_subfolder(bundle):
    (bundle / "extra").mkdir()
    (bundle / "extra" / "a.csv").write_text("x")
    assert _fault(bundle, None).file == "extra/a.csv"


def test_desktop_junk_is_ignored_and_reported(bundle):
    (bundle / ".DS_Store").write_bytes(b"\0")
    (bundle / "__MACOSX").mkdir()
    (bundle / "__MACOSX" / "._audit_events.jsonl").write_bytes(b"\0")
    report = vb.verify_directory(bundle)
    assert report.ignored == ["__MACOSX/", ".DS_Store"]


def test_missing_listed_file(bundle):
    (bundle / "awards.xlsx").unlink()
    assert str(_fault(bundle, None)).startswith("awards.xlsx: listed in manifest.json but missing")


def test_unsafe_manifest_name(bundle, key):
    manifest = json.loads((bundle / "manifest.json").read_text("utf-8"))
    manifest["files"]["../outside.csv"] = {"sha256": "0" * 64, "bytes": 0}
    (bundle / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert "unsafe file name" in str(_fault(bundle, None))


def _rewrite_csv(root: Path, name: str, change) -> None:
    rows = list(csv.reader(io.StringIO((root / name).read_text("utf-8-sig"))))
    change(rows)
    (root / name).write_bytes(_csv_bytes(rows[0], rows[1:]))


def test_unbalanced_entry(bundle, key):
    _rewrite_csv(bundle, "ledger_entries.csv", lambda rows: rows[4].__setitem__(3, "300000001"))
    write_manifest(bundle, key)
    fault = _fault(bundle, _raw_public(key))
    assert (fault.file, fault.line, fault.kind) == ("ledger_entries.csv", 5, "ledger")
    assert "ledger_transfers.csv line 3" in str(fault)


def test_missing_entry_leg(bundle, key):
    _rewrite_csv(bundle, "ledger_entries.csv", lambda rows: rows.pop(4))
    write_manifest(bundle, key)
    assert "no credit entry for transfer 2 (ledger_transfers.csv line 3)" in str(
        _fault(bundle, None)
    )


def test_ledger_totals_must_match_the_manifest(bundle, key):
    write_manifest(bundle, key, totals=[1, 1])
    fault = _fault(bundle, _raw_public(key))
    assert fault.file == "ledger_entries.csv" and "ledger_totals" in str(fault)


def test_trial_balance_row_must_match_the_entries(bundle, key):
    def change(rows):
        rows[2][1:4] = ["1", rows[2][2], str(int(rows[2][2]) - 1)]

    _rewrite_csv(bundle, "trial_balance.csv", change)
    write_manifest(bundle, key)
    fault = _fault(bundle, None)
    assert (fault.file, fault.line, fault.kind) == ("trial_balance.csv", 3, "trial_balance")


def test_trial_balance_needs_every_account_and_the_total(bundle, key):
    _rewrite_csv(bundle, "trial_balance.csv", lambda rows: rows.pop(1))
    write_manifest(bundle, key)
    assert "has entries in ledger_entries.csv but no row" in str(_fault(bundle, None))
    _rewrite_csv(bundle, "trial_balance.csv", lambda rows: rows.pop())
    write_manifest(bundle, key)
    assert "no final TOTAL row" in str(_fault(bundle, None))


def test_negative_balance_outside_world(tmp_path, key):
    overspent = [
        *TRANSFERS,
        (6, "RESERVE", "fund:1:available", "call:2:available", 200_000_001, ""),
    ]
    root = build_bundle(tmp_path / "b", key, transfers=overspent)
    fault = _fault(root, _raw_public(key))
    assert (fault.file, fault.where, fault.kind) == (
        "trial_balance.csv",
        "fund:1:available",
        "trial_balance",
    )
    assert "negative balance -1 fen" in str(fault)


# ---------------------------------------------------------------------------
# The script on its own: isolated interpreter, no site packages
# ---------------------------------------------------------------------------


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-I", "-S", "-W", "error", "verify_bundle.py", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, timeout=120, check=False)


def _out(result) -> str:
    return result.stdout.decode("utf-8")


@pytest.fixture
def standalone(bundle, key, tmp_path) -> tuple[Path, Path]:
    shutil.copy(SCRIPT, bundle / "verify_bundle.py")
    keyfile = tmp_path / "keys" / "audit_public.pem"
    keyfile.parent.mkdir()
    keyfile.write_bytes(_pem_public(key))
    return bundle, keyfile


def test_script_passes_standalone_with_the_key(standalone):
    root, keyfile = standalone
    result = _run(root, "--pubkey", str(keyfile))
    assert result.returncode == 0, result
    assert _out(result).splitlines()[-1] == "OK 通过"
    assert "verified" in _out(result) and result.stderr == b""


def test_script_without_key_says_signatures_not_checked(standalone):
    result = _run(standalone[0])
    assert result.returncode == 0
    assert "signatures were NOT checked" in _out(result)


def test_script_reports_one_line_on_a_fault(standalone):
    root, keyfile = standalone
    _rewrite_lines(root, lambda lines: _alter_after(lines, 6, rehash=False))
    result = _run(root, "--pubkey", str(keyfile))
    assert result.returncode == 1
    expected = "audit_events.jsonl line 7 (seq 7): altered row — hash mismatch (内容被篡改)"
    assert _out(result) == f"FAIL 未通过: {expected}\n"


def test_script_with_dir_from_elsewhere(standalone, tmp_path):
    root, keyfile = standalone
    command = [sys.executable, "-I", "-S", str(root / "verify_bundle.py"), "--dir", str(root)]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=120, check=False)
    assert result.returncode == 0, result


@pytest.mark.parametrize(
    "args",
    [
        ["--bogus"],
        ["--dir", "/nonexistent/bundle"],
        ["--pubkey", "/nonexistent/key.pem"],
        ["--pubkey", "BADKEY"],
    ],
)
def test_script_usage_errors_exit_2(standalone, args):
    root, _ = standalone
    if args[-1] == "BADKEY":
        bad = root.parent / "bad.pem"
        bad.write_text("not a key")
        args = ["--pubkey", str(bad)]
    result = _run(root, *args)
    assert result.returncode == 2, result
    assert result.stdout == b""
