"""Projections, pixel grids and coordinate transforms for the Earth Engine stand-in.

An Earth Engine projection is a CRS plus an affine transform from pixel to CRS
coordinates, in the order `scaleX, shearX, translateX, shearY, scaleY, translateY`
(the same order as `rasterio.Affine` and EE's `crsTransform`).
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass

import numpy as np
import pyproj
from pyproj.exceptions import CRSError

from standin.errors import invalid_argument

Affine = tuple[float, float, float, float, float, float]
Bounds = tuple[float, float, float, float]

IDENTITY: Affine = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
WGS84 = "EPSG:4326"
WEB_MERCATOR = "EPSG:3857"

# Metres per degree along the equator of the WGS84 ellipsoid. Earth Engine uses this
# figure for the nominal scale of geographic projections.
METRES_PER_DEGREE = 2 * math.pi * 6378137.0 / 360.0
MERCATOR_MAX_LATITUDE = 85.0511287798066

# Transforms between two CRSs are computed exactly on a lattice with this spacing
# (in output pixels) and interpolated in between, as GDAL's approximate transformer
# does. Thumbnails are at most a few thousand pixels across, so the error stays far
# below a pixel for the smooth projections supported here.
LATTICE_STEP = 16
EXACT_TRANSFORM_MAX_PIXELS = 1 << 16

_per_thread = threading.local()


def parse_crs(crs: str) -> pyproj.CRS:
    """Parse an EPSG code (`EPSG:4326`) or a WKT string, cached per thread.

    pyproj objects are kept per thread because PROJ contexts must not be shared
    between threads.

    Raises:
        EEError: the CRS is not known.
    """
    cache: dict[str, pyproj.CRS] | None = getattr(_per_thread, "crs", None)
    if cache is None:
        cache = {}
        _per_thread.crs = cache
    if crs not in cache:
        try:
            cache[crs] = pyproj.CRS.from_user_input(crs)
        except CRSError as error:
            raise invalid_argument(f"Projection: Unknown CRS '{crs}'.") from error
    return cache[crs]


@functools.lru_cache(maxsize=256)
def canonical_crs(crs: str) -> str:
    """Return `EPSG:n` for anything that has an EPSG code, else the input unchanged."""
    stripped = crs.strip()
    if stripped.upper().startswith("EPSG:"):
        parse_crs(stripped)
        return stripped.upper()
    if stripped.upper() in ("CRS:84", "OGC:CRS84"):
        return WGS84
    code = parse_crs(stripped).to_epsg()
    return f"EPSG:{code}" if code is not None else stripped


@functools.lru_cache(maxsize=256)
def is_geographic(crs: str) -> bool:
    return bool(parse_crs(crs).is_geographic)


def metres_per_unit(crs: str) -> float:
    """Return the length of one CRS unit in metres (degrees at the equator)."""
    if is_geographic(crs):
        return METRES_PER_DEGREE
    axis = parse_crs(crs).axis_info
    factor = axis[0].unit_conversion_factor if axis else 1.0
    return float(factor or 1.0)


@dataclass(frozen=True)
class Projection:
    """A CRS and the affine transform from pixel to CRS coordinates."""

    crs: str
    transform: Affine = IDENTITY

    @staticmethod
    def create(crs: str, transform: Affine | None = None) -> Projection:
        return Projection(canonical_crs(crs), transform or IDENTITY)

    @property
    def has_shear(self) -> bool:
        return self.transform[1] != 0.0 or self.transform[3] != 0.0

    def nominal_scale(self) -> float:
        """Return the pixel size in metres, the way `Projection.nominalScale` does."""
        sx, shx, _, shy, sy, _ = self.transform
        pixel = math.sqrt(abs(sx * sy - shx * shy))
        return pixel * metres_per_unit(self.crs)

    def scaled_to(self, metres: float) -> Projection:
        """Return this CRS with square pixels of the given size in metres."""
        size = metres / metres_per_unit(self.crs)
        return Projection(self.crs, (size, 0.0, 0.0, 0.0, -size, 0.0))

    def to_json(self) -> dict[str, object]:
        return {
            "type": "Projection",
            "crs": self.crs,
            "transform": list(self.transform),
        }


@dataclass(frozen=True)
class Grid:
    """A finite pixel grid: a projection and its width and height in pixels."""

    crs: str
    transform: Affine
    width: int
    height: int

    @property
    def projection(self) -> Projection:
        return Projection(self.crs, self.transform)

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    def bounds(self) -> Bounds:
        corners = [(0, 0), (self.width, 0), (0, self.height), (self.width, self.height)]
        xs, ys = zip(
            *(apply_affine(self.transform, u, v) for u, v in corners), strict=True
        )
        return min(xs), min(ys), max(xs), max(ys)

    def expanded(self, pixels: int) -> Grid:
        """Return the grid grown by `pixels` on every side, for neighbourhood ops."""
        sx, shx, tx, shy, sy, ty = self.transform
        x0, y0 = apply_affine(self.transform, -pixels, -pixels)
        return Grid(
            self.crs,
            (sx, shx, x0, shy, sy, y0),
            self.width + 2 * pixels,
            self.height + 2 * pixels,
        )

    def to_json(self) -> dict[str, object]:
        sx, shx, tx, shy, sy, ty = self.transform
        return {
            "crsCode": self.crs,
            "affineTransform": {
                "scaleX": sx,
                "shearX": shx,
                "translateX": tx,
                "shearY": shy,
                "scaleY": sy,
                "translateY": ty,
            },
            "dimensions": {"width": self.width, "height": self.height},
        }


def apply_affine(transform: Affine, u: float, v: float) -> tuple[float, float]:
    sx, shx, tx, shy, sy, ty = transform
    return sx * u + shx * v + tx, shy * u + sy * v + ty


def invert_affine(transform: Affine) -> Affine:
    sx, shx, tx, shy, sy, ty = transform
    det = sx * sy - shx * shy
    if det == 0:
        raise invalid_argument("Projection: The transform is not invertible.")
    isx, ishx, ishy, isy = sy / det, -shx / det, -shy / det, sx / det
    return isx, ishx, -(isx * tx + ishx * ty), ishy, isy, -(ishy * tx + isy * ty)


def grid_for_bounds(projection: Projection, bounds: Bounds) -> Grid:
    """Return the pixels of `projection` that cover `bounds`, snapped to its grid."""
    inverse = invert_affine(projection.transform)
    xmin, ymin, xmax, ymax = bounds
    corners = [(xmin, ymin), (xmin, ymax), (xmax, ymin), (xmax, ymax)]
    us, vs = zip(*(apply_affine(inverse, x, y) for x, y in corners), strict=True)
    # A tiny tolerance keeps bounds that sit on pixel edges from gaining a pixel.
    u0, v0 = math.floor(min(us) + 1e-9), math.floor(min(vs) + 1e-9)
    u1, v1 = math.ceil(max(us) - 1e-9), math.ceil(max(vs) - 1e-9)
    sx, shx, _, shy, sy, _ = projection.transform
    tx, ty = apply_affine(projection.transform, u0, v0)
    return Grid(
        projection.crs, (sx, shx, tx, shy, sy, ty), max(u1 - u0, 1), max(v1 - v0, 1)
    )


# --- Coordinate transforms -----------------------------------------------------------


def _transformer(source: str, target: str) -> pyproj.Transformer:
    cache: dict[tuple[str, str], pyproj.Transformer] | None = getattr(
        _per_thread, "transformers", None
    )
    if cache is None:
        cache = {}
        _per_thread.transformers = cache
    key = (source, target)
    if key not in cache:
        cache[key] = pyproj.Transformer.from_crs(
            parse_crs(source), parse_crs(target), always_xy=True
        )
    return cache[key]


def _mercator_to_lonlat_x(x: np.ndarray) -> np.ndarray:
    return np.degrees(x / 6378137.0)


def _mercator_to_lonlat_y(y: np.ndarray) -> np.ndarray:
    return np.degrees(2 * np.arctan(np.exp(y / 6378137.0)) - np.pi / 2)


def _lonlat_to_mercator_x(lon: np.ndarray) -> np.ndarray:
    return np.asarray(np.radians(lon) * 6378137.0)


def _lonlat_to_mercator_y(lat: np.ndarray) -> np.ndarray:
    clipped = np.clip(lat, -MERCATOR_MAX_LATITUDE, MERCATOR_MAX_LATITUDE)
    return np.asarray(np.log(np.tan(np.pi / 4 + np.radians(clipped) / 2)) * 6378137.0)


# Transforms that act on x and y separately, so a grid's columns and rows can be
# transformed as two 1-D arrays.
_SEPARABLE = {
    (WEB_MERCATOR, WGS84): (_mercator_to_lonlat_x, _mercator_to_lonlat_y),
    (WGS84, WEB_MERCATOR): (_lonlat_to_mercator_x, _lonlat_to_mercator_y),
}


def transform_points(
    source: str, target: str, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Transform coordinate arrays; points outside the target's domain become inf."""
    if source == target:
        return x, y
    separable = _SEPARABLE.get((source, target))
    if separable is not None:
        return separable[0](x), separable[1](y)
    tx, ty = _transformer(source, target).transform(x, y, errcheck=False)
    return np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64)


