"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23

Territories (INSEE reference, optional boundaries), postcodes, commune aliases, venues (national
standard v1.0 fields), audit facts and API tokens. Spatial indexes: R*Tree on SpatiaLite, GiST on PostGIS.
"""
from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('territories', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('commune_aliases',
    sa.Column('code', sa.String(length=5), nullable=False),
    sa.Column('commune_code', sa.String(length=5), nullable=False),
    sa.Column('nature', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('postcodes',
    sa.Column('postcode', sa.String(length=5), nullable=False),
    sa.Column('commune_code', sa.String(length=5), nullable=False),
    sa.PrimaryKeyConstraint('postcode', 'commune_code')
    )
    with op.batch_alter_table('postcodes', schema=None) as batch_op:
        batch_op.create_index('ix_postcodes_commune', ['commune_code'], unique=False)

    op.create_geospatial_table('territories',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('code', sa.String(length=9), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('population', sa.Integer(), nullable=True),
    sa.Column('region_code', sa.String(length=3), nullable=True),
    sa.Column('departement_code', sa.String(length=3), nullable=True),
    sa.Column('epci_code', sa.String(length=9), nullable=True),
    sa.Column('epci_type', sa.String(length=8), nullable=True),
    sa.Column('boundary', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('reference_point', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.PrimaryKeyConstraint('pk')
    )
    with op.batch_alter_table('territories', schema=None) as batch_op:
        batch_op.create_geospatial_index('idx_territories_boundary', ['boundary'], unique=False, postgresql_using='gist', postgresql_ops={})
        batch_op.create_geospatial_index('idx_territories_reference_point', ['reference_point'], unique=False, postgresql_using='gist', postgresql_ops={})
        batch_op.create_index('ix_territories_departement', ['departement_code'], unique=False)
        batch_op.create_index('ix_territories_epci', ['epci_code'], unique=False)
        batch_op.create_index('ix_territories_kind_code', ['kind', 'code'], unique=True)
        batch_op.create_index('ix_territories_region', ['region_code'], unique=False)

    op.create_geospatial_table('venues',
    sa.Column('pk', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('origin', sa.String(length=100), nullable=False),
    sa.Column('origin_id', sa.String(length=200), nullable=True),
    sa.Column('publication_status', sa.String(length=16), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('commune_code', sa.String(length=5), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('pivot', sa.String(length=14), nullable=True),
    sa.Column('nom', sa.String(length=250), nullable=False),
    sa.Column('commune', sa.String(length=200), nullable=False),
    sa.Column('code_postal', sa.String(length=5), nullable=False),
    sa.Column('code_insee', sa.String(length=5), nullable=True),
    sa.Column('adresse', sa.String(length=500), nullable=False),
    sa.Column('complement_adresse', sa.String(length=500), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('typologie', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('telephone', sa.String(length=20), nullable=True),
    sa.Column('courriels', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('site_web', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('horaires', sa.Text(), nullable=True),
    sa.Column('presentation_resume', sa.String(length=280), nullable=True),
    sa.Column('presentation_detail', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('itinerance', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('structure_parente', sa.String(length=250), nullable=True),
    sa.Column('date_maj', sa.Date(), nullable=False),
    sa.Column('services', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('publics_specifiquement_adresses', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('prise_en_charge_specifique', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('frais_a_charge', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('dispositif_programmes_nationaux', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('formations_labels', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('autres_formations_labels', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('modalites_acces', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('modalites_accompagnement', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('fiche_acces_libre', sa.String(length=500), nullable=True),
    sa.Column('prise_rdv', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('pk'),
    sa.UniqueConstraint('id')
    )
    with op.batch_alter_table('venues', schema=None) as batch_op:
        batch_op.create_geospatial_index('idx_venues_geom', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
        batch_op.create_index('ix_venues_commune', ['commune_code'], unique=False)
        batch_op.create_index('ix_venues_origin', ['origin', 'origin_id'], unique=True)
        batch_op.create_index('ix_venues_status', ['publication_status'], unique=False)
        batch_op.create_index('ix_venues_updated', ['updated_at'], unique=False)

    op.create_table('audit_facts',
    sa.Column('pk', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('venue_pk', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('value_type', sa.String(length=16), nullable=False),
    sa.Column('value', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['venue_pk'], ['venues.pk'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pk')
    )
    with op.batch_alter_table('audit_facts', schema=None) as batch_op:
        batch_op.create_index('ix_audit_facts_venue_name', ['venue_pk', 'name', 'recorded_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('audit_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_facts_venue_name')

    op.drop_table('audit_facts')
    with op.batch_alter_table('venues', schema=None) as batch_op:
        batch_op.drop_index('ix_venues_updated')
        batch_op.drop_index('ix_venues_status')
        batch_op.drop_index('ix_venues_origin')
        batch_op.drop_index('ix_venues_commune')
        batch_op.drop_geospatial_index('idx_venues_geom', postgresql_using='gist', column_name='geom')

    op.drop_geospatial_table('venues')
    with op.batch_alter_table('territories', schema=None) as batch_op:
        batch_op.drop_index('ix_territories_region')
        batch_op.drop_index('ix_territories_kind_code')
        batch_op.drop_index('ix_territories_epci')
        batch_op.drop_index('ix_territories_departement')
        batch_op.drop_geospatial_index('idx_territories_reference_point', postgresql_using='gist', column_name='reference_point')
        batch_op.drop_geospatial_index('idx_territories_boundary', postgresql_using='gist', column_name='boundary')

    op.drop_geospatial_table('territories')
    with op.batch_alter_table('postcodes', schema=None) as batch_op:
        batch_op.drop_index('ix_postcodes_commune')

    op.drop_table('postcodes')
    op.drop_table('commune_aliases')
    op.drop_table('api_tokens')
