"""AIM's recognizer: MMAction2's 3D recognizer plus what AIM users need."""
import copy
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence

import torch
from mmengine.logging import MMLogger

from mmaction.models.recognizers import Recognizer3D
from mmaction.registry import MODELS
from ...checkpoint import (CheckpointMismatchError, StateDict, add_prefix,
                           check_fits, meta_of, select_prefix, strip_prefix,
                           unwrap)
from ...utils.errors import BadInputError
from ..families import build_family
from ..heads import AIMTextHead
from ..text import check_pairing
from ..utils.convert import resize_temporal_embedding, upgrade_layout
from ..utils.params import trainable_summary

#: The value of ``data_preprocessor.mean`` / ``std`` that asks for the image
#: model's own normalisation.
FROM_IMAGE_MODEL = 'image_model'


def normalization_of(
        backbone: dict, data_preprocessor: Optional[dict]) -> Optional[dict]:
    """``data_preprocessor`` with ``mean``/``std`` given as
    ``'image_model'`` filled from the backbone's image-model family (0-255
    scale), from the config alone (no model is built).

    Args:
        backbone (dict): The backbone's config.
        data_preprocessor (dict, optional): The data preprocessor's config.

    Returns:
        dict | None: A copy where anything was filled, else the argument.
    """
    if not isinstance(data_preprocessor, dict) or not any(
            data_preprocessor.get(k) == FROM_IMAGE_MODEL
            for k in ('mean', 'std')):
        return data_preprocessor
    if 'image_model' not in backbone:
        raise ValueError(f'{backbone.get("type")} has no image_model to take '
                         "the normalisation from: give data_preprocessor's "
                         'mean and std as numbers')
    mean, std = build_family(backbone['image_model'],
                             backbone.get('num_frames', 8)).normalization
    data_preprocessor = copy.deepcopy(data_preprocessor)
    for key, value in (('mean', mean), ('std', std)):
        if data_preprocessor.get(key) == FROM_IMAGE_MODEL:
            data_preprocessor[key] = value
    return data_preprocessor


def is_adapter_only(checkpoint: Any) -> bool:
    """Whether a checkpoint is adapter-only (``meta['adapter_only']``; files
    of ``publish_model.py --trainable-only`` before 0.2 said
    ``trainable_only``)."""
    meta = meta_of(checkpoint)
    return bool(meta.get('adapter_only') or meta.get('trainable_only'))


