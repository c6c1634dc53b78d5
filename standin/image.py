"""Images as lazy descriptions that are sampled onto one output grid at the end.

A band carries its name, pixel type, default projection and footprint without
reading a pixel, so the output grid, band list and request size of a thumbnail
are known at create time. Its `compute` function produces values and a mask for
whatever grid the request ends up with; results are memoised per grid, so a
band used twice in one expression is computed once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from standin.catalog import BandSpec, Catalog, ImageAsset
from standin.errors import invalid_argument
from standin.geometry import Geometry, rectangle
from standin.projection import (
    WGS84,
    Affine,
    Bounds,
    Coordinates,
    Grid,
    Projection,
    canonical_crs,
    grid_coordinates,
    grid_for_bounds,
    invert_affine,
)

# Earth Engine's default projection for constants: WGS84 with 1-degree pixels.
DEFAULT_PROJECTION = Projection(WGS84, (1.0, 0.0, 0.0, 0.0, -1.0, 0.0))
UNBOUNDED_MESSAGE = (
    "Unable to compute the output grid: the image is unbounded. Clip it to a region "
    "(Image.clipToBoundsAndScale) or send a grid with dimensions."
)


@dataclass
class Pixels:
    """Band values on a grid and a mask in 0..1 (None when every pixel is valid)."""

    values: np.ndarray
    mask: np.ndarray | None = None


class SampleContext:
    """The output grid of one render and the per-grid memo of computed bands."""

    def __init__(self, grid: Grid, catalog: Catalog) -> None:
        self.grid = grid
        self.catalog = catalog
        self._memo: dict[Callable[[SampleContext], Pixels], Pixels] = {}
        self._coordinates: dict[str, Coordinates] = {}
        self._masks: dict[tuple[int, float | None], np.ndarray] = {}

    def coordinates(self, crs: str) -> Coordinates:
        if crs not in self._coordinates:
            self._coordinates[crs] = grid_coordinates(self.grid, crs)
        return self._coordinates[crs]

    def sample(self, band: Band) -> Pixels:
        pixels = self._memo.get(band.compute)
        if pixels is None:
            pixels = band.compute(self)
            self._memo[band.compute] = pixels
        return pixels

    def geometry_mask(
        self, geometry: Geometry, outline_width: float | None = None
    ) -> np.ndarray:
        """Return the geometry rasterized on this grid, once per geometry and width."""
        # The geometry lives as long as the bands that use it, so its id is stable.
        key = (id(geometry), outline_width)
        if key not in self._masks:
            self._masks[key] = geometry.mask_on(self.grid, outline_width)
        return self._masks[key]

    def derive(self, grid: Grid) -> SampleContext:
        return SampleContext(grid, self.catalog)


Compute = Callable[[SampleContext], Pixels]


@dataclass(frozen=True)
class Band:
    """One band: name, numpy pixel type, default projection and footprint bounds."""

    name: str
    dtype: np.dtype[Any]
    projection: Projection
    bounds: Bounds | None
    compute: Compute
    # Rebuilds the band with another resampling mode; only asset bands have it.
    resampler: Callable[[str], Band] | None = None

    def renamed(self, name: str) -> Band:
        return replace(self, name=name)


@dataclass
class Image:
    """An Earth Engine image: bands, properties and an optional fixed output grid."""

    bands: list[Band]
    properties: dict[str, Any] = field(default_factory=dict)
    grid: Grid | None = None

    @property
    def band_names(self) -> list[str]:
        return [band.name for band in self.bands]

    def projection(self) -> Projection:
        return self.bands[0].projection if self.bands else DEFAULT_PROJECTION

    def with_bands(self, bands: list[Band]) -> Image:
        return Image(bands, dict(self.properties), self.grid)

    def footprint(self) -> Geometry | None:
        for band in self.bands:
            if band.bounds is not None:
                return rectangle(band.bounds, band.projection.crs, geodesic=False)
        return None


def band_for(image: Image, index: int, algorithm_name: str) -> Band:
    """Return the band that goes with band `index` of another image.

    A one-band image goes with every band; otherwise bands pair up by position.
    """
    if len(image.bands) == 1:
        return image.bands[0]
    if index >= len(image.bands):
        raise invalid_argument(
            f"{algorithm_name}: The images must have 1 band or the same number "
            "of bands."
        )
    return image.bands[index]


def select_bands(image: Image, selectors: list[Any], algorithm_name: str) -> list[Band]:
    """Return the bands matching each selector in turn: an index, a name or a regex."""
    chosen: list[Band] = []
    for selector in selectors:
        if isinstance(selector, (int, float)) and not isinstance(selector, bool):
            index = int(selector)
            if not 0 <= index < len(image.bands):
                raise invalid_argument(
                    f"{algorithm_name}: Band index {index} out of range; the image has "
                    f"{len(image.bands)} bands."
                )
            chosen.append(image.bands[index])
            continue
        if not isinstance(selector, str):
            raise invalid_argument(
                f"{algorithm_name}: Invalid band selector {selector!r}; expected a "
                "band name, a regular expression or an index."
            )
        pattern = selector
        matches = [band for band in image.bands if _full_match(pattern, band.name)]
        if not matches:
            raise invalid_argument(
                f"{algorithm_name}: Pattern '{pattern}' did not match any bands. "
                f"Available bands: {image.band_names}."
            )
        chosen.extend(matches)
    return chosen


def _full_match(pattern: str, name: str) -> bool:
    if pattern == name:
        return True
    try:
        return re.fullmatch(pattern, name) is not None
    except re.error:
        return False


def default_grid(image: Image) -> Grid:
    """Return the grid a request without its own grid renders the image on."""
    if image.grid is not None:
        return image.grid
    for band in image.bands[:1]:
        if band.bounds is not None:
            return grid_for_bounds(band.projection, band.bounds)
    raise invalid_argument(UNBOUNDED_MESSAGE)


def transform_bounds(bounds: Bounds, source: str, target: str) -> Bounds | None:
    """Move footprint bounds to another CRS; None when no part of them exists there."""
    if source == target:
        return bounds
    return rectangle(bounds, source, geodesic=False).finite_bounds_in(target)


def intersect_bounds(a: Bounds | None, b: Bounds | None) -> Bounds | None:
    if a is None or b is None:
        return a if b is None else b
    xmin, ymin = max(a[0], b[0]), max(a[1], b[1])
    xmax, ymax = min(a[2], b[2]), min(a[3], b[3])
    return xmin, ymin, max(xmax, xmin), max(ymax, ymin)


def combine_masks(*masks: np.ndarray | None) -> np.ndarray | None:
    """Return the pixel-wise minimum of the masks that are present."""
    present = [mask for mask in masks if mask is not None]
    if not present:
        return None
    result = present[0]
    for mask in present[1:]:
        result = np.minimum(result, mask)
    return result


# --- Constants ------------------------------------------------------------------------


def constant_dtype(value: float) -> np.dtype[Any]:
    """Return the narrowest type that can represent the constant, as EE does."""
    if isinstance(value, bool) or (
        isinstance(value, (int, float)) and float(value).is_integer()
    ):
        number = int(value)
        for dtype in (np.uint8, np.int16, np.int32):
            info = np.iinfo(dtype)
            if info.min <= number <= info.max:
                return np.dtype(dtype)
        return np.dtype(np.int64)
    return np.dtype(np.float64)


def constant_band(value: float, name: str = "constant") -> Band:
    dtype = constant_dtype(value)

    def compute(context: SampleContext) -> Pixels:
        return Pixels(np.full(context.grid.shape, value, dtype=dtype))

    return Band(name, dtype, DEFAULT_PROJECTION, None, compute)


def constant_image(value: Any) -> Image:
    if isinstance(value, (list, tuple)):
        bands = [
            constant_band(_number(v), "constant" if i == 0 else f"constant_{i}")
            for i, v in enumerate(value)
        ]
        return Image(bands)
    return Image([constant_band(_number(value))])


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid_argument(
            "Image.constant: Invalid type. Expected a number, "
            f"got {type(value).__name__}."
        )
    return value


# --- Assets ---------------------------------------------------------------------------


def _indices(
    coordinate: np.ndarray, scale: float, offset: float, size: int, wrap: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Return nearest source indices along one axis and where they are in range."""
    with np.errstate(invalid="ignore", over="ignore"):
        position = np.floor(coordinate * scale + offset)
    finite = np.isfinite(position)
    index = np.where(finite, position, 0).astype(np.int64)
    if wrap:
        return index % size, finite
    inside = finite & (index >= 0) & (index < size)
    return np.clip(index, 0, size - 1), inside


