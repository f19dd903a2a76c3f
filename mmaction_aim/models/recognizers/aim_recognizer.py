"""AIM's recognizer: MMAction2's 3D recognizer plus what AIM users need."""
import copy
import os
from typing import Dict, Optional

import torch
from mmengine.logging import MMLogger

from mmaction.models.recognizers import Recognizer3D
from mmaction.registry import MODELS
from ..utils.params import trainable_summary

#: The value of ``data_preprocessor.mean`` / ``std`` that asks for the image
#: model's own normalisation.
FROM_IMAGE_MODEL = 'image_model'


def _resolve_normalization(
        backbone: dict, data_preprocessor: Optional[dict]) -> Optional[dict]:
    """Fill ``mean``/``std`` given as ``'image_model'`` from the backbone's
    image model (its pretrained config, on the 0-255 scale)."""
    if not isinstance(data_preprocessor, dict) or not any(
            data_preprocessor.get(k) == FROM_IMAGE_MODEL
            for k in ('mean', 'std')):
        return data_preprocessor
    backbone_cls = MODELS.get(backbone['type']) if isinstance(
        backbone.get('type'), str) else backbone['type']
    lookup = getattr(backbone_cls, 'image_model_normalization', None)
    if lookup is None:
        raise ValueError(f'{backbone["type"]} has no image-model '
                         "normalisation: give data_preprocessor's mean and "
                         'std as numbers')
    mean, std = lookup(backbone)
    data_preprocessor = copy.deepcopy(data_preprocessor)
    for key, value in (('mean', mean), ('std', std)):
        if data_preprocessor.get(key) == FROM_IMAGE_MODEL:
            data_preprocessor[key] = value
    MMLogger.get_current_instance().info(
        f'Normalisation from the image model: mean {mean}, std {std}')
    return data_preprocessor


