"""Territory layers, territories and the site ↔ territory assignment history (domain.md §4.3).

Geometries are EPSG:4326. `territory.geom` is validated by the database (a trigger that names the fault
location, plus a CHECK as a backstop) because GIS users also edit it directly in QGIS.
`territory_part` holds `ST_Subdivide` pieces of each territory, kept in step by a trigger, so that
point-in-polygon assignment probes small polygons (see `spatial.assignment`).
`territory_version` is the history of each territory's code, name and geometry, written by the same
triggers, so edits made in QGIS are recorded too.
"""

from __future__ import annotations

import datetime as dt
import uuid

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, Timestamped

LAYER_KINDS = ("partition", "overlay")
# initial: a site's first row in a layer, valid from its start date (or '-infinity' when unknown)
ASSIGNMENT_METHODS = ("initial", "point_in_polygon", "manual")


class TerritoryLayer(Base):
    """A set of territories. `partition`: every point lies in at most one territory; `overlay`: may overlap."""

    __tablename__ = "territory_layer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    # partition layers: current territories may overlap by at most this geodesic area (checked at commit)
    overlap_tolerance_m2: Mapped[float] = mapped_column(Double, nullable=False, server_default=text("10000"))

    __table_args__ = (
        CheckConstraint("kind IN ('partition', 'overlay')", name="kind_known"),
        CheckConstraint("overlap_tolerance_m2 >= 0", name="overlap_tolerance_m2_non_negative"),
        # the GIS routes' own layers (server/gis.py): /tiles/sites, /tiles/states, OGC collection `sites`
        CheckConstraint("code NOT IN ('sites', 'states')", name="code_not_reserved"),
        CheckConstraint(r"code ~ '^[a-z0-9][a-z0-9-]*$'", name="code_format"),
    )


class Territory(Timestamped, Base):
    __tablename__ = "territory"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_id: Mapped[int] = mapped_column(
        ForeignKey("territory_layer.id", ondelete="CASCADE"), nullable=False
    )
    code: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    source_district: Mapped[str | None] = mapped_column(Text)
    # any geometry type in the column, so a Polygon reaches the trigger (which stores it as a one-part
    # MultiPolygon); the CHECK makes PostGIS' geometry_columns report MULTIPOLYGON to QGIS
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    # geodesic area, km²; set by the validating trigger so no client has to keep it in step
    area_km2: Mapped[float] = mapped_column(Double, nullable=False, server_default=text("0"))
    # tie rule (domain.md §4.3): frozen at creation by the trigger (area then), kept across edits
    priority: Mapped[float] = mapped_column(Double, nullable=False, server_default=FetchedValue())
    # retired: no parts, no sites, history kept (migration 0009)
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # the application caller's token subject, else the database login (set by the trigger)
    created_by: Mapped[str | None] = mapped_column(Text, server_default=FetchedValue())
    updated_by: Mapped[str | None] = mapped_column(Text, server_default=FetchedValue())
    # the transaction that made the current version (one version per transaction)
    changed_xact: Mapped[int | None] = mapped_column(BigInteger, server_default=FetchedValue())

    __table_args__ = (
        UniqueConstraint("layer_id", "code", name="uq_territory_layer_id_code"),
        CheckConstraint("ST_IsValid(geom)", name="geom_valid"),
        CheckConstraint("NOT ST_IsEmpty(geom)", name="geom_not_empty"),
        CheckConstraint(
            "ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90",
            name="geom_in_lon_lat_range",
        ),
        CheckConstraint("geometrytype(geom) = 'MULTIPOLYGON'::text", name="geom_multipolygon"),
        CheckConstraint("priority >= 0 AND priority < 'Infinity'::double precision", name="priority_finite"),
        Index("ix_territory_geom", "geom", postgresql_using="gist"),
    )


