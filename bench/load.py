"""50 concurrent users against gunicorn (4 workers) + PostgreSQL on loopback.

    python -m bench.load --db URL [--users 50] [--seconds 60] [--rounds 2] [--json OUT]

Two servers under the same users, in the same process and minutes: the real app
(``bench.wsgi_bench``) on a generated data set with its live work
(``bench.generate`` adds a call in review with accepted, unscored sheets and an
open call with a draft per society), and the floor app (``bench.floor_app``) on a
database of its own. Both are started first; the users then load them in turns,
app, floor, app, floor (``--rounds`` each, ``--seconds`` in all per server): the
machine is shared, and the other load on it moves within minutes, so a floor
measured after the app could meet a busier or quieter machine than the app did.
The load generator is threads + ``http.client`` (a new connection per request,
as gunicorn's sync workers close them), only 127.0.0.1.

User mix (closed loop, no think time): 40 % reviewers saving their score sheet
(GET the sheet, POST it with "save"), 30 % applicants saving their draft (GET
the edit page, POST the form back with a changed summary and its version),
30 % officers browsing lists (applications by page, calls, the expert pool).
On the floor app the same users do GET the 50-row page / POST one insert in
the same proportions. Figures: requests per second, p50/p95 latency, errors
(anything but 200/302/303, or a failed connection).
"""

from __future__ import annotations

import argparse
import html
import http.client
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import select

from bench import common

HOST = "127.0.0.1"
_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


class Session:
    """One simulated browser: cookies and its own client address."""

    def __init__(self, port: int, ip: str):
        self.port, self.ip, self.cookies = port, ip, {}
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def request(self, method: str, path: str, form=None, record: bool = True):
        body = urlencode(form, doseq=True) if form is not None else None
        headers = {"X-Forwarded-For": self.ip, "Connection": "close"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        t0 = time.perf_counter()
        try:
            conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            conn.close()
        except OSError as exc:
            if record:
                self.errors.append(f"{method} {path}: {type(exc).__name__}")
            return None, ""
        elapsed = time.perf_counter() - t0
        for value in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        if record:
            self.latencies.append(elapsed)
            if resp.status not in (200, 302, 303):
                self.errors.append(f"{method} {path}: {resp.status}")
        return resp.status, data.decode("utf-8", "replace")

    def login(self, email: str) -> None:
        _status, page = self.request("GET", "/login", record=False)
        token = _CSRF.search(page).group(1)
        status, _ = self.request(
            "POST",
            "/login",
            {"email": email, "password": common.PASSWORD, "csrf_token": token},
            record=False,
        )
        if status != 302:
            raise RuntimeError(f"login {email}: {status}")


class FormFields(HTMLParser):
    """The fields a browser would post from the form with ``id``."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.fields = form_id, False, []
        self._textarea = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
            return
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append([name, a.get("value", "on")])
            elif kind not in ("submit", "button", "file"):
                self.fields.append([name, a.get("value") or ""])
        elif tag == "textarea" and name:
            self._textarea = [name, ""]
            self.fields.append(self._textarea)
        elif tag == "select" and name:
            self._select = [name, None]
            self.fields.append(self._select)
        elif (
            tag == "option"
            and self._select is not None
            and (self._select[1] is None or "selected" in a)
        ):
            self._select[1] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data


_TAG = re.compile(r"<(/?)(form|input|textarea|select|option)\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r"""([^\s=/>"']+)(\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")


def _attrs(text: str) -> dict:
    """Attributes as the HTML parser gives them: names lower-cased, values unescaped,
    None for an attribute without a value."""
    return {
        name.lower(): html.unescape(dq or sq or bare) if eq else None
        for name, eq, dq, sq, bare in _ATTR.findall(text)
    }


def form_of(page: str, form_id: str) -> list[list[str]]:
    """The fields a browser would post from the form with ``id`` - what ``FormFields``
    (the HTML parser) finds, by regular expressions: the generator shares the CPUs with
    the server, and parsing the 40 KB edit page cost it ~3 ms a request."""
    fields, inside, select = [], False, None
    for tag in _TAG.finditer(page):
        closing, name, a = tag.group(1), tag.group(2).lower(), _attrs(tag.group(3))
        if name == "form":
            inside = not closing and a.get("id") == form_id
            continue
        if not inside:
            continue
        if closing:
            if name == "select":
                select = None
            continue
        field = a.get("name")
        if name == "input" and field:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    fields.append([field, a.get("value", "on")])
            elif kind not in ("submit", "button", "file"):
                fields.append([field, a.get("value") or ""])
        elif name == "textarea" and field:
            end = page.find("</textarea>", tag.end())
            fields.append([field, html.unescape(page[tag.end() : end])])
        elif name == "select" and field:
            select = [field, None]
            fields.append(select)
        elif name == "option" and select is not None and (select[1] is None or "selected" in a):
            select[1] = a.get("value", "")
    return [[k, v if v is not None else ""] for k, v in fields]


# --- the users ------------------------------------------------------------------


def reviewer_loop(s: Session, assignment_id: int, stop: threading.Event, rnd: random.Random):
    path = f"/reviews/assignments/{assignment_id}/sheet"
    while not stop.is_set():
        status, page = s.request("GET", path)
        if status != 200:
            continue
        fields = form_of(page, "score-sheet")
        out = []
        for name, value in fields:
            if name.startswith("score-"):
                value = str(rnd.randint(5, 10))
            out.append((name, value))
        out.append(("overall_comment", f"暂存意见 {rnd.randrange(10**6)}"))
        out.append(("action", "save"))
        s.request("POST", path, out)


def applicant_loop(s: Session, app_id: int, stop: threading.Event, rnd: random.Random):
    path = f"/applications/{app_id}/edit"
    while not stop.is_set():
        status, page = s.request("GET", path)
        if status != 200:
            continue
        fields = form_of(page, "application-form")
        out = [
            (name, value + str(rnd.randrange(10)) if name == "summary" else value)
            for name, value in fields
        ]
        s.request("POST", path, out)


def officer_loop(s: Session, pages: list[str], stop: threading.Event, rnd: random.Random):
    while not stop.is_set():
        s.request("GET", rnd.choice(pages))


def floor_loop(s: Session, writes: bool, stop: threading.Event, rnd: random.Random):
    while not stop.is_set():
        status, page = s.request("GET", "/items")
        if writes and status == 200:
            token = re.search(r'name="token" value="([^"]+)"', page).group(1)
            s.request("POST", "/items", {"token": token, "title": f"t{rnd.randrange(10**6)}"})


# --- servers ----------------------------------------------------------------------


def start_gunicorn(module: str, port: int, env: dict, workers: int = 4) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"{HOST}:{port}",
        "--timeout", "120", "--log-level", "warning", module,
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=common.ROOT, env={**os.environ, **env}, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/login" if "wsgi_bench" in module else "/items")
            conn.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.5)
    stop_server(proc)
    raise RuntimeError(f"{module} did not start on port {port}")


def stop_server(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: int) -> tuple[int, float] | None:
    """(process group, user+system CPU seconds) of ``pid`` from /proc, or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[2]), (int(fields[11]) + int(fields[12])) / _TICK


def _cpu(server_pgid: int, db_url: str) -> dict:
    """CPU seconds so far of the server's processes (its process group: gunicorn's
    master and workers), of each database backend serving it, and of this process."""
    server = 0.0
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            found = _proc_cpu(int(entry))
            if found and found[0] == server_pgid:
                server += found[1]
    db = {pid: found[1] for pid in _backend_pids(db_url) if (found := _proc_cpu(pid))}
    return {"server": server, "db": db, "load": time.process_time()}


def _cpu_used(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds used between two readings; a backend opened in between counts whole."""
    return {
        "server": after["server"] - before["server"],
        "db": sum(cpu - before["db"].get(pid, 0.0) for pid, cpu in after["db"].items()),
        "load": after["load"] - before["load"],
    }


