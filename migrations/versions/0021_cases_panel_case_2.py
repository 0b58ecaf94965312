"""every stored case and revision becomes panel-case/2 (issue 20)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 02:40:00

``cases.data`` and ``case_revisions.document`` held ``panel-case/1`` (neuroblastoma only); they
are converted with ``panel.caseformat.convert.v1_to_v2``, which loses nothing
(``v2_to_v1(v1_to_v2(doc)) == doc`` is a property test). The downgrade converts back and
refuses while any case or revision is of another tumour type (``panel-case/1`` cannot hold it).
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

V1, V2 = "panel-case/1", "panel-case/2"

cases = sa.table("cases", sa.column("id", sa.Integer), sa.column("data", sa.JSON))
revisions = sa.table("case_revisions", sa.column("id", sa.Integer), sa.column("document", sa.JSON))


def _rows(table, column):
    bind = op.get_bind()
    return list(bind.execute(sa.select(table.c.id, table.c[column]).order_by(table.c.id)))


def _store(table, column, row_id, value):
    op.get_bind().execute(sa.update(table).where(table.c.id == row_id).values({column: value}))


def _is_v2(doc):
    return isinstance(doc, dict) and (doc.get("schema") == V2 or "modules" in doc)


def upgrade():
    from panel.caseformat.convert import v1_to_v2

    for table, column in ((cases, "data"), (revisions, "document")):
        for row_id, doc in _rows(table, column):
            if _is_v2(doc):
                continue
            _store(table, column, row_id, v1_to_v2({**(doc or {}), "schema": V1}))


def downgrade():
    from panel.caseformat.convert import NotConvertible, v2_to_v1

    converted = []
    for table, column in ((cases, "data"), (revisions, "document")):
        for row_id, doc in _rows(table, column):
            if not _is_v2(doc):
                continue
            try:
                back = v2_to_v1({**doc, "schema": V2})
            except NotConvertible as exc:
                raise RuntimeError(
                    f"cannot downgrade below 0021: {table.name} row {row_id} is not a "
                    f"neuroblastoma case ({exc}); export it as panel-case/2 and delete it first"
                ) from None
            converted.append((table, column, row_id, back))
    for table, column, row_id, back in converted:
        _store(table, column, row_id, back)
