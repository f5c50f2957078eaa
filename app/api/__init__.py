"""The auditors' read-only API under /api/v1/."""
