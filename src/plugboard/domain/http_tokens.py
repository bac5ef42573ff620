"""An HTTP token (RFC 9110 §5.6.2): what a header field's name and a method are made of. One
definition for the caller's headers checked by invoke (a ValidationError) and for the head our
wire transport writes (a protocol error)."""

from __future__ import annotations

__all__ = ["TOKEN"]

TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
