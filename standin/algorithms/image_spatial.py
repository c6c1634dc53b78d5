"""Projections, reprojection, clipping and per-pixel coordinates."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from standin.algorithms import (
    Env,
    algorithm,
    as_geometry,
    as_image,
    as_list,
    as_number,
    as_optional_number,
    as_string,
    wrong_type,
)
from standin.errors import invalid_argument
from standin.geometry import Geometry
from standin.image import (
    DEFAULT_PROJECTION,
    Band,
    Image,
    Pixels,
    SampleContext,
    clip_to_bounds_and_scale,
    combine_masks,
    intersect_bounds,
    transform_bounds,
)
from standin.projection import (
    METRES_PER_DEGREE,
    WGS84,
    Affine,
    Grid,
    Projection,
    apply_affine,
    invert_affine,
    is_geographic,
    metres_per_unit,
)

# Largest intermediate grid a reprojection may compute; far above any thumbnail.
MAX_REPROJECT_PIXELS = 1 << 26


def as_projection(value: Any, algorithm_name: str, argument: str) -> Projection:
    if isinstance(value, Projection):
        return value
    if isinstance(value, str):
        return Projection.create(value)
    raise wrong_type(algorithm_name, argument, "Projection", value)


def as_affine(value: Any, algorithm_name: str, argument: str) -> Affine:
    if isinstance(value, str):
        value = [float(v) for v in value.strip("[] ").split(",")]
    numbers = [
        as_number(v, algorithm_name, argument)
        for v in as_list(value, algorithm_name, argument)
    ]
    if len(numbers) != 6:
        raise invalid_argument(
            f"{algorithm_name}: '{argument}' must have 6 numbers; got {len(numbers)}."
        )
    return tuple(float(n) for n in numbers)  # type: ignore[return-value]


@algorithm("Projection")
def projection(
    env: Env, crs: Any, transform: Any = None, transformWkt: Any = None
) -> Projection:
    if transformWkt is not None:
        raise invalid_argument(
            "Projection: 'transformWkt' is not supported; use 'transform'."
        )
    base = as_projection(crs, "Projection", "crs")
    if transform is None:
        return base
    return Projection(base.crs, as_affine(transform, "Projection", "transform"))


@algorithm("Image.projection")
def image_projection(env: Env, image: Any) -> Projection:
    return as_image(image, "Image.projection", "image").projection()


@algorithm("Projection.nominalScale")
def nominal_scale(env: Env, proj: Any) -> float:
    return as_projection(proj, "Projection.nominalScale", "proj").nominal_scale()


@algorithm("Projection.atScale")
def at_scale(env: Env, projection: Any, meters: Any) -> Projection:
    base = as_projection(projection, "Projection.atScale", "projection")
    return base.scaled_to(as_number(meters, "Projection.atScale", "meters"))


@algorithm("Projection.crs")
def projection_crs(env: Env, projection: Any) -> str:
    return as_projection(projection, "Projection.crs", "projection").crs


def _target_projection(
    name: str, crs: Any, crsTransform: Any, scale: Any
) -> Projection:
    target = as_projection(crs, name, "crs")
    if crsTransform is not None and scale is not None:
        raise invalid_argument(
            f"{name}: Can't specify both 'crsTransform' and 'scale'."
        )
    if crsTransform is not None:
        return Projection(target.crs, as_affine(crsTransform, name, "crsTransform"))
    if scale is not None:
        return target.scaled_to(as_number(scale, name, "scale"))
    return target


def _moved_bounds(band: Band, crs: str) -> Any:
    return (
        None
        if band.bounds is None
        else transform_bounds(band.bounds, band.projection.crs, crs)
    )


@algorithm("Image.setDefaultProjection")
def set_default_projection(
    env: Env, image: Any, crs: Any, crsTransform: Any = None, scale: Any = None
) -> Image:
    name = "Image.setDefaultProjection"
    source = as_image(image, name, "image")
    target = _target_projection(name, crs, crsTransform, scale)
    bands = [
        replace(band, projection=target, bounds=_moved_bounds(band, target.crs))
        for band in source.bands
    ]
    return source.with_bands(bands)


@algorithm("Image.reproject")
def reproject(
    env: Env, image: Any, crs: Any, crsTransform: Any = None, scale: Any = None
) -> Image:
    name = "Image.reproject"
    source = as_image(image, name, "image")
    target = _target_projection(name, crs, crsTransform, scale)
    return source.with_bands([reprojected_band(band, target) for band in source.bands])


def _pixel_indices(
    context: SampleContext, target: Projection
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the target-grid column and row of each output pixel, and where finite."""
    x, y = context.coordinates(target.crs).full()
    isx, ishx, itx, ishy, isy, ity = invert_affine(target.transform)
    with np.errstate(invalid="ignore", over="ignore"):
        u = np.floor(isx * x + ishx * y + itx)
        v = np.floor(ishy * x + isy * y + ity)
    return u, v, np.isfinite(u) & np.isfinite(v)


def _window(
    target: Projection, u: np.ndarray, v: np.ndarray, finite: np.ndarray
) -> Grid:
    """Return the part of the target grid that covers the given pixel indices."""
    u0, u1 = int(u[finite].min()), int(u[finite].max())
    v0, v1 = int(v[finite].min()), int(v[finite].max())
    width, height = u1 - u0 + 1, v1 - v0 + 1
    if width * height > MAX_REPROJECT_PIXELS:
        raise invalid_argument(
            f"Image.reproject: The reprojected area ({width}x{height} pixels) "
            "is too large; use a coarser scale."
        )
    x0, y0 = apply_affine(target.transform, u0, v0)
    sx, shx, _, shy, sy, _ = target.transform
    return Grid(target.crs, (sx, shx, x0, shy, sy, y0), width, height)


