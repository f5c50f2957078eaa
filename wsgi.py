"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi …``."""

from app import create_app, tune_gc

app = create_app()
tune_gc()  # long-lived process: keep the import's objects out of the collections