def _asset_lookup(
    asset: ImageAsset, coordinates: Coordinates
) -> tuple[Any, np.ndarray]:
    """Return an index usable on (rows, cols) arrays and the in-bounds mask."""
    isx, ishx, itx, ishy, isy, ity = invert_affine(asset.transform)
    if coordinates.separable and ishx == 0.0 and ishy == 0.0:
        cols, col_ok = _indices(
            coordinates.x, isx, itx, asset.width, asset.wraps_longitude
        )
        rows, row_ok = _indices(coordinates.y, isy, ity, asset.height, wrap=False)
        return np.ix_(rows, cols), row_ok[:, None] & col_ok[None, :]
    x, y = coordinates.full()
    with np.errstate(invalid="ignore", over="ignore"):
        u = isx * x + ishx * y + itx
        v = ishy * x + isy * y + ity
    cols, col_ok = _indices(u, 1.0, 0.0, asset.width, asset.wraps_longitude)
    rows, row_ok = _indices(v, 1.0, 0.0, asset.height, wrap=False)
    return (rows, cols), row_ok & col_ok


def _bilinear(
    catalog: Catalog, asset: ImageAsset, spec: BandSpec, coordinates: Coordinates
) -> Pixels:
    """Interpolate between the four nearest pixel centres; any invalid one masks."""
    data = _band_data(catalog, spec)
    valid_raster = None if spec.valid is None else catalog.raster(spec.valid)
    isx, ishx, itx, ishy, isy, ity = invert_affine(asset.transform)
    x, y = coordinates.full()
    u = isx * x + ishx * y + itx - 0.5
    v = ishy * x + isy * y + ity - 0.5
    u0, v0 = np.floor(u), np.floor(v)
    fu, fv = u - u0, v - v0
    wrap = asset.wraps_longitude
    total = np.zeros(u.shape, dtype=np.float64)
    valid = np.ones(u.shape, dtype=bool)
    for du, dv, weight in (
        (0, 0, (1 - fu) * (1 - fv)),
        (1, 0, fu * (1 - fv)),
        (0, 1, (1 - fu) * fv),
        (1, 1, fu * fv),
    ):
        cols, col_ok = _indices(u0 + du + 0.5, 1.0, 0.0, asset.width, wrap)
        rows, row_ok = _indices(v0 + dv + 0.5, 1.0, 0.0, asset.height, wrap=False)
        corner = data[rows, cols]
        total += corner * weight
        valid &= col_ok & row_ok
        if valid_raster is not None:
            valid &= valid_raster[rows, cols]
        if spec.nodata is not None:
            valid &= corner != spec.nodata
    return Pixels(total, None if valid.all() else valid.astype(np.float32))


