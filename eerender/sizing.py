"""Output size estimates and Earth Engine's size limits, checked before any call.

Earth Engine rejects a thumbnail whose uncompressed output (width x height x bands x
bytes per band) is over 48 MiB, whose grid is over 32768 pixels on a side, or which has
more than 1024 bands. The limits come from ``Settings``. This module estimates the
output from the request, and its errors name the change that brings an estimate
within the limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from eerender.config import Settings
from eerender.errors import InvalidRequest
from eerender.region import WEB_MERCATOR_CODES, Region

# Earth Engine's nominal scale of one degree at the equator.
METRES_PER_DEGREE = 111319.49
WEB_MERCATOR_RADIUS = 6378137.0
_GEOGRAPHIC_CODES = frozenset({"EPSG:4326", "CRS:84", "OGC:CRS84"})


@dataclass(frozen=True)
class OutputEstimate:
    """The estimated output grid and size of a thumbnail.

    ``bands`` and ``bytes_per_band`` are ``None`` when the request does not fix them,
    as for an unvisualized GeoTIFF of an asset whose band types are unknown here.
    ``exact`` is false when the grid depends on a projection this module can only
    approximate.
    """

    width: int
    height: int
    bands: int | None
    bytes_per_band: int | None
    exact: bool

    @property
    def bytes(self) -> int | None:
        """Uncompressed bytes, when bands and bytes per band are known."""
        if self.bands is None or self.bytes_per_band is None:
            return None
        return self.width * self.height * self.bands * self.bytes_per_band

    @property
    def minimum_bytes(self) -> int:
        """Minimum bytes of the output, counting one band of one byte when unknown."""
        return self.width * self.height * (self.bands or 1) * (self.bytes_per_band or 1)

    def describe(self) -> str:
        bands = "unknown bands" if self.bands is None else f"{self.bands} band(s)"
        size = "unknown" if self.bytes_per_band is None else str(self.bytes_per_band)
        about = "" if self.exact else "about "
        return (
            f"{about}{self.width} x {self.height} pixels x {bands} x {size} byte(s) "
            "per band"
        )


@dataclass(frozen=True)
class GridRequest:
    """The request parameters that decide the output grid."""

    region: Region | None = None
    crs: str | None = None
    crs_transform: tuple[float, ...] | None = None
    max_dimension: int | None = None
    width: int | None = None
    height: int | None = None
    scale: float | None = None


def grid_size(request: GridRequest) -> tuple[int, int, bool] | None:
    """Estimate (width, height, exact) of the output grid, or ``None`` if unknowable.

    Without a region the size depends on the image's footprint, which is unknown
    before rendering, unless the request names both width and height.
    """
    if request.width is not None and request.height is not None:
        return request.width, request.height, True
    extent = _extent(request.region, request.crs)
    if extent is None:
        return None
    extent_x, extent_y, metres_per_unit, exact = extent
    if request.max_dimension is not None:
        return (*_fit(request.max_dimension, extent_x, extent_y), exact)
    if request.scale is not None:
        units_per_pixel = request.scale / metres_per_unit
        return (
            _pixels(extent_x / units_per_pixel),
            _pixels(extent_y / units_per_pixel),
            exact,
        )
    if request.crs_transform is not None and exact:
        scale_x, _, _, _, scale_y, _ = request.crs_transform
        if scale_x and scale_y:
            return (
                _pixels(extent_x / abs(scale_x)),
                _pixels(extent_y / abs(scale_y)),
                True,
            )
    return None


def _extent(
    region: Region | None, crs: str | None
) -> tuple[float, float, float, bool] | None:
    """Return the extent in projection units, metres per unit, and its exactness.

    The extent is exact for EPSG:4326 and Web Mercator. For any other projection, and
    for an image left in its own projection, it is estimated in degrees at Earth
    Engine's nominal 111319.49 m per degree, which is what composites use.
    """
    if region is None:
        return None
    code = (crs or "").strip().upper()
    if code in WEB_MERCATOR_CODES:
        west, east = (
            math.radians(value) * WEB_MERCATOR_RADIUS
            for value in (region.west, region.east)
        )
        south, north = (_mercator_y(value) for value in (region.south, region.north))
        return east - west, north - south, 1.0, True
    exact = code in _GEOGRAPHIC_CODES
    return (
        region.east - region.west,
        region.north - region.south,
        METRES_PER_DEGREE,
        exact,
    )


def _mercator_y(latitude: float) -> float:
    return WEB_MERCATOR_RADIUS * math.log(
        math.tan(math.pi / 4 + math.radians(latitude) / 2)
    )


def _fit(longest: int, extent_x: float, extent_y: float) -> tuple[int, int]:
    if extent_x >= extent_y:
        return longest, _pixels(longest * extent_y / extent_x)
    return _pixels(longest * extent_x / extent_y), longest


def _pixels(value: float) -> int:
    return max(1, round(value))


def check_output(estimate: OutputEstimate, settings: Settings, field: str) -> None:
    """Reject an output that Earth Engine would refuse for its size.

    Args:
        estimate: The estimated output.
        settings: Supplies ``max_grid_side`` and ``max_output_bytes``.
        field: JSON pointer of the parameter that sets the size, for errors.

    Raises:
        InvalidRequest: ``DIMENSIONS_TOO_LARGE`` or ``REQUEST_TOO_LARGE``, with a
            suggested ``dimensions`` that fits.
    """
    longest = max(estimate.width, estimate.height)
    suggestion = suggest_dimensions(estimate, settings)
    if longest > settings.max_grid_side:
        raise InvalidRequest(
            f"The output grid would be {estimate.describe()}, and each side may be at "
            f'most {settings.max_grid_side} pixels. Send "dimensions": {suggestion} '
            "or a coarser scale.",
            code="DIMENSIONS_TOO_LARGE",
            field=field,
            value=f"{estimate.width}x{estimate.height}",
            limit=settings.max_grid_side,
        )
    if estimate.minimum_bytes > settings.max_output_bytes:
        raise InvalidRequest(
            f"The output would be {estimate.describe()} = {estimate.minimum_bytes:,} "
            f"bytes uncompressed, over Earth Engine's limit of "
            f'{settings.max_output_bytes:,} bytes. Send "dimensions": {suggestion} '
            "or less, a coarser scale, or fewer bands.",
            code="REQUEST_TOO_LARGE",
            field=field,
            value=f"{estimate.minimum_bytes} bytes",
            limit=settings.max_output_bytes,
        )


def suggest_dimensions(estimate: OutputEstimate, settings: Settings) -> int:
    """Return the longest side that keeps the estimated output within the limits."""
    longest = max(estimate.width, estimate.height)
    shortest_ratio = min(estimate.width, estimate.height) / longest
    per_pixel = (estimate.bands or 1) * (estimate.bytes_per_band or 1) * shortest_ratio
    side = min(
        math.isqrt(int(settings.max_output_bytes / per_pixel)),
        settings.max_grid_side,
        longest,
    )
    # The short side is rounded, which can push the product just over the limit.
    while (
        side > 1
        and _bytes_at(side, shortest_ratio, estimate) > settings.max_output_bytes
    ):
        side -= 1
    return max(1, side)


def _bytes_at(side: int, shortest_ratio: float, estimate: OutputEstimate) -> int:
    bands = (estimate.bands or 1) * (estimate.bytes_per_band or 1)
    return side * _pixels(side * shortest_ratio) * bands


def check_side(value: int, settings: Settings, field: str) -> None:
    """Reject a requested side longer than the grid limit."""
    if value > settings.max_grid_side:
        raise InvalidRequest(
            f"Dimension {value} at {field} is over the limit of "
            f"{settings.max_grid_side} pixels per side. Send at most "
            f"{settings.max_grid_side}.",
            code="DIMENSIONS_TOO_LARGE",
            field=field,
            value=value,
            limit=settings.max_grid_side,
        )


def check_bands(count: int, settings: Settings, field: str) -> None:
    """Reject an output with more bands than Earth Engine allows."""
    if count > settings.max_bands:
        raise InvalidRequest(
            f"The output would have {count} bands; at most {settings.max_bands} are "
            "allowed. Select fewer bands.",
            code="TOO_MANY_BANDS",
            field=field,
            value=count,
            limit=settings.max_bands,
        )
