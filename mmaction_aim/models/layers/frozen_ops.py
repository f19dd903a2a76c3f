"""Memory-lean autograd functions for AIM's blocks.

Autograd keeps, for the backward pass, whatever each elementary operation
needs for *any* of its inputs' gradients. Composite element-wise functions
thus keep several tensors where one would do; these functions compute the
same forward values (bit for bit: the forward is the plain expression) but
save only what the backward needs, and recompute the rest, element-wise,
during the backward pass.

Measured, not assumed (see ``docs/benchmark.md``): a frozen ``nn.Linear``
needs no such function, since PyTorch already saves the input of a matrix
product only when the other operand requires a gradient.
"""
import contextlib
from typing import Iterator, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

QUICK_GELU_ALPHA = 1.702


def _autocast_state(x: Tensor) -> Tuple[str, Optional[torch.dtype]]:
    """The autocast dtype the forward pass runs under, for ``x``'s device."""
    device = x.device.type
    if torch.is_autocast_enabled(device):
        return device, torch.get_autocast_dtype(device)
    return device, None


@contextlib.contextmanager
def _autocast_as(state: Tuple[str, Optional[torch.dtype]]) -> Iterator:
    """Run a backward pass under the forward pass's autocast state.

    Autograd runs backward functions outside autocast; without this, the
    recomputations and products below would mix bf16/fp16 activations with
    float32 weights under mixed precision.
    """
    device, dtype = state
    if dtype is None:
        with torch.autocast(device, enabled=False):
            yield
    else:
        with torch.autocast(device, dtype=dtype):
            yield


def _quick_gelu(x: Tensor) -> Tensor:
    return x * torch.sigmoid(QUICK_GELU_ALPHA * x)


