"""Crash harness: the real server (gunicorn, one preloaded worker) on a committed SQLite
file and a files folder; a driver thread uploads attachments, submits applications,
approves awards, pays released tranches and appropriates to a fund through the real
forms (CSRF token, redirect followed, flashed outcome read) while the harness SIGKILLs
the process at random points.

Most kills hit the worker (the master forks a fresh one from the preloaded app, as
after an out-of-memory kill); one in a hundred (at least one) kills the whole server,
which is started again. Afterwards ``tests/security/test_crash.py`` runs the command
line (``audit verify``, ``files gc``), checks that what the server confirmed is still
there, and looks for half-applied work.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import http.cookiejar
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Site:
    """Where the crashed server keeps its data, and the seeded objects."""

    root: Path
    drafts: list[int] = field(default_factory=list)
    awards: list[int] = field(default_factory=list)  # proposed, waiting for approval
    tranches: list[int] = field(default_factory=list)  # released, waiting for payment
    amounts: dict = field(default_factory=dict)  # tranche id → amount in fen
    fund_id: int = 0
    applicant: str = ""
    finance: str = ""
    approver: str = ""
    password: str = "Passw0rd-crash"
    seed_log: str = ""

    @property
    def url(self) -> str:
        return f"sqlite:///{self.root / 'grants.db'}"

    def env(self) -> dict:
        return {
            **os.environ,
            "APP_ENV": "development",
            "DATABASE_URL": self.url,
            "UPLOAD_DIR": str(self.root / "files"),
            "AUDIT_SIGNING_KEY": str(self.root / "keys"),
            "SECRET_KEY": "crash-harness-secret-" + "x" * 20,
            "RATELIMIT_STORAGE_URI": "memory://",
            "PYTHONPATH": str(ROOT),
        }

    def flask(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            check=check,
            timeout=300,
        )


def prepare(root: Path, drafts: int, awards: int, projects: int) -> Site:
    """Migrate a fresh database and seed: an applicant's complete drafts (to upload to
    and submit), proposed awards (for an approver), signed projects whose first tranche
    is released (for finance to pay), and a fund (for finance to appropriate to).

    Runs in this process (the tests' cheap password hashes; no second interpreter)."""
    import flask_migrate

    from app import create_app
    from app.audit.context import audit_context
    from app.awards import operations as award_ops
    from app.core import clock
    from app.extensions import db
    from app.projects import operations as project_ops
    from tests import factories

    site = Site(root)
    (root / "files").mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": site.url,
            "UPLOAD_DIR": str(root / "files"),
            "AUDIT_SIGNING_KEY": str(root / "keys"),
            "ENV_NAME": "development",
        }
    )
    laps = []
    with app.app_context():
        try:
            flask_migrate.upgrade()
            laps.append(time.monotonic() - started)
            with audit_context(actor_role="system", user_agent="crash-seed"):
                password = site.password
                finance = factories.user("finance", password=password)
                applicant = factories.user("applicant", password=password)
                approver = factories.user("approver", password=password)
                r = factories.reviewed_call(awards)
                site.awards = [
                    award_ops.propose_award(row, 100_00, "集体研究同意立项。", actor=r.officer).id
                    for row in r.apps
                ]
                laps.append(time.monotonic() - started)
                for _ in range(projects):
                    p = factories.signed_project()
                    first = p.project.tranches[0]
                    with clock.frozen(datetime(2026, 3, 10, 2, tzinfo=UTC)):
                        project_ops.release_tranche(first, actor=p.approver)
                    site.amounts[first.id] = int(first.amount_fen)
                laps.append(time.monotonic() - started)
                # Last: the factories above close every call whose window has passed.
                call = factories.call(officer=r.officer, per_society_limit=100)
                fund = factories.fund(amount_fen=0)
                site.drafts = [factories.application(call, applicant).id for _ in range(drafts)]
                db.session.commit()
            laps.append(time.monotonic() - started)
            site.fund_id = fund.id
            site.applicant, site.finance, site.approver = (
                applicant.email,
                finance.email,
                approver.email,
            )
        finally:
            db.session.remove()
            db.engine.dispose()
    site.tranches = list(site.amounts)
    site.seed_log = "seeded (migrate, awards, projects, drafts) at " + " ".join(
        f"{x:.1f}" for x in laps
    )
    return site


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with one preloaded worker; SIGKILL the worker or the whole server."""

    def __init__(self, site: Site):
        self.site = site
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None
        self.full_restarts = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--preload",
                "-w",
                "1",
                "-b",
                f"127.0.0.1:{self.port}",
                "--graceful-timeout",
                "1",
                "--log-level",
                "critical",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=self.site.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/login", timeout=2) as answer:  # noqa: S310 - local
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        raise RuntimeError("the server did not come up")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        text = children.read_text() if children.exists() else ""
        return [int(p) for p in text.split()]

    def kill_worker(self) -> None:
        """SIGKILL the worker mid-request; the master forks a new one."""
        for pid in self.worker_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.wait_ready()

    def kill_all(self) -> None:
        """SIGKILL the whole server (worker first, so no child lingers) and start it again."""
        workers = self.worker_pids()
        self.proc.send_signal(signal.SIGKILL)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()
        self.full_restarts += 1
        self.start()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            workers = self.worker_pids()
            self.proc.send_signal(signal.SIGKILL)
            for pid in workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.proc.wait()


class Browser:
    """A cookie-keeping HTTP client that posts forms with their CSRF token and reads
    the page the answer redirects to (where the flashed outcome is shown)."""

    def __init__(self, server: Server):
        self.server = server
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )
        self.token = ""
        self.location = ""
        self.unread = False  # a flashed message may still wait in the session

    def request(self, path: str, data: bytes | None = None, headers: dict | None = None):
        req = urllib.request.Request(self.server.base + path, data=data, headers=headers or {})  # noqa: S310
        self.location = ""
        try:
            with self.opener.open(req, timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as err:
            self.location = err.headers.get("Location", "")
            return err.code, err.read()

    def refresh_token(self) -> None:
        """Take the session's CSRF token from a form page (any page with a form)."""
        _status, body = self.request("/login")
        match = _CSRF.search(body.decode("utf-8", "replace"))
        if not match:
            raise RuntimeError("no CSRF token on the login page")
        self.token = match.group(1)

    def post(self, path: str, fields: dict, files: dict | None = None):
        fields = {**fields, "csrf_token": self.token}
        if not files:
            return self.request(path, urllib.parse.urlencode(fields).encode())
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in fields.items():
            head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            parts.append(f"{head}{value}\r\n".encode())
        for name, (filename, content) in files.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
                + content
                + b"\r\n"
            )
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request(
            path,
            b"".join(parts),
            {"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )

    def drain(self) -> None:
        """Show a page so that flashed messages of an earlier, interrupted action go."""
        if self.unread:
            self.request("/")
            self.unread = False

    def act(self, path: str, fields: dict, files: dict | None = None) -> tuple[str, str]:
        """Post a form and follow its redirect: ("done", page) when the page flashes
        success, ("refused", page) for a flashed error or a 4xx, ("error", …) for a 5xx,
        ("unknown", "") when the redirected page was lost. A connection dropped or
        refused during the POST raises."""
        self.drain()
        self.unread = True
        status, body = self.post(path, fields, files)
        if status >= 500:
            self.unread = False
            return "error", f"{status}"
        if status not in (302, 303):
            self.unread = False
            if status == 400:  # e.g. a token the session no longer knows: take a fresh one
                self.refresh_token()
            return "refused", body.decode("utf-8", "replace")
        if not self.location:
            return "error", f"{status} without Location"
        where = urllib.parse.urlsplit(self.location)
        try:
            status, page = self.request(where.path + (f"?{where.query}" if where.query else ""))
        except (urllib.error.URLError, http.client.HTTPException, OSError):
            return "unknown", ""  # answered, but the page saying how was lost to a kill
        self.unread = False
        text = page.decode("utf-8", "replace")
        if status >= 500:
            return "error", f"{status} on {where.path}"
        return ("done" if "alert-success" in text or "alert-info" in text else "refused"), text

    def login(self, email: str, password: str) -> None:
        self.refresh_token()
        status, _ = self.post("/login", {"email": email, "password": password})
        if status != 302:
            raise RuntimeError(f"login of {email} answered {status}")
        self.refresh_token()  # the session is new: so is its token


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


ACTIONS = ("upload", "submit", "approve", "pay", "appropriate")
_TRANSFER_NO = re.compile(r"转账编号 (\d+)")


@dataclass
class Driver:
    """Keeps sending work while the server is being killed.

    ``done[action]`` holds what the server confirmed (the redirected page flashed
    success): upload digests, submitted application ids, approved award ids, paid
    tranche ids, appropriation transfer ids. ``lost`` counts requests whose answer a
    kill swallowed; their object goes back in the queue and is tried again.
    """

    site: Site
    server: Server
    done: dict = field(default_factory=lambda: {a: [] for a in ACTIONS})
    refused: dict = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    lost: dict = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    down: int = 0  # requests refused at the door while the server was restarting
    timings: dict = field(default_factory=dict)
    retried: set = field(default_factory=set)  # (action, id) sent again after a lost answer
    errors: list = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    ready: threading.Event = field(default_factory=threading.Event)
    calm: threading.Event = field(default_factory=threading.Event)  # the kills are over

    def sign_in(self, email: str) -> Browser:
        browser = Browser(self.server)
        for _ in range(100):
            try:
                browser.login(email, self.site.password)
                return browser
            except (urllib.error.URLError, http.client.HTTPException, OSError):
                time.sleep(0.05)
        raise RuntimeError(f"{email} could not sign in")

    def run(self) -> None:
        rng = random.Random(42)
        applicant = self.sign_in(self.site.applicant)
        finance = self.sign_in(self.site.finance)
        approver = self.sign_in(self.site.approver)
        self.ready.set()
        drafts, target = list(self.site.drafts[:-1]), self.site.drafts[-1]
        awards, tranches = list(self.site.awards), list(self.site.tranches)
        # One draft, award and tranche held back until the kills are over: a kill can
        # swallow the answer to work that was done (tried again, it is refused as done
        # already), and with few tranches every one could go that way, leaving nothing
        # to show that paying works once the server is left alone.
        held = [(drafts, drafts.pop()), (awards, awards.pop()), (tranches, tranches.pop())]
        while not self.stop.is_set():
            if held and self.calm.is_set():
                for queue, key in held:
                    queue.append(key)
                held = []
            choices = ["upload", "appropriate"]
            choices += ["submit"] * bool(drafts) + ["approve"] * bool(awards)
            choices += ["pay"] * bool(tranches)
            action = rng.choice(choices)
            key = None
            try:
                if action == "upload":
                    content = PDF + f"% {uuid.uuid4().hex}\n".encode() * rng.randint(1, 2000)
                    key = hashlib.sha256(content).hexdigest()
                    outcome, page = applicant.act(
                        f"/applications/{target}/attachments",
                        {"kind": "agreement"},
                        {"file": ("协议.pdf", content)},
                    )
                elif action == "submit":
                    key = drafts.pop(0)
                    outcome, page = applicant.act(f"/applications/{key}/submit", {})
                elif action == "approve":
                    key = awards.pop(0)
                    outcome, page = approver.act(f"/awards/{key}/approve", {})
                elif action == "pay":
                    key = tranches.pop(0)
                    outcome, page = finance.act(
                        f"/projects/tranches/{key}/pay",
                        {
                            "amount": f"{self.site.amounts[key] / 100:.2f}",
                            "voucher_no": f"PZ-{key}",
                            "paid_on": "2026-03-10",
                        },
                    )
                else:
                    outcome, page = finance.act(
                        "/ledger/appropriate",
                        {
                            "fund_id": str(self.site.fund_id),
                            "amount": f"{rng.randint(1, 10**6)}.{rng.randint(0, 99):02d}",
                            "memo": "crash",
                            "request_key": uuid.uuid4().hex,
                        },
                    )
                    match = _TRANSFER_NO.search(page)
                    key = int(match.group(1)) if match else None
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                refused = isinstance(getattr(exc, "reason", exc), ConnectionRefusedError)
                outcome = "down" if refused else "unknown"
            if outcome in ("down", "unknown"):
                # "down": the server was restarting and never saw the request. "unknown":
                # it died under the request, or after answering: done or not, we cannot
                # tell. Either way the object goes back in its queue and is sent again;
                # the check afterwards accepts done or not done, never half of it.
                queue = {"submit": drafts, "approve": awards, "pay": tranches}.get(action)
                if queue is not None:
                    queue.insert(0, key)
                if outcome == "down":
                    self.down += 1
                else:
                    self.lost[action] += 1
                    self.retried.add((action, key))
                time.sleep(0.02)
                continue
            if outcome == "done":
                self.done[action].append(key)
            elif outcome == "refused":
                self.refused[action] += 1
                if (action, key) not in self.retried:
                    self.errors.append(f"{action} {key} refused: {_alerts(page)}")
            else:
                self.errors.append(f"{action} {key}: {page}")

    @property
    def counts(self) -> dict:
        return {a: len(v) for a, v in self.done.items()}


def _alerts(page: str) -> list[str]:
    return re.findall(r'class="alert[^"]*"[^>]*>([^<]*)<', page)[:3] or [page[:200]]


def run(root: Path, kills: int, *, drafts: int = 20, seed: int = 1) -> tuple[Site, Driver, Server]:
    """Seed, serve, drive and kill ``kills`` times (one in a hundred a whole-server
    kill, at least one); then let every kind of work succeed once more."""
    started = time.monotonic()
    site = prepare(
        root,
        drafts=max(drafts, kills // 3 + 5),
        awards=max(10, kills // 3 + 5),
        projects=max(2, kills // 40),
    )
    server = Server(site)
    server.start()
    driver = Driver(site, server)
    thread = threading.Thread(target=driver.run, daemon=True)
    thread.start()
    if not driver.ready.wait(timeout=60):
        server.stop()
        raise RuntimeError("the driver could not sign in")
    rng = random.Random(seed)
    driver.timings["seed+start"] = time.monotonic() - started
    try:
        for i in range(kills):
            time.sleep(rng.uniform(0.05, 0.5))
            if i % 100 == kills // 2 % 100:  # one whole-server kill per 100 (at least one)
                server.kill_all()
            else:
                server.kill_worker()
        driver.timings["kills"] = time.monotonic() - started - driver.timings["seed+start"]
        driver.calm.set()
        deadline = time.monotonic() + 30  # let each kind of work succeed at least once
        while time.monotonic() < deadline and not all(driver.counts.values()):
            time.sleep(0.1)
        driver.timings["total"] = time.monotonic() - started
    finally:
        driver.stop.set()
        thread.join(timeout=30)
        server.stop()
    return site, driver, server
