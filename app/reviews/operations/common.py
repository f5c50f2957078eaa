"""Helpers the review operations share: refusals, locale, name normalisation, rubrics."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from flask import has_request_context
from flask_babel import get_locale
from sqlalchemy import select

from app.core.errors import NotAllowed
from app.extensions import db
from app.reviews.rubric import Rubric, load_rubric


def require(decision) -> None:
    """Raise ``NotAllowed`` with the decision's reason when it refuses."""
    if not decision:
        raise NotAllowed(decision.reason)


def lang() -> str:
    """``zh`` or ``en``: which side of the pure modules' message tables to show."""
    if not has_request_context():
        return "zh"
    return "en" if str(get_locale() or "zh_CN").startswith("en") else "zh"


def norm(text: str | None) -> str:
    """NFKC, trimmed, case-folded: how names and organisations are compared."""
    return unicodedata.normalize("NFKC", text or "").strip().casefold()


def split_terms(value) -> list[str]:
    """A list of codes or keywords from a list or a text separated by ; , 、 or spaces."""
    if value is None:
        return []
    if isinstance(value, list | tuple | set):
        items = [str(v) for v in value]
    else:
        text = unicodedata.normalize("NFKC", str(value))
        for sep in (";", ",", "、", "，", "；", "\n"):
            text = text.replace(sep, " ")
        items = text.split()
    out: list[str] = []
    for item in items:
        item = unicodedata.normalize("NFKC", item).strip()
        if item and item not in out:
            out.append(item)
    return out


@lru_cache(maxsize=32)
def _parse(content: bytes) -> Rubric:
    return load_rubric(content)


_BY_DIGEST: dict[str, Rubric] = {}  # sha256 of a snapshot's content -> its rubric


def rubric_of(snapshot_id: int, digest: str | None = None) -> Rubric:
    """The rubric of a snapshot (parsed once per process: snapshots never change).

    Only the snapshot's digest is read per call (not its content, nor a row to build),
    unless the caller read it already: the digest names the content, so the rubric kept
    for it is the right one even where an id comes back with other content (a
    rolled-back test database).
    """
    from app.calls.models import RubricSnapshot

    if digest is None:
        digest = db.session.execute(
            select(RubricSnapshot.sha256).where(RubricSnapshot.id == snapshot_id)
        ).scalar_one()
    rubric = _BY_DIGEST.get(digest)
    if rubric is None:
        snapshot = db.session.get(RubricSnapshot, snapshot_id)
        rubric = _parse(bytes(snapshot.content))
        if len(_BY_DIGEST) < 256:
            _BY_DIGEST[digest] = rubric
    return rubric
