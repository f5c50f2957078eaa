"""Bulk-load ledger transfers exactly as ``app.ledger.operations`` would write them.

For the national scale: a million transfers one by one through the operations
would take hours, so this loader replays ``posting._post`` in memory — the same
request body and body hash, the same tag merging, the same new-account tags,
the same balance rule (``InsufficientBalance`` raised the same way), the same
audit payload (``ledger.<code>``, entity ``transfer``, the actor's primary role,
the context's ip / user agent / request id) — and writes the rows with
executemany, computing the chain with ``verify_bundle.event_hash``. Cached
account totals and the audit head are written at the end. ``flask audit
verify`` re-derives every hash and ledger invariant, which is the check.

The tiny scale compares it with the operations (``python -m bench.bulk --check``):
the same specs through both paths must give identical rows apart from the ids.
"""

from __future__ import annotations

from sqlalchemy import func, insert, select, text, update

from app.audit import context
from app.audit.models import AuditEvent, AuditHead
from app.audit.verify_bundle import event_hash
from app.core import clock
from app.ledger.models import WORLD, LedgerAccount, LedgerEntry, LedgerTransfer
from app.ledger.operations import posting

A = LedgerAccount.__table__
T = LedgerTransfer.__table__
E = LedgerEntry.__table__
EV = AuditEvent.__table__


