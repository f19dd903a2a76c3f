"""AIM's head with its classifier started from the class names."""
from typing import Callable, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from mmengine.model.weight_init import normal_init
from torch import nn

from mmaction.registry import MODELS
from ...utils.errors import BadInputError
from ..text import (KINETICS_TEMPLATES, build_text_tower, build_tokenizer,
                    class_embeddings, describe_tokenizer, load_text_tower,
                    prompts, read_class_names, read_image_text_file,
                    split_image_text, text_tower_spec)
from ..text.templates import check_templates
from .aim_head import AIMHead


@MODELS.register_module()
class AIMTextHead(AIMHead):
    """:class:`AIMHead` whose classifier starts from the text embeddings of
    the class names, through the image-text model's own projection and
    logit scale.

    Per frame, the backbone's feature ``[D]`` is projected into the joint
    image-text space (``proj``: the image model's projection, e.g. CLIP's
    ``visual.proj``; identity where the features are there already, as
    SigLIP's attention pool gives them) and L2-normalised; the frames are
    averaged; the classifier gives ``logit_scale * <x, w_c> + b_c``
    (``fc_cls`` applied to ``logit_scale * x``). ``init_weights`` sets
    ``proj`` from the image-text model's file, each row ``w_c`` of
    ``fc_cls`` to the L2-normalised mean of the normalised text embeddings
    of class ``c``'s prompts (one per template), ``b_c`` to the model's
    logit bias (SigLIP) or 0, and the fixed buffer ``logit_scale`` to the
    model's ``exp(logit_scale)``. With fresh adapters and a zero temporal
    embedding, the recognizer's class scores at initialisation are then the
    image-text model's zero-shot scores averaged over frames.

    ``proj`` and ``fc_cls`` are ordinary trainable parameters, so
    fine-tuning continues from the zero-shot classifier; the text tower is
    built, read (through the package's safe reader), used and dropped inside
    ``init_weights``: a checkpoint holds ``proj``, ``fc_cls`` and
    ``logit_scale`` only, and testing from one needs no text file (resuming
    a training run reads it again: MMEngine initialises before it
    resumes). Label smoothing, multi-view averaging and view protocols are
    :class:`AIMHead`'s.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): The backbone's feature width ``D``.
        text_model (str | dict): The open_clip model whose text tower and
            projection are used: a name of ``open_clip.list_models()``
            (``'ViT-B-16-quickgelu'`` for OpenAI's CLIP ViT-B/16,
            ``'ViT-B-16'`` for LAION's, ``'ViT-B-16-SigLIP2'``,
            ``'PE-Core-B-16'``, ...) or an open_clip model config dict. It
            must be the image model the backbone adapts
            (:func:`~..text.check_pairing`, run by ``ZeroShotValHook`` and
            ``tools/test.py --zero-shot``).
        text_weights (str, optional): The image-text model's weights file
            holding its text tower (OpenAI's CLIP release, open_clip's
            ``open_clip_model.safetensors`` / ``open_clip_pytorch_model.bin``;
            often the backbone's own ``pretrained`` file). None: no text;
            ``init_weights`` then initialises ``proj`` and ``fc_cls``
            randomly, with a warning (a model built for measurements only).
        class_names (str | Sequence[str]): The label map (one name a line,
            or JSON) or the names; its count must be ``num_classes``.
        templates (Sequence[str]): Prompt templates, each with one ``{}``.
            Defaults to :data:`~..text.KINETICS_TEMPLATES`.
        readable_names (bool): Write identifier-like names as words first
            (``'ApplyEyeMakeup'`` -> ``'apply eye makeup'``). Defaults to
            True.
        tokenizer (str | callable, optional): None: the model's own
            tokenizer; a local directory with its Hugging Face tokenizer
            (SigLIP); or a callable from texts to token ids
            (:func:`~..text.build_tokenizer`). Defaults to None.
        dropout_ratio (float): Dropout on the normalised features before
            ``fc_cls``. Defaults to 0.
        **kwargs: :class:`AIMHead`'s (``loss_cls``, ``label_smooth_eps``,
            ``average_clips``, ``topk``, ...).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 text_model: Union[str, dict],
                 text_weights: Optional[str],
                 class_names: Union[str, Sequence[str]],
                 templates: Sequence[str] = KINETICS_TEMPLATES,
                 readable_names: bool = True,
                 tokenizer: Union[None, str, Callable] = None,
                 dropout_ratio: float = 0.,
                 **kwargs) -> None:
        spec = text_tower_spec(text_model)
        super().__init__(num_classes, spec.embed_dim,
                         dropout_ratio=dropout_ratio, **kwargs)
        self.in_channels = in_channels  # the backbone's width, not fc_cls's
        if spec.projection is None and in_channels != spec.embed_dim:
            raise BadInputError(
                f'AIMTextHead: open_clip {spec.name} has no image projection '
                f'(its image features are {spec.embed_dim}-wide) but '
                f'in_channels is {in_channels}: is the backbone that model?')
        self.spec = spec
        self.text_model = text_model
        self.text_weights = text_weights
        self.class_names = class_names if isinstance(class_names, str) \
            else list(class_names)
        self.templates = check_templates(templates)
        self.readable_names = readable_names
        self.tokenizer = tokenizer
        self.proj = nn.Identity() if spec.projection is None else nn.Linear(
            in_channels, spec.embed_dim,
            bias=spec.projection.bias is not None)
        # exp(logit_scale) of the image-text model; fixed.
        self.register_buffer('logit_scale', torch.ones(()))

    def init_weights(self) -> None:
        """``proj``, ``fc_cls`` and ``logit_scale`` from the image-text
        model's file and the class names (see the class docstring); the
        text tower is dropped afterwards.

        Raises:
            LabelMapError: The label map names another number of classes.
            TokenizerUnavailableError: The tokenizer cannot be built here
                (SigLIP's without ``transformers``).
            NoTextInFileError: The file holds no text tower.
            CheckpointMismatchError: Its text tower or projection is not the
                text model's.
        """
        logger = MMLogger.get_current_instance()
        if self.text_weights is None:
            logger.warning(
                'AIMTextHead: no text_weights: proj and fc_cls are random, '
                'not started from the class names')
            if isinstance(self.proj, nn.Linear):
                normal_init(self.proj, std=self.in_channels ** -0.5, bias=0)
            normal_init(self.fc_cls, std=self.init_std, bias=0)
            self._is_init = True
            return
        # The cheap refusals first: the label map, the tokenizer.
        names = read_class_names(self.class_names, self.num_classes)
        texts = prompts(names, self.templates, self.readable_names)
        tokenizer = build_tokenizer(self.spec, self.tokenizer)
        weights = split_image_text(read_image_text_file(self.text_weights),
                                   self.spec, self.text_weights)
        self._check_projection(weights)
        device = self.fc_cls.weight.device
        tower = build_text_tower(self.spec)
        load_text_tower(tower, weights.text, self.spec, self.text_weights)
        embeddings = class_embeddings(tower.to(device), tokenizer, texts)
        del tower
        with torch.no_grad():
            if weights.proj_weight is not None:
                self.proj.weight.copy_(weights.proj_weight)
            if weights.proj_bias is not None:
                self.proj.bias.copy_(weights.proj_bias)
            self.fc_cls.weight.copy_(embeddings)
            self.fc_cls.bias.fill_(0. if weights.logit_bias is None else
                                   float(weights.logit_bias))
            self.logit_scale.fill_(float(weights.logit_scale.exp()))
        tokens = describe_tokenizer(self.tokenizer, self.spec)
        logger.info(
            f'AIMTextHead: classifier from the text embeddings of '
            f'{len(names)} class names x {len(self.templates)} templates '
            f'(open_clip {self.spec.name}\'s text tower from '
            f'{self.text_weights}, {tokens}; then dropped), logit scale '
            f'{self.logit_scale.item():.4g}'
            + ('' if weights.logit_bias is None else
               f', logit bias {float(weights.logit_bias):.4g}'))
        self._is_init = True

    def _check_projection(self, weights) -> None:
        if weights.proj_weight is None:
            return
        expected = (self.spec.embed_dim, self.in_channels)
        if tuple(weights.proj_weight.shape) != expected:
            raise BadInputError(
                f'{self.text_weights}: the image projection is '
                f'{list(weights.proj_weight.shape)}, the head needs '
                f'{list(expected)} (embed_dim, in_channels): is the '
                'backbone that file\'s image model?')

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """Class scores from per-frame features.

        Args:
            x (torch.Tensor): ``[B, D, T]`` (any trailing dimensions are
                treated as more time steps).

        Returns:
            torch.Tensor: ``[B, num_classes]``.
        """
        x = x.flatten(2).transpose(1, 2)  # [B, T, D]
        x = F.normalize(self.proj(x), dim=-1)  # [B, T, E]
        x = x.mean(dim=1) * self.logit_scale  # [B, E]
        return self.fc_cls(self.dropout(x))  # [B, num_classes]
