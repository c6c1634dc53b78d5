"""Regions: the area a thumbnail covers, given in longitude and latitude degrees.

A region is accepted in every form ``ee.Image.getThumbURL`` takes: a bounding box
``[west, south, east, north]``, two corner points, a list of points or rings, a GeoJSON
Polygon or MultiPolygon (or a Feature holding one), or a JSON string of any of these.
Edges are planar (``geodesic: false``), as in the official client, so the rendered
footprint is the box or polygon the caller drew.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eerender.expression import Invocation, invoke
from eerender.validation import child, excerpt, invalid, known_keys, number

INVALID = "INVALID_REGION"
CROSSES_ANTIMERIDIAN = "REGION_CROSSES_ANTIMERIDIAN"
OUTSIDE_PROJECTION = "REGION_OUTSIDE_PROJECTION"
TOO_COMPLEX = "REGION_TOO_COMPLEX"

DEFAULT_MAX_VERTICES = 10_000

# Web Mercator is defined up to the latitude where it becomes a square world,
# atan(sinh(pi)) = 85.0511287798 degrees.
WEB_MERCATOR_MAX_LATITUDE = 85.0511287798
WEB_MERCATOR_CODES = frozenset({"EPSG:3857", "EPSG:900913", "EPSG:3785"})

# Longitudes beyond +-180 are accepted so that a box can be written 170 to 190. A box
# may still span at most one full turn.
_MAX_LONGITUDE = 360.0

_ANTIMERIDIAN_HINT = (
    "Regions are planar in longitude and latitude, so write a region that crosses the "
    "180th meridian with longitudes beyond 180, for example [170, -20, 190, -10] "
    "instead of [170, -20, -170, -10]."
)

_FORMS = (
    "a bounding box [west, south, east, north], two corners [[west, south], [east, "
    "north]], a list of [longitude, latitude] points, or a GeoJSON Polygon, "
    "MultiPolygon or Feature"
)

_CONSTRUCTORS = {
    "bbox": "GeometryConstructors.Rectangle",
    "Polygon": "GeometryConstructors.Polygon",
    "MultiPolygon": "GeometryConstructors.MultiPolygon",
}


@dataclass(frozen=True)
class Region:
    """A checked region: the coordinates as sent, their kind, and their bounds."""

    kind: str
    coordinates: Any
    west: float
    south: float
    east: float
    north: float
    vertex_count: int

    def geometry(self) -> Invocation:
        """Return the planar geometry the official client builds for this region."""
        return invoke(
            _CONSTRUCTORS[self.kind], coordinates=self.coordinates, geodesic=False
        )


def parse_region(
    raw: object,
    field: str,
    *,
    crs: str | None = None,
    max_vertices: int = DEFAULT_MAX_VERTICES,
) -> Region:
    """Check a region from a request.

    Args:
        raw: The region in any accepted form.
        field: JSON pointer of the region, for errors.
        crs: The output CRS, because Web Mercator limits the latitudes a region may
            reach.
        max_vertices: Maximum number of points of an inline region.

    Raises:
        InvalidRequest: ``INVALID_REGION``, ``REGION_CROSSES_ANTIMERIDIAN``,
            ``REGION_OUTSIDE_PROJECTION`` or ``REGION_TOO_COMPLEX``.
    """
    value = _load(raw, field)
    if isinstance(value, list):
        region = _from_list(value, field, max_vertices)
    elif isinstance(value, dict):
        region = _from_geojson(value, field, max_vertices)
    else:
        raise invalid(
            f"Region {excerpt(raw)} at {field} is a {type(value).__name__}; send "
            f"{_FORMS}.",
            field,
            raw,
            code=INVALID,
        )
    if crs is not None and crs.strip().upper() in WEB_MERCATOR_CODES:
        _check_web_mercator(region, field, crs)
    return region


def _load(raw: object, field: str) -> object:
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise invalid(
            f"Region {excerpt(raw)} at {field} is a string but not JSON; send "
            f"{_FORMS}.",
            field,
            raw,
            code=INVALID,
        ) from None


def _from_list(value: list[Any], field: str, max_vertices: int) -> Region:
    if len(value) == 4 and not any(isinstance(item, list) for item in value):
        west, south, east, north = (
            number(item, child(field, index), code=INVALID)
            for index, item in enumerate(value)
        )
        return _box(value, field, west, south, east, north)
    if len(value) == 2:
        corners = _ring(value, field, max_vertices, minimum=2)
        (west, south), (east, north) = corners
        return _box(value, field, west, south, east, north)

    points = _Points(field, max_vertices)
    if (
        value
        and isinstance(value[0], list)
        and value[0]
        and isinstance(value[0][0], list)
    ):
        points.polygon(value, field)
    else:
        points.ring(value, field)
    return points.region("Polygon", value)


def _box(
    coordinates: list[Any],
    field: str,
    west: float,
    south: float,
    east: float,
    north: float,
) -> Region:
    for index, longitude in ((0, west), (2, east)):
        _check_longitude(longitude, child(field, index))
    for index, latitude in ((1, south), (3, north)):
        _check_latitude(latitude, child(field, index))
    if west > east:
        raise invalid(
            f"Region {excerpt(coordinates)} at {field} has west {west} greater than "
            f"east {east}, which means it crosses the antimeridian. "
            f"{_ANTIMERIDIAN_HINT}",
            field,
            coordinates,
            code=CROSSES_ANTIMERIDIAN,
        )
    if west == east or south >= north:
        raise invalid(
            f"Region {excerpt(coordinates)} at {field} has no area: west must be less "
            "than east and south less than north.",
            field,
            coordinates,
            code=INVALID,
        )
    if east - west > _MAX_LONGITUDE:
        raise invalid(
            f"Region {excerpt(coordinates)} at {field} spans {east - west} degrees of "
            "longitude; at most 360 are possible.",
            field,
            coordinates,
            code=INVALID,
        )
    return Region("bbox", coordinates, west, south, east, north, 2)


def _from_geojson(value: dict[str, Any], field: str, max_vertices: int) -> Region:
    kind = value.get("type")
    if kind == "Feature":
        _only_members(value, field, ("type", "geometry", "properties", "id", "bbox"))
        geometry = value.get("geometry")
        if not isinstance(geometry, dict):
            raise invalid(
                f"The Feature at {field} has no geometry object; its geometry must "
                "be a GeoJSON Polygon or MultiPolygon.",
                child(field, "geometry"),
                geometry,
                code=INVALID,
            )
        return _from_geojson(geometry, child(field, "geometry"), max_vertices)
    if kind not in ("Polygon", "MultiPolygon"):
        raise invalid(
            f"GeoJSON type {excerpt(kind)} at {field} cannot frame a thumbnail; send "
            f"{_FORMS}. A FeatureCollection or a dense boundary belongs in a table "
            "asset that the expression loads and clips with.",
            child(field, "type"),
            kind,
            code=INVALID,
        )
    _only_members(value, field, ("type", "coordinates", "bbox"))
    coordinates = value.get("coordinates")
    points = _Points(field, max_vertices)
    where = child(field, "coordinates")
    if kind == "Polygon":
        points.polygon(coordinates, where)
    else:
        polygons = _list(coordinates, where, "a list of polygons")
        for index, polygon in enumerate(polygons):
            points.polygon(polygon, child(where, index))
    return points.region(kind, coordinates)


def _only_members(value: dict[str, Any], field: str, accepted: tuple[str, ...]) -> None:
    hint = (
        " Regions are always longitude/latitude (EPSG:4326)." if "crs" in value else ""
    )
    known_keys(value, accepted, field, code=INVALID, hint=hint)


def _list(value: object, field: str, what: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise invalid(
            f"{field} must be {what}, got {excerpt(value)}.",
            field,
            value,
            code=INVALID,
        )
    return value


class _Points:
    """Collects the points of a polygonal region and checks each on the way."""

    def __init__(self, field: str, max_vertices: int) -> None:
        self._field = field
        self._max_vertices = max_vertices
        self.count = 0
        self.west = self.south = float("inf")
        self.east = self.north = float("-inf")

    def polygon(self, rings: object, field: str) -> None:
        for index, ring in enumerate(_list(rings, field, "a list of rings")):
            self.ring(ring, child(field, index))

    def ring(self, points: object, field: str) -> None:
        ring = _ring(points, field, self._max_vertices - self.count, minimum=3)
        self.count += len(ring)
        for index, (longitude, latitude) in enumerate(ring):
            self.west, self.east = min(self.west, longitude), max(self.east, longitude)
            self.south, self.north = (
                min(self.south, latitude),
                max(self.north, latitude),
            )
            previous = ring[index - 1][0]
            if abs(longitude - previous) > 180:
                raise invalid(
                    f"The edge ending at {child(field, index)} jumps from longitude "
                    f"{previous} to {longitude}, so the polygon crosses the "
                    f"antimeridian. {_ANTIMERIDIAN_HINT}",
                    child(field, index),
                    [longitude, latitude],
                    code=CROSSES_ANTIMERIDIAN,
                )

    def region(self, kind: str, coordinates: Any) -> Region:
        if self.east - self.west > _MAX_LONGITUDE:
            raise invalid(
                f"Region at {self._field} spans {self.east - self.west} degrees of "
                "longitude; at most 360 are possible.",
                self._field,
                coordinates,
                code=INVALID,
            )
        if self.west == self.east or self.south == self.north:
            raise invalid(
                f"Region {excerpt(coordinates)} at {self._field} has no area.",
                self._field,
                coordinates,
                code=INVALID,
            )
        return Region(
            kind, coordinates, self.west, self.south, self.east, self.north, self.count
        )


def _ring(
    value: object, field: str, room: int, *, minimum: int
) -> list[tuple[float, float]]:
    points = _list(value, field, f"a list of at least {minimum} [longitude, latitude]")
    if len(points) > room:
        raise invalid(
            f"The region at {field} has more vertices than the {room} still allowed. "
            "Send its bounding box as the region, or clip inside the expression "
            "with a table asset (FeatureCollection.load) instead of inline "
            "coordinates.",
            field,
            f"{len(points)} points",
            code=TOO_COMPLEX,
            limit=room,
        )
    if len(points) < minimum:
        raise invalid(
            f"{field} has {len(points)} point(s); at least {minimum} are needed.",
            field,
            value,
            code=INVALID,
        )
    return [_point(point, child(field, index)) for index, point in enumerate(points)]


def _point(value: object, field: str) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        raise invalid(
            f"{field} must be a [longitude, latitude] pair, got {excerpt(value)}. "
            f"A region is {_FORMS}.",
            field,
            value,
            code=INVALID,
        )
    longitude = number(value[0], child(field, 0), code=INVALID)
    latitude = number(value[1], child(field, 1), code=INVALID)
    _check_longitude(longitude, child(field, 0))
    _check_latitude(latitude, child(field, 1))
    return longitude, latitude


def _check_longitude(value: float, field: str) -> None:
    if not -_MAX_LONGITUDE <= value <= _MAX_LONGITUDE:
        raise invalid(
            f"Longitude {value} at {field} is outside -360..360 degrees.",
            field,
            value,
            code=INVALID,
        )


def _check_latitude(value: float, field: str) -> None:
    if not -90 <= value <= 90:
        raise invalid(
            f"Latitude {value} at {field} is outside -90..90 degrees. Regions are "
            "[longitude, latitude]; check the order of the coordinates.",
            field,
            value,
            code=INVALID,
        )


def _check_web_mercator(region: Region, field: str, crs: str) -> None:
    latitude = max(abs(region.south), abs(region.north))
    if latitude > WEB_MERCATOR_MAX_LATITUDE:
        raise invalid(
            f"Region at {field} reaches latitude {latitude}, but {crs} (Web Mercator) "
            f"only covers latitudes between -{WEB_MERCATOR_MAX_LATITUDE:.4f} and "
            f"{WEB_MERCATOR_MAX_LATITUDE:.4f}. Limit the region to that band, or use "
            "a polar projection such as EPSG:3413 or EPSG:3031.",
            field,
            latitude,
            code=OUTSIDE_PROJECTION,
        )
