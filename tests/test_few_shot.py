"""Few labels: K-shot lists drawn reproducibly, the few-shot configs, and the
frozen image-text model evaluated before training (``tools/test.py
--zero-shot``, ``ZeroShotValHook``) on real videos."""
import glob
import os.path as osp
import pickle
import random

import pytest
import torch
from mmengine.config import Config

import mmaction_aim  # noqa: F401  (registrations)
from conftest import (NUM_CLASSES, REPO, TINY_CONFIG, call_tool,
                      data_options, refused, tool_module, val_records)
from mmaction_aim.datasets import read_video_list
from mmaction_aim.engine import check_zero_shot_model
from mmaction_aim.utils.errors import BadInputError

open_clip = pytest.importorskip('open_clip')

DRAW = 'data/draw_few_shot.py'


# ------------------------------------------------------------ the lists
def _full_list(path, per_class=(5, 3, 9, 6), shuffle_seed=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f'c{label}/v{i}.mp4 {label}'
             for label, count in enumerate(per_class) for i in range(count)]
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(lines)
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def _kept(path):
    return [(e.filename, e.label) for e in read_video_list(path)]


def test_draw_is_reproducible_nested_and_per_class(tmp_path):
    full = _full_list(tmp_path / 'train.txt')
    out = tmp_path / 'few'
    call_tool([DRAW, full, '--shots', '2', '3', '--seed', '0', '--out-dir',
               str(out)])
    k2 = _kept(out / 'train_k2_seed0.txt')
    k3 = _kept(out / 'train_k3_seed0.txt')
    for kept, k in ((k2, 2), (k3, 3)):
        assert sorted(label for _, label in kept) == \
            sorted(list(range(4)) * k)
    assert set(k2) <= set(k3)  # a seed's smaller K within its larger
    # The same list and seed, in another line order: the same clips (each
    # list in its file's order); drawing again into place changes nothing.
    shuffled = _full_list(tmp_path / 'sub' / 'train.txt', shuffle_seed=3)
    call_tool([DRAW, shuffled, '--shots', '2', '--out-dir', str(tmp_path)])
    assert set(_kept(tmp_path / 'train_k2_seed0.txt')) == set(k2)
    call_tool([DRAW, full, '--shots', '2', '--out-dir', str(out)])
    assert _kept(out / 'train_k2_seed0.txt') == k2
    # Another seed, other clips; the lists are what VideoDataset reads.
    call_tool([DRAW, full, '--shots', '2', '--seed', '1', '--out-dir',
               str(out)])
    assert set(_kept(out / 'train_k2_seed1.txt')) != set(k2)
    from mmaction.datasets import VideoDataset
    dataset = VideoDataset(ann_file=str(out / 'train_k2_seed1.txt'),
                           pipeline=[], data_prefix=dict(video='v'))
    assert len(dataset) == 8


def test_draw_refuses_what_it_cannot_draw(tmp_path):
    full = _full_list(tmp_path / 'train.txt', per_class=(5, 3, 2, 6))
    out = str(tmp_path / 'few')
    proc = call_tool([DRAW, full, '--shots', '4', '--out-dir', out],
                     check=False)
    refused(proc, 1, 'K=4', 'label 1 (3)', 'label 2 (2)', '--allow-fewer')
    assert 'label 0' not in proc.stderr and not osp.exists(out)
    proc = call_tool([DRAW, full, '--shots', '4', '--out-dir', out,
                      '--allow-fewer'])
    assert 'labels [1, 2]' in proc.stdout
    assert len(_kept(osp.join(out, 'train_k4_seed0.txt'))) == 4 + 3 + 2 + 4
    bad = tmp_path / 'bad.txt'
    bad.write_text('a.mp4 0\nb.mp4\nc.mp4 x\nd.mp4 1 2\n')
    proc = call_tool([DRAW, str(bad), '--shots', '1', '--out-dir', out],
                     check=False)
    assert proc.returncode == 1
    for line in ('line 2: no label', 'line 3: label', 'line 4: 3 columns'):
        assert line in proc.stderr, proc.stderr
    bad.write_text('a.mp4 0\nb.mp4 -1\n')
    refused(call_tool([DRAW, str(bad), '--shots', '1', '--out-dir', out],
                      check=False), 1, 'line 2: label -1 is negative')
    # A different list under a drawn list's name is not overwritten.
    other = _full_list(tmp_path / 'x' / 'train.txt', per_class=(4, 4, 4, 4))
    refused(call_tool([DRAW, other, '--shots', '4', '--out-dir', out],
                      check=False), 1, 'exists with other lines')
    proc = call_tool([DRAW, full, '--shots', '2', '2', '--out-dir', out],
                     check=False)
    assert proc.returncode == 2 and 'names a K twice' in proc.stderr
    # A video listed twice would be one clip kept twice.
    twice = tmp_path / 'twice.txt'
    twice.write_text(open(full).read() * 2)
    refused(call_tool([DRAW, str(twice), '--shots', '1', '--out-dir', out],
                      check=False), 1, 'more than once', 'c0/v0.mp4 on lines')
    binary = tmp_path / 'binary.txt'
    binary.write_bytes(bytes(range(256)))
    refused(call_tool([DRAW, str(binary), '--shots', '1', '--out-dir', out],
                      check=False), 1, 'is not a text file')


