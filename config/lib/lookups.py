"""``field__any_of=values``: the ``in`` lookup, written for PostgreSQL as
``field = ANY(%s::type[])`` with the values as one parameter.

Why: psycopg binds parameters on the client and caches the parsing of a
query only when it has at most 50 parameters; ``IN (%s, %s, ...)`` for a
chunk of 200 readers was parsed again, in Python, on every call (a tenth of
a sending worker's CPU went there). One parameter keeps the query text the
same whatever the number of values, so it is parsed once per process; and
it is the array's text (``{1,2,3}``), which psycopg escapes in C, not a
list, which it would escape element by element in Python. Elsewhere
(SQLite), or for values other than numbers and text, it is the ``in``
lookup unchanged.
"""

from django.core.exceptions import EmptyResultSet, FieldError
from django.db.models import Field, ForeignObject
from django.db.models.lookups import In


def pg_array(values) -> str | None:
    """PostgreSQL's text form of an array of ints or strings (``{1,2}``,
    ``{"a","b"}``); None for other values."""
    values = list(values)
    if all(type(v) is int for v in values):
        return "{" + ",".join(map(str, values)) + "}"
    if all(isinstance(v, str) for v in values):
        quoted = (v.replace("\\", "\\\\").replace('"', '\\"') for v in values)
        return "{" + ",".join(f'"{v}"' for v in quoted) + "}"
    return None


# Fields whose preparation leaves an int (or a str) as it is: for these,
# hundreds of plain values skip Django's per-value preparation.
_PLAIN = {
    int: {
        "AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField", "SmallIntegerField",
        "PositiveIntegerField", "PositiveBigIntegerField", "PositiveSmallIntegerField",
    },
    str: {"CharField", "TextField", "SlugField", "EmailField"},
}


def _plain(field, values: list) -> bool:
    """True when every value is of the one Python type ``field`` stores as is."""
    kind = type(values[0]) if values else None
    if kind not in _PLAIN:
        return False
    if field.is_relation:  # a foreign key compares with its target's values
        try:
            field = field.target_field
        except FieldError:  # several target fields
            return False
    return field.get_internal_type() in _PLAIN[kind] and all(type(v) is kind for v in values)


class AnyOf(In):
    lookup_name = "any_of"

    def get_prep_lookup(self):
        if self.rhs_is_direct_value():
            values = list(self.rhs)
            if _plain(self.lhs.output_field, values):
                return values
        return super().get_prep_lookup()

    def as_postgresql(self, compiler, connection):
        if not self.rhs_is_direct_value():  # a subquery stays IN (SELECT ...)
            return self.as_sql(compiler, connection)
        field = self.lhs.output_field
        # NULL never equals anything.
        values = [value for value in dict.fromkeys(self.rhs) if value is not None]
        if not _plain(field, values):
            values = [field.get_db_prep_value(value, connection, prepared=True) for value in values]
        if not values:
            raise EmptyResultSet
        array = pg_array(values)
        if array is None:
            return self.as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s::{field.cast_db_type(connection)}[])", [*lhs_params, array]


# Foreign keys keep their own list of lookups (values given as ids here).
Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)
