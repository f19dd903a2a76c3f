"""Memory-lean autograd functions for AIM's blocks.

Autograd keeps, for the backward pass, whatever each elementary operation
needs for *any* of its inputs' gradients, and runs every element-wise
operation as a pass of its own. These functions compute the same values
with fewer passes (CLIP's MLP: its QuickGELU as one ``silu`` pass, the
scales folded into the products; equal to the plain expression up to float
rounding) and save only what the backward needs, recomputing the rest
during the backward pass (the adapter's activation element-wise; with
frozen weights, the MLP's ``c_fc`` output).

Measured, not assumed (see ``docs/benchmark.md``): a frozen ``nn.Linear``
needs no such function, since PyTorch already saves the input of a matrix
product only when the other operand requires a gradient.
"""
import contextlib
from typing import Callable, Iterator, Optional, Tuple

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


def _addmm(bias: Tensor, x: Tensor, weight: Tensor, beta: float = 1.,
           alpha: float = 1.) -> Tensor:
    """``beta * bias + alpha * x @ weight.T`` over the last dim of ``x``.

    One BLAS call: the bias is written into the output and the product is
    accumulated onto it, so the scales cost no pass of their own.
    """
    out = torch.addmm(bias, x.reshape(-1, x.shape[-1]), weight.t(),
                      beta=beta, alpha=alpha)
    return out.view(*x.shape[:-1], weight.shape[0])


def quick_gelu(x: Tensor) -> Tensor:
    """CLIP's ``x * sigmoid(1.702 x)``, computed as ``silu(1.702 x) / 1.702``.

    The same function (``silu(z) = z * sigmoid(z)``) through one fused
    kernel; under autograd it keeps only ``1.702 x`` for the backward pass,
    not ``x`` and the sigmoid as the plain expression does.

    Args:
        x (Tensor): Any shape.

    Returns:
        Tensor: Same shape as ``x``.
    """
    return F.silu(x * QUICK_GELU_ALPHA) / QUICK_GELU_ALPHA


#: CLIP MLP activations: ``act(u) = f(a u) / a`` with the kernel ``f``, its
#: backward and the scale ``a`` (QuickGELU is ``silu(1.702 u) / 1.702``).
MLP_ACTIVATIONS = {
    'quick_gelu': (QUICK_GELU_ALPHA, F.silu, 'silu_backward'),
    'gelu': (1.0, F.gelu, 'gelu_backward'),
}


def _aten_backward(act: str) -> Optional[Callable]:
    """ATen's fused ``*_backward`` kernel of ``act``'s ``f``, or None where
    this PyTorch build lacks it (it is not public API)."""
    try:
        return getattr(torch.ops.aten, MLP_ACTIVATIONS[act][2])
    except (AttributeError, RuntimeError):
        return None


#: Whether the fused kernels are used (else: autograd on ``f``, the same
#: numbers at the cost of one more pass); decided once, per activation.
ATEN_BACKWARD = {act: _aten_backward(act) is not None
                 for act in MLP_ACTIVATIONS}


def _act_backward(act: str, grad: Tensor, z: Tensor) -> Tensor:
    """``grad * f'(z)``: in one fused pass (ATen's private ``*_backward``
    kernel) where it exists, through public autograd otherwise."""
    if ATEN_BACKWARD[act]:
        return _aten_backward(act)(grad, z)
    with torch.enable_grad():
        leaf = z.detach().requires_grad_()
        return torch.autograd.grad(MLP_ACTIVATIONS[act][1](leaf), leaf,
                                   grad)[0]


