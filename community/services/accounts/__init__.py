"""Member accounts: creating users, roles, sign-in checks and API tokens."""
