"""Mixed precision as Ampere and Hopper users run it, checked on every run
of the suite: each family's training step under CPU autocast in bfloat16
and float16, loss and gradients against float32."""
import os.path as osp

import pytest
import torch

from conftest import REPO, load_config
from mmaction.structures import ActionDataSample
from mmaction_aim.analysis import build_model
from mmaction_aim.engine.shrink import shrink_config

#: One config of every family (the shrunk paper configs).
CONFIGS = {
    'CLIPViT': 'configs/aim_vitb_k400.py',
    'TimmViT': 'configs/aim_vitb-in21k_ssv2.py',
    'TimmEva': 'configs/aim_eva02-vitb16_k400.py',
    'TimmSwin': 'configs/aim_swinb_k400_32f.py',
    'TimmBeit': 'configs/aim_beit-vitb16_k400.py',
}

#: Tolerances, relative to float32, of the loss and of each parameter's
#: gradient (norm of the difference over the norm). bfloat16 keeps 8 bits
#: of mantissa (rounding 2^-9 = 0.2% per value), float16 11 bits (0.02%).
#: Measured here (2 tiny blocks per family, 2 clips): bfloat16 loss <= 9e-5,
#: gradients <= 1.5e-2 (EVA's spatial adapter); float16 loss <= 7e-6,
#: gradients <= 2.2e-3. The bounds leave about 3x room.
TOLERANCE = {torch.bfloat16: dict(loss=1e-3, grad=4e-2),
             torch.float16: dict(loss=1e-4, grad=1e-2)}


def _model_and_batch(family):
    cfg = load_config(osp.join(REPO, CONFIGS[family]))
    shrink_config(cfg, num_classes=5)
    cfg.model.backbone.drop_path_rate = 0.
    cfg.model.cls_head.dropout_ratio = 0.
    torch.manual_seed(0)
    model = build_model(cfg, init=True).train()
    size = model.backbone.input_size
    frames = cfg.model.backbone.num_frames
    inputs = torch.randn(2, 1, 3, frames, size, size) * 0.5  # [B, V, ...]
    samples = [ActionDataSample().set_gt_label(torch.tensor([label]))
               for label in (1, 3)]
    return model, inputs, samples


#: float16 training scales the loss (MMEngine's AmpOptimWrapper, whose
#: dynamic scale starts at 2^16 and halves on overflow, as it does here for
#: EVA) so that small gradients do not underflow: a fixed 2^10 here;
#: bfloat16 has float32's range and needs none.
LOSS_SCALE = {torch.float16: 2.**10}


def _step(model, inputs, samples, dtype=None):
    model.zero_grad()
    with torch.autocast('cpu', dtype=dtype or torch.float32,
                        enabled=dtype is not None):
        feats, _ = model.extract_feat(inputs)
        losses = model.cls_head.loss(feats, samples)
    scale = LOSS_SCALE.get(dtype, 1.)
    (losses['loss_cls'] * scale).backward()
    grads = {n: p.grad.detach().float() / scale
             for n, p in model.named_parameters() if p.grad is not None}
    return losses, grads


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16],
                         ids=['bf16', 'fp16'])
@pytest.mark.parametrize('family', sorted(CONFIGS))
def test_a_training_step_under_autocast(family, dtype):
    """Before: bfloat16 failed at the first loss in every family (the head's
    accuracy called .numpy() on bfloat16 scores)."""
    model, inputs, samples = _model_and_batch(family)
    reference, expected = _step(model, inputs, samples)
    losses, grads = _step(model, inputs, samples, dtype)
    tolerance = TOLERANCE[dtype]
    assert losses['loss_cls'].dtype == torch.float32
    assert abs(losses['loss_cls'].item() - reference['loss_cls'].item()) <= \
        tolerance['loss'] * reference['loss_cls'].item()
    assert set(grads) == set(expected) and grads
    for name, grad in expected.items():
        error = (grads[name] - grad).norm() / grad.norm().clamp_min(1e-12)
        assert error <= tolerance['grad'], (name, float(error))
    assert 'top1_acc' in losses
