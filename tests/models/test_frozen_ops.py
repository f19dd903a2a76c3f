"""The memory-lean autograd functions equal the plain operations.

Each is checked by ``gradcheck`` in float64 on tiny shapes, and in float32
against the plain composition of PyTorch operations: equal outputs, equal
input (and, where they train, weight) gradients, and fewer saved bytes.
"""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmaction_aim.models.layers import CLIPAttention
from mmaction_aim.models.layers.frozen_ops import (AdapterFunction,
                                                   FrozenMLPFunction,
                                                   adapter_mlp, clip_mlp,
                                                   quick_gelu)

from .helpers import RecordedOps


def _plain_quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def _saved_bytes(fn, *modules):
    """``fn()`` and what autograd keeps for it, the ``modules``' parameters
    excluded (the package's one counter, ``saved_activation_bytes``)."""
    from mmaction_aim.models.utils import saved_activation_bytes
    out = []
    saved = saved_activation_bytes(nn.ModuleList(modules),
                                   lambda: out.append(fn()))
    return out[0], saved


def test_quick_gelu_equals_plain_and_saves_one_tensor():
    torch.manual_seed(0)
    x = torch.randn(4, 7, 16, requires_grad=True)
    grad = torch.randn(4, 7, 16)
    y_plain, saved_plain = _saved_bytes(lambda: _plain_quick_gelu(x * 1))
    (g_plain, ) = torch.autograd.grad(y_plain, x, grad)
    y, saved = _saved_bytes(lambda: quick_gelu(x * 1))
    (g, ) = torch.autograd.grad(y, x, grad)
    torch.testing.assert_close(y, y_plain, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(g, g_plain, rtol=1e-6, atol=1e-6)
    assert saved * 2 == saved_plain


def _linears(d=6, hidden=10, frozen=True):
    torch.manual_seed(1)
    fc, proj = nn.Linear(d, hidden), nn.Linear(hidden, d)
    fc.requires_grad_(not frozen)
    proj.requires_grad_(not frozen)
    return fc, proj


def test_frozen_mlp_gradcheck():
    fc, proj = (m.double() for m in _linears())
    x = torch.randn(2, 3, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda t: FrozenMLPFunction.apply(t, fc.weight, fc.bias, proj.weight,
                                          proj.bias), (x, ))


def _plain_mlp(x, fc, proj):
    return proj(_plain_quick_gelu(fc(x)))


def test_frozen_mlp_equals_plain_and_saves_only_its_input():
    fc, proj = _linears(d=16, hidden=64)
    x = torch.randn(3, 5, 16, requires_grad=True)
    grad = torch.randn(3, 5, 16)

    y_plain, saved_plain = _saved_bytes(
        lambda: _plain_mlp(x * 1, fc, proj), fc, proj)
    (g_plain, ) = torch.autograd.grad(y_plain, x, grad)
    y, saved = _saved_bytes(lambda: clip_mlp(x * 1, fc, proj), fc, proj)
    assert y.grad_fn.name() == 'FrozenMLPFunctionBackward'
    (g, ) = torch.autograd.grad(y, x, grad)
    torch.testing.assert_close(y, y_plain, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(g, g_plain, rtol=1e-5, atol=1e-6)
    assert saved == x.numel() * 4  # the input alone
    assert saved_plain >= 2 * 4 * 3 * 5 * 64  # pre-activation and sigmoid


def test_clip_mlp_paths_equal_plain():
    """Inference (in-place silu) and trained weights (plain autograd)."""
    x = torch.randn(3, 5, 16)
    grad = torch.randn(3, 5, 16)
    fc, proj = _linears(d=16, hidden=64, frozen=False)
    with torch.no_grad():
        y_plain = _plain_mlp(x, fc, proj)
        y = clip_mlp(x, fc, proj)
    assert y.grad_fn is None
    torch.testing.assert_close(y, y_plain, rtol=1e-5, atol=1e-6)

    params = [fc.weight, fc.bias, proj.weight, proj.bias]
    g_plain = torch.autograd.grad(_plain_mlp(x, fc, proj), params, grad)
    y, saved = _saved_bytes(lambda: clip_mlp(x, fc, proj), fc, proj)
    assert y.grad_fn.name() != 'FrozenMLPFunctionBackward'
    g = torch.autograd.grad(y, params, grad)
    for a, b in zip(g, g_plain, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    # x, z and silu(z) (c_proj's weight, also kept, is a parameter and not
    # counted): what any trained MLP keeps.
    assert saved == 4 * (3 * 5 * 16 + 2 * 3 * 5 * 64)


def test_adapter_function_gradcheck():
    fc1, fc2 = (m.double() for m in _linears(d=6, hidden=3, frozen=False))
    x = torch.randn(2, 3, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        AdapterFunction.apply, (x, fc1.weight, fc1.bias, fc2.weight,
                                fc2.bias))


@pytest.mark.parametrize('input_grad', [True, False])
def test_adapter_function_equals_plain(input_grad):
    fc1, fc2 = _linears(d=16, hidden=4, frozen=False)
    x = torch.randn(3, 5, 16, requires_grad=input_grad)
    grad = torch.randn(3, 5, 16)
    params = [fc1.weight, fc1.bias, fc2.weight, fc2.bias]
    inputs = ([x] if input_grad else []) + params

    y_plain, saved_plain = _saved_bytes(
        lambda: fc2(F.gelu(fc1(x * 1))), fc1, fc2)
    g_plain = torch.autograd.grad(y_plain, inputs, grad)
    y, saved = _saved_bytes(lambda: adapter_mlp(x * 1, fc1, fc2), fc1,
                            fc2)
    g = torch.autograd.grad(y, inputs, grad)
    assert torch.equal(y, y_plain)
    for a, b in zip(g, g_plain, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert saved < saved_plain


@pytest.mark.parametrize('seq_dim', [-2, 1, 0])
def test_attention_along_any_dim_uses_the_fused_kernel(seq_dim):
    """Attention along any dimension equals attention on that dimension
    moved next to the width, and runs the fused kernel (no 5-D math
    fallback)."""
    torch.manual_seed(0)
    attn = CLIPAttention(16, 2)
    x = torch.randn(3, 4, 5, 16)
    ref_in = x.movedim(seq_dim, -2).contiguous()
    ref = F.multi_head_attention_forward(
        ref_in.flatten(0, 1).transpose(0, 1), ref_in.flatten(0, 1).transpose(
            0, 1), ref_in.flatten(0, 1).transpose(0, 1), 16, 2,
        attn.in_proj_weight, attn.in_proj_bias, None, None, False, 0.,
        attn.out_proj.weight, attn.out_proj.bias, need_weights=False)[0]
    ref = ref.transpose(0, 1).reshape(ref_in.shape).movedim(-2, seq_dim)

    with RecordedOps() as ops:
        out = attn(x, seq_dim=seq_dim)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    assert any('scaled_dot_product' in op for op in ops.ops), ops.ops
    assert not any('bmm' in op for op in ops.ops), ops.ops


@pytest.mark.parametrize('act', ['quick_gelu', 'gelu'])
def test_without_aten_private_backward_kernels(act, monkeypatch):
    """Where a PyTorch build lacks ``aten::silu_backward`` /
    ``gelu_backward`` (private operators), the fused paths fall back to
    public autograd with the same gradients."""
    from mmaction_aim.models.layers import frozen_ops
    assert frozen_ops.ATEN_BACKWARD[act]  # this build has the kernels
    fc, proj = (m.double() for m in _linears())
    x = torch.randn(2, 3, 6, dtype=torch.float64)

    def input_grad():
        leaf = x.clone().requires_grad_()
        FrozenMLPFunction.apply(leaf, fc.weight, fc.bias, proj.weight,
                                proj.bias, act).pow(2).sum().backward()
        return leaf.grad

    fused = input_grad()
    monkeypatch.setitem(frozen_ops.ATEN_BACKWARD, act, False)
    monkeypatch.setattr(torch.ops.aten, frozen_ops.MLP_ACTIVATIONS[act][2],
                        None, raising=False)
    assert torch.allclose(input_grad(), fused, atol=1e-12)
    leaf = x.clone().requires_grad_()
    assert torch.autograd.gradcheck(
        lambda t: FrozenMLPFunction.apply(t, fc.weight, fc.bias, proj.weight,
                                          proj.bias, act), (leaf, ))
