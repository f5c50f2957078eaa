"""Double-entry ledger: accounts, append-only transfers and entries, invariants."""
