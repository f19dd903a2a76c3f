"""FLOPs and parameters of a recognizer config, MMAction2 model-zoo style.

Usage::

    python tools/analysis/get_flops.py configs/aim_vitb_k400.py
    python tools/analysis/get_flops.py CONFIG --shape 16 224 224  # T H W
    python tools/analysis/get_flops.py CONFIG --json          # one JSON line

"FLOPs" are multiply-accumulate counts (MACs) for one view (one clip, one
crop), the convention of MMAction2's and fvcore's tables and of the AIM paper
(202 GFLOPs for ViT-B/16 at 8 frames). They are counted with PyTorch's
``torch.utils.flop_counter.FlopCounterMode`` (which reports 2 x MACs; halved
here), on the meta device, so even ViT-L/14 at 32 frames costs no memory and
no time. Counted: every matrix product (``nn.Linear``, the packed attention
projections, ``conv1``), the attention matrix products inside
``torch.nn.functional.scaled_dot_product_attention`` (on the meta device it
decomposes into counted ``bmm``; a formula is registered for the CPU/GPU
fused kernels, which ``FlopCounterMode`` would otherwise leave out, and which
MMEngine's ``get_model_complexity_info`` misses entirely), and LayerNorm
(5 per element, as fvcore). Element-wise operations (GELU, residual adds,
softmax) are not counted, as in fvcore.
"""
import argparse
import json
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, DictAction
from torch.utils.flop_counter import FlopCounterMode

aten = torch.ops.aten


def _sdpa_flops(query_shape, key_shape, value_shape, *args, **kwargs) -> int:
    """FLOPs (2 x MACs) of ``softmax(q k^T) v``: two batched matrix products.

    Shapes are ``[..., L, E]`` for the query and key and ``[..., S, Ev]`` for
    the value.
    """
    *batch, lq, e = query_shape
    lk = key_shape[-2]
    ev = value_shape[-1]
    b = 1
    for d in batch:
        b *= d
    return 2 * b * lq * lk * e + 2 * b * lq * lk * ev


def _layer_norm_flops(input_shape, *args, **kwargs) -> int:
    """fvcore's LayerNorm count: 5 per element with an affine transform,
    doubled here since :class:`FlopCounterMode` counts 2 per MAC."""
    n = 1
    for d in input_shape:
        n *= d
    return 2 * 5 * n


def _custom_mapping() -> Dict:
    mapping = {aten.native_layer_norm: _layer_norm_flops}
    # Fused attention kernels not covered by FlopCounterMode everywhere.
    for name in ('_scaled_dot_product_flash_attention_for_cpu',
                 '_scaled_dot_product_flash_attention',
                 '_scaled_dot_product_efficient_attention',
                 '_scaled_dot_product_cudnn_attention'):
        op = getattr(aten, name, None)
        if op is not None:
            mapping[op] = _sdpa_flops
    return mapping


def build_model(cfg: Config, device: str = 'meta') -> torch.nn.Module:
    """Build ``cfg.model`` without loading pretrained weights.

    Args:
        cfg (Config): A recognizer config.
        device (str): ``'meta'`` (no memory) or a real device.

    Returns:
        torch.nn.Module: The recognizer in eval mode.
    """
    from mmengine.utils import import_modules_from_strings
    from mmaction.registry import MODELS
    from mmaction.utils import register_all_modules

    register_all_modules()
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    model_cfg = cfg.model.copy()
    if 'pretrained' in model_cfg.get('backbone', {}):
        model_cfg.backbone.pretrained = None
    try:
        with torch.device(device):
            model = MODELS.build(model_cfg)
    except NotImplementedError:
        # A model whose constructor reads tensor values (``.tolist()``)
        # cannot be built on the meta device: build it for real, then move.
        model = MODELS.build(model_cfg).to(device)
    return model.eval()


def default_input_shape(cfg: Config, model: torch.nn.Module
                        ) -> Tuple[int, int, int]:
    """``(T, H, W)`` of one view: the backbone's frames and resolution."""
    backbone = getattr(model, 'backbone', model)
    frames = getattr(backbone, 'num_frames', None) or \
        cfg.model.get('backbone', {}).get('num_frames', 8)
    size = getattr(backbone, 'input_resolution', None) or 224
    return int(frames), int(size), int(size)


