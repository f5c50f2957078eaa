"""Crash harness: the real server (gunicorn, one preloaded worker) on a committed SQLite
file and a files folder; a driver thread uploads, submits and appropriates through
the real forms while the harness SIGKILLs the process at random points.

Most kills hit the worker (the master forks a fresh one from the preloaded app, as
after an out-of-memory kill); some kill the whole server, which is started again.
Afterwards ``check`` runs the command line (``flask audit verify``, ``flask files
gc``) and looks for half-applied work.
"""

from __future__ import annotations

import contextlib
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
    fund_id: int = 0
    applicant: str = ""
    finance: str = ""
    password: str = "Passw0rd-crash"

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


def prepare(root: Path, drafts: int) -> Site:
    """Migrate a fresh database and seed an officer, finance, a fund and complete drafts."""
    site = Site(root)
    (root / "files").mkdir(parents=True, exist_ok=True)
    code = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import flask_migrate
from tests.conftest import _accounts_ops  # cheap password hashes, like the tests
from app import create_app
from app.audit.context import audit_context
from app.extensions import db
from tests import factories
app = create_app({{"SQLALCHEMY_DATABASE_URI": {site.url!r},
                  "UPLOAD_DIR": {str(root / "files")!r}, "ENV_NAME": "development"}})
with app.app_context():
    flask_migrate.upgrade()
with app.app_context(), audit_context(actor_role="system", user_agent="crash-seed"):
    officer = factories.user("officer")
    finance = factories.user("finance", password={site.password!r})
    applicant = factories.user("applicant", password={site.password!r})
    call = factories.call(officer=officer, per_society_limit=100)
    fund = factories.fund(amount_fen=0)
    ids = [factories.application(call, applicant).id for _ in range({drafts})]
    db.session.commit()
    print(fund.id, applicant.email, finance.email, *ids)
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=site.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if out.returncode:
        raise RuntimeError(f"seeding failed:\n{out.stderr[-3000:]}")
    out = out.stdout.split()
    site.fund_id, site.applicant, site.finance = int(out[0]), out[1], out[2]
    site.drafts = [int(x) for x in out[3:]]
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
    """A cookie-keeping HTTP client that posts forms with their CSRF token."""

    def __init__(self, server: Server):
        self.server = server
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )
        self.token = ""

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
        _status, body = self.request("/login")
        match = _CSRF.search(body.decode("utf-8", "replace"))
        self.token = match.group(1) if match else ""

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

    def login(self, email: str, password: str) -> None:
        self.refresh_token()
        status, _ = self.post("/login", {"email": email, "password": password})
        if status != 302:
            raise RuntimeError(f"login of {email} answered {status}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Driver:
    """Keeps sending work while the server is being killed; counts what it sent."""

    site: Site
    server: Server
    sent: dict = field(default_factory=lambda: {"upload": 0, "submit": 0, "appropriate": 0})
    statuses: dict = field(default_factory=dict)  # (action, status) → count
    redirects: list = field(default_factory=list)  # (action, status, location)
    errors: list = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    ready: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        rng = random.Random(42)
        applicant, finance = Browser(self.server), Browser(self.server)
        applicant.login(self.site.applicant, self.site.password)
        finance.login(self.site.finance, self.site.password)
        self.ready.set()
        drafts = list(self.site.drafts)
        while not self.stop.is_set():
            action = rng.choice(("upload", "upload", "submit", "appropriate", "appropriate"))
            try:
                if action == "upload" and len(drafts) > 1:
                    content = PDF + f"% {uuid.uuid4().hex}\n".encode() * rng.randint(1, 2000)
                    status, _ = applicant.post(
                        f"/applications/{drafts[-1]}/attachments",
                        {"kind": "agreement"},
                        {"file": ("协议.pdf", content)},
                    )
                elif action == "submit" and len(drafts) > 1:
                    status, _ = applicant.post(f"/applications/{drafts.pop(0)}/submit", {})
                else:
                    status, _ = finance.post(
                        "/ledger/appropriate",
                        {
                            "fund_id": str(self.site.fund_id),
                            "amount": f"{rng.randint(1, 10**6)}.{rng.randint(0, 99):02d}",
                            "memo": "crash",
                            "request_key": uuid.uuid4().hex,
                        },
                    )
                self.sent[action] += 1
                self.statuses[action, status] = self.statuses.get((action, status), 0) + 1
                if status in (302, 303):
                    where = (applicant if action != "appropriate" else finance).location
                    self.redirects.append((action, status, where))
                if status == 400:  # e.g. the session's token: take a fresh one
                    applicant.refresh_token()
                    finance.refresh_token()
                elif status >= 500:
                    self.errors.append(f"{action}: {status}")
            except (urllib.error.URLError, http.client.HTTPException, OSError):
                time.sleep(0.02)  # the server is down: that is the point


def run(root: Path, kills: int, *, drafts: int = 40, seed: int = 1) -> tuple[Site, Driver, Server]:
    """Seed, serve, drive and kill ``kills`` times (every tenth a whole-server kill)."""
    site = prepare(root, drafts=max(drafts, kills // 4 + 5))
    server = Server(site)
    server.start()
    driver = Driver(site, server)
    thread = threading.Thread(target=driver.run, daemon=True)
    thread.start()
    if not driver.ready.wait(timeout=60):
        server.stop()
        raise RuntimeError("the driver could not sign in")
    rng = random.Random(seed)
    try:
        for i in range(kills):
            time.sleep(rng.uniform(0.05, 0.5))
            if i % 100 == kills // 2 % 100:  # one whole-server kill per 100 (at least one)
                server.kill_all()
            else:
                server.kill_worker()
        deadline = time.monotonic() + 30  # let each kind of work succeed at least once more
        done = {(a, s) for (a, s) in driver.statuses if s in (200, 302)}
        while time.monotonic() < deadline and {a for a, _s in done} != set(driver.sent):
            time.sleep(0.1)
            done = {(a, s) for (a, s) in driver.statuses if s in (200, 302)}
    finally:
        driver.stop.set()
        thread.join(timeout=30)
        server.stop()
    return site, driver, server
