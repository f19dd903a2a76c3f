"""Many tasks on one frozen image model.

AIM never changes the image model: a Kinetics model and a
Something-Something model adapted from the same CLIP differ only in their
adapters, temporal embedding, output norm and head. :func:`share_image_model`
makes several such recognizers use one copy of the frozen image-model
parameters (checking that they are the same weights), and
:class:`MultiTaskAIM` runs any of them per call.
"""
from typing import Dict, Mapping

import torch
from mmengine.logging import MMLogger
from torch import nn

from ...checkpoint import CheckpointMismatchError


def _owner(module: nn.Module, name: str):
    path, _, attr = name.rpartition('.')
    return (module.get_submodule(path) if path else module), attr


def share_image_model(models: Mapping[str, nn.Module]) -> int:
    """Make every recognizer use the first one's frozen image-model
    parameters, freeing its own copy.

    Only the image model's own weights are shared, chosen by structure
    (everything of the image model but the adaptation's parameters and the
    output norm, :meth:`AIMBackbone.adaptation_parameter_names`), whatever
    ``requires_grad`` says: a model frozen for inference shares the same.
    The image models must be the same family and architecture, with equal
    weights.

    Args:
        models (Mapping[str, nn.Module]): ``AIMRecognizer`` s by task name,
            weights loaded.

    Returns:
        int: Bytes of parameters no longer held twice.

    Raises:
        CheckpointMismatchError: A model whose image model is another one.
    """
    names = list(models)

    def frozen(model):
        # The image model's own weights (its blocks also hold the task's
        # adapters, and its output norm is the task's).
        own = set(model.backbone.adaptation_parameter_names())
        return {n: p for n, p in
                model.backbone.image_model.named_parameters()
                if f'image_model.{n}' not in own}

    reference = frozen(models[names[0]])
    freed = 0
    for task in names[1:]:
        image_model = models[task].backbone.image_model
        own = frozen(models[task])
        if own.keys() != reference.keys():
            raise CheckpointMismatchError(
                f'{task} adapts another image model than {names[0]} '
                f'(other frozen parameters)')
        for name, param in own.items():
            shared = reference[name]
            if shared.shape != param.shape or not torch.equal(shared,
                                                                param):
                raise CheckpointMismatchError(
                    f'{task} adapts other image-model weights than '
                    f'{names[0]} ({name} differs): they cannot share one')
            if shared is param:
                continue
            owner, attr = _owner(image_model, name)
            setattr(owner, attr, shared)
            freed += param.numel() * param.element_size()
    return freed


class MultiTaskAIM(nn.Module):
    """AIM recognizers of several tasks on one frozen image model.

    Args:
        models (dict): Task name -> ``AIMRecognizer`` (weights loaded, the
            same image model).

    Example:
        >>> tasks = MultiTaskAIM({'k400': k400_model, 'ssv2': ssv2_model})
        >>> scores = tasks('ssv2', clips)   # [B, 174]
    """

    def __init__(self, models: Dict[str, nn.Module]) -> None:
        super().__init__()
        self.tasks = nn.ModuleDict(models)
        self.freed_bytes = share_image_model(models)
        MMLogger.get_current_instance().info(
            f'{len(models)} tasks ({", ".join(models)}) on one image model: '
            f'{self.freed_bytes / 2**20:.1f} MiB of parameters not '
            'duplicated')

    def forward(self, task: str, inputs: torch.Tensor) -> torch.Tensor:
        """``task``'s class scores for clips ``[B, V, 3, T, H, W]``
        (normalised), its views averaged as its head averages them in
        testing (``average_clips``: probabilities for ``'prob'``).

        Returns:
            torch.Tensor: ``[B, num_classes]``.
        """
        if task not in self.tasks:
            raise KeyError(f'no task {task!r}; tasks: {list(self.tasks)}')
        model = self.tasks[task]
        scores = model(inputs, mode='tensor', stage='head')  # [B*V, C]
        return model.cls_head.average_clip(scores,
                                           num_segs=inputs.shape[1])
