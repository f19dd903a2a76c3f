"""Exporting a trained AIM recognizer for deployment.

:class:`DeployableRecognizer` is the whole recognizer as one function of
raw clips: ``[B, V, 3, T, H, W]`` RGB on the 0-255 scale (``V`` views of a
video, e.g. 3 clips x 1 crop) to class scores ``[B, num_classes]``, the
data preprocessor's normalisation and the head's averaging of views
(``average_clips``) folded in. :func:`export_recognizer` writes it with
PyTorch's current exporters: ``torch.export`` (an ``ExportedProgram``,
``.pt2``) or ONNX (``torch.onnx.export(..., dynamo=True)``), and
:func:`check_export` runs the file (the exported program, or ONNX Runtime
on the CPU) against PyTorch eager.
"""
import contextlib
from typing import Iterator, Tuple

import numpy as np
import torch
from torch import nn

from ..utils.cli import writable_file

FORMATS = ('onnx', 'torch_export')
#: The file extension of each format.
SUFFIXES = {'onnx': '.onnx', 'torch_export': '.pt2'}


def format_of(path: str) -> str:
    """The format a file name asks for, by its extension (``.onnx``:
    ``'onnx'``, ``.pt2``: ``'torch_export'``).

    Raises:
        ValueError: Another extension.
    """
    for fmt, suffix in SUFFIXES.items():
        if path.lower().endswith(suffix):
            return fmt
    raise ValueError(f'{path} names neither format: write a .onnx (ONNX) '
                     'or a .pt2 (torch.export) file')


class DeployableRecognizer(nn.Module):
    """An AIM recognizer as ``raw clips -> class scores``.

    Args:
        model: An ``AIMRecognizer`` (weights loaded).
        output (str): ``'scores'``: views averaged as the head averages
            them in testing (``average_clips``; probabilities for
            ``'prob'``), ``[B, num_classes]``; ``'logits'``: every view's
            logits, ``[B, V, num_classes]``. Defaults to ``'scores'``.
    """

    def __init__(self, model: nn.Module, output: str = 'scores') -> None:
        super().__init__()
        if output not in ('scores', 'logits'):
            raise ValueError(f"output: 'scores' or 'logits', got {output!r}")
        self.output = output
        self.model = model.eval()
        pre = model.data_preprocessor
        self.register_buffer('mean', pre.mean.detach().reshape(1, 1, 3, 1,
                                                               1, 1))
        self.register_buffer('std', pre.std.detach().reshape(1, 1, 3, 1, 1,
                                                             1))

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """``[B, V, 3, T, H, W]`` (0-255) -> ``[B, num_classes]`` (or
        ``[B, V, num_classes]`` logits)."""
        batch, views = clips.shape[:2]
        x = (clips.float() - self.mean) / self.std
        scores = self.model(x, mode='tensor', stage='head')  # [B*V, C]
        if self.output == 'logits':
            return scores.view(batch, views, -1)
        return self.model.cls_head.average_clip(scores, num_segs=views)


def example_input(model: nn.Module, views: int, batch: int = 1,
                  seed: int = 0) -> torch.Tensor:
    """Random raw clips of the model's frames and frame size."""
    backbone = model.backbone
    size = backbone.input_size
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (batch, views, 3, backbone.num_frames,
                                  size, size),
                         generator=generator).float()


def export_recognizer(model: nn.Module, path: str, fmt: str, views: int,
                      batch: int = 1, output: str = 'scores') -> str:
    """Write ``model`` (folded into :class:`DeployableRecognizer`) to
    ``path``.

    Args:
        model: An ``AIMRecognizer``.
        path (str): The file (``.onnx`` or ``.pt2``).
        fmt (str): ``'onnx'`` or ``'torch_export'``.
        views (int): Views per video, fixed in the file.
        batch (int): Videos per call, fixed in the file. Defaults to 1.
        output (str): Of :class:`DeployableRecognizer`. Defaults to
            ``'scores'``.

    Returns:
        str: ``path``.

    Raises:
        ValueError: An unknown format, or fewer than one view or video.
        BadInputError: ``path`` is a directory, or its directory cannot
            be made.
    """
    if fmt not in FORMATS:
        raise ValueError(f'format: one of {FORMATS}, got {fmt!r}')
    if views < 1 or batch < 1:
        raise ValueError(f'views and batch must be at least 1, got {views} '
                         f'and {batch}')
    writable_file(path, '.onnx or .pt2')
    wrapped = DeployableRecognizer(model, output).eval()
    example = (example_input(model, views, batch), )
    with torch.no_grad():
        if fmt == 'torch_export':
            torch.export.save(torch.export.export(wrapped, example), path)
        else:
            with explicit_attention(model):
                program = torch.onnx.export(wrapped, example, dynamo=True,
                                            input_names=['clips'],
                                            output_names=['scores'],
                                            verbose=False)
            program.save(path)
    return path


@contextlib.contextmanager
def explicit_attention(model: nn.Module) -> Iterator[None]:
    """timm's attention modules computing by their explicit path (products
    and softmax) rather than the fused kernel, for the ONNX exporter, which
    takes the fused kernel on 4-D tensors only (Hiera's mask-unit attention
    calls it on 5-D ones). The same function; restored afterwards."""
    fused = [m for m in model.modules() if getattr(m, 'fused_attn', False)]
    for module in fused:
        module.fused_attn = False
    try:
        yield
    finally:
        for module in fused:
            module.fused_attn = True


def run_export(path: str, fmt: str, clips: torch.Tensor) -> np.ndarray:
    """The exported file's scores for ``clips``."""
    if fmt == 'torch_export':
        program = torch.export.load(path)
        with torch.no_grad():
            return program.module()(clips).numpy()
    import onnxruntime
    session = onnxruntime.InferenceSession(
        path, providers=['CPUExecutionProvider'])
    return session.run(None, {session.get_inputs()[0].name:
                              clips.numpy()})[0]


def check_export(model: nn.Module, path: str, fmt: str, views: int,
                 batch: int = 1, seed: int = 1,
                 output: str = 'scores') -> Tuple[float, float]:
    """Largest difference between the file's scores and PyTorch eager's on
    fresh random clips, and the largest score (scale)."""
    clips = example_input(model, views, batch, seed)
    with torch.no_grad():
        eager = DeployableRecognizer(model, output).eval()(clips).numpy()
    exported = run_export(path, fmt, clips)
    return float(np.abs(exported - eager).max()), float(np.abs(eager).max())
