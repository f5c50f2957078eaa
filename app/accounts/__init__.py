"""Users, organisations, roles, login, sessions and API tokens."""