class BulkLedger:
    """Accumulates transfers in memory and writes them in batches."""

    def __init__(self, db, sim=None):
        self.db, self.sim = db, sim
        s = db.session
        self.accounts = {
            r.code: dict(r._mapping) for r in s.execute(select(A)).all()
        }  # code → row dict (cached totals included)
        self.changed: set[str] = set()
        self.next_transfer = (s.scalar(select(func.max(T.c.id))) or 0) + 1
        self.next_entry = (s.scalar(select(func.max(E.c.id))) or 0) + 1
        self.next_account = (s.scalar(select(func.max(A.c.id))) or 0) + 1
        head = s.execute(select(AuditHead.__table__).where(AuditHead.__table__.c.id == 1)).one()
        self.seq, self.head = head.seq, head.hash
        self.keys = set()
        self.transfers, self.entries, self.events = [], [], []
        self.last: dict | None = None
        self.by_id: dict[int, dict] = {}
        self.pending = 0

    # --- one transfer --------------------------------------------------------------

    def _account(self, code: str, kind: str, tags: dict) -> dict:
        row = self.accounts.get(code)
        if row is not None:
            return row
        row = {
            "id": self.next_account,
            "code": code,
            "kind": kind,
            "may_go_negative": code == WORLD,
            "fund_id": tags.get("fund_id"),
            "call_id": tags.get("call_id"),
            "grant_id": tags.get("grant_id"),
            "debits_fen": 0,
            "credits_fen": 0,
        }
        self.next_account += 1
        # Accounts go in at once: the transfers refer to them.
        self.db.session.execute(insert(A), [row])
        self.accounts[code] = row
        return row

    def add(
        self, code, from_code, to_code, amount_fen, *, actor, key, fund_id=None, call_id=None,
        grant_id=None, voucher_no=None, memo=None, reverses_id=None,
    ) -> dict:  # fmt: skip
        """One transfer, as ``posting._post`` would record it; returns the transfer row."""
        if key in self.keys:
            raise ValueError(f"idempotency key reused in the bulk load: {key}")
        posting._check_amount(amount_fen)
        from_kind, from_own = posting._kind_of(from_code)
        to_kind, to_own = posting._kind_of(to_code)
        if code != "REVERSAL" and posting.ROUTES.get(code) != (from_kind, to_kind):
            raise ValueError(f"{code} does not go {from_kind} → {to_kind}")
        tags = {"fund_id": fund_id, "call_id": call_id, "grant_id": grant_id}
        body = {
            "code": code, "from": from_code, "to": to_code, "amount_fen": amount_fen, **tags,
            "voucher_no": voucher_no, "memo": memo, "reverses_id": reverses_id,
        }  # fmt: skip
        body_hash = posting._body_hash(body)
        tags = dict(tags)
        posting._merge(tags, from_own)
        posting._merge(tags, to_own)
        source, target = self.accounts.get(from_code), self.accounts.get(to_code)
        if source is None and from_kind != "world":
            raise posting.InsufficientBalance(f"{from_code} holds nothing")
        for row in (source, target):
            if row is not None and row["kind"] != "world":
                posting._merge(tags, {n: row[n] for n in ("fund_id", "call_id")})
        if source is None:
            source = self._account(from_code, from_kind, {})
        if target is None:
            target = self._account(to_code, to_kind, posting._account_tags(to_kind, to_own, tags))
        if not source["may_go_negative"] and (
            source["credits_fen"] - source["debits_fen"] < amount_fen
        ):
            raise posting.InsufficientBalance(f"{from_code} holds less than {amount_fen}")
        source["debits_fen"] += amount_fen
        target["credits_fen"] += amount_fen
        self.changed.update((from_code, to_code))
        now = clock.now()
        transfer = {
            "id": self.next_transfer, "code": code, "from_account_id": source["id"],
            "to_account_id": target["id"], "amount_fen": amount_fen, "idempotency_key": key,
            "body_hash": body_hash, "fund_id": tags.get("fund_id"),
            "call_id": tags.get("call_id"), "grant_id": tags.get("grant_id"),
            "voucher_no": voucher_no, "memo": memo, "reverses_id": reverses_id,
            "occurred_at": now, "created_by_id": getattr(actor, "id", None),
        }  # fmt: skip
        self.next_transfer += 1
        self.keys.add(key)
        self.transfers.append(transfer)
        for account, debit, credit in ((source, amount_fen, 0), (target, 0, amount_fen)):
            self.entries.append(
                {
                    "id": self.next_entry, "transfer_id": transfer["id"],
                    "account_id": account["id"], "debit_fen": debit, "credit_fen": credit,
                }
            )  # fmt: skip
            self.next_entry += 1
        after = {
            "code": code, "from": from_code, "to": to_code, "amount_fen": amount_fen,
            "fund_id": transfer["fund_id"], "call_id": transfer["call_id"],
            "grant_id": transfer["grant_id"], "voucher_no": voucher_no,
        }  # fmt: skip
        if reverses_id is not None:
            after["reverses_id"] = reverses_id
        self._event(
            f"ledger.{code.lower()}", str(transfer["id"]), actor, after,
            memo if code == "REVERSAL" else None, now,
        )  # fmt: skip
        transfer["_from_code"], transfer["_to_code"] = from_code, to_code
        self.last = transfer
        self.by_id[transfer["id"]] = transfer
        self.pending += 1
        if self.sim is not None:
            self.sim.step(1)
        return transfer

    def _event(self, action, entity_id, actor, after, reason, now) -> None:
        ctx = context.current()
        actor_id, org_id, role = ctx.actor_id, ctx.org_id, ctx.actor_role
        if actor is not None:
            actor_id, org_id = actor.id, actor.org_id
            if actor_id != ctx.actor_id or not role:
                role = actor.primary_role
        self.seq += 1
        event = {
            "seq": self.seq, "occurred_at": now, "actor_id": actor_id, "actor_role": role,
            "org_id": org_id, "ip": ctx.ip, "user_agent": (ctx.user_agent or "")[:400] or None,
            "request_id": ctx.request_id, "action": action, "entity_type": "transfer",
            "entity_id": entity_id, "before": None, "after": after, "reason": reason,
        }  # fmt: skip
        payload = {**event, "occurred_at": clock.rfc3339(now)}
        event["prev_hash"] = self.head
        event["hash"] = self.head = event_hash(self.head, payload)
        self.events.append(event)

    def add_named(self, op: str, args, kw, *, actors: dict, default) -> dict:
        """The named wrappers of ``app.ledger.operations`` (and reversing the last transfer)."""
        actor = actors.get(op, default)
        g = posting.grant_code
        if op == "reverse_last":
            original = self.last
            return self.add(
                "REVERSAL", original["_to_code"], original["_from_code"], original["amount_fen"],
                actor=actor, key=f"reversal:{original['id']}", fund_id=original["fund_id"],
                call_id=original["call_id"], grant_id=original["grant_id"],
                voucher_no=original["voucher_no"], memo=kw["reason"], reverses_id=original["id"],
            )  # fmt: skip
        if op == "release":
            grant, amount = args
            return self.add("RELEASE", g(grant, "committed"), g(grant, "payable"), amount,
                            actor=actor, key=kw["key"], grant_id=grant)  # fmt: skip
        if op == "disburse":
            grant, amount = args
            return self.add("DISBURSE", g(grant, "payable"), g(grant, "disbursed"), amount,
                            actor=actor, key=kw["key"], grant_id=grant,
                            voucher_no=kw["voucher_no"])  # fmt: skip
        if op == "clawback_demand":
            grant, amount = args
            return self.add("CLAWBACK_DEMAND", g(grant, "disbursed"), g(grant, "clawback_due"),
                            amount, actor=actor, key=kw["key"], grant_id=grant)  # fmt: skip
        if op == "clawback_received":
            grant, fund, amount = args
            return self.add("CLAWBACK_RECEIVED", g(grant, "clawback_due"),
                            posting.fund_code(fund), amount, actor=actor, key=kw["key"],
                            fund_id=fund, grant_id=grant)  # fmt: skip
        raise ValueError(op)

    # --- writing -------------------------------------------------------------------

    def flush(self) -> int:
        """Write the accumulated rows; returns how many transfers were written."""
        s = self.db.session
        n = len(self.transfers)
        if n:
            rows = [{k: v for k, v in t.items() if not k.startswith("_")} for t in self.transfers]
            s.execute(insert(T), rows)
            s.execute(insert(E), self.entries)
            s.execute(insert(EV), self.events)
        self.transfers, self.entries, self.events = [], [], []
        # Keep the last transfer for a reversal; forget the others.
        self.by_id = {self.last["id"]: self.last} if self.last else {}
        self.pending = 0
        s.commit()
        return n

    def finish(self) -> None:
        """Write the rest, the cached totals of the accounts touched and the audit head."""
        self.flush()
        s = self.db.session
        for code in sorted(self.changed):
            row = self.accounts[code]
            s.execute(
                update(A)
                .where(A.c.id == row["id"])
                .values(debits_fen=row["debits_fen"], credits_fen=row["credits_fen"])
            )
        s.execute(
            update(AuditHead.__table__)
            .where(AuditHead.__table__.c.id == 1)
            .values(seq=self.seq, hash=self.head)
        )
        if s.get_bind().dialect.name == "postgresql":
            for table in ("ledger_account", "ledger_transfer", "ledger_entry"):
                s.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
        s.commit()
        self.changed.clear()


