"""Geometry constructors, geometry operations and features."""

from __future__ import annotations

from typing import Any

from standin.algorithms import (
    Env,
    algorithm,
    as_geometry,
    as_list,
    as_number,
    wrong_type,
)
from standin.algorithms.image_spatial import as_projection
from standin.elements import Feature
from standin.errors import invalid_argument
from standin.geometry import Geometry, close_rings, rectangle
from standin.projection import (
    IDENTITY,
    WGS84,
    Projection,
    apply_affine,
    is_geographic,
)


def _plain(value: Any) -> Any:
    """Replace nested Geometry objects (points, rings) by their coordinates."""
    if isinstance(value, Geometry):
        return value.coordinates
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _projection_of(crs: Any, name: str) -> Projection:
    if crs is None:
        return Projection(WGS84)
    return as_projection(crs, name, "crs")


def _to_crs_units(coordinates: Any, projection: Projection) -> Any:
    """Map coordinates given in `projection` to units of its CRS.

    A Projection with a transform, such as `image.projection()`, measures
    coordinates in its pixels, which is how the client asks for an exact pixel
    rectangle: `Rectangle([0, 0, width, height], proj=image.projection())`.
    """
    if projection.transform == IDENTITY:
        return coordinates
    if _depth(coordinates) == 1:
        return list(apply_affine(projection.transform, *coordinates))
    return [_to_crs_units(item, projection) for item in coordinates]


def _geodesic(geodesic: Any, crs: str) -> bool:
    # The service's default is geodesic for lon/lat numbers and planar otherwise.
    if geodesic is None:
        return is_geographic(crs)
    return bool(geodesic)


def _depth(value: Any) -> int:
    depth = 0
    while isinstance(value, list) and value:
        value = value[0]
        depth += 1
    return depth


def _pairs(flat: list[Any]) -> list[list[float]]:
    if len(flat) % 2:
        raise invalid_argument("Geometry: An odd number of coordinates was given.")
    return [[float(flat[i]), float(flat[i + 1])] for i in range(0, len(flat), 2)]


# Nesting depth of each geometry type's coordinate lists.
_NESTING = {
    "Point": 1,
    "MultiPoint": 2,
    "LineString": 2,
    "LinearRing": 2,
    "MultiLineString": 3,
    "Polygon": 3,
    "MultiPolygon": 4,
}


def _construct(
    kind: str, coordinates: Any, crs: Any, geodesic: Any, name: str
) -> Geometry:
    coords = _plain(as_list(coordinates, name, "coordinates"))
    target_depth = _NESTING[kind]
    if _depth(coords) == 1 and target_depth >= 2:
        coords = _pairs(coords)
    while _depth(coords) < target_depth:
        coords = [coords]
    projection = _projection_of(crs, name)
    frame = projection.crs
    try:
        coords = _to_crs_units(coords, projection)
        return Geometry(
            kind, close_rings(kind, coords), frame, _geodesic(geodesic, frame)
        )
    except (TypeError, ValueError, IndexError) as error:
        raise invalid_argument(f"{name}: Invalid coordinates: {error}.") from error


def _register_constructor(kind: str) -> None:
    name = f"GeometryConstructors.{kind}"

    def build_points(env: Env, coordinates: Any, crs: Any = None) -> Geometry:
        return _construct(kind, coordinates, crs, None, name)

    def build_lines(
        env: Env,
        coordinates: Any,
        crs: Any = None,
        geodesic: Any = None,
        maxError: Any = None,
    ) -> Geometry:
        return _construct(kind, coordinates, crs, geodesic, name)

    def build_areas(
        env: Env,
        coordinates: Any,
        crs: Any = None,
        geodesic: Any = None,
        maxError: Any = None,
        evenOdd: Any = None,
    ) -> Geometry:
        return _construct(kind, coordinates, crs, geodesic, name)

    if kind in ("Point", "MultiPoint"):
        algorithm(name)(build_points)
    elif kind in ("Polygon", "MultiPolygon"):
        algorithm(name)(build_areas)
    else:
        algorithm(name)(build_lines)


for _kind in (
    "Point",
    "MultiPoint",
    "LineString",
    "LinearRing",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
):
    _register_constructor(_kind)


def _corners(coordinates: list[Any], name: str) -> tuple[float, float, float, float]:
    flat = [
        c
        for point in coordinates
        for c in (point if isinstance(point, list) else [point])
    ]
    if len(flat) != 4:
        raise invalid_argument(
            f"{name}: Rectangle coordinates must be [xmin, ymin, xmax, ymax] "
            "or two points."
        )
    x0, y0, x1, y1 = (float(v) for v in flat)
    return x0, y0, x1, y1


