"""AIM's recognizer: MMAction2's 3D recognizer plus what AIM users need."""
import os
from typing import Dict, Optional

import torch
from mmengine.logging import MMLogger

from mmaction.models.recognizers import Recognizer3D
from mmaction.registry import MODELS
from ..utils.params import trainable_summary


@MODELS.register_module()
class AIMRecognizer(Recognizer3D):
    """MMAction2's :class:`Recognizer3D` with AIM's conveniences.

    * Multi-view testing in chunks of ``test_cfg.max_testing_views`` clips at
      any batch size (MMAction2's own chunking needs batch size 1).
    * The trainable-parameter summary
      ``trainable params: N || all params: M || trainable%: P`` logged once,
      when the model is built.
    * Adapter-only checkpoints: :meth:`trainable_state_dict` /
      :meth:`save_trainable` write only the trainable parameters; loading
      such a state dict (through :meth:`load_state_dict`, MMEngine's
      ``load_from`` or ``tools/test.py``) first loads the frozen image model
      from ``backbone.pretrained`` and merges the file onto it.

    Inputs ``[B, V, 3, T, H, W]`` (``V`` views per video); in ``'tensor'``
    mode the raw class scores ``[B*V, num_classes]``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        MMLogger.get_current_instance().info(
            f'{type(self).__name__}: {trainable_summary(self)}')

    def _forward(self, inputs: torch.Tensor, stage: str = 'head',
                 **kwargs) -> torch.Tensor:
        """``mode='tensor'``: raw class scores ``[B*V, num_classes]``.

        Args:
            inputs (torch.Tensor): ``[B, V, 3, T, H, W]``.
            stage (str): ``'backbone'``, ``'neck'`` or ``'head'``. Defaults
                to ``'head'``.
        """
        feats, _ = self.extract_feat(inputs, stage=stage)
        return feats

    def extract_feat(self,
                     inputs: torch.Tensor,
                     stage: str = 'neck',
                     data_samples=None,
                     test_mode: bool = False) -> tuple:
        """Backbone (and neck) features; chunked over views when testing.

        Args:
            inputs (torch.Tensor): ``[B, V, 3, T, H, W]``.
            stage (str): Where to stop when training. Defaults to ``'neck'``.
            data_samples (list, optional): Data samples. Defaults to None.
            test_mode (bool): Whether testing. Defaults to False.

        Returns:
            tuple: Features ``[B*V, D, T]`` and kwargs for the head.
        """
        max_views = (self.test_cfg or {}).get('max_testing_views')
        if not (test_mode and max_views):
            return super().extract_feat(inputs, stage, data_samples,
                                        test_mode)
        if not isinstance(max_views, int) or max_views < 1:
            raise ValueError('test_cfg.max_testing_views must be a positive '
                             f'int, got {max_views!r}')
        inputs = inputs.flatten(0, 1)  # [B*V, 3, T, H, W]
        feats = []
        for chunk in inputs.split(max_views):
            feat = self.backbone(chunk)  # [chunk, D, T]
            if self.with_neck:
                feat, _ = self.neck(feat)
            feats.append(feat)
        predict_kwargs = dict(fcn_test=self.test_cfg.get('fcn_test', False))
        return torch.cat(feats), predict_kwargs

    # ------------------------------------------------- adapter-only weights
    def trainable_state_dict(self) -> Dict[str, torch.Tensor]:
        """The trainable parameters alone (adapters, temporal embedding,
        ``ln_post``, head with the default freezing)."""
        return {
            name: param.detach().clone()
            for name, param in self.named_parameters() if param.requires_grad
        }

    def save_trainable(self, path: str, meta: Optional[dict] = None) -> None:
        """Write an adapter-only checkpoint, MMEngine-style.

        Args:
            path (str): Output file.
            meta (dict, optional): Stored under ``'meta'``.
        """
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        torch.save(
            dict(state_dict=self.trainable_state_dict(),
                 meta=dict(meta or {}, trainable_only=True)), path)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        # A trainable-only file: nothing but this model's trainable
        # parameters, none of its frozen ones.
        trainable = {prefix + n for n, p in self.named_parameters()
                     if p.requires_grad}
        keys = [k for k in state_dict if k.startswith(prefix)]
        is_adapter_only = bool(keys) and len(trainable) < len(
            list(self.parameters())) and set(keys) <= trainable and any(
                k.startswith(prefix + 'backbone.') for k in keys)
        if is_adapter_only:
            self._merge_onto_image_model(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def _merge_onto_image_model(self, state_dict, prefix) -> None:
        """Fill an adapter-only state dict with the frozen image model."""
        pretrained = getattr(self.backbone, 'pretrained', None)
        if not pretrained:
            raise RuntimeError(
                'This checkpoint holds only the trainable parameters; set '
                'model.backbone.pretrained to the image model they were '
                'trained on, so that they can be merged onto it.')
        self.backbone.load_image_model(pretrained)
        for name, tensor in self.state_dict().items():
            state_dict.setdefault(prefix + name, tensor)
        MMLogger.get_current_instance().info(
            f'Merged a trainable-only checkpoint onto the image model from '
            f'{pretrained}')
