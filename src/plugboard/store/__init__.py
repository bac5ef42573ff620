"""Persistence: tables, migrations and repositories. Secrets are sealed and opened here, so nothing
above this layer sees ciphertext and nothing below it sees plaintext."""
