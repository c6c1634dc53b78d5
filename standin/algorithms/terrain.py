"""Terrain: slope, aspect and hillshade from an elevation band in metres."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from standin.algorithms import Env, algorithm, as_image, as_number
from standin.algorithms.image_spatial import reprojected_band
from standin.errors import invalid_argument
from standin.image import Band, Image, Pixels, SampleContext
from standin.projection import METRES_PER_DEGREE, WGS84, is_geographic, metres_per_unit

Gradient = tuple[np.ndarray, np.ndarray]


def _gradient(context: SampleContext, band: Band) -> tuple[Gradient, np.ndarray | None]:
    """Return (east, north) elevation gradients on the context's grid and the mask.

    Central differences over the four neighbours, computed on a grid one pixel
    wider on every side so edge pixels have neighbours.
    """
    grid = context.grid
    wide = context.derive(grid.expanded(1)).sample(band)
    z = wide.values.astype(np.float64)
    sx, _, _, _, sy, _ = grid.transform
    if is_geographic(grid.crs):
        _, latitude = context.coordinates(WGS84).full()
        dx = abs(sx) * METRES_PER_DEGREE * np.cos(np.radians(latitude))
        dy = abs(sy) * METRES_PER_DEGREE
    else:
        unit = metres_per_unit(grid.crs)
        dx, dy = abs(sx) * unit, abs(sy) * unit
    east = (z[1:-1, 2:] - z[1:-1, :-2]) / (2 * np.maximum(dx, 1e-9))
    # Rows run from north to south.
    north = (z[:-2, 1:-1] - z[2:, 1:-1]) / (2 * dy)
    mask = None
    if wide.mask is not None:
        m = wide.mask
        mask = np.minimum.reduce(
            [m[1:-1, 1:-1], m[1:-1, 2:], m[1:-1, :-2], m[:-2, 1:-1], m[2:, 1:-1]]
        )
    return (east, north), mask


def slope_degrees(gradient: Gradient) -> np.ndarray:
    east, north = gradient
    return np.degrees(np.arctan(np.hypot(east, north)))


def aspect_degrees(gradient: Gradient) -> np.ndarray:
    """Return the compass direction the slope faces: 0 north, 90 east."""
    east, north = gradient
    return np.degrees(np.arctan2(-east, -north)) % 360.0


def hillshade(gradient: Gradient, azimuth: float, elevation: float) -> np.ndarray:
    zenith = np.radians(90.0 - elevation)
    slope = np.radians(slope_degrees(gradient))
    aspect = np.radians(aspect_degrees(gradient))
    shade = np.cos(zenith) * np.cos(slope) + np.sin(zenith) * np.sin(slope) * np.cos(
        np.radians(azimuth) - aspect
    )
    return np.asarray(np.clip(shade * 255.0, 0, 255))


def _terrain_band(
    source: Band, name: str, dtype: type, product: Callable[[Gradient], np.ndarray]
) -> Band:
    def compute(context: SampleContext) -> Pixels:
        gradient, mask = _gradient(context, source)
        return Pixels(product(gradient).astype(dtype), mask)

    # Like the service, compute on the elevation's own pixel grid and resample
    # the result. On a finer output grid, nearest-neighbour pixels repeat, so
    # their differences would be all zeros and spikes.
    native = Band(name, np.dtype(dtype), source.projection, source.bounds, compute)
    return reprojected_band(native, source.projection)


def _elevation(input: Any, name: str) -> Band:
    image = as_image(input, name, "input")
    if not image.bands:
        raise invalid_argument(f"{name}: The input image has no bands.")
    return image.bands[0]


@algorithm("Terrain.slope")
def terrain_slope(env: Env, input: Any) -> Image:
    band = _elevation(input, "Terrain.slope")
    return Image([_terrain_band(band, "slope", np.float32, slope_degrees)])


@algorithm("Terrain.aspect")
def terrain_aspect(env: Env, input: Any) -> Image:
    band = _elevation(input, "Terrain.aspect")
    return Image([_terrain_band(band, "aspect", np.float32, aspect_degrees)])


@algorithm("Terrain.hillshade")
def terrain_hillshade(
    env: Env, input: Any, azimuth: Any = 270, elevation: Any = 45
) -> Image:
    name = "Terrain.hillshade"
    band = _elevation(input, name)
    sun_azimuth = as_number(azimuth, name, "azimuth")
    sun_elevation = as_number(elevation, name, "elevation")
    product = lambda g: hillshade(g, sun_azimuth, sun_elevation)  # noqa: E731
    return Image([_terrain_band(band, "hillshade", np.uint8, product)])


@algorithm("Terrain.products")
def terrain_products(env: Env, input: Any) -> Image:
    image = as_image(input, "Terrain.products", "input")
    band = _elevation(image, "Terrain.products")
    added = [
        _terrain_band(band, "slope", np.float32, slope_degrees),
        _terrain_band(band, "aspect", np.float32, aspect_degrees),
        _terrain_band(band, "hillshade", np.uint8, lambda g: hillshade(g, 270.0, 45.0)),
    ]
    return image.with_bands([*image.bands, *added])
