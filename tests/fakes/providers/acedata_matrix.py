"""What the fake AceData refuses for the newer Kling models: its capability matrix (providers.md
§1.3.1), the omni rules and limits, `generate_audio`, and multi-shot (§1.3 and its model notes).

Written from the documentation on its own, not from the bot's table, so the contract tests compare
two readings. Every refusal is AceData's 400 `bad_request`, worded like upstream's
"model/mode/duration(...) is not supported with image_tail".
"""

from __future__ import annotations

from typing import Any

from tests.fakes.providers.acedata_errors import bad_request

V3_FAMILY = frozenset({"kling-v3", "kling-v3-omni", "kling-v3-turbo"})
O1_NAMES = frozenset({"kling-o1", "kling-video-o1"})
OMNI = O1_NAMES | {"kling-v3-omni"}

# model -> the modes in which it takes an end frame / makes sound / takes camera_control (§1.3.1).
END_FRAME_MODES: dict[str, frozenset[str]] = {
    "kling-v1": frozenset({"std", "pro"}),
    "kling-v1-6": frozenset({"pro"}),
    "kling-v2-5-turbo": frozenset({"pro"}),
    "kling-v2-6": frozenset({"pro"}),
    "kling-v3": frozenset({"std", "pro", "4k"}),
    "kling-v3-omni": frozenset({"std", "pro", "4k"}),
    "kling-o1": frozenset({"std", "pro"}),
    "kling-video-o1": frozenset({"std", "pro"}),
}
SOUND_MODES: dict[str, frozenset[str]] = {
    "kling-v2-6": frozenset({"pro"}),
    "kling-v3": frozenset({"std", "pro", "4k"}),
    "kling-v3-omni": frozenset({"std", "pro", "4k"}),
    "kling-v3-turbo": frozenset({"std", "pro"}),
}
CAMERA_MODES: dict[str, frozenset[str]] = {
    "kling-v1": frozenset({"std", "pro"}),
    "kling-v3": frozenset({"std", "pro"}),
}
FOURK_MODELS = frozenset({"kling-v3", "kling-v3-omni"})
NO_CFG = frozenset({"kling-v2-master", "kling-v2-1-master", "kling-v2-5-turbo", "kling-v2-6"})
MULTI_SHOT = frozenset({"kling-v3", "kling-v3-omni"})


def not_supported(body: dict[str, Any], what: str) -> Exception:
    model, mode, duration = body.get("model", "kling-v1"), body.get("mode", "std"), body.get("duration", 5)
    return bad_request(f"model/mode/duration({model}/{mode}/{duration}) is not supported with {what}")


def validate_matrix(body: dict[str, Any]) -> None:
    """The per-model rules of §1.3.1 and the model notes of §1.3."""
    model, mode = body.get("model", "kling-v1"), body.get("mode", "std")
    if mode == "4k" and model not in FOURK_MODELS:
        raise not_supported(body, "mode 4k")
    if body.get("end_image_url") and mode not in END_FRAME_MODES.get(model, frozenset()):
        raise not_supported(body, "image_tail")
    if body.get("end_image_url") and model == "kling-v1" and body.get("duration", 5) != 5:
        raise not_supported(body, "image_tail")
    if "camera_control" in body:
        if mode not in CAMERA_MODES.get(model, frozenset()):
            raise not_supported(body, "camera_control")
        if model == "kling-v1" and body.get("duration", 5) != 5:
            raise not_supported(body, "camera_control")
    _check_audio(body, model, mode)
    if model == "kling-v3-turbo" and any(
        f in body for f in ("end_image_url", "negative_prompt", "cfg_scale", "camera_control")
    ):
        raise not_supported(body, "end_image_url, negative_prompt, cfg_scale or camera_control")
    if model in NO_CFG and "cfg_scale" in body:
        raise not_supported(body, "cfg_scale")
    if model in OMNI and "camera_control" in body:
        raise not_supported(body, "camera_control")
    validate_references(body, model, mode)
    validate_shots(body, model)