@MODELS.register_module()
class AIMRecognizer(Recognizer3D):
    """MMAction2's :class:`Recognizer3D` with AIM's conveniences.

    * ``data_preprocessor.mean`` / ``std`` may be ``'image_model'``: the
      image model's own statistics (timm's pretrained config; CLIP's),
      resolved when the model is built.
    * Multi-view testing in chunks of ``test_cfg.max_testing_views`` clips at
      any batch size (MMAction2's own chunking needs batch size 1), honouring
      ``stage``.
    * The trainable-parameter summary
      ``trainable params: N || all params: M || trainable%: P`` logged once,
      when the model is built.
    * Adapter-only checkpoints: :meth:`adapter_state_dict` holds, by
      structure, the adaptation's parameters (every adapter, the temporal
      embedding, the output norm) and the head; :meth:`save_adapters` writes
      it with ``meta['adapter_only'] = True``; :meth:`load_adapters` loads
      the frozen image model from ``backbone.pretrained`` and the file onto
      it. The tools take this path for such files.

    ``mode='tensor'`` behaves as in MMAction2: backbone features
    ``[B*V, D, T]`` by default, ``stage='head'`` for class scores.
    """

    def __init__(self, backbone: dict, cls_head: Optional[dict] = None,
                 neck: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None) -> None:
        data_preprocessor = _resolve_normalization(backbone,
                                                   data_preprocessor)
        super().__init__(backbone=backbone, cls_head=cls_head, neck=neck,
                         train_cfg=train_cfg, test_cfg=test_cfg,
                         data_preprocessor=data_preprocessor)
        MMLogger.get_current_instance().info(
            f'{type(self).__name__}: {trainable_summary(self)}')

    def extract_feat(self,
                     inputs: torch.Tensor,
                     stage: str = 'neck',
                     data_samples=None,
                     test_mode: bool = False) -> tuple:
        """Features of ``stage``; chunked over views when testing.

        Args:
            inputs (torch.Tensor): ``[B, V, 3, T, H, W]``.
            stage (str): ``'backbone'``, ``'neck'`` or ``'head'``.
                Defaults to ``'neck'``.
            data_samples (list, optional): Data samples. Defaults to None.
            test_mode (bool): Whether testing. Defaults to False.

        Returns:
            tuple: Features (``[B*V, D, T]`` from the backbone, class scores
            ``[B*V, num_classes]`` from the head) and kwargs for the head.
        """
        max_views = (self.test_cfg or {}).get('max_testing_views')
        if not (test_mode and max_views):
            return super().extract_feat(inputs, stage, data_samples,
                                        test_mode)
        if not isinstance(max_views, int) or max_views < 1:
            raise ValueError('test_cfg.max_testing_views must be a positive '
                             f'int, got {max_views!r}')
        inputs = inputs.flatten(0, 1)  # [B*V, 3, T, H, W]
        predict_kwargs = dict(fcn_test=self.test_cfg.get('fcn_test', False))
        feats = []
        for chunk in inputs.split(max_views):
            feat = self.backbone(chunk)  # [chunk, D, T]
            if self.with_neck and stage != 'backbone':
                feat, _ = self.neck(feat)
            if stage == 'head' and self.with_cls_head:
                feat = self.cls_head(feat, **predict_kwargs)
            feats.append(feat)
        return torch.cat(feats), predict_kwargs

    # ------------------------------------------------- adapter-only weights
    def adapter_state_dict(self) -> Dict[str, torch.Tensor]:
        """The adaptation's parameters and the head (and neck), chosen by
        structure, whether or not they train now."""
        keys = {f'backbone.{k}'
                for k in self.backbone.adaptation_parameter_names()}
        state = self.state_dict()
        return {
            k: v.detach().clone()
            for k, v in state.items()
            if k in keys or k.startswith(('cls_head.', 'neck.'))
        }

    def save_adapters(self, path: str, meta: Optional[dict] = None) -> None:
        """Write an adapter-only checkpoint, MMEngine-style.

        Args:
            path (str): Output file.
            meta (dict, optional): Stored under ``'meta'``, with
                ``adapter_only=True`` and the image model it needs.
        """
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        meta = dict(meta or {}, adapter_only=True,
                    image_model=getattr(self.backbone, 'pretrained', None))
        torch.save(dict(state_dict=self.adapter_state_dict(), meta=meta),
                   path)

    def load_adapters(self, state_dict: Dict[str, torch.Tensor],
                      image_model: Optional[str] = None) -> None:
        """Merge an adapter-only state dict onto the pre-trained image model.

        Loads the frozen image model from ``image_model`` (default
        ``backbone.pretrained``), then the file's tensors, which must be
        exactly :meth:`adapter_state_dict`'s keys.

        Raises:
            RuntimeError: if no image model is given, or the keys differ.
        """
        path = image_model or getattr(self.backbone, 'pretrained', None)
        got = self.check_adapter_keys(state_dict)
        self.backbone.load_image_model(path)
        result = self.load_state_dict(got, strict=False)
        assert not result.unexpected_keys, result.unexpected_keys
        MMLogger.get_current_instance().info(
            f'Merged an adapter-only checkpoint ({len(got)} tensors) onto '
            f'the image model from {path}')

    def check_adapter_keys(self, state_dict: Dict[str, torch.Tensor],
                           name: str = 'checkpoint') -> Dict[str,
                                                             torch.Tensor]:
        """Check that ``state_dict`` is an adapter-only state dict of this
        model with an image model to merge onto; return it without any
        ``module.`` prefix.

        Raises:
            RuntimeError: naming what differs.
        """
        if not getattr(self.backbone, 'pretrained', None):
            raise RuntimeError(
                f'{name} holds only the adaptation; set '
                'model.backbone.pretrained to the image model it was trained '
                'on, so that it can be merged onto it.')
        expected = set(self.adapter_state_dict())
        got = {k[len('module.'):] if k.startswith('module.') else k: v
               for k, v in state_dict.items()}
        missing, unexpected = expected - set(got), set(got) - expected
        if missing or unexpected:
            raise RuntimeError(
                f'{name} is not an adapter-only checkpoint of this model: '
                f'missing {sorted(missing)[:10]}, unexpected '
                f'{sorted(unexpected)[:10]}')
        return got


def is_adapter_only(checkpoint) -> bool:
    """Whether a loaded checkpoint is adapter-only (its ``meta`` says so;
    files of the first release said ``trainable_only``)."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    return isinstance(meta, dict) and bool(
        meta.get('adapter_only') or meta.get('trainable_only'))
