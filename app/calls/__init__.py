"""Funds, calls (申报批次), their rules, amendments and rubric snapshots."""
