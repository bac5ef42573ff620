"""Pure domain layer: plain values and rules.

Never imports fastapi, sqlalchemy or httpx2 (tests/unit/test_layers.py checks it).
"""