def count_flops(model: torch.nn.Module, input_shape: Sequence[int],
                device: str = 'meta') -> Dict[str, object]:
    """MACs ("FLOPs") of one view through the recognizer, and parameters.

    Args:
        model (torch.nn.Module): An MMAction2 recognizer (``mode='tensor'``
            forward) built on ``device``.
        input_shape (Sequence[int]): ``(T, H, W)`` of the view.
        device (str): Device of the model. Defaults to ``'meta'``.

    Returns:
        dict: ``flops`` (MACs), ``params``, ``trainable_params``,
        ``input_shape`` (``[1, 3, T, H, W]``) and ``by_operator`` (MACs per
        ATen operator).
    """
    t, h, w = input_shape
    inputs = torch.zeros(1, 1, 3, t, h, w, device=device)  # [B, V, C, T, H, W]
    counter = FlopCounterMode(display=False, custom_mapping=_custom_mapping())
    with torch.no_grad(), counter:
        model(inputs, mode='tensor', stage='head')
    by_op = {
        str(op): count // 2
        for op, count in counter.get_flop_counts()['Global'].items()
    }
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return dict(
        flops=counter.get_total_flops() // 2,
        params=params,
        trainable_params=trainable,
        input_shape=[1, 3, t, h, w],
        by_operator=by_op)


def get_flops(config: str, shape: Optional[Sequence[int]] = None,
              cfg_options: Optional[dict] = None) -> Dict[str, object]:
    """Everything :func:`count_flops` reports, from a config file.

    Args:
        config (str): Config path.
        shape (Sequence[int], optional): ``(T, H, W)``; defaults to the
            backbone's frames and resolution.
        cfg_options (dict, optional): Overrides, as ``--cfg-options``.

    Returns:
        dict: See :func:`count_flops`; plus ``config``.
    """
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    backbone = cfg.model.get('backbone', {})
    if shape and 'num_frames' in backbone:
        # A model with a temporal embedding is built for its frame count
        # (and its positional embedding for its resolution).
        backbone.num_frames = shape[0]
        if shape[1] == shape[2] and 'model_name' in backbone:
            backbone.timm_kwargs = dict(backbone.get('timm_kwargs') or {},
                                        img_size=shape[1])
        elif shape[1] == shape[2]:
            backbone.input_resolution = shape[1]
    model = build_model(cfg)
    shape = tuple(shape) if shape else default_input_shape(cfg, model)
    result = count_flops(model, shape)
    result['config'] = config
    return result


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='FLOPs (MACs per view) and parameters of a config')
    parser.add_argument('config', help='config file')
    parser.add_argument('--shape', type=int, nargs=3, metavar=('T', 'H', 'W'),
                        help='input of one view (default: the backbone\'s '
                        'num_frames and input_resolution)')
    parser.add_argument('--json', action='store_true',
                        help='print one JSON line instead of the table')
    parser.add_argument('--by-operator', action='store_true',
                        help='also list the MACs of every ATen operator')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    r = get_flops(args.config, args.shape, args.cfg_options)
    if args.json:
        print(json.dumps(r))
        return
    line = '=' * 30
    print(f'{line}\nConfig: {r["config"]}\n'
          f'Input shape: {tuple(r["input_shape"])}\n'
          f'Flops: {r["flops"] / 1e9:.2f} G (multiply-accumulates, one view)\n'
          f'Params: {r["params"] / 1e6:.2f} M\n'
          f'Trainable params: {r["trainable_params"] / 1e6:.2f} M\n{line}')
    if args.by_operator:
        for op, macs in sorted(r['by_operator'].items(), key=lambda x: -x[1]):
            print(f'  {op:<45s} {macs / 1e9:10.3f} G')
    print('!!!Please be cautious if you use the results in papers. '
          'Only matrix products, convolutions, attention and LayerNorm are '
          'counted.')


if __name__ == '__main__':
    main()
