"""What trains, what gets gradients, and what the recognizer adds."""
import logging

import pytest
import torch
from mmengine.logging import MMLogger

from mmaction_aim.models.utils import count_parameters
from .helpers import (TINY_ARCH, TINY_FAMILIES, build_recognizer, clips,
                      clip_backbone, official_parameter_counts,
                      randomise_adapters, saved_bytes_of_forward)


def test_default_freezing_is_structural_and_survives_train():
    model = build_recognizer()
    model.train()
    model.eval()
    model.train()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    for name in trainable:
        assert ('adapter' in name or name.startswith('cls_head.')
                or name in ('backbone.temporal_embedding',
                            'backbone.image_model.ln_post.weight',
                            'backbone.image_model.ln_post.bias')), name
    adapters = {n for n, _ in model.named_parameters() if 'adapter' in n}
    assert adapters and adapters <= trainable
    assert 'backbone.image_model.ln_post.weight' in trainable
    assert 'backbone.image_model.transformer.resblocks.0.attn.' \
        'in_proj_weight' not in trainable
    assert 'backbone.image_model.conv1.weight' not in trainable


def test_optimiser_steps_change_only_trainable_parameters():
    model = build_recognizer(backbone_extra=dict(drop_path_rate=0.1))
    model.init_weights()
    model.train()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=1e-2,
        weight_decay=0.05)
    inputs = clips()
    labels = torch.tensor([1, 3])
    for step in range(3):
        optimizer.zero_grad()
        scores = model(inputs, mode='tensor', stage='head')
        loss = torch.nn.functional.cross_entropy(scores, labels)
        loss.backward()
        for name, param in model.named_parameters():
            if not param.requires_grad:
                assert param.grad is None, name
            elif step == 2:
                # fc1 of a fresh adapter sees a zero gradient until fc2 has
                # moved away from zero; by the last step everything has one.
                assert param.grad.abs().sum() > 0, name
        optimizer.step()
    for name, param in model.named_parameters():
        changed = not torch.equal(param.detach(), before[name])
        assert changed == param.requires_grad, name


def _train_step_results(backbone_extra, reference):
    """Scores and gradients of one drop-path training forward/backward."""
    model = build_recognizer(
        backbone_extra=dict(drop_path_rate=0.2, **backbone_extra))
    model.load_state_dict(reference.state_dict())
    model.train()
    torch.manual_seed(7)  # the same drop-path masks in every run
    scores = model(clips(), mode='tensor', stage='head')
    scores.square().sum().backward()
    return scores.detach(), {
        n: p.grad.clone()
        for n, p in model.named_parameters() if p.grad is not None
    }


@pytest.mark.parametrize('memory_saving', [
    dict(with_cp=True),
    dict(with_cp=True, recompute_frozen=()),
    dict(recompute_frozen=('spatial', )),
    dict(recompute_frozen=('mlp', )),
    dict(recompute_frozen=('temporal', 'spatial', 'mlp')),
    dict(recompute_frozen=('temporal', 'spatial', 'mlp'), num_tadapter=2),
])
def test_recomputation_gives_identical_outputs_and_gradients(memory_saving):
    """Block checkpointing and the recomputation of frozen parts change
    nothing but memory."""
    extra = dict(num_tadapter=memory_saving.get('num_tadapter', 1))
    reference = build_recognizer(backbone_extra=extra)
    reference.init_weights()
    randomise_adapters(reference)
    out_a, grads_a = _train_step_results(
        dict(recompute_frozen=(), **extra), reference)
    out_b, grads_b = _train_step_results(memory_saving, reference)
    torch.testing.assert_close(out_a, out_b, atol=0, rtol=0)
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name], atol=1e-6,
                                   rtol=1e-5)


@pytest.mark.parametrize('family', ['timm_vit', 'timm_beit', 'timm_swin'])
def test_recomputation_with_dropout_gives_plain_autograd_gradients(family):
    """An image model with attention and projection dropout: the frozen
    parts recomputed in the backward pass draw the forward pass's masks
    again, so the gradients are those of plain autograd (before 0.2 the
    recomputation drew new masks and some gradients were wrong)."""
    image_model, size, frames = TINY_FAMILIES[family]
    dropout = dict(attn_drop_rate=0.3, proj_drop_rate=0.3)
    image_model = dict(image_model, timm_kwargs=dict(
        image_model['timm_kwargs'], **dropout))
    results = []
    for recompute in ((), ('temporal', 'spatial', 'mlp')):
        torch.manual_seed(0)
        from mmaction_aim.models import AIMBackbone
        model = AIMBackbone(image_model, num_frames=frames,
                            recompute_frozen=recompute)
        model.init_weights()
        randomise_adapters(model, temporal_embedding=False)
        model.train()
        x = torch.randn(2, 3, frames, size, size, requires_grad=False)
        torch.manual_seed(7)
        model(x).square().sum().backward()
        results.append({n: p.grad.clone()
                        for n, p in model.named_parameters()
                        if p.grad is not None})
    plain, recomputed = results
    assert plain.keys() == recomputed.keys() and plain
    for name, grad in plain.items():
        torch.testing.assert_close(recomputed[name], grad, atol=1e-6,
                                   rtol=1e-5, msg=name)


