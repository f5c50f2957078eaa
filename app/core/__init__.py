"""Shared machinery: clock, money, errors, permissions, workflow, files, jobs."""
