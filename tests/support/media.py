"""Real media made on the spot for tests: small PNG/JPEG/WebP/GIF images and MP4/MOV videos.

Generated with Pillow and PyAV so every byte the bot validates is a genuine file, not a fixture.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from fractions import Fraction
from functools import lru_cache

import av
from PIL import Image


def make_image(width: int = 512, height: int = 512, fmt: str = "PNG", *, frames: int = 1) -> bytes:
    """An image with a gradient (so it does not compress to nothing); several frames for a GIF."""
    images = [_gradient(width, height, index * 40) for index in range(frames)]
    out = io.BytesIO()
    if frames > 1:
        images[0].save(out, format=fmt, save_all=True, append_images=images[1:], duration=100, loop=0)
    else:
        images[0].save(out, format=fmt)
    return out.getvalue()


def _gradient(width: int, height: int, shift: int) -> Image.Image:
    """Red across, green down, a blue that changes with `shift`: cheap and not trivially compressible."""
    red = Image.linear_gradient("L").rotate(90).resize((width, height))
    green = Image.linear_gradient("L").resize((width, height))
    blue = Image.new("L", (width, height), shift % 256)
    return Image.merge("RGB", (red, green, blue))


@lru_cache(maxsize=32)
def make_video(
    seconds: float = 4.0,
    width: int = 360,
    height: int = 640,
    *,
    fps: int = 12,
    container: str = "mp4",
    audio: bool = False,
    noise: bool = False,
    codec: str = "libx264",
    bframes: int = 0,
) -> bytes:
    """An H.264 video of the given length; `noise=True` makes frames that compress badly (big files).

    `codec` picks another encoder (e.g. "libvpx" for WebM); `bframes` > 0 reorders frames the way most
    cameras and editors do, so decode order differs from display order.
    """
    out = io.BytesIO()
    rng = random.Random(1234)
    with av.open(out, mode="w", format=container) as output:
        stream = output.add_stream(codec, rate=fps)
        assert isinstance(stream, av.VideoStream)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "bf": str(bframes)}
        audio_stream = None
        if audio:
            audio_stream = output.add_stream("aac", rate=22050)
            audio_stream.layout = "mono"
        frame_count = max(1, round(seconds * fps))
        for index in range(frame_count):
            if noise:
                image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
            else:
                image = _gradient(width, height, index * 7)
            frame = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]  # untyped in the stubs
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
        if audio_stream is not None:
            samples_per_frame = 1024
            total = int(seconds * 22050)
            pts = 0
            while pts < total:
                silence = av.AudioFrame(format="fltp", layout="mono", samples=samples_per_frame)
                for plane in silence.planes:
                    plane.update(bytes(plane.buffer_size))
                silence.sample_rate = 22050
                silence.pts = pts
                pts += samples_per_frame
                for packet in audio_stream.encode(silence):
                    output.mux(packet)
            for packet in audio_stream.encode():
                output.mux(packet)
    return out.getvalue()


def make_noise_image(width: int, height: int, fmt: str = "PNG") -> bytes:
    """Random pixels: an image whose file is about width x height x 3 bytes (PNG stored uncompressed)."""
    image = Image.frombytes("RGB", (width, height), random.Random(99).randbytes(width * height * 3))
    out = io.BytesIO()
    params = {"compress_level": 0} if fmt == "PNG" else {}
    image.save(out, format=fmt, **params)
    return out.getvalue()


def make_flat_image(width: int, height: int, fmt: str = "PNG") -> bytes:
    """One grey level: cheap to make and tiny on disk even at extreme sizes (for dimension limits)."""
    out = io.BytesIO()
    Image.new("L", (width, height), 128).save(out, format=fmt)
    return out.getvalue()


def make_lying_png(width: int, height: int) -> bytes:
    """A well-formed PNG whose header claims these dimensions but whose pixel data is a few bytes.

    Such a file is tiny yet would take width x height x 3 bytes to decode: a decompression bomb.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(bytes(100)))
        + png_chunk(b"IEND", b"")
    )


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@lru_cache(maxsize=4)
def make_audio_only(seconds: float = 4.0, container: str = "mp4") -> bytes:
    """A file with a silent AAC track and no pictures at all (a voice memo, say)."""
    out = io.BytesIO()
    with av.open(out, mode="w", format=container) as output:
        stream = output.add_stream("aac", rate=22050)
        stream.layout = "mono"
        for pts in range(0, int(seconds * 22050), 1024):
            silence = av.AudioFrame(format="fltp", layout="mono", samples=1024)
            for plane in silence.planes:
                plane.update(bytes(plane.buffer_size))
            silence.sample_rate = 22050
            silence.pts = pts
            output.mux(stream.encode(silence))
        output.mux(stream.encode())
    return out.getvalue()


def make_animated_gif(width: int, height: int, frames: int = 3) -> bytes:
    """An animated GIF of flat colours with a square that moves: quick to encode, unlike gradients."""
    images = []
    for index in range(frames):
        image = Image.new("RGB", (width, height), (40 * index % 256, 90, 160))
        image.paste((250, 220, 30), (index * 20, index * 10, index * 20 + 60, index * 10 + 60))
        images.append(image)
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def make_damaged_jpeg(width: int = 512, height: int = 512) -> bytes:
    """A JPEG with valid headers whose entropy-coded data (between SOS and EOI) is random garbage.

    No 0xFF byte is written, so the marker structure stays whole and nothing reads as truncated: only a
    decoder that checks the data itself finds the damage.
    """
    data = make_image(width, height, "JPEG")
    sos = data.index(b"\xff\xda")
    start = sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big")
    end = data.rindex(b"\xff\xd9")
    garbage = bytes(byte % 0xFF for byte in random.Random(7).randbytes(end - start))
    return data[:start] + garbage + data[end:]


@lru_cache(maxsize=4)
def make_damaged_video(
    seconds: float = 4.0, width: int = 360, height: int = 640, *, fps: int = 12, intact_frames: int = 1
) -> bytes:
    """An MP4 whose container, parameter sets and NAL framing are valid but whose picture data is garbage.

    The first `intact_frames` packets are kept whole, so the first picture decodes and the damage only
    shows further in. FFmpeg conceals such damage by default: only a strict decode reports it.
    """
    source = make_video(seconds, width, height, fps=fps)
    rng = random.Random(5)
    out = io.BytesIO()
    with av.open(io.BytesIO(source), mode="r") as inp, av.open(out, mode="w", format="mp4") as output:
        vin = inp.streams.video[0]
        vout = output.add_stream_from_template(vin)
        for index, packet in enumerate(p for p in inp.demux(vin) if p.dts is not None):
            kept = packet if index < intact_frames else av.Packet(_garble_slices(bytes(packet), rng))
            kept.pts, kept.dts, kept.duration = packet.pts, packet.dts, packet.duration
            kept.time_base, kept.is_keyframe = packet.time_base, packet.is_keyframe
            kept.stream = vout
            output.mux(kept)
    return out.getvalue()


def _garble_slices(payload: bytes, rng: random.Random) -> bytes:
    """Length-prefixed H.264 NAL units with the body of every slice (types 1 and 5) made random."""
    out, offset = bytearray(), 0
    while offset + 4 <= len(payload):
        size = int.from_bytes(payload[offset : offset + 4], "big")
        unit = payload[offset + 4 : offset + 4 + size]
        if unit and unit[0] & 0x1F in (1, 5):
            unit = unit[:4] + bytes(byte or 1 for byte in rng.randbytes(len(unit) - 4))
        out += size.to_bytes(4, "big") + unit
        offset += 4 + size
    return bytes(out)
