"""The paper configs train as the original did: every field the recipe
audit (shared/aim_reference/recipe_audit.md) lists as changing results,
pinned config by config (docs/reproduction.md names the test of each)."""
import copy
import math
import os.path as osp

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import mmaction_aim  # noqa: F401  (registrations)
from mmaction.registry import MODELS, PARAM_SCHEDULERS
from conftest import load_config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: Every config that carries a published number (or is the original's
#: own row without one: the Swin-B configs).
PAPER = [
    'aim_vitb_k400', 'aim_vitb_k400_16f', 'aim_vitb_k400_32f',
    'aim_vitl_k400', 'aim_vitl_k400_16f', 'aim_vitl_k400_32f',
    'aim_vitb_k700_32f', 'aim_vitl_k700_32f', 'aim_vitb_ssv2',
    'aim_vitb_ssv2_16f', 'aim_vitb_ssv2_32f', 'aim_vitl_ssv2_32f',
    'aim_vitb_diving48_32f', 'aim_vitl_diving48_32f', 'aim_vitb-in21k_k400',
    'aim_vitb-in21k_ssv2', 'aim_swinb_k400_32f', 'aim_swinb_ssv2_32f'
]
#: The other reading of a row where the original's config file and its
#: published row (or the paper) disagree: each inherits its paper config
#: and changes only what differs (``OTHER_READINGS`` below).
READINGS = [
    'aim_vitl_ssv2_8f-origcfg', 'aim_vitb_k700_8f-origcfg',
    'aim_vitb_diving48_32f-3crop224', 'aim_swinb_k400_32f-in22k',
    'aim_swinb_ssv2_32f-in22k'
]
#: Sensible siblings and our own rows: one drop-path mask per frame.
NOT_PAPER = [
    'aim_vitb-in21k-augreg_k400', 'aim_vitb-in21k-augreg_ssv2',
    'aim_vitb-laion2b_k400', 'aim_dinov2-vitb14_k400',
    'aim_siglip-vitb16_ssv2', 'aim_eva02-vitb16_k400',
    'aim_beit-vitb16_k400', 'aim_vitb_k400-pre_ucf101'
]


def _cfg(name):
    return load_config(osp.join(REPO, 'configs', name + '.py'))


def _types(pipeline):
    return [t['type'] for t in pipeline]


def _groups(name):
    """``{parameter name: (lr, weight decay)}`` of what trains, from the
    optimizer the config builds (model on the meta device)."""
    cfg = _cfg(name)
    init_default_scope('mmaction')
    with torch.device('meta'):
        model = MODELS.build(copy.deepcopy(cfg.model))
    optim = copy.deepcopy(cfg.optim_wrapper)
    optim.type = 'OptimWrapper'  # AMP needs a GPU; the groups do not
    wrapper = build_optim_wrapper(model, optim)
    names = {id(p): n for n, p in model.named_parameters()}
    return {names[id(p)]: (g['lr'], g['weight_decay'])
            for g in wrapper.optimizer.param_groups for p in g['params']}


def _kind(name):
    if 'adapter' in name:
        return 'adapter'
    for part in ('temporal_embedding', 'cls_head', 'ln_post'):
        if part in name:
            return part
    return name


# ------------------------------------------------ the other readings
IN22K = 'swin_base_patch4_window7_224.ms_in22k'
#: Each other reading: its paper config and every field it changes (dotted
#: keys of the loaded config; the dataloaders' pipelines by index).
OTHER_READINGS = {
    # The original's vitclip_large_sthv2.py: 8 frames, 1 temporal adapter.
    'aim_vitl_ssv2_8f-origcfg': ('aim_vitl_ssv2_32f', {
        'model.backbone.num_frames': 8,
        'model.backbone.num_tadapter': 1,
        'model.backbone.with_cp': False,
        **{f'{split}_dataloader.dataset.pipeline.1.clip_len': 8
           for split in ('train', 'val', 'test')}}),
    # The original's vitclip_base_k700.py: 8x16.
    'aim_vitb_k700_8f-origcfg': ('aim_vitb_k700_32f', {
        'model.backbone.num_frames': 8,
        **{f'{split}_dataloader.dataset.pipeline.1.{key}': value
           for split in ('train', 'val', 'test')
           for key, value in (('clip_len', 8), ('frame_interval', 16))}}),
    # The original's vitclip_base_diving48.py test: 224, ThreeCrop.
    'aim_vitb_diving48_32f-3crop224': ('aim_vitb_diving48_32f', {
        'test_dataloader.dataset.pipeline.3.scale': (-1, 224),
        'test_dataloader.dataset.pipeline.4.type': 'ThreeCrop'}),
    # Microsoft's ImageNet-22K Swin-B.
    **{f'aim_swinb_{task}_32f-in22k': (f'aim_swinb_{task}_32f', {
        'model.backbone.image_model.model_name': IN22K,
        'model.backbone.pretrained': f'checkpoints/timm/{IN22K}.safetensors'})
       for task in ('k400', 'ssv2')},
}


def _leaves(value, prefix=''):
    """``{dotted key: value}`` of every leaf of a config (list items by
    index, tuples as leaves)."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return {prefix[:-1]: value}
    leaves = {}
    for key, item in items:
        leaves.update(_leaves(item, f'{prefix}{key}.'))
    return leaves


def _run_fields(name):
    """The leaves of a config that a run uses: its ``*_pipeline`` variables
    are left out (the dataloaders' pipelines are what runs)."""
    cfg = _cfg(name).to_dict()
    return _leaves({k: v for k, v in cfg.items()
                    if not k.endswith('_pipeline')})


def test_every_other_reading_is_pinned():
    assert sorted(OTHER_READINGS) == sorted(READINGS)


@pytest.mark.parametrize('name', READINGS)
def test_other_readings_change_only_what_differs(name):
    paper_name, expected = OTHER_READINGS[name]
    paper, other = _run_fields(paper_name), _run_fields(name)
    missing = object()
    changed = {key: other.get(key, missing)
               for key in paper.keys() | other.keys()
               if paper.get(key, missing) != other.get(key, missing)}
    assert changed == expected


@pytest.mark.parametrize('name', ['aim_swinb_k400_32f-in22k',
                                  'aim_swinb_ssv2_32f-in22k'])
@pytest.mark.parametrize('layout', ['timm', 'microsoft'])
def test_swin_in22k_reading_loads_the_22k_file(name, layout, tmp_path):
    """The IN-22K reading's image model loads Swin-B's ImageNet-22K file
    (timm's hub copy, or Microsoft's ``swin_base_patch4_window7_224_22k
    .pth`` layout: downsampling at the end of stages, ``model`` key),
    strictly, its 21,841-class head left out (at tiny sizes), and
    normalises with ImageNet's statistics as its timm config says."""
    import re

    import timm
    from safetensors.torch import save_file

    from mmaction_aim.models import AIMBackbone
    image_model = copy.deepcopy(_cfg(name).model.backbone.image_model)
    assert image_model.model_name == IN22K
    tiny = dict(img_size=56, embed_dim=16, depths=(2, 2), num_heads=(2, 4),
                window_size=7)
    torch.manual_seed(0)
    plain = timm.create_model(IN22K, pretrained=False, **tiny).eval()
    assert plain.head.fc.out_features == 21841
    state = plain.state_dict()
    if layout == 'timm':
        path = tmp_path / f'{IN22K}.safetensors'
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        moved = {re.sub(r'^layers\.(\d+)\.downsample',
                        lambda m: f'layers.{int(m.group(1)) - 1}.downsample',
                        k).replace('head.fc.', 'head.'): v
                 for k, v in state.items()}
        path = tmp_path / 'swin_base_patch4_window7_224_22k.pth'
        torch.save(dict(model=moved), path)
    backbone = AIMBackbone(dict(image_model, timm_kwargs=tiny), num_frames=2,
                           pretrained=str(path))
    backbone.init_weights()
    assert backbone.family.normalization == (
        [123.675, 116.28, 103.53], [58.395, 57.12, 57.375])
    frames = torch.randn(1, 3, 1, 56, 56)
    with torch.no_grad():
        out = backbone.eval()(frames.repeat_interleave(2, dim=2))
        expected = plain.forward_features(frames[:, :, 0])
    torch.testing.assert_close(out[:, :, 0], expected.permute(0, 3, 1, 2),
                               atol=1e-5, rtol=0)


# ------------------------------------------------ optimiser groups (C2)
@pytest.mark.parametrize('name,expected', [
    # ViT-B: 3e-4 everywhere, ln_post without weight decay.
    ('aim_vitb_k400', {'adapter': (3e-4, 0.05),
                       'temporal_embedding': (3e-4, 0.05),
                       'ln_post': (3e-4, 0.), 'cls_head': (3e-4, 0.05)}),
    # ViT-L (K400 and SSv2): the backbone at 0.1 x lr, ln_post with decay.
    ('aim_vitl_k400_32f', {'adapter': (3e-5, 0.05),
                           'temporal_embedding': (3e-5, 0.05),
                           'ln_post': (3e-5, 0.05),
                           'cls_head': (3e-4, 0.05)}),
    ('aim_vitl_ssv2_32f', {'adapter': (3e-5, 0.05),
                           'temporal_embedding': (3e-5, 0.05),
                           'ln_post': (3e-5, 0.05),
                           'cls_head': (3e-4, 0.05)}),
    ('aim_vitl_ssv2_8f-origcfg', {'adapter': (3e-5, 0.05),
                                  'temporal_embedding': (3e-5, 0.05),
                                  'ln_post': (3e-5, 0.05),
                                  'cls_head': (3e-4, 0.05)}),
    # Swin: adapters and head only; K400 lr 1e-3, SSv2 3e-4.
    ('aim_swinb_k400_32f', {'adapter': (1e-4, 0.05),
                            'cls_head': (1e-3, 0.05)}),
    ('aim_swinb_ssv2_32f', {'adapter': (3e-5, 0.05),
                            'cls_head': (3e-4, 0.05)}),
])
def test_what_trains_and_at_which_rate(name, expected):
    groups = _groups(name)
    by_kind = {}
    for param, value in groups.items():
        by_kind.setdefault(_kind(param), set()).add(value)
    assert set(by_kind) == set(expected), sorted(by_kind)
    for kind, value in expected.items():
        got, = by_kind[kind]
        assert got == pytest.approx(value), kind


# ------------------------------------------------ schedule (C1)
def _mmcv_lr(epoch, it, epoch_len, max_epochs, base=1., warmup=2.5):
    """mmcv 1.4's CosineAnnealing lr hook (by epoch) with a linear warm-up
    by iteration from 0.1 over ``warmup`` epochs."""
    regular = base * (1 + math.cos(math.pi * epoch / max_epochs)) / 2
    cur, total = epoch * epoch_len + it, warmup * epoch_len
    if cur < total:
        return regular * (1 - (1 - cur / total) * (1 - 0.1))
    return regular


@pytest.mark.parametrize('name,max_epochs', [('aim_vitb_k400', 30),
                                             ('aim_vitb_ssv2', 50),
                                             ('aim_swinb_ssv2_32f', 60)])
def test_lr_follows_the_originals_per_epoch_cosine(name, max_epochs):
    cfg = _cfg(name)
    assert cfg.train_cfg.max_epochs == max_epochs
    epoch_len = 40
    warmup = 2.5 * epoch_len
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.)
    schedulers = []
    for spec in copy.deepcopy(cfg.param_scheduler):
        spec = dict(spec)
        if spec.pop('convert_to_iter_based', False):
            cls = PARAM_SCHEDULERS.get(spec.pop('type'))
            schedulers.append(cls.build_iter_from_epoch(
                optimizer, **spec, epoch_length=epoch_len))
        else:
            schedulers.append(PARAM_SCHEDULERS.build(
                dict(spec, optimizer=optimizer)))
    for epoch in range(max_epochs):
        for it in range(epoch_len):
            lr = optimizer.param_groups[0]['lr']
            expected = _mmcv_lr(epoch, it, epoch_len, max_epochs)
            if epoch * epoch_len + it < warmup:
                # MMEngine's LinearLR reaches 1 on the last warm-up
                # iteration, mmcv's one iteration later: at most
                # 0.9 / (W - 1) of the lr apart, W warm-up iterations.
                assert abs(lr - expected) <= 0.9 / (warmup - 1) * lr
            else:
                assert lr == pytest.approx(expected, rel=1e-6, abs=1e-12), (
                    epoch, it)
            for s in schedulers:  # MMEngine's ParamSchedulerHook
                if not s.by_epoch:
                    s.step()
        for s in schedulers:
            if s.by_epoch:
                s.step()


# ------------------------------------------------ augmentation (C11-C13)
@pytest.mark.parametrize('name', ['aim_vitl_k400', 'aim_vitl_k400_16f',
                                  'aim_vitl_k400_32f'])
def test_vitl_kinetics_adds_the_originals_colour_noise(name):
    types = _types(_cfg(name).train_dataloader.dataset.pipeline)
    assert types.index('PCALighting') == types.index('Flip') + 1
    assert 'ColorJitter' not in types


@pytest.mark.parametrize('name', [n for n in PAPER + READINGS if 'ssv2' in n])
def test_ssv2_augments_as_imgaug_and_timm_did(name):
    pipeline = _cfg(name).train_dataloader.dataset.pipeline
    types = _types(pipeline)
    ra = pipeline[types.index('ImgaugRandAugment')]
    erase = pipeline[types.index('ClipRandomErasing')]
    assert (ra['n'], ra['m']) == (4, 7)
    assert (erase['erase_prob'], erase['fill']) == (0.25, 'mean')
    assert types.index('ClipRandomErasing') > types.index(
        'ImgaugRandAugment')
    assert 'Flip' not in types  # the flip is RandAugment's own
    assert not {'TorchVisionWrapper', 'RandomErasing'} & set(types)


# ------------------------------------------------ sampling and views
def _sampler(pipeline):
    return next(t for t in pipeline if 'Sample' in t['type'])


@pytest.mark.parametrize('name,train,clips,crop', [
    ('aim_vitb_k400', (8, 16), 3, 'CenterCrop'),
    ('aim_vitl_k400_16f', (16, 8), 3, 'CenterCrop'),
    ('aim_vitb_k400_32f', (32, 4), 3, 'CenterCrop'),
    ('aim_vitb_k700_32f', (32, 4), 3, 'ThreeCrop'),
    ('aim_vitb_k700_8f-origcfg', (8, 16), 3, 'ThreeCrop'),
    ('aim_vitl_k700_32f', (32, 4), 3, 'ThreeCrop'),
    ('aim_vitb-in21k_k400', (8, 16), 3, 'CenterCrop'),
    ('aim_swinb_k400_32f', (32, 2), 4, 'ThreeCrop'),
    ('aim_swinb_k400_32f-in22k', (32, 2), 4, 'ThreeCrop'),
])
def test_kinetics_sampling_and_test_views(name, train, clips, crop):
    cfg = _cfg(name)
    sampler = _sampler(cfg.train_dataloader.dataset.pipeline)
    assert (sampler['clip_len'], sampler['frame_interval']) == train
    for split, n in (('val', 1), ('test', clips)):
        pipeline = cfg[f'{split}_dataloader'].dataset.pipeline
        sampler = _sampler(pipeline)
        # 0.x's placement of test clips (CentredSampleFrames).
        assert sampler['type'] == 'CentredSampleFrames'
        assert (sampler['clip_len'], sampler['frame_interval'],
                sampler['num_clips']) == (*train, n)
    test = _types(cfg.test_dataloader.dataset.pipeline)
    assert crop in test


@pytest.mark.parametrize('name,short_side,crop', [
    # The protocol a user found to give 88.9 on the released checkpoint
    # (original issue #46, not the authors): val-style, 1x1.
    ('aim_vitb_diving48_32f', 256, 'CenterCrop'),
    # The original config file's (issue #35 measured 88.43 with it): 1x3.
    ('aim_vitb_diving48_32f-3crop224', 224, 'ThreeCrop'),
    ('aim_vitl_diving48_32f', 224, 'CenterCrop'),
])
def test_diving48_test_protocol(name, short_side, crop):
    pipeline = _cfg(name).test_dataloader.dataset.pipeline
    resize = next(t for t in pipeline if t['type'] == 'Resize')
    assert resize['scale'] == (-1, short_side)
    assert crop in _types(pipeline)
    assert _sampler(pipeline)['num_clips'] == 1


# ------------------------------------------------ model (C5, C6, C14, T9)
@pytest.mark.parametrize('name', PAPER + READINGS)
def test_paper_configs_draw_drop_path_as_the_original(name):
    cfg = _cfg(name)
    assert cfg.model.backbone.drop_path_axis == 'original'
    assert cfg.model.cls_head.get('init_std', 0.01) == 0.01  # I3D head's


@pytest.mark.parametrize('name,temporal,joint', [
    # ViT_CLIP runs its blocks sequence-first: per token position.
    ('aim_vitb_k400', ('token', ), ('token', )),
    # ViT_ImageNet runs them batch-first: per frame, as the sibling.
    ('aim_vitb-in21k_k400', ('clip', 'frame'), ('clip', 'frame')),
    ('aim_vitb-in21k_ssv2', ('clip', 'frame'), ('clip', 'frame')),
    ('aim_vitb-in21k-augreg_k400', ('clip', 'frame'), ('clip', 'frame')),
    # SwinTransformer2D_Adapter: per (clip, position) and per frame.
    ('aim_swinb_k400_32f', ('clip', 'token'), ('clip', 'frame')),
])
def test_each_family_draws_its_originals_unit(name, temporal, joint):
    """What the built blocks draw (recipe audit S6, tests/models/
    test_drop_path.py for the draws themselves)."""
    init_default_scope('mmaction')
    with torch.device('meta'):
        model = MODELS.build(copy.deepcopy(_cfg(name).model))
    blocks = [m for m in model.modules() if hasattr(m, 'temporal_drop_path')]
    assert blocks
    assert {b.temporal_drop_path.per for b in blocks} == {temporal}
    assert {b.drop_path.per for b in blocks} == {joint}


@pytest.mark.parametrize('name', NOT_PAPER)
def test_other_configs_drop_per_frame(name):
    assert _cfg(name).model.backbone.drop_path_axis == 'frame'


@pytest.mark.parametrize('task', ['k400', 'ssv2'])
def test_in21k_rows_use_the_originals_weights_and_statistics(task):
    paper = _cfg(f'aim_vitb-in21k_{task}')
    sibling = _cfg(f'aim_vitb-in21k-augreg_{task}')
    assert paper.model.backbone.image_model.model_name == \
        'vit_base_patch16_224.orig_in21k_ft_in1k'
    assert paper.model.data_preprocessor.mean == [123.675, 116.28, 103.53]
    assert paper.model.data_preprocessor.std == [58.395, 57.12, 57.375]
    assert sibling.model.backbone.image_model.model_name == \
        'vit_base_patch16_224.augreg_in21k'
    assert sibling.model.data_preprocessor.mean == 'image_model'


@pytest.mark.parametrize('name,weights', [
    ('aim_swinb_k400_32f', 'ms_in1k'), ('aim_swinb_ssv2_32f', 'ms_in1k'),
    ('aim_swinb_k400_32f-in22k', 'ms_in22k'),
    ('aim_swinb_ssv2_32f-in22k', 'ms_in22k')])
def test_swin_trains_adapters_and_head_only(name, weights):
    cfg = _cfg(name)
    image_model = cfg.model.backbone.image_model
    assert image_model.model_name == \
        f'swin_base_patch4_window7_224.{weights}'
    init_default_scope('mmaction')
    with torch.device('meta'):
        model = MODELS.build(copy.deepcopy(cfg.model))
    trainable = {_kind(n) for n, p in model.named_parameters()
                 if p.requires_grad}
    assert trainable == {'adapter', 'cls_head'}
