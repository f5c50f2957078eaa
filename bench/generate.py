"""Build a realistic dataset through the real operations.

    python -m bench.generate --scale tiny|provincial|national --db URL [--keep]

Everything up to the money goes through the operations the views call
(accounts, calls, applications, reviews, awards, ledger), under a simulated
clock, so the audit chain, the ledger and every CHECK constraint are real:

- provincial: 200 societies × 10 applications = 2,000 applications in one call,
  500 experts, a draw of 5 reviewers each (10,000 reviews, all scored), 300
  awards approved (the ledger COMMIT), the rest decided not funded, published,
  confirmed and the agreements signed (300 projects), then ≈100,000 ledger
  transfers (≈200,000 entries): tranche releases, payments, a few claw-backs
  and reversals.
- national: the provincial data set grown tenfold through the same operations
  (2,000 societies, 5,000 experts, nine more calls of 2,000 applications each:
  20,000 applications, 100,000 reviews, 3,000 projects); the nine calls' money
  (≈900,000 transfers) comes from a bulk loader that writes exactly the rows,
  hashes and balances ``ledger.transfer`` would (same bodies, idempotency
  keys, audit payloads; the chain is computed with
  ``verify_bundle.event_hash``). ``flask audit verify`` passes on it.
- tiny: a few of everything, in seconds, for smoke tests.

The database is created afresh (PostgreSQL: dropped and created on the server
of the URL; SQLite: the file replaced), migrated, filled and checked with the
same ``verify_all`` as ``flask audit verify``. Progress goes to stderr (tqdm).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tqdm import tqdm

from bench import common

_NAT_APPS = int(os.environ.get("BENCH_NATIONAL_APPS", 2_000))
SCALES = {
    "tiny": {
        "societies": 4,
        "apps_per_society": 3,
        "governments": 2,
        "expert_orgs": 8,
        "experts": 20,
        "k": 3,
        "awards": 5,
        "transfers": 400,
        "ledger_ops": 200,
        "bulk_transfers": 0,
    },
    "provincial": {
        "societies": 200,
        "apps_per_society": 10,
        "governments": 20,
        "expert_orgs": 100,
        "experts": 500,
        "k": 5,
        "awards": 300,
        "transfers": 100_000,
        # The first transfers go through the operations; the rest through the bulk
        # loader (bench/bulk.py), whose rows are identical (python -m bench.bulk --check).
        "ledger_ops": int(os.environ.get("BENCH_LEDGER_OPS", 10_000)),
        "bulk_transfers": 0,
    },
    "national": {
        # Built from a copy of the provincial data set (--from): societies and experts
        # grown tenfold, nine earlier calls of 2,000 applications each through the
        # operations, and ≈900,000 more transfers on their grants by the bulk loader.
        # BENCH_NATIONAL_CALLS / BENCH_NATIONAL_APPS shrink it for a smoke run.
        "societies": _NAT_APPS,
        "apps_per_society": 10,
        "calls_apps": _NAT_APPS,
        "governments": 20,
        "expert_orgs": max(100, _NAT_APPS // 2),
        "experts": max(500, _NAT_APPS * 5 // 2),
        "k": 5,
        "awards": 300 if _NAT_APPS >= 2000 else max(2, _NAT_APPS // 7),
        "transfers": 100_000,
        "ledger_ops": int(os.environ.get("BENCH_LEDGER_OPS", 10_000)),
        "extra_calls": int(os.environ.get("BENCH_NATIONAL_CALLS", 9)),
        "bulk_transfers": 900_000,
    },
}
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Beijing, a Monday
CATEGORIES = ("consulting", "talent", "key_tech", "transfer", "outreach")
HAN = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BATCH = 200


class SimClock:
    """The simulated time: every operation happens a little after the previous one."""

    def __init__(self, start: datetime):
        from app.core import clock

        self.clock, self.now = clock, start
        clock.set_now(start)

    def at(self, when: datetime) -> None:
        self.now = max(self.now, when)
        self.clock.set_now(self.now)

    def step(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.clock.set_now(self.now)


def _bar(total: int, desc: str, unit: str = "op"):
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, mininterval=1.0, leave=True)


def _prose(rnd: random.Random, n: int) -> str:
    return "".join(rnd.choice(HAN) for _ in range(n))


class Generator:
    def __init__(self, scale: str, seed: int = 20260302):
        self.p = SCALES[scale]
        self.scale = scale
        self.rnd = random.Random(seed)
        self.n = 0

    # --- people -----------------------------------------------------------------

    def _org(self, kind: str, name: str, **kw):
        from app.accounts import credit_code
        from app.accounts import operations as accounts

        self.n += 1
        return accounts.create_organisation(
            name, kind, actor=None, credit_code_text=credit_code.make(f"5133{self.n:013d}"), **kw
        )

    def _user(self, email: str, name: str, org, *roles):
        from app.accounts import operations as accounts

        return accounts.create_user(
            email, name, org.id, roles, password=common.PASSWORD, actor=None, bootstrap=True
        )

    def people(self, db):
        p = self.p
        dept = self._org("department", "省科协学会部")
        fin = self._org("finance", "省科协财务处")
        aud = self._org("audit", "省科协审计室")
        self.officers = [
            self._user(f"officer{i}@bench.cn", f"经办人{i}", dept, "officer") for i in range(3)
        ]
        self.approvers = [
            self._user(f"approver{i}@bench.cn", f"审批人{i}", dept, "approver") for i in range(2)
        ]
        self.finance = self._user("finance@bench.cn", "财务", fin, "finance")
        self.auditor = self._user("auditor@bench.cn", "审计", aud, "auditor")
        self._user("admin@bench.cn", "管理员", dept, "admin")
        db.session.commit()
        self.governments = [
            self._org("local_government", f"测试市{i}人民政府", city_code=f"33{i:02d}00")
            for i in range(p["governments"])
        ]
        self.societies, self.applicants, self.admins = [], [], []
        bar = _bar(p["societies"], "societies")
        for i in range(p["societies"]):
            org = self._org("society", f"浙江省测试学会{i:04d}")
            self.societies.append(org)
            self.applicants.append(
                self._user(f"applicant{i}@bench.cn", f"申报人{i}", org, "applicant")
            )
            self.admins.append(
                self._user(f"society{i}@bench.cn", f"秘书处{i}", org, "society_admin")
            )
            bar.update()
            if i % BATCH == BATCH - 1:
                db.session.commit()
        bar.close()
        db.session.commit()

    def stations(self, db):
        from app.stations import operations as stations

        self.station_of = {}
        parks = [
            stations.create_park(f"测试高新园区{i}", f"33{i:02d}00", actor=None)
            for i in range(len(self.governments))
        ]
        for i, org in enumerate(self.societies):
            g = i % len(self.governments)
            self.station_of[org.id] = stations.create_station(
                f"测试服务站{i:04d}",
                park_id=parks[g].id,
                government_id=self.governments[g].id,
                society_id=org.id,
                actor=None,
            )
        db.session.commit()

    def experts(self, db):

        p = self.p
        orgs = [self._org("expert_org", f"测试专家单位{i:03d}") for i in range(p["expert_orgs"])]
        db.session.commit()
        self._experts(db, orgs, range(p["experts"]), self.officers[0], "experts")

    def _experts(self, db, orgs, numbers, officer, label: str) -> None:
        """Expert ``j`` of ``numbers``: a reviewer account in ``orgs[j % len(orgs)]``
        and a pool entry with 3 of the 5 fields, through the operations."""
        from app.reviews import operations as reviews

        bar = _bar(len(numbers), label)
        for j in numbers:
            org = orgs[j % len(orgs)]
            user = self._user(f"expert{j}@bench.cn", f"专家{j}", org, "reviewer")
            fields = self.rnd.sample(CATEGORIES, 3)
            reviews.create_expert(
                {
                    "user_id": user.id,
                    "org_id": org.id,
                    "fields": fields,
                    "keywords": [f"关键词{self.rnd.randrange(200)}" for _ in range(4)],
                    "title": "教授",
                    "yearly_limit": 40,
                },
                actor=officer,
            )
            bar.update()
            if j % BATCH == BATCH - 1:
                db.session.commit()
        bar.close()
        db.session.commit()

    # --- the call and its applications -------------------------------------------

    def call(self, db, sim, index: int = 0, year: int = 2026):
        """The call of ``year`` with its own fund and appropriation (``index`` > 0: one of
        the national data set's earlier calls, one application per society)."""
        from app.calls import operations as calls
        from app.calls.models import DEFAULT_ATTACHMENTS, DEFAULT_BUDGET_LINES

        n_apps = self.p["calls_apps"] if index else self.p["societies"] * self.p["apps_per_society"]
        total = max(self.p["awards"] * 7_500_000, 50_000_000)  # every award fits
        name = "创新驱动助力工程专项资金" + (f"（{year}年度）" if index else "")
        self.fund = calls.create_fund(name, year, actor=None)
        # Twelve monthly appropriations would come later; the first covers the call.
        calls.record_appropriation(
            self.fund, total, actor=self.finance, reference=f"财预〔{year}〕1号"
        )
        rules = {
            "kind": "project",
            "title": f"{year}年度学会服务站项目申报",
            "title_en": f"{year} society service station projects",
            "guide": "申报指南正文。",
            "guide_en": "Guide text.",
            "categories": list(CATEGORIES),
            "opens_at": sim.now - timedelta(hours=1),
            "closes_at": sim.now + timedelta(days=30),
            "total_budget_fen": total,
            "project_cap_fen": 10_000_000,
            "per_society_limit": 1 if index else self.p["apps_per_society"],
            "budget_lines": [
                {"key": k, "zh": zh, "en": en, "cap_fen": None}
                for k, zh, en in DEFAULT_BUDGET_LINES
            ],
            "indirect_cap_pct": 10,
            "matching_required": False,
            "matching_ratio_pct": 0,
            # The earlier national calls asked for no attachments beyond the sealed
            # endorsement (it saves a fifth of each application's operations here).
            "required_attachments": []
            if index
            else [{"key": k, "zh": zh, "en": en} for k, zh, en in DEFAULT_ATTACHMENTS],
            "rubric_file": "assist-review.toml",
            "reviews_per_application": self.p["k"],
            "notice_days": 5,
            "number_pattern": "{year}-ZL-{seq:04d}",
            "max_returns": 1,
        }
        officer = self.officers[0]
        self.the_call = calls.create_call(self.fund.id, rules, actor=officer)
        calls.publish_call(self.the_call, actor=officer)
        calls.open_and_close_calls()
        db.session.commit()
        self.call_id = self.the_call.id
        self.n_apps = n_apps

    def _data(self, station, i: int) -> dict:
        rnd = self.rnd
        fund_fen = rnd.randrange(20, 60) * 100_000
        return {
            "title": f"{_prose(rnd, 8)}产业服务站建设{i}",
            "category": CATEGORIES[i % len(CATEGORIES)],
            "summary": _prose(rnd, 160),
            "objectives": _prose(rnd, 60),
            "station_id": station.id,
            "park_id": station.park_id,
            "co_government_id": station.government_id,
            "chief_expert": {"name": f"首席{i}", "title": "教授", "organisation": "测试大学"},
            "team": [
                {"name": f"成员{i}", "title": "高工", "organisation": "测试研究院", "role": "技术"}
            ],
            "excluded_experts": [],
            "pledge_integrity": True,
            "pledge_no_duplicate": True,
            "budget": [
                {
                    "line_key": "expert_fee",
                    "fund_fen": fund_fen,
                    "matching_fen": 0,
                    "self_raised_fen": 0,
                    "note": "",
                },
                {
                    "line_key": "travel",
                    "fund_fen": 1_000_000,
                    "matching_fen": 0,
                    "self_raised_fen": 500_000,
                    "note": "",
                },
                {
                    "line_key": "indirect",
                    "fund_fen": 300_000,
                    "matching_fen": 0,
                    "self_raised_fen": 0,
                    "note": "",
                },
            ],  # fmt: skip
            "targets": [
                {
                    "group": "output",
                    "indicator": "解决关键技术问题",
                    "unit": "项",
                    "target_value": str(rnd.randint(2, 6)),
                },
                {
                    "group": "effect",
                    "indicator": "服务企业数",
                    "unit": "家",
                    "target_value": str(rnd.randint(10, 40)),
                },
                {
                    "group": "satisfaction",
                    "indicator": "企业满意度",
                    "unit": "%",
                    "target_value": "90",
                },
            ],  # fmt: skip
            "milestones": [
                {
                    "seq": 0,
                    "title": "签订任务书",
                    "due_on": None,
                    "deliverables": "",
                    "tranche_pct": 60,
                },
                {
                    "seq": 1,
                    "title": "中期检查",
                    "due_on": date(2027, 6, 30),
                    "deliverables": _prose(rnd, 12),
                    "tranche_pct": 30,
                },
                {
                    "seq": 2,
                    "title": "结题验收",
                    "due_on": date(2027, 12, 31),
                    "deliverables": _prose(rnd, 12),
                    "tranche_pct": 10,
                },
            ],  # fmt: skip
        }

    def applications(self, db, sim):
        from app.applications import operations as apps

        call, officer = self.the_call, self.officers[1]
        per = self.p["apps_per_society"]
        gap = 28 * 86400 / self.n_apps
        self.app_ids = []
        bar = _bar(self.n_apps, "applications")
        for i in range(self.n_apps):
            s = i % len(self.societies)
            applicant, admin = self.applicants[s], self.admins[s]
            society = self.societies[s]
            row = apps.create_application(call, actor=applicant)
            apps.save_draft(
                row,
                self._data(self.station_of[society.id], i),
                actor=applicant,
                expected_version=row.version,
            )
            for kind in call.required_attachments:
                apps.add_attachment(
                    row, kind["key"], io.BytesIO(PDF), f"{kind['key']}.pdf", actor=applicant
                )
            sim.step(gap / 2)
            apps.submit_application(row, actor=applicant)
            apps.endorse_application(row, io.BytesIO(PDF), "sealed.pdf", actor=admin)
            apps.check_application(row, "accept", actor=officer)
            self.app_ids.append(row.id)
            sim.step(gap / 2)
            bar.update()
            if i % BATCH == BATCH - 1:
                db.session.commit()
        bar.close()
        db.session.commit()
        assert per >= 1

    # --- review --------------------------------------------------------------------

    def review(self, db, sim):
        from sqlalchemy import select

        from app.calls import operations as calls
        from app.reviews import operations as reviews
        from app.reviews.models import ReviewAssignment

        call, officer = self.the_call, self.officers[0]
        sim.at(sim.clock.as_utc(call.closes_at) + timedelta(minutes=5))
        calls.open_and_close_calls()
        calls.advance_call(call, "start_review", actor=officer)
        db.session.commit()
        sim.step(3600)
        t0 = time.perf_counter()
        draw = reviews.run_draw(call, actor=officer, seed=20260401)
        self.draw_seconds = time.perf_counter() - t0
        reviews.confirm_draw(draw, actor=officer)
        db.session.commit()
        ids = db.session.scalars(
            select(ReviewAssignment.id)
            .where(ReviewAssignment.call_id == call.id)
            .order_by(ReviewAssignment.id)
        ).all()
        rubric = reviews.sheet_rubric(db.session.get(ReviewAssignment, ids[0]))
        keys = [c.key for c in rubric.criteria]
        gap = 14 * 86400 / max(1, len(ids))
        bar = _bar(len(ids), "reviews")
        for n, assignment_id in enumerate(ids):
            row = db.session.get(ReviewAssignment, assignment_id)
            expert_user = row.expert.user
            reviews.respond(row, "accept", actor=expert_user, no_conflict=True, pledge=True)
            base = self.rnd.randint(5, 9)
            scores = {k: str(min(10, base + self.rnd.choice((-1, 0, 0, 1)))) for k in keys}
            reviews.submit_sheet(
                row,
                {"scores": scores, "overall_comment": "方案基本可行，建议细化绩效目标。"},
                actor=expert_user,
            )
            sim.step(gap)
            bar.update()
            if n % BATCH == BATCH - 1:
                db.session.commit()
                db.session.expunge_all()
        bar.close()
        db.session.commit()

    def finish(self, db, sim):
        """Close the round: every application of the main call moves to reviewed."""
        from app.reviews import operations as reviews

        self._reload(db)
        sim.step(3600)
        reviews.finish_round(self.the_call, actor=self.officers[0])
        db.session.commit()

    # --- awards (COMMIT) ---------------------------------------------------------

    def awards(self, db, sim):
        """The top applications get awards approved (COMMIT); grants = award ids.

        Uses app.awards when it is there and works; otherwise commits against the
        application ids directly (``ledger.commit``), as the brief allows.
        """
        from app.applications.models import Application
        from app.ledger import operations as ledger
        from app.reviews import operations as reviews

        self._reload(db)
        sim.step(86400)
        call = self.the_call
        ranking = reviews.rank_call(call)
        top = [r.application.id for r in ranking.rows][: self.p["awards"]]
        self.grants: list[tuple[int, int]] = []  # (grant id, amount)
        self.awards_via = "app.awards"
        try:
            from app.awards import operations as awards_ops
        except Exception as exc:  # noqa: BLE001 - reported: the module may not be there yet
            awards_ops, self.awards_via = None, f"ledger.commit (app.awards: {exc!r})"
        from sqlalchemy import select

        from app.calls.operations import balance_fen

        try:  # a resumed run keeps the awards already made
            from app.awards.models import Award

            made = {
                a.application_id: (a.id, a.amount_fen)
                for a in db.session.scalars(select(Award).where(Award.call_id == call.id))
            }
        except Exception:  # noqa: BLE001 - no awards module
            made = {}
        bar = _bar(len(top), "awards")
        for n, app_id in enumerate(top):
            if app_id in made:
                self.grants.append(made[app_id])
                bar.update()
                continue
            app = db.session.get(Application, app_id)
            amount = min(app.requested_fen, call.project_cap_fen)
            if amount > balance_fen(ledger.call_code(call.id)):
                break  # the call's budget is spent: the rest are not funded
            done = False
            if awards_ops is not None:
                try:
                    with db.session.begin_nested():
                        award = awards_ops.propose_award(
                            app, amount, "评审排名靠前，集体研究同意立项。", actor=self.officers[0]
                        )
                        awards_ops.approve_award(award, actor=self.approvers[0])
                    self.grants.append((award.id, amount))
                    done = True
                except Exception as exc:  # noqa: BLE001 - fall back, and say so
                    awards_ops = None
                    self.awards_via = f"ledger.commit (app.awards failed: {exc!r:.200})"
            if not done:
                ledger.commit(
                    call.id, app.id, amount, actor=self.approvers[0], key=f"award:{app.id}:commit"
                )
                self.grants.append((app.id, amount))
            sim.step(60)
            bar.update()
            if n % 50 == 49:
                db.session.commit()
        bar.close()
        db.session.commit()

    # --- decisions published, agreements signed: the projects ------------------------

    def projects(self, db, sim):
        """The rest of the call is decided not funded, the decisions are published, the
        notice runs out, the officer confirms, and every task agreement is sent and
        signed by the society's secretariat: the funded projects start (in_progress,
        with their milestones and tranches)."""
        from sqlalchemy import select

        from app.applications.models import Application
        from app.awards import operations as awards_ops
        from app.awards.models import Award, AwardNotice, TaskAgreement

        self._reload(db)
        call, officer = self.the_call, self.officers[0]
        funded = set(
            db.session.scalars(select(Award.application_id).where(Award.call_id == call.id))
        )
        rest = db.session.scalars(
            select(Application.id)
            .where(Application.call_id == call.id, Application.state == "reviewed")
            .order_by(Application.id)
        ).all()
        rest = [i for i in rest if i not in funded]
        bar = _bar(len(rest), "not funded")
        for n, app_id in enumerate(rest):
            app = db.session.get(Application, app_id)
            awards_ops.mark_not_funded(app, "评审排名未进入资助范围。", actor=officer)
            sim.step(5)
            bar.update()
            if n % BATCH == BATCH - 1:
                db.session.commit()
        bar.close()
        db.session.commit()
        sim.step(3600)
        self._reload(db)
        notice = awards_ops.publish_decisions(self.the_call, actor=self.officers[0])
        db.session.commit()
        if notice is None:
            return
        ends = db.session.get(AwardNotice, notice.id).ends_at
        sim.at(sim.clock.as_utc(ends) + timedelta(hours=1))
        self._reload(db)
        awards_ops.confirm_call(self.the_call, actor=self.officers[0])
        db.session.commit()
        admins = {u.org_id: u.id for u in self._users(db, "society")}
        ids = db.session.scalars(
            select(TaskAgreement.id)
            .where(TaskAgreement.call_id == call.id)
            .order_by(TaskAgreement.id)
        ).all()
        bar = _bar(len(ids), "agreements signed")
        from app.accounts.models import User

        for n, agreement_id in enumerate(ids):
            agreement = db.session.get(TaskAgreement, agreement_id)
            awards_ops.send_agreement(agreement, actor=self.officers[0])
            sim.step(600)
            signer = db.session.get(User, admins[agreement.society_id])
            awards_ops.sign_agreement(agreement, actor=signer)
            bar.update()
            if n % 50 == 49:
                db.session.commit()
                self._reload(db)
        bar.close()
        db.session.commit()

    def _users(self, db, prefix: str):
        from sqlalchemy import select

        from app.accounts.models import User

        return db.session.scalars(
            select(User).where(User.email.like(f"{prefix}%@bench.cn")).order_by(User.id)
        ).all()

    # --- the ledger ----------------------------------------------------------------

    def flows(self, n_transfers: int, grants, *, prefix: str, fund_id: int):
        """Transfer specs ``(code, args, kwargs)`` for the grants, about ``n_transfers`` in all.

        Per grant: three tranche releases (60/30/10 %) and payments against each;
        every 40th grant has a claw-back demanded and received; every 97th
        payment is reversed (a mistaken voucher) and paid again.
        """
        per_grant = max(4, n_transfers // max(1, len(grants)))
        for g, (grant_id, amount) in enumerate(grants):
            tranches = [amount * 60 // 100, amount * 30 // 100]
            tranches.append(amount - sum(tranches))
            payments = max(1, (per_grant - 3) // 3)
            paid = 0
            for t, tranche in enumerate(tranches):
                yield ("release", (grant_id, tranche), {"key": f"{prefix}{grant_id}:release:{t}"})
                left = tranche
                for k in range(payments):
                    part = left if k == payments - 1 else max(1, tranche // payments)
                    part = min(part, left)
                    if part <= 0:
                        break
                    left -= part
                    voucher = f"{prefix}PZ{grant_id}-{t}-{k}"
                    yield (
                        "disburse",
                        (grant_id, part),
                        {"key": f"{prefix}{grant_id}:pay:{t}:{k}", "voucher_no": voucher},
                    )
                    paid += 1
                    if paid % 97 == 0:
                        yield ("reverse_last", (), {"reason": "凭证号录入错误，冲正后重新支付。"})
                        yield (
                            "disburse",
                            (grant_id, part),
                            {
                                "key": f"{prefix}{grant_id}:repay:{t}:{k}",
                                "voucher_no": voucher + "R",
                            },
                        )
            if g % 40 == 39:
                back = max(1, amount // 50)
                yield ("clawback_demand", (grant_id, back), {"key": f"{prefix}{grant_id}:cb"})
                yield (
                    "clawback_received",
                    (grant_id, fund_id, back),
                    {"key": f"{prefix}{grant_id}:cbr"},
                )

    def ledger(self, db, sim):
        from sqlalchemy import func, select

        from app.ledger import operations as ledger
        from app.ledger.models import LedgerTransfer
        from bench import bulk

        self._reload(db)
        existing = db.session.scalar(select(func.count()).select_from(LedgerTransfer))
        target = self.p["transfers"] - existing
        specs = list(self.flows(target, self.grants, prefix="", fund_id=self.fund.id))
        gap = 300 * 86400 / max(1, len(specs))
        bar = _bar(len(specs), "ledger transfers", "transfer")
        last = None

        def who() -> dict:
            return {
                "release": self.approvers[1],
                "disburse": self.finance,
                "clawback_demand": self.officers[2],
                "clawback_received": self.finance,
                "reverse_last": self.finance,
            }

        actors = who()
        limit = self.p.get("ledger_ops", len(specs))
        loader = None
        self.ledger_split = (min(limit, len(specs)), max(0, len(specs) - limit))
        for n, (op, args, kw) in enumerate(specs):
            actor = actors[op]
            if n >= limit and loader is None and op != "reverse_last":
                db.session.commit()
                loader = bulk.BulkLedger(db, sim)
            if loader is not None:
                loader.add_named(op, args, kw, actors=actors, default=self.finance)
                if loader.pending >= 20_000:
                    loader.flush()
            elif op == "reverse_last":
                ledger.reverse(last, actor=actor, **kw)
            else:
                last = getattr(ledger, op)(*args, actor=actor, **kw).id
            sim.step(gap)
            bar.update()
            if loader is None and n % 500 == 499:
                db.session.commit()
                db.session.expunge_all()
                self._reload(db)
                actors = who()
        bar.close()
        if loader is not None:
            loader.finish()
        db.session.commit()

    def _reload(self, db):
        """The staff, the main call and its fund, read again (a commit and
        ``expunge_all`` leave the objects held so far detached)."""
        from sqlalchemy import select

        from app.accounts.models import User
        from app.calls.models import Call, Fund

        def users(prefix):
            return db.session.scalars(
                select(User).where(User.email.like(f"{prefix}%@bench.cn")).order_by(User.id)
            ).all()

        self.officers, self.approvers = users("officer"), users("approver")
        self.finance = users("finance")[0]
        call_id = getattr(self, "call_id", None)
        if call_id is None:
            self.the_call = db.session.scalars(select(Call).order_by(Call.id)).first()
        else:
            self.the_call = db.session.get(Call, call_id)
        self.fund = db.session.get(Fund, self.the_call.fund_id)

    def _load(self, db):
        """The people, the main call and the grants of an existing data set."""
        from sqlalchemy import func, select

        from app.ledger.models import LedgerTransfer

        self._reload(db)
        n = db.session.scalar(select(func.count()).where(LedgerTransfer.code == "COMMIT"))
        self.grants = [(0, 0)] * n

    # --- live work for the load test: drafts being written, sheets being scored ----------

    def live(self, db, sim):
        """A second call in review (accepted, unscored sheets) and a third open one with
        a draft per society, both around the real date, for the concurrent-users test.
        Works on an existing data set (``--add-live``)."""
        from sqlalchemy import select

        from app.accounts.models import Organisation, User
        from app.applications import operations as apps
        from app.calls import operations as calls
        from app.calls.models import Call
        from app.core import clock
        from app.reviews import operations as reviews
        from app.stations.models import Station

        def users(prefix):
            return db.session.scalars(
                select(User).where(User.email.like(f"{prefix}%@bench.cn")).order_by(User.id)
            ).all()

        officer, finance = users("officer")[0], users("finance")[0]
        applicants = {u.org_id: u for u in users("applicant")}
        admins = {u.org_id: u for u in users("society")}
        societies = db.session.scalars(
            select(Organisation).where(Organisation.kind == "society").order_by(Organisation.id)
        ).all()
        stations = {s.society_id: s for s in db.session.scalars(select(Station))}
        main_call = db.session.scalars(select(Call).order_by(Call.id)).first()
        clock.set_now(None)
        real_now = clock.now()
        n_review = max(2, len(societies) // 2)
        fund = calls.create_fund("创新驱动助力工程追加资金", 2026, actor=None)
        calls.record_appropriation(fund, 400_000_000, actor=finance, reference="财预〔2026〕9号")
        db.session.commit()

        def new_call(title, opens, closes, budget):
            rules = calls.rules_of(main_call)
            rules.update(
                title=title, opens_at=opens, closes_at=closes, total_budget_fen=budget,
                per_society_limit=1, number_pattern="{year}-ZX-{seq:04d}",
            )  # fmt: skip
            row = calls.create_call(fund.id, rules, actor=officer)
            calls.publish_call(row, actor=officer)
            calls.open_and_close_calls()
            return row

        # The call in review: applications from half the societies, a confirmed draw,
        # every invitation accepted and no sheet scored yet.
        start = real_now - timedelta(days=40)
        sim.now = start
        clock.set_now(start)
        review_call = new_call(
            "2026年度追加批次（评审中）", start, start + timedelta(days=20), 200_000_000
        )
        db.session.commit()
        bar = _bar(n_review, "live: review call")
        for i, org in enumerate(societies[:n_review]):
            sim.step(3600)
            row = apps.create_application(review_call, actor=applicants[org.id])
            apps.save_draft(row, self._data(stations[org.id], 90_000 + i),
                            actor=applicants[org.id], expected_version=row.version)  # fmt: skip
            for kind in review_call.required_attachments:
                apps.add_attachment(row, kind["key"], io.BytesIO(PDF), f"{kind['key']}.pdf",
                                    actor=applicants[org.id])  # fmt: skip
            apps.submit_application(row, actor=applicants[org.id])
            apps.endorse_application(row, io.BytesIO(PDF), "sealed.pdf", actor=admins[org.id])
            apps.check_application(row, "accept", actor=officer)
            bar.update()
            if i % BATCH == BATCH - 1:
                db.session.commit()
        bar.close()
        db.session.commit()
        sim.at(start + timedelta(days=21))
        calls.open_and_close_calls()
        calls.advance_call(review_call, "start_review", actor=officer)
        rows = reviews.confirm_draw(
            reviews.run_draw(review_call, actor=officer, seed=7), actor=officer
        )
        db.session.commit()
        for row in rows:
            sim.step(60)
            reviews.respond(row, "accept", actor=row.expert.user, no_conflict=True, pledge=True)
        db.session.commit()
        # The open call, on the real clock: one draft per society, saved complete.
        clock.set_now(None)
        draft_call = new_call(
            "2027年度学会服务站项目申报（申报中）", real_now - timedelta(hours=1),
            real_now + timedelta(days=30), 200_000_000,
        )  # fmt: skip
        db.session.commit()
        bar = _bar(len(societies), "live: drafts")
        for i, org in enumerate(societies):
            row = apps.create_application(draft_call, actor=applicants[org.id])
            apps.save_draft(row, self._data(stations[org.id], 95_000 + i),
                            actor=applicants[org.id], expected_version=row.version)  # fmt: skip
            bar.update()
            if i % BATCH == BATCH - 1:
                db.session.commit()
        bar.close()
        db.session.commit()

    # --- national: ten calls, 2,000 societies, 5,000 experts ------------------------------

    def national_calls(self, db, sim):
        """Nine earlier years' calls (2017–2025) run through the same operations as the
        first: 2,000 societies apply once each, a draw of 5 from 5,000 experts, every
        sheet scored, 300 awards approved, published, confirmed, agreements signed.
        With the provincial call that makes 20,000 applications, 100,000 reviews and
        3,000 projects. Their years lie before the live calls', so nothing here
        closes those."""
        calls_n = self.p.get("extra_calls", 0)
        if not calls_n:
            return
        self._load(db)
        self._grow(db)
        self.national_grants = []
        for index in range(1, calls_n + 1):
            year = 2016 + index
            sim = SimClock(datetime(year, 3, 2, 1, 0, tzinfo=UTC))
            self._reload(db)
            self._load_people(db)
            self.call(db, sim, index=index, year=year)
            self.applications(db, sim)
            self.review(db, sim)
            self.finish(db, sim)
            self.awards(db, sim)
            self.projects(db, sim)
            self.national_grants.append((self.fund.id, list(self.grants), sim.now))
            db.session.commit()
            db.session.expunge_all()

    def _grow(self, db):
        """Societies (with their station) and experts up to the national numbers."""
        from sqlalchemy import func, select

        from app.accounts.models import Organisation
        from app.reviews.models import Expert
        from app.stations import operations as stations
        from app.stations.models import HighTechPark

        p = self.p

        def orgs(kind):
            return db.session.scalars(
                select(Organisation).where(Organisation.kind == kind).order_by(Organisation.id)
            ).all()

        self.n = 10_000  # credit codes after the provincial ones
        self.governments = orgs("local_government")
        parks = db.session.scalars(select(HighTechPark).order_by(HighTechPark.id)).all()
        self.societies = orgs("society")
        start = len(self.societies)
        bar = _bar(max(0, p["societies"] - start), "societies (national)")
        for i in range(start, p["societies"]):
            org = self._org("society", f"浙江省测试学会{i:04d}")
            self._user(f"applicant{i}@bench.cn", f"申报人{i}", org, "applicant")
            self._user(f"society{i}@bench.cn", f"秘书处{i}", org, "society_admin")
            g = i % len(self.governments)
            stations.create_station(
                f"测试服务站{i:04d}",
                park_id=parks[g % len(parks)].id,
                government_id=self.governments[g].id,
                society_id=org.id,
                actor=None,
            )
            bar.update()
            if i % BATCH == BATCH - 1:
                db.session.commit()
        bar.close()
        db.session.commit()
        expert_orgs = orgs("expert_org")
        for i in range(len(expert_orgs), p["expert_orgs"]):
            expert_orgs.append(self._org("expert_org", f"测试专家单位{i:03d}"))
        db.session.commit()
        have = db.session.scalar(select(func.count()).select_from(Expert))
        officer = self._users(db, "officer")[0]
        numbers = range(have, p["experts"])
        self._experts(db, expert_orgs, numbers, officer, "experts (national)")

    def _load_people(self, db):
        """The societies, their applicant, secretariat and station, read again."""
        from sqlalchemy import select

        from app.accounts.models import Organisation
        from app.stations.models import Station

        self.societies = db.session.scalars(
            select(Organisation).where(Organisation.kind == "society").order_by(Organisation.id)
        ).all()
        by_org = {}
        for u in self._users(db, "applicant"):
            by_org.setdefault(("applicant", u.org_id), u)
        for u in self._users(db, "society"):
            by_org.setdefault(("society", u.org_id), u)
        self.applicants = [by_org[("applicant", o.id)] for o in self.societies]
        self.admins = [by_org[("society", o.id)] for o in self.societies]
        self.station_of = {}
        for st in db.session.scalars(select(Station).order_by(Station.id)):
            self.station_of.setdefault(st.society_id, st)

    # --- national: the ledger grown tenfold by the bulk loader ---------------------------

    def national_ledger(self, db, sim):
        """The money of the national calls' grants, by the bulk loader: ≈100,000
        transfers per call (tranches, payments, reversals, claw-backs), one second
        apart from the call's last operation on."""
        from bench import bulk

        n = self.p["bulk_transfers"]
        calls_done = getattr(self, "national_grants", None)
        if not n or not calls_done:
            return
        self._load(db)
        per_call = n // len(calls_done)
        bar = _bar(n, "bulk ledger (national)", "transfer")
        for fund_id, grants, when in calls_done:
            loader = bulk.BulkLedger(db, SimClock(when + timedelta(days=1)))
            for op, args, kw in self.flows(per_call, grants, prefix="bulk:", fund_id=fund_id):
                loader.add_named(
                    op, args, kw, actors={"release": self.approvers[1]}, default=self.finance
                )
                if loader.pending >= 20_000:
                    bar.update(loader.flush())
            bar.update(loader.flush())
            loader.finish()
            db.session.commit()
        bar.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="tiny")
    parser.add_argument("--db", required=True, help="database URL (created afresh)")
    parser.add_argument("--no-verify", action="store_true", help="skip the final audit verify")
    parser.add_argument(
        "--add-live", action="store_true", help="only add the live work to an existing data set"
    )
    parser.add_argument(
        "--from", dest="source", default=None,
        help="national: start from a copy of this provincial data set (its URL)",
    )  # fmt: skip
    parser.add_argument(
        "--resume-from", default=None,
        help="continue an interrupted run on its database from this step (e.g. finish)",
    )  # fmt: skip
    parser.add_argument("--bulk", type=int, default=None, help="bulk-loaded transfers (national)")
    args = parser.parse_args(argv)

    if args.source:
        common.copy_database(args.source, args.db)
    elif not (args.add_live or args.resume_from):
        common.recreate_database(args.db)
    upload = common.DATA_DIR / "files"
    app = common.make_app(args.db, upload_dir=upload)
    common.migrate(app)
    common.cheap_passwords()
    gen = Generator(args.scale)
    if args.bulk is not None:
        gen.p = {**gen.p, "bulk_transfers": args.bulk}
    started = time.perf_counter()
    timings = {}
    from app.audit.context import audit_context
    from app.core import clock
    from app.extensions import db

    with app.app_context(), audit_context(ip="127.0.0.1", user_agent="bench.generate"):
        sim = SimClock(START)
        try:
            steps = (
                ("people", lambda: gen.people(db)),
                ("stations", lambda: gen.stations(db)),
                ("experts", lambda: gen.experts(db)),
                ("call", lambda: gen.call(db, sim)),
                ("applications", lambda: gen.applications(db, sim)),
                ("review", lambda: gen.review(db, sim)),
                ("finish", lambda: gen.finish(db, sim)),
                ("awards", lambda: gen.awards(db, sim)),
                ("projects", lambda: gen.projects(db, sim)),
                ("ledger", lambda: gen.ledger(db, sim)),
                ("national_calls", lambda: gen.national_calls(db, sim)),
                ("national_ledger", lambda: gen.national_ledger(db, sim)),
                ("live", lambda: gen.live(db, sim)),
            )
            if args.resume_from:
                names = [n for n, _s in steps]
                steps = steps[names.index(args.resume_from) :]
                _resume_clock(db, sim)
            if args.add_live:
                steps = steps[-1:]
            elif args.source:
                steps = [s for s in steps if s[0] in ("national_calls", "national_ledger")]
            for name, step in steps:
                t0 = time.perf_counter()
                step()
                timings[name] = time.perf_counter() - t0
        finally:
            clock.set_now(None)
        summary = _summary(db)
        if not args.no_verify:
            from app.audit.verify import verify_all
            from app.ledger import invariants  # noqa: F401  (registers the ledger check)

            t0 = time.perf_counter()
            fault, last, head = verify_all()
            timings["verify"] = time.perf_counter() - t0
            if fault:
                print(f"FAIL {fault}", file=sys.stderr)
                return 1
            summary["verify"] = f"OK {last} events, head {head}"
    summary["awards_via"] = getattr(gen, "awards_via", "-")
    summary["ledger_ops_bulk"] = getattr(gen, "ledger_split", None)
    summary["seconds"] = {k: round(v, 1) for k, v in timings.items()}
    summary["total_seconds"] = round(time.perf_counter() - started, 1)
    for key, value in summary.items():
        print(f"{key}: {value}")
    _write_manifest(args, summary)
    return 0


def _resume_clock(db, sim) -> None:
    """Carry on a minute after the last event of the interrupted run."""
    from sqlalchemy import func, select

    from app.audit.models import AuditEvent

    last = db.session.scalar(select(func.max(AuditEvent.occurred_at)))
    sim.at(sim.clock.as_utc(last) + timedelta(minutes=1))


def _summary(db) -> dict:
    from sqlalchemy import func, select

    from app.applications.models import Application
    from app.audit.models import AuditEvent
    from app.ledger.models import LedgerEntry, LedgerTransfer
    from app.reviews.models import Expert, ReviewAssignment

    def count(model):
        return db.session.scalar(select(func.count()).select_from(model))

    return {
        "applications": count(Application),
        "experts": count(Expert),
        "reviews": count(ReviewAssignment),
        "transfers": count(LedgerTransfer),
        "entries": count(LedgerEntry),
        "audit_events": count(AuditEvent),
    }


def _write_manifest(args, summary) -> None:
    import json

    common.DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = common.DATA_DIR / "manifest.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[args.db.split("@")[-1]] = {"scale": args.scale, **summary}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    raise SystemExit(main())

__all__ = ["Generator", "SCALES", "main", "Path"]
