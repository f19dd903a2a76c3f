"""Every config under configs/ parses, builds its model (on the meta device),
and its train/val/test pipelines and dataset run on a real video file."""
import copy
import functools
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

import mmaction_aim  # noqa: F401  (registrations, fixes)
from mmaction.registry import DATASETS, MODELS
from mmaction.utils import register_all_modules
from mmaction_aim.datasets.transforms import with_mean_fill
from mmaction_aim.utils.video import write_video
from conftest import load_config

register_all_modules()

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p and not osp.basename(p).startswith('_'))
AIM_CONFIGS = [c for c in CONFIGS if not c.startswith('configs/demo/')]

# Published views per setting: (clips, crops) of the test pipeline.
# (Fine-tuning targets first: 'aim_vitb_k400-pre_ucf101' is a UCF101 config.)
VIEWS = {'ucf101': (3, 1), 'hmdb51': (3, 1), 'k400': (3, 1), 'k700': (3, 3),
         'ssv2': (1, 3), 'diving48': (1, 1)}
# Where the original tested otherwise: Swin-B K400, 4 clips x ThreeCrop;
# the original ViT-B Diving-48 file, 1 clip x ThreeCrop.
VIEWS_OF_CONFIG = {'configs/aim_swinb_k400_32f.py': (4, 3),
                   'configs/aim_swinb_k400_32f-in22k.py': (4, 3),
                   'configs/aim_vitb_diving48_32f-3crop224.py': (1, 3)}
# SSv2 configs with one temporal adapter (the SSv2 recipe has two): the
# ablation and the original's ViT-L SSv2 file.
ONE_TADAPTER_SSV2 = ('configs/ablations/aim_vitb_ssv2_tadapter1.py',
                     'configs/aim_vitl_ssv2_8f-origcfg.py')
# timm names (parts) of the models of timm's Eva class (family TimmEva).
TIMM_EVA_NAMES = ('eva', 'pe_core', 'dinov3')

# Parameter counts of the original implementation
# (/work/shared/aim_reference/README.md): backbone total and trainable
# (adapters, temporal embedding, ln_post) for 8 frames.
REFERENCE_BACKBONE_PARAMS = {
    'configs/aim_vitb_k400.py': (96.46e6, 10.66e6),
    'configs/aim_vitb-in21k_k400.py': (96.46e6, 10.66e6),
    'configs/aim_vitl_k400.py': (341.03e6, 37.85e6),
    'configs/aim_vitb_ssv2.py': (100.01e6, 14.21e6),
}


def _load(path: str) -> Config:
    return load_config(osp.join(REPO, path))


def _dataset_key(path: str) -> str:
    for key in VIEWS:
        if key in osp.basename(path):
            return key
    raise KeyError(path)


@pytest.fixture(scope='module')
def fixture_video(tmp_path_factory):
    """A real encoded 48x64 video of 40 frames, and a list naming it twice."""
    root = tmp_path_factory.mktemp('videos')
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
              for _ in range(40)]
    write_video(str(root / 'clip.mp4'), frames, fps=10)
    (root / 'list.txt').write_text('clip.mp4 1\nclip.mp4 0\n')
    return str(root)


@pytest.mark.parametrize('path', CONFIGS)
def test_config_parses_and_builds(path):
    cfg = _load(path)
    # The plugin; the demo configs also import the demo's project.
    expected = ['mmaction_aim'] + (['projects.synthetic_demo']
                                   if '/demo/' in path else [])
    assert cfg.custom_imports == dict(imports=expected,
                                      allow_failed_imports=False)
    assert cfg.default_scope == 'mmaction'
    with torch.device('meta'):
        model = MODELS.build(copy.deepcopy(cfg.model))
    assert type(model).__name__ == 'AIMRecognizer'
    backbone = model.backbone
    assert backbone.num_frames == cfg.model.backbone.num_frames
    assert model.cls_head.fc_cls.out_features == cfg.model.cls_head.num_classes
    # The head reads the backbone's features (AIMTextHead's fc_cls reads
    # them after its projection into the image-text space).
    assert model.cls_head.in_channels == backbone.width
    # Everything trainable is a new part (adapters, temporal embedding,
    # ln_post, head) unless the config fine-tunes the whole image model.
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable, 'nothing to train'
    if cfg.model.backbone.get('freeze_image_model', True):
        for name in trainable:
            assert not any(k in name for k in (
                'conv1', 'class_embedding', 'positional_embedding', 'ln_pre',
                '.attn.', '.mlp.c_fc', '.mlp.c_proj', 'ln_1', 'ln_2',
                # timm's names
                'patch_embed', 'cls_token', 'reg_token', 'pos_embed',
                'norm1', 'norm2', '.mlp.fc', '.ls1', '.ls2', 'gamma_',
                'attn_pool')), name


