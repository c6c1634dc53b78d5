"""`Image.reduceRegion`: statistics of an image's pixels inside a geometry."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from standin.algorithms import (
    Env,
    algorithm,
    as_geometry,
    as_image,
    as_number,
    as_optional_number,
)
from standin.algorithms.image_spatial import as_affine, as_projection
from standin.algorithms.reducers import REDUCTIONS, percentile_reduction
from standin.elements import Reducer
from standin.errors import invalid_argument
from standin.geometry import Geometry
from standin.image import Image, SampleContext
from standin.projection import Grid, Projection, grid_for_bounds

NAME = "Image.reduceRegion"
DEFAULT_MAX_PIXELS = 10_000_000


def _region_projection(
    image: Image, crs: Any, transform: Any, scale: Any
) -> Projection:
    projection = image.projection() if crs is None else as_projection(crs, NAME, "crs")
    if transform is not None:
        return Projection(projection.crs, as_affine(transform, NAME, "crsTransform"))
    if scale is not None:
        return projection.scaled_to(as_number(scale, NAME, "scale"))
    return projection


def _region_grid(
    projection: Projection, geometry: Geometry, max_pixels: float, best_effort: bool
) -> Grid:
    grid = grid_for_bounds(projection, geometry.bounds_in(projection.crs))
    count = grid.width * grid.height
    if count <= max_pixels:
        return grid
    if not best_effort:
        raise invalid_argument(
            f"{NAME}: Too many pixels in the region. Found {count}, but maxPixels "
            f"allows only {int(max_pixels)}. Ways to resolve this: set a larger "
            "scale, a larger maxPixels, or bestEffort."
        )
    # bestEffort coarsens the scale until the region fits within maxPixels.
    factor = math.sqrt(count / max_pixels) * 1.01
    return _region_grid(
        projection.scaled_to(projection.nominal_scale() * factor),
        geometry,
        max_pixels,
        best_effort,
    )


def _reduce_values(values: np.ndarray, reducer: Reducer, band: str) -> dict[str, Any]:
    """Reduce a 1-D array of valid pixel values into the reducer's named outputs."""
    stack = values.reshape(-1, 1)
    valid = np.ones_like(stack, dtype=bool)
    if reducer.name == "percentile":
        outputs = zip(
            reducer.options["names"], reducer.options["percentiles"], strict=True
        )
        return {
            f"{band}_{label}": _scalar(percentile_reduction(p), stack, valid)
            for label, p in outputs
        }
    if reducer.name == "minMax":
        return {
            f"{band}_min": _scalar(REDUCTIONS["min"], stack, valid),
            f"{band}_max": _scalar(REDUCTIONS["max"], stack, valid),
        }
    return {band: _scalar(REDUCTIONS[reducer.name], stack, valid)}


def _scalar(reduction: Any, stack: np.ndarray, valid: np.ndarray) -> float | None:
    if stack.size == 0:
        return None
    result = float(reduction(stack, valid)[0])
    return int(result) if result.is_integer() and abs(result) < 2**53 else result


@algorithm("Image.reduceRegion")
def reduce_region(
    env: Env,
    image: Any,
    reducer: Any,
    geometry: Any = None,
    scale: Any = None,
    crs: Any = None,
    crsTransform: Any = None,
    bestEffort: Any = False,
    maxPixels: Any = DEFAULT_MAX_PIXELS,
    tileScale: Any = 1,
) -> dict[str, Any]:
    source = as_image(image, NAME, "image")
    if not isinstance(reducer, Reducer):
        raise invalid_argument(f"{NAME}: Invalid type for argument 'reducer'.")
    region = geometry and as_geometry(geometry, NAME, "geometry") or source.footprint()
    if region is None:
        raise invalid_argument(f"{NAME}: The image is unbounded; specify a geometry.")
    projection = _region_projection(source, crs, crsTransform, scale)
    limit = as_optional_number(maxPixels, NAME, "maxPixels") or DEFAULT_MAX_PIXELS
    grid = _region_grid(projection, region, limit, bool(bestEffort))

    context = SampleContext(grid, env.catalog)
    inside = region.mask_on(grid) > 0
    result: dict[str, Any] = {}
    for band in source.bands:
        pixels = context.sample(band)
        keep = inside if pixels.mask is None else inside & (pixels.mask > 0)
        values = pixels.values[keep].astype(np.float64)
        result.update(_reduce_values(values, reducer, band.name))
    return result