class TerritoryVersion(Base):
    """One version of a territory (code, name, geometry) and its period `[valid_from, valid_to)`.

    Written by the territory triggers only, at commit (migration 0009): a version on insert, a new one for
    each transaction that changes geometry, name or code (its instant closes the previous one). `valid_from` '-infinity' = since the
    beginning of the record (territories loaded by `towne import`); versions of a territory never overlap.
    """

    __tablename__ = "territory_version"

    territory_id: Mapped[int] = mapped_column(
        ForeignKey("territory.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False
    )
    valid_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    valid_to: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    changed_by: Mapped[str] = mapped_column(Text, nullable=False)
    # import | create | update | restore (a retirement closes the last version and opens none)
    change: Mapped[str] = mapped_column(Text, nullable=False)
    recorded_xact: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="period_ordered"),
        CheckConstraint("change IN ('import', 'create', 'update', 'restore')", name="change_known"),
        ExcludeConstraint(
            ("territory_id", "="),
            (text("tstzrange(valid_from, valid_to)"), "&&"),
            name="no_overlapping_territory_version",
            using="gist",
        ),
    )


class TerritoryPart(Base):
    """`ST_Subdivide` piece of a territory (derived; maintained by trigger, never written by the app)."""

    __tablename__ = "territory_part"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    territory_id: Mapped[int] = mapped_column(
        ForeignKey("territory.id", ondelete="CASCADE"), nullable=False, index=True
    )
    layer_id: Mapped[int] = mapped_column(Integer, nullable=False)
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False
    )

    __table_args__ = (Index("ix_territory_part_geom", "geom", postgresql_using="gist"),)


class SiteTerritoryAssignment(Base):
    """SCD-2 history of which territory of a layer a site is in; `territory_id` NULL = explicitly unassigned.

    At most one open row (`valid_to IS NULL`) per (site, layer) and no overlapping periods: a deferred
    exclusion constraint, so a reassignment can close and open rows in one statement. A site's first row in
    a layer is `initial`, valid from its start date or from '-infinity' (asyncpg reads that as a naive
    `datetime.min`: read `valid_from` through `db.repositories.sites`, which maps it to None).
    """

    __tablename__ = "site_territory_assignment"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    site_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("customer_site.id", ondelete="CASCADE"), nullable=False
    )
    layer_id: Mapped[int] = mapped_column(
        ForeignKey("territory_layer.id", ondelete="CASCADE"), nullable=False
    )
    territory_id: Mapped[int | None] = mapped_column(ForeignKey("territory.id", ondelete="RESTRICT"))
    method: Mapped[str] = mapped_column(Text, nullable=False)
    valid_from: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    valid_to: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("method IN ('initial', 'point_in_polygon', 'manual')", name="method_known"),
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="period_ordered"),
        ExcludeConstraint(
            ("site_id", "="),
            ("layer_id", "="),
            (text("tstzrange(valid_from, valid_to)"), "&&"),
            name="no_overlapping_assignment",
            using="gist",
            deferrable=True,
            initially="DEFERRED",
        ),
        Index(
            "ix_site_territory_assignment_open",
            "layer_id",
            "territory_id",
            postgresql_where=text("valid_to IS NULL"),
        ),
        Index("ix_site_territory_assignment_site", "site_id", "layer_id", "valid_from"),
    )


class TerritoryChange(Base):
    """A territory changed by an open transaction, processed at its commit (`towne_flush_territory_changes`,
    migration 0009); written and emptied by the triggers only."""

    __tablename__ = "territory_change"

    xact: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    territory_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_id: Mapped[int] = mapped_column(Integer, nullable=False)
    reassign: Mapped[bool] = mapped_column(Boolean, nullable=False)
    from_beginning: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created: Mapped[bool] = mapped_column(Boolean, nullable=False)


class TerritoryChangeMarker(Base):
    """One row per transaction with territory changes: its insert queues the deferred commit trigger once."""

    __tablename__ = "territory_change_marker"

    xact: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class SiteChange(Base):
    """A site created or moved by an open transaction, assigned at its commit (migration 0009)."""

    __tablename__ = "site_change"

    xact: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    site_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
