"""Server time and SQL query count of every main page, per role, in process.

    python -m bench.pages --db URL [--repeats 15] [--json OUT]

Each page is requested through the Flask test client by a signed-in user of
the role (two warm-up requests, then ``--repeats`` timed ones); the time is the
server's (no network), the query count comes from a ``before_cursor_execute``
listener on the engine, for one request.
"""

from __future__ import annotations

import argparse
import json
import re
import time

from sqlalchemy import func, select

from bench import common

_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def login(client, email: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = _CSRF.search(page).group(1)
    response = client.post(
        "/login", data={"email": email, "password": common.PASSWORD, "csrf_token": token}
    )
    if response.status_code != 302:
        raise RuntimeError(f"login of {email} failed: {response.status_code}")


def fixtures(app) -> dict:
    """Ids the pages need, read from the generated data set."""
    from app.accounts.models import User
    from app.applications.models import Application
    from app.calls.models import Call
    from app.extensions import db
    from app.ledger.models import LedgerTransfer
    from app.projects.models import Project
    from app.reviews.models import ReviewAssignment

    with app.app_context():
        s = db.session
        calls = s.scalars(select(Call).order_by(Call.id)).all()
        main = calls[0]
        draft_call = next((c for c in calls if c.state == "open"), None)
        n_main = s.scalar(select(func.count()).where(Application.call_id == main.id))
        mid = s.scalars(
            select(Application.id)
            .where(Application.call_id == main.id)
            .order_by(Application.id)
            .offset(n_main // 2)
            .limit(1)
        ).one()
        app_row = s.get(Application, mid)
        applicant = s.scalars(
            select(User).where(User.org_id == app_row.society_id, User.email.like("applicant%"))
        ).first()
        admin = s.scalars(
            select(User).where(User.org_id == app_row.society_id, User.email.like("society%"))
        ).first()
        draft = None
        if draft_call is not None:
            draft = s.scalar(
                select(Application.id).where(
                    Application.call_id == draft_call.id,
                    Application.society_id == app_row.society_id,
                )
            )
        assignment = s.scalars(
            select(ReviewAssignment)
            .where(ReviewAssignment.application_id == mid)
            .order_by(ReviewAssignment.id)
        ).first()
        reviewer = assignment.expert.user.email
        grant = s.scalar(
            select(LedgerTransfer.grant_id).where(LedgerTransfer.grant_id.is_not(None)).limit(1)
        )
        project = s.scalars(
            select(Project)
            .where(Project.call_id == main.id)
            .order_by(Project.id)
            .offset(s.scalar(select(func.count()).where(Project.call_id == main.id)) // 2)
            .limit(1)
        ).first()
        member = None
        if project is not None:
            member = s.scalars(
                select(User).where(User.org_id == project.society_id, User.email.like("society%"))
            ).first()
        return {
            "main": main.id,
            "app": mid,
            "draft": draft,
            "applicant": applicant.email,
            "society_admin": admin.email,
            "reviewer": reviewer,
            "assignment": assignment.id,
            "grant": grant,
            "applications": n_main,
            "project": project.id if project is not None else None,
            "project_admin": member.email if member is not None else None,
        }


def pages(f: dict) -> list[tuple[str, str, str]]:
    """(role, e-mail, path) of every main page."""
    main, app_id, a = f["main"], f["app"], f["assignment"]
    rows = [
        ("officer", "officer0@bench.cn", "/"),
        ("officer", "officer0@bench.cn", "/calls"),
        ("officer", "officer0@bench.cn", "/calls/manage"),
        ("officer", "officer0@bench.cn", f"/calls/{main}"),
        ("officer", "officer0@bench.cn", "/applications"),
        ("officer", "officer0@bench.cn", f"/applications?call={main}&page=20"),
        ("officer", "officer0@bench.cn", f"/applications/{app_id}"),
        ("officer", "officer0@bench.cn", f"/calls/{main}/duplicates"),
        ("officer", "officer0@bench.cn", "/reviews/calls"),
        ("officer", "officer0@bench.cn", f"/reviews/calls/{main}/draw"),
        ("officer", "officer0@bench.cn", f"/reviews/calls/{main}/ranking"),
        ("officer", "officer0@bench.cn", f"/reviews/calls/{main}/ranking?all=1"),
        ("officer", "officer0@bench.cn", "/reviews/experts"),
        ("officer", "officer0@bench.cn", f"/reviews/calls/{main}/experts"),
        ("officer", "officer0@bench.cn", "/awards/calls"),
        ("officer", "officer0@bench.cn", f"/awards/calls/{main}"),
        ("approver", "approver0@bench.cn", f"/awards/calls/{main}"),
        ("applicant", f["applicant"], "/"),
        ("applicant", f["applicant"], "/calls"),
        ("applicant", f["applicant"], "/applications"),
        ("applicant", f["applicant"], f"/applications/{app_id}"),
        ("society_admin", f["society_admin"], "/applications"),
        ("society_admin", f["society_admin"], "/society/staff"),
        ("reviewer", f["reviewer"], "/"),
        ("reviewer", f["reviewer"], "/reviews/mine"),
        ("reviewer", f["reviewer"], f"/reviews/assignments/{a}"),
        ("reviewer", f["reviewer"], f"/reviews/assignments/{a}/sheet"),
        ("reviewer", f["reviewer"], f"/reviews/assignments/{a}/application"),
        ("finance", "finance@bench.cn", "/"),
        ("finance", "finance@bench.cn", "/ledger/"),
        ("finance", "finance@bench.cn", "/ledger/transfers"),
        ("finance", "finance@bench.cn", "/ledger/transfers?page=500"),
        ("finance", "finance@bench.cn", f"/ledger/transfers?grant={f['grant']}"),
        ("auditor", "auditor@bench.cn", "/audit/events"),
        ("auditor", "auditor@bench.cn", "/audit/events?page=1000"),
        ("auditor", "auditor@bench.cn", "/audit/events?action=ledger.disburse"),
        ("auditor", "auditor@bench.cn", "/audit/downloads"),
        ("admin", "admin@bench.cn", "/admin/users"),
        ("admin", "admin@bench.cn", "/admin/orgs"),
    ]
    rows += [
        ("officer", "officer0@bench.cn", "/awards/notices"),
        ("officer", "officer0@bench.cn", "/awards/agreements"),
        ("officer", "officer0@bench.cn", "/projects/"),
        ("officer", "officer0@bench.cn", "/dashboard/"),
        ("officer", "officer0@bench.cn", "/stations"),
        ("officer", "officer0@bench.cn", "/needs"),
        ("officer", "officer0@bench.cn", "/evaluations/"),
        ("officer", "officer0@bench.cn", "/notifications"),
        ("approver", "approver0@bench.cn", "/projects/"),
        ("finance", "finance@bench.cn", "/projects/finance"),
        ("finance", "finance@bench.cn", "/funds"),
        ("applicant", f["applicant"], "/projects/"),
        ("applicant", f["applicant"], "/notifications"),
        ("auditor", "auditor@bench.cn", "/api/v1/ledger/transfers"),
        ("auditor", "auditor@bench.cn", "/api/v1/audit/events"),
        ("auditor", "auditor@bench.cn", f"/api/v1/projects?call={f['main']}"),
    ]
    if f.get("project"):
        rows += [
            ("officer", "officer0@bench.cn", f"/projects/{f['project']}"),
            ("society_admin", f["project_admin"], "/projects/"),
            ("society_admin", f["project_admin"], f"/projects/{f['project']}"),
            ("society_admin", f["project_admin"], "/awards/agreements"),
        ]
    if f["draft"]:
        rows.insert(20, ("applicant", f["applicant"], f"/applications/{f['draft']}/edit"))
    return rows


def run(url: str, repeats: int = 15, only: str | None = None) -> list[dict]:
    """Measure every page; returns one dict per page."""
    common.cheap_passwords()
    app = common.make_app(url)
    f = fixtures(app)
    from app import tune_gc

    tune_gc()  # as wsgi.py does in every gunicorn worker
    from app.extensions import db

    with app.app_context():
        engine = db.engine
    tokens: dict[str, str] = {}

    def headers(email: str, path: str) -> dict:
        """The auditors' API takes a bearer token, made once per user."""
        if not path.startswith("/api/"):
            return {}
        if email not in tokens:
            from app.accounts import operations as accounts
            from app.accounts.models import User
            from app.audit.context import audit_context

            with app.app_context(), audit_context(actor_role="system"):
                user = db.session.scalar(select(User).where(User.email == email))
                tokens[email] = accounts.create_api_token(user, actor=None)[1]
                db.session.commit()
        return {"Authorization": f"Bearer {tokens[email]}"}

    clients: dict[str, object] = {}
    out = []
    for role, email, path in pages(f):
        if only and only not in path:
            continue
        client = clients.get(email)
        if client is None:
            client = clients[email] = app.test_client()
            login(client, email)
        status = None
        extra = headers(email, path)
        try:
            for _ in range(2):
                status = client.get(path, headers=extra).status_code
        except Exception as exc:  # noqa: BLE001 - a broken page is reported, not fatal
            out.append(
                {"role": role, "path": path, "status": f"error: {type(exc).__name__}",
                 "queries": 0, "median_ms": 0.0, "p95_ms": 0.0, "n": 0}
            )  # fmt: skip
            continue
        with common.QueryCounter(engine) as counter:
            client.get(path, headers=extra)
        times = []
        t0 = time.perf_counter()
        client.get(path, headers=extra)
        first = time.perf_counter() - t0
        times.append(first)
        # Pages slower than a second get 5 timed requests, not ``repeats``.
        n = (repeats if first < 1.0 else 5) if status == 200 else 2
        for _ in range(n - 1):
            t0 = time.perf_counter()
            client.get(path, headers=extra)
            times.append(time.perf_counter() - t0)
        out.append(
            {
                "role": role,
                "path": path,
                "status": status,
                "queries": counter.count,
                "median_ms": round(common.median(times) * 1000, 1),
                "p95_ms": round(common.percentile(times, 95) * 1000, 1),
                "n": n,
            }
        )
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--only", default=None, help="only paths containing this")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    rows = run(args.db, args.repeats, args.only)
    for r in rows:
        print(
            f"{r['role']:<14}{r['path']:<48}{r['status']:>4}{r['queries']:>6} q"
            f"{r['median_ms']:>9.1f} ms{r['p95_ms']:>9.1f} ms p95"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, ensure_ascii=False, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
