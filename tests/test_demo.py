"""The embedded demo: synthetic twin videos, its configs, its image model."""
import json
import os.path as osp
import pickle

import numpy as np
import pytest
import torch

REPO = osp.normpath(osp.join(osp.dirname(__file__), '..'))
DEMO_CONFIGS = [
    'aim_tiny_synthetic.py', 'aim_tiny_synthetic_spatial_only.py',
    'aim_tiny_synthetic_spatial_temporal.py',
    'aim_tiny_synthetic_frozen_linear.py',
    'aim_tiny_synthetic_full_finetune.py',
    'aim_tiny_synthetic_timm.py', 'aim_tiny_synthetic_timm_spatial_only.py'
]
CHECKPOINT = osp.join(REPO, 'checkpoints', 'demo', 'clip_vit_tiny_shapes.pth')
TIMM_CHECKPOINT = osp.join(REPO, 'checkpoints', 'demo',
                           'timm_vit_tiny_shapes.safetensors')


@pytest.fixture(scope='module')
def tiny_set(tmp_path_factory):
    from projects.synthetic_demo.synthetic import make_video_dataset
    root = str(tmp_path_factory.mktemp('demo_videos'))
    files = make_video_dataset(root, seed=3,
                               clips_per_class=dict(train=2, test=1))
    return root, files


def _decode(path):
    import decord
    vr = decord.VideoReader(path)
    return vr.get_batch(range(len(vr))).asnumpy().astype(np.int16)


@pytest.mark.parametrize('codec,ext,name', [('h264', 'mp4', 'h264'),
                                             ('vp9', 'webm', 'vp9')])
def test_the_demo_data_in_real_codecs(codec, ext, name, tmp_path):
    """make_synthetic_videos --codec h264 / vp9: the files Kinetics and
    SSv2 have, decodable, twins still frame reversals."""
    av = pytest.importorskip('av')
    from projects.synthetic_demo.synthetic import make_video_dataset
    files = make_video_dataset(str(tmp_path), seed=3, codec=codec,
                               clips_per_class=dict(train=1))
    lines = [ln.split() for ln in open(files['train'])]
    assert all(p.endswith('.' + ext) for p, _ in lines)
    meta = json.load(open(tmp_path / 'classes.json'))
    fwd, rev = meta['twin_pairs'][0]
    paths = [str(tmp_path / f'train/{meta["classes"][k]}_0000.{ext}')
             for k in (fwd, rev)]
    with av.open(paths[0]) as container:
        assert container.streams.video[0].codec_context.name == name
    a, b = (_decode(p) for p in paths)
    assert a.shape == b.shape == (8, 32, 32, 3)
    assert np.abs(a - b[::-1]).mean() < 5


def test_twins_are_frame_reversals_after_decoding(tiny_set):
    root, files = tiny_set
    meta = json.load(open(osp.join(root, 'classes.json')))
    lines = [ln.split() for ln in open(files['train'])]
    assert all(len(ln) == 2 and ln[0].endswith('.mp4') for ln in lines)
    by_path = {p: int(y) for p, y in lines}
    assert len(by_path) == len(meta['classes']) * 2
    for fwd, rev in meta['twin_pairs']:
        fname, rname = meta['classes'][fwd], meta['classes'][rev]
        a = _decode(osp.join(root, f'train/{fname}_0000.mp4'))
        b = _decode(osp.join(root, f'train/{rname}_0000.mp4'))
        assert by_path[f'train/{fname}_0000.mp4'] == fwd
        assert by_path[f'train/{rname}_0000.mp4'] == rev
        assert a.shape == b.shape == (8, 32, 32, 3)
        # Same frames in opposite order, up to MPEG-4 coding noise: every
        # frame of one is nearest to the mirrored frame of the other ...
        noise = np.abs(a - b[::-1]).mean()
        assert noise < 5
        dist = np.abs(a[:, None] - b[None, ::-1]).mean(axis=(2, 3, 4))
        if 'appear' not in fname:  # fades change little between frames
            assert (dist.argmin(axis=1) == np.arange(8)).all(), dist
        # ... and the clip really changes over time.
        assert np.abs(a[0] - a[-1]).max() > 60