def reprojected_band(band: Band, target: Projection) -> Band:
    """Return a band computed on `target`'s pixel grid, then read nearest-neighbour."""

    def compute(context: SampleContext) -> Pixels:
        u, v, finite = _pixel_indices(context, target)
        if not finite.any():
            shape = context.grid.shape
            return Pixels(np.zeros(shape, band.dtype), np.zeros(shape, np.float32))

        window = _window(target, u, v, finite)
        pixels = context.derive(window).sample(band)
        u0, v0 = _window_origin(target, window)
        rows = np.where(finite, v - v0, 0).astype(np.int64)
        cols = np.where(finite, u - u0, 0).astype(np.int64)

        values = pixels.values[rows, cols]
        mask = None if pixels.mask is None else pixels.mask[rows, cols]
        if not finite.all():
            mask = combine_masks(mask, finite.astype(np.float32))
        return Pixels(values, mask)

    return Band(band.name, band.dtype, target, _moved_bounds(band, target.crs), compute)


def _window_origin(target: Projection, window: Grid) -> tuple[int, int]:
    """Return the window's top-left pixel as a column and row of the target grid."""
    inverse = invert_affine(target.transform)
    u0, v0 = apply_affine(inverse, window.transform[2], window.transform[5])
    return round(u0), round(v0)


@algorithm("Image.resample")
def resample(env: Env, image: Any, mode: Any = "bilinear") -> Image:
    name = "Image.resample"
    chosen = as_string(mode, name, "mode")
    if chosen not in ("bilinear", "bicubic"):
        raise invalid_argument(f"{name}: Invalid resampling mode '{chosen}'.")
    source = as_image(image, name, "image")
    # TODO: bicubic reads bilinearly; a cubic kernel in asset sampling would end this.
    bands = [
        band.resampler(chosen) if band.resampler else band for band in source.bands
    ]
    return source.with_bands(bands)


# --- Clipping -------------------------------------------------------------------------


@algorithm("Image.clip")
def clip(env: Env, input: Any, geometry: Any) -> Image:
    source = as_image(input, "Image.clip", "input")
    shape = as_geometry(geometry, "Image.clip", "geometry")
    return source.with_bands([_clipped_band(band, shape) for band in source.bands])


def _clipped_band(band: Band, geometry: Geometry) -> Band:
    def compute(context: SampleContext) -> Pixels:
        pixels = context.sample(band)
        return Pixels(
            pixels.values, combine_masks(pixels.mask, context.geometry_mask(geometry))
        )

    bounds = intersect_bounds(band.bounds, geometry.bounds_in(band.projection.crs))
    return Band(band.name, band.dtype, band.projection, bounds, compute)


@algorithm("Image.clipToBoundsAndScale")
def clip_to_bounds(
    env: Env,
    input: Any,
    geometry: Any = None,
    width: Any = None,
    height: Any = None,
    maxDimension: Any = None,
    scale: Any = None,
) -> Image:
    name = "Image.clipToBoundsAndScale"
    source = as_image(input, name, "input")
    shape = None if geometry is None else as_geometry(geometry, name, "geometry")
    return clip_to_bounds_and_scale(
        source,
        shape,
        _optional_int(width, name, "width"),
        _optional_int(height, name, "height"),
        _optional_int(maxDimension, name, "maxDimension"),
        as_optional_number(scale, name, "scale"),
    )


def _optional_int(value: Any, algorithm_name: str, argument: str) -> int | None:
    number = as_optional_number(value, algorithm_name, argument)
    return None if number is None else int(number)


@algorithm("Image.geometry")
def image_geometry(
    env: Env,
    feature: Any,
    maxError: Any = None,
    proj: Any = None,
    geodesics: Any = None,
) -> Geometry:
    footprint = as_image(feature, "Image.geometry", "feature").footprint()
    if footprint is None:
        # An unbounded image covers the whole world.
        return Geometry(
            "Polygon",
            [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]],
            WGS84,
            geodesic=False,
        )
    return footprint


# --- Per-pixel coordinates ------------------------------------------------------------


def _coordinate_band(name: str, axis: int) -> Band:
    def compute(context: SampleContext) -> Pixels:
        coordinates = context.coordinates(WGS84)
        x, y = coordinates.full()
        return Pixels(np.array(x if axis == 0 else y, dtype=np.float64))

    return Band(name, np.dtype(np.float64), DEFAULT_PROJECTION, None, compute)


@algorithm("Image.pixelLonLat")
def pixel_lon_lat(env: Env) -> Image:
    return Image([_coordinate_band("longitude", 0), _coordinate_band("latitude", 1)])


@algorithm("Image.pixelArea")
def pixel_area(env: Env) -> Image:
    def compute(context: SampleContext) -> Pixels:
        grid = context.grid
        sx, shx, _, shy, sy, _ = grid.transform
        unit_area = abs(sx * sy - shx * shy)
        if not is_geographic(grid.crs):
            area = unit_area * metres_per_unit(grid.crs) ** 2
            return Pixels(np.full(grid.shape, area, dtype=np.float64))
        _, latitude = context.coordinates(WGS84).full()
        scale = METRES_PER_DEGREE**2 * unit_area
        return Pixels(
            np.asarray(scale * np.cos(np.radians(latitude)), dtype=np.float64)
        )

    band = Band("area", np.dtype(np.float64), DEFAULT_PROJECTION, None, compute)
    return Image([band])
