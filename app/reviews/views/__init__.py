"""Review pages: the expert pool, the draw, the reviewer's invitations and score
sheets, the ranking, ratings and fees. One blueprint, split by audience."""

from __future__ import annotations

from flask import Blueprint, Response
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.audit import trail
from app.extensions import db
from app.home import navigation

bp = Blueprint("reviews", __name__, url_prefix="/reviews")
navigation.add("reviews.list_experts", _l("专家库"), "reviews.manage")
navigation.add("reviews.list_calls", _l("专家评审"), "reviews.rank")
navigation.add("reviews.my_assignments", _l("我的评审"), "reviews.score")
navigation.add("reviews.my_panels", _l("我的会评"), "reviews.score")


def download(data: bytes, name: str, mime: str, entity_type: str, entity_id, kind: str):
    """Send a file as an attachment; the download is audited (ids and sizes only)."""
    from urllib.parse import quote

    trail.record(
        "export.download",
        entity_type,
        entity_id,
        actor=current_user,
        after={"document": kind, "bytes": len(data)},
    )
    db.session.commit()
    response = Response(data, mimetype=mime)
    ext = name.rsplit(".", 1)[-1]
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{kind}.{ext}\"; filename*=UTF-8''{quote(name)}"
    )
    return response


from app.reviews.views import draw, expert, panel, pool, ranking  # noqa: E402,F401  (routes join bp)


def _register_demo() -> None:
    from app import demo
    from app.reviews.operations.demo import review_demo

    if review_demo not in demo.STEPS:
        demo.STEPS.append(review_demo)


_register_demo()
