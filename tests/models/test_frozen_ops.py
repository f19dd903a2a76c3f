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
                                                   QuickGELUFunction,
                                                   adapter_mlp, frozen_mlp,
                                                   quick_gelu)


def _plain_quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def _saved_bytes(fn):
    """Bytes of the distinct non-parameter storages autograd saves."""
    storages = {}

    def pack(t):
        if not isinstance(t, nn.Parameter):
            st = t.untyped_storage()
            storages[st.data_ptr()] = st.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, sum(storages.values())


def test_quick_gelu_gradcheck():
    x = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(QuickGELUFunction.apply, (x, ))


def test_quick_gelu_equals_plain_and_saves_half():
    torch.manual_seed(0)
    x = torch.randn(4, 7, 16, requires_grad=True)
    grad = torch.randn(4, 7, 16)
    y_plain, saved_plain = _saved_bytes(lambda: _plain_quick_gelu(x * 1))
    (g_plain, ) = torch.autograd.grad(y_plain, x, grad)
    y, saved = _saved_bytes(lambda: quick_gelu(x * 1))
    (g, ) = torch.autograd.grad(y, x, grad)
    assert torch.equal(y, y_plain)
    torch.testing.assert_close(g, g_plain, rtol=1e-6, atol=1e-7)
    assert saved * 2 == saved_plain
    with torch.no_grad():  # no autograd function without gradients
        assert torch.equal(quick_gelu(x), y_plain)


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


def test_frozen_mlp_equals_plain_and_saves_only_its_input():
    fc, proj = _linears(d=16, hidden=64)
    x = torch.randn(3, 5, 16, requires_grad=True)
    grad = torch.randn(3, 5, 16)

    def plain():
        return proj(_plain_quick_gelu(fc(x * 1)))

    y_plain, saved_plain = _saved_bytes(plain)
    (g_plain, ) = torch.autograd.grad(y_plain, x, grad)
    y, saved = _saved_bytes(lambda: frozen_mlp(x * 1, fc, proj))
    (g, ) = torch.autograd.grad(y, x, grad)
    assert torch.equal(y, y_plain)
    torch.testing.assert_close(g, g_plain, rtol=1e-5, atol=1e-6)
    assert saved == x.numel() * 4  # the input alone
    assert saved_plain >= 2 * 4 * 3 * 5 * 64  # pre-activation and sigmoid


def test_frozen_mlp_steps_aside_when_weights_train_or_no_grad():
    fc, proj = _linears(frozen=False)
    x = torch.randn(2, 6, requires_grad=True)
    assert frozen_mlp(x, fc, proj) is None
    fc, proj = _linears(frozen=True)
    with torch.no_grad():
        assert frozen_mlp(x, fc, proj) is None
    assert frozen_mlp(x.detach(), fc, proj) is None


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

    y_plain, saved_plain = _saved_bytes(lambda: fc2(F.gelu(fc1(x * 1))))
    g_plain = torch.autograd.grad(y_plain, inputs, grad)
    y, saved = _saved_bytes(lambda: adapter_mlp(x * 1, fc1, fc2))
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

    from torch.utils._python_dispatch import TorchDispatchMode

    class Ops(TorchDispatchMode):

        def __init__(self):
            super().__init__()
            self.ops = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.ops.append(str(func))
            return func(*args, **(kwargs or {}))

    with Ops() as ops:
        out = attn(x, seq_dim=seq_dim)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    assert any('scaled_dot_product' in op for op in ops.ops), ops.ops
    assert not any('bmm' in op for op in ops.ops), ops.ops
