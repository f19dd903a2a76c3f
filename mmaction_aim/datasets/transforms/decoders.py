"""Choosing a pipeline's decoder: decord's two entries replaced by another
decoder's (what the loader benchmark compares)."""
from typing import List

#: ``decoder`` of :func:`with_decoder` -> the transforms replacing decord's.
DECODERS = {
    'sparse': ('SparseInit', 'SparseDecode'),
    'torchcodec': ('TorchCodecInit', 'TorchCodecDecode'),
}


def with_decoder(pipeline: List[dict], decoder: str) -> List[dict]:
    """``pipeline`` with its decord pair replaced: ``'decord'`` (as is),
    ``'sparse'`` (:class:`SparseInit` / :class:`SparseDecode`) or
    ``'torchcodec'`` (``TorchCodecInit`` / ``TorchCodecDecode``)."""
    if decoder == 'decord':
        return list(pipeline)
    if decoder not in DECODERS:
        raise ValueError(f"decoder: 'decord' or one of {sorted(DECODERS)}, "
                         f'got {decoder!r}')
    init, decode = DECODERS[decoder]
    swap = {'DecordInit': dict(type=init), 'DecordDecode': dict(type=decode)}
    types = [t.get('type') if isinstance(t, dict) else None for t in pipeline]
    if not set(swap) <= set(types):
        raise ValueError(f'decoder={decoder!r} replaces DecordInit and '
                         'DecordDecode, but the pipeline has '
                         f'{[t for t in types if t]}')
    return [swap.get(t.get('type'), t) if isinstance(t, dict) else t
            for t in pipeline]
