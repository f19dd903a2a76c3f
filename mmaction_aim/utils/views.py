"""The layout of a test sample's views, which the sampler, the head and the
metric share: protocols ``'<clips>x<crops>'`` and where their views are."""
import argparse
import re
from typing import List, Tuple


def parse_protocol(name: str) -> Tuple[int, int]:
    """``'4x3'`` -> ``(4, 3)``: clips x crops."""
    match = re.fullmatch(r'(\d+)x(\d+)', str(name))
    if not match or int(match.group(1)) < 1 or \
            int(match.group(2)) not in (1, 3):
        raise ValueError(f'A view protocol is "<clips>x<crops>" with 1 or 3 '
                         f'crops (e.g. 1x1, 3x1, 1x3, 4x3), got {name!r}')
    return int(match.group(1)), int(match.group(2))


def protocol_arg(name: str) -> str:
    """An argparse ``type``: a valid view protocol, or argparse's one-line
    error."""
    try:
        parse_protocol(name)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return name


def protocol_views(protocol: dict, num_views: int) -> List[int]:
    """Indices of a protocol's views among a sample's ``num_views``.

    Views are laid out crop-major, as MMAction2's ``FormatShape`` leaves
    them: ``crop * num_clips + clip``, with 1 crop (``CenterCrop``) or 3
    (``ThreeCrop``: left or top, right or bottom, centre).

    Args:
        protocol (dict): One entry of ``results['protocols']``
            (:class:`MultiProtocolSampleFrames`).
        num_views (int): Views of the sample.

    Returns:
        list[int]: The view indices.
    """
    clips, crops = protocol['clips'], protocol['crops']
    num_crops, rest = divmod(num_views, protocol['num_clips'])
    if rest or num_crops not in (1, 3):
        raise ValueError(f'{num_views} views are not 1 or 3 crops of '
                         f'{protocol["num_clips"]} clips')
    if crops > num_crops:
        raise ValueError(f'a protocol of {crops} crops needs ThreeCrop in '
                         'the test pipeline')
    which = range(num_crops) if crops == num_crops else [num_crops - 1]
    return [c * protocol['num_clips'] + k for c in which for k in clips]