@pytest.mark.parametrize('path', sorted(REFERENCE_BACKBONE_PARAMS))
def test_parameter_counts_match_the_original(path):
    cfg = _load(path)
    with torch.device('meta'):
        backbone = MODELS.build(cfg.model.backbone)
    total = sum(p.numel() for p in backbone.parameters())
    trainable = sum(p.numel() for p in backbone.parameters()
                    if p.requires_grad)
    ref_total, ref_trainable = REFERENCE_BACKBONE_PARAMS[path]
    assert abs(total - ref_total) < 0.005e6
    assert abs(trainable - ref_trainable) < 0.005e6


@pytest.mark.parametrize('path', AIM_CONFIGS)
def test_aim_recipe(path):
    """The settings the paper's recipe fixes, config by config."""
    cfg = _load(path)
    key = _dataset_key(path)
    backbone, head = cfg.model.backbone, cfg.model.cls_head
    assert backbone.type == 'AIMBackbone' and cfg.runner_type == 'AIMRunner'
    image_model = backbone.image_model
    family = image_model.type
    if family == 'TimmSwin':
        # The original Swin-B recipe: lr 1e-3 (SSv2 3e-4), lr_mult 0.1 on
        # the backbone, 32 frames in tubelets of 2, adapter scale 0.5
        # (hard-coded there), drop-path 0.2 (SSv2 0.4), the image model's
        # normalisation (tests/test_paper_recipes.py pins the rest).
        opt = cfg.optim_wrapper.optimizer
        assert (opt.type, opt.lr, opt.weight_decay) == (
            'AdamW', 3e-4 if key == 'ssv2' else 1e-3, 0.05)
        keys = cfg.optim_wrapper.paramwise_cfg.custom_keys
        assert keys.backbone.lr_mult == 0.1
        assert (backbone.num_frames, image_model.tubelet_size) == (32, 2)
        assert backbone.adapter_scale == 0.5
        assert backbone.drop_path_rate == (0.4 if key == 'ssv2' else 0.2)
        assert cfg.model.data_preprocessor.mean == 'image_model'
        assert backbone.pretrained.startswith(
            f'checkpoints/timm/{image_model.model_name}.')
        assert cfg.train_cfg.max_epochs == (60 if key == 'ssv2' else 30)
        assert head.label_smooth_eps == (0.1 if key == 'ssv2' else 0.)
        return
    if family.startswith('Timm'):  # timm's families (Swin returned above)
        # timm families: the image model's own statistics, but in the
        # paper's IN-21K rows, ImageNet's (as the original).
        if osp.basename(path).startswith('aim_vitb-in21k_'):
            assert cfg.model.data_preprocessor.mean == [123.675, 116.28,
                                                        103.53]
        else:
            assert cfg.model.data_preprocessor.mean == 'image_model'
            assert cfg.model.data_preprocessor.std == 'image_model'
        assert set(cfg.optim_wrapper.paramwise_cfg.custom_keys) >= {
            'cls_token', 'pos_embed', 'reg_token'}
    else:
        assert cfg.model.data_preprocessor.mean == [122.769, 116.74, 104.04]
        assert cfg.model.data_preprocessor.std == [68.493, 66.63, 70.321]
    assert head.average_clips == 'prob'
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', 3e-4, 0.05)
    assert cfg.optim_wrapper.paramwise_cfg.norm_decay_mult == 0
    assert set(cfg.optim_wrapper.paramwise_cfg.custom_keys) >= {
        'class_embedding', 'positional_embedding'}
    assert cfg.auto_scale_lr.base_batch_size == 64
    # Repeated sampling: `repeats` clips per video read, counted in clips
    # (the same steps, clips per step and clips in all as the recipe).
    repeats = cfg.train_dataloader.dataset.get('num_repeats', 1)
    assert cfg.train_dataloader.batch_size * repeats == 8
    warmup, cosine = cfg.param_scheduler
    assert (warmup.type, warmup.end * repeats) == ('LinearLR', 2.5)
    assert cosine.type == 'CosineAnnealingLR'
    assert cosine.end == cfg.train_cfg.max_epochs
    assert backbone.drop_path_rate == 0.2
    ops = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    if key == 'ssv2':
        assert backbone.num_tadapter == (1 if path in ONE_TADAPTER_SSV2
                                         else 2)
        assert backbone.adapter_scale == 1.0
        assert head.label_smooth_eps == 0.1
        assert cfg.train_cfg.max_epochs == 50
        assert 'Flip' not in ops and 'UniformSample' in ops
        assert 'ImgaugRandAugment' in ops and 'ClipRandomErasing' in ops
    else:
        assert 'Flip' in ops
        if key in ('k400', 'k700'):
            assert cfg.train_cfg.max_epochs * repeats == 30
            assert 'SampleFrames' in ops
    if key in ('ucf101', 'hmdb51') and path.startswith('configs/few_shot/'):
        # Few-shot: from OpenAI's CLIP, no Kinetics checkpoint.
        assert not cfg.get('load_from')
        assert backbone.pretrained == 'checkpoints/clip/ViT-B-16.pt'
    elif key in ('ucf101', 'hmdb51'):
        assert cfg.load_from and backbone.pretrained is None
    elif family.startswith('Timm'):
        # timm's files, under the name the docs say to save them as.
        assert backbone.pretrained == \
            f'checkpoints/timm/{image_model.model_name}.safetensors'
        assert (family == 'TimmEva') == any(
            n in image_model.model_name for n in TIMM_EVA_NAMES)
    else:
        assert backbone.pretrained.startswith('checkpoints/clip/ViT-')
    if 'laion2b' in path:
        # LAION weights need exact GELU: open_clip's plain name.
        assert image_model.arch == 'ViT-B-16'
        with torch.device('meta'):
            model = MODELS.build(copy.deepcopy(cfg.model.backbone))
        assert model.family.arch['act'] == 'gelu'