def test_generator_is_deterministic():
    from projects.synthetic_demo.synthetic import render_clip
    a = render_clip(np.random.default_rng(7), 'circle', 'move_right')
    b = render_clip(np.random.default_rng(7), 'circle', 'move_right')
    assert np.array_equal(a, b)


def test_twin_metric_order_blind_model_is_at_chance():
    from projects.synthetic_demo.twin_metric import twin_pair_accuracy
    rng = np.random.default_rng(0)
    # A clip and its reversal get the same scores: at most 50% in a pair.
    scores = rng.random((10, 4))
    scores = np.concatenate([scores, scores])
    labels = np.array([0] * 5 + [2] * 5 + [1] * 5 + [3] * 5)
    out = twin_pair_accuracy(scores, labels, [(0, 1), (2, 3)])
    assert out['twin_top1'] == 0.5 and out['twin_samples'] == 20
    perfect = np.eye(4)[labels]
    assert twin_pair_accuracy(perfect, labels, [(0, 1)])['twin_top1'] == 1


def test_checkpoint_has_clip_visual_layout():
    state = torch.load(CHECKPOINT, map_location='cpu', weights_only=True)
    assert all(k.startswith('visual.') for k in state)
    for key in ('visual.conv1.weight', 'visual.class_embedding',
                'visual.positional_embedding', 'visual.ln_pre.weight',
                'visual.transformer.resblocks.3.attn.in_proj_weight',
                'visual.transformer.resblocks.0.mlp.c_fc.weight',
                'visual.ln_post.bias', 'visual.proj'):
        assert key in state, key
    assert state['visual.proj'].shape == (64, 64)
    assert osp.getsize(CHECKPOINT) < 4 * 2**20


def test_timm_checkpoint_is_a_timm_file_of_the_demo_model():
    """The second family's file: timm's own names and format, a whole
    image model (it loads strictly into timm's model), trained."""
    import timm
    from safetensors.torch import load_file

    from projects.synthetic_demo.image_model import (DEMO_TIMM_KWARGS,
                                               DEMO_TIMM_NAME)
    state = load_file(TIMM_CHECKPOINT)
    assert not any(k.startswith(('visual.', 'image_model.')) for k in state)
    model = timm.create_model(DEMO_TIMM_NAME, pretrained=False,
                              num_classes=0, **DEMO_TIMM_KWARGS)
    model.load_state_dict(state, strict=True)
    # Not a fresh initialisation: timm starts the class token near zero.
    assert state['cls_token'].abs().max() > 1e-3
    assert osp.getsize(TIMM_CHECKPOINT) < 4 * 2**20


def test_demo_configs_build_and_run(tiny_set):
    import mmaction_aim  # noqa: F401
    from mmengine.config import Config
    from mmaction.registry import DATASETS, MODELS
    from mmengine.registry import init_default_scope

    init_default_scope('mmaction')
    root, files = tiny_set
    trainable = {}
    for name in DEMO_CONFIGS:
        cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo', name))
        assert cfg.model.backbone.pretrained.endswith(
            'timm_vit_tiny_shapes.safetensors' if 'timm' in name else
            'clip_vit_tiny_shapes.pth')
        model = MODELS.build(cfg.model)
        model.init_weights()
        trainable[name] = sum(p.numel() for p in model.parameters()
                              if p.requires_grad)
    # AIM trains at most a fifth of what full fine-tuning does.
    assert trainable['aim_tiny_synthetic.py'] * 5 <= \
        trainable['aim_tiny_synthetic_full_finetune.py']

    # The real pipeline on the tiny set, pointed there through cfg options.
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo', DEMO_CONFIGS[0]))
    cfg.merge_from_dict({
        'test_dataloader.dataset.ann_file': files['test'],
        'test_dataloader.dataset.data_prefix.video': root,
    })
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(dataset) == 14
    item = dataset[0]
    assert item['inputs'].shape == (1, 3, 8, 32, 32)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.eval()
    with torch.no_grad():
        out = model.test_step(dict(inputs=[item['inputs']],
                                   data_samples=[item['data_samples']]))
    assert out[0].pred_score.shape == (14, )