def test_draw_takes_shots_given_twice_and_names_labels_without_clips(
        tmp_path):
    gap = tmp_path / 'gap.txt'
    gap.write_text('a.mp4 0\nb.mp4 0\nc.mp4 3\nd.mp4 3\n')
    out = tmp_path / 'few'
    proc = call_tool([DRAW, str(gap), '--shots', '1', '--shots', '2',
                      '--out-dir', str(out)])
    assert (out / 'gap_k1_seed0.txt').is_file()
    assert (out / 'gap_k2_seed0.txt').is_file()
    assert 'labels without a clip' in proc.stdout and '[1, 2]' in proc.stdout


# ---------------------------------------------------------- the configs
FEW_SHOT = sorted(glob.glob(osp.join(REPO, 'configs', 'few_shot',
                                     'aim_vitb_*_k*_*.py')))
DATASETS = {'ucf101': (101, 'ucf101_train_split_1_videos'),
            'hmdb51': (51, 'hmdb51_train_split_1_videos')}


def test_few_shot_configs_are_every_k_dataset_and_head():
    names = {osp.basename(p) for p in FEW_SHOT}
    assert names == {f'aim_vitb_{d}_k{k}_{h}.py' for d in DATASETS
                     for k in (2, 4, 8, 16) for h in ('text', 'random')}


@pytest.mark.parametrize('path', [p for p in FEW_SHOT if 'text' in p],
                         ids=osp.basename)
def test_text_and_random_configs_differ_only_in_the_head(path):
    """The ablation changes the head (and drops the zero-shot row), nothing
    else; each reads the list the draw tool writes for its K; the text head
    names its dataset's label map and count and goes with the backbone."""
    draw = tool_module(DRAW)
    name = osp.basename(path)
    dataset, k = name.split('_')[2], int(name.split('_k')[1].split('_')[0])
    classes, stem = DATASETS[dataset]
    text = Config.fromfile(path)
    random_head = Config.fromfile(path.replace('_text.py', '_random.py'))
    head = text.model.cls_head
    assert head.type == 'AIMTextHead' and head.num_classes == classes
    assert head.class_names == f'data/{dataset}/label_map_{dataset}.txt'
    assert head.text_weights == text.model.backbone.pretrained == \
        'checkpoints/clip/ViT-B-16.pt'
    check_zero_shot_model(text.model, 'the test')
    assert [h.type for h in text.custom_hooks] == ['ZeroShotValHook']
    assert text.train_dataloader.dataset.ann_file == draw.out_path(
        f'data/{dataset}/{stem}.txt', f'data/{dataset}/few_shot', k, 0)
    assert random_head.model.cls_head.type == 'AIMHead'
    assert random_head.model.cls_head.num_classes == classes
    assert random_head.custom_hooks == []
    a, b = text.to_dict(), random_head.to_dict()
    for cfg in (a, b):
        cfg['model'].pop('cls_head')
        cfg.pop('custom_hooks')
        cfg.pop('random_head')  # the ablation's head, defined once
    assert a == b
    from mmaction_aim.analysis import build_model
    model = build_model(text, device='meta')
    assert model.cls_head.fc_cls.out_features == classes
    assert model.cls_head.proj.in_features == model.backbone.width


