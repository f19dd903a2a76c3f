"""What AIM needs to know of one timm image-model class: a family."""
import sys
from typing import Callable, Dict, List, Tuple, Type

import torch
from torch import nn

from ..layers.adapted_block import AdaptedBlock


class UnsupportedImageModelError(ValueError):
    """A timm model that AIM cannot adapt, with the reason."""


class TimmFamily:
    """How AIM adapts the models of one timm class.

    A family names the timm model class, maps each of its block classes to
    the :class:`~..layers.AdaptedBlock` subclass that adapts it in place
    (keeping the block's layers and names), and says how the model embeds a
    frame before its blocks and what each block takes per forward. The
    output (final norm, then ``forward_head(pre_logits=True)``) and the
    reading of weight files (the model module's ``checkpoint_filter_fn``)
    are the same for every timm ViT-like model.
    """

    #: The timm model class (exactly; subclasses may forward differently).
    model_cls: Type[nn.Module]
    #: timm block class -> the AdaptedBlock subclass that adapts it.
    block_types: Dict[Type[nn.Module], Type[AdaptedBlock]]

    def check(self, model: nn.Module) -> None:
        """Raise :class:`UnsupportedImageModelError` for a model of this
        class that AIM cannot adapt (and say why)."""
        types = sorted(t.__name__ for t in self.block_types)
        for i, block in enumerate(model.blocks):
            if type(block) not in self.block_types:
                raise UnsupportedImageModelError(
                    f'block {i} is a {type(block).__name__}; AIM adapts '
                    'pre-norm residual blocks (norm1 -> attn, norm2 -> mlp) '
                    f'of the types {types}')

    def adapt_block(self, block: nn.Module, embed_dims: int,
                    num_frames: int, **aim_kwargs) -> AdaptedBlock:
        """The adapted block, built around ``block``'s own layers."""
        return self.block_types[type(block)](block, embed_dims, num_frames,
                                             **aim_kwargs)

    def embed(self, model: nn.Module,
              x: torch.Tensor) -> Tuple[torch.Tensor, dict]:
        """Patch and positional embedding of frames ``[B*T, 3, H, W]``.

        Returns:
            tuple: Tokens ``[B*T, N, D]`` with prefix tokens and positions,
            before ``norm_pre``; the keyword arguments every block takes
            in this forward (EVA's rotary embedding).
        """
        raise NotImplementedError

    def pre_blocks(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """What runs between the embedding (plus AIM's temporal embedding)
        and the blocks: patch dropout, ``norm_pre``."""
        return model.norm_pre(x)

    def pool(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """The model's own output: final norm, then its pooling (class
        token, average or attention pool) and ``fc_norm``.

        Args:
            x (torch.Tensor): Tokens ``[B*T, N, D]`` after the blocks.

        Returns:
            torch.Tensor: ``[B*T, D]``.
        """
        return model.forward_head(model.norm(x), pre_logits=True)

    def output_norms(self, model: nn.Module) -> List[nn.Module]:
        """The final norm(s) (``norm``, ``fc_norm``) that are not identity."""
        return [m for m in (model.norm, model.fc_norm)
                if not isinstance(m, nn.Identity)]

    def filter_fn(self, model: nn.Module) -> Callable:
        """timm's ``checkpoint_filter_fn`` of the model's module: converts
        other releases (OpenAI / open_clip CLIP, original DINOv2, ...) and
        resizes positions and patch embeddings, as timm does."""
        module = sys.modules[type(model).__module__]
        return module.checkpoint_filter_fn
