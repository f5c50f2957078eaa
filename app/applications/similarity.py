"""Duplicate check (查重) between applications by character n-grams.

Pure Python plus numpy/scipy: plain texts in, a list of similar pairs out.

Text is normalised per character: NFKC, diacritics removed (so composed and
decomposed forms agree), case-folded, and whitespace, punctuation and control
characters dropped; each normalised character remembers the span of the
original text it came from, so copied passages are shown as the applicant
wrote them. A document is the *set* of its character n-grams (default n=3,
hashed to 64-bit integers).

Score: containment (overlap coefficient) ``|A ∩ B| / min(|A|, |B|)``, not
Jaccard. A short application pasted into a longer one, or an application
reusing most of last year's text plus new sections, has a Jaccard index
diluted by the length difference but a containment near 1, and that is exactly
what a reviewer of duplicate applications must see. Jaccard is reported too
and can be chosen with ``measure="jaccard"``.

Candidate pairs come from an inverted index (a sparse document × n-gram
matrix; its product with its transpose counts shared n-grams for every pair
that shares any), never from comparing all pairs of strings. n-grams found in
very many documents are boilerplate of the call (template headings, stock
phrases) and are left out of both the index and the scores.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from scipy import sparse

_BASE = np.uint64(0x9E3779B97F4A7C15)  # odd, so no position's weight vanishes mod 2**64
_DROP = ("P", "Z", "C")  # punctuation, separators (whitespace), control/format


@dataclass(frozen=True)
class Passage:
    """A maximal common passage, as offsets and text in each ORIGINAL document."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    a_text: str
    b_text: str
    length: int  # common characters after normalisation


@dataclass(frozen=True)
class SimilarPair:
    """Two similar documents; ``b_is_other`` when ``b_id`` is a key of ``others``."""

    a_id: Hashable
    b_id: Hashable
    b_is_other: bool
    score: float  # the measure the threshold was applied to
    containment: float
    jaccard: float
    shared: int  # distinct n-grams in common (boilerplate excluded)
    passages: tuple[Passage, ...]


@lru_cache(maxsize=65536)
def _map_char(ch: str) -> str:
    """Normalised form of one character ("" when it is dropped)."""
    decomposed = unicodedata.normalize("NFKD", ch)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    out = unicodedata.normalize("NFC", kept).casefold()
    return "".join(c for c in out if unicodedata.category(c)[0] not in _DROP)


