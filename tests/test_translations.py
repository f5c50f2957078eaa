"""Every message in the sources is in the template and translated in both catalogues.

English is expected to fail until the catalogue is translated: nothing is skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "app" / "translations"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


def _msgid(message) -> str:
    return message if isinstance(message, str) else message[0]


def _extracted() -> dict[str, str]:
    """msgid → where it was found, extracted as ``make messages`` does (babel.cfg)."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        if message and _msgid(message):
            found.setdefault(_msgid(message), f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def extracted():
    messages = _extracted()
    assert len(messages) > 50  # the extraction itself works
    return messages


def _catalogue(path: Path, locale: str | None = None):
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def test_template_is_up_to_date(extracted):
    template = {_msgid(m.id) for m in _catalogue(TRANSLATIONS / "messages.pot") if m.id}
    missing = sorted(set(extracted) - template)
    assert not missing, (
        f"{len(missing)} messages are not in messages.pot (run `make messages`):\n"
        + "\n".join(f"  {extracted[m]}: {m}" for m in missing[:40])
    )


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_message_is_translated(extracted, locale):
    catalogue = _catalogue(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", locale)
    problems = []
    for msgid, where in sorted(extracted.items(), key=lambda item: item[1]):
        message = catalogue.get(msgid)
        if message is None:
            problems.append(f"  missing   {where}: {msgid}")
            continue
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if message.fuzzy:
            problems.append(f"  fuzzy     {where}: {msgid}")
        elif not all(strings):
            problems.append(f"  empty     {where}: {msgid}")
    assert not problems, (
        f"{len(problems)} of {len(extracted)} messages lack a {locale} translation:\n"
        + "\n".join(problems[:60])
    )