@MODELS.register_module()
class AIMRecognizer(Recognizer3D):
    """MMAction2's :class:`Recognizer3D` with AIM's conveniences.

    * ``data_preprocessor.mean`` / ``std`` may be ``'image_model'``: the
      image model's own statistics, resolved when the model is built.
    * Multi-view testing in chunks of ``test_cfg.max_testing_views`` clips at
      any batch size (MMAction2's own chunking needs batch size 1), honouring
      ``stage``.
    * The trainable-parameter summary
      ``trainable params: N || all params: M || trainable%: P`` logged once,
      when the model is built.
    * Loading (:meth:`load_checkpoint`): the package's one pipeline for a
      checkpoint already read, with older layouts upgraded, the temporal
      embedding and positions resized, the fit checked, a strict load.
    * Adapter-only checkpoints: :meth:`adapter_state_dict` holds, by
      structure, the adaptation's parameters (every adapter, the temporal
      embedding, the output norm) and the head; :meth:`save_adapters`
      writes it with the image model it was trained on;
      :meth:`load_adapters` loads that image model from
      ``backbone.pretrained`` and the file onto it, refusing adapters of
      another image model.

    ``mode='tensor'`` behaves as in MMAction2: backbone features
    ``[B*V, D, T]`` by default, ``stage='head'`` for class scores.
    """

    def __init__(self, backbone: dict, cls_head: Optional[dict] = None,
                 neck: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None) -> None:
        filled = normalization_of(backbone, data_preprocessor)
        if filled is not data_preprocessor:
            MMLogger.get_current_instance().info(
                f'Normalisation from the image model: mean {filled["mean"]}, '
                f'std {filled["std"]}')
        data_preprocessor = filled
        super().__init__(backbone=backbone, cls_head=cls_head, neck=neck,
                         train_cfg=train_cfg, test_cfg=test_cfg,
                         data_preprocessor=data_preprocessor)
        self._check_head_width()
        MMLogger.get_current_instance().info(
            f'{type(self).__name__}: {trainable_summary(self)}')

    def _check_head_width(self) -> None:
        """Refuse a head that reads features of another width than the
        image model gives (a config naming another image model but keeping
        the head's ``in_channels``), before a step fails on the product."""
        head_width = getattr(self.cls_head, 'in_channels', None)
        width = getattr(self.backbone, 'width', None)
        if self.with_neck or head_width is None or width is None or \
                head_width == width:
            return
        raise BadInputError(
            f'model.cls_head.in_channels is {head_width} but the image model '
            f'({self.backbone.describe()}) gives {width}-wide features: set '
            f'model.cls_head.in_channels={width}')

    def init_weights(self) -> None:
        """Initialise the backbone and the head; a head started from class
        names is first checked to be the text side of the backbone's image
        model (:func:`~..text.check_pairing`: its class embeddings would
        otherwise live in another model's space)."""
        head = self.cls_head
        if isinstance(head, AIMTextHead) and head.text_weights is not None:
            check_pairing(self.backbone.image_model_cfg, head.text_model)
        super().init_weights()

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

    # ---------------------------------------------------------- loading
    def adapt_state_dict(self, state_dict: Mapping[str, torch.Tensor]
                         ) -> StateDict:
        """A recognizer state dict made fit for this model, purely: the
        layout of mmaction-aim 0.1 upgraded, the temporal embedding
        interpolated to this model's time steps (an 8-frame model tested at
        16 frames), the image model's positions resized to its resolution.
        """
        state_dict = upgrade_layout(state_dict)
        backbone = self.backbone
        key = 'backbone.temporal_embedding'
        ours = getattr(backbone, 'temporal_embedding', None)
        if key in state_dict and ours is not None and \
                state_dict[key].shape[1] != ours.shape[1]:
            MMLogger.get_current_instance().info(
                f'temporal_embedding interpolated from '
                f'{state_dict[key].shape[1]} to {ours.shape[1]} time steps')
            state_dict[key] = resize_temporal_embedding(state_dict[key],
                                                        ours.shape[1])
        prefix = 'backbone.image_model.'
        image = select_prefix(state_dict, prefix)
        if image:
            image = backbone.family.resize(image, backbone.image_model)
            state_dict = dict(
                {k: v for k, v in state_dict.items()
                 if not k.startswith(prefix)}, **add_prefix(image, prefix))
        return state_dict

    def load_checkpoint(self, checkpoint: Any, name: str = 'checkpoint',
                        ignore: Sequence[str] = (),
                        allow_other_image_model: bool = False) -> None:
        """Load a checkpoint already read (``read_checkpoint``), after
        :meth:`adapt_state_dict` (the temporal embedding interpolated, ...):
        a whole model strictly, after the fit check; an adapter-only one
        through :meth:`load_adapters`.

        Args:
            checkpoint: What ``read_checkpoint`` returned.
            name (str): The file, for messages.
            ignore (Sequence[str]): Key patterns that may be missing,
                unexpected or of another shape (a new classifier when
                fine-tuning); those keys are not loaded.
            allow_other_image_model (bool): Merge adapter-only weights even
                onto another image model than they were trained on.

        Raises:
            CheckpointMismatchError: The checkpoint does not fit.
        """
        state = self.adapt_state_dict(strip_prefix(unwrap(
            checkpoint, keys=('state_dict', ), name=name)))
        if is_adapter_only(checkpoint):
            self.load_adapters(state, meta_of(checkpoint), name,
                               allow_other_image_model)
            return
        check_fits(self, state, name, ignore)
        if ignore:
            ours = self.state_dict()
            state = {k: v for k, v in state.items()
                     if k in ours and v.shape == ours[k].shape}
        self.load_state_dict(state, strict=not ignore)

    # ------------------------------------------------- adapter-only weights
    def adapter_keys(self) -> List[str]:
        """The state-dict keys of an adapter-only checkpoint: the
        adaptation's parameters and the head (and neck), chosen by
        structure, whether or not they train now (the one definition the
        package uses)."""
        keys = {f'backbone.{k}'
                for k in self.backbone.adaptation_parameter_names()}
        return [k for k in self.state_dict()
                if k in keys or k.startswith(('cls_head.', 'neck.'))]

    def adapter_state_dict(self) -> Dict[str, torch.Tensor]:
        """The tensors of :meth:`adapter_keys`."""
        state = self.state_dict()
        return {k: state[k].detach().clone() for k in self.adapter_keys()}

    def adapter_meta(self, meta: Optional[dict] = None,
                     image_weights: Optional[torch.Tensor] = None) -> dict:
        """``meta`` of an adapter-only file: ``adapter_only=True``, the image
        model it needs (``image_model``: family, name, weights fingerprint)
        and where it was read from (``pretrained``)."""
        return dict(meta or {}, adapter_only=True,
                    image_model=self.backbone.image_model_identity(
                        image_weights),
                    pretrained=getattr(self.backbone, 'pretrained', None))

    def save_adapters(self, path: str, meta: Optional[dict] = None) -> None:
        """Write an adapter-only checkpoint, MMEngine-style
        (:meth:`adapter_state_dict`, :meth:`adapter_meta`)."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        torch.save(dict(state_dict=self.adapter_state_dict(),
                        meta=self.adapter_meta(meta)), path)

    def load_adapters(self, state_dict: Mapping[str, torch.Tensor],
                      meta: Optional[dict] = None,
                      name: str = 'checkpoint',
                      allow_other_image_model: bool = False) -> None:
        """Merge an adapter-only state dict onto its pre-trained image
        model.

        The image model is loaded from ``backbone.pretrained`` (unless the
        backbone is initialised already), its identity compared with the
        one the file records, then the file's tensors loaded; they must be
        exactly :meth:`adapter_state_dict`'s keys (the output norm may be
        absent where the config freezes it: it is the image model's).

        Raises:
            CheckpointMismatchError: No image model to merge onto, another
                image model than the file's (unless
                ``allow_other_image_model``), or other keys.
        """
        meta = dict(meta or {})
        backbone = self.backbone
        if not getattr(backbone, 'pretrained', None):
            raise CheckpointMismatchError(
                f'{name} holds only the adaptation; set '
                'model.backbone.pretrained to the image model it was trained '
                'on, so that it can be merged onto it.')
        state = dict(state_dict)
        recorded = meta.get('image_model')
        if isinstance(recorded, dict):
            self._check_image_model(recorded, name, allow_other_image_model,
                                    weights=False)
        self._check_adapter_keys(state, name)
        if not backbone.is_init:
            backbone.load_image_model(backbone.pretrained)
        logger = MMLogger.get_current_instance()
        if isinstance(recorded, dict):
            self._check_image_model(recorded, name, allow_other_image_model,
                                    weights=True)
        else:
            logger.warning(
                f'{name} does not record which image model its adapters '
                f'were trained on (written before mmaction-aim 0.2); merged '
                f'onto {backbone.describe()} from {backbone.pretrained} '
                'without checking.')
        self.load_state_dict(state, strict=False)
        logger.info(f'Merged an adapter-only checkpoint ({len(state)} '
                    f'tensors) onto the image model from '
                    f'{backbone.pretrained}')

    def _check_adapter_keys(self, state: Mapping[str, Any],
                            name: str) -> None:
        expected = set(self.adapter_keys())
        may_lack = set()
        if self.backbone.freeze_ln_post:
            may_lack = {f'backbone.{k}'
                        for k in self.backbone.output_norm_names()}
        missing = expected - set(state) - may_lack
        unexpected = set(state) - expected
        if missing or unexpected:
            raise CheckpointMismatchError(
                f'{name} is not an adapter-only checkpoint of this model '
                f'({self.backbone.describe()}): {len(missing)} of its keys '
                f'missing (e.g. {sorted(missing)[:2]}), {len(unexpected)} '
                f'unexpected (e.g. {sorted(unexpected)[:2]})')
        check_fits(self, state, name,
                   ignore=[f'^{k}$' for k in self.state_dict()
                           if k not in state])

    def _check_image_model(self, recorded: dict, name: str, allow: bool,
                           weights: bool) -> None:
        """Refuse adapters trained on another image model: by family and
        activation before the image model is loaded, by those and its
        weights fingerprint after. A name alone decides nothing (a config
        may spell one model two ways, ``'ViT-B/16'`` and
        ``'ViT-B-16-quickgelu'``); it is reported beside a difference."""
        ours = self.backbone.image_model_identity(
            None if weights else False)
        fields = ('family', 'act') + (('weights', ) if weights else ())
        differ = [f'{f}: file {recorded.get(f)!r} vs model {ours.get(f)!r}'
                  for f in fields
                  if f in recorded and recorded.get(f) != ours.get(f)]
        if not differ:
            return
        if recorded.get('name') != ours.get('name'):
            differ.append(f'name: file {recorded.get("name")!r} vs model '
                          f'{ours.get("name")!r}')
        message = (f'{name} holds adapters trained on another image model '
                   f'than this config\'s ({"; ".join(differ)})')
        if not allow:
            raise CheckpointMismatchError(
                message + '. Point model.backbone.pretrained at the image '
                'model they were trained on, or merge them anyway with '
                '--allow-other-image-model (allow_other_image_model=True).')
        MMLogger.get_current_instance().warning(
            message + '; merged anyway (allow_other_image_model).')
