"""The benchmarking tools: FLOPs, log curves, model publishing, the demo.

The paper's Kinetics-400 config (configs/aim_vitb_k400.py) is shrunk by
``tools/train.py --shrink`` (the package's one shrinker) to a tiny
architecture on the fixture videos, trained for one epoch on the CPU, and
the tools run on what that produces.
"""
import glob
import hashlib
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import REPO, call_tool, data_options, tool_module
from models.helpers import official_parameter_counts

from mmaction_aim.analysis import (build_model, config_complexity,
                                   model_complexity)

K400 = 'configs/aim_vitb_k400.py'
analyze_logs = tool_module('analysis/analyze_logs.py')
publish_model = tool_module('analysis/publish_model.py')


def shrink_options(dataset: dict, classes: int = 3) -> list:
    """The command line of a CPU trial of a paper config."""
    return ['--shrink', '--cfg-options', *data_options(dataset),
            f'model.cls_head.num_classes={classes}']


# ---------------------------------------------------------------- FLOPs
@pytest.mark.parametrize('config,frames,published', [
    (K400, 8, 202), ('configs/aim_vitb_k400_16f.py', 16, 404),
    ('configs/aim_vitb_k400_32f.py', 32, 808)])
def test_flops_of_the_paper_vitb16(config, frames, published):
    """AIM ViT-B/16: 202 / 404 / 808 GFLOPs per view (MACs), within 1%."""
    r = config_complexity(osp.join(REPO, config))
    assert r['input_shape'] == [1, 3, frames, 224, 224]
    assert abs(r['flops'] / 1e9 - published) / published < 0.01
    # (That the attention matrix products are in the count, whichever ATen
    # operators the model's attention lowers to, is checked exactly against
    # the closed form by test_flops_formula_and_cpu_attention_counted.)
    # Only the temporal embedding (T x 768) grows with the frames.
    trainable, total = official_parameter_counts(
        'official_keys_vit-b16_8f_tadapter1.txt')
    assert r['params'] == total + 768 * (frames - 8)
    assert r['trainable_params'] == trainable + 768 * (frames - 8)