# ----------------------------------------- the zero-shot row, end to end
def _tiny_text_config(tmp_path):
    """TINY_CONFIG's recognizer with a text head, on a random tiny CLIP
    written as open_clip writes it; the config's path and the CLIP."""
    torch.manual_seed(0)
    clip = open_clip.model.CLIP(
        embed_dim=16, quick_gelu=True,
        vision_cfg=dict(layers=2, width=32, head_width=16, patch_size=8,
                        image_size=32),
        text_cfg=dict(context_length=16, vocab_size=49408, width=32,
                      heads=2, layers=2)).eval()
    with torch.no_grad():
        clip.logit_scale.fill_(3.)
    weights = str(tmp_path / 'tiny_clip.pt')
    torch.save(clip.state_dict(), weights)
    labels = tmp_path / 'label_map.txt'
    labels.write_text('red square\ngreen square\nblue square\n')
    text_model = dict(embed_dim=16, quick_gelu=True,
                      vision_cfg=dict(layers=2, width=32, head_width=16,
                                      patch_size=8, image_size=32),
                      text_cfg=dict(context_length=16, vocab_size=49408,
                                    width=32, heads=2, layers=2))
    path = tmp_path / 'tiny_text.py'
    path.write_text(
        f'_base_ = [{TINY_CONFIG!r}]\n'
        f'model = dict(backbone=dict(pretrained={weights!r}),\n'
        f'    cls_head=dict(_delete_=True, type="AIMTextHead",\n'
        f'        num_classes={NUM_CLASSES}, in_channels=32,\n'
        f'        text_model={text_model!r}, text_weights={weights!r},\n'
        f'        class_names={str(labels)!r}, average_clips="prob"))\n'
        f'custom_hooks = [dict(type="ZeroShotValHook")]\n'
        # As the shipped configs: the zero-shot model is epoch 0's
        # candidate for the best checkpoint.
        'default_hooks = dict(checkpoint=dict(save_best="auto"))\n'
        'train_cfg = dict(max_epochs=1)\n')
    return str(path), clip


def _reference_scores(config, clip, dataset):
    """open_clip's zero-shot probabilities of the test videos (the
    config's own test pipeline), frame scores averaged."""
    from open_clip.zero_shot_classifier import build_zero_shot_classifier

    from mmaction.registry import DATASETS
    from mmaction_aim.models.text import KINETICS_TEMPLATES
    cfg = Config.fromfile(config)
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg.ann_file, ds_cfg.data_prefix = dataset['val'], dict(
        video=dataset['videos'])
    test_set = DATASETS.build(ds_cfg)
    tokenizer = open_clip.get_tokenizer('ViT-B-16-quickgelu',
                                        context_length=16)
    with torch.no_grad():
        classifier = build_zero_shot_classifier(
            clip, tokenizer, ['red square', 'green square', 'blue square'],
            KINETICS_TEMPLATES, device='cpu', use_tqdm=False)
        scores = []
        for i in range(len(test_set)):
            clips = test_set[i]['inputs'].float()  # [V, 3, T, H, W]
            clips = (clips - 127.5) / 64.  # the config's normalisation
            frames = clips.transpose(1, 2).flatten(0, 1)
            image = clip.encode_image(frames, normalize=True)
            logits = clip.logit_scale.exp() * image @ classifier
            view = logits.view(clips.shape[0], -1, NUM_CLASSES).mean(1)
            scores.append(view.softmax(-1).mean(0))
    return torch.stack(scores)


def test_zero_shot_test_is_the_image_text_models_zero_shot(video_dataset,
                                                           tmp_path):
    config, clip = _tiny_text_config(tmp_path)
    dump = str(tmp_path / 'zero_shot.pkl')
    proc = call_tool(['test.py', config, '--zero-shot', '--work-dir',
                      str(tmp_path / 'test'), '--dump', dump,
                      '--cfg-options', *data_options(video_dataset)])
    log = proc.stdout + proc.stderr
    assert 'ZeroShotTestHook: testing the model as initialised' in log
    assert 'AIMTextHead: classifier from the text embeddings of 3 class ' \
        'names x 8 templates' in log
    with open(dump, 'rb') as f:
        preds = pickle.load(f)  # our own file, written just now
    ours = torch.stack([torch.as_tensor(p['pred_score']) for p in preds])
    reference = _reference_scores(config, clip, video_dataset)
    assert (ours - reference).abs().max() <= 1e-5
    assert reference.std() > 1e-3


def test_zero_shot_refusals(tmp_path):
    proc = call_tool(['test.py', TINY_CONFIG, 'ckpt.pth', '--zero-shot'],
                     check=False)
    assert proc.returncode == 2 and 'give no checkpoint' in proc.stderr
    proc = call_tool(['test.py', TINY_CONFIG], check=False)
    assert proc.returncode == 2 and '--zero-shot' in proc.stderr
    refused(call_tool(['test.py', TINY_CONFIG, '--zero-shot'], check=False),
            1, '--zero-shot', "'AIMHead'", 'AIMTextHead')
    with pytest.raises(BadInputError, match='ZeroShotValHook'):
        check_zero_shot_model(Config.fromfile(TINY_CONFIG).model,
                              'ZeroShotValHook')


