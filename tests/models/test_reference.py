"""Our AIM reproduces the original implementation's outputs exactly."""
import os

import pytest
import torch

from mmaction_aim.models.utils import convert_official_aim
from .helpers import (assert_reproduces_reference, build_recognizer,
                      convert_with_the_tool, official_key_shapes)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
# The original implementation's outputs and released key layouts (copied
# from shared/aim_reference/, so the tests run in any clone).
REFERENCE = os.path.join(REPO, 'tests', 'data', 'aim_reference',
                         'reference_outputs.pt')


def _cases():
    if not os.path.exists(REFERENCE):
        pytest.fail(f'{REFERENCE} is missing')
    return torch.load(REFERENCE, weights_only=True)


def _build(meta):
    return build_recognizer(
        arch=dict(patch_size=meta['patch_size'], width=meta['width'],
                  layers=meta['layers'], heads=meta['heads']),
        input_resolution=meta['input_resolution'],
        num_frames=meta['num_frames'], num_classes=meta['num_classes'],
        backbone_extra=dict(num_tadapter=meta['num_tadapter'],
                            adapter_scale=meta['adapter_scale'])).eval()


@pytest.mark.parametrize('case', ['tadapter1', 'tadapter2'])
def test_converted_official_checkpoint_reproduces_reference(case, tmp_path):
    ref = _cases()[case]
    # A released file, wrapped as the original repository wraps it.
    converted, printed = convert_with_the_tool(ref['state_dict'], tmp_path)
    assert 'clip_vit layout' in printed
    assert_reproduces_reference(_build(ref['meta']), converted, ref,
                                atol=1e-5)


def test_official_key_lists_map_onto_our_model():
    """Every key of the released B/16 and L/14 layouts has a home here."""
    for arch, tadapter in [('ViT-B/16', 1), ('ViT-B/16', 2),
                           ('ViT-L/14', 1), ('ViT-L/14', 2)]:
        tag = arch.lower().replace('/', '')
        name = f'official_keys_{tag}_8f_tadapter{tadapter}.txt'
        shapes = official_key_shapes(name)
        converted = convert_official_aim(dict.fromkeys(shapes))
        with torch.device('meta'):
            model = build_recognizer(
                arch=arch, input_resolution=224, num_frames=8,
                num_classes=400,
                backbone_extra=dict(num_tadapter=tadapter))
        ours = {k: str(list(v.shape)) for k, v in model.state_dict().items()}
        theirs = dict(zip(converted, shapes.values(), strict=True))
        assert ours == theirs, name