def test_flops_formula_and_cpu_attention_counted():
    """A plain tiny ViT: the count equals the closed form, on the meta device
    and on real CPU tensors (where attention runs as one fused kernel)."""
    cfg = Config.fromfile(osp.join(REPO, K400))
    cfg.model.backbone.update(
        image_model=dict(type='CLIPViT', input_resolution=64,
                         arch=dict(patch_size=16, width=64, layers=2,
                                   heads=4)),
        num_frames=2, adapters=(), temporal_embedding=False)
    cfg.model.cls_head.update(in_channels=64, num_classes=10)
    t, d, p, layers = 2, 64, 16, 2
    n = (64 // p) ** 2 + 1
    expected = t * (
        (n - 1) * d * 3 * p * p  # conv1
        + layers * (12 * n * d * d + 2 * n * n * d)  # blocks
        + 5 * n * d * (2 * layers + 1) + 5 * d  # LayerNorms (fvcore)
    ) + d * 10  # head
    meta = model_complexity(build_model(cfg, 'meta'), (t, 64, 64))
    cpu = model_complexity(build_model(cfg, 'cpu'),
                                (t, 64, 64), device='cpu')
    assert meta['flops'] == expected
    assert cpu['flops'] == expected


def test_get_flops_command_line():
    # --shape rebuilds the model for that many frames.
    proc = call_tool(['analysis/get_flops.py', K400, '--json', '--shape',
                      '16', '224', '224'])
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result['input_shape'] == [1, 3, 16, 224, 224]
    assert abs(result['flops'] / 1e9 - 404) < 4.04


@pytest.mark.parametrize('config,size,family', [
    ('configs/aim_swinb_k400_32f.py', 224, 'TimmSwin'),
    ('configs/aim_dinov2-vitb14_k400.py', 224, 'TimmViT')])
def test_sizes_come_from_the_built_model(config, size, family):
    """No fallbacks: the frame size and the benchmark's reference width are
    the built model's (before 0.2 the benchmark took ViT-B/16's width for
    any config without ``arch``, so the Swin-B row was measured against the
    wrong reference; flops.py fell back to 224 px)."""
    from mmaction_aim.analysis.benchmark import reference_width
    from mmaction_aim.analysis.flops import default_input_shape
    cfg = Config.fromfile(osp.join(REPO, config))
    model = build_model(cfg, device='meta')
    assert model.backbone.image_model_cfg['type'] == family
    frames = cfg.model.backbone.num_frames
    assert default_input_shape(model) == (frames, size, size)
    # Swin-B: 18 of its 24 blocks are 512 wide; ViT-B: 768.
    assert reference_width(model) == (512 if family == 'TimmSwin' else 768)
    # --shape at another size rebuilds the model for it (the family says
    # how), e.g. DINOv2 at 112 px.
    r = config_complexity(osp.join(REPO, config), shape=(frames, 112, 112))
    assert r['input_shape'] == [1, 3, frames, 112, 112]


def test_build_model_honours_an_enclosing_device():
    """Before 0.2 build_model(device='cpu') by default overrode an
    enclosing ``torch.device('meta')`` and built ViT-L for real."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'aim_vitl_k400.py'))
    with torch.device('meta'):
        model = build_model(cfg)
    assert next(model.parameters()).device.type == 'meta'
    assert next(build_model(cfg, device='meta').parameters()).is_meta


# ------------------------------------------------- training and its tools
@pytest.fixture(scope='module')
def trained(video_dataset, tmp_path_factory):
    """One CPU epoch of the shrunk paper config (tools/train.py --shrink; the
    launch scripts are tested with two processes in
    test_tools_train_test.py)."""
    work_dir = str(tmp_path_factory.mktemp('work'))
    call_tool(['train.py', K400, '--work-dir', work_dir,
               *shrink_options(video_dataset)])
    checkpoints = glob.glob(osp.join(work_dir, 'epoch_1.pth'))
    logs = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    assert checkpoints and logs, work_dir
    return dict(work_dir=work_dir, checkpoint=checkpoints[0], log=logs[0],
                config=osp.join(work_dir, 'aim_vitb_k400.py'),
                dataset=video_dataset)


def test_analyze_logs_plots(trained, tmp_path):
    train, val = analyze_logs.load_scalars(trained['log'])
    assert {'loss', 'lr'} <= set(train) and 'acc/top1' in val
    outs = analyze_logs.plot_curve([trained['log']], out_dir=str(tmp_path))
    assert sorted(osp.basename(o) for o in outs) == [
        'accuracy.png', 'loss.png', 'lr.png']
    for out in outs:
        with open(out, 'rb') as f:
            assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    proc = call_tool(['analysis/analyze_logs.py', 'plot_curve',
                      trained['log'], '--keys', 'loss_cls', '--out',
                      str(tmp_path / 'l.png')])
    assert osp.isfile(tmp_path / 'l.png'), proc.stdout
    assert analyze_logs.cal_train_time(trained['log'])['mean'] > 0


def test_analyze_logs_reads_mmengine_lines(tmp_path):
    log = tmp_path / 'scalars.json'
    log.write_text(
        '{"lr": 3e-05, "data_time": 0.1, "loss": 1.1, "loss_cls": 1.1, '
        '"top1_acc": 0.5, "time": 0.5, "epoch": 1, "iter": 1, "memory": 1, '
        '"step": 1}\n'
        '{"lr": 6e-05, "loss": 0.9, "loss_cls": 0.9, "time": 0.4, '
        '"epoch": 1, "iter": 2, "step": 2}\n'
        '{"acc/top1": 0.25, "acc/top5": 1.0, "acc/mean1": 0.2, '
        '"data_time": 0.1, "time": 0.2, "step": 1}\n'
        '{"lr": 5e-05, "loss": 0.8, "epoch": 2, "iter": 3, "step": 3}\n'
        '{"lr": 4e-05, "loss": 0.7, "epoch": 2, "iter": 4, "step": 4}\n'
        '{"acc/top1": 0.5, "acc/top5": 1.0, "acc/mean1": 0.4, "step": 2}\n')
    train, val = analyze_logs.load_scalars(str(log))
    assert train['loss'] == ([1.0, 2.0, 3.0, 4.0], [1.1, 0.9, 0.8, 0.7])
    # Validation after epochs 1 and 2 of 2 iterations: iterations 2 and 4.
    assert val['acc/top1'] == ([2.0, 4.0], [0.25, 0.5])
    assert 'lr' not in val
    # 12 iterations per epoch, logged at 5, 10 (epoch 1), 15, 20, 24
    # (epoch 2, whose last iteration is logged): 12.
    assert analyze_logs.iterations_per_epoch([(1, 5), (1, 10), (2, 15),
                                              (2, 20), (2, 24)]) == 12


def _image_model_and_config(trained, tmp_path):
    """The trained run's image model as a file of its own (CLIP's names),
    and a copy of its config that names it: adapters published from a
    --shrink run (pretrained=None) could never be merged, and are
    refused."""
    full = torch.load(trained['checkpoint'], map_location='cpu',
                      weights_only=False)['state_dict']
    image_model = str(tmp_path / 'image_model.pth')
    prefix = 'backbone.image_model.'
    torch.save({k[len(prefix):]: v for k, v in full.items()
                if k.startswith(prefix) and 'adapter' not in k},
               image_model)
    cfg = Config.fromfile(trained['config'])
    cfg.model.backbone.pretrained = image_model
    config = str(tmp_path / 'with_image_model.py')
    cfg.dump(config)
    return image_model, config


def test_publish_model(trained, tmp_path):
    full = publish_model.publish(trained['checkpoint'],
                                 str(tmp_path / 'aim.pth'))
    ckpt = torch.load(full, map_location='cpu', weights_only=False)
    assert set(ckpt) == {'state_dict', 'meta'}
    sha = hashlib.sha256(open(full, 'rb').read()).hexdigest()
    assert osp.basename(full) == f'aim-{sha[:8]}.pth'

    _, config = _image_model_and_config(trained, tmp_path)
    proc = call_tool(['analysis/publish_model.py', trained['checkpoint'],
                      str(tmp_path / 'adapters.pth'), '--adapter-only',
                      '--config', config])
    [small] = glob.glob(str(tmp_path / 'adapters-*.pth'))
    assert small in proc.stdout
    state = torch.load(small, map_location='cpu',
                       weights_only=False)['state_dict']
    assert state and set(state) < set(ckpt['state_dict'])
    assert any('adapter' in k for k in state)
    assert 'cls_head.fc_cls.weight' in state
    assert 'backbone.temporal_embedding' in state
    assert not any(k.startswith('backbone.image_model.conv1') or
                   '.attn.' in k for k in state)
    for key, value in state.items():
        assert torch.equal(value, ckpt['state_dict'][key])


def test_demo_top5(trained):
    video = osp.join(trained['dataset']['videos'], 'val_c1_0.mp4')
    label_map = osp.join(trained['work_dir'], 'labels.txt')
    with open(label_map, 'w') as f:
        f.write('red square\ngreen square\nblue square\n')
    proc = call_tool(['demo.py', video, trained['config'],
                      trained['checkpoint'], '--label-map', label_map,
                      '--device', 'cpu'])
    lines = proc.stdout.strip().splitlines()
    rows = [line.rsplit(': ', 1) for line in lines[-3:]]
    assert lines[-4].startswith('Top-3')
    assert sorted(name for name, _ in rows) == [
        'blue square', 'green square', 'red square']
    scores = [float(s) for _, s in rows]
    assert scores == sorted(scores, reverse=True)
    assert abs(sum(scores) - 1) < 1e-3  # probabilities averaged over clips


def test_finetune_from_the_k400_checkpoint(trained, tmp_path):
    """The UCF101 config starts from a Kinetics-400 AIM checkpoint through
    load_from, with a new head of its own class count."""
    work_dir = str(tmp_path / 'ft')
    call_tool(['train.py', 'configs/aim_vitb_k400-pre_ucf101.py',
               '--work-dir', work_dir,
               *shrink_options(trained['dataset'], classes=5),
               f'load_from={trained["checkpoint"]}'])
    k400 = torch.load(trained['checkpoint'], map_location='cpu',
                      weights_only=False)['state_dict']
    ucf = torch.load(osp.join(work_dir, 'epoch_1.pth'), map_location='cpu',
                     weights_only=False)['state_dict']
    assert ucf['cls_head.fc_cls.weight'].shape == (5, 32)
    # The frozen image model is the Kinetics one (pretrained=None: without
    # load_from it would be a fresh random initialisation).
    for key in ('backbone.image_model.conv1.weight',
                'backbone.image_model.positional_embedding',
                'backbone.image_model.transformer.resblocks.1.attn.'
                'in_proj_weight'):
        assert torch.equal(ucf[key], k400[key]), key


def test_adapter_only_checkpoint_predicts_like_the_full_one(trained,
                                                            tmp_path):
    """publish_model --adapter-only + the image model = the full model."""
    demo = tool_module('demo.py')
    image_model, config = _image_model_and_config(trained, tmp_path)
    small = publish_model.publish(trained['checkpoint'],
                                  str(tmp_path / 'adapters.pth'),
                                  adapter=True, config=config)
    video = osp.join(trained['dataset']['videos'], 'val_c0_0.mp4')
    opts = {'model.backbone.pretrained': image_model}
    from_full = demo.recognize(video, trained['config'],
                               trained['checkpoint'], topk=3,
                               cfg_options=opts)
    from_small = demo.recognize(video, trained['config'], small, topk=3,
                                cfg_options=opts)
    assert [label for label, _ in from_full] == \
        [label for label, _ in from_small]
    for (_, a), (_, b) in zip(from_full, from_small, strict=True):
        assert abs(a - b) < 1e-6


def test_flops_same_on_cpu_and_meta_with_every_adapter():
    """The temporal attention is counted whether it runs as decomposed
    matrix products (meta) or as a fused CPU kernel."""
    cfg = Config.fromfile(osp.join(REPO, 'configs/aim_vitb_ssv2.py'))
    cfg.model.backbone.update(
        image_model=dict(type='CLIPViT', input_resolution=64,
                         arch=dict(patch_size=16, width=64, layers=2,
                                   heads=4)), num_frames=4)
    cfg.model.cls_head.update(in_channels=64, num_classes=10)
    meta = model_complexity(build_model(cfg, 'meta'), (4, 64, 64))
    cpu = model_complexity(build_model(cfg, 'cpu'),
                                (4, 64, 64), device='cpu')
    assert meta['flops'] == cpu['flops']
    # Temporal attention over T=4 tokens for each of the N=17 positions.
    t, n, d = 4, 17, 64
    assert meta['flops'] > 2 * 2 * (2 * t * t * d * n)
