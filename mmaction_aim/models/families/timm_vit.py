"""timm's VisionTransformer: ImageNet-21K ViTs, DeiT III, DINOv2 (with and
without registers), SigLIP, CLIP through timm."""
import sys
from typing import List, Tuple

import numpy as np
import torch
from timm.models.vision_transformer import Block, VisionTransformer
from torch import nn

from ...checkpoint import ImageModelMismatchError, StateDict
from ..layers.adapted_block import BlockParts
from .base import ImageModelFacts, Stage
from .weight_files import describe_state_dict, differences, vit_facts
from .registry import FAMILIES
from .timm_common import TimmFamily


#: timm's ViT ``Block`` (``norm1``, ``attn``, ``ls1``, ``norm2``, ``mlp``,
#: ``ls2``): the temporal branch reuses ``norm1`` and ``attn`` (its ``proj``
#: included) along time, as the original AIM does for its ImageNet ViT; the
#: spatial adapter sits on the attention's output, before the layer scale
#: ``ls1``; the MLP keeps ``ls2``. timm's own drop-path is not kept (AIM's
#: ``drop_path_rate`` applies to the temporal and joint branches).
TIMM_BLOCK = BlockParts()


class FlatTimmFamily(TimmFamily):
    """What timm's flat ViT-like models (VisionTransformer, Eva) share: one
    stage of ``blocks``, the model's own output, files through timm's
    checkpoint filter after :mod:`.weight_files` checked them."""

    def stages(self, model: nn.Module) -> List[Stage]:
        return [(nn.Identity(), model.blocks)]

    def pre_blocks(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return model.norm_pre(model.patch_drop(x))

    def output(self, model: nn.Module, x: torch.Tensor,
               batch: int) -> torch.Tensor:
        # The model's own output: final norm, then its pooling (class token,
        # average or attention pool) and fc_norm.
        x = model.forward_head(model.norm(x), pre_logits=True)  # [B*T, D]
        return x.view(batch, -1, x.shape[-1]).transpose(1, 2)  # [B, D, T]

    def facts(self, model: nn.Module) -> ImageModelFacts:
        return ImageModelFacts(
            width=model.num_features, token_width=model.embed_dim,
            input_size=int(model.patch_embed.img_size[0]),
            fixed_input_size=not getattr(model, 'dynamic_img_size', False),
            output_norms=tuple(name for name in ('norm', 'fc_norm') if not
                               isinstance(getattr(model, name), nn.Identity)))

    def read(self, path: str) -> StateDict:
        if path.endswith('.npz'):
            return self.read_npz(path)
        return super().read(path)

    def read_npz(self, path: str) -> StateDict:
        """A Google ``.npz`` (big_vision / jax) file, through timm's own
        reader of it (``np.load`` without pickle) into a plain CPU copy of
        the model."""
        np.load(path, allow_pickle=False).close()  # a readable .npz, or else
        with torch.device('cpu'):
            plain = self.build()
        plain.load_pretrained(path)
        return plain.state_dict()

    def convert(self, state_dict: StateDict, model: nn.Module,
                name: str) -> StateDict:
        """Any file timm's own filter reads (timm, OpenAI / open_clip CLIP,
        original DINOv2), checked first to be of this model's structure,
        then converted and resized by timm's ``checkpoint_filter_fn``."""
        file = vit_facts(state_dict)
        ours = vit_facts(model.state_dict(keep_vars=True))
        if file is None:
            raise ImageModelMismatchError(
                f'{name} holds {describe_state_dict(state_dict)}, not '
                f'weights of {self.describe()}')
        wrong = differences(file, ours)
        if wrong:
            raise ImageModelMismatchError(
                f'{name} is not a file of {self.describe()}: it holds '
                f'{file.describe()}; the image model has '
                f'{ours.describe().split(": ", 1)[1]} (differing: '
                + ', '.join(f'{k} {a} vs {b}' for k, (a, b) in wrong.items())
                + '). Point model.backbone.pretrained at a file of this '
                "model, or set image_model's model_name to the file's.")
        module = sys.modules[type(model).__module__]
        state_dict = module.checkpoint_filter_fn(state_dict, model)
        return self.drop_classifier(state_dict, model)


@FAMILIES.register_module()
class TimmViT(FlatTimmFamily):
    """timm's :class:`~timm.models.vision_transformer.VisionTransformer`:
    ImageNet-21K ViTs, DeiT III, DINOv2 with or without registers, SigLIP,
    CLIP through timm.

    Per frame: the model's patch and positional embedding (prefix tokens
    included), AIM's temporal embedding on every token, ``norm_pre``, the
    adapted blocks, the model's own output (final norm, then class token,
    average or attention pool). Fresh adapters give, for every frame,
    exactly what the timm model returns for that image.

    Args: see :class:`~.timm_common.TimmFamily`.
    """

    model_cls = VisionTransformer
    block_types = {Block: TIMM_BLOCK}
    # The original's ViT_ImageNet (vit_imagenet.py) runs its blocks
    # batch-first, [B*T, N, D], in both branches, so its timm DropPath drew
    # one mask per frame (unlike its sequence-first CLIP ViT).
    original_drop_path = dict(temporal=('clip', 'frame'),
                              joint=('clip', 'frame'))

    def embed(self, model: VisionTransformer, x: torch.Tensor
              ) -> Tuple[torch.Tensor, dict]:
        b, c, t, h, w = x.shape
        x = x.transpose(1, 2).reshape(b * t, c, h, w)  # [B*T, 3, H, W]
        x = model.patch_embed(x)  # [B*T, g*g, D] (NHWC if dynamic size)
        return model._pos_embed(x), {}  # [B*T, N, D]
