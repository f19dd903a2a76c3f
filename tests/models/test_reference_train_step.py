"""One training step equals the original implementation's.

``tests/data/aim_reference/reference_train_step.pt`` (copied from
``shared/aim_reference/``) holds, for CLIP ViT with one and two temporal
adapters, the original's ImageNet ViT and its Swin-2D adapter, one step of
the original code in train mode (drop-path 0, an I3D-style head, cross
entropy): the loss and the gradient of every parameter the original trains
(its ``tools/train.py`` rule). Ours, loaded from the converted state dict
and trained as the paper configs train, must give the same loss, the same
gradients, and no gradient anywhere else.
"""
import os

import pytest
import torch
from mmengine.registry import init_default_scope

from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmaction_aim.models.utils import convert_official_aim
from mmaction_aim.models.utils.convert import official_aim_layout

REFERENCE = os.path.join(os.path.dirname(os.path.dirname(__file__)), 'data',
                         'aim_reference', 'reference_train_step.pt')
CASES = ['clip_k400_style', 'clip_ssv2_style', 'vit_in21k_style',
         'swin2d_adapter']


def _cases():
    if not os.path.exists(REFERENCE):
        pytest.fail(f'{REFERENCE} is missing')
    return torch.load(REFERENCE, weights_only=True)


def _image_model(meta):
    """The family of the case, at its sizes."""
    if meta['family'] == 'clip':
        return dict(type='CLIPViT',
                    arch=dict(patch_size=meta['patch_size'],
                              width=meta['width'], layers=meta['layers'],
                              heads=meta['heads']),
                    input_resolution=meta['input_resolution'])
    if meta['family'] == 'vit_imagenet':
        return dict(type='TimmViT', model_name='vit_base_patch16_224',
                    timm_kwargs=dict(img_size=meta['img_size'],
                                     patch_size=meta['patch_size'],
                                     embed_dim=meta['embed_dim'],
                                     depth=meta['depth'],
                                     num_heads=meta['num_heads'],
                                     qkv_bias=meta['qkv_bias']))
    assert meta['family'] == 'swin2d_adapter'
    # As configs/aim_swinb_k400_32f.py: the temporal bias tables and the
    # final norm stay frozen, as the original's name rule leaves them.
    return dict(type='TimmSwin', model_name='swin_base_patch4_window7_224',
                tubelet_size=meta['patch_size'][0], train_temporal_bias=False,
                timm_kwargs=dict(embed_dim=meta['embed_dim'],
                                 depths=tuple(meta['depths']),
                                 num_heads=tuple(meta['num_heads']),
                                 window_size=meta['window_size'],
                                 img_size=meta['input_resolution']))


def _recognizer(meta, drop_path_axis):
    init_default_scope('mmaction')
    swin = meta['family'] == 'swin2d_adapter'
    return MODELS.build(dict(
        type='AIMRecognizer',
        backbone=dict(type='AIMBackbone', image_model=_image_model(meta),
                      num_frames=meta['num_frames'],
                      num_tadapter=meta.get('num_tadapter', 1),
                      adapter_scale=meta.get('adapter_scale', 0.5),
                      drop_path_rate=0., drop_path_axis=drop_path_axis,
                      freeze_ln_post=swin),
        cls_head=dict(type='AIMHead', num_classes=meta['num_classes'],
                      in_channels=meta['out_channels'], dropout_ratio=0.)))


@pytest.mark.parametrize('drop_path_axis', ['original', 'frame'])
@pytest.mark.parametrize('case', CASES)
def test_training_step_equals_the_originals(case, drop_path_axis):
    ref = _cases()[case]
    model = _recognizer(ref['meta'], drop_path_axis)
    model.load_state_dict(convert_official_aim(ref['state_dict']),
                          strict=True)
    model.train()
    samples = [ActionDataSample().set_gt_label(int(label))
               for label in ref['labels']]
    losses = model.loss(ref['inputs'][:, None], samples)
    torch.testing.assert_close(losses['loss_cls'], ref['loss'], atol=1e-5,
                               rtol=0)
    losses['loss_cls'].backward()

    # The original's names, in ours.
    expected = convert_official_aim(
        ref['grads'], layout=official_aim_layout(ref['state_dict']))
    trained = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert set(trained) == set(expected), (
        f'we train {sorted(set(trained) - set(expected))} that the original '
        f'does not, and not {sorted(set(expected) - set(trained))}')
    for name, param in model.named_parameters():
        if name not in expected:
            assert param.grad is None, name
            continue
        scale = expected[name].abs().max().clamp_min(1e-8)
        error = (param.grad - expected[name]).abs().max() / scale
        assert error <= 1e-4, f'{name}: relative error {error:.2e}'