@functools.lru_cache(maxsize=None)
def _input_size(path: str) -> int:
    """The frame size a config's image model takes (built once, on the
    meta device)."""
    with torch.device('meta'):
        return MODELS.build(copy.deepcopy(_load(path).model.backbone)
                            ).input_size


def _pipeline_cases():
    """One case per distinct (pipeline, frames, expected views)."""
    cases, seen = [], set()
    for path in AIM_CONFIGS:
        cfg = _load(path)
        clips, crops = VIEWS_OF_CONFIG.get(path, VIEWS[_dataset_key(path)])
        for split, views in (('train', 1), ('val', 1),
                             ('test', clips * crops)):
            dataset = cfg[f'{split}_dataloader'].dataset
            sig = (repr(dataset.pipeline), views,
                   dataset.get('num_repeats'), dataset.get('decoder'))
            if sig in seen:
                continue
            seen.add(sig)
            cases.append(pytest.param(path, split, views,
                                      id=f'{osp.basename(path)}-{split}'))
    return cases


@pytest.mark.parametrize('path,split,views', _pipeline_cases())
def test_pipeline_and_dataset_on_a_real_video(path, split, views,
                                              fixture_video):
    cfg = _load(path)
    ds_cfg = copy.deepcopy(cfg[f'{split}_dataloader'].dataset)
    # What AIMRunner does with fill='mean' (any colour will do here).
    ds_cfg.pipeline = with_mean_fill(ds_cfg.pipeline, [122.769, 116.74,
                                                       104.04])
    ds_cfg.ann_file = osp.join(fixture_video, 'list.txt')
    ds_cfg.data_prefix = dict(video=fixture_video)
    dataset = DATASETS.build(ds_cfg)
    assert len(dataset) == 2
    sample = dataset[0]
    repeats = ds_cfg.get('num_repeats', 1)
    if repeats > 1:  # repeated sampling: a list of clips of one video
        assert isinstance(sample, list) and len(sample) == repeats
        from mmaction_aim.engine.resolve import resolve
        assert resolve(cfg)[0][f'{split}_dataloader'].collate_fn.type == \
            'repeat_pseudo_collate'
        sample = sample[-1]
    frames = cfg.model.backbone.num_frames
    size = _input_size(path)
    # [views, C, T, H, W]: what the model's data preprocessor expects.
    assert tuple(sample['inputs'].shape) == (views, 3, frames, size, size)
    # Colour noise and mean-colour erasing give float frames.
    floats = {'PCALighting', 'ClipRandomErasing'} & {
        t.type for t in ds_cfg.pipeline}
    assert sample['inputs'].dtype == (torch.float32 if floats else
                                      torch.uint8)
    assert int(sample['data_samples'].gt_label) == 1


def test_metafile_lists_every_config_with_measured_figures():
    """configs/metafile.yml names every model-zoo config, and its FLOPs and
    parameters are what tools/analysis/get_flops.py measures now."""
    import yaml

    from mmaction_aim.analysis import config_complexity
    with open(osp.join(REPO, 'configs', 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    models = {m['Config']: m for m in meta['Models']}
    # The few-shot configs are no model-zoo rows (docs/few_shot.md).
    assert sorted(models) == [c for c in AIM_CONFIGS
                              if not c.startswith('configs/few_shot/')]
    for path in ('configs/aim_vitb_k400.py', 'configs/aim_vitb_ssv2.py',
                 'configs/ablations/aim_vitb_k400_spatial.py'):
        measured = config_complexity(osp.join(REPO, path))
        entry = models[path]
        assert entry['Name'] == osp.basename(path)[:-3]
        assert entry['In Collection'] == 'AIM'
        assert entry['Weights'] is None
        assert entry['Metadata']['FLOPs'] == measured['flops']
        assert entry['Metadata']['Parameters'] == measured['params']
        assert entry['Metadata']['Trainable Parameters'] == \
            measured['trainable_params']
