"""The stand-in's evaluation engine: expressions in, rendered files or JSON values out.

Thumbnail and computePixels requests are planned without reading a pixel (output
grid, bands, pixel types, size limits), so `check_thumbnail` can reject them at
create time. Rendering then samples every band onto the planned grid.
"""

from __future__ import annotations

import logging
import pathlib
from dataclasses import dataclass
from typing import Any

from standin.catalog import Catalog
from standin.encoding import DISPLAY_FORMATS, Raster, encode, normalise_format
from standin.errors import invalid_argument
from standin.evaluator import Evaluator
from standin.image import (
    Image,
    SampleContext,
    default_grid,
    grid_from_request,
    select_bands,
)
from standin.info import to_json, type_label
from standin.projection import Grid
from standin.visualize import options_from_thumbnail, visualize

logger = logging.getLogger(__name__)

# Request limits of thumbnails.create, getPixels and computePixels (EE REST v1).
MAX_REQUEST_BYTES = 48 * 1024 * 1024
MAX_GRID_DIMENSION = 32768
MAX_BANDS = 1024


@dataclass(frozen=True)
class Plan:
    """The output of a pixel request, known before any pixel is read."""

    image: Image
    grid: Grid
    file_format: str
    filename_prefix: str | None


class Engine:
    """Evaluate Earth Engine expressions on the installed rasters.

    Thread-safe: each call evaluates its own expression, and the catalog loads
    each raster once under a lock.
    """

    def __init__(self, data_dir: pathlib.Path) -> None:
        self.catalog = Catalog(pathlib.Path(data_dir))

    def check_thumbnail(self, body: dict[str, Any]) -> None:
        """Raise EEError if the thumbnail cannot be rendered; reads no pixels."""
        self.plan(body)

    def render_thumbnail(self, body: dict[str, Any]) -> tuple[bytes, str]:
        return self._render(self.plan(body))

    def compute_pixels(self, body: dict[str, Any]) -> tuple[bytes, str]:
        return self._render(self.plan(body))

    def compute_value(self, body: dict[str, Any]) -> object:
        value = Evaluator(expression_of(body), self.catalog).evaluate()
        return to_json(value)

    def plan(self, body: dict[str, Any]) -> Plan:
        """Evaluate the expression and work out the output grid, bands and format."""
        file_format = normalise_format(body.get("fileFormat"))
        value = Evaluator(expression_of(body), self.catalog).evaluate()
        if not isinstance(value, Image):
            raise invalid_argument(
                f"The expression must evaluate to an Image; got {type_label(value)}."
            )
        image = value
        band_ids = body.get("bandIds") or []
        if band_ids:
            image = image.with_bands(select_bands(image, band_ids, "Image.select"))
        options = body.get("visualizationOptions")
        if options:
            image = visualize(image, None, options_from_thumbnail(options))
        grid = (
            grid_from_request(body["grid"], image)
            if body.get("grid")
            else default_grid(image)
        )
        check_limits(image, grid, file_format)
        return Plan(image, grid, file_format, body.get("filenamePrefix"))

    def _render(self, plan: Plan) -> tuple[bytes, str]:
        context = SampleContext(plan.grid, self.catalog)
        pixels = [context.sample(band) for band in plan.image.bands]
        raster = Raster(
            plan.image.band_names,
            [band.dtype for band in plan.image.bands],
            pixels,
            plan.grid,
        )
        logger.debug(
            "rendering %s bands on %dx%d %s",
            len(pixels),
            plan.grid.width,
            plan.grid.height,
            plan.file_format,
        )
        return encode(raster, plan.file_format, plan.filename_prefix)


def check_limits(image: Image, grid: Grid, file_format: str) -> None:
    """Apply the request limits in the order the service reports them."""
    if grid.width > MAX_GRID_DIMENSION or grid.height > MAX_GRID_DIMENSION:
        raise invalid_argument(
            f"Pixel grid dimensions ({grid.width}x{grid.height}) must be less than or "
            f"equal to {MAX_GRID_DIMENSION}."
        )
    total = sum(grid.width * grid.height * band.dtype.itemsize for band in image.bands)
    if total > MAX_REQUEST_BYTES:
        raise invalid_argument(
            f"Total request size ({total} bytes) must be less than or equal to "
            f"{MAX_REQUEST_BYTES} bytes."
        )
    count = len(image.bands)
    if count == 0:
        raise invalid_argument("The image has no bands to render.")
    if count > MAX_BANDS:
        raise invalid_argument(
            f"Number of bands ({count}) must be less than or equal to {MAX_BANDS}."
        )
    if file_format in DISPLAY_FORMATS and count not in (1, 3):
        raise invalid_argument(
            f"Image with {count} bands cannot be encoded as {file_format}: PNG and "
            "JPEG need 1 or 3 bands. Select bands with bandIds or Image.visualize."
        )


def expression_of(body: dict[str, Any]) -> dict[str, Any]:
    expression = body.get("expression")
    if not isinstance(expression, dict):
        raise invalid_argument(
            "Invalid request: 'expression' must be an Expression object."
        )
    return expression
