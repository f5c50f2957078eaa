"""The home page per role and the navigation."""