def _backend_pids(url: str) -> list[int]:
    """PostgreSQL backends connected to ``url``'s database (they live on this machine)."""
    if not common.is_postgres(url):
        return []
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(url)
    with engine.connect() as conn:
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"),
            {"d": make_url(url).database},
        ).scalars()
        pids = list(pids)
    engine.dispose()
    return pids


def _drive(sessions_and_loops, seconds: float) -> float:
    """Run the users for ``seconds`` (their latencies and errors add up); the time taken."""
    stop = threading.Event()
    threads = [
        threading.Thread(target=loop, args=(s, *args, stop, random.Random(i)), daemon=True)
        for i, (s, loop, args) in enumerate(sessions_and_loops)
    ]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=120)
    return time.perf_counter() - t0


def _alternate(sides: dict, seconds: float, rounds: int) -> dict:
    """Each side's users for ``seconds`` in all, in ``rounds`` turns taken in alternation
    (app, floor, app, floor, …), so that a change in the shared machine's other load
    during the run falls on both alike. ``sides``: name -> (sessions and loops, (gunicorn
    process, database URL)). Per side: requests per second, p50/p95 latency, errors, and
    CPU milliseconds per request (server, database backends, this load generator), which
    other work on a shared machine disturbs much less than requests per second."""
    spent = {name: {"elapsed": 0.0, "cpu": None, "load": []} for name in sides}
    for plan, _server in sides.values():
        for s, *_rest in plan:
            s.latencies.clear()
            s.errors.clear()
    for _turn in range(rounds):
        for name, (plan, (proc, url)) in sides.items():
            load0 = common.load_average()
            cpu0 = _cpu(proc.pid, url)
            spent[name]["elapsed"] += _drive(plan, seconds / rounds)
            cpu1 = _cpu(proc.pid, url)
            used = _cpu_used(cpu0, cpu1)
            total = spent[name]["cpu"]
            spent[name]["cpu"] = used if total is None else {k: total[k] + used[k] for k in used}
            spent[name]["load"].append(f"{load0} -> {common.load_average()}")
    out = {}
    for name, (plan, _server) in sides.items():
        latencies = [x for s, *_r in plan for x in s.latencies]
        errors = [e for s, *_r in plan for e in s.errors]
        elapsed = spent[name]["elapsed"]
        out[name] = {
            "requests": len(latencies),
            "seconds": round(elapsed, 1),
            "turns": rounds,
            "rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(common.median(latencies) * 1000, 1),
            "p95_ms": round(common.percentile(latencies, 95) * 1000, 1),
            "errors": len(errors),
            "error_sample": sorted(set(errors))[:5],
            "load_average": "; ".join(spent[name]["load"]),
        }
        if latencies:
            out[name]["cpu_ms_per_request"] = {
                k: round(v * 1000 / len(latencies), 2) for k, v in spent[name]["cpu"].items()
            }
    return out


