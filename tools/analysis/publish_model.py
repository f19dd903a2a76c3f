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

Whenever a config is known (``--config``, or the one MMEngine stored in
the checkpoint), the checkpoint is first checked against the config's
model, built on the meta device: a file of another model, or no model
checkpoint at all, is refused naming the keys that differ. The file is
written under a temporary name in ``out_file``'s directory and renamed to
the hashed name; nothing that existed before is removed or overwritten:
``out_file`` may not be the input, and a hashed name that exists already
is left as it is (with the same content: said, status 0; with other
content: refused).
"""
import argparse
import copy
import hashlib
import os
import os.path as osp
import re
import sys
import tempfile
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
from mmengine.config import Config

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

from mmaction_aim.checkpoint import (CheckpointMismatchError,  # noqa: E402
                                     find_mismatches, meta_of,
                                     read_checkpoint, strip_prefix, unwrap)
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


def check_fits_config(checkpoint: Any, cfg: Config, name: str,
                      config_name: str) -> None:
    """Refuse, in one sentence, a checkpoint that the config's model (built
    on the meta device) could not load: another model's, or no model's.

    The state dict is adapted as loading adapts it (the layout of 0.1
    upgraded, the temporal embedding and positions resized), so a file that
    loads is never refused; an adapter-only file is checked for its own
    keys only.

    Raises:
        CheckpointMismatchError: Naming a few keys that differ, with counts.
    """
    from mmaction_aim.analysis import build_model
    from mmaction_aim.models.recognizers import is_adapter_only
    # A copy: build_model clears the backbone's ``pretrained`` in place.
    model = build_model(copy.deepcopy(cfg), device='meta')
    state = strip_prefix(unwrap(checkpoint, keys=('state_dict', ),
                                name=name))
    adapt = getattr(model, 'adapt_state_dict', None)
    if adapt is not None:
        state = adapt(state)
    ignore = ()
    if is_adapter_only(checkpoint):  # the image model is not in the file
        ignore = [f'^{re.escape(k)}$' for k in model.state_dict()
                  if k not in state]
    problems = find_mismatches(model, state, ignore)
    parts = [f'{len(keys)} {what} (e.g. {", ".join(keys[:shown])})'
             for what, keys, shown in (
                 ("of the model's keys missing", problems['missing'], 3),
                 ('key(s) unexpected', problems['unexpected'], 3),
                 ('tensor(s) of other shapes', problems['shape'], 1)) if keys]
    if parts:
        raise CheckpointMismatchError(
            f'{name} does not fit the model of {config_name}: '
            f'{", ".join(parts)}; a checkpoint of another model, or not a '
            'model checkpoint?')


def _sha256(path: str) -> str:
    sha = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            sha.update(block)
    return sha.hexdigest()


def save_with_hash(checkpoint: Dict[str, Any],
                   out_file: str) -> Tuple[str, bool]:
    """Save under a temporary name in ``out_file``'s directory and rename
    to ``<stem>-<sha256[:8]>.pth``, never over an existing file.

    Args:
        checkpoint (dict): What to save.
        out_file (str): ``name.pth``.

    Returns:
        tuple[str, bool]: The final path, and whether it was written (False:
        a file of that name and the same content was there already).

    Raises:
        BadInputError: A file of the hashed name exists with other content.
    """
    directory, base = osp.split(osp.abspath(out_file))
    handle, part = tempfile.mkstemp(prefix=f'.{base}.', suffix='.part',
                                    dir=directory)
    try:
        with os.fdopen(handle, 'wb') as f:
            # A stream, so that the archive's name inside the file (and so
            # the hash) does not depend on the temporary name.
            torch.save(checkpoint, f)
        sha = _sha256(part)
        stem = out_file[:-4] if out_file.endswith('.pth') else out_file
        final = f'{stem}-{sha[:8]}.pth'
        if osp.lexists(final):
            if osp.isfile(final) and _sha256(final) == sha:
                return final, False
            raise BadInputError(
                f'{final} exists already with other content; it is left as '
                'it is: move it away or give another output name')
        umask = os.umask(0)  # mkstemp's file is private; as torch.save's
        os.umask(umask)
        os.chmod(part, 0o666 & ~umask)
        os.replace(part, final)
        return final, True
    finally:
        if osp.exists(part):
            os.remove(part)


def _same_file(a: str, b: str) -> bool:
    if osp.exists(a) and osp.exists(b):
        return osp.samefile(a, b)
    return osp.realpath(a) == osp.realpath(b)


def publish(in_file: str, out_file: str, adapter: bool = False,
            config: Optional[str] = None) -> str:
    """Strip, optionally keep the adaptation only, hash-name.

    Args:
        in_file (str): Training checkpoint.
        out_file (str): ``name.pth``; the hash is added to it.
        adapter (bool): Keep the adaptation only.
        config (str, optional): Config the checkpoint is checked against
            (and, for ``adapter``, whose model says what to keep); defaults
            to the one stored in the checkpoint.

    Returns:
        str: The published file.
    """
    return publish_file(in_file, out_file, adapter, config)[0]


def publish_file(in_file: str, out_file: str, adapter: bool = False,
                 config: Optional[str] = None) -> Tuple[str, bool]:
    """:func:`publish`, and whether the file was written (False: it was
    published already, with the same content).

    Raises:
        BadInputError: ``out_file`` is ``in_file``; the checkpoint does not
            fit the config's model; the refusals of :func:`adapter_only`;
            a file of the hashed name with other content.
    """
    writable_file(out_file, 'name.pth')
    if _same_file(in_file, out_file):
        raise BadInputError(
            f'{out_file} is the input checkpoint; give another output name '
            '(the published file is named after it, with its hash added)')
    checkpoint = read_checkpoint(in_file)
    cfg, config_name = config_of(checkpoint, in_file, config)
    if cfg is None:
        if adapter:
            raise BadInputError(f'{in_file} stores no config; pass the one '
                                'it was trained with as --config')
        print(f'{in_file} stores no config, so it is not checked against '
              'a model (pass --config to check it)', flush=True)
    else:
        check_fits_config(checkpoint, cfg, in_file, config_name)
    published = adapter_only(checkpoint, cfg, in_file) if adapter else \
        strip_checkpoint(checkpoint, in_file)
    return save_with_hash(published, out_file)


def config_of(checkpoint: Any, name: str, config: Optional[str]
              ) -> Tuple[Optional[Config], str]:
    """The config to check ``checkpoint`` against: ``config``, or the one
    MMEngine stored in it, or None; and how to call it."""
    import mmaction_aim  # noqa: F401  (registers AIM, mmaction:: bases)
    if config is not None:
        return read_config(config), config
    text = meta_of(checkpoint).get('cfg')
    if not text:
        return None, ''
    try:
        cfg = Config.fromstring(text, file_format='.py')
    except SyntaxError as exc:
        raise BadInputError(
            f'the config stored in {name} does not parse ({exc.msg}, line '
            f'{exc.lineno}); pass the one it was trained with as --config'
        ) from None
    return cfg, f'the config stored in {name}'


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
    parser.add_argument('--config', help='config of the checkpoint, whose '
                        'model it is checked against (default: the one '
                        'stored in it)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    final, written = publish_file(args.in_file, args.out_file,
                                  args.adapter_only, args.config)
    n = len(read_checkpoint(final)['state_dict'])
    print(f'{final}: {n} tensors, {os.path.getsize(final) / 2**20:.1f} MiB'
          + ('' if written else ' (published already, with the same '
             'content: left as it was)'))


if __name__ == '__main__':
    main_with_clear_errors(main)
