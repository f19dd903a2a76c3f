"""What only a GPU exercises: mixed-precision training steps through
MMEngine's AmpOptimWrapper, the fused attention kernel in the temporal
layout, and the benchmark's largest-batch search. Marked ``cuda``: skipped,
with the reason, on a machine without one."""
import json
import os.path as osp

import pytest
import torch

from conftest import REPO, run_tool
from models.helpers import RecordedOps, build_recognizer

pytestmark = pytest.mark.cuda


@pytest.mark.parametrize('dtype', ['bfloat16', 'float16'])
def test_amp_training_steps(dtype):
    """A few AmpOptimWrapper steps: finite losses, only the adaptation and
    the head change, every one of them gets a gradient."""
    from mmengine.optim import AmpOptimWrapper

    from mmaction.structures import ActionDataSample
    torch.manual_seed(0)
    model = build_recognizer(input_resolution=32, num_frames=4).cuda()
    model.train()
    wrapper = AmpOptimWrapper(
        optimizer=torch.optim.AdamW(
            [p for p in model.parameters() if p.requires_grad], lr=1e-3),
        dtype=dtype, loss_scale='dynamic')
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    inputs = torch.randn(2, 1, 3, 4, 32, 32, device='cuda')
    samples = [ActionDataSample().set_gt_label(i % 5) for i in range(2)]
    losses = []
    for _ in range(3):
        with wrapper.optim_context(model):
            loss = model(inputs, samples, mode='loss')['loss_cls']
        wrapper.update_params(loss)
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses)))
    for name, param in model.named_parameters():
        changed = not torch.equal(param, before[name])
        assert changed == param.requires_grad, name


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_temporal_attention_runs_the_fused_kernel_on_cuda(dtype):
    """Attention along the time axis of ``[B, N, T, D]`` tokens equals the
    reference computation and runs PyTorch's fused kernel."""
    import torch.nn.functional as F

    from mmaction_aim.models.layers import CLIPAttention
    torch.manual_seed(0)
    attn = CLIPAttention(64, 4).cuda().to(dtype)
    x = torch.randn(2, 17, 8, 64, device='cuda', dtype=dtype)  # B, N, T, D
    flat = x.flatten(0, 1).transpose(0, 1)  # T, B*N, D
    ref = F.multi_head_attention_forward(
        flat, flat, flat, 64, 4, attn.in_proj_weight, attn.in_proj_bias,
        None, None, False, 0., attn.out_proj.weight, attn.out_proj.bias,
        need_weights=False)[0].transpose(0, 1).reshape(x.shape)

    with torch.no_grad(), RecordedOps() as ops:
        out = attn(x, seq_dim=2)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == torch.float32 else dict(
        rtol=2e-2, atol=2e-2)
    torch.testing.assert_close(out, ref, **tol)
    assert any('scaled_dot_product' in op for op in ops.ops), ops.ops


def test_benchmark_finds_the_largest_training_batch(tmp_path):
    out = tmp_path / 'bench.json'
    options = ['model.backbone.arch._delete_=True',
               'model.backbone.arch.patch_size=16',
               'model.backbone.arch.width=64', 'model.backbone.arch.layers=2',
               'model.backbone.arch.heads=2', 'model.backbone.num_frames=2',
               'model.backbone.input_resolution=32',
               'model.cls_head.in_channels=64']
    run_tool(['analysis/benchmark.py',
              osp.join(REPO, 'configs', 'aim_vitb_k400.py'), '--device',
              'cuda', '--variants', 'aim', '--modes', 'train', '--repeats',
              '1', '--warmup', '0', '--batch-size', '256', '--max-batch',
              '--out', str(out), '--cfg-options', *options], timeout=600)
    report = json.loads(out.read_text())
    assert report['max_batch']['aim'] >= 256


def test_torchcodec_nvdec_gives_the_cpu_frames(codec_videos):
    """NVDEC through torchcodec (device='cuda'): the frames of the CPU
    decoder, up to the colour conversion's rounding."""
    import numpy as np
    from mmengine.registry import init_default_scope

    from mmaction.registry import TRANSFORMS
    from mmaction_aim.datasets.transforms import torchcodec_problem
    if torchcodec_problem():
        pytest.skip(torchcodec_problem())
    path, _ = codec_videos['h264']
    init_default_scope('mmaction')
    frames = {}
    for device in ('cpu', 'cuda'):
        results = TRANSFORMS.build(dict(type='TorchCodecInit',
                                        device=device))(dict(filename=path))
        results['frame_inds'] = np.array([0, 9, 21, 33])
        frames[device] = np.stack(TRANSFORMS.build(
            dict(type='TorchCodecDecode'))(results)['imgs']).astype(int)
    assert np.abs(frames['cpu'] - frames['cuda']).mean() < 2
