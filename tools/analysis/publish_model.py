"""Prepare a checkpoint for release, MMAction2 style.

Usage::

    python tools/analysis/publish_model.py \
        work_dirs/aim_vitb_k400/epoch_30.pth aim_vitb_k400.pth
    # -> aim_vitb_k400-<first 8 hex of sha256>.pth

    # the adaptation only (adapters, temporal embedding, output norm, head;
    # about 11M of 97M parameters for ViT-B/16)
    python tools/analysis/publish_model.py IN.pth aim_vitb_k400.pth \
        --adapter-only [--config configs/aim_vitb_k400.py]

Keeps the weights (``state_dict``) and ``meta``; drops the optimizer, the
message hub, the parameter schedulers and everything else training needs.
With ``--adapter-only`` (``--trainable-only`` is the same), the file keeps
exactly what ``AIMRecognizer.adapter_keys`` names, the package's one
definition of an adapter-only checkpoint (by structure, not by what trains),
and records in ``meta`` the image model it needs: family, name and a
fingerprint of its weights, taken from the checkpoint itself. The model is
built from ``--config`` (by default the config MMEngine stored in the
checkpoint) on the meta device. Such a file loads (``load_from``,
``tools/test.py``, ``tools/demo.py``) once ``model.backbone.pretrained``
names that image model. An adapter-only file given as input is published
as it is. Refused with one ``error:`` line (publish the full checkpoint
instead): a model whose image model was never loaded (its config has
neither ``model.backbone.pretrained`` nor ``load_from``: the image model is
a random initialisation no file holds, so no file could be merged), and an
adapter-only file that records no image model (before 0.2).
"""
import argparse
import hashlib
import os
import os.path as osp
import sys
from typing import Any, Dict, Optional, Sequence

import torch
from mmengine.config import Config

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

from mmaction_aim.checkpoint import (CheckpointMismatchError,  # noqa: E402
                                     meta_of, read_checkpoint, strip_prefix,
                                     unwrap)
from mmaction_aim.utils import (BadInputError,  # noqa: E402
                                main_with_clear_errors, read_config,
                                writable_file)


def adapter_only(checkpoint: Any, cfg: Config, name: str) -> Dict[str, Any]:
    """The adapter-only checkpoint of a full one (see the module doc); an
    adapter-only one that records its image model as it is.

    Raises:
        BadInputError: The image model was never loaded (no
            ``model.backbone.pretrained``, no ``load_from``), or
            ``checkpoint`` is adapter-only already and records no image
            model: no file could be merged.
        CheckpointMismatchError: The checkpoint lacks keys the config's
            model has (another config?).
    """
    from mmaction_aim.analysis import build_model
    from mmaction_aim.models.recognizers import is_adapter_only
    from mmaction_aim.models.utils import upgrade_layout
    if is_adapter_only(checkpoint):
        if not isinstance(meta_of(checkpoint).get('image_model'), dict):
            raise BadInputError(
                f'{name} is adapter-only and records no image model (written '
                'before mmaction-aim 0.2), so a file published from it could '
                'not be checked against one; publish it without '
                '--adapter-only')
        return strip_checkpoint(checkpoint, name)
    if not cfg.model.backbone.get('pretrained') and not cfg.get('load_from'):
        raise BadInputError(
            f'{name} was trained on an image model that was never loaded '
            '(its config sets neither model.backbone.pretrained nor '
            'load_from), so its adapters could never be merged onto a file; '
            'publish the full checkpoint (without --adapter-only)')
    model = build_model(cfg, device='meta')
    state = upgrade_layout(strip_prefix(unwrap(checkpoint,
                                               keys=('state_dict', ),
                                               name=name)))
    keys = model.adapter_keys()
    first = 'backbone.' + model.backbone.first_image_model_key()
    missing = [k for k in keys + [first] if k not in state]
    if missing:
        raise CheckpointMismatchError(
            f'{name} lacks {len(missing)} keys of the config\'s model '
            f'({missing[:5]}): another config? Pass it with --config')
    meta = {k: v for k, v in meta_of(checkpoint).items()
            if k != 'trainable_only'}
    meta = model.adapter_meta(meta, image_weights=state[first])
    meta['pretrained'] = cfg.model.backbone.get('pretrained')
    return dict(state_dict={k: state[k].cpu() for k in keys}, meta=meta)


def strip_checkpoint(checkpoint: Any, name: str) -> Dict[str, Any]:
    """Weights and meta only."""
    state = unwrap(checkpoint, keys=('state_dict', ), name=name)
    return dict(state_dict={k: v.cpu() for k, v in state.items()},
                meta=meta_of(checkpoint))


def save_with_hash(checkpoint: Dict[str, Any], out_file: str) -> str:
    """Save and rename to ``<stem>-<sha256[:8]>.pth``.

    Args:
        checkpoint (dict): What to save.
        out_file (str): ``name.pth``.

    Returns:
        str: The final path.
    """
    torch.save(checkpoint, out_file)
    sha = hashlib.sha256()
    with open(out_file, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            sha.update(block)
    stem = out_file[:-4] if out_file.endswith('.pth') else out_file
    final = f'{stem}-{sha.hexdigest()[:8]}.pth'
    os.replace(out_file, final)
    return final


def publish(in_file: str, out_file: str, adapter: bool = False,
            config: Optional[str] = None) -> str:
    """Strip, optionally keep the adaptation only, hash-name.

    Args:
        in_file (str): Training checkpoint.
        out_file (str): ``name.pth``; the hash is added to it.
        adapter (bool): Keep the adaptation only.
        config (str, optional): Config for ``adapter``; defaults to the one
            stored in the checkpoint.

    Returns:
        str: The published file.
    """
    writable_file(out_file, 'name.pth')
    checkpoint = read_checkpoint(in_file)
    if not adapter:
        return save_with_hash(strip_checkpoint(checkpoint, in_file),
                              out_file)
    import mmaction_aim  # noqa: F401  (registers AIM)
    if config is not None:
        cfg = read_config(config)
    else:
        text = meta_of(checkpoint).get('cfg')
        if not text:
            raise BadInputError(f'{in_file} stores no config; pass the one '
                                'it was trained with as --config')
        cfg = Config.fromstring(text, file_format='.py')
    return save_with_hash(adapter_only(checkpoint, cfg, in_file), out_file)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(
        description='Strip a checkpoint for release and hash-name it')
    parser.add_argument('in_file', help='training checkpoint')
    parser.add_argument('out_file', help='output name (name.pth)')
    parser.add_argument('--adapter-only', '--trainable-only',
                        dest='adapter_only', action='store_true',
                        help='keep only the adaptation (adapters, temporal '
                        'embedding, output norm, head)')
    parser.add_argument('--config', help='config of the checkpoint (default: '
                        'the one stored in it)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    final = publish(args.in_file, args.out_file, args.adapter_only,
                    args.config)
    n = len(read_checkpoint(final)['state_dict'])
    print(f'{final}: {n} tensors, {os.path.getsize(final) / 2**20:.1f} MiB')


if __name__ == '__main__':
    main_with_clear_errors(main)
