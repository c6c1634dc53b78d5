"""A checked, forward-only reader over Earth Engine's getPixels response.

It hands bytes to the Cloud Storage uploader a chunk at a time and refuses to reach the
end of the stream unless the image is whole: the byte count must match Content-Length
and the file must end the way its format ends. Raising before the last chunk keeps a
truncated image from ever becoming an object.
"""

from __future__ import annotations

import io

import google_crc32c

from eerender.earthengine import PixelResponse
from eerender.errors import Upstream, UpstreamError

# First bytes and last bytes of each format, where the format has them.
_MAGIC = {
    "PNG": b"\x89PNG\r\n\x1a\n",
    "JPEG": b"\xff\xd8",
    "NPY": b"\x93NUMPY",
}
_TRAILER = {
    "PNG": b"IEND\xaeB`\x82",
    "JPEG": b"\xff\xd9",
}
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


class PixelStream(io.RawIOBase):
    """Reads a getPixels body, checking its length and its format's start and end.

    ``seek`` may go back to the start of the most recent chunk only, which is what the
    resumable uploader needs to resend a chunk; the rest of the image is not kept.
    """

    def __init__(self, pixels: PixelResponse, file_format: str) -> None:
        super().__init__()
        self._raw = pixels.response.raw
        self._expected = pixels.content_length
        self._format = file_format
        self._position = 0
        self._chunk_start = 0
        self._chunk = b""
        self._replay = b""
        self._head = b""
        self._tail = b""
        self._crc = google_crc32c.Checksum()  # type: ignore[no-untyped-call]
        self._finished = False
        self._complete = False
        self._received = 0

    @property
    def crc32c(self) -> int:
        digest: bytes = self._crc.digest()  # type: ignore[no-untyped-call]
        return int.from_bytes(digest, "big")

    @property
    def complete(self) -> bool:
        """Whether the whole image has been read and passed the length and format
        checks."""
        return self._complete

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset if whence == io.SEEK_SET else self._position + offset
        if whence == io.SEEK_END or not (self._chunk_start <= target <= self._position):
            raise io.UnsupportedOperation("only the last chunk can be read again")
        start, end = target - self._chunk_start, self._position - self._chunk_start
        self._replay = self._chunk[start:end] + self._replay
        self._position = target
        return target

    def read(self, size: int = -1) -> bytes:
        if self._replay:
            data, self._replay = self._take_replay(size)
            return data
        if size is None or size < 0:
            size = 1 << 62
        chunk = self._read_upstream(size)
        self._chunk_start, self._chunk = self._position, chunk
        self._position += len(chunk)
        return chunk

    def _take_replay(self, size: int) -> tuple[bytes, bytes]:
        count = len(self._replay) if size is None or size < 0 else size
        data, rest = self._replay[:count], self._replay[count:]
        self._position += len(data)
        return data, rest

    def _read_upstream(self, size: int) -> bytes:
        parts: list[bytes] = []
        wanted = size
        while wanted > 0 and not self._finished:
            try:
                piece = self._raw.read(min(wanted, 1 << 20), decode_content=True)
            except Exception as error:  # urllib3 raises several unrelated types here
                reason = f"the pixel download failed part way: {type(error).__name__}"
                raise _broken(reason) from error
            if not piece:
                self._finished = True
                break
            self._consume(piece)
            parts.append(piece)
            wanted -= len(piece)
        if self._finished and not self._complete:
            self._verify_complete()
            self._complete = True
        return b"".join(parts)

    def _consume(self, piece: bytes) -> None:
        self._crc.update(piece)  # type: ignore[no-untyped-call]
        if len(self._head) < 16:
            self._head = (self._head + piece)[:16]
        self._tail = (self._tail + piece)[-16:]
        self._received += len(piece)

    def _verify_complete(self) -> None:
        received = self._received
        if self._expected is not None and received != self._expected:
            raise _broken(
                f"the pixel download ended after {received} of {self._expected} bytes"
            )
        if received == 0:
            raise _broken("Earth Engine returned an empty image")
        fmt = self._format
        magic = _MAGIC.get(fmt)
        if magic and not self._head.startswith(magic):
            raise _broken(f"the bytes returned are not a {fmt} file")
        if fmt == "GEO_TIFF" and not self._head.startswith(_TIFF_MAGIC):
            raise _broken("the bytes returned are not a GeoTIFF file")
        trailer = _TRAILER.get(fmt)
        if trailer and not self._tail.endswith(trailer):
            raise _broken(f"the {fmt} file is truncated: its end marker is missing")


def _broken(reason: str) -> UpstreamError:
    return UpstreamError(
        f"Earth Engine pixels were incomplete: {reason}. Nothing was stored; retry.",
        code="EE_INCOMPLETE_PIXELS",
        upstream=Upstream("earthengine", None, reason),
    )
