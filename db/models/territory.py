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
    CheckConstraint,
    DateTime,
    Double,
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

    __table_args__ = (
        CheckConstraint("kind IN ('partition', 'overlay')", name="kind_known"),
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
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))
    # geodesic area, km²; set by the validating trigger so no client has to keep it in step
    area_km2: Mapped[float] = mapped_column(Double, nullable=False, server_default=text("0"))

    __table_args__ = (
        UniqueConstraint("layer_id", "code", name="uq_territory_layer_id_code"),
        CheckConstraint("ST_IsValid(geom)", name="geom_valid"),
        CheckConstraint("NOT ST_IsEmpty(geom)", name="geom_not_empty"),
        CheckConstraint(
            "ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90",
            name="geom_in_lon_lat_range",
        ),
        Index("ix_territory_geom", "geom", postgresql_using="gist"),
    )


class TerritoryVersion(Base):
    """One version of a territory (code, name, geometry) and its period `[valid_from, valid_to)`.

    Written by the territory triggers only: a version on insert, a new one on every change of geometry,
    name or code (the edit's instant closes the previous one). `valid_from` '-infinity' = since the
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

    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="period_ordered"),
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