def live_work(url: str, users: int) -> dict:
    """Who does what in the real app: reviewers with an accepted sheet, drafts, officers."""
    from app.accounts.models import User
    from app.applications.models import Application
    from app.calls.models import Call
    from app.extensions import db
    from app.reviews.models import ReviewAssignment

    app = common.make_app(url)
    with app.app_context():
        s = db.session
        accepted = s.scalars(
            select(ReviewAssignment)
            .where(ReviewAssignment.state == "accepted")
            .order_by(ReviewAssignment.id)
        ).all()
        seen, reviewers = set(), []
        for a in accepted:
            if a.expert_id not in seen:
                seen.add(a.expert_id)
                reviewers.append((a.expert.user.email, a.id))
        open_call = s.scalars(select(Call).where(Call.state == "open")).first()
        drafts = [
            (s.get(User, a.created_by_id).email, a.id)
            for a in s.scalars(
                select(Application)
                .where(Application.call_id == open_call.id, Application.state == "draft")
                .order_by(Application.id)
            )
        ]
        main = s.scalars(select(Call).order_by(Call.id)).first()
        n_reviewers, n_applicants = round(users * 0.4), round(users * 0.3)
        if len(reviewers) < n_reviewers or len(drafts) < n_applicants:
            raise RuntimeError("not enough live work: run bench.generate --add-live first")
        result = {
            "reviewers": reviewers[:n_reviewers],
            "applicants": drafts[:n_applicants],
            "officers": users - n_reviewers - n_applicants,
            "officer_pages": [
                *(f"/applications?call={main.id}&page={p}" for p in range(1, 41)),
                "/applications",
                "/calls",
                "/reviews/experts",
                f"/applications?call={open_call.id}",
            ],
        }
        db.session.remove()
        db.engine.dispose()
    return result


def run(
    url: str, users: int = 50, seconds: float = 60.0, port: int = 8765, rounds: int = 2
) -> dict:
    common.analyze(url)
    work = live_work(url, users)
    secret = secrets.token_hex(32)
    env = {"DATABASE_URL": url, "SECRET_KEY": secret, "APP_ENV": "production"}
    out = {
        "users": users,
        "seconds": seconds,
        "mix": "40% reviewers, 30% applicants, 30% officers",
        "turns": f"{rounds} turns each, alternating app and floor",
    }
    floor_url = common.pg_url("grants_bench_floor")
    common.recreate_database(floor_url)
    from bench import floor_app

    floor_app.setup(floor_url)
    common.analyze(floor_url)
    servers = []
    try:
        app_server = start_gunicorn("bench.wsgi_bench:app", port, env)
        servers.append(app_server)
        floor_server = start_gunicorn("bench.floor_app:app", port + 1, {"DATABASE_URL": floor_url})
        servers.append(floor_server)
        app_plan = []
        n = 0
        for email, assignment_id in work["reviewers"]:
            n += 1
            s = Session(port, f"10.1.{n // 250}.{n % 250 + 1}")
            s.login(email)
            app_plan.append((s, reviewer_loop, (assignment_id,)))
        for email, app_id in work["applicants"]:
            n += 1
            s = Session(port, f"10.1.{n // 250}.{n % 250 + 1}")
            s.login(email)
            app_plan.append((s, applicant_loop, (app_id,)))
        for i in range(work["officers"]):
            n += 1
            s = Session(port, f"10.1.{n // 250}.{n % 250 + 1}")
            s.login(f"officer{i % 3}@bench.cn")
            app_plan.append((s, officer_loop, (work["officer_pages"],)))
        writers = len(work["reviewers"]) + len(work["applicants"])
        floor_plan = [
            (Session(port + 1, f"10.2.0.{i + 1}"), floor_loop, (i < writers,)) for i in range(users)
        ]
        out.update(
            _alternate(
                {
                    "app": (app_plan, (app_server, url)),
                    "floor": (floor_plan, (floor_server, floor_url)),
                },
                seconds,
                rounds,
            )
        )
    finally:
        for proc in servers:
            stop_server(proc)
        common.drop_database(floor_url)
    a, f = out["app"], out["floor"]
    out["throughput_ratio"] = round(a["rps"] / f["rps"], 3) if f["rps"] else None
    out["p95_ratio"] = round(a["p95_ms"] / f["p95_ms"], 2) if f["p95_ms"] else None
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60, help="per server, in all")
    parser.add_argument("--rounds", type=int, default=2, help="alternating turns per server")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    result = run(args.db, args.users, args.seconds, rounds=args.rounds)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