def _band_data(catalog: Catalog, spec: BandSpec) -> np.ndarray:
    data = catalog.raster(spec.file)
    return data if spec.index is None else data[spec.index]


def asset_band(
    catalog: Catalog, asset: ImageAsset, spec: BandSpec, mode: str = "nearest"
) -> Band:
    """Return a band that reads `spec` from its raster, nearest-neighbour by default."""

    def compute(context: SampleContext) -> Pixels:
        coordinates = context.coordinates(asset.crs)
        if mode != "nearest":
            return _bilinear(catalog, asset, spec, coordinates)

        data = _band_data(catalog, spec)
        index, valid = _asset_lookup(asset, coordinates)
        values = data[index]
        if spec.valid is not None:
            valid = valid & catalog.raster(spec.valid)[index]
        if spec.nodata is not None:
            valid = valid & (values != spec.nodata)
        return Pixels(values, None if valid.all() else valid.astype(np.float32))

    projection = Projection(asset.crs, asset.transform)
    return Band(
        spec.name,
        np.dtype(spec.dtype),
        projection,
        asset.bounds(),
        compute,
        resampler=lambda new_mode: asset_band(catalog, asset, spec, new_mode),
    )


def load_image(catalog: Catalog, asset_id: str) -> Image:
    return image_from_asset(catalog, catalog.image(asset_id))


def image_from_asset(catalog: Catalog, asset: ImageAsset) -> Image:
    bands = [asset_band(catalog, asset, spec) for spec in asset.bands]
    properties = {"system:id": asset.id, **asset.properties}
    properties.setdefault("system:index", asset.id.rsplit("/", 1)[-1])
    return Image(bands, properties)


# --- Output grids ---------------------------------------------------------------------


