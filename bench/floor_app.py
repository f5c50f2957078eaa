"""The floor: a bare Flask + Flask-SQLAlchemy app doing the least a page can do.

One 50-row page (``GET /items``, rendered by Jinja) and one insert
(``POST /items``: a form with a CSRF-like hidden token, one INSERT, commit,
redirect), on PostgreSQL, served by the same gunicorn settings as the real app
under the same load. The real app's throughput and p95 are compared with it.

    DATABASE_URL=postgresql+psycopg://… gunicorn -w 4 bench.floor_app:app
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime

from flask import Flask, redirect, render_template_string, request, session
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

db = SQLAlchemy()

PAGE = """<!doctype html><html><head><title>items</title></head><body>
<form method="post"><input type="hidden" name="token" value="{{ token }}">
<input name="title"><button>add</button></form>
<table>{% for item in items %}<tr><td>{{ item.id }}</td><td>{{ item.owner }}</td>
<td>{{ item.title }}</td><td>{{ item.body[:40] }}</td><td>{{ item.created_at }}</td></tr>
{% endfor %}</table></body></html>"""


class Item(db.Model):
    __tablename__ = "floor_item"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "floor")
    db.init_app(app)

    @app.get("/items")
    def items():
        session.setdefault("token", secrets.token_hex(8))
        rows = db.session.scalars(select(Item).order_by(Item.id.desc()).limit(50)).all()
        return render_template_string(PAGE, items=rows, token=session["token"])

    @app.post("/items")
    def add_item():
        if request.form.get("token") != session.get("token"):
            return "bad token", 400
        db.session.add(
            Item(
                owner=request.remote_addr or "",
                title=request.form.get("title", "")[:200],
                body=request.form.get("body", ""),
                created_at=datetime.now(UTC),
            )
        )
        db.session.commit()
        return redirect("/items")

    return app


def setup(url: str, rows: int = 1000) -> None:
    """Create the table and some rows (run once before the load)."""
    os.environ["DATABASE_URL"] = url
    app = create_app()
    with app.app_context():
        db.drop_all()
        db.create_all()
        now = datetime.now(UTC)
        db.session.add_all(
            Item(owner="seed", title=f"item {i}", body="x" * 200, created_at=now)
            for i in range(rows)
        )
        db.session.commit()
        db.engine.dispose()


app = create_app() if "DATABASE_URL" in os.environ and __name__ != "__main__" else None