def test_recomputing_frozen_parts_keeps_four_token_tensors_less_each():
    batch = clips()
    token_bytes = batch.shape[0] * batch.shape[3] * 5 * 32 * 4  # [B*T,N,D]
    saved = {}
    for parts in ((), ('spatial', ), ('temporal', 'spatial'),
                  ('temporal', 'spatial', 'mlp')):
        torch.manual_seed(0)
        model = build_recognizer(backbone_extra=dict(recompute_frozen=parts))
        saved[parts] = saved_bytes_of_forward(model)
    layers = TINY_ARCH['layers']
    # Per branch and block: q, k, v and the attention output at least.
    assert saved[()] - saved[('spatial', )] >= 4 * token_bytes * layers
    assert saved[('spatial', )] - saved[('temporal', 'spatial')] >= \
        4 * token_bytes * layers
    # c_fc's output: four token tensors per block, exactly.
    assert saved[('temporal', 'spatial')] - saved[
        ('temporal', 'spatial', 'mlp')] == 4 * token_bytes * layers

    # Trained weights keep their activations: no recomputation.
    full = {}
    for branches in ((), ('temporal', 'spatial', 'mlp')):
        torch.manual_seed(0)
        model = build_recognizer(backbone_extra=dict(
            freeze_image_model=False, recompute_frozen=branches))
        full[branches] = saved_bytes_of_forward(model)
    assert full[()] == full[('temporal', 'spatial', 'mlp')]


def test_recomputation_only_where_a_gradient_flows(monkeypatch):
    """No checkpoint for a linear probe (nothing in the blocks needs a
    gradient) or in inference; one per attention branch and block for AIM.
    """
    import torch.utils.checkpoint as cp
    calls = []
    original = cp.checkpoint

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(cp, 'checkpoint', counting)
    probe = build_recognizer(backbone_extra=dict(
        adapters=(), temporal_embedding=False, freeze_ln_post=True))
    probe.train()
    probe(clips(), mode='tensor', stage='head').sum().backward()
    assert not calls
    aim = build_recognizer()
    aim.train()
    with torch.no_grad():
        aim(clips(), mode='tensor', stage='head')
    assert not calls
    aim(clips(), mode='tensor', stage='head').sum().backward()
    assert len(calls) == 2 * TINY_ARCH['layers']


def test_recompute_names_frozen_parts():
    with pytest.raises(ValueError, match='joint'):
        build_recognizer(
            backbone_extra=dict(recompute_frozen=('joint', )))


def test_model_is_the_image_model_at_init():
    """Fresh adapters are exact no-ops: AIM == the plain image encoder."""
    torch.manual_seed(0)
    aim = clip_backbone()
    plain = clip_backbone(adapters=(), temporal_embedding=False)
    plain.load_state_dict(aim.state_dict(), strict=False)
    x = torch.randn(2, 3, 4, 16, 16)
    torch.testing.assert_close(aim.eval()(x), plain.eval()(x))


@pytest.mark.parametrize('adapters', [(), ('spatial', ), ('spatial',
                                                          'temporal'),
                                      ('temporal', 'spatial', 'joint')])
def test_adapter_subsets(adapters):
    model = clip_backbone(adapters=adapters, adapter_layers=[-1])
    block0, block1 = model.image_model.transformer.resblocks
    assert block0.spatial_adapter is block0.temporal_adapter is \
        block0.joint_adapter is None
    assert (block1.spatial_adapter is not None) == ('spatial' in adapters)
    assert (block1.temporal_adapter is not None) == ('temporal' in adapters)
    assert (block1.joint_adapter is not None) == ('joint' in adapters)
    assert model(torch.randn(1, 3, 4, 16, 16)).shape == (1, 32, 4)