class FrozenMLPFunction(torch.autograd.Function):
    """CLIP's MLP with frozen weights, saving only its input ``x``.

    Computes ``c_proj(act(c_fc(x)))`` as ``f(z) @ (W2 / a).T + b2`` with
    ``z = a * (x @ W1.T + b1)`` (QuickGELU: ``f = silu``, ``a = 1.702``;
    exact GELU: ``f = gelu``, ``a = 1``): the scales ride on the two
    products (see :func:`clip_mlp`). With both layers frozen, only the input
    gradient is needed, ``dx = (f'(z) * (dy @ W2)) @ W1`` (the scales
    cancel). Rather than keeping ``z`` (four times the width, the largest
    activation of a block), the backward pass recomputes it from ``x`` --
    which AIM's joint adapter keeps anyway, so the MLP costs no saved memory
    at all, for one extra ``c_fc`` product in the backward pass.
    """

    @staticmethod
    def forward(ctx, x: Tensor, fc_weight: Tensor, fc_bias: Tensor,
                proj_weight: Tensor, proj_bias: Tensor,
                act: str = 'quick_gelu') -> Tensor:
        ctx.save_for_backward(x, fc_weight, fc_bias, proj_weight)
        ctx.autocast = _autocast_state(x)
        ctx.act = act
        return _mlp_no_grad(x, fc_weight, fc_bias, proj_weight, proj_bias,
                            act)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, fc_weight, fc_bias, proj_weight = ctx.saved_tensors
        alpha = MLP_ACTIVATIONS[ctx.act][0]
        with _autocast_as(ctx.autocast):
            # Recompute z = a * c_fc(x); then one fused pass for f'.
            z = _addmm(fc_bias, x, fc_weight, alpha, alpha)
            grad_hidden = grad.matmul(proj_weight)  # [..., 4D]
            grad_z = _act_backward(ctx.act, grad_hidden.to(z.dtype), z)
            del z, grad_hidden
            grad_x = grad_z.matmul(fc_weight)
        return grad_x, None, None, None, None, None


def _mlp_no_grad(x: Tensor, fc_weight: Tensor, fc_bias: Tensor,
                 proj_weight: Tensor, proj_bias: Tensor,
                 act: str = 'quick_gelu') -> Tensor:
    """The MLP's forward when nothing of it is kept (``silu`` in place)."""
    alpha, fn, _ = MLP_ACTIVATIONS[act]
    z = _addmm(fc_bias, x, fc_weight, alpha, alpha)
    if act == 'quick_gelu':
        F.silu(z, inplace=True)
    else:
        z = fn(z)
    return _addmm(proj_bias, z, proj_weight, alpha=1 / alpha)


def clip_mlp(x: Tensor, fc: torch.nn.Linear, proj: torch.nn.Linear,
             recompute: bool = True, act: str = 'quick_gelu') -> Tensor:
    """CLIP's MLP ``c_proj(act(c_fc(x)))`` in as few passes as can be.

    QuickGELU (``act='quick_gelu'``, OpenAI's weights): with ``a = 1.702``,
    ``quick_gelu(u) = silu(a u) / a``, so the MLP is
    ``silu(z) @ W2.T / a + b2`` with ``z = a * x @ W1.T + a * b1``: both
    scales are the ``alpha``/``beta`` of the two ``addmm`` calls, and the
    activation is one fused ``silu`` pass (in place when no gradient is
    needed) instead of three element-wise passes. Exact GELU
    (``act='gelu'``, LAION and DataComp weights) is the same with ``a = 1``
    and ``gelu`` as the kernel. The result equals the plain expression up to
    float rounding.

    Three paths, by what needs a gradient:

    * nothing (inference): no autograd;
    * only ``x`` (frozen weights, AIM): with ``recompute``,
      :class:`FrozenMLPFunction`, which keeps only ``x``; without, plain
      autograd, which keeps ``z`` alone (frozen products keep nothing);
    * the weights (full fine-tuning): plain autograd, which keeps ``x``,
      ``z`` and ``f(z)``, as for any trained MLP.

    Args:
        x (Tensor): ``[..., D]``.
        fc (nn.Linear): ``c_fc``.
        proj (nn.Linear): ``c_proj``.
        recompute (bool): With frozen weights, recompute ``z`` in the
            backward pass rather than keep it. Defaults to True.
        act (str): ``'quick_gelu'`` or ``'gelu'``. Defaults to
            ``'quick_gelu'``.

    Returns:
        Tensor: ``[..., D]``.
    """
    if act not in MLP_ACTIVATIONS:
        raise ValueError(f'Unknown CLIP MLP activation {act!r}; choose from '
                         f'{sorted(MLP_ACTIVATIONS)}')
    params = (fc.weight, fc.bias, proj.weight, proj.bias)
    alpha, fn, _ = MLP_ACTIVATIONS[act]
    if any(p is None for p in params):
        return proj(fn(fc(x) * alpha) / alpha)
    if not torch.is_grad_enabled() or not (x.requires_grad or any(
            p.requires_grad for p in params)):
        return _mlp_no_grad(x, *params, act)
    if recompute and not any(p.requires_grad for p in params):
        return FrozenMLPFunction.apply(x, *params, act)
    z = _addmm(fc.bias, x, fc.weight, alpha, alpha)
    return _addmm(proj.bias, fn(z), proj.weight, alpha=1 / alpha)


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
            grad_pre = _act_backward('gelu', grad.matmul(w2), pre)
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
