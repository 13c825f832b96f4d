"""Media checks and conversions: member attachments in, provider-ready files out; big results made to fit.

Everything here is a plain blocking function with no Discord or store knowledge. Callers run the slow ones
(`prepare_image`, `prepare_motion_video`, `fit_video_to_size`) in a worker thread with `asyncio.to_thread`.

- `sniffing`: what a file really is, by content.
- `images`: picture checks, a full decode to catch damage, WebP/GIF converted to PNG.
- `probing`: videos described with PyAV, and their first seconds decoded to catch damage.
- `motion`: the motion-control reference video (length limits, stream-copy trimming).
- `reference`: an omni model's reference video (format and frame rate; the table judges length and size).
- `fitting`: a finished video re-encoded to fit a byte size.
- `wording`: `MediaError`, whose text is one sentence a member can act on.
"""

from bot.media.files import ImageInfo, PreparedMedia, VideoInfo
from bot.media.fitting import fit_video_to_size
from bot.media.images import IMAGE_MAX_BYTES, inspect_image, prepare_image
from bot.media.motion import VIDEO_MAX_BYTES, prepare_motion_video
from bot.media.probing import probe_video
from bot.media.reference import prepare_reference_video
from bot.media.sniffing import sniff_type
from bot.media.wording import MediaError

__all__ = [
    "IMAGE_MAX_BYTES",
    "VIDEO_MAX_BYTES",
    "ImageInfo",
    "MediaError",
    "PreparedMedia",
    "VideoInfo",
    "fit_video_to_size",
    "inspect_image",
    "prepare_image",
    "prepare_motion_video",
    "prepare_reference_video",
    "probe_video",
    "sniff_type",
]