def test_full_finetuning_and_linear_probe_switches():
    full = clip_backbone(adapters=(), freeze_image_model=False)
    assert all(p.requires_grad for p in full.parameters())
    probe = clip_backbone(adapters=(), temporal_embedding=False,
                          freeze_ln_post=True)
    assert not any(p.requires_grad for p in probe.parameters())
    # Frame order is invisible without temporal parts.
    x = torch.randn(1, 3, 4, 16, 16)
    torch.testing.assert_close(
        probe(x).mean(-1), probe(x.flip(2)).mean(-1), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize('arch,tadapter,key_list', [
    ('ViT-B/16', 1, 'official_keys_vit-b16_8f_tadapter1.txt'),
    ('ViT-B/16', 2, 'official_keys_vit-b16_8f_tadapter2.txt'),
    ('ViT-L/14', 1, 'official_keys_vit-l14_8f_tadapter1.txt'),
    ('ViT-L/14', 2, 'official_keys_vit-l14_8f_tadapter2.txt')])
def test_parameter_counts_match_the_original(arch, tadapter, key_list):
    """Trainable and total parameters equal the original's, as its key list
    (every tensor and its shape) and its training rule give them."""
    with torch.device('meta'):
        model = build_recognizer(arch=arch, input_resolution=224,
                                 num_frames=8, num_classes=400,
                                 backbone_extra=dict(num_tadapter=tadapter))
    assert count_parameters(model) == official_parameter_counts(key_list)


def test_chunked_multiview_testing_matches_unchunked():
    inputs = clips(batch=3, views=5)
    whole = build_recognizer()
    whole.init_weights()
    randomise_adapters(whole)
    chunked = build_recognizer(test_cfg=dict(max_testing_views=2))
    chunked.load_state_dict(whole.state_dict())
    whole.eval()
    chunked.eval()
    with torch.no_grad():
        expected = whole(inputs, mode='tensor', stage='head')
        feats, _ = chunked.extract_feat(inputs, test_mode=True)
        scores = chunked.cls_head(feats)
    assert scores.shape == (15, 5)
    torch.testing.assert_close(scores, expected, atol=1e-6, rtol=1e-5)


def test_eval_tensor_mode_returns_raw_scores():
    model = build_recognizer().eval()
    out = model(clips(batch=2), mode='tensor', stage='head')
    assert out.shape == (2, 5)


def test_trainable_summary_is_logged_once(caplog):
    logger = MMLogger.get_instance('aim_summary_test', log_level='INFO')
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    build_recognizer()
    logger.removeHandler(handler)
    lines = [r.getMessage() for r in records
             if 'trainable params:' in r.getMessage()]
    assert len(lines) == 1
    assert '|| all params:' in lines[0] and '|| trainable%:' in lines[0]


def test_mixed_precision_training_matches_float32():
    """bf16 autocast (the recipe's AMP) trains through the lean autograd
    functions with gradients close to float32's."""
    model = build_recognizer()
    model.init_weights()
    randomise_adapters(model)
    model.train()
    inputs = clips()
    grads = {}
    for amp in (False, True):
        model.zero_grad()
        torch.manual_seed(1)  # same dropout masks
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=amp):
            scores = model(inputs, mode='tensor', stage='head')
        scores.float().square().sum().backward()
        grads[amp] = {n: p.grad.clone() for n, p in model.named_parameters()
                      if p.grad is not None}
    assert grads[True].keys() == grads[False].keys()
    for name, grad in grads[False].items():
        assert grads[True][name].dtype == torch.float32
        error = (grads[True][name] - grad).norm() / grad.norm()
        assert error < 0.1, (name, float(error))


def test_train_mode_keeps_what_a_user_changed():
    """Trainability is marked once: model.train() does not undo a user's
    (or a hook's) change."""
    model = build_recognizer()
    block = model.backbone.image_model.transformer.resblocks[-1]
    block.requires_grad_(True)  # unfreeze the last block
    model.train()
    model.eval()
    model.train()
    assert all(p.requires_grad for p in block.parameters())
    assert not model.backbone.image_model.conv1.weight.requires_grad


def test_init_cfg_is_honoured_after_the_image_model(tmp_path):
    """An init_cfg of the backbone is applied last; a ``Pretrained`` one,
    which MMEngine loads non-strictly around the package's pipeline, is
    refused in one sentence (before: loaded silently whatever fitted)."""
    model = build_recognizer(backbone_extra=dict(
        init_cfg=dict(type='Constant', val=0.5, layer='Linear')))
    model.init_weights()
    adapter = model.backbone.image_model.transformer.resblocks[0] \
        .joint_adapter.fc2
    assert (adapter.weight == 0.5).all()
    # Without it: adapters zero, the image model its own initialisation.
    plain = build_recognizer()
    plain.init_weights()
    assert not plain.backbone.image_model.transformer.resblocks[0] \
        .joint_adapter.fc2.weight.any()
    with pytest.raises(ValueError, match="'Pretrained' would load"):
        build_recognizer(backbone_extra=dict(init_cfg=dict(
            type='Pretrained', checkpoint=str(tmp_path / 'b.pth'))))


def test_head_initialises_as_the_original_i3d_head():
    """``fc_cls`` ~ N(0, 0.01), zero bias: MMAction2 0.x's I3DHead, which
    the original trained with (0.02 before 0.2, undocumented)."""
    torch.manual_seed(0)
    head = build_recognizer(num_classes=400).cls_head
    head.init_weights()
    assert head.init_std == 0.01
    assert abs(head.fc_cls.weight.std().item() - 0.01) < 1e-3
    assert not head.fc_cls.bias.any()
