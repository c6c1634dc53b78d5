"""The ``thumbnails.create`` body: file formats, visualization and the framed image.

``frame_image`` and ``visualize`` wrap the source image exactly as
``ee.Image.getThumbURL`` does (earthengine-api 1.7.50, ``Image._apply_crs_and_affine``,
``_apply_selection_and_scale`` and ``_apply_visualization``): reprojection innermost,
then the clip to the region with its size, then ``Image.visualize`` outermost.
The REST-shaped fields (``visualizationOptions``, ``grid``, ``bandIds``) are checked
here and sent as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eerender.expression import Value, invoke
from eerender.palette import normalize_palette
from eerender.serializer import encode_expression
from eerender.sizing import GridRequest
from eerender.validation import (
    boolean,
    child,
    excerpt,
    invalid,
    json_object,
    known_keys,
    number,
    numbers_csv,
    positive_integer,
    positive_number,
    text,
)

# The transform the client gives setDefaultProjection when only a CRS is named: one
# unit per pixel with the y axis flipped, so later scaling still applies.
DEFAULT_CRS_TRANSFORM = (1, 0, 0, 0, -1, 0)

VISUALIZATION_PARAMETERS = (
    "bands",
    "min",
    "max",
    "gain",
    "bias",
    "gamma",
    "palette",
    "opacity",
    "forceRgbOutput",
)
_PER_BAND_NUMBERS = ("min", "max", "gain", "bias", "gamma")


@dataclass(frozen=True)
class FileFormat:
    """An Earth Engine ``ImageFileFormat`` and how its files are stored."""

    name: str
    content_type: str
    extension: str
    display: bool
    """Whether Earth Engine needs 8-bit data with one or three bands for it."""


FILE_FORMATS = {
    file_format.name: file_format
    for file_format in (
        FileFormat("PNG", "image/png", "png", display=True),
        FileFormat("JPEG", "image/jpeg", "jpg", display=True),
        # JPEG unless the image has transparency, so only the pixels tell which.
        FileFormat("AUTO_JPEG_PNG", "application/octet-stream", "bin", display=True),
        FileFormat("GEO_TIFF", "image/tiff", "tif", display=False),
        FileFormat("NPY", "application/octet-stream", "npy", display=False),
        FileFormat("ZIPPED_GEO_TIFF", "application/zip", "zip", display=False),
        FileFormat("ZIPPED_GEO_TIFF_PER_BAND", "application/zip", "zip", display=False),
    )
}
DEFAULT_FILE_FORMAT = "AUTO_JPEG_PNG"

# Spellings the official client maps, plus the usual file extensions.
_FORMAT_ALIASES = {
    "JPG": "JPEG",
    "AUTO": "AUTO_JPEG_PNG",
    "GEOTIFF": "GEO_TIFF",
    "TIFF": "GEO_TIFF",
    "TIF": "GEO_TIFF",
    "NUMPY": "NPY",
}
_EXPORT_ONLY_FORMATS = ("TFRECORD", "TF_RECORD_IMAGE")


def parse_file_format(value: object, field: str) -> FileFormat:
    """Return the file format a request names; missing means ``AUTO_JPEG_PNG``.

    Raises:
        InvalidRequest: ``INVALID_FORMAT`` for unknown formats and for TFRecord,
            which Earth Engine only writes in exports.
    """
    if value is None:
        return FILE_FORMATS[DEFAULT_FILE_FORMAT]
    accepted = "png, jpg, jpeg, auto, geotiff, npy or an ImageFileFormat name (" + (
        ", ".join(FILE_FORMATS) + ")"
    )
    if not isinstance(value, str):
        raise invalid(
            f"Format {excerpt(value)} at {field} must be a string: {accepted}.",
            field,
            value,
            code="INVALID_FORMAT",
        )
    name = value.strip().upper().replace("-", "_")
    name = _FORMAT_ALIASES.get(name, name)
    if name in _EXPORT_ONLY_FORMATS:
        raise invalid(
            f"Format {excerpt(value)} at {field} is only available for Earth Engine "
            f"exports, not thumbnails. Use one of: {accepted}.",
            field,
            value,
            code="INVALID_FORMAT",
        )
    if name not in FILE_FORMATS:
        raise invalid(
            f"Unknown format {excerpt(value)} at {field}. Use one of: {accepted}.",
            field,
            value,
            code="INVALID_FORMAT",
        )
    return FILE_FORMATS[name]


@dataclass(frozen=True)
class Visualization:
    """``Image.visualize`` arguments in the form ``getThumbURL`` sends them."""

    arguments: dict[str, Any]
    band_count: int | None
    palette: list[str] | None


def parse_visualization(data: dict[str, Any]) -> Visualization | None:
    """Check the ``getThumbURL`` visualization parameters at the top of a request.

    Values are kept as sent (numbers, lists or comma-separated strings), as the client
    passes them to ``Image.visualize``; palettes are normalised to ``rrggbb``.

    Raises:
        InvalidRequest: ``INVALID_VISUALIZATION``, ``INVALID_PALETTE`` or
            ``INVALID_BAND_COUNT``.
    """
    present = {key: data[key] for key in VISUALIZATION_PARAMETERS if key in data}
    if not present:
        return None
    band_count = None
    if "bands" in present:
        band_count = _band_names_count(present["bands"], "/bands")
    for key in _PER_BAND_NUMBERS:
        if key in present:
            _per_band_numbers(present[key], child("", key), band_count)
    if ("min" in present or "max" in present) and (
        "gain" in present or "bias" in present
    ):
        raise invalid(
            "min/max and gain/bias both set the stretch; send one pair or the other.",
            "/gain" if "gain" in present else "/bias",
            present.get("gain", present.get("bias")),
            code="INVALID_VISUALIZATION",
        )
    if "opacity" in present:
        _opacity(present["opacity"], "/opacity")
    if "forceRgbOutput" in present:
        boolean(present["forceRgbOutput"], "/forceRgbOutput")
    palette = None
    if "palette" in present:
        palette = normalize_palette(present["palette"], "/palette")
        present["palette"] = palette
    return Visualization(present, band_count, palette)


def _band_names_count(value: object, field: str) -> int:
    if isinstance(value, str):
        names: list[Any] = [name.strip() for name in value.split(",")]
    elif isinstance(value, list):
        names = value
    else:
        names = []
    if not names or not all(isinstance(name, str) and name.strip() for name in names):
        raise invalid(
            f"bands {excerpt(value)} at {field} must be a list of band names or a "
            'comma-separated string such as "B4,B3,B2".',
            field,
            value,
            code="INVALID_VISUALIZATION",
        )
    if len(names) not in (1, 3):
        raise invalid(
            f"bands {excerpt(value)} at {field} names {len(names)} bands; "
            "visualization takes one band (with an optional palette) or three "
            "(red, green, blue).",
            field,
            value,
            code="INVALID_BAND_COUNT",
        )
    return len(names)


def _per_band_numbers(value: object, field: str, band_count: int | None) -> None:
    if isinstance(value, str):
        count = len(numbers_csv(value, field))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            number(item, child(field, index), code="INVALID_VISUALIZATION")
        count = len(value)
    else:
        number(value, field, code="INVALID_VISUALIZATION")
        count = 1
    allowed = {1, band_count} if band_count is not None else {1, 3}
    if count not in allowed:
        counts = " or ".join(str(option) for option in sorted(allowed))
        raise invalid(
            f"{field[1:]} {excerpt(value)} has {count} values. Send one value for all "
            f"bands or one per band ({counts}).",
            field,
            value,
            code="INVALID_VISUALIZATION",
        )


def _opacity(value: object, field: str) -> float:
    checked = number(value, field, code="INVALID_VISUALIZATION")
    if not 0 <= checked <= 1:
        raise invalid(
            f"opacity {checked} at {field} must be between 0 and 1.",
            field,
            value,
            code="INVALID_VISUALIZATION",
        )
    return checked


def parse_visualization_options(value: object, field: str) -> dict[str, Any]:
    """Check a REST ``VisualizationOptions`` object and return it normalised.

    ``gamma`` may be a number or the ``{"value": n}`` form the Python client sends;
    it is returned as a number, the documented type.
    """
    options = json_object(value, field)
    known_keys(options, ("ranges", "paletteColors", "gamma", "opacity"), field)
    checked: dict[str, Any] = {}
    if "ranges" in options:
        checked["ranges"] = _ranges(options["ranges"], child(field, "ranges"))
    if "paletteColors" in options:
        checked["paletteColors"] = normalize_palette(
            options["paletteColors"], child(field, "paletteColors")
        )
    if "gamma" in options:
        gamma = options["gamma"]
        if isinstance(gamma, dict) and set(gamma) == {"value"}:
            gamma = gamma["value"]
        checked["gamma"] = positive_number(gamma, child(field, "gamma"))
    if "opacity" in options:
        checked["opacity"] = _opacity(options["opacity"], child(field, "opacity"))
    return checked


def _ranges(value: object, field: str) -> list[dict[str, float]]:
    if not isinstance(value, list) or not value:
        raise invalid(
            f'{field} must be a non-empty list of {{"min": ..., "max": ...}} '
            f"objects, got {excerpt(value)}.",
            field,
            value,
            code="INVALID_VISUALIZATION",
        )
    ranges = []
    for index, item in enumerate(value):
        where = child(field, index)
        bounds = json_object(item, where)
        known_keys(bounds, ("min", "max"), where)
        low = number(bounds.get("min"), child(where, "min"))
        high = number(bounds.get("max"), child(where, "max"))
        ranges.append({"min": low, "max": high})
    return ranges


@dataclass(frozen=True)
class PixelGrid:
    """A checked REST ``PixelGrid``."""

    body: dict[str, Any]
    width: int | None
    height: int | None


def parse_grid(value: object, field: str) -> PixelGrid:
    """Check a REST ``PixelGrid``: dimensions, affine transform and one CRS."""
    grid = json_object(value, field)
    known_keys(grid, ("dimensions", "affineTransform", "crsCode", "crsWkt"), field)
    body: dict[str, Any] = {}
    width = height = None
    if "dimensions" in grid:
        where = child(field, "dimensions")
        dimensions = json_object(grid["dimensions"], where)
        known_keys(dimensions, ("width", "height"), where)
        width = positive_integer(dimensions.get("width"), child(where, "width"))
        height = positive_integer(dimensions.get("height"), child(where, "height"))
        body["dimensions"] = {"width": width, "height": height}
    if "affineTransform" in grid:
        body["affineTransform"] = _affine(grid["affineTransform"], field)
    crs_members = [key for key in ("crsCode", "crsWkt") if key in grid]
    if len(crs_members) != 1:
        raise invalid(
            f'{field} must set exactly one of crsCode (such as "EPSG:4326") and '
            "crsWkt.",
            field,
            grid,
        )
    body[crs_members[0]] = text(grid[crs_members[0]], child(field, crs_members[0]))
    return PixelGrid(body, width, height)


def _affine(value: object, field: str) -> dict[str, float]:
    where = child(field, "affineTransform")
    transform = json_object(value, where)
    names = ("scaleX", "shearX", "translateX", "shearY", "scaleY", "translateY")
    known_keys(transform, names, where)
    checked = {
        name: number(transform[name], child(where, name))
        for name in names
        if name in transform
    }
    for name in ("scaleX", "scaleY"):
        if not checked.get(name):
            raise invalid(
                f"{child(where, name)} must be a non-zero pixel size.",
                child(where, name),
                transform.get(name),
            )
    return checked


def frame_image(image: Value, grid: GridRequest) -> Value:
    """Wrap ``image`` in the reprojection and clipping ``getThumbURL`` applies."""
    geometry = grid.region.geometry() if grid.region is not None else None
    size: dict[str, Any] = {}
    if grid.max_dimension is not None:
        size["maxDimension"] = grid.max_dimension
    elif grid.width is not None:
        size["width"], size["height"] = grid.width, grid.height
    if grid.scale is not None:
        size["scale"] = grid.scale

    consumed = False
    if grid.crs is not None:
        projection = invoke("Projection", crs=grid.crs)
        if grid.crs_transform is not None:
            image = invoke(
                "Image.reproject",
                image=image,
                crs=projection,
                crsTransform=list(grid.crs_transform),
            )
            consumed = _window_of_grid(grid)
        else:
            image = invoke(
                "Image.setDefaultProjection",
                image=image,
                crs=projection,
                crsTransform=list(DEFAULT_CRS_TRANSFORM),
            )
    if consumed:
        # A CRS, its transform and width x height with no region or scale ask for an
        # exact window of that grid, so the size becomes a rectangle in pixel units.
        geometry = invoke(
            "GeometryConstructors.Rectangle",
            coordinates=[0, 0, size.pop("width"), size.pop("height")],
            crs=invoke("Image.projection", image=image),
            geodesic=False,
            evenOdd=True,
        )

    if consumed or size:
        return invoke(
            "Image.clipToBoundsAndScale", input=image, geometry=geometry, **size
        )
    if geometry is not None:
        return invoke("Image.clip", input=image, geometry=geometry)
    return image


def _window_of_grid(grid: GridRequest) -> bool:
    return grid.width is not None and grid.region is None and grid.scale is None


def visualize(image: Value, visualization: Visualization | None) -> Value:
    """Wrap ``image`` in ``Image.visualize`` when there are visualization parameters."""
    if visualization is None:
        return image
    return invoke("Image.visualize", image=image, **visualization.arguments)


def build_body(
    image: Value,
    file_format: FileFormat,
    *,
    band_ids: list[str],
    visualization_options: dict[str, Any] | None,
    grid: PixelGrid | None,
    filename_prefix: str | None,
) -> dict[str, Any]:
    """Return the ``thumbnails.create`` body for a framed and visualized image.

    ``filenamePrefix`` is sent as null and ``bandIds`` as an empty list when unset,
    as the official client does.
    """
    body: dict[str, Any] = {
        "expression": encode_expression(image),
        "fileFormat": file_format.name,
    }
    if visualization_options:
        body["visualizationOptions"] = visualization_options
    if grid is not None:
        body["grid"] = grid.body
    body["filenamePrefix"] = filename_prefix
    body["bandIds"] = band_ids
    return body