class QuickGELUFunction(torch.autograd.Function):
    """CLIP's ``x * sigmoid(1.702 x)``, saving only ``x``.

    The plain expression keeps both ``x`` and ``sigmoid(1.702 x)`` (two
    tensors of the MLP's hidden width, the largest activations of a ViT);
    this keeps ``x`` alone and recomputes the sigmoid in the backward pass.
    The input gradient is computed with the very operations autograd would
    use, in the same order.
    """

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return _quick_gelu(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        x, = ctx.saved_tensors
        grad = grad.to(x.dtype)
        sig = torch.sigmoid(QUICK_GELU_ALPHA * x)
        # d/dx [x * s(a x)] = s(a x) + a * x * s'(a x): the two branches of
        # the product, in autograd's order.
        grad_sig = torch.ops.aten.sigmoid_backward(grad * x, sig)
        return grad * sig + grad_sig * QUICK_GELU_ALPHA


def quick_gelu(x: Tensor) -> Tensor:
    """``x * sigmoid(1.702 x)``; saves only ``x`` when a gradient is needed.

    Args:
        x (Tensor): Any shape.

    Returns:
        Tensor: Same shape as ``x``.
    """
    if torch.is_grad_enabled() and x.requires_grad:
        return QuickGELUFunction.apply(x)
    return _quick_gelu(x)


def _quick_gelu_backward(grad: Tensor, x: Tensor) -> Tensor:
    """Input gradient of :func:`_quick_gelu`, as autograd computes it."""
    sig = torch.sigmoid(QUICK_GELU_ALPHA * x)
    grad_sig = torch.ops.aten.sigmoid_backward(grad * x, sig)
    return grad * sig + grad_sig * QUICK_GELU_ALPHA


class FrozenMLPFunction(torch.autograd.Function):
    """``c_proj(quick_gelu(c_fc(x)))`` with frozen weights, saving only ``x``.

    With both layers frozen, only the input gradient is needed:
    ``dx = (quick_gelu'(a) * (dy W2)) W1`` with ``a = c_fc(x)``. Rather than
    keeping ``a`` (four times the width, the largest activation of a
    block), the backward pass recomputes it from ``x`` -- which AIM's joint
    adapter keeps anyway, so the MLP then costs no saved memory at all, for
    one extra ``c_fc`` product in the backward pass.
    """

    @staticmethod
    def forward(ctx, x: Tensor, fc_weight: Tensor, fc_bias: Tensor,
                proj_weight: Tensor, proj_bias: Tensor) -> Tensor:
        ctx.save_for_backward(x, fc_weight, fc_bias, proj_weight)
        ctx.autocast = _autocast_state(x)
        hidden = _quick_gelu(F.linear(x, fc_weight, fc_bias))
        return F.linear(hidden, proj_weight, proj_bias)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, fc_weight, fc_bias, proj_weight = ctx.saved_tensors
        with _autocast_as(ctx.autocast):
            grad_hidden = grad.matmul(proj_weight)  # [..., 4D]
            pre = F.linear(x, fc_weight, fc_bias)  # recomputed c_fc output
            grad_pre = _quick_gelu_backward(grad_hidden.to(pre.dtype), pre)
            del pre, grad_hidden
            grad_x = grad_pre.matmul(fc_weight)
        return grad_x, None, None, None, None


def frozen_mlp(x: Tensor, fc: torch.nn.Linear,
               proj: torch.nn.Linear) -> Optional[Tensor]:
    """CLIP's MLP through :class:`FrozenMLPFunction` where it applies.

    Args:
        x (Tensor): ``[..., D]``.
        fc (nn.Linear): ``c_fc``.
        proj (nn.Linear): ``c_proj``.

    Returns:
        Tensor | None: ``[..., D]``; None when the plain layers are needed
        (a weight trains, or no gradient is needed at all).
    """
    params = (fc.weight, fc.bias, proj.weight, proj.bias)
    if not (torch.is_grad_enabled() and x.requires_grad) or any(
            p is None or p.requires_grad for p in params):
        return None
    return FrozenMLPFunction.apply(x, *params)


class AdapterFunction(torch.autograd.Function):
    """``fc2(gelu(fc1(x)))`` (exact GELU), saving ``x`` and ``fc1(x)``.

    Plain autograd also keeps ``gelu(fc1(x))`` for ``fc2``'s weight
    gradient; it is recomputed here, element-wise, from ``fc1(x)``.
    """

    @staticmethod
    def forward(ctx, x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor,
                b2: Tensor) -> Tensor:
        pre = F.linear(x, w1, b1)
        ctx.save_for_backward(x, pre, w1, w2)
        ctx.autocast = _autocast_state(x)
        return F.linear(F.gelu(pre), w2, b2)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, pre, w1, w2 = ctx.saved_tensors
        need = ctx.needs_input_grad
        with _autocast_as(ctx.autocast):
            grad_2d = grad.reshape(-1, grad.shape[-1])  # [M, D]
            grad_w2 = grad_b2 = grad_w1 = grad_b1 = grad_x = None
            if need[3]:
                hidden = F.gelu(pre)
                hidden = hidden.reshape(-1, hidden.shape[-1])
                grad_w2 = grad_2d.t().mm(hidden)
                del hidden
            if need[4]:
                grad_b2 = grad_2d.sum(0)
            grad_pre = torch.ops.aten.gelu_backward(grad.matmul(w2), pre)
            grad_pre_2d = grad_pre.reshape(-1, grad_pre.shape[-1])
            if need[1]:
                grad_w1 = grad_pre_2d.t().mm(x.reshape(-1, x.shape[-1]))
            if need[2]:
                grad_b1 = grad_pre_2d.sum(0)
            if need[0]:
                grad_x = grad_pre.matmul(w1)
        return grad_x, grad_w1, grad_b1, grad_w2, grad_b2


def adapter_mlp(x: Tensor, fc1: torch.nn.Linear,
                fc2: torch.nn.Linear) -> Tensor:
    """``fc2(gelu(fc1(x)))``, through :class:`AdapterFunction` when a
    gradient is needed.

    Args:
        x (Tensor): ``[..., D]``.
        fc1 (nn.Linear): Down projection.
        fc2 (nn.Linear): Up projection.

    Returns:
        Tensor: ``[..., D]``.
    """
    params = (fc1.weight, fc1.bias, fc2.weight, fc2.bias)
    if torch.is_grad_enabled() and (x.requires_grad or any(
            p.requires_grad for p in params)) and all(
                p is not None for p in params):
        return AdapterFunction.apply(x, *params)
    return fc2(F.gelu(fc1(x)))