def _compare(url_ops: str, url_bulk: str) -> int:
    """Replay the tiny data set's ledger flows both ways and compare every row."""
    from bench import common, generate

    results = {}
    for label, url in (("ops", url_ops), ("bulk", url_bulk)):
        common.recreate_database(url)
        app = common.make_app(url)
        common.migrate(app)
        common.cheap_passwords()
        from app.audit.context import audit_context
        from app.extensions import db

        with app.app_context(), audit_context(ip="127.0.0.1", user_agent="bench", request_id="r1"):
            sim = generate.SimClock(generate.START)
            gen = generate.Generator("tiny")
            gen.people(db)
            from app.calls import operations as calls
            from app.ledger import operations as ledger

            fund = calls.create_fund("对比资金", 2026, actor=None)
            calls.record_appropriation(fund, 10**9, actor=gen.finance, reference="X")
            ledger.reserve(fund.id, 77, 10**9, actor=gen.officers[0], key="call:77:reserve")
            db.session.commit()
            grants = [(500 + i, 3_000_000 + i) for i in range(6)]
            specs = [
                ("commit", (77, g, a), {"key": f"award:{g}:commit"}) for g, a in grants
            ] + list(gen.flows(300, grants, prefix="", fund_id=fund.id))
            actor = gen.finance
            if label == "ops":
                last = None
                for op, args, kw in specs:
                    if op == "reverse_last":
                        ledger.reverse(last, actor=actor, **kw)
                    else:
                        last = getattr(ledger, op)(*args, actor=actor, **kw).id
                    sim.step(1)
                db.session.commit()
            else:
                loader = BulkLedger(db, sim)
                for op, args, kw in specs:
                    if op == "commit":
                        c, g, a = args
                        committed = posting.grant_code(g, "committed")
                        loader.add("COMMIT", posting.call_code(c), committed, a, actor=actor,
                                   key=kw["key"], call_id=c, grant_id=g)  # fmt: skip
                    else:
                        loader.add_named(op, args, kw, actors={}, default=actor)
                loader.finish()
            clock.set_now(None)
            from app.audit.verify import verify_all
            from app.ledger import invariants  # noqa: F401

            fault, last_seq, head = verify_all()
            dump = {}
            for table in (A, T, E, EV):
                cols = [c for c in table.c if c.name not in ("id",)]
                dump[table.name] = [
                    tuple(r) for r in db.session.execute(select(*cols).order_by(*table.primary_key))
                ]
            results[label] = (fault, last_seq, head, dump)
            db.session.remove()
            db.engine.dispose()
    ok = True
    for label, (fault, last_seq, head, _d) in results.items():
        print(f"{label}: verify {'OK' if fault is None else fault} {last_seq} events, head {head}")
    for table in results["ops"][3]:
        same = results["ops"][3][table] == results["bulk"][3][table]
        ok &= same
        print(f"{table}: {'identical' if same else 'DIFFERENT'}")
    ok &= results["ops"][2] == results["bulk"][2]
    print("heads identical" if results["ops"][2] == results["bulk"][2] else "heads DIFFER")
    for url in (url_ops, url_bulk):
        common.drop_database(url)
    return 0 if ok else 1


if __name__ == "__main__":
    import sys

    from bench import common

    if "--check" in sys.argv:
        kind = "postgresql" if "--pg" in sys.argv else "sqlite"
        raise SystemExit(
            _compare(
                common.url_for_db(kind, "grants_bench_cmp_ops"),
                common.url_for_db(kind, "grants_bench_cmp_bulk"),
            )
        )
