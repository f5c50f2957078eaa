"""The page header's menu, built once per role set, language and app.

``navigation.menu_for`` decides the entries (permissions per role, the grouping
of issue 11); this keeps its answer with the labels translated and the links
built, since neither changes between requests of users holding the same roles:
the header is on every page and rebuilding it cost ~0.4 ms a page (30 permission
checks, 15-30 ``url_for`` calls and as many translations).
"""

from __future__ import annotations

from flask import current_app, request
from flask_babel import get_locale

from app.home import navigation


def header_menu(user) -> list[tuple]:
    """``("link", endpoint, label, url)`` items, then ``("menu", label, items,
    endpoints)`` drop-downs whose ``items`` are ``(endpoint, label, url)``."""
    key = (
        bool(getattr(user, "is_authenticated", False)),
        frozenset(getattr(user, "role_names", ()) or ()),
        str(get_locale()),
        request.script_root,
        len(navigation.ENTRIES),
    )
    cache = current_app.extensions.setdefault("header_menu", {})
    menu = cache.get(key)
    if menu is None:
        menu = cache[key] = _build(user)
    return menu


def _build(user) -> list[tuple]:
    from flask import url_for

    out = []
    for kind, first, second in navigation.menu_for(user):
        if kind == "link":
            out.append(("link", first, str(second), url_for(first)))
        else:
            items = tuple((endpoint, str(label), url_for(endpoint)) for endpoint, label in second)
            out.append(("menu", str(first), items, frozenset(e for e, _l, _u in items)))
    return out
