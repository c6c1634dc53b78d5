"""The render request: one checked model for every trigger.

``parse_render_request`` takes a decoded JSON request, checks every field before
Earth Engine is called, and returns a ``RenderRequest`` whose ``thumbnail_body()`` is
the exact ``thumbnails.create`` body. The ``ee.Image.getThumbURL`` parameters
(``region``, ``dimensions``, ``scale``, ``crs``, ``crs_transform``, ``bands``, ``min``,
``max``, ``palette``, ...) become expression wrappers as the official client builds
them. The REST fields (``fileFormat``, ``bandIds``, ``visualizationOptions``, ``grid``,
``filenamePrefix``) are sent as they are.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from eerender.config import Settings
from eerender.destination import Destination, parse_destination
from eerender.expression import Expression, band_count, parse_expression
from eerender.policy import check_expression
from eerender.query import request_from_query
from eerender.recipes import expand_recipe
from eerender.region import Region, parse_region
from eerender.serializer import canonical_json, encode_expression
from eerender.sizing import (
    GridRequest,
    OutputEstimate,
    check_bands,
    check_output,
    check_side,
    grid_size,
)
from eerender.thumbnail import (
    VISUALIZATION_PARAMETERS,
    FileFormat,
    PixelGrid,
    Visualization,
    build_body,
    frame_image,
    parse_file_format,
    parse_grid,
    parse_visualization,
    parse_visualization_options,
    visualize,
)
from eerender.validation import (
    boolean,
    child,
    excerpt,
    invalid,
    known_keys,
    number,
    numbers_csv,
    positive_integer,
    positive_number,
    text,
)

__all__ = ["RenderRequest", "parse_render_request", "request_from_query"]

DELIVERIES = ("redirect", "store")

ACCEPTED_FIELDS = (
    "expression",
    "region",
    "dimensions",
    "scale",
    "crs",
    "crs_transform",
    "crsTransform",
    *VISUALIZATION_PARAMETERS,
    "format",
    "fileFormat",
    "bandIds",
    "visualizationOptions",
    "grid",
    "filenamePrefix",
    "delivery",
    "destination",
    "signedUrl",
)


@dataclass(frozen=True, eq=False)
class RenderRequest:
    """A checked render request.

    ``expression`` is the source image's expression as the official client encodes
    it. The framing and visualization parameters are kept normalised beside it, and
    ``thumbnail_body()`` combines them.
    """

    expression: dict[str, Any]
    file_format: str
    delivery: str = "redirect"
    destination_bucket: str | None = None
    destination_object: str | None = None
    signed_url: bool = False
    defaults_applied: dict[str, Any] = field(default_factory=dict)
    region: Region | None = None
    dimensions: int | tuple[int, int] | None = None
    scale: float | None = None
    crs: str | None = None
    crs_transform: tuple[float, ...] | None = None
    visualization: dict[str, Any] | None = None
    band_ids: tuple[str, ...] = ()
    visualization_options: dict[str, Any] | None = None
    grid: dict[str, Any] | None = None
    filename_prefix: str | None = None
    estimate: OutputEstimate | None = None
    body_json: str = field(default="", repr=False)

    def thumbnail_body(self) -> dict[str, Any]:
        """Return a fresh copy of the exact ``thumbnails.create`` body."""
        body: dict[str, Any] = json.loads(self.body_json)
        return body

    def request_hash(self) -> str:
        """Return the SHA-256 of everything that decides the pixels, format included.

        The hash is taken over the body, whose expression is re-encoded with canonical
        names. So key order, value names, palette spelling and equivalent dimension
        spellings do not change it, and delivery details are not part of it.
        """
        return _sha256(canonical_json(self.thumbnail_body()))

    def expression_hash(self) -> str:
        """Return the SHA-256 of the canonical source expression."""
        return _sha256(canonical_json(self.expression))

    def output_estimate(self) -> OutputEstimate | None:
        """Return the estimated output size, or ``None`` when it cannot be known."""
        return self.estimate

    @property
    def content_type(self) -> str:
        """Media type of the file; ``application/octet-stream`` for AUTO_JPEG_PNG."""
        return self._format.content_type

    @property
    def file_extension(self) -> str:
        """File name extension; ``bin`` for AUTO_JPEG_PNG, whose type varies."""
        return self._format.extension

    @property
    def _format(self) -> FileFormat:
        return parse_file_format(self.file_format, "/fileFormat")


def _sha256(text_value: str) -> str:
    return hashlib.sha256(text_value.encode("utf-8")).hexdigest()


def parse_render_request(data: object, settings: Settings) -> RenderRequest:
    """Check a decoded request and build its model.

    Args:
        data: The decoded JSON request, of any type.
        settings: Limits and the buckets stored renders may go to.

    Raises:
        InvalidRequest: For every malformed or impossible request, with ``field`` set
            to the JSON pointer at fault.
        Forbidden: ``BUCKET_NOT_ALLOWED`` for a destination bucket outside the list,
            and the expression policy's codes (see ``eerender.policy``).
    """
    # A named recipe becomes an expression and render fields, checked like any other.
    request = _top_level(expand_recipe(data, settings))
    expression = _expression(request, settings)
    format_value, format_field = _one_of(request, "format", "fileFormat")
    file_format = parse_file_format(format_value, format_field)
    pixel_grid = parse_grid(request["grid"], "/grid") if "grid" in request else None
    grid, defaults = _grid_request(request, pixel_grid, settings)
    if format_value is None and request.get("delivery") == "store":
        # A stored object is named, and so typed, before its pixels exist. PNG keeps
        # transparency, the case in which AUTO_JPEG_PNG would pick it anyway.
        file_format = parse_file_format("PNG", format_field)
        defaults["format"] = "PNG"
    visualization = parse_visualization(request)
    options = _visualization_options(request, visualization)
    band_ids = _band_ids(request, visualization, settings)
    estimate = _output(
        expression,
        file_format,
        visualization,
        options,
        band_ids,
        settings,
        grid=grid,
        pixel_grid=pixel_grid,
    )
    destination, signed = _delivery(request, settings)

    image = visualize(frame_image(expression.root, grid), visualization)
    body = build_body(
        image,
        file_format,
        band_ids=list(band_ids),
        visualization_options=options,
        grid=pixel_grid,
        filename_prefix=_filename_prefix(request),
    )
    return RenderRequest(
        expression=encode_expression(expression.root),
        file_format=file_format.name,
        delivery=request.get("delivery", "redirect"),
        destination_bucket=destination.bucket,
        destination_object=destination.object_name,
        signed_url=signed,
        defaults_applied=defaults,
        region=grid.region,
        dimensions=_dimensions_of(grid),
        scale=grid.scale,
        crs=grid.crs,
        crs_transform=grid.crs_transform,
        visualization=visualization.arguments if visualization else None,
        band_ids=band_ids,
        visualization_options=options,
        grid=pixel_grid.body if pixel_grid else None,
        filename_prefix=body["filenamePrefix"],
        estimate=estimate,
        body_json=json.dumps(body),
    )


def _top_level(data: object) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise invalid(
            f"The request must be a JSON object, got {type(data).__name__} "
            f'{excerpt(data)}. Send at least {{"expression": {{...}}}}.',
            "",
            data,
        )
    known_keys(data, ACCEPTED_FIELDS, "")
    # A null member means the same as a missing one.
    return {key: value for key, value in data.items() if value is not None}


def _one_of(request: dict[str, Any], *names: str) -> tuple[Any, str]:
    """Return the value and pointer of whichever of two aliases is present."""
    present = [name for name in names if name in request]
    if len(present) > 1:
        raise invalid(
            f"{' and '.join(present)} are two names for one parameter; send one.",
            child("", present[1]),
            request[present[1]],
        )
    name = present[0] if present else names[-1]
    return request.get(name), child("", name)


def _expression(request: dict[str, Any], settings: Settings) -> Expression:
    if "expression" not in request:
        raise invalid(
            "The request has no expression. Send the image as an Earth Engine "
            'Expression {"result": ..., "values": {...}}, for example the output of '
            "ee.serializer.encode(image, for_cloud_api=True).",
            "/expression",
            None,
            code="INVALID_EXPRESSION",
        )
    expression = parse_expression(
        request["expression"],
        "/expression",
        max_nodes=settings.max_nodes,
        max_depth=settings.max_depth,
    )
    check_expression(request["expression"], "/expression", settings)
    return expression


def _grid_request(
    request: dict[str, Any], pixel_grid: PixelGrid | None, settings: Settings
) -> tuple[GridRequest, dict[str, Any]]:
    crs = text(request["crs"], "/crs") if "crs" in request else None
    transform_value, transform_field = _one_of(request, "crs_transform", "crsTransform")
    transform = None
    if transform_value is not None:
        transform = _crs_transform(transform_value, transform_field)
        if crs is None:
            raise invalid(
                f"{transform_field[1:]} needs crs: name the CRS the transform is in, "
                'for example "crs": "EPSG:32610".',
                transform_field,
                transform_value,
            )
    if pixel_grid is not None:
        _reject_with_grid(request)

    max_dimension, width, height = _dimensions(request.get("dimensions"), settings)
    scale = positive_number(request["scale"], "/scale") if "scale" in request else None
    if "dimensions" in request and scale is not None:
        raise invalid(
            "dimensions and scale both set the output size; send one of them.",
            "/scale",
            scale,
        )

    region = None
    if "region" in request:
        max_vertices = settings.max_region_vertices
        region = parse_region(
            request["region"], "/region", crs=crs, max_vertices=max_vertices
        )

    defaults: dict[str, Any] = {}
    unsized = "dimensions" not in request and scale is None and transform is None
    if unsized and pixel_grid is None:
        # Without any size Earth Engine renders the whole image at native resolution,
        # which is rarely wanted and often over the output limit.
        max_dimension = settings.default_dimensions
        defaults["dimensions"] = max_dimension
    grid = GridRequest(
        region=region,
        crs=crs,
        crs_transform=transform,
        max_dimension=max_dimension,
        width=width,
        height=height,
        scale=scale,
    )
    return grid, defaults


def _reject_with_grid(request: dict[str, Any]) -> None:
    clashing = [
        name
        for name in ("dimensions", "scale", "crs", "crs_transform", "crsTransform")
        if name in request
    ]
    if clashing:
        raise invalid(
            f"grid already fixes the output grid, so {', '.join(clashing)} cannot be "
            "sent with it; use one or the other.",
            child("", clashing[0]),
            request[clashing[0]],
        )


def _crs_transform(value: object, field: str) -> tuple[float, ...]:
    if isinstance(value, str):
        # The client accepts "[a, b, c, d, e, f]" strings and sends them as floats.
        numbers: list[Any] = numbers_csv(value.strip().lstrip("[").rstrip("]"), field)
    elif isinstance(value, list):
        numbers = [
            number(item, child(field, index)) for index, item in enumerate(value)
        ]
    else:
        numbers = []
    if len(numbers) != 6:
        raise invalid(
            f"{field[1:]} {excerpt(value)} must be six numbers [xScale, xShear, "
            "xTranslation, yShear, yScale, yTranslation].",
            field,
            value,
        )
    return tuple(numbers)


def _dimensions(
    value: object, settings: Settings
) -> tuple[int | None, int | None, int | None]:
    """Return (max dimension, width, height) from any spelling ``getThumbURL`` takes."""
    if value is None:
        return None, None, None
    field = "/dimensions"
    parts: list[Any]
    if isinstance(value, str):
        parts = [_whole_number(part, field, value) for part in value.split("x")]
    elif isinstance(value, list):
        parts = [
            positive_integer(part, child(field, i)) for i, part in enumerate(value)
        ]
    else:
        parts = [positive_integer(value, field)]
    if len(parts) not in (1, 2):
        raise invalid(
            f"dimensions {excerpt(value)} must be one number (the longest side), "
            'WIDTHxHEIGHT such as "512x256", or a list [512] or [512, 256].',
            field,
            value,
        )
    for part in parts:
        check_side(part, settings, field)
    if len(parts) == 1:
        return parts[0], None, None
    return None, parts[0], parts[1]


def _whole_number(part: str, field: str, value: str) -> int:
    if not part.strip().isdigit():
        raise invalid(
            f'dimensions {excerpt(value)} must be a number such as "512" or '
            'WIDTHxHEIGHT such as "512x256".',
            field,
            value,
        )
    try:
        whole = int(part)
    except ValueError:  # int() converts at most 4300 digits (sys.int_info)
        raise invalid(
            f"dimensions {excerpt(value)} has too many digits; each side may be at "
            "most a few thousand pixels.",
            field,
            value,
            code="DIMENSIONS_TOO_LARGE",
        ) from None
    return positive_integer(whole, field)


def _dimensions_of(grid: GridRequest) -> int | tuple[int, int] | None:
    if grid.width is not None and grid.height is not None:
        return grid.width, grid.height
    return grid.max_dimension


def _visualization_options(
    request: dict[str, Any], visualization: Visualization | None
) -> dict[str, Any] | None:
    if "visualizationOptions" not in request:
        return None
    if visualization is not None:
        names = ", ".join(visualization.arguments)
        raise invalid(
            f"visualizationOptions and the visualization parameters ({names}) do the "
            "same thing; send one form.",
            "/visualizationOptions",
            request["visualizationOptions"],
            code="INVALID_VISUALIZATION",
        )
    return parse_visualization_options(
        request["visualizationOptions"], "/visualizationOptions"
    )


def _band_ids(
    request: dict[str, Any], visualization: Visualization | None, settings: Settings
) -> tuple[str, ...]:
    if "bandIds" not in request:
        return ()
    value = request["bandIds"]
    if visualization is not None:
        raise invalid(
            "bandIds selects bands after visualization; with visualization "
            'parameters name the bands in "bands" instead.',
            "/bandIds",
            value,
            code="INVALID_BAND_COUNT",
        )
    if not isinstance(value, list) or not all(
        isinstance(name, str) and name for name in value
    ):
        raise invalid(
            f"bandIds {excerpt(value)} must be a list of band names.",
            "/bandIds",
            value,
        )
    check_bands(len(value), settings, "/bandIds")
    return tuple(value)


def _output(
    expression: Expression,
    file_format: FileFormat,
    visualization: Visualization | None,
    options: dict[str, Any] | None,
    band_ids: tuple[str, ...],
    settings: Settings,
    *,
    grid: GridRequest,
    pixel_grid: PixelGrid | None,
) -> OutputEstimate | None:
    """Check bands and size; return the output estimate when the size is knowable."""
    source_bands = len(band_ids) if band_ids else band_count(expression.root)
    if source_bands is not None:
        check_bands(source_bands, settings, "/bandIds" if band_ids else "/expression")
    bands, bytes_per_band = _output_bands(
        source_bands, file_format, visualization, options
    )

    if pixel_grid is not None and pixel_grid.width and pixel_grid.height:
        size: tuple[int, int, bool] | None = (pixel_grid.width, pixel_grid.height, True)
    else:
        size = grid_size(grid)
    if size is None:
        return None
    width, height, exact = size
    estimate = OutputEstimate(width, height, bands, bytes_per_band, exact)
    check_output(estimate, settings, _size_field(grid, pixel_grid))
    return estimate


def _output_bands(
    source_bands: int | None,
    file_format: FileFormat,
    visualization: Visualization | None,
    options: dict[str, Any] | None,
) -> tuple[int | None, int | None]:
    """Check band counts; return (bands, bytes per band) of the output file."""
    if visualization is not None:
        bands = visualization.band_count or source_bands
        where = "/bands" if visualization.band_count else "/expression"
        if visualization.palette is not None and bands not in (None, 1):
            _raise_palette_bands(bands, "/palette", where)
        if bands not in (None, 1, 3):
            _raise_band_count(bands, "visualization", where)
        return 3, 1
    if options is not None:
        if "paletteColors" in options and source_bands not in (None, 1):
            _raise_palette_bands(
                source_bands, "/visualizationOptions/paletteColors", "/bandIds"
            )
        ranges = len(options.get("ranges", []))
        if source_bands is not None and ranges not in (0, 1, source_bands):
            raise invalid(
                f"visualizationOptions.ranges has {ranges} ranges for {source_bands} "
                "bands; send one range for all bands or one per band.",
                "/visualizationOptions/ranges",
                options["ranges"],
                code="INVALID_VISUALIZATION",
            )
        return 3, 1
    if file_format.display and source_bands not in (None, 1, 3):
        _raise_band_count(source_bands, file_format.name, "/bandIds")
    return source_bands, 1 if file_format.display else None


def _raise_palette_bands(bands: int | None, field: str, bands_field: str) -> None:
    raise invalid(
        f"A palette colours a single band, but the image to visualize has {bands} "
        f"bands (see {bands_field or 'the expression'}). Select one band, or drop "
        "the palette to show three bands as red, green and blue.",
        field,
        bands,
        code="PALETTE_NEEDS_SINGLE_BAND",
    )


def _raise_band_count(bands: int | None, target: str, field: str) -> None:
    raise invalid(
        f"{target} needs one or three bands, but the image has {bands}. Select one "
        "band (grey or with a palette) or three (red, green, blue), or ask for "
        "GEO_TIFF or NPY to get every band.",
        field,
        bands,
        code="INVALID_BAND_COUNT",
    )


def _size_field(grid: GridRequest, pixel_grid: PixelGrid | None) -> str:
    if pixel_grid is not None:
        return "/grid/dimensions"
    if grid.scale is not None:
        return "/scale"
    if grid.max_dimension is None and grid.width is None:
        return "/crs_transform"
    return "/dimensions"


def _filename_prefix(request: dict[str, Any]) -> str | None:
    if "filenamePrefix" not in request:
        return None
    return text(request["filenamePrefix"], "/filenamePrefix")


def _delivery(request: dict[str, Any], settings: Settings) -> tuple[Destination, bool]:
    delivery = request.get("delivery", "redirect")
    if delivery not in DELIVERIES:
        raise invalid(
            f'delivery {excerpt(delivery)} is not supported; use "redirect" (a 302 '
            'to the pixels) or "store" (copy them into Cloud Storage).',
            "/delivery",
            delivery,
        )
    signed = boolean(request.get("signedUrl", False), "/signedUrl")
    if delivery != "store":
        for name in ("destination", "signedUrl"):
            if name in request:
                raise invalid(
                    f'{name} only applies to delivery "store"; add "delivery": '
                    f'"store" or remove {name}.',
                    child("", name),
                    request[name],
                )
        return Destination(None, None), False
    if "destination" not in request:
        return Destination(None, None), signed
    return parse_destination(request["destination"], "/destination", settings), signed