@dataclass(frozen=True)
class Coordinates:
    """CRS coordinates of a grid's pixel centres.

    When `separable` is true, `x` has shape (width,) and `y` has shape (height,);
    otherwise both have the grid's shape.
    """

    x: np.ndarray
    y: np.ndarray
    separable: bool

    def full(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.separable:
            return self.x, self.y
        return np.broadcast_to(
            self.x[None, :], (self.y.size, self.x.size)
        ), np.broadcast_to(self.y[:, None], (self.y.size, self.x.size))


def pixel_centres(grid: Grid) -> Coordinates:
    """Return the grid's pixel-centre coordinates in its own CRS."""
    sx, shx, tx, shy, sy, ty = grid.transform
    u = np.arange(grid.width, dtype=np.float64) + 0.5
    v = np.arange(grid.height, dtype=np.float64) + 0.5
    if shx == 0.0 and shy == 0.0:
        return Coordinates(sx * u + tx, sy * v + ty, separable=True)
    uu, vv = np.meshgrid(u, v)
    return Coordinates(
        sx * uu + shx * vv + tx, shy * uu + sy * vv + ty, separable=False
    )


def grid_coordinates(grid: Grid, crs: str) -> Coordinates:
    """Return the grid's pixel-centre coordinates in another CRS."""
    own = pixel_centres(grid)
    if crs == grid.crs:
        return own
    if own.separable and (grid.crs, crs) in _SEPARABLE:
        fx, fy = _SEPARABLE[(grid.crs, crs)]
        return Coordinates(fx(own.x), fy(own.y), separable=True)
    if grid.width * grid.height <= EXACT_TRANSFORM_MAX_PIXELS:
        x, y = own.full()
        tx, ty = transform_points(
            grid.crs, crs, np.ascontiguousarray(x), np.ascontiguousarray(y)
        )
        return Coordinates(
            tx.reshape(grid.shape), ty.reshape(grid.shape), separable=False
        )
    return _lattice_coordinates(grid, crs)


def _lattice_positions(size: int) -> np.ndarray:
    positions = np.arange(0, size, LATTICE_STEP, dtype=np.float64)
    if positions[-1] != size - 1:
        positions = np.append(positions, size - 1)
    return positions


def _lattice_coordinates(grid: Grid, crs: str) -> Coordinates:
    cols = _lattice_positions(grid.width)
    rows = _lattice_positions(grid.height)
    uu, vv = np.meshgrid(cols + 0.5, rows + 0.5)
    sx, shx, tx, shy, sy, ty = grid.transform
    x = sx * uu + shx * vv + tx
    y = shy * uu + sy * vv + ty
    lx, ly = transform_points(grid.crs, crs, x.ravel(), y.ravel())
    lx, ly = lx.reshape(uu.shape), ly.reshape(uu.shape)
    return Coordinates(
        _interpolate_lattice(lx, cols, rows, grid),
        _interpolate_lattice(ly, cols, rows, grid),
        separable=False,
    )


def _interpolate_lattice(
    values: np.ndarray, cols: np.ndarray, rows: np.ndarray, grid: Grid
) -> np.ndarray:
    """Bilinearly interpolate lattice values to every pixel of the grid."""
    along_x = _interpolate_axis(values, cols, grid.width, axis=1)
    return _interpolate_axis(along_x, rows, grid.height, axis=0)


def _interpolate_axis(
    values: np.ndarray, knots: np.ndarray, size: int, axis: int
) -> np.ndarray:
    target = np.arange(size, dtype=np.float64)
    index = np.clip(
        np.searchsorted(knots, target, side="right") - 1, 0, max(len(knots) - 2, 0)
    )
    if len(knots) == 1:
        return np.repeat(values, size, axis=axis)
    left, right = knots[index], knots[index + 1]
    fraction = (target - left) / (right - left)
    lower = np.take(values, index, axis=axis)
    upper = np.take(values, index + 1, axis=axis)
    shape = [1, 1]
    shape[axis] = size
    fraction = fraction.reshape(shape)
    return np.asarray(lower + (upper - lower) * fraction)