def _ablation_options(root, files):
    """run_ablation's --cfg-options: the tiny set, one epoch."""
    options = ['train_cfg.max_epochs=1']
    for split, ann in (('train', 'train'), ('val', 'test'), ('test', 'test')):
        options += [f'{split}_dataloader.dataset.ann_file={files[ann]}',
                    f'{split}_dataloader.dataset.data_prefix.video={root}']
    return options


def test_run_ablation_runs_rows_side_by_side(tiny_set, tmp_path):
    """Two rows at once, one thread each, each trained and tested by one
    tools/train.py --test-last process; the table holds both."""
    from conftest import call_tool
    root, files = tiny_set
    work_dir = tmp_path / 'ablation'
    proc = call_tool(['demo/run_ablation.py', '--work-dir', str(work_dir),
                      '--rows', 'aim', 'spatial_only', '--jobs', '2',
                      '--cfg-options', *_ablation_options(root, files)])
    assert '2 rows, 2 at a time, 1 thread(s) each' in proc.stdout
    assert proc.stdout.count('started') == 2
    table = (work_dir / 'results.md').read_text()
    assert '| AIM (spatial + temporal + joint) |' in table
    assert '| spatial adaptation |' in table
    assert 'rows ran 2 at a time, 1 thread(s) each' in table
    for row in ('aim', 'spatial_only'):
        log = (work_dir / row / 'stdout.log').read_text()
        assert 'Preloaded 28 videos' in log  # the tiny train split
        assert 'Epoch(test)' in log  # tested in the training process
        with open(work_dir / row / 'test_predictions.pkl', 'rb') as f:
            assert len(pickle.load(f)) == 14  # our own file: one a class


def test_run_ablation_stops_on_a_failing_row(tiny_set, tmp_path):
    from conftest import call_tool
    root, files = tiny_set
    work_dir = tmp_path / 'ablation'
    # One row: a failure stops the table whatever the number of rows.
    proc = call_tool(['demo/run_ablation.py', '--work-dir', str(work_dir),
                      '--rows', 'aim', '--jobs', '1',
                      '--cfg-options', *_ablation_options(root, files),
                      'train_dataloader.dataset.ann_file=/not/there.txt'],
                     check=False)
    assert proc.returncode != 0
    assert 'failed' in proc.stderr and 'stdout.log' in proc.stderr
    assert not (work_dir / 'results.md').exists()


def test_the_readme_gives_every_demo_row_as_a_range():
    """Rows that move by several points between runs were printed from one
    run (spatial + temporal: 93.5% printed, 88.1% in a fresh run): every
    accuracy of the README's demo table is a range over runs with its
    median, and every row of the demo's ablation has a line."""
    import re
    from conftest import REPO
    text = open(osp.join(REPO, 'README.md')).read()
    table = text[text.index('| Row | Top-1 (all)'):]
    lines = table.splitlines()[2:]
    rows = lines[:next(i for i, line in enumerate(lines)
                       if not line.startswith('|'))]
    assert len(rows) == 7
    cell = re.compile(r'\d+\.\d–\d+\.\d% \(\d+\.\d%\)')
    for row in rows:
        name, *accuracies, params = [c.strip() for c in row.strip('|')
                                     .split('|')]
        assert len(accuracies) == 2, row
        for value in accuracies:
            assert cell.fullmatch(value), (name, value)
            low, high, median = map(float, re.findall(r'\d+\.\d', value))
            assert low <= median <= high, (name, value)