def _check_audio(body: dict[str, Any], model: str, mode: str) -> None:
    audio = body.get("generate_audio")
    if audio is None:
        return
    if not isinstance(audio, bool):
        raise bad_request("generate_audio is invalid.")
    if model == "kling-v3-turbo" and audio is False:
        raise bad_request("kling-v3-turbo always generates audio; omit generate_audio or send true.")
    if audio and mode not in SOUND_MODES.get(model, frozenset()):
        raise not_supported(body, "generate_audio")
    if audio and body.get("video_list"):
        raise bad_request("generate_audio must be false with a reference video.")


def validate_references(body: dict[str, Any], model: str, mode: str) -> None:
    """§1.3 `image_list`, `video_list`, `element_list`: omni models only, with their limits."""
    images, videos, elements = body.get("image_list"), body.get("video_list"), body.get("element_list")
    if images is None and videos is None and elements is None:
        return
    if model not in OMNI:
        raise bad_request("image_list, video_list and element_list are only supported with omni models.")
    if mode == "4k":
        raise bad_request("mode 4k is not supported with omni references.")
    for name, value in (("image_list", images), ("video_list", videos), ("element_list", elements)):
        if value is not None and not (isinstance(value, list) and value):
            raise bad_request(f"{name} is invalid.")
    count = len(images or []) + len(elements or [])
    limit = 4 if videos else 7
    if count > limit:
        raise bad_request(f"at most {limit} reference images are supported.")
    for item in images or []:
        if not (isinstance(item, dict) and _is_url(item.get("image_url"))):
            raise bad_request("image_list.image_url is invalid.")
        if item.get("type") not in (None, "first_frame", "end_frame"):
            raise bad_request("image_list.type is invalid.")
    if videos:
        _check_video_list(body, videos)


def _check_video_list(body: dict[str, Any], videos: list[Any]) -> None:
    if len(videos) > 1:
        raise bad_request("at most 1 reference video is supported.")
    video = videos[0]
    if not (isinstance(video, dict) and _is_url(video.get("video_url"))):
        raise bad_request("video_list.video_url is invalid.")
    if video.get("refer_type", "base") not in ("base", "feature"):
        raise bad_request("video_list.refer_type is invalid.")
    if video.get("keep_original_sound") not in (None, "yes", "no"):
        raise bad_request("video_list.keep_original_sound is invalid.")
    frames = any(isinstance(i, dict) and i.get("type") for i in body.get("image_list") or [])
    if video.get("refer_type", "base") == "base" and (
        frames or body.get("start_image_url") or body.get("end_image_url")
    ):
        raise bad_request("a base reference video cannot be combined with a first or last frame.")


def validate_shots(body: dict[str, Any], model: str) -> None:
    """§1.3 multi-shot (kling-v3, kling-v3-omni): 1 to 6 shots, prompts ≤ 512, sum = duration."""
    if not body.get("multi_shot"):
        if "multi_prompt" in body or "shot_type" in body:
            raise bad_request("shot_type and multi_prompt need multi_shot.")
        return
    if model not in MULTI_SHOT:
        raise not_supported(body, "multi_shot")
    shot_type = body.get("shot_type")
    if shot_type == "intelligence":
        return
    if shot_type != "customize":
        raise bad_request("shot_type is invalid.")
    shots = body.get("multi_prompt")
    if not isinstance(shots, list) or not 1 <= len(shots) <= 6:
        raise bad_request("multi_prompt is invalid.")
    for index, shot in enumerate(shots, start=1):
        seconds = shot.get("duration") if isinstance(shot, dict) else None
        if (
            not isinstance(shot, dict)
            or shot.get("index") != index
            or not isinstance(shot.get("prompt"), str)
            or len(shot["prompt"]) > 512
            or not isinstance(seconds, int)
            or isinstance(seconds, bool)
            or seconds < 1
        ):
            raise bad_request(f"multi_prompt[{index - 1}] is invalid.")
    if sum(shot["duration"] for shot in shots) != body.get("duration", 5):
        raise bad_request("the shot durations must add up to duration.")


def reference_urls(body: dict[str, Any]) -> list[str]:
    """Every reference the fake fetches, like the start and end images."""
    urls = [item["image_url"] for item in body.get("image_list") or []]
    return urls + [item["video_url"] for item in body.get("video_list") or []]


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))
