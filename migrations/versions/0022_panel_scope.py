"""what a panel takes: its tumour scope (ICCC-3 subgroups, ICD-O-3 morphology codes) and the
family letter's words for who it is, with their sources (issue 20)

Fills the four panels of panel/data/panels.json by code, as that file stood when this was
written (later changes reach a deployment through `flask --app panel load-reference-data` or the
admin's panel page). A panel not listed here keeps an empty scope: it takes any tumour type.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 02:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

PANELS = {
    "NAP": {
        "takes_iccc": ["IVa"],
        "takes_morphology": [],
        "takes_words": "neuroblastoma",
        "takes_source": "CCLG parents' factsheet 'Treatment options for children with relapsed or refractory high-risk neuroblastoma' (undated; correct at its time of print), section 'CCLG Neuroblastoma National Advisory Panel': the panel's clinicians are 'the most experienced clinicians from around the UK in treating neuroblastoma', and the factsheet is about 'relapsed or refractory high-risk neuroblastoma'. ICCC-3 subgroup IVa (neuroblastoma and ganglioneuroblastoma, tumour_types.json) because Panel's neuroblastoma format (panel-case/1) has always recorded ganglioneuroblastoma histology for this panel (panel.caseformat.convert maps it to 9490/3); source date: undated; read for Panel 2026-12-07; unknown: Whether the NAP takes only high-risk disease, and whether it takes ganglioneuroblastoma, is not said by the factsheet: Panel does not refuse on risk group (not a tumour type), and takes IVa whole so that no stored NAP case is refused",
        "family_words": "The panel is a group of expert doctors from around the UK. They treat children with neuroblastoma.",
        "family_words_source": "CCLG parents' factsheet 'Treatment options for children with relapsed or refractory high-risk neuroblastoma' (undated; correct at its time of print), section 'CCLG Neuroblastoma National Advisory Panel' ('comprises the most experienced clinicians from around the UK in treating neuroblastoma'), in plain words; the words the family letter printed before issue 20; source date: undated; read for Panel 2026-12-07",
    },
    "ECMC-NORTH": {
        "takes_iccc": [],
        "takes_morphology": [],
        "takes_words": "any relapsed or refractory childhood cancer",
        "takes_source": "CCLG parents' factsheet 'Treatment options for children with relapsed or refractory high-risk neuroblastoma' (undated; correct at its time of print), section 'ECMC Regional Network Discussion Panels': 'individual cases of any relapsed/refractory cancers are discussed. The type and biology of your child's tumour is reviewed with the aim of identifying any targeted early phase trials that are available.'; source date: undated; read for Panel 2026-12-07; unknown: Upper age limit and which regional panel takes which centre's children are not in the factsheet (centres.json's ecmc_panel is Panel's demo configuration)",
        "family_words": "The panel looks at the type of tumour and at the changes in its genes. It looks for new medicines being tested in trials that may help.",
        "family_words_source": "CCLG parents' factsheet 'Treatment options for children with relapsed or refractory high-risk neuroblastoma' (undated; correct at its time of print), section 'ECMC Regional Network Discussion Panels' ('The type and biology of your child's tumour is reviewed with the aim of identifying any targeted early phase trials'), in plain words. Who sits on an ECMC panel (which professions) is unknown: the factsheet does not say, so the sentences say what the panel does, not who is on it; source date: undated; read for Panel 2026-12-07",
    },
    "ECMC-MIDLANDS-WEST": {
        "takes_iccc": [],
        "takes_morphology": [],
        "takes_words": "any relapsed or refractory childhood cancer",
        "takes_source": "CCLG parents' factsheet 'Treatment options for children with relapsed or refractory high-risk neuroblastoma' (undated; correct at its time of print), section 'ECMC Regional Network Discussion Panels': 'individual cases of any relapsed/refractory cancers are discussed. The type and biology of your child's tumour is reviewed with the aim of identifying any targeted early phase trials that are available.'; source date: undated; read for Panel 2026-12-07; unknown: Upper age limit and which regional panel takes which centre's children are not in the factsheet (centres.json's ecmc_panel is Panel's demo configuration)",
        "family_words": "The panel looks at the type of tumour and at the changes in its genes. It looks for new medicines being tested in trials that may help.",
        "family_words_source": "CCLG parents' factsheet 'Treatment options for children with relapsed or refractory high-risk neuroblastoma' (undated; correct at its time of print), section 'ECMC Regional Network Discussion Panels' ('The type and biology of your child's tumour is reviewed with the aim of identifying any targeted early phase trials'), in plain words. Who sits on an ECMC panel (which professions) is unknown: the factsheet does not say, so the sentences say what the panel does, not who is on it; source date: undated; read for Panel 2026-12-07",
    },
    "ECMC-LONDON-SOUTH": {
        "takes_iccc": [],
        "takes_morphology": [],
        "takes_words": "any relapsed or refractory childhood cancer",
        "takes_source": "CCLG parents' factsheet 'Treatment options for children with relapsed or refractory high-risk neuroblastoma' (undated; correct at its time of print), section 'ECMC Regional Network Discussion Panels': 'individual cases of any relapsed/refractory cancers are discussed. The type and biology of your child's tumour is reviewed with the aim of identifying any targeted early phase trials that are available.'; source date: undated; read for Panel 2026-12-07; unknown: Upper age limit and which regional panel takes which centre's children are not in the factsheet (centres.json's ecmc_panel is Panel's demo configuration)",
        "family_words": "The panel looks at the type of tumour and at the changes in its genes. It looks for new medicines being tested in trials that may help.",
        "family_words_source": "CCLG parents' factsheet 'Treatment options for children with relapsed or refractory high-risk neuroblastoma' (undated; correct at its time of print), section 'ECMC Regional Network Discussion Panels' ('The type and biology of your child's tumour is reviewed with the aim of identifying any targeted early phase trials'), in plain words. Who sits on an ECMC panel (which professions) is unknown: the factsheet does not say, so the sentences say what the panel does, not who is on it; source date: undated; read for Panel 2026-12-07",
    },
}

COLUMNS = (
    "takes_iccc",
    "takes_morphology",
    "takes_words",
    "takes_source",
    "family_words",
    "family_words_source",
)


def upgrade():
    # Plain ADD COLUMN (no batch): SQLite adds a column in place, and copying panels in a
    # batch would fail the foreign keys that point at it.
    op.add_column(
        "panels",
        sa.Column("takes_iccc", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )
    op.add_column(
        "panels",
        sa.Column("takes_morphology", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )
    op.add_column(
        "panels",
        sa.Column("takes_words", sa.String(length=200), nullable=False, server_default=""),
    )
    for name in ("takes_source", "family_words", "family_words_source"):
        op.add_column("panels", sa.Column(name, sa.Text(), nullable=False, server_default=""))
    panels = sa.table(
        "panels",
        sa.column("code", sa.String()),
        sa.column("takes_iccc", sa.JSON()),
        sa.column("takes_morphology", sa.JSON()),
        sa.column("takes_words", sa.String()),
        sa.column("takes_source", sa.Text()),
        sa.column("family_words", sa.Text()),
        sa.column("family_words_source", sa.Text()),
    )
    for code, values in PANELS.items():
        op.execute(panels.update().where(panels.c.code == code).values(**values))


def downgrade():
    # SQLite's own DROP COLUMN (3.35 and later), not a batch: a batch copies the table and drops
    # the old one, which the foreign keys pointing at panels (cases, roles, meetings) refuse.
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name in reversed(COLUMNS):
        if sqlite:
            op.execute(f"ALTER TABLE panels DROP COLUMN {name}")
        else:
            op.drop_column("panels", name)
