"""The CLIP family equals the straightforward implementation it is
benchmarked against, outputs and gradients, while keeping less for the
backward pass.

``PlainCLIPViT`` (``mmaction_aim.analysis.plain_aim``) computes AIM the
plain way (``nn.MultiheadAttention``,
regrouping copies, plain QuickGELU and adapters, autograd's own saving);
the optimised blocks must be the same function with the same gradients,
drop-path masks included.
"""
import pytest
import torch

from .helpers import (TINY_ARCH, build_recognizer, clip_family, clips,
                      randomise_adapters, saved_bytes_of_forward)


def _pair(num_tadapter=1, **extra):
    backbone = dict(num_tadapter=num_tadapter, drop_path_rate=0.2, **extra)
    ours = build_recognizer(backbone_extra=backbone)
    ours.init_weights()
    randomise_adapters(ours)
    plain = build_recognizer(backbone_extra=backbone,
                             image_model=dict(clip_family(),
                                              type='PlainCLIPViT'))
    plain.load_state_dict(ours.state_dict())  # the same keys, strictly
    return ours, plain


@pytest.mark.parametrize('num_tadapter', [1, 2])
def test_outputs_and_gradients_equal_the_plain_implementation(num_tadapter):
    ours, plain = _pair(num_tadapter)
    results = []
    for model in (ours, plain):
        model.train()
        torch.manual_seed(7)  # the same drop-path masks
        scores = model(clips(), mode='tensor', stage='head')
        scores.square().sum().backward()
        results.append((scores.detach(), {
            n: p.grad for n, p in model.named_parameters()
            if p.grad is not None
        }))
    (out_a, grads_a), (out_b, grads_b) = results
    torch.testing.assert_close(out_a, out_b, rtol=1e-5, atol=1e-6)
    assert grads_a.keys() == grads_b.keys()
    assert any('adapter' in name for name in grads_a)
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name], rtol=1e-4,
                                   atol=1e-6, msg=name)


def test_plain_blocks_keep_more_for_the_backward_pass():
    ours, plain = _pair()
    lean = saved_bytes_of_forward(ours)
    kept = saved_bytes_of_forward(plain)
    batch = clips()
    token_bytes = batch.shape[0] * batch.shape[3] * 5 * 32 * 4
    # Recomputed attention (2 x 4), MLP (4) and plain QuickGELU's second
    # tensor (4): at least 16 token tensors per block.
    assert kept - lean >= 16 * token_bytes * TINY_ARCH['layers']
