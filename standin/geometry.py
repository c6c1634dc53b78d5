"""Geometries as Earth Engine builds them: GeoJSON coordinates, a CRS and edge type.

Geodesic edges follow great circles and planar edges are straight in the geometry's
CRS. Both are densified before a geometry is moved to another CRS, so its shape
survives the transform.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
import shapely.geometry
import shapely.ops
from PIL import Image as PILImage
from PIL import ImageDraw
from pyproj import Geod

from standin.errors import invalid_argument
from standin.projection import (
    MERCATOR_MAX_LATITUDE,
    WEB_MERCATOR,
    WGS84,
    Bounds,
    Grid,
    invert_affine,
    is_geographic,
    transform_points,
)

# Maximum length of an edge piece after densifying, in degrees for geographic CRSs.
DENSIFY_DEGREES = 0.5
DENSIFY_METRES = 50_000.0


@dataclass(frozen=True)
class Geometry:
    """A GeoJSON-style geometry in a CRS, with geodesic or planar edges."""

    type: str
    coordinates: Any
    crs: str = WGS84
    geodesic: bool = True
    properties: dict[str, Any] = field(default_factory=dict, compare=False)

    @staticmethod
    def from_geojson(data: dict[str, Any]) -> Geometry:
        kind = data.get("type")
        if kind == "GeometryCollection":
            raise invalid_argument("Geometry: GeometryCollection is not supported.")
        if kind not in _BUILDERS:
            raise invalid_argument(f"Geometry: Invalid GeoJSON geometry type '{kind}'.")
        crs = data.get("crs", {}).get("properties", {}).get("name", WGS84)
        return Geometry(
            kind,
            close_rings(kind, data.get("coordinates")),
            crs,
            data.get("geodesic", True),
        )

    def to_geojson(self) -> dict[str, Any]:
        result: dict[str, Any] = {"type": self.type, "coordinates": self.coordinates}
        if self.crs != WGS84:
            result["crs"] = {"type": "name", "properties": {"name": self.crs}}
        if not self.geodesic and is_geographic(self.crs):
            result["geodesic"] = False
        return result

    def to_shapely(self, crs: str | None = None) -> shapely.Geometry:
        """Return the geometry in `crs` (default: its own), densified if moved."""
        target = crs or self.crs
        geometry = _BUILDERS[self.type](self.coordinates)
        if target == self.crs and not self.geodesic:
            return geometry
        return _transform_geometry(geometry, self.crs, target, self.geodesic)

    def bounds_in(self, crs: str) -> Bounds:
        """Return the bounding box in `crs` (Web Mercator: clamped to 85.05 N/S)."""
        geometry = self.to_shapely(crs)
        if geometry.is_empty:
            raise invalid_argument("Geometry: The geometry is empty.")
        xmin, ymin, xmax, ymax = geometry.bounds
        if not all(math.isfinite(value) for value in (xmin, ymin, xmax, ymax)):
            raise invalid_argument(
                f"Geometry: The geometry cannot be represented in {crs}."
            )
        return xmin, ymin, xmax, ymax

    def finite_bounds_in(self, crs: str) -> Bounds | None:
        """Return the bounds of the vertices that exist in `crs`, or None if none do.

        Used for footprints, where a global raster has corners that a projection
        such as UTM cannot represent.
        """
        geometry = self.to_shapely(crs)
        points = shapely.get_coordinates(geometry)
        points = points[np.isfinite(points).all(axis=1)]
        if len(points) == 0:
            return None
        return (
            float(points[:, 0].min()),
            float(points[:, 1].min()),
            float(points[:, 0].max()),
            float(points[:, 1].max()),
        )

    def bounds_geometry(self) -> Geometry:
        """Return the lon/lat bounding rectangle, the way `Geometry.bounds` does."""
        xmin, ymin, xmax, ymax = self.bounds_in(WGS84)
        ring = [[xmin, ymin], [xmax, ymin], [xmax, ymax], [xmin, ymax], [xmin, ymin]]
        return Geometry("Polygon", [ring], WGS84, geodesic=False)

    def mask_on(self, grid: Grid, outline_width: float | None = None) -> np.ndarray:
        """Rasterize onto `grid`: 1.0 inside the geometry, 0.0 outside.

        With `outline_width` (pixels), only the edges are drawn, that wide.
        """
        geometry = self.to_shapely(grid.crs)
        inverse = invert_affine(grid.transform)
        canvas = PILImage.new("L", (grid.width, grid.height), 0)
        draw = ImageDraw.Draw(canvas)
        for part in _parts(geometry):
            if outline_width is None:
                _draw_part(draw, part, inverse)
            else:
                _draw_outline(draw, part, inverse, max(1, round(outline_width)))
        return np.asarray(canvas, dtype=np.float32) / 255.0

    def buffer(self, distance: float) -> Geometry:
        """Buffer by `distance` metres (CRS units for projected CRSs)."""
        if not is_geographic(self.crs):
            shape = self.to_shapely().buffer(distance)
            return from_shapely(shape, self.crs, geodesic=False)
        centre = self.to_shapely(WGS84).centroid
        local = f"+proj=aeqd +lat_0={centre.y} +lon_0={centre.x} +datum=WGS84 +units=m"
        buffered = self.to_shapely(local).buffer(distance, quad_segs=16)
        back = _transform_geometry(buffered, local, WGS84, geodesic=False)
        return from_shapely(back, WGS84, geodesic=self.geodesic)

    def intersects(self, other: Geometry) -> bool:
        return bool(self.to_shapely(WGS84).intersects(other.to_shapely(WGS84)))

    def area(self) -> float:
        """Return the geodesic area in square metres."""
        return abs(
            Geod(ellps="WGS84").geometry_area_perimeter(self.to_shapely(WGS84))[0]
        )


def union(geometries: list[Geometry]) -> Geometry:
    """Return the lon/lat union of the geometries (planar edges)."""
    shapes = [geometry.to_shapely(WGS84) for geometry in geometries]
    merged = shapely.unary_union(shapes) if shapes else shapely.geometry.Polygon()
    if merged.geom_type == "GeometryCollection":
        polygons = [g for g in _parts(merged) if g.geom_type == "Polygon"]
        merged = shapely.geometry.MultiPolygon(polygons)
    return from_shapely(merged, WGS84, geodesic=False)


def from_shapely(shape: shapely.Geometry, crs: str, geodesic: bool) -> Geometry:
    mapping = shapely.geometry.mapping(shape)
    coordinates = _as_lists(mapping["coordinates"])
    return Geometry(mapping["type"], coordinates, crs, geodesic)


def rectangle(bounds: Bounds, crs: str, geodesic: bool) -> Geometry:
    xmin, ymin, xmax, ymax = bounds
    ring = [[xmin, ymin], [xmax, ymin], [xmax, ymax], [xmin, ymax], [xmin, ymin]]
    return Geometry("Polygon", [ring], crs, geodesic)


def _as_lists(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_as_lists(item) for item in value]
    return float(value)


def close_ring(ring: list[list[float]]) -> list[list[float]]:
    points = [list(map(float, point[:2])) for point in ring]
    if points and points[0] != points[-1]:
        points.append(points[0])
    return points


def close_rings(kind: str | None, coordinates: Any) -> Any:
    if kind == "Polygon":
        return [close_ring(ring) for ring in coordinates]
    if kind == "MultiPolygon":
        return [[close_ring(ring) for ring in polygon] for polygon in coordinates]
    if kind == "LinearRing":
        return close_ring(coordinates)
    return coordinates


_BUILDERS = {
    "Point": lambda c: shapely.geometry.Point(c),
    "MultiPoint": lambda c: shapely.geometry.MultiPoint(c),
    "LineString": lambda c: shapely.geometry.LineString(c),
    "LinearRing": lambda c: shapely.geometry.LinearRing(c),
    "MultiLineString": lambda c: shapely.geometry.MultiLineString(c),
    "Polygon": lambda c: shapely.geometry.Polygon(c[0], c[1:]),
    "MultiPolygon": lambda c: shapely.geometry.MultiPolygon([(p[0], p[1:]) for p in c]),
}


# --- Densifying and transforming ------------------------------------------------------


def _great_circle(a: tuple[float, float], b: tuple[float, float]) -> np.ndarray:
    """Return points on the great circle from a to b (lon/lat), a included."""
    lon = np.radians([a[0], b[0]])
    lat = np.radians([a[1], b[1]])
    xyz = np.stack(
        [np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=1
    )
    angle = math.acos(float(np.clip(np.dot(xyz[0], xyz[1]), -1.0, 1.0)))
    pieces = max(1, math.ceil(math.degrees(angle) / DENSIFY_DEGREES))
    if angle < 1e-12 or math.pi - angle < 1e-9:
        return np.array([a], dtype=np.float64)
    t = np.arange(pieces)[:, None] / pieces
    points = (np.sin((1 - t) * angle) * xyz[0] + np.sin(t * angle) * xyz[1]) / math.sin(
        angle
    )
    lons = np.degrees(np.arctan2(points[:, 1], points[:, 0]))
    lats = np.degrees(np.arcsin(np.clip(points[:, 2], -1, 1)))
    # Keep longitudes continuous with the start vertex so edges do not jump by 360.
    lons = a[0] + (lons - a[0] + 180.0) % 360.0 - 180.0
    return np.stack([lons, lats], axis=1)


def _straight(
    a: tuple[float, float], b: tuple[float, float], step: float
) -> np.ndarray:
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    pieces = max(1, math.ceil(length / step))
    t = np.arange(pieces)[:, None] / pieces
    return np.asarray(np.asarray(a) + t * (np.asarray(b) - np.asarray(a)))


def _densify(coords: np.ndarray, crs: str, geodesic: bool) -> np.ndarray:
    if len(coords) < 2:
        return coords
    geographic = is_geographic(crs)
    step = DENSIFY_DEGREES if geographic else DENSIFY_METRES
    pieces = []
    for a, b in zip(coords[:-1], coords[1:], strict=True):
        a2, b2 = (float(a[0]), float(a[1])), (float(b[0]), float(b[1]))
        # NOTE: an edge spanning 180 degrees of longitude or more has no unique
        # great circle. It is kept straight in lon/lat, so global rectangles stay
        # global.
        if geographic and geodesic and abs(b2[0] - a2[0]) < 180.0:
            pieces.append(_great_circle(a2, b2))
        else:
            pieces.append(_straight(a2, b2, step))
    pieces.append(coords[-1:, :2])
    return np.concatenate(pieces)


def _transform_geometry(
    geometry: shapely.Geometry, source: str, target: str, geodesic: bool
) -> shapely.Geometry:
    def move(coords: np.ndarray) -> np.ndarray:
        dense = _densify(np.asarray(coords, dtype=np.float64), source, geodesic)
        if target == WEB_MERCATOR and is_geographic(source):
            dense[:, 1] = np.clip(
                dense[:, 1], -MERCATOR_MAX_LATITUDE, MERCATOR_MAX_LATITUDE
            )
        x, y = transform_points(source, target, dense[:, 0].copy(), dense[:, 1].copy())
        return np.stack([x, y], axis=1)

    return _map_coordinates(geometry, move)


def _map_coordinates(geometry: shapely.Geometry, move: Any) -> shapely.Geometry:
    kind = geometry.geom_type
    if kind == "Point":
        return shapely.geometry.Point(move(np.asarray(geometry.coords))[0])
    if kind in ("LineString", "LinearRing"):
        return type(geometry)(move(np.asarray(geometry.coords)))
    if kind == "Polygon":
        exterior = move(np.asarray(geometry.exterior.coords))
        holes = [move(np.asarray(ring.coords)) for ring in geometry.interiors]
        return shapely.geometry.Polygon(exterior, holes)
    parts = [_map_coordinates(part, move) for part in geometry.geoms]
    return type(geometry)(parts)


# --- Rasterizing ----------------------------------------------------------------------


def _parts(geometry: shapely.Geometry) -> list[shapely.Geometry]:
    if hasattr(geometry, "geoms"):
        return [part for sub in geometry.geoms for part in _parts(sub)]
    return [geometry]


def _to_pixels(coords: Any, inverse: tuple[float, ...]) -> list[tuple[float, float]]:
    points = np.asarray(coords, dtype=np.float64)
    isx, ishx, itx, ishy, isy, ity = inverse
    u = isx * points[:, 0] + ishx * points[:, 1] + itx
    v = ishy * points[:, 0] + isy * points[:, 1] + ity
    # PIL puts pixel centres at integer positions; EE pixel space has them at +0.5.
    return list(zip((u - 0.5).tolist(), (v - 0.5).tolist(), strict=True))


def _draw_outline(
    draw: ImageDraw.ImageDraw, part: shapely.Geometry, inverse: Any, width: int
) -> None:
    rings = [part.exterior, *part.interiors] if part.geom_type == "Polygon" else [part]
    for ring in rings:
        points = _to_pixels(ring.coords, inverse)
        if len(points) > 1:
            draw.line(points, fill=255, width=width, joint="curve")
        else:
            draw.point(points, fill=255)


def _draw_part(draw: ImageDraw.ImageDraw, part: shapely.Geometry, inverse: Any) -> None:
    if part.geom_type == "Polygon":
        draw.polygon(_to_pixels(part.exterior.coords, inverse), fill=255)
        for hole in part.interiors:
            draw.polygon(_to_pixels(hole.coords, inverse), fill=0)
    elif part.geom_type in ("LineString", "LinearRing"):
        draw.line(_to_pixels(part.coords, inverse), fill=255, width=1)
    elif part.geom_type == "Point":
        draw.point(_to_pixels(part.coords, inverse), fill=255)