def _corners_in_crs_units(
    corners: tuple[float, float, float, float], projection: Projection
) -> tuple[float, float, float, float]:
    """Return the CRS bounds of a rectangle given in a projection's units.

    The corners are ordered low to high afterwards, because a north-up pixel
    transform flips the y axis. A sheared transform gives the bounding box of
    the parallelogram.
    """
    x0, y0, x1, y1 = corners
    points = [(x0, y0), (x0, y1), (x1, y0), (x1, y1)]
    xs, ys = zip(
        *(apply_affine(projection.transform, x, y) for x, y in points), strict=True
    )
    return min(xs), min(ys), max(xs), max(ys)


@algorithm("GeometryConstructors.Rectangle")
def rectangle_constructor(
    env: Env,
    coordinates: Any,
    crs: Any = None,
    geodesic: Any = None,
    evenOdd: Any = None,
) -> Geometry:
    name = "GeometryConstructors.Rectangle"
    x0, y0, x1, y1 = _corners(_plain(as_list(coordinates, name, "coordinates")), name)
    projection = _projection_of(crs, name)
    frame = projection.crs
    if projection.transform != IDENTITY:
        x0, y0, x1, y1 = _corners_in_crs_units((x0, y0, x1, y1), projection)
    if is_geographic(frame) and x1 < x0:
        # A west edge east of the east edge means the box crosses the antimeridian.
        x1 += 360.0
    bounds = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    return rectangle(bounds, frame, _geodesic(geodesic, frame))


@algorithm("GeometryConstructors.BBox")
def bbox(env: Env, west: Any, south: Any, east: Any, north: Any) -> Geometry:
    name = "GeometryConstructors.BBox"
    w = as_number(west, name, "west")
    s = as_number(south, name, "south")
    e = as_number(east, name, "east")
    n = as_number(north, name, "north")
    if e < w:
        e += 360.0
    return rectangle((w, s, e, n), WGS84, geodesic=False)


@algorithm("Geometry.buffer")
def buffer(
    env: Env, geometry: Any, distance: Any, maxError: Any = None, proj: Any = None
) -> Geometry:
    shape = as_geometry(geometry, "Geometry.buffer", "geometry")
    return shape.buffer(as_number(distance, "Geometry.buffer", "distance"))


@algorithm("Geometry.bounds")
def bounds(env: Env, geometry: Any, maxError: Any = None, proj: Any = None) -> Geometry:
    return as_geometry(geometry, "Geometry.bounds", "geometry").bounds_geometry()


@algorithm("Geometry.centroid")
def centroid(
    env: Env, geometry: Any, maxError: Any = None, proj: Any = None
) -> Geometry:
    point = (
        as_geometry(geometry, "Geometry.centroid", "geometry")
        .to_shapely(WGS84)
        .centroid
    )
    return Geometry("Point", [point.x, point.y], WGS84)


@algorithm("Geometry.area")
def area(env: Env, geometry: Any, maxError: Any = None, proj: Any = None) -> float:
    return as_geometry(geometry, "Geometry.area", "geometry").area()


@algorithm("Geometry.intersects")
def intersects(
    env: Env, left: Any, right: Any, maxError: Any = None, proj: Any = None
) -> bool:
    a = as_geometry(left, "Geometry.intersects", "left")
    return a.intersects(as_geometry(right, "Geometry.intersects", "right"))


@algorithm("Geometry.coordinates")
def coordinates(env: Env, geometry: Any) -> Any:
    return as_geometry(geometry, "Geometry.coordinates", "geometry").coordinates


@algorithm("Feature")
def feature(
    env: Env, geometry: Any = None, metadata: Any = None, geometryKey: Any = None
) -> Feature:
    shape = None if geometry is None else as_geometry(geometry, "Feature", "geometry")
    if metadata is not None and not isinstance(metadata, dict):
        raise wrong_type("Feature", "metadata", "Dictionary", metadata)
    return Feature(shape, dict(metadata or {}))


@algorithm("Feature.geometry")
def feature_geometry(
    env: Env,
    feature: Any,
    maxError: Any = None,
    proj: Any = None,
    geodesics: Any = None,
) -> Geometry:
    return as_geometry(feature, "Feature.geometry", "feature")
