"""Counting the work of a model: one convention for every tool.

**The convention.** "FLOPs" here are multiply-accumulates (MACs), as in
MMAction2's and fvcore's tables and in the AIM paper (202 GFLOPs for ViT-B/16
at 8 frames). Counted, with PyTorch's
:class:`torch.utils.flop_counter.FlopCounterMode` on the computation that
really runs (forward, and backward where a training step is counted):

* every matrix product: linear layers, the packed attention projections,
  convolutions, attention's two batched products;
* the fused attention kernels (``scaled_dot_product_attention``): forward two
  products, backward four, without the recomputation the kernels do inside;
  the CPU kernels, which ``FlopCounterMode`` does not know by itself, get
  that formula here (MMEngine's ``get_model_complexity_info`` misses fused
  attention entirely);
* LayerNorm forward, 5 per element (as fvcore).

Element-wise work (GELU, residual adds, softmax) is not counted.
``FlopCounterMode`` itself counts 2 per MAC; totals are halved once, here.
The matrix-product throughput the benchmark divides by is counted the same
way (``n**3`` MACs per ``n x n`` product).
"""
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config

from .builder import build_model, load_config


def _sdpa_flops(query_shape, key_shape, value_shape, *args, **kwargs) -> int:
    """``FlopCounterMode`` units (2 per MAC) of ``softmax(q k^T) v``: two
    batched products. Shapes ``[..., L, E]`` (query, key), ``[..., S, Ev]``
    (value)."""
    *batch, lq, e = query_shape
    lk, ev = key_shape[-2], value_shape[-1]
    b = 1
    for d in batch:
        b *= d
    return 2 * b * lq * lk * (e + ev)


def _sdpa_backward_flops(grad_shape, query_shape, key_shape, value_shape,
                         *args, **kwargs) -> int:
    """Backward of fused attention: four products (dV, dP, dQ, dK)."""
    return 2 * _sdpa_flops(query_shape, key_shape, value_shape)


def _layer_norm_flops(input_shape, *args, **kwargs) -> int:
    """fvcore's LayerNorm count, 5 per element (2 units per MAC)."""
    n = 1
    for d in input_shape:
        n *= d
    return 2 * 5 * n


def flop_mapping() -> Dict:
    """The formulas added to ``FlopCounterMode``'s own: LayerNorm, and the
    fused attention kernels it does not know (PyTorch's own formulas are
    kept where it has one)."""
    from torch.utils.flop_counter import flop_registry
    aten = torch.ops.aten
    mapping = {aten.native_layer_norm: _layer_norm_flops}
    for name, formula in (
            ('_scaled_dot_product_flash_attention_for_cpu', _sdpa_flops),
            ('_scaled_dot_product_flash_attention_for_cpu_backward',
             _sdpa_backward_flops),
            ('_scaled_dot_product_flash_attention', _sdpa_flops),
            ('_scaled_dot_product_efficient_attention', _sdpa_flops),
            ('_scaled_dot_product_cudnn_attention', _sdpa_flops)):
        op = getattr(aten, name, None)
        if op is not None and op not in flop_registry and \
                op.default not in flop_registry:
            mapping[op] = formula
    return mapping


def count_macs(fn: Callable[[], object]) -> Tuple[int, Dict[str, int]]:
    """Multiply-accumulates of what ``fn()`` runs (backward included).

    ``nn.MultiheadAttention``'s inference fast path (one fused native op,
    which ``FlopCounterMode`` cannot see into) is switched off meanwhile, so
    that its products are counted like everyone else's.

    Returns:
        tuple: The total, and the MACs of every ATen operator.
    """
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False, custom_mapping=flop_mapping())
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with counter:
            fn()
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    by_op = {str(op): int(count) // 2
             for op, count in counter.get_flop_counts()['Global'].items()}
    return int(counter.get_total_flops()) // 2, by_op


def default_input_shape(model: torch.nn.Module) -> Tuple[int, int, int]:
    """``(T, H, W)`` of one view: the built backbone's frames and frame
    size."""
    backbone = getattr(model, 'backbone', model)
    size = backbone.input_size
    return int(backbone.num_frames), int(size), int(size)


def model_complexity(model: torch.nn.Module, input_shape: Sequence[int],
                     device: str = 'meta') -> Dict[str, object]:
    """FLOPs (MACs) of one view through a recognizer, and its parameters.

    Args:
        model (torch.nn.Module): An MMAction2 recognizer built on ``device``.
        input_shape (Sequence[int]): ``(T, H, W)`` of the view.
        device (str): Device of the model. Defaults to ``'meta'``.

    Returns:
        dict: ``flops`` (MACs), ``params``, ``trainable_params``,
        ``input_shape`` (``[1, 3, T, H, W]``) and ``by_operator``.
    """
    t, h, w = input_shape
    inputs = torch.zeros(1, 1, 3, t, h, w, device=device)  # [B, V, C, T, H, W]
    model.eval()
    with torch.no_grad():
        macs, by_op = count_macs(
            lambda: model(inputs, mode='tensor', stage='head'))
    return dict(
        flops=macs,
        params=sum(p.numel() for p in model.parameters()),
        trainable_params=sum(p.numel() for p in model.parameters()
                             if p.requires_grad),
        input_shape=[1, 3, t, h, w],
        by_operator=by_op)


def config_complexity(config: Union[str, Config],
                      shape: Optional[Sequence[int]] = None,
                      cfg_options: Optional[dict] = None
                      ) -> Dict[str, object]:
    """:func:`model_complexity` of a config's model, built on ``meta``.

    Args:
        config (str | Config): Config path or config.
        shape (Sequence[int], optional): ``(T, H, W)``; the model is then
            built for that many frames (and that resolution). Defaults to
            the backbone's own.
        cfg_options (dict, optional): Overrides, as ``--cfg-options``.

    Returns:
        dict: See :func:`model_complexity`; plus ``config``.
    """
    cfg = load_config(config, cfg_options)
    if shape:
        # A model with a temporal embedding is built for its frame count,
        # one with absolute positions for its frame size.
        from mmaction_aim.models.families import FAMILIES
        backbone = cfg.model.backbone
        backbone.num_frames = shape[0]
        if shape[1] != shape[2]:
            raise ValueError(f'--shape T H W: square frames only, got '
                             f'{shape[1]}x{shape[2]}')
        family = FAMILIES.get(backbone.image_model['type'])
        backbone.image_model = family.config_for_size(
            dict(backbone.image_model), shape[1])
    model = build_model(cfg, device='meta')
    shape = tuple(shape) if shape else default_input_shape(model)
    result = model_complexity(model, shape)
    result['config'] = config if isinstance(config, str) else None
    return result
