"""What every table module shares: one MetaData with a naming convention, id columns and the
check-constraint helpers."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, MetaData, String

from plugboard.domain.models import Environment

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING_CONVENTION)

ID = String(40)
ENVIRONMENTS = [e.value for e in Environment]


def one_of(column: str, values: list[str]) -> CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=f"{column}_valid")


def values_of(enum: type[object]) -> list[str]:
    return [member.value for member in enum]  # type: ignore[attr-defined]