def _codes(text: str) -> np.ndarray:
    """Code points of a string as uint32 (lone surrogates kept)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _exceptions(*texts: str) -> dict[str, str]:
    """Characters of the texts that normalisation changes, with what they become."""
    # Each distinct character is mapped once: texts share a few thousand at most.
    return {c: m for c in set().union(*texts) if (m := _map_char(c)) != c}


def normalise(text: str) -> tuple[str, np.ndarray, np.ndarray]:
    """Normalised text, and per normalised character its original [start, end)."""
    codes = _codes(text)
    exc = _exceptions(text)
    lengths = np.ones(len(codes), dtype=np.int64)
    is_mark = np.zeros(len(codes), dtype=bool)
    if exc:
        exc_codes = np.array(sorted(ord(c) for c in exc), dtype=np.uint32)
        exc_len = np.array([len(exc[chr(c)]) for c in exc_codes.tolist()], dtype=np.int64)
        exc_mark = np.array([unicodedata.combining(chr(c)) > 0 for c in exc_codes.tolist()])
        at = np.minimum(np.searchsorted(exc_codes, codes), len(exc_codes) - 1)
        hit = exc_codes[at] == codes
        lengths[hit] = exc_len[at[hit]]
        is_mark[hit] = exc_mark[at[hit]]
    starts = np.repeat(np.arange(len(codes), dtype=np.int64), lengths)
    # A combining mark maps to "" and its span joins the character before it.
    base_at = np.where(is_mark, len(codes), np.arange(len(codes)))
    next_base = np.append(np.minimum.accumulate(base_at[::-1])[::-1][1:], len(codes))
    return text.translate({ord(c): m for c, m in exc.items()}), starts, next_base[starts]


def _window_hashes(codes: np.ndarray, width: int) -> np.ndarray:
    """Polynomial hash (mod 2**64) of every window of ``width`` characters."""
    if len(codes) < width:
        return np.zeros(0, dtype=np.uint64)
    values = codes.astype(np.uint64)
    count = len(values) - width + 1
    h = np.zeros(count, dtype=np.uint64)
    for t in range(width):
        h = h * _BASE + values[t : t + count]  # wraps silently: arrays do not warn
    return h


def _gram_set(norm: str, n: int) -> np.ndarray:
    """Sorted distinct n-gram hashes of a normalised text."""
    h = np.sort(_window_hashes(_codes(norm), n))
    return h[np.append(True, h[1:] != h[:-1])] if len(h) else h


def _passages(
    a_text: str, b_text: str, min_len: int, limit: int, template: str
) -> tuple[Passage, ...]:
    """The longest maximal common substrings (>= min_len normalised characters)."""
    a_norm, a_starts, a_ends = normalise(a_text)
    b_norm, b_starts, b_ends = normalise(b_text)
    ha, hb = _window_hashes(_codes(a_norm), min_len), _window_hashes(_codes(b_norm), min_len)
    if not len(ha) or not len(hb):
        return ()
    order = np.argsort(hb, kind="stable")
    hb_sorted = hb[order]
    lo = np.searchsorted(hb_sorted, ha, "left")
    count = np.searchsorted(hb_sorted, ha, "right") - lo
    count[count > 32] = 0  # a window repeated everywhere would blow up the pairs
    total = int(count.sum())
    if not total:
        return ()
    i = np.repeat(np.arange(len(ha)), count)
    offset = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    j = order[np.repeat(lo, count) + offset]
    # Matching windows on one diagonal (i - j) with consecutive i form one passage.
    diag = i - j
    sort = np.lexsort((i, diag))
    i, diag = i[sort], diag[sort]
    new_run = np.ones(len(i), dtype=bool)
    new_run[1:] = (diag[1:] != diag[:-1]) | (i[1:] != i[:-1] + 1)
    run_start = np.nonzero(new_run)[0]
    run_last = np.append(run_start[1:], len(i)) - 1
    lengths = i[run_last] - i[run_start] + min_len
    chosen: list[Passage] = []
    used_a: list[tuple[int, int]] = []
    for r in np.argsort(-lengths, kind="stable").tolist():
        sa = int(i[run_start[r]])
        sb, length = sa - int(diag[run_start[r]]), int(lengths[r])
        piece = a_norm[sa : sa + length]
        if piece != b_norm[sb : sb + length] or (template and piece in template):
            continue  # a hash collision, or text every applicant got from the template
        if any(sa < e and s < sa + length for s, e in used_a):
            continue
        used_a.append((sa, sa + length))
        a0, a1 = int(a_starts[sa]), int(a_ends[sa + length - 1])
        b0, b1 = int(b_starts[sb]), int(b_ends[sb + length - 1])
        chosen.append(Passage(a0, a1, b0, b1, a_text[a0:a1], b_text[b0:b1], length))
        if len(chosen) == limit:
            break
    return tuple(chosen)


def find_similar(
    docs: Mapping[Hashable, str],
    others: Mapping[Hashable, str] | None = None,
    threshold: float = 0.5,
    *,
    n: int = 3,
    measure: Literal["containment", "jaccard"] = "containment",
    min_passage: int = 13,
    max_passages: int = 5,
    max_df: float = 0.05,
    min_df_cap: int = 10,
    template: str | None = None,
) -> list[SimilarPair]:
    """Find pairs of similar documents and their copied passages.

    Args:
        docs: ``{id: text}`` compared with each other (e.g. this call's applications).
        others: ``{id: text}`` compared with ``docs`` only, not with each other
            (e.g. past applications and funded projects).
        threshold: minimum score, in [0, 1]; pairs scoring at least this are returned.
        n: n-gram length in normalised characters.
        measure: ``"containment"`` (default, see the module docstring) or ``"jaccard"``.
        min_passage: shortest passage reported, in normalised characters (13
            consecutive identical characters is the usual Chinese duplicate-check rule).
        max_passages: at most this many passages per pair, longest first.
        max_df, min_df_cap: an n-gram found in more than ``max(min_df_cap,
            max_df * number of documents)`` documents is boilerplate and ignored.
        template: text given to every applicant (the application form); its
            n-grams are ignored and passages inside it are not reported.

    Returns:
        SimilarPair list, highest score first. ``a_id`` is always from ``docs``.
        Passages carry offsets and text in the original, unnormalised documents.

    Raises:
        ValueError: on a threshold outside [0, 1] or n < 1.
    """
    if not 0.0 <= threshold <= 1.0 or n < 1:
        raise ValueError("threshold must be in [0, 1] and n >= 1")
    keys = [(False, k) for k in docs] + [(True, k) for k in (others or {})]
    texts = [docs[k] for k in docs] + list((others or {}).values())
    n_docs = len(docs)
    if n_docs == 0 or len(keys) < 2:
        return []
    table = {ord(c): m for c, m in _exceptions(*texts).items()}
    sets = [_gram_set(t.translate(table), n) for t in texts]
    grams = np.concatenate(sets)
    owner = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    distinct, inverse, df = np.unique(grams, return_inverse=True, return_counts=True)
    ignored = df > max(min_df_cap, max_df * len(keys))
    template_norm = normalise(template)[0] if template else ""
    if template_norm:
        ignored |= np.isin(distinct, np.unique(_window_hashes(_codes(template_norm), n)))
    kept = ~ignored[inverse]
    sizes = np.bincount(owner[kept], minlength=len(keys))
    # Only n-grams shared by two or more documents can add to an intersection.
    index = kept & (df[inverse] >= 2)
    matrix = sparse.csr_matrix(
        (np.ones(int(index.sum()), dtype=np.int32), (owner[index], inverse[index])),
        shape=(len(keys), len(distinct)),
    )
    shared = (matrix[:n_docs] @ matrix.T).tocoo()
    row, col, common = shared.row, shared.col, shared.data.astype(np.int64)
    upper = col > row  # each docs pair once; docs × others always has col >= n_docs
    row, col, common = row[upper], col[upper], common[upper]
    smaller = np.minimum(sizes[row], sizes[col])
    containment = common / np.maximum(smaller, 1)
    jaccard = common / np.maximum(sizes[row] + sizes[col] - common, 1)
    score = containment if measure == "containment" else jaccard
    hit = np.nonzero((score >= threshold) & (common > 0))[0]
    pairs = []
    for h in hit[np.lexsort((col[hit], row[hit], -score[hit]))].tolist():
        a, b = int(row[h]), int(col[h])
        passages = _passages(texts[a], texts[b], min_passage, max_passages, template_norm)
        pairs.append(
            SimilarPair(
                a_id=keys[a][1],
                b_id=keys[b][1],
                b_is_other=keys[b][0],
                score=float(score[h]),
                containment=float(containment[h]),
                jaccard=float(jaccard[h]),
                shared=int(common[h]),
                passages=passages,
            )
        )
    return pairs
