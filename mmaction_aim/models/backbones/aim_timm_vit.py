"""AIM on timm's Vision Transformers: any supported timm name, adapted in
place."""
from typing import Dict, List, Optional

import torch
from torch import nn

from mmaction.registry import MODELS
from ..families import family_of
from ..utils.timm_checkpoint import read_timm_file
from .aim_base import ImageModelMismatchError
from .timm_image_model import TimmImageModelBackbone

@MODELS.register_module()
class AIMTimmViT(TimmImageModelBackbone):
    """A timm Vision Transformer with AIM's temporal, spatial and joint
    adaptation (Yang et al., ICLR 2023).

    ``timm.create_model(model_name, **timm_kwargs)`` builds the image model
    (``image_model``, timm's modules and names as they are, so timm's
    weights load unchanged); each of its blocks is adapted in place by its
    family (:mod:`mmaction_aim.models.families`: timm's
    ``VisionTransformer`` -- ImageNet-21K ViTs, DeiT III, DINOv2 with or
    without registers, SigLIP, CLIP -- and ``Eva`` -- EVA-02). A model AIM
    cannot adapt is refused with the reason.

    Per frame: patch embedding and positions as the model does them, AIM's
    temporal embedding added to every token (prefix tokens included), the
    model's ``norm_pre``, the adapted blocks, then the model's own output:
    final norm and ``forward_head(pre_logits=True)`` (class token, average
    or attention pool). With fresh adapters the backbone returns, for every
    frame, exactly what the timm model returns for that image.

    Input ``[B, 3, T, H, W]``; output ``[B, D, T]``.

    Args:
        model_name (str): A timm model name, with or without its pretrained
            tag (``'vit_base_patch16_224.augreg_in21k'``).
        timm_kwargs (dict, optional): Passed on to ``timm.create_model``
            (``img_size``, ``depth``, ...). Defaults to None.
        pretrained (str, optional): The image model's weights: a timm
            ``.pth`` / ``.safetensors``, a Google ``.npz``, an OpenAI
            (TorchScript) or open_clip CLIP file, an original DINOv2 file.
            Read and converted by timm's own loader and the model's
            checkpoint filter, then loaded strictly. Defaults to None.
        **kwargs: AIM's arguments, as :class:`~.aim_vit.AIMViT` names them:
            ``num_frames``, ``num_tadapter``, ``adapter_scale``,
            ``adapter_mlp_ratio``, ``drop_path_rate``, ``adapters``,
            ``adapter_layers``, ``temporal_embedding``,
            ``freeze_image_model``, ``freeze_ln_post`` (the final norm,
            ``norm`` or ``fc_norm``), ``with_cp``, ``recompute_frozen``,
            ``init_cfg`` (:class:`~.aim_base.AIMBackbone`).
    """

    def __init__(self,
                 model_name: str,
                 timm_kwargs: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(model_name, timm_kwargs, **kwargs)
        image_model = self.create_image_model()
        self.family = family_of(image_model, model_name)
        self.width = width = image_model.embed_dim
        blocks = list(image_model.blocks)
        image_model.blocks = nn.Sequential(*[
            self.family.adapt_block(block, width, self.num_frames, **args)
            for block, args in zip(
                blocks, self.adaptation_args(len(blocks)), strict=True)
        ])
        self.image_model = image_model
        self.build_temporal_embedding(width)
        self.mark_trainable()

    # ------------------------------------------------- the family's parts
    def output_norms(self) -> List[nn.Module]:
        return self.family.output_norms(self.image_model)

    # ---------------------------------------------------------- weights
    def read_image_model(self, path: str) -> Dict[str, torch.Tensor]:
        """Any released file of this model (:func:`read_timm_file`: timm's
        reader and the model's checkpoint filter), under ``image_model.``."""
        state_dict = read_timm_file(
            path, self.model_name, self.timm_kwargs,
            self.family.filter_fn(self.image_model), self.image_model)
        return {f'image_model.{k}': v for k, v in state_dict.items()}

    # ---------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-frame features of a batch of clips.

        Args:
            x (torch.Tensor): ``[B, 3, T, H, W]``.

        Returns:
            torch.Tensor: ``[B, D, T]``, what the timm model's
            ``forward_head(..., pre_logits=True)`` gives for each frame.
        """
        b, c, t, h, w = x.shape
        self.check_frames(t)
        model = self.image_model
        x = x.transpose(1, 2).reshape(b * t, c, h, w)  # [B*T, 3, H, W]
        x, block_kwargs = self.family.embed(model, x)  # [B*T, N, D]
        x = self.add_temporal_embedding(x, b)
        x = self.family.pre_blocks(model, x)
        x = self.forward_blocks(x, model.blocks, **block_kwargs)
        x = self.family.pool(model, x)  # [B*T, D]
        return x.view(b, t, -1).transpose(1, 2)  # [B, D, T]


__all__ = ['AIMTimmViT', 'ImageModelMismatchError']
