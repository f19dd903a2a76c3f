"""Prepare a checkpoint for release, MMAction2 style.

Usage::

    python tools/analysis/publish_model.py \
        work_dirs/aim_vitb_k400/best_acc_top1_epoch_30.pth aim_vitb_k400.pth
    # -> aim_vitb_k400-<first 8 hex of sha256>.pth

    # adapters, temporal embedding, ln_post and head only (~11M of 97M)
    python tools/analysis/publish_model.py IN.pth aim_vitb_k400.pth \
        --trainable-only [--config configs/aim_vitb_k400.py]

Keeps the weights (``state_dict``) and ``meta``; drops the optimizer, the
message hub, the parameter schedulers and everything else training needs.
With ``--trainable-only``, only the parameters the config trains are kept:
the model is built from ``--config`` (by default from the config text MMEngine
stored in the checkpoint's ``meta['cfg']``) on the meta device, and its
``requires_grad`` flags say which. Such a file loads into the full model
(``load_from``, ``tools/test.py``, ``tools/demo.py``) once
``model.backbone.pretrained`` names the image model.
"""
import argparse
import hashlib
import os
import os.path as osp
import sys
from typing import Any, Dict, List, Optional, Sequence

import torch
from mmengine.config import Config

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

from mmaction_aim.utils import main_with_clear_errors  # noqa: E402


def load_checkpoint_file(path: str) -> Dict[str, Any]:
    """Open a checkpoint without running pickled code.

    Args:
        path (str): ``.pth`` file.

    Returns:
        dict: The checkpoint (``{'state_dict': ...}`` or a bare state dict).
    """
    from mmaction_aim.engine.checkpoint import safe_load
    return safe_load(path, map_location='cpu')


def trainable_names(cfg: Config) -> List[str]:
    """Names of the parameters the config's model trains.

    Args:
        cfg (Config): The training config.

    Returns:
        List[str]: ``named_parameters`` names with ``requires_grad``.
    """
    from mmaction_aim.analysis import build_model
    model = build_model(cfg, device='meta')
    return [n for n, p in model.named_parameters() if p.requires_grad]


def strip_checkpoint(checkpoint: Dict[str, Any],
                     keep: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Weights and meta only, optionally only the keys in ``keep``.

    Args:
        checkpoint (dict): As saved by MMEngine (or a bare state dict).
        keep (Sequence[str], optional): State-dict keys to keep (every one
            must be there). Defaults to None (all).

    Returns:
        dict: ``{'state_dict': ..., 'meta': ...}``.
    """
    if 'state_dict' in checkpoint:
        state_dict = checkpoint['state_dict']
        meta = dict(checkpoint.get('meta') or {})
    else:
        state_dict, meta = checkpoint, {}
    if keep is not None:
        missing = [k for k in keep if k not in state_dict]
        if missing:
            raise KeyError(f'The checkpoint lacks trainable parameters '
                           f'{missing[:5]}{"..." if len(missing) > 5 else ""}'
                           ' (wrong config?)')
        state_dict = {k: state_dict[k] for k in keep}
        meta['trainable_only'] = True
    return dict(state_dict={k: v.cpu() for k, v in state_dict.items()},
                meta=meta)


def save_with_hash(checkpoint: Dict[str, Any], out_file: str) -> str:
    """Save and rename to ``<stem>-<sha256[:8]>.pth``.

    Args:
        checkpoint (dict): What to save.
        out_file (str): ``name.pth``.

    Returns:
        str: The final path.
    """
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    torch.save(checkpoint, out_file)
    sha = hashlib.sha256()
    with open(out_file, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            sha.update(block)
    stem = out_file[:-4] if out_file.endswith('.pth') else out_file
    final = f'{stem}-{sha.hexdigest()[:8]}.pth'
    os.replace(out_file, final)
    return final


def publish(in_file: str, out_file: str, trainable_only: bool = False,
            config: Optional[str] = None) -> str:
    """Strip, optionally keep trainable weights only, hash-name.

    Args:
        in_file (str): Training checkpoint.
        out_file (str): ``name.pth``; the hash is added to it.
        trainable_only (bool): Keep only the trained parameters.
        config (str, optional): Config for ``trainable_only``; defaults to
            the one stored in the checkpoint.

    Returns:
        str: The published file.
    """
    checkpoint = load_checkpoint_file(in_file)
    keep = None
    if trainable_only:
        if config is not None:
            cfg = Config.fromfile(config)
        else:
            text = (checkpoint.get('meta') or {}).get('cfg')
            if not text:
                raise ValueError(f'{in_file} stores no config; pass --config')
            cfg = Config.fromstring(text, file_format='.py')
        keep = trainable_names(cfg)
    return save_with_hash(strip_checkpoint(checkpoint, keep), out_file)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Strip a checkpoint for release and hash-name it')
    parser.add_argument('in_file', help='training checkpoint')
    parser.add_argument('out_file', help='output name (name.pth)')
    parser.add_argument('--trainable-only', action='store_true',
                        help='keep only the trainable parameters')
    parser.add_argument('--config', help='config of the checkpoint (default: '
                        'the one stored in it)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    final = publish(args.in_file, args.out_file, args.trainable_only,
                    args.config)
    n = len(load_checkpoint_file(final)['state_dict'])
    print(f'{final}: {n} tensors, {os.path.getsize(final) / 2**20:.1f} MiB')


if __name__ == '__main__':
    main_with_clear_errors(main)
