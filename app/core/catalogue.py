"""Keep the zh_CN catalogue complete and report what English still lacks.

The source text is Chinese, so the zh_CN catalogue maps each message to
itself; English translations are written by hand in ``en/messages.po``.
Run as ``python -m app.core.catalogue`` (``make messages`` does).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1] / "translations"


def _load(locale: str):
    with (ROOT / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=locale)


def _save(locale: str, catalog) -> None:
    with (ROOT / locale / "LC_MESSAGES" / "messages.po").open("wb") as fh:
        write_po(fh, catalog, width=100)


def untranslated(locale: str) -> list[str]:
    """Message ids with an empty or fuzzy translation in ``locale``."""
    missing = []
    for message in _load(locale):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if message.fuzzy or not all(strings):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def fill_chinese() -> int:
    """Copy each Chinese source text into the zh_CN catalogue; returns how many were filled."""
    catalog = _load("zh_CN")
    filled = 0
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            if not all(message.string):
                message.string = tuple(message.id)
                filled += 1
        elif not message.string or message.fuzzy:
            message.string = message.id
            filled += 1
        message.flags.discard("fuzzy")
    _save("zh_CN", catalog)
    return filled


if __name__ == "__main__":
    print(f"zh_CN: filled {fill_chinese()} messages")
    missing = untranslated("en")
    print(f"en: {len(missing)} messages still need an English translation")
    for text in missing[:50]:
        print("  ", text)
    sys.exit(0)
