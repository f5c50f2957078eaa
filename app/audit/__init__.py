"""The hash-chained audit trail: append, verify, export, auditors' views."""