def _val_epochs(work_dir):
    return [(r['step'], r['acc/top1']) for r in val_records(work_dir)]


def test_training_log_starts_with_the_zero_shot_row(video_dataset,
                                                    tmp_path):
    """Epoch 0 of the log is the frozen image-text model's zero-shot
    accuracy (the tiny config validates on its test views)."""
    config, clip = _tiny_text_config(tmp_path)
    work = str(tmp_path / 'train')
    proc = call_tool(['train.py', config, '--work-dir', work,
                      '--cfg-options', *data_options(video_dataset)])
    log = proc.stdout + proc.stderr
    assert 'ZeroShotValHook: validating the model as initialised' in log
    assert log.index('Epoch(val) [0]') < log.index('Epoch(train) [1]')
    epochs = _val_epochs(work)
    assert [step for step, _ in epochs] == [0, 1]
    reference = _reference_scores(config, clip, video_dataset)
    labels = torch.tensor([e.label for e in read_video_list(
        video_dataset['val'])])
    top1 = (reference.argmax(-1) == labels).float().mean().item()
    assert epochs[0][1] == pytest.approx(top1)
    assert glob.glob(osp.join(work, 'best_acc_top1_epoch_*.pth'))


class _Runner:
    """What ZeroShotValHook reads of a runner."""

    def __init__(self, iteration, validates=True):
        import logging
        self.iter = iteration
        self.logger = logging.getLogger('zero-shot-test')
        self.runs = []
        self.val_loop = type('Loop', (), dict(
            run=lambda loop: self.runs.append(iteration)))() \
            if validates else None


def test_the_zero_shot_row_is_not_repeated_when_resuming():
    from mmaction_aim.engine import ZeroShotValHook
    hook = ZeroShotValHook()
    fresh, resumed, silent = _Runner(0), _Runner(12), _Runner(0, False)
    for runner in (fresh, resumed, silent):
        hook.before_train(runner)
    assert (fresh.runs, resumed.runs) == ([0], [])


def test_shrink_gives_a_text_config_aims_own_head():
    """--shrink drops pre-trained weights: the text start too (the tiny
    image model is no image-text model), and the zero-shot row with it."""
    from mmaction_aim.engine.shrink import shrink_config
    from mmaction_aim.analysis import build_model
    cfg = Config.fromfile(osp.join(
        REPO, 'configs/few_shot/aim_vitb_ucf101_k4_text.py'))
    changed = shrink_config(cfg)
    head = cfg.model.cls_head
    assert head.type == 'AIMHead' and head.num_classes == 101
    assert head.in_channels == 32 and not {
        'text_model', 'text_weights', 'class_names'} & set(head)
    assert cfg.custom_hooks == []
    assert any(c.startswith('model.cls_head=') for c in changed)
    model = build_model(cfg, device='meta')
    assert model.cls_head.fc_cls.in_features == model.backbone.width == 32
    proc = call_tool(['test.py', osp.join(
        REPO, 'configs/few_shot/aim_vitb_ucf101_k4_text.py'), '--zero-shot',
        '--shrink'], check=False)
    assert proc.returncode == 2 and 'tiny random one' in proc.stderr


def test_measurement_builds_read_no_text_file():
    """Analysis builds (FLOPs, benchmarks) read no weights: nor the text
    tower's file."""
    from mmaction_aim.analysis import build_model
    cfg = Config.fromfile(osp.join(
        REPO, 'configs/few_shot/aim_vitb_hmdb51_k2_text.py'))
    assert not osp.exists(cfg.model.cls_head.text_weights)
    model = build_model(cfg, init=True)  # no FileNotFoundError
    assert model.cls_head.text_weights is None


def test_zero_shot_refuses_random_weights(tmp_path):
    """No text file, or no image-model file: the scores would be of random
    weights, not the image-text model's (a training run's
    ZeroShotValHook refuses alike)."""
    config, _ = _tiny_text_config(tmp_path)
    for field in ('model.cls_head.text_weights',
                  'model.backbone.pretrained'):
        refused(call_tool(['test.py', config, '--zero-shot',
                           '--cfg-options', f'{field}=None'], check=False),
                1, '--zero-shot evaluates the released image-text model',
                field, 'random weights')