def clip_to_bounds_and_scale(
    image: Image,
    geometry: Geometry | None,
    width: int | None,
    height: int | None,
    max_dimension: int | None,
    scale: float | None,
) -> Image:
    """Fix the output grid to the geometry's bounds in the image's projection."""
    name = "Image.clipToBoundsAndScale"
    projection = image.projection()
    bounds: Bounds | None = None
    if geometry is not None:
        bounds = geometry.bounds_in(projection.crs)
    else:
        bounds = image.bands[0].bounds if image.bands else None
        if bounds is None:
            raise invalid_argument(
                f"{name}: The geometry for image clipping must be bounded."
            )

    if width is not None or height is not None:
        if width is None or height is None:
            raise invalid_argument(
                f"{name}: Width and height must be specified together."
            )
        if max_dimension is not None or scale is not None:
            raise invalid_argument(
                f"{name}: Width and height cannot be combined with maxDimension "
                "or scale."
            )
        grid = _grid_of_size(projection.crs, bounds, width, height)
    elif max_dimension is not None:
        if scale is not None:
            raise invalid_argument(
                f"{name}: maxDimension and scale are mutually exclusive."
            )
        grid = _grid_of_max_dimension(projection.crs, bounds, max_dimension)
    elif scale is not None:
        grid = grid_for_bounds(projection.scaled_to(scale), bounds)
    else:
        grid = grid_for_bounds(projection, bounds)
    bands = [_clipped_to(band, grid) for band in image.bands]
    return Image(bands, dict(image.properties), grid)


def _clipped_to(band: Band, grid: Grid) -> Band:
    if band.projection.crs != grid.crs:
        return band
    return replace(band, bounds=grid.bounds())


def _grid_of_size(crs: str, bounds: Bounds, width: int, height: int) -> Grid:
    if width <= 0 or height <= 0:
        raise invalid_argument(
            f"Image.clipToBoundsAndScale: Invalid dimensions {width}x{height}; "
            "both must be positive."
        )
    xmin, ymin, xmax, ymax = bounds
    transform = ((xmax - xmin) / width, 0.0, xmin, 0.0, -(ymax - ymin) / height, ymax)
    return Grid(crs, transform, width, height)


def _grid_of_max_dimension(crs: str, bounds: Bounds, max_dimension: int) -> Grid:
    xmin, ymin, xmax, ymax = bounds
    span_x, span_y = xmax - xmin, ymax - ymin
    if span_x <= 0 or span_y <= 0:
        raise invalid_argument(
            "Image.clipToBoundsAndScale: The geometry has an empty extent."
        )
    if span_x >= span_y:
        width, height = max_dimension, max(1, round(max_dimension * span_y / span_x))
    else:
        width, height = max(1, round(max_dimension * span_x / span_y)), max_dimension
    return _grid_of_size(crs, bounds, width, height)


def _required_bounds(bounds: Bounds | None) -> Bounds:
    if bounds is None:
        raise invalid_argument(UNBOUNDED_MESSAGE)
    return bounds


def grid_from_request(request: dict[str, Any], image: Image) -> Grid:
    """Return the grid of a Thumbnail or computePixels `grid` field (PixelGrid).

    Missing parts come from the image: its CRS, and the extent of its default grid
    when the affine transform or the dimensions are absent.
    """
    crs = canonical_crs(
        request.get("crsCode") or request.get("crsWkt") or image.projection().crs
    )
    dimensions = request.get("dimensions") or {}
    affine = request.get("affineTransform")
    if affine is None:
        base = default_grid(image)
        bounds = _required_bounds(transform_bounds(base.bounds(), base.crs, crs))
        width = int(dimensions.get("width", base.width))
        height = int(dimensions.get("height", base.height))
        return _grid_of_size(crs, bounds, width, height)

    keys = ("scaleX", "shearX", "translateX", "shearY", "scaleY", "translateY")
    sx, shx, tx, shy, sy, ty = (float(affine.get(key, 0.0)) for key in keys)
    transform: Affine = (sx, shx, tx, shy, sy, ty)
    if "width" in dimensions and "height" in dimensions:
        return Grid(crs, transform, int(dimensions["width"]), int(dimensions["height"]))
    base = default_grid(image)
    bounds = _required_bounds(transform_bounds(base.bounds(), base.crs, crs))
    return grid_for_bounds(Projection(crs, transform), bounds)
